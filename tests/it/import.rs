//! Imports: exact amounts survive the database, bad records are all reported and nothing
//! is written, re-importing changes nothing.

use pledgewatch::{domain::records::DataSet, reference::reference_data, storage::import::ImportError};
use serde_json::json;

use crate::helpers::{Backend, TestApp, test_commitment, test_source};

async fn amounts_that_a_double_would_round_come_back_exactly(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let data = DataSet {
        format: "pledgewatch/1".into(),
        sources: vec![test_source()],
        commitments: vec![
            test_commitment("cents", "0.10", "999999999999999.99", "EUR"),
            test_commitment("four-decimals", "12345678901234.5678", "12345678901234.5678", "CLF"),
            test_commitment("dinars", "5", "999999999999999.999", "BHD"),
        ],
        ..Default::default()
    };
    app.db.import(&data).await.unwrap();

    let cases = [
        ("cents", "0.1", "999999999999999.99"),
        ("four-decimals", "12345678901234.5678", "12345678901234.5678"),
        ("dinars", "5", "999999999999999.999"),
    ];
    for (slug, low, high) in cases {
        let data = app.data("CommitmentBySlug", json!({ "slug": slug })).await;
        assert_eq!(data["commitment"]["amount"]["low"], low, "{slug}");
        assert_eq!(data["commitment"]["amount"]["high"], high, "{slug}");
    }
}

async fn every_bad_record_is_reported_and_nothing_is_written(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let before = app.data("CommitmentSlugs", json!({})).await["commitments"]["totalCount"].clone();
    let mut bad_url = test_source();
    bad_url.slug = "bad-url".into();
    bad_url.url = "not a url".into();
    let mut unknown_pledger = test_commitment("unknown-pledger", "1", "2", "EUR");
    unknown_pledger.pledger = "nobody".into();
    let data = DataSet {
        format: "pledgewatch/1".into(),
        sources: vec![test_source(), bad_url],
        commitments: vec![
            test_commitment("good-one", "1", "2", "EUR"),
            test_commitment("low-above-high", "3", "2", "EUR"),
            test_commitment("bad-currency", "1", "2", "EURO"),
        ],
        ..Default::default()
    };

    let Err(ImportError::Invalid(problems)) = app.db.import(&data).await else { panic!("the import must fail") };

    let found: Vec<(&str, usize, &str)> =
        problems.iter().map(|p| (p.collection, p.index, p.error.field.as_str())).collect();
    assert_eq!(found, vec![("sources", 1, "url"), ("commitments", 1, "amountLow"), ("commitments", 2, "currency")]);

    // References are checked against the database too, and a failure there also rolls back.
    let data = DataSet {
        format: "pledgewatch/1".into(),
        sources: vec![test_source()],
        commitments: vec![test_commitment("good-one", "1", "2", "EUR"), unknown_pledger],
        ..Default::default()
    };
    let Err(ImportError::Invalid(problems)) = app.db.import(&data).await else { panic!("the import must fail") };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].error.field, "pledger");
    assert_eq!(problems[0].error.message, "no actor with slug \"nobody\"");

    let after = app.data("CommitmentSlugs", json!({})).await["commitments"]["totalCount"].clone();
    assert_eq!(before, after);
    let (_, body) = app.query("{ test_commitment(slug: \"good-one\") { slug } }").await;
    assert_eq!(body["data"]["commitment"], serde_json::Value::Null);
}

async fn importing_the_reference_data_again_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let data = reference_data().unwrap();

    let summary = app.db.import(&data).await.unwrap();

    assert_eq!(summary.inserted, 0);
    assert_eq!(summary.updated, 0);
    assert_eq!(summary.unchanged, 346);
}

async fn the_reference_data_loads_completely_into_an_empty_database(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else { return };
    let data = reference_data().unwrap();

    let summary = app.db.import(&data).await.unwrap();

    let records = data.sources.len()
        + data.actors.len()
        + data.events.len()
        + data.commitments.len()
        + data.fundraising_targets.len()
        + data.overlaps.len()
        + data.coalitions.len()
        + data.signatures.len()
        + data.exchange_rates.len();
    assert_eq!(summary.inserted, records);
    assert_eq!(records, 346);
}

async fn a_parent_cycle_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut a = test_commitment("cycle-a", "1", "1", "EUR");
    let mut b = test_commitment("cycle-b", "1", "1", "EUR");
    a.parent = Some("cycle-b".into());
    a.relation = Some("PART_OF".into());
    b.parent = Some("cycle-a".into());
    b.relation = Some("PART_OF".into());
    let data = DataSet {
        format: "pledgewatch/1".into(),
        sources: vec![test_source()],
        commitments: vec![a, b],
        ..Default::default()
    };

    let Err(ImportError::Invalid(problems)) = app.db.import(&data).await else { panic!("the import must fail") };

    assert_eq!(problems.len(), 2);
    assert!(problems.iter().all(|p| p.error.field == "parent" && p.error.message == "the parents form a cycle"));
}

crate::harness::tests! {
    both: [
    amounts_that_a_double_would_round_come_back_exactly,
    every_bad_record_is_reported_and_nothing_is_written,
    importing_the_reference_data_again_changes_nothing,
    the_reference_data_loads_completely_into_an_empty_database,
    a_parent_cycle_is_refused,
    ]
}
