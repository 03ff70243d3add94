//! A throwaway PostgreSQL cluster for the tests, started once per test binary from the
//! installed binaries (as the `postgres` user when we are root) on a free loopback port. A
//! watchdog stops it and removes its directory when the test process exits.
//!
//! No PostgreSQL installed: tests skip with a loud message, except under `CI=true`, where
//! they fail.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// A running cluster.
pub struct Cluster {
    port: u16,
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

fn bin_dir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists() && p.join("postgres").exists())
        .collect();
    candidates.sort_by_key(|p| {
        p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0)
    });
    candidates.pop()
}

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n")))
}

/// Runs `program args` as the `postgres` user when root.
fn as_postgres(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
        cmd
    } else {
        let mut cmd = Command::new(program);
        cmd.args(args);
        cmd
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn start() -> Option<Cluster> {
    let Some(bin) = bin_dir() else {
        let message = "no PostgreSQL installation found under /usr/lib/postgresql (apt-get install postgresql)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{message}; CI=true, so the PostgreSQL tests fail instead of skipping");
        }
        eprintln!("\n!!!!!!!! SKIPPING PostgreSQL tests: {message} !!!!!!!!\n");
        return None;
    };
    let dir = std::env::temp_dir().join(format!("pledgewatch-pg-{}-{}", std::process::id(), free_port()));
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).expect("cluster directory");
    if is_root() {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().expect("chown runs");
        assert!(status.success(), "cannot hand {} to the postgres user", dir.display());
    }
    let data_str = data.to_str().expect("utf-8 path");
    let output = as_postgres(
        &bin.join("initdb"),
        &["-D", data_str, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"],
    )
    .output()
    .expect("initdb runs");
    assert!(output.status.success(), "initdb failed: {}", String::from_utf8_lossy(&output.stderr));
    let port = free_port();
    let postgres = bin.join("postgres");
    let runner = if is_root() { "runuser -u postgres -- " } else { "" };
    // The watchdog: start the server, stop it and remove the directory when this test
    // process is gone.
    let script = format!(
        "{runner}'{postgres}' -D '{data_str}' -p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{dir}' \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 >'{dir}/log' 2>&1 & pg=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 0.5; done; \
         kill -INT $(head -1 '{data_str}/postmaster.pid') 2>/dev/null; wait $pg; rm -rf '{dir}'",
        postgres = postgres.display(),
        dir = dir.display(),
        parent = std::process::id(),
    );
    // The watchdog outlives this process on purpose: nobody waits for it.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the PostgreSQL watchdog starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = bin.join("pg_isready");
    while Instant::now() < deadline {
        let ok = Command::new(&ready)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Cluster { port });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    panic!("PostgreSQL did not start on port {port}: {log}");
}

/// The shared cluster, started on first use; `None` when skipping.
pub fn cluster() -> Option<&'static Cluster> {
    CLUSTER.get_or_init(start).as_ref()
}

impl Cluster {
    /// Creates a fresh database and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!("test_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
        let admin = sea_orm::Database::connect(format!("postgres://postgres@127.0.0.1:{}/postgres", self.port))
            .await
            .expect("admin connection");
        sea_orm::ConnectionTrait::execute_unprepared(&admin, &format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        admin.close().await.expect("admin connection closes");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}
