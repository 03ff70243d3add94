use super::*;
use crate::domain::kinds::CommitmentRelation;

fn commitment() -> CommitmentRecord {
    CommitmentRecord {
        slug: "uae-campus".into(),
        title: "UAE campus".into(),
        pledger: "united-arab-emirates".into(),
        event: Some("ai-action-summit-2025".into()),
        beneficiary: None,
        announced_on: Some("2025-02-06".into()),
        amount_low: Some("30000000000".into()),
        amount_high: Some("50000000000".into()),
        currency: "EUR".into(),
        recipient_country: Some("FR".into()),
        sector: None,
        horizon_year: None,
        kind: "INVESTMENT".into(),
        status: "ANNOUNCED".into(),
        amount_disputed: false,
        parent: Some("fr-ai-investment-109bn".into()),
        relation: Some("PART_OF".into()),
        notes: None,
        sources: vec!["dcd-uae-1gw".into()],
        status_history: vec![],
        retraction: None,
    }
}

#[test]
fn a_good_commitment_validates() {
    let valid = commitment().validate().unwrap();
    assert_eq!(valid.money.range.low().unwrap().to_string(), "30000000000");
    assert_eq!(valid.relation, Some(CommitmentRelation::PartOf));
}

#[test]
fn each_broken_field_is_named() {
    type Breaker = fn(&mut CommitmentRecord);
    let cases: &[(&str, Breaker)] = &[
        ("sources", |c| c.sources.clear()),
        ("currency", |c| c.currency = "EURO".into()),
        ("recipientCountry", |c| c.recipient_country = Some("XX".into())),
        ("amountLow", |c| c.amount_low = Some("60000000000".into())),
        ("amountLow", |c| c.amount_low = Some("1e9".into())),
        ("amountHigh", |c| {
            c.amount_low = None;
            c.amount_high = Some("0.001".into());
        }),
        ("announcedOn", |c| c.announced_on = Some("1989-12-31".into())),
        ("announcedOn", |c| c.announced_on = Some("2025-02-30".into())),
        ("horizonYear", |c| c.horizon_year = Some(2500)),
        ("relation", |c| c.relation = None),
        ("parent", |c| c.parent = None),
        ("parent", |c| c.parent = Some("uae-campus".into())),
        ("slug", |c| c.slug = "UAE Campus".into()),
        ("title", |c| c.title = "bad\u{0}title".into()),
        ("status", |c| c.status = "LEAD".into()),
        ("beneficiary", |c| {
            c.parent = None;
            c.relation = Some("TOWARDS_TARGET".into());
        }),
    ];
    for (field, breaker) in cases {
        let mut record = commitment();
        breaker(&mut record);
        let err = record.validate().unwrap_err();
        assert_eq!(err.field, *field, "expected an error on {field}, got {err}");
    }
}

#[test]
fn sources_need_http_urls_and_sensible_dates() {
    let source = SourceRecord {
        slug: "afp".into(),
        url: "https://www.afp.com/x".into(),
        publisher: "AFP".into(),
        title: "T".into(),
        published_on: Some("2025-02".into()),
        language: Some("fr".into()),
        quote: None,
    };
    assert!(source.validate().is_ok());
    let bad_month = SourceRecord { published_on: Some("2025-13".into()), ..source.clone() };
    assert_eq!(bad_month.validate().unwrap_err().field, "publishedOn");
    let bad_url = SourceRecord { url: "github:x/y".into(), ..source };
    assert_eq!(bad_url.validate().unwrap_err().field, "url");
}
