//! What the README promises and no other test checked: each promise here is run against the
//! real server, its processes or its CLI.

use std::time::Duration;

use pledgewatch::{
    auth::Role,
    domain::records::{DataSet, FORMAT},
};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, scalar, test_commitment, test_source},
    live::WsClient,
    process::Server,
};

crate::harness::tests! {
    both: [
        parts_above_their_headline_count_and_are_flagged,
        choose_france_2025_confirms_twenty_point_eight_billion,
        an_import_reaches_a_totals_subscriber_as_one_update,
        a_token_in_the_upgrade_header_authenticates_the_socket,
        a_page_holds_fifty_rows_when_first_is_not_given,
        the_export_takes_sectors_by_repeating_the_parameter,
        the_cli_manages_tokens_rates_and_totals_as_processes,
        sigint_stops_the_server_gracefully,
    ]
    postgres: [
        a_rolled_back_write_sends_no_notice,
        a_reconnected_listener_tells_subscribers_to_resync,
    ]
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pledgewatch"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the CLI runs")
}

fn totals_of(data: &Value) -> &Value {
    &data["totals"]
}

async fn parts_above_their_headline_count_and_are_flagged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut head = test_commitment("small-headline", "100", "100", "EUR");
    head.event = Some("ai-action-summit-2025".into());
    head.sector = Some("promise-test".into());
    let mut parts = Vec::new();
    for (slug, amount) in [("big-part-a", "80"), ("big-part-b", "70")] {
        let mut part = test_commitment(slug, amount, amount, "EUR");
        part.parent = Some("small-headline".into());
        part.relation = Some("PART_OF".into());
        part.sector = Some("promise-test".into());
        parts.push(part);
    }
    let data = DataSet {
        format: FORMAT.to_owned(),
        sources: vec![test_source()],
        commitments: [vec![head], parts].concat(),
        ..Default::default()
    };
    app.db.import(&data).await.expect("imported");
    let data = app.data("Totals", json!({ "filter": { "sectors": ["promise-test"] } })).await;
    let report = totals_of(&data);
    // The parts count (150), not the headline they exceed (100), and the reader is told.
    assert_eq!(
        (report["grandTotal"]["low"].as_str(), report["grandTotal"]["high"].as_str()),
        (Some("150.00"), Some("150.00"))
    );
    assert_eq!(
        report["warnings"],
        json!([{ "commitment": { "slug": "small-headline" }, "code": "PARTS_EXCEED_HEADLINE" }])
    );
}

async fn choose_france_2025_confirms_twenty_point_eight_billion(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let data = app.data("Totals", json!({ "filter": { "events": ["choose-france-2025"] } })).await;
    let grand = &totals_of(&data)["grandTotal"];
    let range = |l: &str, h: &str| json!({ "low": l, "high": h, "lowScenario": l, "highScenario": h });
    assert_eq!(grand["confirmed"], range("20800000000.00", "20800000000.00"));
    assert_eq!(grand["newMoney"], range("20000000000.00", "20000000000.00"));
    assert_eq!(grand["asAnnounced"], range("37000000000.00", "40800000000.00"));
}

async fn an_import_reaches_a_totals_subscriber_as_one_update(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    let subscription =
        r#"subscription { totalsChanged(filter: { pledgers: ["france"] }) { grandTotal { low count } } }"#;
    ws.subscribe("t", subscription).await;
    let first = ws.next("t").await["totalsChanged"]["grandTotal"].clone();
    // Fifty commitments in one import: one update, with all fifty in it.
    let data = DataSet {
        format: FORMAT.to_owned(),
        sources: vec![test_source()],
        commitments: (0..50).map(|i| test_commitment(&format!("burst-{i}"), "1", "1", "EUR")).collect(),
        ..Default::default()
    };
    app.db.import(&data).await.expect("imported");
    let update = ws.next("t").await["totalsChanged"]["grandTotal"].clone();
    assert_eq!(update["count"].as_i64().unwrap(), first["count"].as_i64().unwrap() + 50, "{update}");
    // The next update is the next write's (a probe of 2 EUR): nothing came in between.
    let create = r#"mutation { createCommitment(input: { slug: "probe", title: "Probe", pledger: "france",
        announcedOn: "2025-02-10", amountLow: "2", amountHigh: "2", currency: "EUR", kind: INVESTMENT,
        sources: ["test-source"] }) { slug } }"#;
    let (_, body) = app.as_token(Some(&editor), create, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let next = ws.next("t").await["totalsChanged"]["grandTotal"].clone();
    assert_eq!(next["count"].as_i64().unwrap(), first["count"].as_i64().unwrap() + 51, "{next}");
}

async fn a_token_in_the_upgrade_header_authenticates_the_socket(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let token = app.token("header-desk", Role::Editor).await;
    let mut ws = WsClient::connect_with_header(app.address, &token).await.expect("connected with the header");
    let create = r#"mutation { createSource(input: { slug: "by-header", url: "https://example.org/h",
        publisher: "Example", title: "Header" }) { slug } }"#;
    ws.subscribe("c", create).await;
    assert_eq!(ws.next("c").await["createSource"]["slug"], "by-header");
    let audited = scalar(&app.db, "SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'header-desk'").await;
    assert_eq!(audited, 1, "the write is audited under the header's token");
    // A bad token in the header is refused before the upgrade.
    let refused = WsClient::connect_with_header(app.address, "pw_nothing").await;
    assert!(refused.as_ref().is_err_and(|e| e.contains("401")), "{:?}", refused.err());
}

async fn a_page_holds_fifty_rows_when_first_is_not_given(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else { return };
    crate::helpers::load_fixture(&app.db).await;
    let data = DataSet {
        format: FORMAT.to_owned(),
        sources: vec![test_source()],
        commitments: (0..60).map(|i| test_commitment(&format!("page-{i:02}"), "1", "1", "EUR")).collect(),
        ..Default::default()
    };
    app.db.import(&data).await.expect("imported");
    let (_, body) = app.query("{ commitments { totalCount nodes { slug } pageInfo { hasNextPage } } }").await;
    let page = &body["data"]["commitments"];
    assert_eq!(page["nodes"].as_array().map(Vec::len), Some(50), "{body}");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert!(page["totalCount"].as_i64().unwrap() > 60);
}

async fn the_export_takes_sectors_by_repeating_the_parameter(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut one = test_commitment("sector-one", "1", "1", "EUR");
    one.sector = Some("Energy, grids".into());
    let mut two = test_commitment("sector-two", "1", "1", "EUR");
    two.sector = Some("Test sector two".into());
    let data = DataSet {
        format: FORMAT.to_owned(),
        sources: vec![test_source()],
        commitments: vec![one, two],
        ..Default::default()
    };
    app.db.import(&data).await.expect("imported");
    // A sector name may hold a comma: sectors are repeated, never split.
    let url = reqwest::Url::parse_with_params(
        &format!("http://{}/export/commitments.json", app.address),
        [("sectors", "Energy, grids"), ("sectors", "Test sector two")],
    )
    .unwrap();
    let rows: Value = app.client.get(url).send().await.unwrap().json().await.unwrap();
    let mut slugs: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["slug"].as_str().unwrap()).collect();
    slugs.sort_unstable();
    assert_eq!(slugs, ["sector-one", "sector-two"]);
}

async fn the_cli_manages_tokens_rates_and_totals_as_processes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let url = app.url.clone();
    let created = cli(&["token", "--database-url", &url, "create", "--name", "cli-desk", "--role", "editor"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let out = String::from_utf8_lossy(&created.stdout).to_string();
    let secret = out.split_whitespace().find(|w| w.starts_with("pw_")).expect("the secret is printed").to_owned();
    let (status, _) = app.as_token(Some(&secret), "{ __typename }", json!({})).await;
    assert_eq!(status, 200, "the printed secret works");
    let listed = cli(&["token", "--database-url", &url, "list"]);
    let list = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(list.contains("cli-desk") && list.contains("EDITOR") && !list.contains(&secret[3..]), "{list}");
    let revoked = cli(&["token", "--database-url", &url, "revoke", "cli-desk"]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    let (status, _) = app.as_token(Some(&secret), "{ __typename }", json!({})).await;
    assert_eq!(status, 401, "a revoked secret stops working");

    // import-rates: the ECB format; a second run changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eurofxref-hist.csv");
    std::fs::write(&file, "Date,USD,NOK,\n2025-02-17,1.0473,11.6635,\n2025-02-18,1.0447,11.6845,\n").unwrap();
    let path = file.to_str().unwrap();
    let args = ["import-rates", "--database-url", &url, path, "--source", "test-source", "--currencies", "NOK"];
    let source = DataSet { format: FORMAT.to_owned(), sources: vec![test_source()], ..Default::default() };
    app.db.import(&source).await.expect("the cited source");
    let imported = cli(&args);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let nok = "SELECT COUNT(*) AS n FROM exchange_rates WHERE quote = 'NOK'";
    assert_eq!(scalar(&app.db, nok).await, 2);
    let again = cli(&args);
    assert!(again.status.success());
    assert_eq!(scalar(&app.db, nok).await, 2, "re-importing adds nothing");

    // rebuild-totals: the counted rows come back exactly.
    let before = scalar(&app.db, "SELECT COUNT(*) AS n FROM counted_amounts").await;
    sea_orm::ConnectionTrait::execute_unprepared(app.db.conn(), "DELETE FROM counted_amounts").await.unwrap();
    let rebuilt = cli(&["rebuild-totals", "--database-url", &url]);
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) AS n FROM counted_amounts").await, before);
}

async fn sigint_stops_the_server_gracefully(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut server = Server::start(&app.url).await;
    let (status, _) = server.graphql(None, "{ __typename }", json!({})).await;
    assert_eq!(status, 200);
    server.signal("INT").await;
    let exit = tokio::time::timeout(Duration::from_secs(10), server.wait()).await.expect("it stops within 10 s");
    assert!(exit.success(), "Ctrl-C is a clean exit: {exit:?}");
}

/// Creates a commitment of France of 1 EUR as `editor`; returns the answer.
async fn create_by_france(app: &TestApp, editor: &str, slug: &str) -> Value {
    let query = r#"mutation C($slug: String!) { createCommitment(input: { slug: $slug, title: "Notice",
        pledger: "france", announcedOn: "2025-02-10", amountLow: "1", amountHigh: "1", currency: "EUR",
        kind: INVESTMENT, sources: ["rtl-sommet-ia-2025"] }) { slug } }"#;
    app.as_token(Some(editor), query, json!({ "slug": slug })).await.1
}

const CHANGES: &str = r#"subscription { commitmentChanged(filter: { pledgers: ["france"] }) { action slug } }"#;

async fn a_rolled_back_write_sends_no_notice() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    ws.subscribe("c", CHANGES).await;
    ws.until_listening("c", |slug| {
        let (app, editor) = (&app, editor.clone());
        async move {
            let body = create_by_france(app, &editor, &slug).await;
            assert!(body.get("errors").is_none(), "{body}");
        }
    })
    .await;
    // The write reaches pg_notify, then its audit row fails: everything rolls back.
    use sea_orm::ConnectionTrait;
    let conn = app.db.conn();
    conn.execute_unprepared(
        "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no audit today'; END $$ LANGUAGE plpgsql",
    )
    .await
    .unwrap();
    conn.execute_unprepared(
        "CREATE TRIGGER refuse BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
    )
    .await
    .unwrap();
    let body = create_by_france(&app, &editor, "rolled-back").await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR", "{body}");
    conn.execute_unprepared("DROP TRIGGER refuse ON audit_log").await.unwrap();
    let body = create_by_france(&app, &editor, "committed").await;
    assert!(body.get("errors").is_none(), "{body}");
    // The next notice is the committed write's: the rolled-back one was never sent.
    assert_eq!(ws.next_change("c").await, json!({ "action": "CREATED", "slug": "committed" }));
}

async fn a_reconnected_listener_tells_subscribers_to_resync() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    ws.subscribe("c", CHANGES).await;
    let editor = app.token("desk", Role::Editor).await;
    ws.until_listening("c", |slug| {
        let (app, editor) = (&app, editor.clone());
        async move {
            let body = create_by_france(app, &editor, &slug).await;
            assert!(body.get("errors").is_none(), "{body}");
        }
    })
    .await;
    // Cut the listener's connection from the server side.
    let cut = scalar(
        &app.db,
        "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    assert_eq!(cut, 1, "one listener connection");
    // It reconnects and tells the subscriber that notices may have been lost.
    let message = ws.receive_for("c").await;
    assert_eq!(message["payload"]["data"]["commitmentChanged"]["action"], "RESYNC", "{message}");
}
