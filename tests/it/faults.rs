//! Faults, with the real binary: the database going away and coming back, SIGKILL in the
//! middle of writes and imports, SIGTERM with a request in flight.

use std::time::{Duration, Instant};

use pledgewatch::{
    auth::Role,
    domain::records::{DataSet, FORMAT},
    storage::{Db, PoolOptions},
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    helpers::{Backend, scalar, test_commitment, test_source},
    postgres::OwnCluster,
    process::Server,
};

crate::harness::tests! {
    both: [
    a_kill_during_a_stream_of_mutations_leaves_only_whole_transactions,
    a_kill_during_an_import_leaves_all_of_it_or_none,
    sigterm_lets_the_request_in_flight_finish,
    ]
    postgres: [a_database_restart_gives_clear_errors_then_the_server_recovers]
}

/// A database URL of `backend` that outlives server processes (and its temp dir).
async fn database(backend: Backend) -> Option<(String, Option<tempfile::TempDir>)> {
    Some(match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            (format!("sqlite://{}?mode=rwc", dir.path().join("faults.db").display()), Some(dir))
        }
        Backend::Postgres => (crate::postgres::cluster()?.fresh_database().await, None),
    })
}

const SUMMIT_HIGH: &str = r#"{ totals(filter: { events: ["ai-action-summit-2025"] }) { grandTotal { high count } } }"#;

async fn a_kill_during_a_stream_of_mutations_leaves_only_whole_transactions(backend: Backend) {
    let Some((url, _dir)) = database(backend).await else { return };
    let mut server = Server::start(&url).await;
    let db = Db::connect(&url, &PoolOptions::default()).await.expect("database opens");
    let token = db.create_token("test", "desk", Role::Editor).await.expect("token");
    let before = server.graphql(None, SUMMIT_HIGH, json!({})).await.1["data"]["totals"]["grandTotal"].clone();

    // Four writers create commitments as fast as they can until the server dies.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (client, address, token) = (server.client.clone(), server.address, token.clone());
            let done = std::sync::Arc::clone(&done);
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let slug = format!("kill-{writer}-{i}");
                    let query = r#"mutation C($slug: String!) { createCommitment(input: { slug: $slug, title: "Kill test",
                        pledger: "france", event: "ai-action-summit-2025", announcedOn: "2025-02-10", amountLow: "1000000.00",
                        amountHigh: "2000000.00", currency: "EUR", kind: INVESTMENT, newSources: [{ slug: $slug,
                        url: "https://example.org/kill", publisher: "Example", title: "Kill" }] }) { slug } }"#;
                    let sent = client
                        .post(format!("http://{address}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({ "query": query, "variables": { "slug": slug } }))
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    let Ok(body) = response.json::<Value>().await else { break };
                    assert!(body.get("errors").is_none(), "{body}");
                    acknowledged.push(slug);
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                acknowledged
            })
        })
        .collect();
    // The kill lands once 40 writes are acknowledged (others are then in flight), not after a
    // fixed delay that a slow machine could spend starting up.
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(std::sync::atomic::Ordering::SeqCst) < 40 {
        assert!(Instant::now() < deadline, "the writers never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.signal("KILL").await;
    let status = server.wait().await;
    assert!(!status.success(), "the server was killed, not stopped: {status:?}");
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer ends"));
    }
    assert!(acknowledged.len() >= 4, "too few writes before the kill to prove anything: {}", acknowledged.len());
    eprintln!("{backend:?}: {} creations acknowledged before the kill", acknowledged.len());

    // After a restart: every acknowledged write is there, and every write there is whole:
    // its source, its audit rows and its counted amount.
    let server = Server::start(&url).await;
    let created = scalar(&db, "SELECT COUNT(*) AS n FROM commitments WHERE slug LIKE 'kill-%'").await;
    assert!(created >= acknowledged.len() as i64, "acknowledged writes were lost: {created} < {}", acknowledged.len());
    assert!(created <= acknowledged.len() as i64 + 4, "more rows than requests sent");
    for (what, sql) in [
        ("sources", "SELECT COUNT(*) AS n FROM sources WHERE slug LIKE 'kill-%'"),
        (
            "commitment audit rows",
            "SELECT COUNT(*) AS n FROM audit_log WHERE entity_kind = 'commitment' AND slug LIKE 'kill-%'",
        ),
        (
            "source audit rows",
            "SELECT COUNT(*) AS n FROM audit_log WHERE entity_kind = 'source' AND slug LIKE 'kill-%'",
        ),
        (
            "counted amounts",
            "SELECT COUNT(*) AS n FROM counted_amounts ca JOIN commitments c ON c.id = ca.commitment_id WHERE c.slug LIKE 'kill-%'",
        ),
        (
            "status rows",
            "SELECT COUNT(*) AS n FROM status_history s JOIN commitments c ON c.id = s.commitment_id WHERE c.slug LIKE 'kill-%'",
        ),
    ] {
        assert_eq!(scalar(&db, sql).await, created, "{what} do not match the {created} commitments");
    }
    for slug in &acknowledged {
        let (_, body) =
            server.graphql(None, "query Q($s: String!) { commitment(slug: $s) { slug } }", json!({ "s": slug })).await;
        assert_eq!(body["data"]["commitment"]["slug"], slug.as_str(), "acknowledged {slug} is missing");
    }
    let after = server.graphql(None, SUMMIT_HIGH, json!({})).await.1["data"]["totals"]["grandTotal"].clone();
    let high = |v: &Value| v["high"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!(
        high(&after) - high(&before),
        rust_decimal::Decimal::from(2_000_000 * created),
        "totals count each whole write once"
    );
    assert_eq!(after["count"].as_i64().unwrap() - before["count"].as_i64().unwrap(), created);
}

/// A data set of `n` commitments by France, all citing one new source.
fn big_import(n: usize) -> DataSet {
    let mut source = test_source();
    source.slug = "bulk-source".into();
    let commitments = (0..n)
        .map(|i| {
            let mut c = test_commitment(&format!("bulk-{i}"), "1000", "2000", "EUR");
            c.sources = vec!["bulk-source".into()];
            c
        })
        .collect();
    DataSet { format: FORMAT.to_owned(), sources: vec![source], commitments, ..DataSet::default() }
}

/// Commitments in the killed import: enough that 0.7 s is well before its commit.
const BULK: i64 = 20_000;

async fn a_kill_during_an_import_leaves_all_of_it_or_none(backend: Backend) {
    let Some((url, dir)) = database(backend).await else { return };
    let db = Db::connect(&url, &PoolOptions::default()).await.expect("database opens");
    db.migrate().await.expect("migrations apply");
    crate::helpers::load_fixture(&db).await;
    let file_dir = match &dir {
        Some(d) => d.path().to_path_buf(),
        None => std::env::temp_dir(),
    };
    let file = file_dir.join(format!("bulk-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&big_import(BULK as usize)).unwrap()).expect("file written");
    let import = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_pledgewatch"))
            .args(["import", file.to_str().unwrap(), "--database-url", &url])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("import starts")
    };
    let count = "SELECT COUNT(*) AS n FROM commitments WHERE slug LIKE 'bulk-%'";

    let mut child = import();
    // Kill it once it says it is writing commitments (its first tenth is in the open
    // transaction, nine tenths are still to come): an event, not a delay.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    loop {
        let line = lines.next_line().await.expect("stderr reads").expect("the import reports progress");
        if line.contains("import: commitments 2000/20000") {
            break;
        }
    }
    assert!(child.try_wait().expect("status").is_none(), "the import ended before the kill: make it bigger");
    child.kill().await.expect("SIGKILL");
    let rows = scalar(&db, count).await;
    assert!(rows == 0 || rows == BULK, "a killed import left {rows} of {BULK} rows");
    assert_eq!(rows, 0, "the kill came after the commit: make the import bigger");
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM sources WHERE slug = 'bulk-source'").await, 0);

    // Run again to the end: everything is there, once.
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pledgewatch"))
        .args(["import", file.to_str().unwrap(), "--database-url", &url])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("import runs");
    assert!(output.status.success());
    // Not on a terminal: progress as plain lines, a tenth at a time.
    let progress = String::from_utf8_lossy(&output.stderr);
    assert!(progress.contains("import: commitments 2000/20000"), "{progress}");
    assert!(progress.contains("import: commitments 20000/20000"), "{progress}");
    eprintln!("{backend:?}: the whole import of {BULK} commitments took {:?}", started.elapsed());
    assert_eq!(scalar(&db, count).await, BULK);
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) AS n FROM counted_amounts ca JOIN commitments c ON c.id = ca.commitment_id WHERE c.slug LIKE 'bulk-%'")
            .await,
        BULK
    );
    let _ = std::fs::remove_file(&file);
}

async fn sigterm_lets_the_request_in_flight_finish(backend: Backend) {
    let Some((url, _dir)) = database(backend).await else { return };
    let mut server = Server::start(&url).await;
    // A dashboard is subscribed: it must not hold the shutdown up.
    let mut dashboard = crate::live::WsClient::connect(server.address, json!({})).await.expect("subscribed");
    dashboard.subscribe("totals", "subscription { totalsChanged { grandTotal { count } } }").await;
    dashboard.next("totals").await;
    let body = json!({ "query": "{ commitments(filter: { events: [\"ai-action-summit-2025\"] }) { totalCount } }" })
        .to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(server.address).await.expect("connects");
    // `Expect: 100-continue`: the server says "100 Continue" once its handler reads the body,
    // so the request is known to be in flight, not merely sent, when SIGTERM comes.
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("the headers");
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0_u8; 1];
        stream.read_exact(&mut byte).await.expect("an interim answer");
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim));
    stream.write_all(head.as_bytes()).await.expect("half the body");

    server.signal("TERM").await;
    // New connections are no longer taken (waited for, at most 5 s)...
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(server.address).await.is_ok() {
        assert!(Instant::now() < deadline, "the listener still accepts 5 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ...but the request already in flight completes.
    stream.write_all(tail.as_bytes()).await.expect("the rest of the body");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("a response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"data":{"commitments":{"totalCount":19}}}"#), "{response}");
    let started = Instant::now();
    let status = server.wait().await;
    assert!(status.success(), "graceful exit: {status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The database goes down under a running server: requests fail fast with a clear error
/// (503, SERVICE_UNAVAILABLE) and `/readyz` says so; once it is back, the same server answers
/// again without a restart.
async fn a_database_restart_gives_clear_errors_then_the_server_recovers() {
    let Some(cluster) = OwnCluster::start() else { return };
    let server = Server::start(&cluster.url()).await;
    let count = "{ commitments { totalCount } }";
    let (status, body) = server.graphql(None, count, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let total = body["data"]["commitments"]["totalCount"].clone();
    let ready = |server: &Server| {
        let client = server.client.clone();
        let url = format!("http://{}/readyz", server.address);
        async move { client.get(url).send().await.expect("readyz answers").status().as_u16() }
    };
    assert_eq!(ready(&server).await, 200);

    cluster.down();
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = server.graphql(None, count, json!({})).await;
        assert!(started.elapsed() < Duration::from_secs(10), "a request hung for {:?}", started.elapsed());
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    }
    assert_eq!(ready(&server).await, 503);

    cluster.up();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = server.graphql(None, count, json!({})).await;
        if status == 200 {
            assert_eq!(body["data"]["commitments"]["totalCount"], total);
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover: {status} {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(ready(&server).await, 200);
}
