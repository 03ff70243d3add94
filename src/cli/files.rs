//! `import` and `export`: files and directories in, with a progress bar and every problem
//! named by file, row and column; the data set out.

use anyhow::{Context, bail};

use crate::{
    domain::records::DataSet,
    storage::{
        Db,
        import::{ImportError, ImportSummary},
    },
};

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
pub(super) async fn import_path(db: &Db, path: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
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
pub(super) async fn import(db: &Db, path: &std::path::Path, data: &DataSet, dry_run: bool) -> anyhow::Result<()> {
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

pub(super) async fn export(db: &Db, format: &str, out: Option<&std::path::Path>) -> anyhow::Result<()> {
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
