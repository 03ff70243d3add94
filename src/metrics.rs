//! Prometheus metrics (`GET /metrics`, text format): HTTP requests by route and status,
//! GraphQL operations by name with latency histograms, errors by code, the database pool,
//! `pledgewatch_build_info`, and the conventional `process_*` series of the server process
//! (CPU, memory, file descriptors, start time; read from `/proc` on Linux, absent elsewhere). Operation names come from clients, so at most [`MAX_OPERATIONS`] distinct names are
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// The process's own figures, as Prometheus' client libraries export them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ProcessSample {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    open_fds: i64,
    max_fds: i64,
    start_time_seconds: f64,
}

/// Clock ticks per second of `/proc` times (USER_HZ: 100 on every Linux architecture).
const TICKS_PER_SECOND: f64 = 100.0;

impl ProcessSample {
    /// Reads `/proc/self`; `None` where there is no such file (not Linux).
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces), from field 3 on.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<f64>().ok());
        let cpu_seconds = (ticks(14)? + ticks(15)?) / TICKS_PER_SECOND;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse::<i64>().ok())
        };
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())?;
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| {
                l.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
            })
            .unwrap_or(0);
        Some(Self {
            cpu_seconds,
            resident_bytes: kib("VmRSS:").unwrap_or(0) * 1024,
            virtual_bytes: kib("VmSize:").unwrap_or(0) * 1024,
            open_fds: std::fs::read_dir("/proc/self/fd").map(|d| d.count() as i64).unwrap_or(0),
            max_fds,
            start_time_seconds: boot + ticks(22)? / TICKS_PER_SECOND,
        })
    }
}

/// The `process_*` series, unprefixed as the convention has them.
#[derive(Default)]
struct ProcessMetrics {
    cpu: Counter<f64, std::sync::atomic::AtomicU64>,
    cpu_seen: Mutex<f64>,
    resident: Gauge,
    virtual_memory: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    start_time: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl ProcessMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register("process_cpu_seconds", "Total user and system CPU time spent in seconds", self.cpu.clone());
        registry.register("process_resident_memory_bytes", "Resident memory size in bytes", self.resident.clone());
        registry.register("process_virtual_memory_bytes", "Virtual memory size in bytes", self.virtual_memory.clone());
        registry.register("process_open_fds", "Number of open file descriptors", self.open_fds.clone());
        registry.register("process_max_fds", "Maximum number of open file descriptors", self.max_fds.clone());
        registry.register(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            self.start_time.clone(),
        );
    }

    fn sample(&self) {
        let Some(s) = ProcessSample::read() else { return };
        let mut seen = self.cpu_seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.cpu_seconds > *seen {
            self.cpu.inc_by(s.cpu_seconds - *seen);
            *seen = s.cpu_seconds;
        }
        self.resident.set(s.resident_bytes);
        self.virtual_memory.set(s.virtual_bytes);
        self.open_fds.set(s.open_fds);
        self.max_fds.set(s.max_fds);
        self.start_time.set(s.start_time_seconds);
    }
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
    process: ProcessMetrics,
    db: Db,
}

/// The server's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Metrics {
    /// Registers every metric; `db` is sampled for the pool gauges at each scrape.
    pub fn new(db: Db, max_connections: u32) -> Self {
        // The process series are unprefixed; everything of ours is `pledgewatch_*`.
        let mut root = Registry::default();
        let process = ProcessMetrics::default();
        if ProcessSample::read().is_some() {
            process.register(&mut root);
        }
        let registry = root.sub_registry_with_prefix("pledgewatch");
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION").to_owned() }).set(1);
        registry.register("build_info", "The running version (always 1)", build);
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
            registry: root,
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
            process,
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
        self.0.process.sample();
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
    async fn the_process_and_the_build_are_reported() {
        let db = Db::connect("sqlite::memory:", &crate::storage::PoolOptions::default()).await.expect("a database");
        // Spend a few clock ticks of CPU, so that the CPU time is not still zero.
        let start = std::time::Instant::now();
        while ProcessSample::read().expect("/proc").cpu_seconds == 0.0 && start.elapsed().as_secs() < 5 {
            std::hint::black_box((0..100_000u64).sum::<u64>());
        }
        let text = Metrics::new(db, 1).render();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        };
        assert!(value("process_resident_memory_bytes") > 1_000_000.0);
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_cpu_seconds_total") > 0.0);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        let started = value("process_start_time_seconds");
        assert!(started <= now + 1.0 && started > now - 3600.0, "{started} vs {now}");
        let build = format!("pledgewatch_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        assert!(text.contains(&build), "{text}");
    }

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
