//! The real `pledgewatch` binary as a child process: for the tests of replicas, kills and
//! shutdowns, which an in-process server cannot show.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// A running `pledgewatch serve`.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
    pub client: reqwest::Client,
}

impl Server {
    /// Starts `pledgewatch serve` on a free port over `database_url` (reference data loaded
    /// into an empty database), and waits until it listens.
    pub async fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[]).await
    }

    /// [`Server::start`] with more `serve` arguments.
    pub async fn start_with(database_url: &str, args: &[&str]) -> Self {
        Self::spawn(database_url, args, "warn", Stdio::inherit()).await
    }

    /// [`Server::start_with`] logging at `level` into `log`.
    pub async fn start_logged(database_url: &str, args: &[&str], level: &str, log: std::fs::File) -> Self {
        Self::spawn(database_url, args, level, Stdio::from(log)).await
    }

    async fn spawn(database_url: &str, args: &[&str], level: &str, stderr: Stdio) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pledgewatch"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--rate-limit-per-second", "0"])
            .args(["--database-url", database_url, "--db-acquire-timeout-secs", "2"])
            // The tests' databases hold the fixture; loading the ECB history in the background
            // would only add load (and memory) to what they measure.
            .args(["--no-rate-history"])
            .args(args)
            .env("RUST_LOG", level)
            .stderr(stderr);
        Self::run(command).await
    }

    /// `pledgewatch serve --listen 127.0.0.1:0 ARGS` with only these environment settings.
    pub async fn start_bare(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pledgewatch"));
        command.args(["serve", "--listen", "127.0.0.1:0"]).args(args).env("RUST_LOG", "warn").stderr(Stdio::inherit());
        for (key, _) in std::env::vars() {
            if key.starts_with("PLEDGEWATCH_") || key == "DATABASE_URL" {
                command.env_remove(key);
            }
        }
        command.envs(envs.iter().copied());
        Self::run(command).await
    }

    async fn run(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn().expect("pledgewatch starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("stdout reads") {
                if let Some(rest) = line.split("http://").nth(1) {
                    let address = rest.split(|c: char| c == '/' || c.is_whitespace()).next().unwrap_or(rest);
                    return address.parse::<SocketAddr>().expect("an address");
                }
            }
            panic!("pledgewatch exited before listening");
        })
        .await
        .expect("pledgewatch listens within a minute");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, address, client: reqwest::Client::new() }
    }

    /// POSTs a GraphQL document; returns the HTTP status and body.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("http://{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// Sends `signal` (`KILL`, `TERM`) to the process.
    pub async fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .await
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit; returns whether it exited successfully.
    pub async fn wait(&mut self) -> std::process::ExitStatus {
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the process exits within 30 s")
            .expect("wait works")
    }
}
