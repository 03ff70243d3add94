//! Prometheus metrics (`GET /metrics`, text format): HTTP requests by route and status,
//! GraphQL operations by name with latency histograms, errors by code, and the database
//! pool. Operation names come from clients, so at most [`MAX_OPERATIONS`] distinct names are
//! kept; later ones count as `other`.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::storage::Db;

/// Distinct operation names tracked before the rest count as `other`.
pub const MAX_OPERATIONS: usize = 200;

/// Longest operation name kept in a label.
const MAX_NAME_LEN: usize = 64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

/// Latency buckets in seconds: 1 ms to 10 s.
fn latency_histogram() -> Histogram {
    Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0])
}

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    operations: Family<OperationLabels, Counter>,
    operation_duration: Family<OperationLabels, Histogram, fn() -> Histogram>,
    errors: Family<CodeLabels, Counter>,
    pool_size: Gauge,
    pool_idle: Gauge,
    statements: Counter,
    statements_seen: Mutex<u64>,
    names: Mutex<HashSet<String>>,
    db: Db,
}

/// The server's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Metrics {
    /// Registers every metric; `db` is sampled for the pool gauges at each scrape.
    pub fn new(db: Db, max_connections: u32) -> Self {
        let mut registry = Registry::with_prefix("pledgewatch");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let operations = Family::<OperationLabels, Counter>::default();
        let operation_duration =
            Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let errors = Family::<CodeLabels, Counter>::default();
        let (pool_size, pool_idle, statements): (Gauge, Gauge, Counter) = Default::default();
        let pool_max: Gauge = Gauge::default();
        registry.register("http_requests", "HTTP requests by route, method and status", http_requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", http_duration.clone());
        registry.register("graphql_operations", "GraphQL operations by name and kind", operations.clone());
        registry.register(
            "graphql_operation_duration_seconds",
            "GraphQL operation latency by name and kind",
            operation_duration.clone(),
        );
        registry.register("graphql_errors", "GraphQL errors by extensions.code", errors.clone());
        registry.register("db_pool_connections", "Open database connections", pool_size.clone());
        registry.register("db_pool_idle_connections", "Idle database connections", pool_idle.clone());
        registry.register("db_pool_max_connections", "Most database connections allowed", pool_max.clone());
        registry.register("db_statements", "SQL statements run", statements.clone());
        pool_max.set(i64::from(max_connections));
        Self(Arc::new(Inner {
            registry,
            http_requests,
            http_duration,
            operations,
            operation_duration,
            errors,
            pool_size,
            pool_idle,
            statements,
            statements_seen: Mutex::new(0),
            names: Mutex::new(HashSet::new()),
            db,
        }))
    }

    /// Counts an HTTP request.
    pub fn http(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let labels = HttpLabels { route: route.to_owned(), method: method.to_owned(), status };
        self.0.http_requests.get_or_create(&labels).inc();
        self.0.http_duration.get_or_create(&RouteLabels { route: route.to_owned() }).observe(seconds);
    }

    /// The label for a client's operation name: as given while few names are known.
    fn operation_label(&self, name: &str) -> String {
        let name: String = name.chars().take(MAX_NAME_LEN).collect();
        let mut names = self.0.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if names.contains(&name) {
            return name;
        }
        if names.len() < MAX_OPERATIONS {
            names.insert(name.clone());
            return name;
        }
        "other".to_owned()
    }

    /// Counts a GraphQL operation and its errors.
    pub fn operation(&self, name: &str, kind: &str, seconds: f64, error_codes: &[String]) {
        let labels = OperationLabels { operation: self.operation_label(name), kind: kind.to_owned() };
        self.0.operations.get_or_create(&labels).inc();
        self.0.operation_duration.get_or_create(&labels).observe(seconds);
        for code in error_codes {
            self.0.errors.get_or_create(&CodeLabels { code: code.clone() }).inc();
        }
    }

    /// The text exposition, with the pool sampled now.
    pub fn render(&self) -> String {
        let (size, idle) = self.0.db.pool_usage();
        self.0.pool_size.set(i64::from(size));
        self.0.pool_idle.set(i64::try_from(idle).unwrap_or(i64::MAX));
        {
            let mut seen = self.0.statements_seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = self.0.db.statement_count();
            self.0.statements.inc_by(now.saturating_sub(*seen));
            *seen = now;
        }
        let mut out = String::new();
        if encode(&mut out, &self.0.registry).is_err() {
            tracing::error!("cannot encode the metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn operation_names_are_capped_and_cut() {
        let db = Db::connect("sqlite::memory:", &crate::storage::PoolOptions::default()).await.expect("a database");
        let metrics = Metrics::new(db, 1);
        for i in 0..MAX_OPERATIONS {
            metrics.operation(&format!("Op{i}"), "query", 0.001, &[]);
        }
        // Past the cap, new names share one label; known names keep theirs.
        metrics.operation("OneTooMany", "query", 0.001, &[]);
        metrics.operation("AnotherOne", "query", 0.001, &[]);
        metrics.operation("Op0", "query", 0.001, &[]);
        let long = "L".repeat(100);
        let text = metrics.render();
        let count = |name: &str| {
            let series = format!("pledgewatch_graphql_operations_total{{operation=\"{name}\",kind=\"query\"}}");
            text.lines().find_map(|l| l.strip_prefix(&series)).map(|v| v.trim().to_owned())
        };
        assert_eq!(count("other").as_deref(), Some("2"));
        assert_eq!(count("Op0").as_deref(), Some("2"));
        assert_eq!(count("OneTooMany"), None);
        // A long name is cut to 64 characters (while there is room for it).
        let fresh =
            Metrics::new(Db::connect("sqlite::memory:", &crate::storage::PoolOptions::default()).await.unwrap(), 1);
        fresh.operation(&long, "query", 0.001, &[]);
        let text = fresh.render();
        assert!(text.contains(&format!("operation=\"{}\"", "L".repeat(MAX_NAME_LEN))), "{text}");
        assert!(!text.contains(&"L".repeat(MAX_NAME_LEN + 1)));
    }
}
