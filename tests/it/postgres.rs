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
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// A running cluster.
pub struct Cluster {
    port: u16,
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The newest installed PostgreSQL's `bin` directory, if any.
pub fn bin_dir() -> Option<PathBuf> {
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

/// The installed binaries, or `None` (loudly) when PostgreSQL is missing outside CI.
fn binaries() -> Option<PathBuf> {
    let Some(bin) = bin_dir() else {
        let message = "no PostgreSQL installation found under /usr/lib/postgresql (apt-get install postgresql)";
        if crate::harness::in_ci() {
            panic!("{message}; CI is set, so the PostgreSQL tests fail instead of being ignored");
        }
        eprintln!("\n!!!!!!!! SKIPPING PostgreSQL tests: {message} !!!!!!!!\n");
        return None;
    };
    Some(bin)
}

/// A new cluster directory owned by the server's user, with `data` initialised in it.
fn init_cluster(bin: &Path) -> (PathBuf, PathBuf) {
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
    (dir, data)
}

/// Server settings for a throwaway cluster on `port`, sockets in `dir`.
fn server_options(port: u16, dir: &Path) -> String {
    format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        dir.display()
    )
}

/// Whether the cluster in `data` is the one serving `port` (its `postmaster.pid` names the
/// port on its fourth line): a free port picked earlier may have been taken since by
/// another server, which `pg_isready` would happily report as ready.
fn serves(data: &Path, port: u16) -> bool {
    std::fs::read_to_string(data.join("postmaster.pid"))
        .is_ok_and(|pid| pid.lines().nth(3).is_some_and(|l| l.trim() == port.to_string()))
}

/// Whether the server's log says the port was taken.
fn port_taken(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("log")).is_ok_and(|l| l.contains("could not bind") || l.contains("already in use"))
}

fn wait_ready(bin: &Path, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ok = Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn start() -> Option<Cluster> {
    let bin = binaries()?;
    let (dir, data) = init_cluster(&bin);
    // The port is free when picked, not necessarily when the server binds it: try again
    // on another one when it was taken in between.
    for _ in 0..5 {
        let port = free_port();
        if let Some(cluster) = start_on(&bin, &dir, &data, port) {
            return Some(cluster);
        }
    }
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    panic!("PostgreSQL did not start on five free ports: {log}");
}

fn start_on(bin: &Path, dir: &Path, data: &Path, port: u16) -> Option<Cluster> {
    let data_str = data.to_str().expect("utf-8 path");
    let postgres = bin.join("postgres");
    let runner = if is_root() { "runuser -u postgres -- " } else { "" };
    // The watchdog: start the server, stop it and remove the directory when this test
    // process is gone.
    let script = format!(
        "{runner}'{postgres}' -D '{data_str}' {options} >'{dir}/log' 2>&1 & pg=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 0.5; done; \
         kill -INT $(head -1 '{data_str}/postmaster.pid') 2>/dev/null; wait $pg; rm -rf '{dir}'",
        postgres = postgres.display(),
        dir = dir.display(),
        parent = std::process::id(),
        options = server_options(port, dir),
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
    while Instant::now() < deadline {
        if port_taken(dir) {
            let _ = std::fs::remove_file(dir.join("log"));
            return None;
        }
        if serves(data, port) && wait_ready(bin, port) {
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

/// A cluster of one's own, for tests that stop and restart the server (the shared one
/// must stay up for the other tests). Stopped and removed on drop.
pub struct OwnCluster {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    pub port: u16,
}

impl OwnCluster {
    /// Initialises and starts a cluster; `None` when skipping.
    pub fn start() -> Option<Self> {
        let bin = binaries()?;
        let (dir, data) = init_cluster(&bin);
        // A port taken between picking and binding: try another.
        for _ in 0..5 {
            let cluster = Self { bin: bin.clone(), dir: dir.clone(), data: data.clone(), port: free_port() };
            if cluster.try_pg_ctl(&["start"]) && serves(&cluster.data, cluster.port) {
                assert!(wait_ready(&cluster.bin, cluster.port), "PostgreSQL did not come up on port {}", cluster.port);
                return Some(cluster);
            }
            std::mem::forget(cluster); // the directory is the next attempt's
        }
        panic!("PostgreSQL did not start on five free ports");
    }

    fn try_pg_ctl(&self, args: &[&str]) -> bool {
        let data = self.data.to_str().expect("utf-8 path").to_owned();
        let log = self.dir.join("log").to_str().expect("utf-8 path").to_owned();
        let options = server_options(self.port, &self.dir);
        let mut all = vec!["-D", &data, "-l", &log, "-o", &options, "-w"];
        all.extend_from_slice(args);
        as_postgres(&self.bin.join("pg_ctl"), &all).output().is_ok_and(|o| o.status.success())
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data.to_str().expect("utf-8 path").to_owned();
        let log = self.dir.join("log").to_str().expect("utf-8 path").to_owned();
        let options = server_options(self.port, &self.dir);
        let mut all = vec!["-D", &data, "-l", &log, "-o", &options, "-w"];
        all.extend_from_slice(args);
        let output = as_postgres(&self.bin.join("pg_ctl"), &all).output().expect("pg_ctl runs");
        assert!(output.status.success(), "pg_ctl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) {
        self.pg_ctl(&["start"]);
        assert!(wait_ready(&self.bin, self.port), "PostgreSQL did not come up on port {}", self.port);
    }

    /// Stops the server at once (fast shutdown: open sessions are cut).
    pub fn down(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap_or_default().to_owned();
        let _ = as_postgres(&self.bin.join("pg_ctl"), &["-D", &data, "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TCP relay between the server and PostgreSQL that counts round trips: each time the
/// server sends after PostgreSQL has answered (or first on a connection), one more trip.
/// What the network between a replica and its database pays, which a statement count
/// does not show (a connection checked out and given back costs pings of its own).
pub struct TripCounter {
    /// The database URL that goes through the relay.
    pub url: String,
    trips: std::sync::Arc<AtomicU64>,
}

impl TripCounter {
    /// A relay to the database at `url` (`postgres://user@host:port/name`).
    pub async fn start(url: &str) -> Self {
        use std::sync::{Arc, atomic::AtomicBool};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (head, rest) = url.rsplit_once('@').expect("a URL with a user");
        let (target, name) = rest.split_once('/').expect("a URL with a database name");
        let target = target.to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the relay");
        let relay = listener.local_addr().expect("the relay's address");
        let trips = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&trips);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(&target).await.expect("PostgreSQL answers");
                let (mut client_in, mut client_out) = client.into_split();
                let (mut server_in, mut server_out) = server.into_split();
                // Whether the last bytes on this connection came from PostgreSQL.
                let answered = Arc::new(AtomicBool::new(true));
                let (answered_up, trips) = (Arc::clone(&answered), Arc::clone(&counter));
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = client_in.read(&mut buf).await {
                        if answered_up.swap(false, Ordering::SeqCst) {
                            trips.fetch_add(1, Ordering::SeqCst);
                        }
                        if server_out.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = server_in.read(&mut buf).await {
                        answered.store(true, Ordering::SeqCst);
                        if client_out.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { url: format!("{head}@{relay}/{name}"), trips }
    }

    /// Round trips so far.
    pub fn trips(&self) -> u64 {
        self.trips.load(Ordering::SeqCst)
    }
}
