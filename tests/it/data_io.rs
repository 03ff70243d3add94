//! Data in and out with the real binary: CSV sets and JSON files, every bad row reported,
//! dry runs, re-imports, and the export → import round trip.

use std::path::Path;

use pledgewatch::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, run_cli as pledgewatch};

crate::harness::tests! {
    both: [
    a_csv_set_with_bad_rows_reports_every_one_and_writes_nothing,
    a_dry_run_reports_and_writes_nothing,
    importing_the_same_files_again_changes_nothing,
    export_then_import_into_an_empty_database_gives_the_same_answers,
    the_export_endpoints_filter_and_stream,
    the_counted_columns_of_the_csv_add_up_to_the_totals,
    a_large_export_streams_in_flat_memory,
    a_streamed_csv_import_equals_the_same_set_read_whole,
    ]
}

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "sources",
        "actors",
        "commitments",
        "status_history",
        "source_links",
        "counted_amounts",
        "reported_counts",
        "audit_log",
    ] {
        out.push(crate::helpers::row_count(&app.db, table).await);
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
    // A reported count needs low ≤ high and a source, like any figure.
    write(
        dir.path(),
        "reported_counts.csv",
        "coalition,reported_on,count_low,count_high,kind,wording,sources\n\
         paris-ai-action-statement-2025,2025-02-12,64,58,COUNT,Backwards,good-source\n\
         paris-ai-action-statement-2025,,60,60,COUNT,Unsourced,\n\
         paris-ai-action-statement-2025,,60,,COUNT,Open and fine,good-source\n",
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
        "reported_counts.csv:2: count_high:",
        "reported_counts.csv:3: sources:",
    ] {
        assert!(stderr.contains(expected), "{expected:?} is not reported:\n{stderr}");
    }
    assert!(stderr.contains("7 problem(s), nothing written"), "{stderr}");
    assert!(!stderr.contains("reported_counts.csv:4:"), "the good count was reported:\n{stderr}");
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
    let history = "query H($s: String!) { history(entity: IMPORT, slug: $s) { actor action after } }";
    let (_, body) = app.as_token(None, history, json!({ "s": label })).await;
    assert_eq!(body["data"]["history"][0]["action"], "IMPORT", "{body}");
    assert_eq!(body["data"]["history"][0]["after"]["inserted"], 3, "{body}");
    // The reference data loaded at start is on record too.
    let (_, body) = app.as_token(None, history, json!({ "s": "reference.json" })).await;
    assert_eq!(body["data"]["history"][0]["after"]["inserted"], 346, "{body}");

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

async fn get(app_address: std::net::SocketAddr, path: &str) -> reqwest::Response {
    reqwest::get(format!("http://{app_address}{path}")).await.expect("request")
}

async fn the_export_endpoints_filter_and_stream(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let query = r#"{ commitments(first: 100, filter: { events: ["ai-action-summit-2025"], topLevel: true }) { nodes { slug } } }"#;
    let (_, body) = app.query(query).await;
    let expected: Vec<String> = body["data"]["commitments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 4);

    let response = get(app.address, "/export/commitments.csv?events=ai-action-summit-2025&topLevel=true").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(response.headers().get("content-length").is_none(), "the body is streamed, not sized up front");
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().next(), Some("slug"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let slugs: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(slugs, expected, "same rows, same order as the GraphQL list");
    let package = rows.iter().find(|r| &r[0] == "fr-ai-investment-109bn").unwrap();
    assert!(package[1].starts_with("€109bn"), "accents intact: {}", &package[1]);
    assert_eq!((&package[6], &package[7], &package[8]), ("109000000000.00", "109000000000.00", "EUR"));
    assert!(package[16].contains("<https://"), "sources readable with their URLs: {}", &package[16]);

    // The spreadsheet variant: byte-order mark and CRLF.
    let bytes = get(app.address, "/export/commitments.csv?statuses=ANNOUNCED&excel=1").await.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}slug,".as_bytes()));
    assert!(bytes.windows(2).any(|w| w == b"\r\n") && !bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));

    // JSON: the same rows, sources as objects.
    let json: Value = get(app.address, "/export/commitments.json?events=ai-action-summit-2025&topLevel=true")
        .await
        .json()
        .await
        .unwrap();
    let slugs: Vec<&str> = json.as_array().unwrap().iter().map(|c| c["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, expected);
    assert!(json[0]["sources"][0]["url"].as_str().unwrap().starts_with("http"));

    // A bad filter: 400 with the GraphQL error shape, before anything streams.
    let response = get(app.address, "/export/commitments.csv?statuses=NOPE").await;
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let response = get(app.address, "/export/commitments.csv?colour=red").await;
    assert_eq!(response.status().as_u16(), 400);
}

/// Sums a CSV column of decimals (`,` decimal separator for the French variant).
fn column_sum(rows: &[csv::StringRecord], index: usize, comma: bool) -> rust_decimal::Decimal {
    rows.iter()
        .filter(|r| !r[index].is_empty())
        .map(|r| {
            let text = if comma { r[index].replace(',', ".") } else { r[index].to_owned() };
            rust_decimal::Decimal::from_str_exact(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
        })
        .sum()
}

/// Asserts that the counted columns of the CSV export add up to `totals` for the same
/// filter, and that the rows left out are those `totals` excludes.
async fn assert_counted_columns_add_up(app: &TestApp, params: &str, filter: Value, currency: &str) {
    let dec = |v: &Value| rust_decimal::Decimal::from_str_exact(v.as_str().unwrap()).unwrap();
    {
        let query = r#"query T($f: CommitmentFilter, $c: String) { totals(filter: $f, currency: $c) {
            grandTotal { count low high lowScenario highScenario } excluded { reason commitment { slug } } } }"#;
        let (_, body) = app.as_token(None, query, json!({ "f": filter, "c": currency })).await;
        let totals = &body["data"]["totals"];
        let grand = &totals["grandTotal"];
        let text = get(app.address, &format!("/export/commitments.csv?{params}")).await.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let at = |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let (low, high) = (column_sum(&rows, at("counted_low"), false), column_sum(&rows, at("counted_high"), false));
        assert_eq!((low, high), (dec(&grand["lowScenario"]), dec(&grand["highScenario"])), "{params}: {grand}");
        assert_eq!((low, high), (dec(&grand["low"]), dec(&grand["high"])), "{params}: {grand}");
        assert!(rows.iter().all(|r| r[at("counted_currency")] == *currency), "{params}");
        // Every row says how it counts; those left out have no counted amount and are the
        // ones `totals` lists as excluded.
        let left_out: Vec<&str> = rows
            .iter()
            .filter(|r| ["no-rate", "withdrawn", "retracted", "unquantified"].contains(&&r[at("counted_as")]))
            .map(|r| &r[0])
            .collect();
        let mut excluded: Vec<&str> =
            totals["excluded"].as_array().unwrap().iter().map(|e| e["commitment"]["slug"].as_str().unwrap()).collect();
        excluded.sort();
        let mut left_out_sorted = left_out.clone();
        left_out_sorted.sort();
        assert_eq!(left_out_sorted, excluded, "{params}");
        let counted_rows = rows.len() - left_out.len();
        assert_eq!(counted_rows as i64, grand["count"].as_i64().unwrap(), "{params}");
        for unconverted in rows.iter().filter(|r| &r[at("counted_as")] == "no-rate") {
            assert!(unconverted[at("counted_note")].contains(&format!("no EUR/{currency} rate")), "{unconverted:?}");
            assert_eq!(&unconverted[at("counted_low")], "", "{unconverted:?}");
        }
    }
}

async fn the_counted_columns_of_the_csv_add_up_to_the_totals(backend: Backend) {
    // The test set has no USD rate for Choose France 2025's day: its rows are named, not
    // dropped, and the columns still add up.
    let Some(fixture) = TestApp::spawn(backend).await else { return };
    assert_counted_columns_add_up(&fixture, "currency=USD", json!({}), "USD").await;
    let text = get(fixture.address, "/export/commitments.csv?currency=USD").await.text().await.unwrap();
    assert!(text.contains(",no-rate,"), "{text}");
    drop(fixture);

    let Some(app) = TestApp::spawn_current(backend).await else { return };
    let summit = json!({ "events": ["ai-action-summit-2025"] });
    assert_counted_columns_add_up(&app, "events=ai-action-summit-2025", summit, "EUR").await;
    assert_counted_columns_add_up(&app, "", json!({}), "EUR").await;
    assert_counted_columns_add_up(&app, "currency=USD", json!({}), "USD").await;

    // The summit's rows, as a journalist reads them.
    let text = get(app.address, "/export/commitments.csv?events=ai-action-summit-2025").await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = |slug: &str| rows.iter().find(|r| &r[0] == slug).unwrap_or_else(|| panic!("no row {slug}"));
    let package = row("fr-ai-investment-109bn");
    assert_eq!(&package[at("counted_as")], "remainder");
    assert!(package[at("counted_note")].starts_with("its amount minus its parts"), "{:?}", package);
    let detail = row("eu-investai-gigafactories-fund");
    assert_eq!((&detail[at("counted_as")], &detail[at("counted_low")]), ("detail", "0.00"));
    assert_eq!(&detail[at("counted_note")], "inside eu-investai-200bn: counted there, so 0 here");
    let apollo = row("apollo-ai-energy-france");
    assert_eq!((&apollo[at("counted_as")], &apollo[at("counted_low")]), ("part", "4844961240.31"));
    assert_eq!(&apollo[at("rates")], "USD 1.032 per EUR, 2025-02-10");

    // French Excel: byte-order mark, `;`, CRLF, decimal comma in the counted columns; the
    // same sums.
    let bytes =
        get(app.address, "/export/commitments.csv?events=ai-action-summit-2025&excel=fr").await.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}slug;title;".as_bytes()));
    assert!(bytes.windows(2).any(|w| w == b"\r\n"));
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(&bytes[3..]);
    let french: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let apollo = french.iter().find(|r| &r[0] == "apollo-ai-energy-france").unwrap();
    assert_eq!(&apollo[at("counted_low")], "4844961240,31");
    assert_eq!(&apollo[at("rates")], "USD 1,032 per EUR, 2025-02-10");
    assert_eq!(column_sum(&french, at("counted_low"), true), column_sum(&rows, at("counted_low"), false));
    let response = get(app.address, "/export/commitments.csv?excel=de").await;
    assert_eq!(response.status().as_u16(), 400);

    // JSON carries the same, per record.
    let json: Value =
        get(app.address, "/export/commitments.json?events=ai-action-summit-2025").await.json().await.unwrap();
    let apollo = json.as_array().unwrap().iter().find(|c| c["slug"] == "apollo-ai-energy-france").unwrap();
    assert_eq!(apollo["counted"]["as"], "part");
    assert_eq!(apollo["counted"]["low"], "4844961240.31");
    assert_eq!(apollo["counted"]["currency"], "EUR");
}

/// The server's peak resident memory, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

async fn a_large_export_streams_in_flat_memory(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    // 4000 commitments citing 15 sources with long titles: about 20 MB of CSV.
    let mut data = pledgewatch::domain::records::DataSet { format: "pledgewatch/1".into(), ..Default::default() };
    for i in 0..15 {
        let mut s = crate::helpers::test_source();
        s.slug = format!("long-source-{i}");
        s.title =
            format!("{i} {}", "A very long title of a report on investment in artificial intelligence. ".repeat(4));
        data.sources.push(s);
    }
    let pledgers = ["france", "mistral-ai", "bpifrance", "mgx"];
    for i in 0..4000 {
        let mut c = crate::helpers::test_commitment(&format!("bulk-{i}"), "1", "2", "EUR");
        c.sources = data.sources.iter().map(|s| s.slug.clone()).collect();
        // A quarter each: exports of a quarter, a half and the whole.
        c.pledger = pledgers[i % 4].into();
        data.commitments.push(c);
    }
    app.db.import(&data).await.expect("imported");
    // One connection: one SQLite page cache, so what grows is the export's own memory.
    let mut server = crate::process::Server::start_with(&app.url, &["--db-max-connections", "1"]).await;
    let pid = server.pid();
    let export = |path: &'static str| {
        let address = server.address;
        async move { get(address, path).await.bytes().await.unwrap().len() as u64 }
    };
    // Warm up: the pool's connections, SQLite's page caches and the allocator's arenas grow
    // to a ceiling on the first exports (about 20 MiB, measured), whatever their size.
    export("/export/commitments.csv?pledgers=france").await;
    let half = export("/export/commitments.csv?pledgers=france,mistral-ai").await;
    let after_half = peak_rss_kib(pid);
    let whole = export("/export/commitments.csv?pledgers=france,mistral-ai,bpifrance,mgx").await;
    let after_whole = peak_rss_kib(pid);
    eprintln!(
        "{backend:?}: exports of {} KiB then {} KiB; server peak RSS {after_half} KiB then {after_whole} KiB",
        half / 1024,
        whole / 1024
    );
    assert!(whole > 16 * 1024 * 1024 && half > 8 * 1024 * 1024, "the exports are too small to prove anything");
    // Streaming: twice the rows need no more memory (a buffered export would need 10 MiB more).
    // Under the whole parallel suite the allocator once grew 2.5 MiB (PostgreSQL, 11-28):
    // half the extra export's size still tells streaming from buffering. The kernel's
    // high-water mark is approximate (per-CPU counters): it was once seen 148 KiB lower after
    // the second export, so a drop counts as no growth.
    let grown = after_whole.saturating_sub(after_half);
    assert!(
        grown < (whole - half) / 1024 / 2,
        "peak RSS grew by {grown} KiB for {} KiB more export",
        (whole - half) / 1024
    );
    server.signal("TERM").await;
    server.wait().await;
}

/// A CSV set of 12 000 commitments: three batches of the streamed import. One in ten after
/// the first 6000 is a part of a headline 6000 rows earlier (a parent in an earlier batch);
/// one in seven has a two-row status history, written in reverse commitment order.
fn streamed_set(dir: &Path, n: usize) {
    write(dir, "sources.csv", "slug,url,publisher,title\nstream-source,https://example.org/stream,Example,Stream\n");
    let mut commitments = String::from(
        "slug,title,pledger,event,announced_on,amount_low,amount_high,currency,kind,status,parent,relation,sources\n",
    );
    for i in 0..n {
        let currency = if i % 4 == 0 { "USD" } else { "EUR" };
        let status = if i % 7 == 0 { "CONFIRMED" } else { "ANNOUNCED" };
        let (parent, relation, low, high) = if i >= 6000 && i % 10 == 3 {
            (format!("st-{}", i - 6000), "PART_OF", format!("{}.25", i % 50 + 1), format!("{}.75", i % 50 + 1))
        } else {
            (String::new(), "", format!("{}.01", 1000 + i % 97), format!("{}.99", 2000 + i % 89))
        };
        commitments.push_str(&format!(
            "st-{i},Stream {i},france,ai-action-summit-2025,2025-02-10,{low},{high},{currency},INVESTMENT,{status},{parent},{relation},stream-source\n"
        ));
    }
    write(dir, "commitments.csv", &commitments);
    let mut statuses = String::from("commitment,status,effective_on,sources\n");
    for i in (0..n).rev().filter(|i| i % 7 == 0) {
        statuses.push_str(&format!(
            "st-{i},ANNOUNCED,2025-02-10,stream-source\nst-{i},CONFIRMED,2025-03-01,stream-source\n"
        ));
    }
    write(dir, "status_history.csv", &statuses);
}

/// The CLI streams a CSV set in batches (status rows waiting for their commitment's batch,
/// parents in earlier batches); the result must be exactly that of importing the same set
/// read whole in one batch.
async fn a_streamed_csv_import_equals_the_same_set_read_whole(backend: Backend) {
    let Some(streamed) = TestApp::spawn(backend).await else { return };
    let Some(whole) = TestApp::spawn(backend).await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let n = 12_000;
    streamed_set(dir.path(), n);

    let (ok, stdout, stderr) =
        pledgewatch(&["import", dir.path().to_str().unwrap(), "--database-url", &streamed.url]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("12001 inserted, 0 updated"), "{stdout}");
    let (data, _) = pledgewatch::csvset::read_dir(dir.path()).expect("the set reads whole");
    assert_eq!(data.commitments.len(), n);
    whole.db.import(&data).await.expect("imported in one batch");

    let a = serde_json::to_value(streamed.db.export().await.expect("export")).unwrap();
    let b = serde_json::to_value(whole.db.export().await.expect("export")).unwrap();
    assert!(a == b, "the streamed import differs from the whole one");
    let ours: Vec<&Value> = a["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["slug"].as_str().is_some_and(|s| s.starts_with("st-")))
        .collect();
    assert_eq!(ours.len(), n);
    assert_eq!(ours.iter().filter(|c| c["parent"].is_string()).count(), 600);
    let with_history = ours.iter().filter(|c| c["status_history"].as_array().is_some_and(|h| h.len() == 2)).count();
    assert_eq!(with_history, n.div_ceil(7));
    let query = r#"{ totals(filter: { events: ["ai-action-summit-2025"] }) { grandTotal { low high count } } }"#;
    let totals = |app: &TestApp| {
        let (client, url) = (app.client.clone(), app.graphql_url());
        async move {
            let body: Value =
                client.post(url).json(&json!({ "query": query })).send().await.unwrap().json().await.unwrap();
            body["data"]["totals"]["grandTotal"].clone()
        }
    };
    let (ta, tb) = (totals(&streamed).await, totals(&whole).await);
    assert_eq!(ta, tb);
    assert!(ta["count"].as_i64().unwrap() > n as i64 - 600, "{ta}");

    // Again: nothing changes. Then a status row of no commitment fails the whole import.
    let (ok, stdout, _) = pledgewatch(&["import", dir.path().to_str().unwrap(), "--database-url", &streamed.url]).await;
    assert!(ok && stdout.contains("0 inserted, 0 updated, 12001 unchanged"), "{stdout}");
    let mut statuses = std::fs::read_to_string(dir.path().join("status_history.csv")).unwrap();
    statuses.push_str("st-missing,ANNOUNCED,2025-02-10,stream-source\n");
    write(dir.path(), "status_history.csv", &statuses);
    let before = counts(&streamed).await;
    let (ok, _, stderr) = pledgewatch(&["import", dir.path().to_str().unwrap(), "--database-url", &streamed.url]).await;
    assert!(!ok);
    let line = 2 + 2 * n.div_ceil(7);
    assert!(
        stderr.contains(&format!("status_history.csv:{line}: commitment: no commitment \"st-missing\"")),
        "{stderr}"
    );
    assert!(stderr.contains("1 problem(s), nothing written"), "{stderr}");
    assert_eq!(counts(&streamed).await, before);
}
