//! Data in and out with the real binary: CSV sets and JSON files, every bad row reported,
//! dry runs, re-imports, and the export → import round trip.

use std::path::Path;

use pledgewatch::auth::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, on_both_backends};

on_both_backends!(
    a_csv_set_with_bad_rows_reports_every_one_and_writes_nothing,
    a_dry_run_reports_and_writes_nothing,
    importing_the_same_files_again_changes_nothing,
    export_then_import_into_an_empty_database_gives_the_same_answers,
);

/// Runs the binary; returns success, stdout and stderr.
async fn pledgewatch(args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pledgewatch"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("pledgewatch runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in ["sources", "actors", "commitments", "status_history", "source_links", "counted_amounts", "audit_log"]
    {
        let conn = app.db.conn();
        let row = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        out.push(row.try_get::<i64>("", "n").expect("n"));
    }
    out
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("file written");
}

/// A small CSV set on top of the reference data: a source, two commitments, one status row.
fn good_set(dir: &Path) {
    write(dir, "sources.csv", "slug,url,publisher,title\nnew-report,https://example.org/report,Example,Report\n");
    write(
        dir,
        "commitments.csv",
        "slug,title,pledger,event,announced_on,amount_low,amount_high,currency,kind,status,sources\n\
         csv-one,Élysée data centre,france,ai-action-summit-2025,2025-02-10,1000000,2000000,EUR,INVESTMENT,ANNOUNCED,new-report\n\
         csv-two,Second,mistral-ai,,2025-02-11,5.5,5.5,USD,INVESTMENT,ANNOUNCED,new-report|elysee-business-day-2025-02-11\n",
    );
    write(
        dir,
        "status_history.csv",
        "commitment,status,effective_on,sources\ncsv-one,ANNOUNCED,2025-02-10,new-report\n",
    );
}

async fn a_csv_set_with_bad_rows_reports_every_one_and_writes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "sources.csv",
        "slug,url,publisher,title\ngood-source,https://example.org/a,Example,A\nbad-source,ftp://example.org/b,Example,B\n",
    );
    write(
        dir.path(),
        "commitments.csv",
        "slug,title,pledger,announced_on,amount_low,amount_high,currency,recipient_country,kind,status,sources\n\
         fine,Fine,france,2025-02-10,1,2,EUR,FR,INVESTMENT,ANNOUNCED,good-source\n\
         bad-currency,Bad currency,france,2025-02-10,1,2,EUX,FR,INVESTMENT,ANNOUNCED,good-source\n\
         bad-range,Bad range,france,2025-02-10,3,2,EUR,FR,INVESTMENT,ANNOUNCED,good-source\n\
         bad-country,Bad country,france,2025-02-10,1,2,EUR,XX,INVESTMENT,ANNOUNCED,good-source\n\
         bad-date,Bad date,france,1989-01-01,1,2,EUR,FR,INVESTMENT,ANNOUNCED,good-source\n",
    );
    let before = counts(&app).await;
    let (ok, _, stderr) = pledgewatch(&["import", dir.path().to_str().unwrap(), "--database-url", &app.url]).await;
    assert!(!ok, "the import must fail: {stderr}");
    for expected in [
        "sources.csv:3: url:",
        "commitments.csv:3: currency:",
        "commitments.csv:4: amount_low:",
        "commitments.csv:5: recipient_country:",
        "commitments.csv:6: announced_on:",
    ] {
        assert!(stderr.contains(expected), "{expected:?} is not reported:\n{stderr}");
    }
    assert!(stderr.contains("5 problem(s), nothing written"), "{stderr}");
    assert!(!stderr.contains("commitments.csv:2:"), "the good row was reported:\n{stderr}");
    assert_eq!(counts(&app).await, before, "a failed import wrote something");

    // A reference to nothing and a malformed cell are placed just as precisely.
    let bad = tempfile::tempdir().expect("temp dir");
    write(
        bad.path(),
        "commitments.csv",
        "slug,title,pledger,currency,kind,status,amount_disputed,sources\n\
         who,Who,nobody-at-all,EUR,INVESTMENT,ANNOUNCED,false,elysee-business-day-2025-02-11\n",
    );
    write(bad.path(), "status_history.csv", "commitment,status,sources\nno-such-commitment,ANNOUNCED,x\n");
    let (ok, _, stderr) = pledgewatch(&["import", bad.path().to_str().unwrap(), "--database-url", &app.url]).await;
    assert!(!ok);
    assert!(stderr.contains("status_history.csv:2: commitment: no commitment \"no-such-commitment\""), "{stderr}");
    write(bad.path(), "status_history.csv", "commitment,status,sources\n");
    let (ok, _, stderr) = pledgewatch(&["import", bad.path().to_str().unwrap(), "--database-url", &app.url]).await;
    assert!(!ok);
    assert!(stderr.contains("commitments.csv:2: pledger:"), "{stderr}");
    assert_eq!(counts(&app).await, before);
}

async fn a_dry_run_reports_and_writes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    good_set(dir.path());
    let before = counts(&app).await;
    let (ok, stdout, stderr) =
        pledgewatch(&["import", dir.path().to_str().unwrap(), "--dry-run", "--database-url", &app.url]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("checked (nothing written)") && stdout.contains("3 inserted"), "{stdout}");
    assert_eq!(counts(&app).await, before);
}

async fn importing_the_same_files_again_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    good_set(dir.path());
    let (ok, stdout, stderr) = pledgewatch(&["import", dir.path().to_str().unwrap(), "--database-url", &app.url]).await;
    assert!(ok && stdout.contains("3 inserted, 0 updated"), "{stdout}{stderr}");
    let (_, body) = app
        .as_token(None, r#"{ search(query: "Elysee data") { __typename ... on Commitment { slug } } }"#, json!({}))
        .await;
    assert!(body.to_string().contains("csv-one"), "accents are intact and searchable: {body}");
    let label = dir.path().file_name().unwrap().to_string_lossy().into_owned();
    let history = "query H($s: String!) { history(entity: IMPORT, slug: $s) { action after } }";
    let (_, body) = app.as_token(None, history, json!({ "s": label })).await;
    assert_eq!(body["data"]["history"][0]["action"], "IMPORT", "{body}");
    assert_eq!(body["data"]["history"][0]["after"]["inserted"], 3, "{body}");

    let before = counts(&app).await;
    let (ok, stdout, _) = pledgewatch(&["import", dir.path().to_str().unwrap(), "--database-url", &app.url]).await;
    assert!(ok && stdout.contains("0 inserted, 0 updated, 3 unchanged"), "{stdout}");
    assert_eq!(counts(&app).await, before, "a re-import wrote something (audit rows included)");
}

const ANSWERS: &str = r#"{
  commitments(first: 500, orderBy: TITLE_ASC) { totalCount nodes { slug title status amount { low high currency }
    pledger { slug } parent { slug } sources { slug url } statusHistory { status effectiveOn } retraction { reason } } }
  byPledger: totals(groupBy: [PLEDGER]) { groups { key { value } low high } grandTotal { low high count } }
  byEvent: totals(groupBy: [EVENT, CURRENCY], basis: AS_ANNOUNCED) { groups { key { value } low high } }
  coalitions { nodes { slug counts { signed declined } } }
}"#;

async fn export_then_import_into_an_empty_database_gives_the_same_answers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    // Edits first, so the export holds more than the shipped file: a status change and a
    // retraction.
    let editor = app.token("desk", Role::Editor).await;
    let (_, body) =
        app.as_token(None, r#"{ commitment(slug: "uae-mgx-ai-campus-france") { version } }"#, json!({})).await;
    let v = body["data"]["commitment"]["version"].clone();
    let status = r#"mutation S($v: Int!) { setCommitmentStatus(slug: "uae-mgx-ai-campus-france", expectedVersion: $v,
        status: IN_PROGRESS, effectiveOn: "2025-09-01", source: "elysee-business-day-2025-02-11") { version } }"#;
    let (_, body) = app.as_token(Some(&editor), status, json!({ "v": v })).await;
    let v = body["data"]["setCommitmentStatus"]["version"].clone();
    assert!(v.is_number(), "{body}");
    let retract = r#"mutation R($v: Int!) { retractCommitment(slug: "uae-mgx-ai-campus-france", expectedVersion: $v,
        reason: "Round-trip test", source: "elysee-business-day-2025-02-11") { version } }"#;
    let (_, body) = app.as_token(Some(&editor), retract, json!({ "v": v })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, original) = app.query(ANSWERS).await;
    assert!(original.get("errors").is_none(), "{original}");

    let out = tempfile::tempdir().expect("temp dir");
    for format in ["json", "csv"] {
        let target = out.path().join(format);
        let (ok, _, stderr) =
            pledgewatch(&["export", "--format", format, "--out", target.to_str().unwrap(), "--database-url", &app.url])
                .await;
        assert!(ok, "{stderr}");
        let input = if format == "json" { target.join("pledgewatch.json") } else { target.clone() };
        let Some(empty) = TestApp::spawn_empty(backend).await else { return };
        let (ok, stdout, stderr) =
            pledgewatch(&["import", input.to_str().unwrap(), "--database-url", &empty.url]).await;
        assert!(ok, "{format}: {stdout}{stderr}");
        let (_, copy) = empty.query(ANSWERS).await;
        assert_eq!(copy, original, "{format}: the round trip changed an answer");
        let retraction: &Value = &copy["data"]["commitments"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["slug"] == "uae-mgx-ai-campus-france")
            .unwrap()["retraction"];
        assert_eq!(retraction["reason"], "Round-trip test");
    }
}
