//! The `pledgewatch` binary: parse the command line, set up logs, run.

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = pledgewatch::cli::parse()?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.json().flatten_event(true).with_current_span(false).init();
    } else {
        logs.init();
    }
    pledgewatch::cli::run(cli).await
}
