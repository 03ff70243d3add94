//! New rows waiting for their multi-row insert (commitments with their statuses, and the
//! rows of other tables): a bulk import writes a few statements per 500 rows instead of
//! several per row.

use std::collections::{HashMap, HashSet};

use entity::{commitment, source_link, status_history};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryTrait, sea_query::Query};

use super::{
    context::{Ctx, Outcome, Stored, link_rows},
    statuses::{Sourced, status_row},
};
use crate::storage::read::Linked;

/// New commitments per multi-row insert: 26 columns × 500 rows stays far below the bound
/// parameter limits of SQLite (32 766) and PostgreSQL (65 535).
pub(super) const NEW_ROWS_PER_INSERT: usize = 500;

/// A commitment row with what links to it.
pub(super) struct NewCommitment {
    pub model: commitment::Model,
    pub sources: Vec<i64>,
    pub retraction_sources: Vec<i64>,
    pub statuses: Vec<Sourced>,
}

/// The rows waiting, and their slugs (a part waits for its parent's insert).
#[derive(Default)]
pub(super) struct NewCommitments {
    pub rows: Vec<NewCommitment>,
    pub slugs: HashSet<String>,
}

impl NewCommitments {
    pub fn push(&mut self, row: NewCommitment) {
        self.slugs.insert(row.model.slug.clone());
        self.rows.push(row);
    }

    /// Inserts the waiting rows, their source links and status histories; records their
    /// ids and counts them as inserted.
    pub async fn flush(&mut self, cx: &mut Ctx<'_>) -> Result<(), DbErr> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        self.slugs.clear();
        let models = rows.iter().map(|r| {
            let mut active = commitment::ActiveModel::from(r.model.clone()).reset_all();
            active.not_set(commitment::Column::Id);
            active
        });
        // Only the ids come back (with the slugs that tell them apart), not whole rows.
        let mut insert = commitment::Entity::insert_many(models).into_query();
        insert.returning(Query::returning().columns([commitment::Column::Id, commitment::Column::Slug]));
        let inserted = cx.txn.query_all(&insert).await?;
        let mut by_slug: HashMap<String, i64> = HashMap::with_capacity(inserted.len());
        for row in inserted {
            by_slug.insert(row.try_get_by_index(1)?, row.try_get_by_index(0)?);
        }
        let mut links = Vec::new();
        let mut statuses = Vec::new();
        let mut status_sources = Vec::new();
        for row in rows {
            let id = *by_slug.get(&row.model.slug).ok_or_else(|| {
                DbErr::Custom(format!("commitment {:?} was not returned by its insert", row.model.slug))
            })?;
            cx.ids.commitments.map.insert(row.model.slug.clone(), id);
            cx.summary.count(Outcome::Inserted);
            cx.touched.commitment(id);
            links.extend(link_rows(Linked::Commitment, id, &row.sources));
            links.extend(link_rows(Linked::Retraction, id, &row.retraction_sources));
            for (status, sources) in row.statuses {
                statuses.push((id, status_row(id, status, row.model.created_at)));
                status_sources.push(sources);
            }
        }
        let mut sources = status_sources.into_iter();
        for chunk in statuses.chunks(NEW_ROWS_PER_INSERT) {
            let expected: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
            let mut insert = status_history::Entity::insert_many(chunk.iter().map(|(_, row)| row.clone())).into_query();
            insert.returning(
                Query::returning().columns([status_history::Column::Id, status_history::Column::CommitmentId]),
            );
            let inserted = cx.txn.query_all(&insert).await?;
            let mut returned = Vec::with_capacity(inserted.len());
            for row in inserted {
                returned.push((row.try_get_by_index::<i64>(0)?, row.try_get_by_index::<i64>(1)?));
            }
            // Rows come back in the order of the VALUES list on both databases; checked,
            // since the status sources are matched by position.
            if returned.iter().map(|(_, commitment)| *commitment).ne(expected.iter().copied()) {
                return Err(DbErr::Custom("status rows came back out of order".into()));
            }
            for (status, _) in returned {
                links.extend(link_rows(Linked::Status, status, &sources.next().unwrap_or_default()));
            }
        }
        for chunk in links.chunks(NEW_ROWS_PER_INSERT * 4) {
            source_link::Entity::insert_many(chunk.iter().cloned()).exec_without_returning(cx.txn).await?;
        }
        Ok(())
    }
}

/// New rows of one table waiting for their multi-row insert ([`NEW_ROWS_PER_INSERT`] at a
/// time, with their source links: a few statements per batch instead of several per row),
/// and the keys the import has given so far. A key given again must find what the first
/// wrote, so the rows waiting go in before it is looked up.
pub(super) struct Pending<M, K> {
    kind: Linked,
    /// A row's natural key: it tells the rows of a batch apart, so each gets its own
    /// sources whatever order the database returns them in.
    key: fn(&M) -> K,
    /// What the caller records of each row once it is inserted (its id, what it touches).
    inserted: fn(&mut Ctx<'_>, &M),
    rows: Vec<(M, Vec<i64>)>,
    seen: HashSet<K>,
}

impl<M, K> Pending<M, K>
where
    M: Stored + IntoActiveModel<M::Active>,
    K: std::hash::Hash + Eq,
{
    pub fn new(kind: Linked, key: fn(&M) -> K, inserted: fn(&mut Ctx<'_>, &M)) -> Self {
        Self { kind, key, inserted, rows: Vec::new(), seen: HashSet::new() }
    }

    /// Whether the import gave `fresh`'s key before; if so, the rows waiting are inserted
    /// now, so that the caller finds the earlier row in the database.
    pub async fn repeats(&mut self, cx: &mut Ctx<'_>, fresh: &M) -> Result<bool, DbErr> {
        let repeated = !self.seen.insert((self.key)(fresh));
        if repeated {
            self.flush(cx).await?;
        }
        Ok(repeated)
    }

    /// Adds a new row with its sources; a full batch is inserted.
    pub async fn push(&mut self, cx: &mut Ctx<'_>, row: M, sources: Vec<i64>) -> Result<(), DbErr> {
        self.rows.push((row, sources));
        if self.rows.len() >= NEW_ROWS_PER_INSERT {
            self.flush(cx).await?;
        }
        Ok(())
    }

    /// Inserts the rows waiting with their source links, and counts them as inserted.
    pub async fn flush(&mut self, cx: &mut Ctx<'_>) -> Result<(), DbErr> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let models = rows.iter().map(|(model, _)| {
            let mut active = M::Active::from(model.clone()).reset_all();
            active.not_set(M::id_column());
            active
        });
        let inserted = M::Entity::insert_many(models).exec_with_returning(cx.txn).await?;
        let mut sources: HashMap<K, &Vec<i64>> = rows.iter().map(|(m, s)| ((self.key)(m), s)).collect();
        let mut links = Vec::new();
        for row in &inserted {
            let wanted = sources.remove(&(self.key)(row)).ok_or_else(|| {
                DbErr::Custom(format!("a {} row came back from its insert unasked", self.kind.as_str()))
            })?;
            links.extend(link_rows(self.kind, row.id(), wanted));
        }
        if !sources.is_empty() {
            let missing = sources.len();
            return Err(DbErr::Custom(format!(
                "{missing} {} rows were not returned by their insert",
                self.kind.as_str()
            )));
        }
        for links in links.chunks(NEW_ROWS_PER_INSERT * 4) {
            source_link::Entity::insert_many(links.iter().cloned()).exec_without_returning(cx.txn).await?;
        }
        for row in &inserted {
            cx.summary.count(Outcome::Inserted);
            (self.inserted)(cx, row);
        }
        Ok(())
    }
}
