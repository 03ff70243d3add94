//! Operations: Prometheus metrics after a few requests, one log line per request, and no
//! token in the logs, whatever the log level.

use pledgewatch::auth::Role;
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp, run_cli as cli},
    live::WsClient,
    process::Server,
};

crate::harness::tests! {
    both: [
    metrics_count_requests_operations_and_errors,
    a_token_never_appears_in_the_logs,
    settings_come_from_flags_then_environment_then_the_file,
    ]
    plain: [
    only_serve_migrate_and_import_create_a_database,
    shared_flags_go_anywhere_and_roles_are_checked_first,
    completions_and_the_man_page_come_from_the_command_line,
    ]
}

/// `completions bash|zsh|fish|…` and `man` print what the shells and `man` read, from the
/// same definition as `--help`: every command is in them.
async fn completions_and_the_man_page_come_from_the_command_line() {
    let (ok, bash, stderr) = cli(&["completions", "bash"]).await;
    assert!(ok, "{stderr}");
    assert!(bash.contains("_pledgewatch()") && bash.contains("complete -F _pledgewatch"), "{bash}");
    for command in ["serve", "import-rates", "rebuild-totals", "export-schema", "completions"] {
        assert!(bash.contains(command), "{command} missing from the bash completions");
    }
    let (ok, zsh, _) = cli(&["completions", "zsh"]).await;
    assert!(ok && zsh.starts_with("#compdef pledgewatch"), "{zsh}");
    let (ok, fish, _) = cli(&["completions", "fish"]).await;
    assert!(ok && fish.contains("complete -c pledgewatch"), "{fish}");
    let (ok, _, stderr) = cli(&["completions", "tcsh"]).await;
    assert!(!ok && stderr.contains("invalid value 'tcsh'"), "{stderr}");
    let (ok, man, stderr) = cli(&["man"]).await;
    assert!(ok, "{stderr}");
    assert!(man.starts_with(".ie") || man.contains(".TH pledgewatch"), "{man}");
    assert!(man.contains("import\\-rates") || man.contains("import-rates"), "{man}");

    // Help wraps to the terminal's width (COLUMNS where there is no terminal).
    for command in [&[][..], &["serve"][..], &["import-rates"][..], &["token", "create"][..]] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pledgewatch"))
            .args(command)
            .arg("--help")
            .env("COLUMNS", "80")
            .output()
            .await
            .expect("the binary runs");
        let help = String::from_utf8_lossy(&output.stdout);
        let long: Vec<&str> = help.lines().filter(|l| l.chars().count() > 80).collect();
        assert!(output.status.success() && long.is_empty(), "{command:?}: {long:?}");
    }
}

/// `export` against a mistyped SQLite path created an empty database and exported nothing,
/// exit 0. Now only `serve`, `migrate` and `import` (not a dry run) create one.
async fn only_serve_migrate_and_import_create_a_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("typo.db");
    let url = format!("sqlite://{}?mode=rwc", missing.display());
    let reference = concat!(env!("CARGO_MANIFEST_DIR"), "/data/reference.json");
    for args in [
        vec!["export", "--database-url", &url],
        vec!["token", "list", "--database-url", &url],
        vec!["rebuild-totals", "--database-url", &url],
        vec!["import", "--dry-run", reference, "--database-url", &url],
    ] {
        let (ok, _, err) = cli(&args).await;
        assert!(!ok, "{args:?} succeeded");
        assert!(err.contains("no database at"), "{args:?}: {err}");
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
    let (ok, _, err) = cli(&["migrate", "--database-url", &url]).await;
    assert!(ok && missing.exists(), "{err}");
    let (ok, out, err) = cli(&["export", "--database-url", &url]).await;
    assert!(ok, "{err}");
    assert!(out.contains("\"format\""), "{out}");
}

/// `--database-url` after a subcommand's subcommand was refused; `--role` was a free string
/// checked once the database was open.
async fn shared_flags_go_anywhere_and_roles_are_checked_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("t.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    assert!(cli(&["migrate", "--database-url", &url]).await.0);
    let (ok, out, err) = cli(&["token", "create", "--name", "desk", "--role", "editor", "--database-url", &url]).await;
    assert!(ok, "{err}");
    assert!(out.contains("token desk (EDITOR) created"), "{out}");
    let (ok, out, _) = cli(&["token", "list", "--database-url", &url]).await;
    assert!(ok && out.starts_with("desk\tEDITOR"), "{out}");
    // An unknown role is refused by the parser, naming the choices, before the database opens.
    let elsewhere = format!("sqlite://{}?mode=rwc", dir.path().join("never.db").display());
    let (ok, _, err) = cli(&["token", "create", "--name", "x", "--role", "boss", "--database-url", &elsewhere]).await;
    assert!(!ok);
    assert!(err.contains("invalid value 'boss' for '--role <ROLE>'") && err.contains("reader, editor, admin"), "{err}");
    assert!(!dir.path().join("never.db").exists());
}

/// The value of the sample `name{labels}` in a text exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

async fn metrics_count_requests_operations_and_errors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    for _ in 0..2 {
        let (status, _) = app.query("query Dashboard { events { totalCount } }").await;
        assert_eq!(status, 200);
    }
    let create = r#"mutation Sneaky { createSource(input: { slug: "x", url: "https://example.org", publisher: "x", title: "x" }) { slug } }"#;
    let (status, _) = app.query(create).await;
    assert_eq!(status, 401);
    let (_, body) = app.query(r#"query Bad { totals(currency: "EUX") { grandTotal { low } } }"#).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let response = reqwest::get(format!("http://{}/metrics", app.address)).await.expect("metrics");
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert_eq!(
        sample(&text, r#"pledgewatch_graphql_operations_total{operation="Dashboard",kind="query"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(sample(&text, r#"pledgewatch_graphql_operations_total{operation="Sneaky",kind="mutation"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"pledgewatch_graphql_errors_total{code="UNAUTHENTICATED"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"pledgewatch_graphql_errors_total{code="BAD_USER_INPUT"}"#), Some(1.0));
    assert_eq!(
        sample(&text, r#"pledgewatch_http_requests_total{route="/graphql",method="POST",status="200"}"#),
        Some(3.0)
    );
    assert_eq!(
        sample(&text, r#"pledgewatch_http_requests_total{route="/graphql",method="POST",status="401"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"pledgewatch_graphql_operation_duration_seconds_count{operation="Dashboard",kind="query"}"#),
        Some(2.0)
    );
    assert_eq!(sample(&text, "pledgewatch_db_pool_max_connections"), Some(8.0));
    assert!(sample(&text, "pledgewatch_db_pool_connections").is_some_and(|n| n >= 1.0), "{text}");
    assert!(sample(&text, "pledgewatch_db_statements_total").is_some_and(|n| n > 0.0), "{text}");
}

async fn a_token_never_appears_in_the_logs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let revoked = app.token("gone", Role::Editor).await;
    app.db.revoke_token("test", "gone").await.expect("revoked");
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    // The most talkative level, in JSON: nothing may carry a secret.
    let mut server = Server::start_logged(&app.url, &["--log-format", "json"], "debug", log).await;
    let create = r#"mutation Logged { createSource(input: { slug: "logged", url: "https://example.org", publisher: "x", title: "x" }) { slug } }"#;
    let (status, _) = server.graphql(Some(&editor), create, json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = server.graphql(Some(&revoked), "{ events { totalCount } }", json!({})).await;
    assert_eq!(status, 401);
    let (status, _) = server.graphql(Some("pw_a-made-up-secret-token"), "{ events { totalCount } }", json!({})).await;
    assert_eq!(status, 401);
    let ws = WsClient::connect(server.address, json!({ "Authorization": format!("Bearer {editor}") }))
        .await
        .expect("the editor's socket opens");
    drop(ws);
    let export = reqwest::Client::new()
        .get(format!("http://{}/export/commitments.csv", server.address))
        .bearer_auth(&editor)
        .send()
        .await
        .expect("export");
    assert_eq!(export.status().as_u16(), 200);
    server.signal("TERM").await;
    server.wait().await;

    let logs = std::fs::read_to_string(&log_path).expect("log read");
    let requests: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["target"] == "pledgewatch::request")
        .collect();
    // One JSON line per request: exactly these five from the test (the start-up polls
    // only /healthz).
    let lines = |route: &str, method: &str| -> Vec<(i64, Option<String>)> {
        requests
            .iter()
            .filter(|r| r["route"] == route && r["method"] == method)
            .map(|r| (r["status"].as_i64().unwrap(), r["operation"].as_str().map(str::to_owned)))
            .collect()
    };
    assert_eq!(lines("/graphql", "POST"), vec![(200, Some("Logged".to_owned())), (401, None), (401, None)], "{logs}");
    assert_eq!(lines("/graphql/ws", "GET"), vec![(101, None)], "{logs}");
    assert_eq!(lines("/export/commitments.csv", "GET"), vec![(200, None)], "{logs}");
    assert!(requests.iter().all(|r| r["latency_ms"].is_number()), "{logs}");
    for secret in [editor.as_str(), revoked.as_str(), "pw_a-made-up-secret-token"] {
        let body = &secret[3..];
        assert!(!logs.contains(body), "a token is in the logs");
    }
}

/// A settings file gives defaults; environment variables beat it, flags beat both.
async fn settings_come_from_flags_then_environment_then_the_file(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("pledgewatch.toml");
    let settings = format!(
        "database_url = {:?}\nrate_limit_per_second = 1\nrate_limit_burst = 2\ncors_origins = [\"https://a.example\", \"https://b.example\"]\n",
        app.url
    );
    std::fs::write(&file, settings).expect("settings written");
    let server = Server::start_bare(
        &["--config", file.to_str().unwrap(), "--cors-origins", "https://c.example"],
        &[("PLEDGEWATCH_RATE_LIMIT_BURST", "3")],
    )
    .await;
    // The environment's burst of 3 (not the file's 2): of five requests sent at once (well
    // within the one second a request is refilled in), three pass.
    let mut statuses: Vec<u16> = futures_util::future::join_all(
        (0..5).map(|_| async { server.graphql(None, "{ events { totalCount } }", json!({})).await.0 }),
    )
    .await;
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // The file's database: the reference data is there, and so is a token made in it (a
    // token has a budget of its own).
    let token = app.token("settings", pledgewatch::auth::Role::Reader).await;
    let (status, body) =
        server.graphql(Some(&token), r#"{ commitment(slug: "fr-ai-investment-109bn") { slug } }"#, json!({})).await;
    assert_eq!((status, &body["data"]["commitment"]["slug"]), (200, &json!("fr-ai-investment-109bn")), "{body}");
    // The flag's CORS origin, not the file's.
    let preflight = |origin: &'static str| {
        server
            .client
            .request(reqwest::Method::OPTIONS, format!("http://{}/graphql", server.address))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let c = preflight("https://c.example").await.expect("preflight");
    assert_eq!(c.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()), Some("https://c.example"));
    let a = preflight("https://a.example").await.expect("preflight");
    assert!(a.headers().get("access-control-allow-origin").is_none());
}
