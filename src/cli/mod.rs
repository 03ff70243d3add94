//! The command line: `serve`, `migrate`, `import`, `export-schema`. Startup errors are
//! `anyhow` with context; nothing below this module uses it.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};

mod args;
mod files;

pub use self::args::*;
use self::files::{export, import_path};

use crate::{
    auth::Role,
    ecb::{EcbSelection, read_history},
    graphql::{ApiLimits, build_schema, sdl},
    http::{AppState, HttpLimits, RateLimit, router},
    reference::{ECB_HISTORY_CSV, ECB_HISTORY_SOURCE, reference_data},
    storage::{
        Db,
        import::{ImportSummary, RateHistorySummary},
    },
};

/// Loads the shipped reference data and the whole ECB history when the database holds no
/// actors yet (what `serve` does, except that `serve` loads the history once it listens).
pub async fn load_reference_if_empty(db: &Db) -> anyhow::Result<Option<ImportSummary>> {
    load_reference_with(db, &EcbSelection::default()).await
}

/// [`load_reference_if_empty`] with only part of the ECB history (tests load the currencies
/// and years the reference data needs; a fresh install loads it all).
pub async fn load_reference_with(db: &Db, ecb: &EcbSelection) -> anyhow::Result<Option<ImportSummary>> {
    let Some(mut summary) = load_reference_data(db).await? else { return Ok(None) };
    let history = load_ecb_history(db, ecb).await?;
    summary.inserted += history.inserted;
    summary.unchanged += history.unchanged;
    Ok(Some(summary))
}

/// Loads the shipped reference data (without the ECB history) into a database without actors.
pub async fn load_reference_data(db: &Db) -> anyhow::Result<Option<ImportSummary>> {
    if db.actors_count(&Default::default()).await? > 0 {
        return Ok(None);
    }
    let data = reference_data().context("the shipped reference data does not parse")?;
    Ok(Some(db.import_as("reference", "reference.json", &data).await.context("cannot load the reference data")?))
}

/// Loads (the selected part of) the shipped ECB history: rates already stored are left alone.
pub async fn load_ecb_history(db: &Db, ecb: &EcbSelection) -> anyhow::Result<RateHistorySummary> {
    let started = std::time::Instant::now();
    let rates = read_history(ECB_HISTORY_CSV.as_bytes(), ecb, &[ECB_HISTORY_SOURCE.to_owned()])
        .map_err(|e| anyhow::anyhow!("the shipped ECB history does not parse: {e}"))?;
    let history = db
        .import_rate_history("reference", "eurofxref-hist.csv", &rates)
        .await
        .context("cannot load the ECB rate history")?;
    tracing::info!(
        rates = history.inserted,
        already = history.unchanged,
        ms = started.elapsed().as_millis() as u64,
        "ECB rate history loaded"
    );
    Ok(history)
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

async fn token(db: &Db, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, role } => {
            let role = Role::from(role);
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
        Command::Import { db, path, dry_run } => {
            // A dry run writes nothing, not even a new database.
            let db = if dry_run { db.open_existing().await? } else { db.open().await? };
            import_path(&db, &path, dry_run).await
        }
        Command::Export { db, format, out } => export(&db.open_existing().await?, &format, out.as_deref()).await,
        Command::ImportRates { db, path, sources, currencies, from, to } => {
            let file = std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let selection = EcbSelection { currencies, from, to };
            let rates = read_history(std::io::BufReader::new(file), &selection, &sources)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let label =
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
            let summary = db.open_existing().await?.import_rate_history("import-rates", &label, &rates).await?;
            println!(
                "imported {}: {} rates inserted, {} already stored",
                path.display(),
                summary.inserted,
                summary.unchanged
            );
            // A published rate that differs from a stored one is reported, never applied in silence.
            for c in &summary.changed {
                println!("  kept {} {} = {} (the file gives {})", c.date, c.quote, c.stored, c.published);
            }
            if !summary.changed.is_empty() {
                println!(
                    "{} stored rate(s) differ from the file and were kept; correct them one by one with an import if the file is right",
                    summary.changed.len()
                );
            }
            Ok(())
        }
        Command::Token { db, command } => token(&db.open_existing().await?, command).await,
        Command::RebuildTotals(db) => {
            db.open_existing().await?.rebuild_totals().await.context("cannot rebuild the counted amounts")?;
            println!("counted amounts rebuilt: {}", redact(&db.database_url));
            Ok(())
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "pledgewatch", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout()).context("cannot write the man page")
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
    if !args.no_reference_data {
        if let Some(s) = load_reference_data(&db).await? {
            tracing::info!(inserted = s.inserted, "loaded the reference data into the empty database");
        }
        // The ECB's whole history (~200,000 rates, about 3 s) loads once the server listens,
        // so a first start is as quick as before: until it commits, totals use the rates of
        // the reference data. An interrupted load resumes at the next start.
        if !args.no_rate_history
            && !db.has_rates_before(chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date")).await?
        {
            let db = db.clone();
            tokio::spawn(async move {
                if let Err(err) = load_ecb_history(&db, &EcbSelection::default()).await {
                    tracing::error!(error = %format!("{err:#}"), "the ECB rate history did not load");
                }
            });
        }
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

    #[test]
    fn the_commands_that_create_a_database_create_a_sqlite_file_given_without_a_mode() {
        use super::args::creating;
        assert_eq!(creating("sqlite:///srv/pw.db"), "sqlite:///srv/pw.db?mode=rwc");
        assert_eq!(creating("sqlite://pw.db?cache=shared"), "sqlite://pw.db?cache=shared&mode=rwc");
        assert_eq!(creating("sqlite://pw.db?mode=ro"), "sqlite://pw.db?mode=ro");
        assert_eq!(creating("postgres://u@h/db"), "postgres://u@h/db");
    }
}
