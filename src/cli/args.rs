//! The command line's arguments, and the settings file that gives them defaults.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::storage::{Db, PoolOptions};

/// pledgewatch: tracks what governments, companies and funds announce and commit around AI
/// investment summits, and answers questions on it over GraphQL.
#[derive(Debug, Parser)]
#[command(name = "pledgewatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines as human-readable text or as JSON objects (one per line, for collectors).
    /// What is logged is set by RUST_LOG (default: info).
    #[arg(long, global = true, env = "PLEDGEWATCH_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// A TOML settings file: keys are the flags' names (`listen = "0.0.0.0:8080"`,
    /// `database_url = "postgres://…"`). Flags and environment variables override it.
    #[arg(long, global = true, env = "PLEDGEWATCH_CONFIG")]
    pub config: Option<PathBuf>,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API (GraphiQL at /graphql, the dashboard at /). Creates and
    /// migrates the database if needed, and loads the reference data into an empty one.
    Serve(ServeArgs),
    /// Apply pending database migrations, then exit.
    Migrate(DbArgs),
    /// Import a data set file in pledgewatch's JSON format (see data/README.md): every
    /// record validated, all written in one transaction or none; re-importing is a no-op.
    Import {
        #[command(flatten)]
        db: DbArgs,
        /// A JSON data set file, or a directory holding the CSV set (sources.csv,
        /// actors.csv, events.csv, commitments.csv, status_history.csv, …).
        path: PathBuf,
        /// Check every record against the rules and the database, report, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Export everything in the import format: one JSON file, or the CSV set. Importing the
    /// result into an empty database gives the same records and totals.
    Export {
        #[command(flatten)]
        db: DbArgs,
        /// json or csv.
        #[arg(long, default_value = "json", value_parser = ["json", "csv"])]
        format: String,
        /// Directory to write into (created if needed). Without it, JSON goes to standard
        /// output; CSV needs it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import ECB euro reference rates from the ECB's history CSV (`eurofxref-hist.csv`:
    /// Date, then one column per currency). Every rate cites the given sources (slugs
    /// already in the database); re-importing is a no-op.
    ImportRates {
        #[command(flatten)]
        db: DbArgs,
        /// The CSV file.
        path: PathBuf,
        /// Slug of a source every imported rate cites (repeatable; at least one).
        #[arg(long = "source", required = true)]
        sources: Vec<String>,
        /// Only these currencies (comma-separated ISO codes; default: all).
        #[arg(long, value_delimiter = ',')]
        currencies: Vec<String>,
        /// Only rates on or after this date (YYYY-MM-DD).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Only rates on or before this date (YYYY-MM-DD).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
    },
    /// Manage API tokens (`token create --name NAME --role editor`, `token list`,
    /// `token revoke NAME`).
    Token {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Rebuild the derived table of counted amounts from scratch (every write keeps it up
    /// to date; use after restoring a database by hand).
    RebuildTotals(DbArgs),
    /// Print the GraphQL schema (SDL); no database needed.
    ExportSchema {
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print a shell completion script (`pledgewatch completions bash > /etc/bash_completion.d/pledgewatch`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff: `pledgewatch man > pledgewatch.1; man ./pledgewatch.1`).
    Man,
}

/// Database settings.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database URL: a SQLite file (`sqlite://pledgewatch.db?mode=rwc`; only `serve`,
    /// `migrate` and `import` create it when missing) or PostgreSQL
    /// (`postgres://user:password@host/db`). Accepted anywhere after the command.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://pledgewatch.db?mode=rwc",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Most database connections open at once (default: 8 on PostgreSQL; on SQLite twice
    /// the cores, from 2 to 8).
    #[arg(long, global = true, env = "PLEDGEWATCH_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// Seconds to wait for a database connection before failing the request.
    #[arg(long, global = true, env = "PLEDGEWATCH_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5)]
    pub db_acquire_timeout_secs: u64,
}

/// Server settings.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address and port to listen on.
    #[arg(long, env = "PLEDGEWATCH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Rows per page when a query gives no `first`.
    #[arg(long, env = "PLEDGEWATCH_DEFAULT_PAGE_SIZE", default_value_t = 50)]
    pub default_page_size: u32,
    /// Most rows per page; a larger `first` is refused with BAD_USER_INPUT.
    #[arg(long, env = "PLEDGEWATCH_MAX_PAGE_SIZE", default_value_t = 500)]
    pub max_page_size: u32,
    /// Largest request body in bytes; larger is answered 413.
    #[arg(long, env = "PLEDGEWATCH_MAX_BODY_BYTES", default_value_t = 262_144)]
    pub max_body_bytes: usize,
    /// Anonymous read queries whose whole answers are kept in memory until the next write
    /// (exact: any write empties it); 0 switches the response cache off.
    #[arg(long, env = "PLEDGEWATCH_RESPONSE_CACHE_ENTRIES", default_value_t = 256)]
    pub response_cache_entries: usize,
    /// Seconds a request may take before it is answered 408.
    #[arg(long, env = "PLEDGEWATCH_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Do not load the reference data into an empty database.
    #[arg(long, env = "PLEDGEWATCH_NO_REFERENCE_DATA")]
    pub no_reference_data: bool,
    /// Do not load the ECB's rate history (about 200,000 rates since 1999) when the database
    /// has none; the reference data's own rates stay. `import-rates` loads it later.
    #[arg(long, env = "PLEDGEWATCH_NO_RATE_HISTORY")]
    pub no_rate_history: bool,
    /// Deepest query nesting; deeper queries are refused before they run.
    #[arg(long, env = "PLEDGEWATCH_MAX_QUERY_DEPTH", default_value_t = 15)]
    pub max_query_depth: usize,
    /// Most fields one query may select; larger queries are refused before they run.
    #[arg(long, env = "PLEDGEWATCH_MAX_QUERY_COMPLEXITY", default_value_t = 2_000)]
    pub max_query_complexity: usize,
    /// Do not answer introspection (`__schema`, `__type`).
    #[arg(long, env = "PLEDGEWATCH_NO_INTROSPECTION")]
    pub no_introspection: bool,
    /// Requests per second each token (or client IP, without a token) may sustain; 0 turns
    /// rate limiting off. Above it: 429 with Retry-After.
    #[arg(long, env = "PLEDGEWATCH_RATE_LIMIT_PER_SECOND", default_value_t = 50)]
    pub rate_limit_per_second: u32,
    /// Requests a client may send at once before the rate applies.
    #[arg(long, env = "PLEDGEWATCH_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,
    /// Origins browsers may call the API from (comma-separated, `*` for any); none by default.
    #[arg(long, env = "PLEDGEWATCH_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Require a token (READER or above) for reads too.
    #[arg(long, env = "PLEDGEWATCH_PRIVATE_READS")]
    pub private_reads: bool,
}

/// Token management.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown once; only its hash is stored).
    Create {
        /// The name the audit log records (lowercase, digits, hyphens).
        #[arg(long)]
        name: String,
        /// What the token may do.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by name: it stops working at once.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// A token's role on the command line (checked before anything runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Reads only (with private reads on).
    Reader,
    /// Creates and edits records.
    Editor,
    /// Also deletes records and manages tokens.
    Admin,
}

impl From<RoleArg> for crate::auth::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Reader => Self::Reader,
            RoleArg::Editor => Self::Editor,
            RoleArg::Admin => Self::Admin,
        }
    }
}

impl DbArgs {
    fn pool(&self) -> PoolOptions {
        PoolOptions {
            max_connections: self
                .db_max_connections
                .unwrap_or_else(|| PoolOptions::default_connections(&self.database_url)),
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs),
        }
    }

    /// Opens and migrates the database, creating a SQLite file that is missing.
    pub async fn open(&self) -> anyhow::Result<Db> {
        let db = Db::connect(&creating(&self.database_url), &self.pool())
            .await
            .with_context(|| format!("cannot open database {}", redact(&self.database_url)))?;
        db.migrate().await.context("cannot migrate the database")?;
        Ok(db)
    }

    /// Opens and migrates a database that already exists: a mistyped SQLite path fails here
    /// instead of creating an empty database (only `serve`, `migrate` and `import` create).
    pub async fn open_existing(&self) -> anyhow::Result<Db> {
        if let Some(path) = sqlite_file(&self.database_url)
            && !path.exists()
        {
            bail!("no database at {} (`pledgewatch migrate`, `import` or `serve` create one)", path.display());
        }
        self.open().await
    }
}

/// A SQLite URL that creates its file when missing (`mode=rwc`) unless it says its own mode
/// (`sqlite:///srv/x.db` → `sqlite:///srv/x.db?mode=rwc`); other URLs as they are.
pub(crate) fn creating(url: &str) -> String {
    if sqlite_file(url).is_none() || url.contains("mode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode=rwc")
}

/// The file of a SQLite URL (`sqlite://path?…`, `sqlite:path`), if it names one.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// The settings file: `--config FILE` or `PLEDGEWATCH_CONFIG` (looked up before the rest of
/// the command line is parsed).
fn config_path(args: &[std::ffi::OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("PLEDGEWATCH_CONFIG").map(PathBuf::from)
}

/// A TOML value as the text clap would read on the command line (lists comma-separated).
fn setting_text(key: &str, value: &serde_json::Value) -> anyhow::Result<String> {
    Ok(match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Array(items) => {
            items.iter().map(|v| setting_text(key, v)).collect::<anyhow::Result<Vec<_>>>()?.join(",")
        }
        _ => bail!("{key}: expected a string, number, boolean or list"),
    })
}

/// Parses the command line with the settings file (if any) as defaults: a flag beats its
/// environment variable, which beats the file, which beats the built-in default. Keys are the
/// flags' names with `_` or `-` (`database_url`, `rate_limit_per_second`, `cors_origins`).
pub fn parse() -> anyhow::Result<Cli> {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = Cli::command();
    if let Some(path) = config_path(&args) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the settings file {}", path.display()))?;
        let settings: std::collections::BTreeMap<String, serde_json::Value> =
            basic_toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
        for (key, value) in settings {
            let long = key.replace('_', "-");
            let value = setting_text(&key, &value).with_context(|| path.display().to_string())?;
            let id_in = |c: &clap::Command| {
                c.get_arguments().find(|a| a.get_long() == Some(long.as_str())).map(|a| a.get_id().to_string())
            };
            let mut known = false;
            if let Some(id) = id_in(&command) {
                known = true;
                let value = value.clone();
                command = command.mut_arg(id, |a| a.default_value(value));
            }
            let names: Vec<String> = command.get_subcommands().map(|s| s.get_name().to_owned()).collect();
            for name in names {
                if let Some(id) = command.find_subcommand(&name).and_then(id_in) {
                    known = true;
                    let value = value.clone();
                    command = command.mut_subcommand(name, move |s| s.mut_arg(id, |a| a.default_value(value)));
                }
            }
            if !known {
                bail!(
                    "{}: unknown setting {key:?} (settings are the flags of `pledgewatch serve --help`)",
                    path.display()
                );
            }
        }
    }
    let matches = command.get_matches_from(args);
    Ok(Cli::from_arg_matches(&matches)?)
}

/// The URL without its password, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}
