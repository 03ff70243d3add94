//! A bulk import: one write transaction fed batch after batch, so that a million
//! commitments go in without sitting in memory together. Status rows, which live in their
//! own file in any order, wait in a temporary table until their commitment's batch.

use std::collections::HashMap;

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbErr, FromQueryResult, Statement,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

use super::{
    Db, StorageError,
    import::{Batches, ImportSummary},
};
use crate::domain::records::{DataSet, Problem, StatusRecord};

/// The temporary table of waiting status rows (dropped at the end of the import).
const STASH: &str = "pw_import_statuses";

/// Status rows per insert into the stash: 3 parameters each.
const STASH_ROWS_PER_INSERT: usize = 1_000;

/// A bulk import under way. Nothing is visible to others until [`BulkImport::commit`];
/// dropping it (or [`BulkImport::rollback`]) writes nothing.
pub struct BulkImport<'a> {
    db: &'a Db,
    txn: DatabaseTransaction,
    batches: Batches,
    stash: bool,
}

#[derive(Debug, FromQueryResult)]
struct Stashed {
    slug: String,
    line: i64,
    record: String,
}

impl Db {
    /// Starts a bulk import in one write transaction.
    pub async fn begin_bulk(&self) -> Result<BulkImport<'_>, StorageError> {
        let txn = self.begin_write().await?;
        super::import::plan_each_statement(&txn).await?;
        Ok(BulkImport { db: self, txn, batches: Batches::default(), stash: false })
    }
}

impl BulkImport<'_> {
    /// Validates and writes one batch (a data set holding any part of the import, in the
    /// order sources, actors, events, commitments, the rest); returns its problems, with
    /// indices within the batch.
    pub async fn add(&mut self, data: &DataSet) -> Result<Vec<Problem>, StorageError> {
        Ok(self.db.import_batch(&self.txn, &mut self.batches, data).await?)
    }

    async fn execute(&self, sql: String) -> Result<(), DbErr> {
        self.txn.execute_raw(Statement::from_string(self.txn.get_database_backend(), sql)).await.map(|_| ())
    }

    /// Keeps status rows (commitment slug, line, record) until their commitment's batch.
    pub async fn stash_statuses(&mut self, rows: &[(String, u64, StatusRecord)]) -> Result<(), StorageError> {
        if !self.stash {
            // PostgreSQL drops it with the transaction; SQLite keeps temporary tables per
            // connection, so it is dropped before the commit (and any leftover first).
            let on_commit = match self.txn.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => " ON COMMIT DROP",
                _ => "",
            };
            self.execute(format!("DROP TABLE IF EXISTS {STASH}")).await?;
            self.execute(format!(
                "CREATE TEMPORARY TABLE {STASH} (slug TEXT NOT NULL, line BIGINT NOT NULL, record TEXT NOT NULL){on_commit}"
            ))
            .await?;
            self.execute(format!("CREATE INDEX {STASH}_slug ON {STASH} (slug)")).await?;
            self.stash = true;
        }
        for chunk in rows.chunks(STASH_ROWS_PER_INSERT) {
            let mut insert = Query::insert();
            insert.into_table(Alias::new(STASH)).columns([
                Alias::new("slug"),
                Alias::new("line"),
                Alias::new("record"),
            ]);
            for (slug, line, record) in chunk {
                let json = serde_json::to_string(record).map_err(|e| DbErr::Custom(e.to_string()))?;
                insert.values_panic([slug.clone().into(), (*line as i64).into(), json.into()]);
            }
            self.txn.execute(&insert).await?;
        }
        Ok(())
    }

    /// Takes the stashed status rows of these commitments, in file order.
    pub async fn take_statuses(
        &mut self,
        slugs: &[String],
    ) -> Result<HashMap<String, Vec<(u64, StatusRecord)>>, StorageError> {
        let mut out: HashMap<String, Vec<(u64, StatusRecord)>> = HashMap::new();
        if !self.stash {
            return Ok(out);
        }
        let backend = self.txn.get_database_backend();
        for chunk in slugs.chunks(500) {
            let list = || Expr::col(Alias::new("slug")).is_in(chunk.iter().cloned());
            let mut select = Query::select();
            select
                .columns([Alias::new("slug"), Alias::new("line"), Alias::new("record")])
                .from(Alias::new(STASH))
                .and_where(list())
                .order_by(Alias::new("line"), sea_orm::Order::Asc);
            for row in Stashed::find_by_statement(backend.build(&select)).all(&self.txn).await? {
                let record: StatusRecord =
                    serde_json::from_str(&row.record).map_err(|e| DbErr::Custom(e.to_string()))?;
                out.entry(row.slug).or_default().push((row.line as u64, record));
            }
            let mut delete = Query::delete();
            delete.from_table(Alias::new(STASH)).and_where(list());
            self.txn.execute(&delete).await?;
        }
        Ok(out)
    }

    /// Up to `max` stashed status rows no batch took (their commitment is not in the
    /// import): slug and line.
    pub async fn unclaimed_statuses(&mut self, max: u64) -> Result<Vec<(String, u64)>, StorageError> {
        if !self.stash {
            return Ok(Vec::new());
        }
        let mut select = Query::select();
        select
            .columns([Alias::new("slug"), Alias::new("line"), Alias::new("record")])
            .from(Alias::new(STASH))
            .order_by(Alias::new("line"), sea_orm::Order::Asc)
            .limit(max);
        let rows = Stashed::find_by_statement(self.txn.get_database_backend().build(&select)).all(&self.txn).await?;
        Ok(rows.into_iter().map(|r| (r.slug, r.line as u64)).collect())
    }

    /// Rebuilds the totals, audits the import as `who` (named `label`), commits, and tells
    /// subscribers. Call it only when no batch reported a problem.
    pub async fn commit(self, who: &str, label: &str) -> Result<ImportSummary, StorageError> {
        if self.stash {
            self.execute(format!("DROP TABLE IF EXISTS {STASH}")).await?;
        }
        let (summary, pending) = self.db.finish_import(&self.txn, self.batches).await?;
        if summary.changed() > 0 {
            super::import::audit_import(&self.txn, who, label, &summary).await?;
        }
        self.txn.commit().await?;
        self.db.published(pending);
        self.db.settle_after(&summary).await;
        Ok(summary)
    }

    /// Writes nothing; returns what the import would have done.
    pub async fn rollback(self) -> Result<ImportSummary, StorageError> {
        let summary = self.batches.summary().clone();
        self.txn.rollback().await?;
        Ok(summary)
    }
}
