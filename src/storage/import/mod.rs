//! Imports a [`DataSet`] in one transaction: every record validated first (all problems
//! reported, not just the first), then upserted by its natural key, so that importing the
//! same file again changes nothing.

mod actors;
mod claims;
mod coalitions;
mod commitments;
mod context;
mod events;
mod new_rows;
mod overlaps;
mod rate_history;
mod rates;
mod sources;
mod statuses;

use sea_orm::{DatabaseTransaction, DbErr};

use self::context::{Ctx, Touched};
pub use self::{
    context::ImportSummary,
    rate_history::{ChangedRate, RateHistorySummary},
};
use super::{
    Db, StorageError,
    changes::{Change, announce},
};
use crate::domain::{
    FieldError,
    records::{DataSet, FORMAT, Problem},
};

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Records break rules; nothing was written.
    #[error("{} invalid record(s), nothing written:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    /// The database failed; nothing was written.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<DbErr> for ImportError {
    fn from(err: DbErr) -> Self {
        Self::Storage(StorageError::from(err))
    }
}

/// An import under way in the caller's transaction, fed one batch of records at a time (a
/// bulk import streams its files in batches; a single data set is one batch). Totals are
/// rebuilt once, by [`Db::finish_import`].
#[derive(Debug, Default)]
pub(crate) struct Batches {
    summary: ImportSummary,
    touched: Touched,
}

impl Batches {
    /// What the batches so far did.
    pub(crate) fn summary(&self) -> &ImportSummary {
        &self.summary
    }
}

/// Records an import must write for [`Db::settle_after`] to vacuum afterwards.
pub const SETTLE_AFTER_CHANGES: usize = 10_000;

/// The tables a large import grows that totals, pages and search read (not the history
/// tables, read only by `knownAt` answers: autovacuum takes them in its own time).
const SETTLE: &str =
    "VACUUM (ANALYZE) counted_amounts, counted_sums, commitments, source_links, status_history, actors, \"overlaps\"";

impl Db {
    /// Validates and writes `data` in one transaction; nothing is written when any record
    /// is invalid or references something that does not exist. Audited as `import`, named
    /// by the data set's description.
    pub async fn import(&self, data: &DataSet) -> Result<ImportSummary, ImportError> {
        self.import_as("import", data.description.as_deref().unwrap_or("data set"), data).await
    }

    /// [`Db::import`] on behalf of `who`: an import that changed something leaves an audit
    /// row (action IMPORT) with its counts, in the same transaction.
    pub async fn import_as(&self, who: &str, label: &str, data: &DataSet) -> Result<ImportSummary, ImportError> {
        let txn = self.begin_write().await?;
        plan_each_statement(&txn).await?;
        let (summary, pending) = self.import_in(&txn, data).await?;
        if summary.changed() > 0 {
            audit_import(&txn, who, label, &summary).await?;
        }
        txn.commit().await?;
        self.published(pending);
        self.settle_after(&summary).await;
        Ok(summary)
    }

    /// After a large import on PostgreSQL, vacuums and analyzes the tables totals and pages
    /// read, so that the import hands over a database in its steady state: every row's
    /// visibility settled and statistics current. Otherwise autovacuum comes by some
    /// seconds later on the same cores, and the first totals after a million-row import
    /// took up to 1.9 s against 0.4 s once it had passed. VACUUM runs outside the
    /// transaction, after the commit; a small import (the reference data) skips it. The
    /// import is written whatever happens here: a failure is logged, not returned.
    pub(crate) async fn settle_after(&self, summary: &ImportSummary) {
        use sea_orm::ConnectionTrait;
        if self.conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres
            && summary.changed() >= SETTLE_AFTER_CHANGES
        {
            let started = std::time::Instant::now();
            match self.conn.execute_unprepared(SETTLE).await {
                Ok(_) => tracing::info!(seconds = started.elapsed().as_secs_f64(), "vacuumed after the import"),
                Err(error) => tracing::warn!(%error, "the import is written; vacuuming after it failed"),
            }
        }
    }

    /// Validates `data` against the rules and the database as an import would, then rolls
    /// everything back: what it would do, and nothing written.
    pub async fn check_import(&self, data: &DataSet) -> Result<ImportSummary, ImportError> {
        let txn = self.begin_write().await?;
        plan_each_statement(&txn).await?;
        let (summary, _) = self.import_in(&txn, data).await?;
        txn.rollback().await?;
        Ok(summary)
    }

    /// [`Db::import`] inside the caller's transaction: on error the caller drops (rolls
    /// back) the transaction; on success it commits it, with whatever else it wrote.
    pub(crate) async fn import_in(
        &self,
        txn: &DatabaseTransaction,
        data: &DataSet,
    ) -> Result<(ImportSummary, Option<Change>), ImportError> {
        let mut batches = Batches::default();
        let problems = self.import_batch(txn, &mut batches, data).await?;
        if !problems.is_empty() {
            return Err(ImportError::Invalid(problems));
        }
        Ok(self.finish_import(txn, batches).await?)
    }

    /// Rebuilds the totals for everything the batches changed and marks the write, in the
    /// same transaction, so no reader ever sees new rows with old totals. Call it only
    /// when no batch reported a problem.
    pub(crate) async fn finish_import(
        &self,
        txn: &DatabaseTransaction,
        batches: Batches,
    ) -> Result<(ImportSummary, Option<Change>), DbErr> {
        let Batches { summary, touched } = batches;
        let mut pending = None;
        if summary.changed() > 0 {
            // A bulk import lists no ids: subscribers are told to resync instead.
            let mut commitments: Vec<i64> = touched.commitments.iter().copied().collect();
            commitments.sort_unstable();
            let resync = touched.all;
            let totals = !touched.is_empty();
            touched.rebuild(txn).await?;
            super::counting::bump_data_version(txn).await?;
            let version = super::counting::data_version(txn).await?;
            pending = announce(txn, Change { version, commitments, totals, resync, ..Change::default() }).await?;
        }
        Ok((summary, pending))
    }

    /// Validates and writes one batch of an import; returns its problems (indices within
    /// this batch). Rows are written even when others fail, so that every problem of the
    /// batch is found; the caller rolls back when any batch had one.
    pub(crate) async fn import_batch(
        &self,
        txn: &DatabaseTransaction,
        batches: &mut Batches,
        data: &DataSet,
    ) -> Result<Vec<Problem>, DbErr> {
        let mut problems = Vec::new();
        if data.format != FORMAT {
            let error = FieldError::new("format", format!("expected {FORMAT:?}"));
            problems.push(Problem::new("format", 0, &data.format, error));
        }
        macro_rules! check {
            ($collection:ident, $r:ident => $key:expr) => {
                data.$collection
                    .iter()
                    .enumerate()
                    .filter_map(|(index, record)| match record.validate() {
                        Ok(valid) => Some((index, valid)),
                        Err(error) => {
                            let $r = record;
                            problems.push(Problem::new(stringify!($collection), index, &$key, error));
                            None
                        }
                    })
                    .collect::<Vec<_>>()
            };
        }
        let sources = check!(sources, r => r.slug);
        let actors = check!(actors, r => r.slug);
        let events = check!(events, r => r.slug);
        let commitments = check!(commitments, r => r.slug);
        let targets = check!(fundraising_targets, r => r.actor);
        let overlaps = check!(overlaps, r => overlap_key(&r.later, r.earlier.as_deref()));
        let coalitions = check!(coalitions, r => r.slug);
        let signatures = check!(signatures, r => format!("{} / {}", r.coalition, r.actor));
        let reported = check!(reported_counts, r => format!("{} / {}", r.coalition, r.wording));
        let claims = check!(claims, r => r.slug);
        let rates = check!(exchange_rates, r => format!("{} {}/{}", r.date, r.base, r.quote));
        if !problems.is_empty() {
            return Ok(problems);
        }
        // In this order: each step resolves the slugs of the steps before it.
        let Batches { summary, touched } = batches;
        let mut cx = Ctx::new(txn, &self.progress, summary, touched, problems);
        sources::import(&mut cx, data, &sources).await?;
        actors::import(&mut cx, data, &actors).await?;
        events::import(&mut cx, data, &events).await?;
        commitments::import(&mut cx, data, commitments).await?;
        actors::targets(&mut cx, &targets).await?;
        overlaps::import(&mut cx, &overlaps).await?;
        coalitions::import(&mut cx, data, &coalitions).await?;
        coalitions::signatures(&mut cx, &signatures).await?;
        coalitions::reported_counts(&mut cx, &reported).await?;
        claims::import(&mut cx, &claims).await?;
        claims::check(&mut cx, data).await?;
        rates::import(&mut cx, &rates).await?;
        Ok(cx.problems)
    }
}

/// How an overlap is named in a problem: `later > earlier`, or `later > (unrecorded)`.
pub(crate) fn overlap_key(later: &str, earlier: Option<&str>) -> String {
    format!("{later} > {}", earlier.unwrap_or("(unrecorded)"))
}

/// The audit row of a bulk import: who, what it was called, and what it changed.
pub(crate) async fn audit_import(
    txn: &DatabaseTransaction,
    who: &str,
    label: &str,
    summary: &ImportSummary,
) -> Result<(), DbErr> {
    let after = serde_json::json!({
        "inserted": summary.inserted,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
    });
    super::audit::audit(
        txn,
        who,
        super::audit::Action::Import,
        (super::audit::Subject::Import, None, label),
        None,
        Some(after.to_string()),
    )
    .await
}

/// Makes PostgreSQL plan every statement of this transaction for the tables as they are
/// now. A large import grows tables from nothing inside one transaction; the prepared
/// lookups' cached generic plans, made while the tables were empty, scan them whole (a
/// 500-slug lookup took 1.5 s at 200 000 commitments).
pub(crate) async fn plan_each_statement(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan").await?;
    }
    Ok(())
}
