//! Imports: exact amounts survive the database, bad records are all reported and nothing
//! is written, re-importing changes nothing.

use pledgewatch::{
    domain::records::{ActorRecord, DataSet, OverlapRecord},
    reference::reference_data,
    storage::import::ImportError,
};
use serde_json::json;

use crate::helpers::{Backend, TestApp, row_count, row_counts, scalar, test_commitment, test_source};

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
        ("cents", "0.10", "999999999999999.99"),
        ("four-decimals", "12345678901234.5678", "12345678901234.5678"),
        ("dinars", "5.000", "999999999999999.999"),
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
    let (status, body) = app.query("{ commitment(slug: \"good-one\") { slug } }").await;
    assert_eq!((status, body.get("errors")), (200, None), "{body}");
    assert_eq!(body["data"]["commitment"], serde_json::Value::Null, "the valid record of a failed import is not there");
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) AS n FROM sources WHERE slug = 'test-source'").await, 0);
}

async fn importing_the_reference_data_again_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let data = reference_data().unwrap();
    let rows = row_counts(&app.db).await;
    let version = app.db.data_version().await.unwrap();
    let versions = "SELECT CAST(SUM(version) AS BIGINT) AS n FROM commitments";
    let commitment_versions = scalar(&app.db, versions).await;

    let summary = app.db.import(&data).await.unwrap();

    // What the database says, not what the importer says it did.
    assert_eq!(row_counts(&app.db).await, rows, "no row added or removed, and no audit row");
    assert_eq!(app.db.data_version().await.unwrap(), version, "nothing readable changed");
    assert_eq!(scalar(&app.db, versions).await, commitment_versions, "no commitment was rewritten");
    assert_eq!((summary.inserted, summary.updated, summary.unchanged), (0, 0, 673));
}

async fn the_reference_data_loads_completely_into_an_empty_database(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else { return };
    let data = reference_data().unwrap();

    let summary = app.db.import(&data).await.unwrap();

    // Every record of the data set is a row of its table.
    let expected = [
        ("sources", data.sources.len()),
        ("actors", data.actors.len()),
        ("events", data.events.len()),
        ("commitments", data.commitments.len()),
        ("fundraising_targets", data.fundraising_targets.len()),
        ("overlaps", data.overlaps.len()),
        ("coalitions", data.coalitions.len()),
        ("signatures", data.signatures.len()),
        ("reported_counts", data.reported_counts.len()),
        ("claims", data.claims.len()),
        ("exchange_rates", data.exchange_rates.len()),
    ];
    for (table, records) in expected {
        assert_eq!(row_count(&app.db, table).await, records as i64, "{table}");
    }
    let links: usize = data.commitments.iter().map(|c| c.sources.len()).sum::<usize>()
        + data.actors.iter().map(|a| a.sources.len()).sum::<usize>();
    assert!(
        row_count(&app.db, "source_links").await >= links as i64,
        "every commitment's and actor's source is linked"
    );
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'IMPORT'").await, 1);
    let records: usize = expected.iter().map(|(_, n)| n).sum();
    // 190 sources, 134 actors, 20 events, 55 commitments, 1 target, 4 overlaps, 9 coalitions,
    // 205 signatures, 17 reported counts, 13 claims, 25 rates.
    assert_eq!((summary.inserted, records), (673, 673));
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

/// A record given twice in one import (multi-row inserts write new rows in batches: the
/// second must find the first, not insert a second row): stored once, as the later one
/// says, with the later one's sources.
async fn a_record_given_twice_in_one_import_is_stored_once_as_the_later_says(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut other = test_source();
    other.slug = "other-source".into();
    other.url = "https://example.org/b".into();
    let actor = |name: &str, source: &str| ActorRecord {
        slug: "twice-fund".into(),
        name: name.into(),
        kind: "COMPANY".into(),
        country: Some("FR".into()),
        aliases: vec![],
        sources: vec![source.into()],
    };
    let overlap = |amount: &str, note: &str| OverlapRecord {
        later: "twice-later".into(),
        earlier: Some("twice-earlier".into()),
        amount_low: Some(amount.into()),
        amount_high: Some(amount.into()),
        currency: "EUR".into(),
        note: Some(note.into()),
        sources: vec!["test-source".into()],
    };
    let mut later = test_commitment("twice-later", "10", "10", "EUR");
    later.pledger = "twice-fund".into();
    let data = DataSet {
        format: "pledgewatch/1".into(),
        sources: vec![test_source(), other],
        actors: vec![actor("Twice Fund", "test-source"), actor("Twice Fund (renamed)", "other-source")],
        commitments: vec![later, test_commitment("twice-earlier", "5", "5", "EUR")],
        overlaps: vec![overlap("1", "first"), overlap("2", "second")],
        ..Default::default()
    };

    let summary = app.db.import(&data).await.unwrap();

    // Two sources, one actor, two commitments and one overlap inserted; the repeated actor
    // and overlap are each one update of the row just inserted.
    assert_eq!((summary.inserted, summary.updated), (6, 2));
    let actors = "SELECT COUNT(*) AS n FROM actors WHERE slug = 'twice-fund'";
    assert_eq!(scalar(&app.db, actors).await, 1);
    let renamed = "SELECT COUNT(*) AS n FROM actors WHERE slug = 'twice-fund' AND name = 'Twice Fund (renamed)'";
    assert_eq!(scalar(&app.db, renamed).await, 1);
    let links = "SELECT COUNT(*) AS n FROM source_links l JOIN actors a ON a.id = l.entity_id \
                 JOIN sources s ON s.id = l.source_id WHERE l.entity_kind = 'actor' AND a.slug = 'twice-fund'";
    assert_eq!(scalar(&app.db, links).await, 1);
    assert_eq!(scalar(&app.db, &format!("{links} AND s.slug = 'other-source'")).await, 1);
    let overlaps = "SELECT COUNT(*) AS n FROM \"overlaps\" o JOIN commitments c ON c.id = o.later_id \
                    WHERE c.slug = 'twice-later'";
    assert_eq!(scalar(&app.db, overlaps).await, 1);
    assert_eq!(scalar(&app.db, &format!("{overlaps} AND o.amount_low = 200 AND o.note = 'second'")).await, 1);
    let data = app.data("CommitmentBySlug", json!({ "slug": "twice-later" })).await;
    assert_eq!(data["commitment"]["pledger"]["name"], "Twice Fund (renamed)");
}

/// A large import on PostgreSQL hands over vacuumed, analyzed tables (autovacuum would
/// otherwise come by on the same cores some seconds later, under the first totals); a
/// small one, such as the reference data, does not pay for it.
async fn a_large_postgres_import_leaves_its_tables_vacuumed() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let vacuumed = "SELECT COUNT(*) AS n FROM pg_stat_user_tables \
                    WHERE relname IN ('counted_amounts', 'commitments', 'source_links') AND last_vacuum IS NOT NULL";
    assert_eq!(scalar(&app.db, vacuumed).await, 0, "the fixture is a small import");
    let threshold = pledgewatch::storage::import::SETTLE_AFTER_CHANGES;
    let sources = (0..threshold)
        .map(|i| {
            let mut source = test_source();
            source.slug = format!("bulk-source-{i}");
            source.url = format!("https://example.org/bulk/{i}");
            source
        })
        .collect();
    let data = DataSet { format: "pledgewatch/1".into(), sources, ..Default::default() };
    let summary = app.db.import(&data).await.unwrap();
    assert_eq!(summary.inserted, threshold);
    assert_eq!(scalar(&app.db, vacuumed).await, 3);
}

crate::harness::tests! {
    both: [
    amounts_that_a_double_would_round_come_back_exactly,
    every_bad_record_is_reported_and_nothing_is_written,
    importing_the_reference_data_again_changes_nothing,
    the_reference_data_loads_completely_into_an_empty_database,
    a_parent_cycle_is_refused,
    a_record_given_twice_in_one_import_is_stored_once_as_the_later_says,
    ]
    postgres: [a_large_postgres_import_leaves_its_tables_vacuumed]
}
