//! The command line: `serve`, `migrate`, `import`, `export-schema`. Startup errors are
//! `anyhow` with context; nothing below this module uses it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::{
    auth::Role,
    domain::records::{DataSet, FORMAT},
    ecb::{EcbSelection, read_history},
    graphql::{ApiLimits, build_schema, sdl},
    http::{AppState, HttpLimits, RateLimit, router},
    reference::reference_data,
    storage::{
        Db, PoolOptions,
        import::{ImportError, ImportSummary},
    },
};

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
}

/// Database settings.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database URL: a SQLite file (`sqlite://pledgewatch.db?mode=rwc`, created if missing)
    /// or PostgreSQL (`postgres://user:password@host/db`).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://pledgewatch.db?mode=rwc", hide_env_values = true)]
    pub database_url: String,
    /// Most database connections open at once.
    #[arg(long, env = "PLEDGEWATCH_DB_MAX_CONNECTIONS", default_value_t = 8)]
    pub db_max_connections: u32,
    /// Seconds to wait for a database connection before failing the request.
    #[arg(long, env = "PLEDGEWATCH_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5)]
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
        /// reader, editor or admin.
        #[arg(long)]
        role: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by name: it stops working at once.
    Revoke {
        /// The token's name.
        name: String,
    },
}

impl DbArgs {
    fn pool(&self) -> PoolOptions {
        PoolOptions {
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs),
        }
    }

    /// Opens and migrates the database.
    pub async fn open(&self) -> anyhow::Result<Db> {
        let db = Db::connect(&self.database_url, &self.pool())
            .await
            .with_context(|| format!("cannot open database {}", redact(&self.database_url)))?;
        db.migrate().await.context("cannot migrate the database")?;
        Ok(db)
    }
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

/// Loads the shipped reference data when the database holds no commitments or actors yet.
pub async fn load_reference_if_empty(db: &Db) -> anyhow::Result<Option<ImportSummary>> {
    if db.actors_count(&Default::default()).await? > 0 {
        return Ok(None);
    }
    let data = reference_data().context("the shipped reference data does not parse")?;
    let summary = db.import_as("reference", "reference.json", &data).await.context("cannot load the reference data")?;
    Ok(Some(summary))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Import progress on standard error: a bar on a terminal, otherwise a plain line at every
/// tenth of a collection of 1000 records or more (for logs and CI).
struct CliProgress {
    bar: Option<indicatif::ProgressBar>,
    state: std::sync::Mutex<(&'static str, usize)>,
    /// Totals known ahead (a streamed collection arrives in batches of its own size).
    totals: std::collections::HashMap<&'static str, usize>,
}

impl CliProgress {
    fn new() -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg:>20} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Self { bar, state: std::sync::Mutex::new(("", 0)), totals: std::collections::HashMap::new() }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl crate::storage::ImportProgress for CliProgress {
    fn record(&self, collection: &'static str, total: usize) {
        let total = self.totals.get(collection).copied().unwrap_or(total);
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.0 != collection {
            *state = (collection, 0);
            if let Some(bar) = &self.bar {
                bar.set_length(total as u64);
                bar.set_position(0);
                bar.set_message(collection);
            }
        }
        state.1 += 1;
        let done = state.1;
        match &self.bar {
            Some(bar) => bar.set_position(done as u64),
            None if total >= 1000 && (done.is_multiple_of(total.div_ceil(10)) || done == total) => {
                eprintln!("import: {collection} {done}/{total}");
            }
            None => {}
        }
    }
}

/// Imports a JSON file or a CSV directory; every problem is reported, with file, row and
/// column for CSV.
async fn import_path(db: &Db, path: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
    if path.is_dir() {
        return import_dir(db, path, dry_run).await;
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let data: DataSet =
        serde_json::from_str(&text).with_context(|| format!("{} is not a pledgewatch data set", path.display()))?;
    import(db, path, &data, dry_run).await
}

/// Commitments per batch of a streamed CSV import.
const COMMITMENTS_PER_BATCH: usize = 5_000;

/// Problems listed at most; the count covers all of them.
const PROBLEMS_LISTED: usize = 1_000;

/// Streams a CSV set into the database in one transaction: the small files whole, then
/// commitments a batch at a time with their status rows, so that memory stays flat however
/// large `commitments.csv` is. Every problem is reported (the first thousand listed).
async fn import_dir(db: &Db, dir: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
    use crate::csvset::{SetReader, commitment_batch, orphan_status};
    let mut reader = match SetReader::open(dir) {
        Ok(r) => r,
        Err(problems) => return report(dir, problems.iter().map(ToString::to_string).collect(), 0),
    };
    let mut progress = CliProgress::new();
    progress.totals.insert("commitments", count_rows(&dir.join("commitments.csv")));
    let progress = std::sync::Arc::new(progress);
    let db = db.with_progress(progress.clone());
    let mut bulk = db.begin_bulk().await.context("cannot start the import")?;
    let mut problems: Vec<String> = Vec::new();
    let mut more = 0usize;
    let mut note = |line: String| {
        if problems.len() < PROBLEMS_LISTED {
            problems.push(line);
        } else {
            more += 1;
        }
    };
    let (head, origins) = reader.head();
    for p in bulk.add(&head).await? {
        note(origins.locate(&p).to_string());
    }
    loop {
        let rows = reader.status_rows(COMMITMENTS_PER_BATCH);
        if rows.is_empty() {
            break;
        }
        bulk.stash_statuses(&rows).await?;
    }
    loop {
        let rows = reader.commitments(COMMITMENTS_PER_BATCH);
        if rows.is_empty() {
            break;
        }
        let slugs: Vec<String> = rows.iter().map(|(_, c)| c.slug.clone()).collect();
        let statuses = bulk.take_statuses(&slugs).await?;
        let (batch, origins) = commitment_batch(rows, statuses);
        for p in bulk.add(&batch).await? {
            note(origins.locate(&p).to_string());
        }
    }
    for (slug, line) in bulk.unclaimed_statuses(PROBLEMS_LISTED as u64).await? {
        note(orphan_status(&slug, line).to_string());
    }
    let (tail, origins) = reader.tail();
    for p in bulk.add(&tail).await? {
        note(origins.locate(&p).to_string());
    }
    for p in reader.take_problems() {
        note(p.to_string());
    }
    progress.finish();
    if !problems.is_empty() {
        bulk.rollback().await?;
        return report(dir, problems, more);
    }
    let summary = if dry_run { bulk.rollback().await? } else { bulk.commit("cli", &label_of(dir)).await? };
    print_summary(dir, dry_run, &summary);
    Ok(())
}

/// Records in a CSV file (0 when it cannot be read): the progress bar's length.
fn count_rows(path: &std::path::Path) -> usize {
    csv::Reader::from_path(path).map_or(0, |mut r| {
        let mut record = csv::ByteRecord::new();
        let mut n = 0;
        while r.read_byte_record(&mut record).unwrap_or(false) {
            n += 1;
        }
        n
    })
}

/// Writes (or with `dry_run`, checks) `data` read from `path` in one batch, with progress on
/// standard error and every problem reported.
async fn import(db: &Db, path: &std::path::Path, data: &DataSet, dry_run: bool) -> anyhow::Result<()> {
    let progress = std::sync::Arc::new(CliProgress::new());
    let db = db.with_progress(progress.clone());
    let result = if dry_run { db.check_import(data).await } else { db.import_as("cli", &label_of(path), data).await };
    progress.finish();
    match result {
        Ok(summary) => {
            print_summary(path, dry_run, &summary);
            Ok(())
        }
        Err(ImportError::Invalid(problems)) => report(path, problems.iter().map(ToString::to_string).collect(), 0),
        Err(err) => bail!("{}: {err}", path.display()),
    }
}

/// The name an import is audited under: the file or directory name.
fn label_of(path: &std::path::Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn print_summary(path: &std::path::Path, dry_run: bool, s: &ImportSummary) {
    let verb = if dry_run { "checked (nothing written)" } else { "imported" };
    println!("{verb} {}: {} inserted, {} updated, {} unchanged", path.display(), s.inserted, s.updated, s.unchanged);
}

/// Prints every problem to standard error (and how many more were not listed) and fails.
fn report<T>(path: &std::path::Path, lines: Vec<String>, more: usize) -> anyhow::Result<T> {
    for line in &lines {
        eprintln!("{line}");
    }
    if more > 0 {
        eprintln!("… and {more} more");
    }
    bail!("{}: {} problem(s), nothing written", path.display(), lines.len() + more)
}

async fn export(db: &Db, format: &str, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    let data = db.export().await.context("cannot read the database")?;
    match (format, out) {
        ("csv", Some(dir)) => {
            let files = crate::csvset::write_dir(&data, dir).map_err(|e| anyhow::anyhow!(e))?;
            eprintln!("wrote {} files to {}", files.len(), dir.display());
        }
        ("csv", None) => bail!("--format csv writes several files: give --out DIR"),
        (_, Some(dir)) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let file = dir.join("pledgewatch.json");
            std::fs::write(&file, serde_json::to_vec_pretty(&data)?)
                .with_context(|| format!("cannot write {}", file.display()))?;
            eprintln!("wrote {}", file.display());
        }
        (_, None) => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut stdout, &data)?;
            writeln!(stdout)?;
        }
    }
    Ok(())
}

async fn token(db: &Db, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, role } => {
            let role = Role::parse("role", &role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let secret = db.create_token("cli", &name, role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("token {name} ({role}) created; it is shown once, keep it safe:\n{secret}");
        }
        TokenCommand::List => {
            for t in db.tokens().await? {
                let state = t.revoked_at.map_or("active".to_owned(), |at| format!("revoked {at}"));
                println!("{}\t{}\tcreated {}\t{state}", t.name, t.role, t.created_at);
            }
        }
        TokenCommand::Revoke { name } => {
            db.revoke_token("cli", &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("token {name} revoked");
        }
    }
    Ok(())
}

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            db.open().await?;
            println!("database migrated: {}", redact(&db.database_url));
            Ok(())
        }
        Command::Import { db, path, dry_run } => import_path(&db.open().await?, &path, dry_run).await,
        Command::Export { db, format, out } => export(&db.open().await?, &format, out.as_deref()).await,
        Command::ImportRates { db, path, sources, currencies, from, to } => {
            let file = std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let selection = EcbSelection { currencies, from, to };
            let rates = read_history(std::io::BufReader::new(file), &selection, &sources)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let data = DataSet { format: FORMAT.to_owned(), exchange_rates: rates, ..DataSet::default() };
            import(&db.open().await?, &path, &data, false).await
        }
        Command::Token { db, command } => token(&db.open().await?, command).await,
        Command::RebuildTotals(db) => {
            db.open().await?.rebuild_totals().await.context("cannot rebuild the counted amounts")?;
            println!("counted amounts rebuilt: {}", redact(&db.database_url));
            Ok(())
        }
        Command::ExportSchema { out } => {
            let schema = sdl();
            match out {
                Some(path) => std::fs::write(&path, schema).with_context(|| format!("cannot write {}", path.display())),
                None => {
                    print!("{schema}");
                    Ok(())
                }
            }
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let db = args.db.open().await?;
    // Live updates from every replica (PostgreSQL); SQLite needs no listener.
    db.start_listening();
    if !args.no_reference_data
        && let Some(s) = load_reference_if_empty(&db).await?
    {
        tracing::info!(inserted = s.inserted, "loaded the reference data into the empty database");
    }
    let limits = ApiLimits {
        default_page_size: args.default_page_size,
        max_page_size: args.max_page_size,
        max_depth: args.max_query_depth,
        max_complexity: args.max_query_complexity,
        introspection: !args.no_introspection,
    };
    if limits.default_page_size > limits.max_page_size {
        bail!("--default-page-size ({}) is above --max-page-size ({})", limits.default_page_size, limits.max_page_size);
    }
    let http_limits = HttpLimits {
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.request_timeout_secs),
        rate_limit: (args.rate_limit_per_second > 0).then(|| RateLimit {
            period: Duration::from_secs(1) / args.rate_limit_per_second,
            burst: args.rate_limit_burst,
        }),
        cors_origins: args.cors_origins.clone(),
        public_reads: !args.private_reads,
        response_cache_entries: args.response_cache_entries,
    };
    let state = AppState::new(build_schema(Some(db.clone()), limits), db, http_limits);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr().context("cannot read the listening address")?;
    tracing::info!(%address, database = %redact(&args.db.database_url), "pledgewatch listening");
    println!("pledgewatch is serving the dashboard at http://{address}/ and GraphiQL at http://{address}/graphql");
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://pw:secret@localhost/db"), "postgres://pw:***@localhost/db");
        assert_eq!(redact("sqlite://pledgewatch.db?mode=rwc"), "sqlite://pledgewatch.db?mode=rwc");
    }
}
