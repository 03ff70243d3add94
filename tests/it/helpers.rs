//! The test application: the real server on an ephemeral port over a real database file.

use std::net::SocketAddr;

use pledgewatch::{
    auth::Role,
    cli::load_reference_with,
    domain::records::{CommitmentRecord, SourceRecord},
    ecb::EcbSelection,
    graphql::{ApiLimits, build_schema},
    http::{AppState, HttpLimits, router},
    storage::{Db, PoolOptions},
};
use serde_json::{Value, json};

/// The GraphQL documents of the tests.
pub const QUERIES: &str = include_str!("queries.graphql");

/// The database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database in the shared throwaway PostgreSQL cluster.
    Postgres,
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub db: Db,
    /// The database URL (for the binary, in process tests).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The reference data as it was on 2026-11-24 (7 events, 32 commitments, 20 rates): the
/// fixed ground of the behaviour tests, so that the shipped data can grow without moving
/// their expected figures. The shipped data itself is tested by `reference_data.rs`,
/// `import.rs` and the dashboard test.
pub const FIXTURE: &str = include_str!("fixtures/reference-2026-11-24.json");

/// Loads [`FIXTURE`] into an empty database.
pub async fn load_fixture(db: &Db) {
    let data: pledgewatch::domain::records::DataSet = serde_json::from_str(FIXTURE).expect("the fixture parses");
    db.import_as("reference", "reference.json", &data).await.expect("the fixture loads");
}

/// The part of the shipped ECB history a test server loads: the currencies of the reference
/// data, since 2017 (a few thousand rates, not the whole history of 200,000: one test,
/// `reference_data::a_fresh_install_converts_every_commitment`, loads it all).
pub fn reference_rates() -> EcbSelection {
    EcbSelection {
        currencies: vec!["USD".into(), "GBP".into(), "INR".into()],
        from: chrono::NaiveDate::from_ymd_opt(2017, 1, 1),
        to: None,
    }
}

impl TestApp {
    /// Starts the server on a fresh database holding the reference data; `None` when the
    /// backend is not installed here (PostgreSQL outside CI, said loudly).
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let app = Self::spawn_empty(backend).await?;
        load_fixture(&app.db).await;
        Some(app)
    }

    /// Starts the server on a fresh database holding the shipped reference data with the
    /// ECB history of its currencies (see [`reference_rates`]).
    pub async fn spawn_current(backend: Backend) -> Option<Self> {
        let app = Self::spawn_empty(backend).await?;
        load_reference_with(&app.db, &reference_rates()).await.expect("reference data loads");
        Some(app)
    }

    /// Starts the server on a fresh, migrated, empty database.
    pub async fn spawn_empty(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, ApiLimits::default(), HttpLimits { rate_limit: None, ..HttpLimits::default() }).await
    }

    /// Starts the server on a fresh, migrated, empty database with these limits.
    pub async fn spawn_with(backend: Backend, api: ApiLimits, http: HttpLimits) -> Option<Self> {
        Self::spawn_pooled(backend, api, http, PoolOptions::default()).await
    }

    /// Starts the server on a fresh, migrated, empty database with these limits and pool.
    pub async fn spawn_pooled(backend: Backend, api: ApiLimits, http: HttpLimits, pool: PoolOptions) -> Option<Self> {
        let (url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                (format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()), Some(dir))
            }
            Backend::Postgres => (crate::postgres::cluster()?.fresh_database().await, None),
        };
        Some(Self::spawn_on(url, dir, api, http, pool).await)
    }

    /// Starts the server on the database at `url`, migrated.
    pub async fn spawn_on(
        url: String,
        dir: Option<tempfile::TempDir>,
        api: ApiLimits,
        http: HttpLimits,
        pool: PoolOptions,
    ) -> Self {
        let db = Db::connect(&url, &pool).await.expect("database opens");
        db.migrate().await.expect("migrations apply");
        db.start_listening();
        let state = AppState::new(build_schema(Some(db.clone()), api), db.clone(), http);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let service = router(state).into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service).await.expect("server runs");
        });
        Self { address, client: reqwest::Client::new(), db, url, _dir: dir }
    }

    /// The GraphQL endpoint.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.address)
    }

    /// Runs a named operation of `queries.graphql`; returns the HTTP status and JSON body.
    pub async fn operation(&self, name: &str, variables: Value) -> (u16, Value) {
        self.post(json!({ "query": QUERIES, "operationName": name, "variables": variables })).await
    }

    /// A new token with `role`; returns its secret.
    pub async fn token(&self, name: &str, role: Role) -> String {
        self.db.create_token("test", name, role).await.expect("token is created")
    }

    /// POSTs a GraphQL document with variables and a bearer token (if any).
    pub async fn as_token(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self.client.post(self.graphql_url()).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Runs a query given inline.
    pub async fn query(&self, query: &str) -> (u16, Value) {
        self.post(json!({ "query": query })).await
    }

    /// POSTs a JSON body to /graphql.
    pub async fn post(&self, body: Value) -> (u16, Value) {
        let response = self.client.post(self.graphql_url()).json(&body).send().await.expect("request is sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// The `data` of an anonymous query given as text, which must succeed.
    pub async fn data_of(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.as_token(None, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    /// Runs a named operation that must succeed, returning `data`.
    pub async fn data(&self, name: &str, variables: Value) -> Value {
        let (status, body) = self.operation(name, variables).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert!(body.get("errors").is_none(), "{name}: {body}");
        body["data"].clone()
    }
}

/// The slugs of a list of nodes, sorted.
pub fn sorted_slugs(nodes: &Value) -> Vec<String> {
    let mut slugs: Vec<String> =
        nodes.as_array().expect("a list").iter().map(|n| n["slug"].as_str().expect("slug").to_owned()).collect();
    slugs.sort();
    slugs
}

/// Sorted owned strings.
pub fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// The source the test records cite.
pub fn test_source() -> SourceRecord {
    SourceRecord {
        slug: "test-source".into(),
        url: "https://example.org/a".into(),
        publisher: "Example".into(),
        title: "A test page".into(),
        published_on: None,
        language: Some("en".into()),
        quote: None,
    }
}

/// A commitment by France, citing [`test_source`].
pub fn test_commitment(slug: &str, low: &str, high: &str, currency: &str) -> CommitmentRecord {
    CommitmentRecord {
        slug: slug.into(),
        title: format!("Test {slug}"),
        pledger: "france".into(),
        event: None,
        beneficiary: None,
        announced_on: Some("2025-02-10".into()),
        amount_low: Some(low.into()),
        amount_high: Some(high.into()),
        currency: currency.into(),
        recipient_country: None,
        sector: None,
        horizon_year: None,
        kind: "INVESTMENT".into(),
        status: "ANNOUNCED".into(),
        amount_disputed: false,
        parent: None,
        relation: None,
        notes: None,
        sources: vec!["test-source".into()],
        status_history: vec![],
        retraction: None,
    }
}

/// The number a query returns in its column `n` (`SELECT COUNT(*) AS n …`).
pub async fn scalar(db: &Db, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let conn = db.conn();
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .expect("query runs")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("a number")
}

/// Rows in `table`.
pub async fn row_count(db: &Db, table: &str) -> i64 {
    scalar(db, &format!("SELECT COUNT(*) AS n FROM \"{table}\"")).await
}

/// The tables of the data model (everything but migrations' bookkeeping).
pub const TABLES: [&str; 16] = [
    "sources",
    "source_links",
    "actors",
    "events",
    "commitments",
    "overlaps",
    "fundraising_targets",
    "status_history",
    "coalitions",
    "signatures",
    "reported_counts",
    "exchange_rates",
    "counted_amounts",
    "data_versions",
    "api_tokens",
    "audit_log",
];

/// The number of rows of every table, by name.
pub async fn row_counts(db: &Db) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push((table, row_count(db, table).await));
    }
    counts
}

/// Runs the binary with `args` (no `DATABASE_URL` from the environment, warnings only);
/// returns whether it succeeded, its stdout and its stderr.
pub async fn run_cli(args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pledgewatch"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .env_remove("DATABASE_URL")
        .output()
        .await
        .expect("the binary runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}
