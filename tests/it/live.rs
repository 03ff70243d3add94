//! Live updates: GraphQL subscriptions over WebSocket (graphql-transport-ws), on both
//! backends, and across two server processes on one PostgreSQL.

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use pledgewatch::{
    auth::Role,
    storage::{Db, PoolOptions},
};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::{
    helpers::{Backend, TestApp},
    process::Server,
};

crate::harness::tests! {
    both: [
    totals_changed_takes_every_totals_argument,
    a_totals_subscriber_gets_the_current_totals_then_each_change,
    a_commitment_subscriber_gets_only_matching_changes,
    a_revoked_or_unknown_token_cannot_subscribe,
    refusals_use_the_protocols_error_message_and_close_codes,
    ]
    postgres: [a_write_through_one_replica_reaches_the_other, replicas_starting_together_migrate_once]
}

const SUMMIT_TOTALS: &str = r#"subscription { totalsChanged(filter: { events: ["ai-action-summit-2025"] }) {
    grandTotal { low high count } } }"#;

const FRANCE_CHANGES: &str = r#"subscription { commitmentChanged(filter: { pledgers: ["france"] }) {
    action slug commitment { title version } } }"#;

/// A graphql-transport-ws client.
pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl WsClient {
    /// Connects and completes `connection_init` with `payload`; `Err` with the close reason
    /// when the server refuses.
    pub async fn connect(address: SocketAddr, payload: Value) -> Result<Self, String> {
        let mut request = format!("ws://{address}/graphql/ws").into_client_request().expect("a request");
        request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
        let (stream, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| e.to_string())?;
        let mut client = Self { stream };
        client.send(json!({ "type": "connection_init", "payload": payload })).await;
        match client.receive().await {
            Some(message) if message["type"] == "connection_ack" => Ok(client),
            other => Err(format!("{other:?}")),
        }
    }

    /// Connects with the token in the upgrade request's `Authorization` header, then
    /// completes an empty `connection_init`; `Err` with the HTTP refusal or close reason.
    pub async fn connect_with_header(address: SocketAddr, token: &str) -> Result<Self, String> {
        let mut request = format!("ws://{address}/graphql/ws").into_client_request().expect("a request");
        request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
        request.headers_mut().insert("authorization", bearer);
        let (stream, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| e.to_string())?;
        let mut client = Self { stream };
        client.send(json!({ "type": "connection_init", "payload": {} })).await;
        match client.receive().await {
            Some(message) if message["type"] == "connection_ack" => Ok(client),
            other => Err(format!("{other:?}")),
        }
    }

    async fn send(&mut self, message: Value) {
        self.stream.send(Message::text(message.to_string())).await.expect("message is sent");
    }

    /// The next protocol message (answering pings); `None` once closed.
    pub async fn receive(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(15), self.stream.next())
                .await
                .expect("a message within 15 s")?;
            match message.expect("a WebSocket message") {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(value);
                }
                Message::Close(frame) => {
                    return frame.map(
                        |f| json!({ "type": "close", "code": u16::from(f.code), "reason": f.reason.to_string() }),
                    );
                }
                _ => continue,
            }
        }
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } })).await;
    }

    /// Starts operation `id` with variables.
    pub async fn subscribe_with(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The errors of a message: an `error` message's payload, or a `next` message's errors.
    pub fn errors(message: &Value) -> Value {
        if message["type"] == "error" { message["payload"].clone() } else { message["payload"]["errors"].clone() }
    }

    /// The next message of operation `id` (`next` or `error`), whatever it holds.
    pub async fn receive_for(&mut self, id: &str) -> Value {
        loop {
            let message = self.receive().await.expect("the connection stays open");
            if message["id"] == id && message["type"] != "complete" {
                return message;
            }
        }
    }

    /// The next change of subscription `id`, past the `RESYNC` notices a PostgreSQL
    /// listener sends each time it (re)connects, and past other operations' messages.
    pub async fn next_change(&mut self, id: &str) -> Value {
        loop {
            let message = self.receive().await.expect("the connection stays open");
            if message["id"] != id || message["type"] == "complete" {
                continue;
            }
            assert_eq!(message["type"], "next", "{message}");
            let change = message["payload"]["data"]["commitmentChanged"].clone();
            if change["action"] != "RESYNC" {
                return change;
            }
        }
    }

    /// Waits until subscription `id` (of `commitmentChanged` for France) hears writes: makes
    /// probe commitments through `write` until one is announced. No fixed sleep: a notice
    /// sent before the subscription (or the PostgreSQL listener) was listening is lost.
    pub async fn until_listening<F, Fut>(&mut self, id: &str, mut write: F)
    where
        F: FnMut(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        for attempt in 0..20 {
            let slug = format!("probe-{attempt}");
            write(slug.clone()).await;
            let heard = tokio::time::timeout(Duration::from_secs(2), async {
                loop {
                    let change = self.next_change(id).await;
                    if change["slug"] == slug.as_str() {
                        return;
                    }
                }
            })
            .await;
            if heard.is_ok() {
                return;
            }
        }
        panic!("subscription {id} never heard a probe write");
    }

    /// The next `data` of subscription `id`.
    pub async fn next(&mut self, id: &str) -> Value {
        let mut message = self.receive().await.expect("the connection stays open");
        // The server confirms a subscription the client completed.
        while message["type"] == "complete" && message["id"] != id {
            message = self.receive().await.expect("the connection stays open");
        }
        assert_eq!(message["id"], id, "{message}");
        assert_eq!(message["type"], "next", "{message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        message["payload"]["data"].clone()
    }
}

const CREATE: &str = r#"mutation C($slug: String!, $pledger: String!) { createCommitment(input: {
    slug: $slug, title: "Live test", pledger: $pledger, event: "ai-action-summit-2025", announcedOn: "2025-02-10",
    amountLow: "1000000.00", amountHigh: "2000000.00", currency: "EUR", kind: INVESTMENT,
    newSources: [{ slug: $slug, url: "https://example.org/live", publisher: "Example", title: "Live" }] }) { version } }"#;

const RETITLE: &str = r#"mutation U($slug: String!, $v: Int!, $title: String!) {
    updateCommitment(slug: $slug, expectedVersion: $v, patch: { title: $title }) { version } }"#;

const RETRACT: &str = r#"mutation R($slug: String!, $v: Int!) {
    retractCommitment(slug: $slug, expectedVersion: $v, reason: "Misread", source: $slug) { version } }"#;

fn plus(total: &Value, field: &str, amount: i64) -> String {
    let value: rust_decimal::Decimal = total[field].as_str().expect("a decimal").parse().expect("a decimal");
    (value + rust_decimal::Decimal::from(amount)).to_string()
}

/// `totalsChanged` takes every argument of `totals` (the README's grouped, ranked, as-of
/// query as a subscription): its first message is exactly the query's answer, and a write
/// that moves the answer sends the new one.
async fn totals_changed_takes_every_totals_argument(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let args = r#"(filter: { events: ["ai-action-summit-2025"] }, groupBy: [PLEDGER], currency: "USD",
        fx: { method: ANNOUNCEMENT_DATE }, asOf: "2026-01-01", basis: AS_ANNOUNCED, having: { minCount: 1 },
        orderBy: HIGH_DESC, first: 3)"#;
    let shape = "{ basis asOf groups { key { value } low high count } grandTotal { low high count } }";
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    ws.subscribe("ranked", &format!("subscription {{ totalsChanged{args} {shape} }}")).await;
    let first = ws.next("ranked").await["totalsChanged"].clone();
    let (_, now) = app.query(&format!("{{ totals{args} {shape} }}")).await;
    assert_eq!(first, now["data"]["totals"], "the first message is the query's answer");
    assert_eq!(first["groups"].as_array().map(Vec::len), Some(3), "{first}");
    assert_eq!(first["basis"], "AS_ANNOUNCED");

    // A pledge larger than any, announced before the as-of day, takes the first place.
    let giant = r#"mutation { createCommitment(input: { slug: "live-giant", title: "Live test", pledger: "mistral-ai",
        event: "ai-action-summit-2025", announcedOn: "2025-02-10", amountLow: "900000000000.00", amountHigh: "900000000000.00",
        currency: "EUR", kind: INVESTMENT, newSources: [{ slug: "live-giant", url: "https://example.org/live",
        publisher: "Example", title: "Live" }] }) { version } }"#;
    let (_, body) = app.as_token(Some(&editor), giant, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let second = ws.next("ranked").await["totalsChanged"].clone();
    let (_, now) = app.query(&format!("{{ totals{args} {shape} }}")).await;
    assert_eq!(second, now["data"]["totals"]);
    assert_eq!(second["groups"][0]["key"][0]["value"], "mistral-ai", "{second}");
}

async fn a_totals_subscriber_gets_the_current_totals_then_each_change(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    ws.subscribe("totals", SUMMIT_TOTALS).await;
    let first = ws.next("totals").await["totalsChanged"]["grandTotal"].clone();
    let (_, now) = app
        .query(r#"{ totals(filter: { events: ["ai-action-summit-2025"] }) { grandTotal { low high count } } }"#)
        .await;
    assert_eq!(first, now["data"]["totals"]["grandTotal"], "the first message is the current totals");

    let (_, body) = app.as_token(Some(&editor), CREATE, json!({ "slug": "live-one", "pledger": "france" })).await;
    assert_eq!(body["data"]["createCommitment"]["version"], 1, "{body}");
    let second = ws.next("totals").await["totalsChanged"]["grandTotal"].clone();
    assert_eq!(second["low"], plus(&first, "low", 1_000_000));
    assert_eq!(second["high"], plus(&first, "high", 2_000_000));
    assert_eq!(second["count"], first["count"].as_i64().unwrap() + 1);

    // A new title moves no total: no message. The retraction then brings the first totals back,
    // and that is the very next message.
    let (_, body) =
        app.as_token(Some(&editor), RETITLE, json!({ "slug": "live-one", "v": 1, "title": "Renamed" })).await;
    assert_eq!(body["data"]["updateCommitment"]["version"], 2, "{body}");
    let (_, body) = app.as_token(Some(&editor), RETRACT, json!({ "slug": "live-one", "v": 2 })).await;
    assert_eq!(body["data"]["retractCommitment"]["version"], 3, "{body}");
    let third = ws.next("totals").await["totalsChanged"]["grandTotal"].clone();
    assert_eq!(third, first);
}

async fn a_commitment_subscriber_gets_only_matching_changes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let editor = app.token("desk", Role::Editor).await;
    let admin = app.token("admin", Role::Admin).await;
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    ws.subscribe("france", FRANCE_CHANGES).await;
    ws.until_listening("france", |slug| {
        let app = &app;
        let editor = editor.clone();
        async move {
            let (_, body) = app.as_token(Some(&editor), CREATE, json!({ "slug": slug, "pledger": "france" })).await;
            assert!(body.get("errors").is_none(), "{body}");
        }
    })
    .await;

    let (_, body) = app.as_token(Some(&editor), CREATE, json!({ "slug": "by-mistral", "pledger": "mistral-ai" })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body) = app.as_token(Some(&editor), CREATE, json!({ "slug": "by-france", "pledger": "france" })).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        ws.next_change("france").await,
        json!({ "action": "CREATED", "slug": "by-france", "commitment": { "title": "Live test", "version": 1 } })
    );
    let (_, body) =
        app.as_token(Some(&editor), RETITLE, json!({ "slug": "by-france", "v": 1, "title": "Renamed" })).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        ws.next_change("france").await,
        json!({ "action": "UPDATED", "slug": "by-france", "commitment": { "title": "Renamed", "version": 2 } })
    );
    let delete = r#"mutation { deleteCommitment(slug: "by-france", reason: "test") }"#;
    let (_, body) = app.as_token(Some(&admin), delete, json!({})).await;
    assert_eq!(body["data"]["deleteCommitment"], true, "{body}");
    assert_eq!(ws.next_change("france").await, json!({ "action": "DELETED", "slug": "by-france", "commitment": null }));

    // A bulk import changing more commitments than a notice lists: the subscriber is told
    // to re-read rather than left unaware.
    let mut data = pledgewatch::domain::records::DataSet {
        format: pledgewatch::domain::records::FORMAT.to_owned(),
        sources: vec![crate::helpers::test_source()],
        ..Default::default()
    };
    data.commitments =
        (0..10_001).map(|i| crate::helpers::test_commitment(&format!("bulk-{i}"), "1", "2", "EUR")).collect();
    app.db.import(&data).await.expect("the bulk import");
    assert_eq!(
        ws.next("france").await["commitmentChanged"],
        json!({ "action": "RESYNC", "slug": "", "commitment": null })
    );
}

async fn a_revoked_or_unknown_token_cannot_subscribe(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let reader = app.token("reader", Role::Reader).await;
    let mut ws = WsClient::connect(app.address, json!({ "Authorization": format!("Bearer {reader}") }))
        .await
        .expect("a reader's socket opens");
    ws.subscribe("ok", "{ __typename }").await;
    assert_eq!(ws.next("ok").await, json!({ "__typename": "Query" }));
    app.db.revoke_token("test", "reader").await.expect("revoked");
    let reason = "the bearer token is malformed, unknown or revoked";
    let Err(refused) = WsClient::connect(app.address, json!({ "Authorization": format!("Bearer {reader}") })).await
    else {
        panic!("a revoked token subscribed")
    };
    assert!(refused.contains(reason), "{refused}");
    let Err(refused) = WsClient::connect(app.address, json!({ "Authorization": "Bearer pw_nothing" })).await else {
        panic!("an unknown token subscribed")
    };
    assert!(refused.contains(reason), "{refused}");
}

/// graphql-transport-ws to the letter: an operation refused before it runs gets an `error`
/// message (the errors as its payload) and no `complete`; execution goes on for the others;
/// a refused `connection_init` closes the socket with 4401, not 1002.
async fn refusals_use_the_protocols_error_message_and_close_codes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut ws = WsClient::connect(app.address, json!({})).await.expect("connected");
    for (id, query, code) in [
        ("unknown-field", "subscription { noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("bad-argument", r#"subscription { totalsChanged(currency: "XXX") { grandTotal { low } } }"#, "BAD_USER_INPUT"),
        ("mutation-as-reader", r#"mutation { revokeToken(name: "x") }"#, "UNAUTHENTICATED"),
    ] {
        ws.subscribe(id, query).await;
        let message = ws.receive().await.expect("an answer");
        assert_eq!((message["type"].as_str(), message["id"].as_str()), (Some("error"), Some(id)), "{message}");
        let errors = message["payload"].as_array().unwrap_or_else(|| panic!("{message}"));
        assert_eq!(errors[0]["extensions"]["code"], code, "{message}");
    }
    // No `complete` follows an `error`: the next message on the socket is this query's answer.
    ws.subscribe("ok", "{ __typename }").await;
    let next = ws.receive().await.expect("an answer");
    assert_eq!((next["type"].as_str(), next["id"].as_str()), (Some("next"), Some("ok")), "{next}");
    assert_eq!(next["payload"]["data"], json!({ "__typename": "Query" }));
    assert_eq!(ws.receive().await.expect("complete")["type"], "complete");

    // A refused connection closes with 4401 and the reason.
    let mut request = format!("ws://{}/graphql/ws", app.address).into_client_request().expect("a request");
    request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (stream, _) = tokio_tungstenite::connect_async(request).await.expect("the upgrade");
    let mut refused = WsClient { stream };
    refused.send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer pw_unknown" } })).await;
    let close = refused.receive().await.expect("a close frame");
    assert_eq!(close["type"], "close", "{close}");
    assert_eq!(close["code"], 4401, "{close}");
    assert_eq!(close["reason"], "the bearer token is malformed, unknown or revoked");
}

/// Two replicas on one PostgreSQL: a write through A is seen through B, by a query and by a
/// subscription (the notice crosses processes through LISTEN/NOTIFY).
async fn a_write_through_one_replica_reaches_the_other() {
    let Some(cluster) = crate::postgres::cluster() else { return };
    let url = cluster.fresh_database().await;
    let a = Server::start(&url).await;
    let b = Server::start(&url).await;
    let db = Db::connect(&url, &PoolOptions::default()).await.expect("database opens");
    let editor = db.create_token("test", "desk", Role::Editor).await.expect("token");

    let mut ws = WsClient::connect(b.address, json!({})).await.expect("connected to B");
    ws.subscribe("france", FRANCE_CHANGES).await;
    // B hears A's writes once its listener is connected: probe until it does.
    ws.until_listening("france", |slug| {
        let (a, editor) = (&a, editor.clone());
        async move {
            let (_, body) = a.graphql(Some(&editor), CREATE, json!({ "slug": slug, "pledger": "france" })).await;
            assert!(body.get("errors").is_none(), "{body}");
        }
    })
    .await;
    ws.subscribe("totals", SUMMIT_TOTALS).await;
    let first = ws.next("totals").await["totalsChanged"]["grandTotal"].clone();

    let (_, body) = a.graphql(Some(&editor), CREATE, json!({ "slug": "through-a", "pledger": "france" })).await;
    assert_eq!(body["data"]["createCommitment"]["version"], 1, "{body}");

    // B's query sees it at once (same database), B's subscribers through the notice.
    let (_, body) = b.graphql(None, r#"{ commitment(slug: "through-a") { title } }"#, json!({})).await;
    assert_eq!(body["data"]["commitment"]["title"], "Live test", "{body}");
    let expected_high = plus(&first, "high", 2_000_000);
    let mut got_totals = false;
    let mut got_change = None;
    while !got_totals || got_change.is_none() {
        let message = ws.receive().await.expect("open");
        let data = &message["payload"]["data"];
        match message["id"].as_str() {
            // A probe's own update may still be on its way: the one that counts is A's write.
            Some("totals") => got_totals |= data["totalsChanged"]["grandTotal"]["high"] == expected_high.as_str(),
            Some("france") if data["commitmentChanged"]["action"] == "RESYNC" => {}
            Some("france") => got_change = Some(data["commitmentChanged"].clone()),
            _ => panic!("unexpected {message}"),
        }
    }
    assert_eq!(
        got_change.unwrap(),
        json!({ "action": "CREATED", "slug": "through-a", "commitment": { "title": "Live test", "version": 1 } })
    );
}

/// Replicas that start together on an empty PostgreSQL database take turns to migrate.
async fn replicas_starting_together_migrate_once() {
    let Some(cluster) = crate::postgres::cluster() else { return };
    let url = cluster.fresh_database().await;
    let start = || async {
        let db = Db::connect(&url, &PoolOptions::default()).await.expect("database opens");
        db.migrate().await
    };
    let (a, b, c) = tokio::join!(start(), start(), start());
    assert!(a.is_ok() && b.is_ok() && c.is_ok(), "{a:?} {b:?} {c:?}");
    let db = Db::connect(&url, &PoolOptions::default()).await.expect("database opens");
    let conn = db.conn();
    let row = sea_orm::ConnectionTrait::query_one_raw(
        conn,
        sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations".to_owned(),
        ),
    )
    .await
    .expect("query")
    .expect("row");
    let migrations = <migration::Migrator as migration::MigratorTrait>::migrations().len() as i64;
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), migrations, "each migration recorded once");
}
