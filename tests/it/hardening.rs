//! Hardening: the defects of issue 14, each reproduced against the running server. No
//! request shape may crash the process; a revoked token stops at once on an open socket;
//! concurrent creates of one key give one row; no accepted amount breaks a total; costly
//! queries are refused before they run; every transport is rate-limited; oversized filters
//! are input errors; every error carries a code.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use pledgewatch::{
    auth::Role,
    graphql::ApiLimits,
    http::{HttpLimits, RateLimit},
    storage::PoolOptions,
};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, scalar},
    live::WsClient,
};

crate::harness::tests! {
    both: [
    nested_requests_of_any_kind_are_refused_and_the_server_stays_up,
    a_token_revoked_while_a_socket_is_open_stops_working_at_once,
    concurrent_creates_of_one_key_give_one_row_and_clear_refusals,
    concurrent_writes_crossing_the_same_sums_all_land_and_keep_them_exact,
    no_accepted_amount_can_make_a_total_fail,
    costly_queries_are_refused_before_they_run_and_a_busy_pool_is_not_an_outage,
    websocket_operations_and_made_up_tokens_are_rate_limited,
    oversized_filters_are_input_errors_everywhere,
    every_error_carries_a_code_and_no_field_name_leaks,
    requests_must_say_json_and_get_json_back,
    generated_request_shapes_never_crash_the_server,
    ]
    postgres: [a_request_during_a_postgres_outage_waits_one_acquire_timeout]
}

/// The server still answers a trivial query.
async fn still_up(app: &TestApp) {
    let (status, body) = app.query("{ __typename }").await;
    assert_eq!((status, &body["data"]["__typename"]), (200, &json!("Query")), "{body}");
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("(none)")
}

async fn nested_requests_of_any_kind_are_refused_and_the_server_stays_up(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else { return };
    let n = 2_000;
    let deep_list = format!("{{__typename(a:{}1{})}}", "[".repeat(n), "]".repeat(n));
    let deep_object = format!("{{__typename(a:{}1{})}}", "{a:".repeat(n), "}".repeat(n));
    let deep_selection = format!("{}{}", "{a".repeat(n), "}".repeat(n));
    for query in [&deep_list, &deep_object, &deep_selection] {
        let (status, body) = app.query(query).await;
        assert_eq!((status, code(&body)), (400, "QUERY_TOO_DEEP"), "{body}");
    }
    // The same by GET, with its query string.
    let url = reqwest::Url::parse_with_params(&app.graphql_url(), [("query", deep_list.as_str())]).unwrap();
    let response = app.client.get(url).send().await.expect("GET answers");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "QUERY_TOO_DEEP", "{body}");
    // And by WebSocket: the operation gets an error; the socket and the server stay up.
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    ws.subscribe("deep", &deep_list).await;
    let message = ws.receive_for("deep").await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["payload"][0]["extensions"]["code"], "QUERY_TOO_DEEP", "{message}");
    ws.subscribe("ok", "{ __typename }").await;
    assert_eq!(ws.next("ok").await, json!({ "__typename": "Query" }));

    // A chain of fragments that the query uses: refused by the recursion limit.
    let chain = |count: usize, used: bool| {
        let mut doc = if used { "query Q { ...F0 }\n".to_owned() } else { "query Q { __typename }\n".to_owned() };
        for i in 0..count {
            let next = if i + 1 < count { format!("...F{}", i + 1) } else { "__typename".to_owned() };
            doc.push_str(&format!("fragment F{i} on Query {{ {next} }}\n"));
        }
        doc
    };
    let (status, body) = app.query(&chain(150, true)).await;
    assert_eq!((status, code(&body)), (400, "QUERY_TOO_DEEP"), "{body}");
    // Fragments that each spread the next twice (2^25 selections once expanded): refused
    // before validation, which spread them for 200 s.
    let mut doubling = String::from("query Q { ...F0 }\n");
    for i in 0..25 {
        doubling.push_str(&format!("fragment F{i} on Query {{ a: __typename ...F{} ...F{} }}\n", i + 1, i + 1));
    }
    doubling.push_str("fragment F25 on Query { __typename }\n");
    let (status, body) = app.query(&doubling).await;
    assert_eq!((status, code(&body)), (400, "QUERY_TOO_COSTLY"), "{body}");
    // Unused fragments are a validation error; too many of them are refused before validation.
    let (status, body) = app.query(&chain(150, false)).await;
    assert_eq!((status, code(&body)), (400, "GRAPHQL_VALIDATION_FAILED"), "{body}");
    let (status, body) = app.query(&chain(5_000, false)).await;
    assert_eq!((status, code(&body)), (400, "GRAPHQL_VALIDATION_FAILED"), "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("more than 200"), "{body}");
    // A long operation text: the body limit answers, with its code.
    let long = format!("{{ {} }}", "__typename ".repeat(40_000));
    let (status, body) = app.query(&long).await;
    assert_eq!((status, code(&body)), (413, "PAYLOAD_TOO_LARGE"), "{body}");
    still_up(&app).await;
}

const CREATE_SOURCE: &str = r#"mutation S($slug: String!) { createSource(input: { slug: $slug,
    url: "https://example.org/revoked", publisher: "Example", title: "Revoked" }) { slug } }"#;

async fn a_token_revoked_while_a_socket_is_open_stops_working_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else { return };
    let token = app.token("leaky", Role::Editor).await;
    let mut ws =
        WsClient::connect(app.address, json!({ "Authorization": format!("Bearer {token}") })).await.expect("connected");
    ws.subscribe_with("before", CREATE_SOURCE, json!({ "slug": "before-revocation" })).await;
    assert_eq!(ws.next("before").await["createSource"]["slug"], "before-revocation");

    app.db.revoke_token("test", "leaky").await.expect("revoked");
    ws.subscribe_with("after", CREATE_SOURCE, json!({ "slug": "after-revocation" })).await;
    let message = ws.receive_for("after").await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["payload"][0]["extensions"]["code"], "UNAUTHENTICATED", "{message}");
    let written = scalar(&app.db, "SELECT COUNT(*) AS n FROM sources WHERE slug = 'after-revocation'").await;
    assert_eq!(written, 0, "nothing is written with a revoked token");
    let audited = scalar(&app.db, "SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'leaky'").await;
    assert_eq!(audited, 1, "only the write made before the revocation is audited under the name");
}

async fn concurrent_creates_of_one_key_give_one_row_and_clear_refusals(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let create = r#"mutation C($title: String!) { createCommitment(input: { slug: "raced", title: $title,
        pledger: "france", announcedOn: "2025-02-10", amountLow: "1000000.00", amountHigh: "1000000.00", currency: "EUR",
        kind: INVESTMENT, sources: ["rtl-sommet-ia-2025"] }) { slug version title } }"#;
    let coalition = r#"mutation { createCoalition(input: { slug: "race-coalition", name: "Race", kind: COALITION,
        sources: ["rtl-sommet-ia-2025"] }) { slug } }"#;
    let (_, body) = app.as_token(Some(&editor), coalition, json!({})).await;
    assert_eq!(body["data"]["createCoalition"]["slug"], "race-coalition", "{body}");
    let sign = r#"mutation S($stance: Stance!) { setSignature(input: { coalition: "race-coalition", actor: "france",
        stance: $stance, sources: ["rtl-sommet-ia-2025"] }) { stance version } }"#;

    for round in 0..3 {
        let results = join_all((0..20).map(|i| {
            let title = format!("Raced {round}-{i}");
            app.as_token(Some(&editor), create, json!({ "title": title }))
        }))
        .await;
        let winners: Vec<&Value> = results.iter().filter(|(_, b)| b.get("errors").is_none()).map(|(_, b)| b).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one create wins: {results:?}");
        assert_eq!(winners[0]["data"]["createCommitment"]["version"], 1);
        for (status, body) in results.iter().filter(|(_, b)| b.get("errors").is_some()) {
            assert_eq!(*status, 200);
            assert!(["BAD_USER_INPUT", "CONFLICT"].contains(&code(body)), "a clear refusal, not {body}");
        }
        let audit =
            scalar(&app.db, "SELECT COUNT(*) AS n FROM audit_log WHERE slug = 'raced' AND action = 'CREATE'").await;
        assert_eq!(audit, 1, "round {round}: one CREATE audited");
        let version =
            scalar(&app.db, "SELECT CAST(version AS BIGINT) AS n FROM commitments WHERE slug = 'raced'").await;
        assert_eq!(version, 1, "round {round}: no create overwrote another");
        let title: Value = app.query(r#"{ commitment(slug: "raced") { title } }"#).await.1;
        assert_eq!(title["data"]["commitment"]["title"], winners[0]["data"]["createCommitment"]["title"]);
        // Next round: the row goes, so that the race starts again from nothing.
        app.db.delete_commitment("test", "raced", "race test").await.expect("deleted");
        sea_orm::ConnectionTrait::execute_unprepared(app.db.conn(), "DELETE FROM audit_log WHERE slug = 'raced'")
            .await
            .expect("audit cleared");
    }

    let stances = ["SIGNED", "DECLINED", "WITHDRAWN"];
    let results =
        join_all((0..20).map(|i| app.as_token(Some(&editor), sign, json!({ "stance": stances[i % 3] })))).await;
    let winners: Vec<&Value> = results.iter().filter(|(_, b)| b.get("errors").is_none()).map(|(_, b)| b).collect();
    assert_eq!(winners.len(), 1, "exactly one setSignature creates the row: {results:?}");
    for (_, body) in results.iter().filter(|(_, b)| b.get("errors").is_some()) {
        assert_eq!(code(body), "CONFLICT", "{body}");
    }
    let audit = scalar(
        &app.db,
        "SELECT COUNT(*) AS n FROM audit_log WHERE slug = 'race-coalition/france' AND entity_kind = 'signature'",
    )
    .await;
    assert_eq!(audit, 1);
    // Without expectedVersion, an existing signature is a conflict, never an overwrite.
    let (_, body) = app.as_token(Some(&editor), sign, json!({ "stance": "DECLINED" })).await;
    assert_eq!(code(&body), "CONFLICT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expectedVersion"), "{body}");
}

async fn no_accepted_amount_can_make_a_total_fail(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let create = r#"mutation C($slug: String!, $amount: Decimal!) { createCommitment(input: { slug: $slug,
        title: "Huge", pledger: "france", announcedOn: "2025-02-10", amountLow: $amount, amountHigh: $amount,
        currency: "EUR", sector: "overflow-test", kind: INVESTMENT, sources: ["rtl-sommet-ia-2025"] }) { slug } }"#;
    // The amount of the defect report is refused, naming the field, and nothing is written.
    let (_, body) =
        app.as_token(Some(&editor), create, json!({ "slug": "too-big", "amount": "92233720368547758.07" })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "amountLow", "{body}");
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) AS n FROM commitments WHERE slug = 'too-big'").await, 0);
    // Twenty rows at the largest accepted amount sum to 2 × 10^16 EUR: 2 × 10^18 cents, and
    // 100 of them would pass i64; the totals stay exact.
    let largest = "1000000000000000.00";
    for i in 0..100 {
        let (_, body) =
            app.as_token(Some(&editor), create, json!({ "slug": format!("huge-{i}"), "amount": largest })).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let totals = r#"{ totals(filter: { sectors: ["overflow-test"] }, currency: "EUR") { grandTotal { low high count } }
        all: totals(groupBy: [SECTOR], currency: "EUR") { grandTotal { count } groups { key { value } low high } } }"#;
    let (status, body) = app.query(totals).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["totals"]["grandTotal"],
        json!({ "low": "100000000000000000.00", "high": "100000000000000000.00", "count": 100 })
    );
    let group = body["data"]["all"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"][0]["value"] == "overflow-test")
        .expect("the sector's group")
        .clone();
    assert_eq!(
        (group["low"].as_str(), group["high"].as_str()),
        (Some("100000000000000000.00"), Some("100000000000000000.00"))
    );
    // In USD too (converted at each day's rate), and compared between events.
    let (status, body) = app
        .query(r#"{ totals(filter: { sectors: ["overflow-test"] }, currency: "USD") { grandTotal { count } } }"#)
        .await;
    assert_eq!((status, &body["data"]["totals"]["grandTotal"]["count"]), (200, &json!(100)), "{body}");
    // A `having` bound that no decimal can scale is an input error, not a crash.
    let having = r#"{ totals(groupBy: [SECTOR], having: { minLow: "79228162514264337593543950335" }) { grandTotal { count } } }"#;
    let (status, body) = app.query(having).await;
    assert_eq!((status, code(&body)), (200, "BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "having.minLow", "{body}");
    still_up(&app).await;
}

async fn costly_queries_are_refused_before_they_run_and_a_busy_pool_is_not_an_outage(backend: Backend) {
    let pool = PoolOptions { max_connections: 2, acquire_timeout: Duration::from_secs(1) };
    let no_rate = HttpLimits { rate_limit: None, ..HttpLimits::default() };
    let Some(app) = TestApp::spawn_pooled(backend, ApiLimits::default(), no_rate, pool).await else { return };
    crate::helpers::load_fixture(&app.db).await;
    // Sixty aliased totals: 180 fields, but sixty GROUP BYs over every counted amount.
    let sixty: String =
        (0..60).map(|i| format!("t{i}: totals(currency: \"EUR\") {{ grandTotal {{ low high }} }}\n")).collect();
    let before = app.db.statement_count();
    let (status, body) = app.query(&format!("{{ {sixty} }}")).await;
    assert_eq!((status, code(&body)), (400, "QUERY_TOO_COSTLY"), "{body}");
    assert_eq!(app.db.statement_count(), before, "refused before any SQL ran");
    // The dashboard's kind of query stays well within the budget.
    let four: String =
        (0..4).map(|i| format!("t{i}: totals(groupBy: [PLEDGER]) {{ groups {{ low high }} }}\n")).collect();
    let (status, body) =
        app.query(&format!("{{ {four} foundation(slug: \"current-ai\") {{ pledged {{ low }} }} }}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");

    // Every connection held elsewhere: the request waits its acquire timeout, then hears
    // that the server is busy (503, Retry-After), not that the database is unreachable.
    let held_a = sea_orm::TransactionTrait::begin(app.db.conn()).await.expect("a connection");
    let held_b = sea_orm::TransactionTrait::begin(app.db.conn()).await.expect("a second connection");
    let response = app
        .client
        .post(app.graphql_url())
        .json(&json!({ "query": "{ commitments(first: 1) { nodes { slug } } }" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("2"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "SERVER_BUSY", "{body}");
    assert!(!body.to_string().contains("unreachable"), "{body}");
    drop((held_a, held_b));
    still_up(&app).await;
}

async fn websocket_operations_and_made_up_tokens_are_rate_limited(backend: Backend) {
    let limited = HttpLimits {
        rate_limit: Some(RateLimit { period: Duration::from_secs(2), burst: 5 }),
        ..HttpLimits::default()
    };
    let Some(app) = TestApp::spawn_with(backend, ApiLimits::default(), limited).await else { return };
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    let mut limited_ops = 0;
    for i in 0..20 {
        let id = format!("op{i}");
        ws.subscribe(&id, "{ __typename }").await;
        let message = ws.receive_for(&id).await;
        if WsClient::errors(&message)[0]["extensions"]["code"] == "RATE_LIMITED" {
            limited_ops += 1;
        }
    }
    // The upgrade took one request of the budget of 5: at most 4 operations pass.
    assert!(limited_ops >= 16, "only {limited_ops} of 20 operations were limited");

    // A valid token in use has a budget of its own...
    let token = app.token("reader", Role::Reader).await;
    let (status, body) = app.as_token(Some(&token), "{ __typename }", json!({})).await;
    assert_eq!(status, 200, "{body}");
    // ...while made-up tokens (each new to the server) share their address's budget of
    // token checks: guessing is throttled like anything else.
    let mut statuses = Vec::new();
    let mut retry_after = Vec::new();
    for i in 0..12 {
        let response = app
            .client
            .post(app.graphql_url())
            .bearer_auth(format!("pw_guess{i}"))
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("answers");
        statuses.push(response.status().as_u16());
        if let Some(v) = response.headers().get("retry-after") {
            retry_after.push(v.to_str().unwrap().parse::<u64>().unwrap());
        }
    }
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 7, "{statuses:?}");
    assert!(retry_after.iter().all(|s| *s >= 1), "Retry-After is at least 1: {retry_after:?}");
    let (status, body) = app.as_token(Some(&token), "{ __typename }", json!({})).await;
    assert_eq!(status, 200, "the known token still works: {body}");
}

async fn oversized_filters_are_input_errors_everywhere(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let long = "élysée ".repeat(8_000);
    let (status, body) =
        app.as_token(None, "query($q: String!) { search(query: $q) { __typename } }", json!({ "q": long })).await;
    assert_eq!((status, code(&body)), (200, "BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "query");
    let text = "query($t: String!) { commitments(filter: { text: $t }) { totalCount } }";
    let (_, body) = app.as_token(None, text, json!({ "t": long })).await;
    assert_eq!(
        (code(&body), &body["errors"][0]["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("filter.text")),
        "{body}"
    );
    let actors = "query($t: String!) { actors(filter: { text: $t }) { totalCount } }";
    let (_, body) = app.as_token(None, actors, json!({ "t": long })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // 33 000 slugs: more than SQLite binds in one statement, and more than any filter needs.
    let slugs: Vec<&str> = vec!["x"; 33_000];
    let list = "query($f: CommitmentFilter) { commitments(filter: $f) { totalCount } }";
    let (status, body) = app.as_token(None, list, json!({ "f": { "events": slugs } })).await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "$f.events", "{body}");
    // The exports validate before they stream: a proper 400 with a code, not a cut 200.
    let short = "elysee ".repeat(2_000);
    for path in ["commitments.csv", "commitments.json"] {
        let url = reqwest::Url::parse_with_params(
            &format!("http://{}/export/{path}", app.address),
            [("text", short.as_str())],
        )
        .unwrap();
        let response = app.client.get(url).send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!((code(&body), &body["errors"][0]["extensions"]["field"]), ("BAD_USER_INPUT", &json!("filter.text")));
        let many: Vec<(&str, String)> = (0..1_001).map(|i| ("events", format!("e{i}"))).collect();
        let url = reqwest::Url::parse_with_params(&format!("http://{}/export/{path}", app.address), many).unwrap();
        let response = app.client.get(url).send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 400, "{path}");
    }
    still_up(&app).await;
}

async fn every_error_carries_a_code_and_no_field_name_leaks(backend: Backend) {
    let closed = ApiLimits { introspection: false, ..ApiLimits::default() };
    let no_rate = HttpLimits { rate_limit: None, ..HttpLimits::default() };
    let Some(app) = TestApp::spawn_with(backend, closed, no_rate).await else { return };
    crate::helpers::load_fixture(&app.db).await;
    // Seventeen levels of selections (the limit is 15), and 21 totals (100 each; 2 000 in all).
    let deep = format!("{{ commitments {{ nodes {{ {} slug {} }} }} }}", "parent { ".repeat(14), "} ".repeat(14));
    let costly: String = format!(
        "{{ {} }}",
        (0..21).map(|i| format!("t{i}: totals {{ grandTotal {{ low }} }}")).collect::<Vec<_>>().join(" ")
    );
    let cases = [
        ("{ commitmentz { totalCount } }", 400, "GRAPHQL_VALIDATION_FAILED"),
        ("{ commitments { ", 400, "GRAPHQL_PARSE_FAILED"),
        (deep.as_str(), 400, "QUERY_TOO_DEEP"),
        (costly.as_str(), 400, "QUERY_TOO_COSTLY"),
        ("{ __schema { types { name } } }", 400, "INTROSPECTION_DISABLED"),
    ];
    for (query, status, expected) in cases {
        let (got, body) = app.query(query).await;
        assert_eq!((got, code(&body)), (status, expected), "{query}: {body}");
    }
    // With introspection off, no suggestion names a hidden field.
    let (_, body) = app.query("{ commitmentz { totalCount } }").await;
    assert!(!body.to_string().contains("Did you mean"), "{body}");
    // Scalars that do not parse name their field.
    for (filter, field) in [
        (r#"amountMin: "abc""#, "filter.amountMin"),
        (r#"announcedFrom: "10/02/2025""#, "filter.announcedFrom"),
        (r#"amountMax: "1e5x""#, "filter.amountMax"),
    ] {
        let (_, body) = app.query(&format!("{{ commitments(filter: {{ {filter} }}) {{ totalCount }} }}")).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let (_, body) = app
        .as_token(
            None,
            "query($d: Date) { commitments(filter: { announcedTo: $d }) { totalCount } }",
            json!({ "d": "2025-13-01" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // A token's history is an admin's business, like the token list.
    let history = r#"{ history(entity: TOKEN, slug: "desk") { action } }"#;
    app.token("desk", Role::Editor).await;
    let (status, body) = app.query(history).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    let admin = app.token("boss", Role::Admin).await;
    let (_, body) = app.as_token(Some(&admin), history, json!({})).await;
    assert_eq!(body["data"]["history"][0]["action"], "CREATE", "{body}");
    // Bidirectional controls are refused in names and titles; nothing is written.
    let editor = app.token("editor", Role::Editor).await;
    let actor = r#"mutation A($name: String!) { createActor(input: { slug: "bidi-actor", name: $name, kind: COMPANY,
        sources: ["rtl-sommet-ia-2025"] }) { slug } }"#;
    let (_, body) = app.as_token(Some(&editor), actor, json!({ "name": "Acme \u{202E}stnemtsevni" })).await;
    assert_eq!((code(&body), &body["errors"][0]["extensions"]["field"]), ("BAD_USER_INPUT", &json!("name")), "{body}");
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) AS n FROM actors WHERE slug = 'bidi-actor'").await, 0);
    // A 401 says how to authenticate, whether the gate or a resolver refused.
    let create = r#"mutation { createSource(input: { slug: "x", url: "https://example.org", publisher: "x", title: "x" }) { slug } }"#;
    let response = app.client.post(app.graphql_url()).json(&json!({ "query": create })).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    let response = app
        .client
        .post(app.graphql_url())
        .bearer_auth("nonsense")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) AS n FROM sources WHERE slug = 'x'").await, 0);
}

async fn requests_must_say_json_and_get_json_back(backend: Backend) {
    let Some(app) = TestApp::spawn_empty(backend).await else { return };
    let body = r#"{"query":"{ __typename }"}"#;
    for content_type in [Some("text/plain"), None, Some("application/x-www-form-urlencoded")] {
        let mut request = app.client.post(app.graphql_url()).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 415, "{content_type:?}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(code(&answer), "UNSUPPORTED_MEDIA_TYPE");
    }
    for (accept, expected) in [
        (None, "application/json"),
        (Some("*/*"), "application/json"),
        (Some("application/json"), "application/json"),
        (Some("application/graphql-response+json"), "application/graphql-response+json; charset=utf-8"),
    ] {
        let mut request =
            app.client.post(app.graphql_url()).header("content-type", "application/json; charset=utf-8").body(body);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let got = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(got.as_deref(), Some(expected), "Accept: {accept:?}");
    }
    // Not JSON at all: 400 with a code.
    let response = app
        .client
        .post(app.graphql_url())
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(code(&answer), "BAD_REQUEST");
    still_up(&app).await;

    // A request over the time limit (1 ms, for three uncached totals over the reference
    // data): 408 with a coded GraphQL body, not an empty one.
    let hurried = HttpLimits { request_timeout: Duration::from_millis(1), rate_limit: None, ..HttpLimits::default() };
    let Some(app) = TestApp::spawn_with(backend, ApiLimits::default(), hurried).await else { return };
    crate::helpers::load_fixture(&app.db).await;
    let slow = "{ a: totals(groupBy: [PLEDGER, SECTOR]) { grandTotal { low } } b: totals(groupBy: [EVENT], currency: \"USD\") { grandTotal { low } } c: compareEvents(slugs: [\"ai-action-summit-2025\", \"choose-france-2024\"]) { count } }";
    let (status, body) = app.query(slow).await;
    assert_eq!((status, code(&body)), (408, "REQUEST_TIMEOUT"), "{body}");
}

/// How a generated request travels.
#[derive(Debug, Clone, Copy)]
enum Transport {
    Post,
    Get,
    Socket,
}

/// A generated request: a GraphQL text with variables, or raw bytes as a body.
#[derive(Debug, Clone)]
enum Shape {
    Document { query: String, variables: Value, transport: Transport },
    Raw(Vec<u8>),
    Json(Value),
}

fn shapes() -> impl proptest::strategy::Strategy<Value = Shape> {
    use proptest::prelude::*;
    let transport = prop_oneof![Just(Transport::Post), Just(Transport::Get), Just(Transport::Socket)];
    let nested = (0_usize..4, 0_usize..5_000, transport.clone()).prop_map(|(kind, depth, transport)| {
        let query = match kind {
            0 => format!("{{__typename(a:{}1{})}}", "[".repeat(depth), "]".repeat(depth)),
            1 => format!("{{__typename(a:{}1{})}}", "{a:".repeat(depth), "}".repeat(depth)),
            2 => format!("{}{}", "{a".repeat(depth.max(1)), "}".repeat(depth.max(1))),
            _ => format!(
                "{{ commitments {{ nodes {{ {} slug {} }} }} }}",
                "parent { ".repeat(depth % 60),
                "} ".repeat(depth % 60)
            ),
        };
        Shape::Document { query, variables: json!({}), transport }
    });
    let fragments = (0_usize..400, any::<bool>(), transport.clone()).prop_map(|(count, used, transport)| {
        let mut query = if used { "query Q { ...F0 }\n".to_owned() } else { "query Q { __typename }\n".to_owned() };
        for i in 0..count {
            let next = if i + 1 < count { format!("...F{}", i + 1) } else { "__typename".to_owned() };
            query.push_str(&format!("fragment F{i} on Query {{ {next} }}\n"));
        }
        Shape::Document { query, variables: json!({}), transport }
    });
    let strings =
        (any::<String>(), 0_usize..70_000, 0_usize..4, transport.clone()).prop_map(|(seed, len, field, transport)| {
            let text: String = seed.chars().chain("é\u{202E}\\\"%_".chars()).cycle().take(len).collect();
            let query = match field {
                0 => "query($q: String!) { search(query: $q) { __typename } }",
                1 => "query($q: String) { commitments(filter: { text: $q }) { totalCount } }",
                2 => "query($q: String!) { commitment(slug: $q) { slug } }",
                _ => "query($q: Decimal) { commitments(filter: { amountMin: $q }) { totalCount } }",
            };
            Shape::Document { query: query.to_owned(), variables: json!({ "q": text }), transport }
        });
    let texts = (proptest::collection::vec(any::<char>(), 0..3_000), transport).prop_map(|(chars, transport)| {
        Shape::Document { query: chars.into_iter().collect(), variables: json!({}), transport }
    });
    let raw = proptest::collection::vec(any::<u8>(), 0..4_000).prop_map(Shape::Raw);
    let wrong = prop_oneof![
        Just(json!({ "query": 5 })),
        Just(json!({ "query": null })),
        Just(json!({ "query": ["{ __typename }"] })),
        Just(json!({ "query": "{ __typename }", "variables": "x" })),
        Just(json!({ "query": "{ __typename }", "operationName": 7 })),
        Just(json!({ "query": "query($n: Int) { commitments(first: $n) { totalCount } }", "variables": { "n": "x" } })),
        Just(
            json!({ "query": "query($n: Int) { commitments(first: $n) { totalCount } }", "variables": { "n": 1e300 } })
        ),
        Just(json!({ "query": "query($n: Int) { commitments(first: $n) { totalCount } }", "variables": { "n": -5 } })),
        Just(json!({ "query": "{ commitments(first: 2147483647) { totalCount } }" })),
        Just(json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }])),
        Just(json!("just a string")),
    ]
    .prop_map(Shape::Json);
    prop_oneof![nested, fragments, strings, texts, raw, wrong]
}

/// Checks one HTTP answer: never a server error, always a JSON body whose errors have codes.
fn check_answer(shape: &Shape, status: u16, body: &[u8]) {
    assert!((200..500).contains(&status), "{status} for {shape:?}");
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        panic!("a body that is not JSON ({status}) for {shape:?}: {}", String::from_utf8_lossy(body));
    };
    if status >= 400 {
        assert!(value["errors"].as_array().is_some_and(|e| !e.is_empty()), "{status} without errors: {value}");
    }
    for error in value["errors"].as_array().into_iter().flatten() {
        assert!(error["extensions"]["code"].is_string(), "an error without a code for {shape:?}: {error}");
    }
}

async fn generated_request_shapes_never_crash_the_server(backend: Backend) {
    use proptest::strategy::{Strategy, ValueTree};
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = shapes();
    let mut socket: Option<WsClient> = None;
    let cases = 240;
    for case in 0..cases {
        let shape = strategy.new_tree(&mut runner).expect("a shape").current();
        match &shape {
            Shape::Document { query, variables, transport: Transport::Post } => {
                let body = json!({ "query": query, "variables": variables });
                let response = app.client.post(app.graphql_url()).json(&body).send().await.expect("the server answers");
                let status = response.status().as_u16();
                check_answer(&shape, status, &response.bytes().await.expect("a body"));
            }
            Shape::Document { query, variables, transport: Transport::Get } => {
                let vars = variables.to_string();
                let url = reqwest::Url::parse_with_params(
                    &app.graphql_url(),
                    [("query", query.as_str()), ("variables", &vars)],
                )
                .expect("a URL");
                // The client cannot send a URI of 64 KiB or more: those go by POST.
                let request = if url.as_str().len() < 60_000 {
                    app.client.get(url)
                } else {
                    app.client.post(app.graphql_url()).json(&json!({ "query": query, "variables": variables }))
                };
                let response = request.send().await.expect("the server answers");
                let status = response.status().as_u16();
                let body = response.bytes().await.expect("a body");
                // A URL over hyper's limit is refused before any handler, without a body.
                if status != 414 && status != 431 {
                    check_answer(&shape, status, &body);
                }
            }
            Shape::Document { query, variables, transport: Transport::Socket } => {
                if socket.is_none() {
                    socket = Some(WsClient::connect(app.address, json!({})).await.expect("the socket opens"));
                }
                let ws = socket.as_mut().expect("a socket");
                let id = format!("case{case}");
                ws.subscribe_with(&id, query, variables.clone()).await;
                match ws.receive().await {
                    Some(message) if message["type"] == "close" => socket = None,
                    Some(message) => {
                        for error in WsClient::errors(&message).as_array().into_iter().flatten() {
                            assert!(error["extensions"]["code"].is_string(), "{shape:?}: {message}");
                        }
                        // Drain what belongs to this operation (a `complete` follows a `next`).
                        if message["type"] == "next" {
                            let _ = tokio::time::timeout(Duration::from_millis(500), ws.receive()).await;
                        }
                    }
                    None => socket = None,
                }
            }
            Shape::Raw(bytes) => {
                let response = app
                    .client
                    .post(app.graphql_url())
                    .header("content-type", "application/json")
                    .body(bytes.clone())
                    .send()
                    .await
                    .expect("the server answers");
                let status = response.status().as_u16();
                check_answer(&shape, status, &response.bytes().await.expect("a body"));
            }
            Shape::Json(value) => {
                let response = app.client.post(app.graphql_url()).json(value).send().await.expect("the server answers");
                let status = response.status().as_u16();
                check_answer(&shape, status, &response.bytes().await.expect("a body"));
            }
        }
        if case % 20 == 0 {
            still_up(&app).await;
        }
    }
    still_up(&app).await;
}

/// A request that meets a stopped PostgreSQL waits for a connection once (the acquire
/// timeout), not once per step (the response cache's version read, then the query).
async fn a_request_during_a_postgres_outage_waits_one_acquire_timeout() {
    let Some(cluster) = crate::postgres::OwnCluster::start() else { return };
    let pool = PoolOptions { max_connections: 4, acquire_timeout: Duration::from_secs(3) };
    let no_rate = HttpLimits { rate_limit: None, ..HttpLimits::default() };
    let app = TestApp::spawn_on(cluster.url(), None, ApiLimits::default(), no_rate, pool).await;
    let count = "{ commitments { totalCount } }";
    for _ in 0..3 {
        let (status, body) = app.query(count).await;
        assert_eq!(status, 200, "{body}");
    }
    cluster.down();
    for _ in 0..2 {
        let started = Instant::now();
        let (status, body) = app.query(count).await;
        let waited = started.elapsed();
        assert_eq!((status, code(&body)), (503, "SERVICE_UNAVAILABLE"), "{body}");
        assert!(waited < Duration::from_millis(4_500), "waited {waited:?}, more than one acquire timeout of 3 s");
    }
    cluster.up();
}

/// Concurrent updates that each move a commitment between the same two rows of the
/// write-time sums, in opposite directions (EUR → USD and USD → EUR): every one lands (no
/// deadlock between the writers' sums), and the sums stay those of a full rebuild.
async fn concurrent_writes_crossing_the_same_sums_all_land_and_keep_them_exact(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let create = r#"mutation C($slug: String!, $currency: String!) { createCommitment(input: { slug: $slug,
        title: "Crossing test", pledger: "france", event: "ai-action-summit-2025", announcedOn: "2025-02-10",
        amountLow: "1000000.00", amountHigh: "1000000.00", currency: $currency, kind: INVESTMENT,
        sources: ["rtl-sommet-ia-2025"] }) { slug } }"#;
    let update = r#"mutation U($slug: String!, $v: Int!, $currency: String!) { updateCommitment(slug: $slug,
        expectedVersion: $v, patch: { currency: $currency, sources: ["rtl-sommet-ia-2025"] }) { version } }"#;
    let currencies = ["EUR", "USD"];
    let slugs: Vec<String> = (0..12).map(|i| format!("crossing-{i}")).collect();
    for (i, slug) in slugs.iter().enumerate() {
        let (_, body) =
            app.as_token(Some(&editor), create, json!({ "slug": slug, "currency": currencies[i % 2] })).await;
        assert_eq!(body["data"]["createCommitment"]["slug"], *slug, "{body}");
    }
    for round in 0..4 {
        let results = join_all(slugs.iter().enumerate().map(|(i, slug)| {
            let to = currencies[(i + round + 1) % 2];
            app.as_token(Some(&editor), update, json!({ "slug": slug, "v": round + 1, "currency": to }))
        }))
        .await;
        for (status, body) in &results {
            assert_eq!(*status, 200, "{body}");
            assert!(body.get("errors").is_none(), "round {round}: every crossing write lands: {body}");
        }
    }
    let written = crate::properties::sums_snapshot(&app).await;
    app.db.rebuild_totals().await.expect("full rebuild");
    assert_eq!(written, crate::properties::sums_snapshot(&app).await, "the sums after the crossing writes");
}
