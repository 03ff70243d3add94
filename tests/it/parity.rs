//! SQLite and PostgreSQL give the same totals, to the cent, on the same data.

use pledgewatch::domain::records::{DataSet, FORMAT, RateRecord};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, test_commitment, test_source};

/// The reference data plus amounts chosen to be awkward: odd cents, huge and tiny values,
/// currencies with 0 and 2 decimals, ranges, and rates with many digits.
fn awkward_data() -> DataSet {
    let rate = |date: &str, quote: &str, rate: &str| RateRecord {
        date: date.into(),
        base: "EUR".into(),
        quote: quote.into(),
        rate: rate.into(),
        sources: vec!["test-source".into()],
    };
    let mut commitments = vec![
        test_commitment("odd-cents-usd", "1234567.89", "1234567.89", "USD"),
        test_commitment("tiny-eur", "0.01", "0.03", "EUR"),
        test_commitment("huge-gbp", "99999999999.99", "123456789012.34", "GBP"),
        test_commitment("yen-range", "123456789", "987654321", "JPY"),
        test_commitment("thirds-usd", "3333333.33", "6666666.67", "USD"),
    ];
    for c in &mut commitments {
        c.event = Some("ai-action-summit-2025".into());
    }
    commitments[2].announced_on = Some("2025-02-11".into());
    commitments[3].recipient_country = Some("JP".into());
    DataSet {
        format: FORMAT.to_owned(),
        sources: vec![test_source()],
        commitments,
        exchange_rates: vec![
            rate("2025-02-10", "GBP", "0.83488"),
            rate("2025-02-11", "GBP", "0.83315"),
            rate("2025-02-10", "JPY", "157.39"),
            rate("2025-02-11", "USD", "1.0309"),
        ],
        ..DataSet::default()
    }
}

async fn answers(app: &TestApp) -> Vec<Value> {
    app.db.import(&awkward_data()).await.expect("the awkward data imports");
    let dimensions = [
        "EVENT",
        "PLEDGER",
        "PLEDGER_KIND",
        "PLEDGER_COUNTRY",
        "RECIPIENT_COUNTRY",
        "SECTOR",
        "KIND",
        "STATUS",
        "CURRENCY",
        "YEAR",
        "MONTH",
    ];
    let mut variables: Vec<Value> = dimensions.iter().map(|d| json!({ "groupBy": [d] })).collect();
    for currency in ["EUR", "USD", "GBP", "JPY"] {
        for fx in [
            json!({ "method": "ANNOUNCEMENT_DATE" }),
            json!({ "method": "FIXED_DATE", "date": "2025-02-10" }),
            json!({ "method": "YEARLY_AVERAGE" }),
        ] {
            for basis in ["NEW_MONEY", "AS_ANNOUNCED"] {
                variables.push(
                    json!({ "groupBy": ["PLEDGER", "CURRENCY"], "currency": currency, "fx": fx, "basis": basis }),
                );
            }
        }
    }
    variables.push(json!({ "groupBy": ["EVENT"], "asOf": "2025-02-10" }));
    variables.push(json!({ "groupBy": ["STATUS", "PLEDGER"], "asOf": "2025-06-30" }));
    let mut out = Vec::new();
    for v in variables {
        out.push(app.data("Totals", v).await["totals"].clone());
    }
    out
}

crate::harness::tests! {
    postgres: [sqlite_and_postgres_give_identical_totals]
}

async fn sqlite_and_postgres_give_identical_totals() {
    let Some(postgres) = TestApp::spawn(Backend::Postgres).await else { return };
    let sqlite = TestApp::spawn(Backend::Sqlite).await.expect("SQLite is always there");
    let (a, b) = (answers(&sqlite).await, answers(&postgres).await);
    assert_eq!(a.len(), 11 + 24 + 2);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(x["groups"].as_array().is_some_and(|g| !g.is_empty()), "answer {i} is empty: {x}");
        assert_eq!(x, y, "answer {i} differs between SQLite and PostgreSQL");
    }
    // The awkward amounts are really in there, converted.
    let by_currency = &a[8]["groups"];
    let gbp = by_currency.as_array().unwrap().iter().find(|g| g["key"][0]["value"] == "GBP").expect("a GBP group");
    assert_eq!(gbp["byCurrency"][0]["low"], "99999999999.99");
}
