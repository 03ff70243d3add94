//! Issue 16: the reference data of 2026-11-28 (eight years of summits, the declarations'
//! signatories with their caveats) and the ECB's whole rate history, as a journalist or an
//! analyst asks for them. Every figure is the shipped data's, checked by hand in each test.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

crate::harness::tests! {
    both: [
        choose_france_editions_compare_in_one_query_oldest_first,
        the_uk_summit_of_2023_converts_at_the_last_rate_before_its_sunday_release,
        reliance_rupees_convert_at_the_ecb_rate_of_their_day,
        the_paris_statement_names_44_signatories_and_says_which_rest_on_one_line,
        the_united_states_signed_in_new_delhi_but_not_in_paris,
        declarations_carry_their_reported_counts_with_sources,
        edition_france_counts_its_30_4bn_announced_of_which_9_2bn_new,
        an_upgraded_database_keeps_every_overlap,
        a_fresh_install_converts_every_commitment_in_dollars_and_pounds,
    ]
    plain: [
        a_first_serve_answers_at_once_and_loads_the_rate_history_behind,
    ]
}

/// Choose France 2018 to 2025 side by side in euros, oldest first, each with its count:
/// asked for as a series, in one query.
async fn choose_france_editions_compare_in_one_query_oldest_first(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let query = r#"{ compareEvents(series: "choose-france") {
        event { slug startDate series } count totals { newMoney { low high } asAnnounced { low high } } ratesUsed { quote } excluded { reason } } }"#;
    let (_, body) = app.as_token(None, query, json!({})).await;
    let rows = body["data"]["compareEvents"].as_array().unwrap_or_else(|| panic!("{body}"));
    let got: Vec<(String, i64, String, String)> = rows
        .iter()
        .map(|r| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&r["event"]["slug"]),
                r["count"].as_i64().unwrap(),
                s(&r["totals"]["asAnnounced"]["low"]),
                s(&r["totals"]["asAnnounced"]["high"]),
            )
        })
        .collect();
    let expected = [
        ("choose-france-2018", 1, "2100000000.00", "3500000000.00"),
        ("choose-france-2019", 1, "547000000.00", "600000000.00"),
        ("choose-france-2020", 1, "4000000000.00", "4000000000.00"),
        ("choose-france-2021", 1, "3500000000.00", "3500000000.00"),
        ("choose-france-2022", 1, "6700000000.00", "6800000000.00"),
        ("choose-france-2023", 1, "13000000000.00", "13000000000.00"),
        ("choose-france-2024", 6, "15000000000.00", "15000000000.00"),
        ("choose-france-2025", 5, "37000000000.00", "40800000000.00"),
    ];
    assert_eq!(got, expected.map(|(a, n, l, h)| (a.to_owned(), n, l.to_owned(), h.to_owned())), "{body}");
    // Oldest first, all in euros: no rate needed, nothing left out.
    let dates: Vec<&str> = rows.iter().map(|r| r["event"]["startDate"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");
    assert!(rows.iter().all(|r| r["ratesUsed"] == json!([]) && r["excluded"] == json!([])), "{body}");
    assert!(rows.iter().all(|r| r["event"]["series"] == "choose-france"), "{body}");
    // The other series, oldest first; the November 2025 domestic edition is not in it.
    let series = r#"query($s: String) { compareEvents(series: $s) { event { slug } } }"#;
    for (name, slugs) in [
        (
            "uk-investment-summit",
            &[
                "uk-global-investment-summit-2021",
                "uk-global-investment-summit-2023",
                "uk-international-investment-summit-2024",
            ][..],
        ),
        (
            "ai-summits",
            &["ai-safety-summit-2023", "ai-seoul-summit-2024", "ai-action-summit-2025", "ai-impact-summit-2026"],
        ),
    ] {
        let (_, body) = app.as_token(None, series, json!({ "s": name })).await;
        let got: Vec<&str> = body["data"]["compareEvents"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|r| r["event"]["slug"].as_str().unwrap())
            .collect();
        assert_eq!(got, slugs, "{name}");
    }
    // Events or a series, not both, not neither; an unknown series is named.
    let ask = r#"query($s: String, $e: [String!]) { compareEvents(series: $s, slugs: $e) { count } }"#;
    for (vars, field) in [
        (json!({ "s": "choose-france", "e": ["choose-france-2018"] }), "series"),
        (json!({}), "slugs"),
        (json!({ "s": "no-such-series" }), "series"),
    ] {
        let (_, body) = app.as_token(None, ask, vars.clone()).await;
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{vars}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{vars}: {body}");
    }
}

/// The Global Investment Summit of 27 Nov 2023: £29.5bn, released on Sunday 26 Nov, converts
/// at the last ECB rate published on or before it (Friday 24 Nov: 0.86818).
async fn the_uk_summit_of_2023_converts_at_the_last_rate_before_its_sunday_release(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let query = r#"{ totals(filter: { events: ["uk-global-investment-summit-2023"] }) {
        grandTotal { count low high } ratesUsed { date quote rate } excluded { reason } } }"#;
    let (_, body) = app.query(query).await;
    let report = &body["data"]["totals"];
    // The package and its three parts (IFM £10bn, Iberdrola £7bn, Microsoft £2.5bn): £29.5bn once.
    assert_eq!(
        report["grandTotal"],
        json!({ "count": 4, "low": "33979128752.10", "high": "33979128752.10" }),
        "{body}"
    );
    assert_eq!(report["ratesUsed"], json!([{ "date": "2023-11-24", "quote": "GBP", "rate": "0.86818" }]));
    assert_eq!(report["excluded"], json!([]));
}

/// Reliance/Jio's ₹10 lakh crore (10^13 rupees) announced on 19 Feb 2026, at that day's
/// ECB rate (107.183 rupees per euro).
async fn reliance_rupees_convert_at_the_ecb_rate_of_their_day(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let query = r#"{ totals(filter: { pledgers: ["reliance-industries"] }) {
        grandTotal { count low high byCurrency { currency low } } ratesUsed { date quote rate } } }"#;
    let (_, body) = app.query(query).await;
    let report = &body["data"]["totals"];
    assert_eq!(report["grandTotal"]["count"], 1, "{body}");
    assert_eq!(report["grandTotal"]["low"], "93298377541.21");
    assert_eq!(report["grandTotal"]["byCurrency"], json!([{ "currency": "INR", "low": "10000000000000.00" }]));
    assert_eq!(report["ratesUsed"], json!([{ "date": "2026-02-19", "quote": "INR", "rate": "107.183" }]));
}

/// 44 signatories named of the ~60 reported; 23 EU states rest on one wire line ("the 27 EU
/// states" signed), and each of those rows says so.
async fn the_paris_statement_names_44_signatories_and_says_which_rest_on_one_line(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let query = r#"{ coalition(slug: "paris-ai-action-statement-2025") { kind
        counts { signed declined }
        signatures { actor { slug } stance notes } } }"#;
    let (_, body) = app.query(query).await;
    let c = &body["data"]["coalition"];
    assert_eq!(c["kind"], "DECLARATION", "{body}");
    assert_eq!(c["counts"], json!({ "signed": 44, "declined": 2 }));
    let rows = c["signatures"].as_array().unwrap();
    let caveated: Vec<&Value> = rows.iter().filter(|r| !r["notes"].is_null()).collect();
    assert_eq!(caveated.len(), 23, "{body}");
    assert!(caveated.iter().all(|r| r["stance"] == "SIGNED"));
    assert!(caveated.iter().all(|r| r["notes"].as_str().unwrap().contains("27")), "{caveated:?}");
    // Romania has its own source: no caveat.
    let romania = rows.iter().find(|r| r["actor"]["slug"] == "romania").expect("Romania signed");
    assert!(romania["notes"].is_null(), "{romania}");
}

/// "44 named of 58–64 reported": each declaration carries the counts the press reported,
/// dated and sourced; early and wider counts are listed but stay out of the range; New Delhi
/// grows from 88 to 92 over ten days; the coalition's "over 100" is an open count.
async fn declarations_carry_their_reported_counts_with_sources(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let query = r#"query($slug: String!) { coalition(slug: $slug) { counts { signed }
        reported { low high latest { reportedOn countLow wording } }
        reportedCounts { reportedOn countLow countHigh kind wording sources { slug } } } }"#;
    let ask = |slug: &'static str| {
        let app = &app;
        async move {
            let (_, body) = app.as_token(None, query, json!({ "slug": slug })).await;
            body["data"]["coalition"].clone()
        }
    };
    let paris = ask("paris-ai-action-statement-2025").await;
    assert_eq!(paris["counts"]["signed"], 44, "{paris}");
    assert_eq!(
        paris["reported"],
        json!({ "low": 58, "high": 64, "latest": { "reportedOn": "2025-02-13", "countLow": 61,
            "wording": "61 countries, per a statement of the Élysée" } })
    );
    let reports = paris["reportedCounts"].as_array().unwrap();
    let summary: Vec<(i64, Option<i64>, &str)> = reports
        .iter()
        .map(|r| (r["countLow"].as_i64().unwrap(), r["countHigh"].as_i64(), r["kind"].as_str().unwrap()))
        .collect();
    // By day, undated last.
    assert_eq!(
        summary,
        [
            (60, Some(60), "COUNT"),
            (53, Some(53), "EARLY"),
            (61, Some(61), "COUNT"),
            (58, Some(58), "COUNT"),
            (64, Some(64), "COUNT"),
            (70, None, "WIDER")
        ]
    );
    assert!(reports.iter().all(|r| !r["sources"].as_array().unwrap().is_empty()), "{paris}");
    assert_eq!(reports[2]["sources"][0]["slug"], "aa-statement-61-2025-02");

    let delhi = ask("new-delhi-declaration-2026").await;
    assert_eq!(delhi["counts"]["signed"], 51, "{delhi}");
    assert_eq!(delhi["reported"]["low"], 86);
    assert_eq!(delhi["reported"]["high"], 92);
    assert_eq!(delhi["reported"]["latest"]["reportedOn"], "2026-03-02");
    let days: Vec<(&str, i64)> = delhi["reportedCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reportedOn"].as_str().unwrap(), r["countLow"].as_i64().unwrap()))
        .collect();
    assert_eq!(days, [("2026-02-21", 86), ("2026-02-21", 88), ("2026-02-24", 91), ("2026-03-02", 92)]);

    let coalition = ask("coalition-sustainable-ai").await;
    assert_eq!((coalition["reported"]["low"].clone(), coalition["reported"]["high"].clone()), (json!(91), json!(200)));
    let open = &coalition["reportedCounts"][1];
    assert_eq!((open["countLow"].clone(), open["countHigh"].clone()), (json!(101), Value::Null), "{coalition}");
    assert_eq!(open["wording"], "over 100 partners");

    // A coalition with no reported count says so with null, not zero.
    let stargate = ask("stargate-equity-funders").await;
    assert_eq!(stargate["reported"], Value::Null, "{stargate}");
    assert_eq!(stargate["reportedCounts"], json!([]));
}

/// Choose France – Édition France: €30.4bn announced, of which only €9.2bn new. The €21.2bn
/// announced over the previous twelve months is an overlap whose earlier side is not
/// recorded one by one: it leaves new money, never what was announced.
async fn edition_france_counts_its_30_4bn_announced_of_which_9_2bn_new(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let query = r#"{
        compareEvents(slugs: ["choose-france-edition-france-2025"]) {
            count totals { newMoney { low high } asAnnounced { low high } } excluded { reason } }
        commitment(slug: "choose-france-edition-france-2025-total") {
            overlaps { later { slug } earlier { slug } amount { low high currency } note sources { slug } } }
        totals(filter: { events: ["choose-france-edition-france-2025"] }, groupBy: [PLEDGER]) {
            groups { key { value } groups: totals { newMoney { low } }
                contributions { commitment { slug } rule related { slug } reason original { low } } } } }"#;
    let (_, body) = app.as_token(None, query, json!({})).await;
    let row = &body["data"]["compareEvents"][0];
    assert_eq!(row["totals"]["asAnnounced"], json!({ "low": "30400000000.00", "high": "30400000000.00" }), "{body}");
    assert_eq!(row["totals"]["newMoney"], json!({ "low": "9200000000.00", "high": "9200000000.00" }), "{body}");
    assert_eq!(row["excluded"], json!([]));
    let overlaps = &body["data"]["commitment"]["overlaps"];
    assert_eq!(overlaps.as_array().map(Vec::len), Some(1), "{body}");
    let overlap = &overlaps[0];
    assert_eq!(overlap["later"]["slug"], "choose-france-edition-france-2025-total");
    assert_eq!(overlap["earlier"], Value::Null);
    assert_eq!(overlap["amount"], json!({ "low": "21200000000.00", "high": "21200000000.00", "currency": "EUR" }));
    assert!(overlap["note"].as_str().unwrap().contains("€21.2bn had already been announced"), "{overlap}");
    assert_eq!(overlap["sources"].as_array().map(Vec::len), Some(3));
    // The aggregate's new money is its remainder less the €21.2bn: €30.4bn − €4bn (Iliad,
    // EDF, InfraVia) − €1.5bn (Sesterce) − €21.2bn = €3.7bn; no group below zero.
    let groups = body["data"]["totals"]["groups"].as_array().unwrap_or_else(|| panic!("{body}"));
    let mut new_money: Vec<(String, String)> = groups
        .iter()
        .map(|g| {
            (
                g["key"][0]["value"].as_str().unwrap().to_owned(),
                g["groups"]["newMoney"]["low"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    new_money.sort();
    assert_eq!(
        new_money,
        [("iliad", "4000000000.00"), ("sesterce", "1500000000.00"), ("various-private-investors", "3700000000.00")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let aggregate = groups.iter().find(|g| g["key"][0]["value"] == "various-private-investors").unwrap();
    let overlap_row = aggregate["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "OVERLAP")
        .unwrap_or_else(|| panic!("{aggregate}"));
    assert_eq!(overlap_row["related"], Value::Null);
    assert_eq!(overlap_row["original"]["low"], "-21200000000.00");
    assert_eq!(overlap_row["reason"], "minus money announced before, not recorded here one by one");
}

/// A database made before an overlap's earlier side could be left unrecorded keeps every
/// overlap through the upgrade (SQLite rebuilds the table), then takes the new kind. The
/// older database is written with plain SQL of its own schema: the entities follow the
/// newest one.
async fn an_upgraded_database_keeps_every_overlap(backend: Backend) {
    use migration::MigratorTrait;
    use pledgewatch::storage::{Db, PoolOptions};
    use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

    let (url, _dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            (format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display()), Some(dir))
        }
        Backend::Postgres => match crate::postgres::cluster() {
            Some(cluster) => (cluster.fresh_database().await, None),
            None => return,
        },
    };
    let db = Db::connect(&url, &PoolOptions::default()).await.expect("database opens");
    let steps = migration::Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261128_000007_allow_unrecorded_earlier_overlaps")
        .expect("the migration exists");
    migration::Migrator::up(db.conn(), Some(steps as u32)).await.expect("the older schema");
    let at = "'2025-01-01 00:00:00+00:00'";
    let run = |sql: String| {
        let conn = db.conn();
        async move { conn.execute_unprepared(&sql).await }
    };
    run(format!(
        "INSERT INTO actors (slug, name, name_folded, kind, aliases, aliases_folded, version, created_at, updated_at) \
         VALUES ('a', 'A', 'a', 'COMPANY', '[]', '', 1, {at}, {at})"
    ))
    .await
    .unwrap();
    for c in ["c1", "c2", "c3"] {
        run(format!(
            "INSERT INTO commitments (slug, title, title_folded, pledger_id, currency, currency_exponent, kind, \
             status, amount_disputed, amount_low, amount_high, version, created_at, updated_at) VALUES ('{c}', '{c}', \
             '{c}', (SELECT id FROM actors WHERE slug = 'a'), 'EUR', 2, 'INVESTMENT', 'ANNOUNCED', FALSE, 100000, \
             100000, 1, {at}, {at})"
        ))
        .await
        .unwrap();
    }
    let id = |slug: &str| format!("(SELECT id FROM commitments WHERE slug = '{slug}')");
    for (later, earlier, note) in [("c2", "c1", "one"), ("c3", "c1", "two"), ("c3", "c2", "three")] {
        run(format!(
            "INSERT INTO \"overlaps\" (later_id, earlier_id, amount_low, amount_high, currency, currency_exponent, note) \
             VALUES ({}, {}, 100, 200, 'EUR', 2, '{note}')",
            id(later),
            id(earlier)
        ))
        .await
        .unwrap();
    }
    #[derive(Debug, PartialEq, FromQueryResult)]
    struct Row {
        id: i64,
        later_id: i64,
        earlier_id: Option<i64>,
        amount_low: Option<i64>,
        amount_high: Option<i64>,
        currency: String,
        note: Option<String>,
    }
    let rows = || async {
        let sql =
            "SELECT id, later_id, earlier_id, amount_low, amount_high, currency, note FROM \"overlaps\" ORDER BY id";
        Row::find_by_statement(Statement::from_string(db.conn().get_database_backend(), sql))
            .all(db.conn())
            .await
            .unwrap()
    };
    let before = rows().await;
    assert_eq!(before.len(), 3);
    // Before the upgrade, an overlap needs its earlier side.
    let unrecorded = format!(
        "INSERT INTO \"overlaps\" (later_id, earlier_id, currency, currency_exponent) VALUES ({}, NULL, 'EUR', 2)",
        id("c1")
    );
    assert!(run(unrecorded.clone()).await.is_err());

    db.migrate().await.expect("the upgrade applies");
    assert_eq!(rows().await, before, "every overlap kept, ids and all");
    run(unrecorded).await.expect("an overlap without an earlier side after the upgrade");
    assert_eq!(rows().await.iter().filter(|r| r.earlier_id.is_none()).count(), 1);
    // The foreign keys still hold: an overlap of no commitment is refused.
    let orphan = run(
        "INSERT INTO \"overlaps\" (later_id, earlier_id, currency, currency_exponent) VALUES (999999, NULL, 'EUR', 2)"
            .into(),
    )
    .await;
    assert!(orphan.is_err(), "the rebuilt table lost its foreign key");
}

/// Which declarations the United States signed: New Delhi yes, Paris no.
async fn the_united_states_signed_in_new_delhi_but_not_in_paris(backend: Backend) {
    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let query = r#"{ actor(slug: "united-states") { signatures { coalition { slug } stance } } }"#;
    let (_, body) = app.query(query).await;
    let mut stances: Vec<(String, String)> = body["data"]["actor"]["signatures"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| (s["coalition"]["slug"].as_str().unwrap().to_owned(), s["stance"].as_str().unwrap().to_owned()))
        .collect();
    stances.sort();
    let find = |slug: &str| stances.iter().find(|(c, _)| c == slug).map(|(_, s)| s.as_str());
    assert_eq!(find("new-delhi-declaration-2026"), Some("SIGNED"), "{stances:?}");
    assert_eq!(find("paris-ai-action-statement-2025"), Some("DECLINED"), "{stances:?}");
}

/// A fresh install loads the ECB's whole history: every commitment of the reference data
/// converts in dollars and in pounds, none left out for a missing rate.
async fn a_fresh_install_converts_every_commitment_in_dollars_and_pounds(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else { return };
    pledgewatch::cli::load_reference_if_empty(&app.db).await.expect("reference data and the ECB history load");
    for currency in ["USD", "GBP"] {
        let query = r#"query($c: String!) { totals(currency: $c) { grandTotal { count } excluded { reason detail commitment { slug } } } }"#;
        let (_, body) = app.as_token(None, query, json!({ "c": currency })).await;
        let excluded = body["data"]["totals"]["excluded"].as_array().unwrap_or_else(|| panic!("{body}"));
        let no_rate: Vec<&Value> = excluded.iter().filter(|e| e["reason"] == "NO_RATE").collect();
        assert!(no_rate.is_empty(), "{currency}: {no_rate:?}");
    }
    // The history is there from 1999, and a yearly average is over a real year.
    let query = r#"{ totals(filter: { events: ["choose-france-2018"] }, currency: "USD", fx: { method: YEARLY_AVERAGE }) {
        ratesUsed { quote averageYear averageOf } } }"#;
    let (_, body) = app.query(query).await;
    let rates = &body["data"]["totals"]["ratesUsed"];
    assert_eq!(rates[0]["averageYear"], 2018, "{body}");
    assert_eq!(rates[0]["averageOf"], 255, "{body}");
}

/// `serve` on a fresh install: the reference data is there as soon as it listens, and the
/// ECB history arrives in the background (then a yearly average is over a real year).
async fn a_first_serve_answers_at_once_and_loads_the_rate_history_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("fresh.db").display());
    let server =
        crate::process::Server::start_bare(&["--database-url", &url, "--rate-limit-per-second", "0"], &[]).await;
    let (status, body) = server.graphql(None, "{ commitments(first: 1) { totalCount } }", json!({})).await;
    assert_eq!((status, &body["data"]["commitments"]["totalCount"]), (200, &json!(55)), "{body}");
    let query = r#"{ totals(filter: { events: ["choose-france-2018"] }, currency: "USD", fx: { method: YEARLY_AVERAGE }) {
        ratesUsed { averageOf } } }"#;
    let started = std::time::Instant::now();
    loop {
        let (_, body) = server.graphql(None, query, json!({})).await;
        if body["data"]["totals"]["ratesUsed"][0]["averageOf"] == 255 {
            break;
        }
        assert!(started.elapsed().as_secs() < 120, "the ECB history did not arrive: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
