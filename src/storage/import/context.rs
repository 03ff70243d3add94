//! What every collection's import shares: the transaction and clock, slug → id maps, what
//! changed (for the totals), the counts, the problems found; and the one upsert of a row
//! with its source links.

use std::collections::{HashMap, HashSet};

use entity::{
    actor, claim, coalition, commitment, event, exchange_rate, fundraising_target, overlap, reported_count, signature,
    source, source_link,
};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, prelude::DateTimeUtc,
};

use crate::{
    domain::{FieldError, money::MinorRange, records::Problem},
    storage::{Progress, read::Linked},
};

/// One import batch under way: each collection's function reads and extends it.
pub(super) struct Ctx<'a> {
    pub txn: &'a DatabaseTransaction,
    pub now: DateTimeUtc,
    progress: &'a Progress,
    pub summary: &'a mut ImportSummary,
    pub touched: &'a mut Touched,
    pub problems: Vec<Problem>,
    /// Slug → id of the rows written or referenced so far, per table.
    pub ids: IdMaps,
}

/// Slug → id maps, each filled by its collection's step (earlier steps' maps are ready
/// for later ones: sources, actors, events, commitments, coalitions).
#[derive(Default)]
pub(super) struct IdMaps {
    pub sources: Ids,
    pub actors: Ids,
    pub events: Ids,
    pub commitments: Ids,
    pub coalitions: Ids,
}

impl<'a> Ctx<'a> {
    pub fn new(
        txn: &'a DatabaseTransaction,
        progress: &'a Progress,
        summary: &'a mut ImportSummary,
        touched: &'a mut Touched,
        problems: Vec<Problem>,
    ) -> Self {
        Self { txn, now: chrono::Utc::now(), progress, summary, touched, problems, ids: IdMaps::default() }
    }

    /// Reports a bad record; the import will roll back.
    pub fn fail(&mut self, collection: &'static str, index: usize, key: &str, error: FieldError) {
        self.problems.push(Problem { collection, index, key: key.to_owned(), error });
    }

    /// The ids of a record's sources. A bad one is reported (the import rolls back), but the
    /// row is still written, so that records referring to it do not report it missing too.
    pub fn sources_or_report(
        &mut self,
        collection: &'static str,
        index: usize,
        key: &str,
        slugs: &[String],
    ) -> Vec<i64> {
        self.ids.sources.sources(slugs).unwrap_or_else(|e| {
            self.problems.push(Problem::new(collection, index, key, e));
            Vec::new()
        })
    }

    /// One record of `collection` (of `total`) is being written.
    pub fn tick(&self, collection: &'static str, total: usize) {
        self.progress.tick(collection, total);
    }

    /// Inserts `fresh` or updates `existing` to it (nothing when equal).
    pub async fn upsert<M>(&self, existing: Option<M>, fresh: M) -> Result<(i64, Outcome), DbErr>
    where
        M: Stored + IntoActiveModel<M::Active>,
    {
        upsert(self.txn, existing, fresh, self.now).await
    }

    /// Upserts a row, replaces its source links, counts what happened; returns the row's
    /// id and whether anything changed.
    pub async fn save<M>(
        &mut self,
        existing: Option<M>,
        fresh: M,
        kind: Linked,
        sources: &[i64],
    ) -> Result<(i64, bool), DbErr>
    where
        M: Stored + IntoActiveModel<M::Active>,
    {
        let old = existing.clone();
        let (id, mut outcome) = self.upsert(existing, fresh).await?;
        if link_sources(self.txn, kind, id, sources).await? && outcome == Outcome::Unchanged {
            outcome = Outcome::Updated;
            if let Some(old) = old {
                self.bump(old).await?;
            }
        }
        self.summary.count(outcome);
        Ok((id, outcome != Outcome::Unchanged))
    }

    /// Marks a change of what belongs to a stored row (its sources, its status history)
    /// on the row itself: a new version, so that `expectedVersion` sees it.
    pub async fn bump<M>(&self, old: M) -> Result<(), DbErr>
    where
        M: Stored + IntoActiveModel<M::Active>,
    {
        let mut fresh = old.clone();
        fresh.bump(&old, self.now);
        if fresh != old {
            M::Active::from(fresh).reset_all().update(self.txn).await?;
        }
        Ok(())
    }
}

/// A stored row that imports can upsert: how to carry its identity over from the row it
/// replaces, and how to mark a real change.
pub(super) trait Stored: Clone + PartialEq + Send + Sync + Sized + 'static {
    type Entity: EntityTrait<Model = Self>;
    type Active: ActiveModelTrait<Entity = Self::Entity> + ActiveModelBehavior + From<Self> + Send;
    fn id(&self) -> i64;
    fn id_column() -> <Self::Entity as EntityTrait>::Column;
    /// Copies id, version and timestamps from `old`, so that equal content compares equal.
    fn keep_identity(&mut self, old: &Self);
    /// Marks an update of `old` (version + 1, updated_at).
    fn bump(&mut self, _old: &Self, _now: DateTimeUtc) {}
}

macro_rules! stored {
    ($module:ident, versioned) => {
        impl Stored for $module::Model {
            type Entity = $module::Entity;
            type Active = $module::ActiveModel;
            fn id(&self) -> i64 {
                self.id
            }
            fn id_column() -> $module::Column {
                $module::Column::Id
            }
            fn keep_identity(&mut self, old: &Self) {
                self.id = old.id;
                self.version = old.version;
                self.created_at = old.created_at;
                self.updated_at = old.updated_at;
            }
            fn bump(&mut self, old: &Self, now: DateTimeUtc) {
                self.version = old.version + 1;
                self.updated_at = now;
            }
        }
    };
    ($module:ident) => {
        impl Stored for $module::Model {
            type Entity = $module::Entity;
            type Active = $module::ActiveModel;
            fn id(&self) -> i64 {
                self.id
            }
            fn id_column() -> $module::Column {
                $module::Column::Id
            }
            fn keep_identity(&mut self, old: &Self) {
                self.id = old.id;
            }
        }
    };
}

stored!(actor, versioned);
stored!(event, versioned);
stored!(commitment, versioned);
stored!(coalition, versioned);
stored!(signature, versioned);
stored!(overlap);
stored!(fundraising_target);
stored!(reported_count);
stored!(claim);
stored!(exchange_rate);

impl Stored for source::Model {
    type Entity = source::Entity;
    type Active = source::ActiveModel;
    fn id(&self) -> i64 {
        self.id
    }
    fn id_column() -> source::Column {
        source::Column::Id
    }
    fn keep_identity(&mut self, old: &Self) {
        self.id = old.id;
        self.version = old.version;
        self.created_at = old.created_at;
    }
    fn bump(&mut self, old: &Self, _now: DateTimeUtc) {
        self.version = old.version + 1;
    }
}

async fn upsert<M>(
    txn: &DatabaseTransaction,
    existing: Option<M>,
    mut fresh: M,
    now: DateTimeUtc,
) -> Result<(i64, Outcome), DbErr>
where
    M: Stored + IntoActiveModel<M::Active>,
{
    match existing {
        Some(old) => {
            fresh.keep_identity(&old);
            if fresh == old {
                return Ok((old.id(), Outcome::Unchanged));
            }
            fresh.bump(&old, now);
            let model = M::Active::from(fresh).reset_all().update(txn).await?;
            Ok((model.id(), Outcome::Updated))
        }
        None => {
            let mut active = M::Active::from(fresh).reset_all();
            active.not_set(M::id_column());
            let model = active.insert(txn).await?;
            Ok((model.id(), Outcome::Inserted))
        }
    }
}

/// The ids of the sources linked to one row, in order.
async fn linked_sources(txn: &DatabaseTransaction, kind: Linked, id: i64) -> Result<Vec<i64>, DbErr> {
    Ok(source_link::Entity::find()
        .filter(source_link::Column::EntityKind.eq(kind.as_str()))
        .filter(source_link::Column::EntityId.eq(id))
        .order_by_asc(source_link::Column::Position)
        .all(txn)
        .await?
        .into_iter()
        .map(|l| l.source_id)
        .collect())
}

/// Replaces the source links of one row when they differ; true when they did.
pub(super) async fn link_sources(
    txn: &DatabaseTransaction,
    kind: Linked,
    id: i64,
    sources: &[i64],
) -> Result<bool, DbErr> {
    if linked_sources(txn, kind, id).await? == sources {
        return Ok(false);
    }
    source_link::Entity::delete_many()
        .filter(source_link::Column::EntityKind.eq(kind.as_str()))
        .filter(source_link::Column::EntityId.eq(id))
        .exec(txn)
        .await?;
    let links = link_rows(kind, id, sources);
    if !links.is_empty() {
        source_link::Entity::insert_many(links).exec(txn).await?;
    }
    Ok(true)
}

/// The source links of one row, in order, each source once.
pub(super) fn link_rows(kind: Linked, id: i64, sources: &[i64]) -> Vec<source_link::ActiveModel> {
    let mut seen = HashSet::new();
    sources
        .iter()
        .filter(|s| seen.insert(**s))
        .enumerate()
        .map(|(position, source_id)| {
            source_link::Model {
                entity_kind: kind.as_str().to_owned(),
                entity_id: id,
                source_id: *source_id,
                position: position as i32,
            }
            .into()
        })
        .collect()
}

/// Slug → id for one table, filled from the file as rows are written and from the
/// database for slugs the file only references.
#[derive(Default)]
pub(super) struct Ids {
    pub map: HashMap<String, i64>,
}

impl Ids {
    pub async fn load<E: EntityTrait>(
        txn: &DatabaseTransaction,
        id: E::Column,
        slug: E::Column,
        wanted: Vec<String>,
    ) -> Result<Self, DbErr> {
        // (A Vec, not an iterator: closures held across an await would make the future !Send.)
        let wanted: Vec<String> = wanted.into_iter().collect::<HashSet<_>>().into_iter().collect();
        let mut map = HashMap::new();
        for chunk in wanted.chunks(500) {
            let rows: Vec<(i64, String)> = E::find()
                .select_only()
                .column(id)
                .column(slug)
                .filter(slug.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(txn)
                .await?;
            map.extend(rows.into_iter().map(|(id, slug)| (slug, id)));
        }
        Ok(Self { map })
    }

    pub fn get(&self, field: &str, what: &str, slug: &str) -> Result<i64, FieldError> {
        self.map.get(slug).copied().ok_or_else(|| FieldError::new(field, format!("no {what} with slug {slug:?}")))
    }

    pub fn get_opt(&self, field: &str, what: &str, slug: &Option<String>) -> Result<Option<i64>, FieldError> {
        slug.as_deref().map(|s| self.get(field, what, s)).transpose()
    }

    pub fn sources(&self, slugs: &[String]) -> Result<Vec<i64>, FieldError> {
        slugs.iter().enumerate().map(|(i, s)| self.get(&format!("sources[{i}]"), "source", s)).collect()
    }
}

/// A money range as the four columns that store it.
pub(super) fn minor(range: &MinorRange) -> (Option<i64>, Option<i64>, String, i16) {
    (range.low, range.high, range.currency.as_str().to_owned(), range.currency.exponent() as i16)
}

/// What an import did, per collection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows inserted.
    pub inserted: usize,
    /// Rows whose content changed.
    pub updated: usize,
    /// Rows already as in the file.
    pub unchanged: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Inserted,
    Updated,
    Unchanged,
}

/// What an import changed that counted amounts depend on.
#[derive(Debug, Default)]
pub(super) struct Touched {
    pub commitments: HashSet<i64>,
    /// So many commitments changed that everything is rebuilt (the set is no longer kept:
    /// a bulk import of a million rows must not hold a million ids).
    pub all: bool,
    pub actors: Vec<i64>,
    pub events: Vec<i64>,
    pub rates: bool,
}

/// Above this many changed commitments, rebuilding everything is cheaper than finding the
/// families of each.
const FULL_REBUILD_ABOVE: usize = 10_000;

impl Touched {
    pub(super) fn is_empty(&self) -> bool {
        self.commitments.is_empty() && !self.all && self.actors.is_empty() && self.events.is_empty() && !self.rates
    }

    pub(super) fn commitment(&mut self, id: i64) {
        if !self.all {
            self.commitments.insert(id);
            if self.commitments.len() > FULL_REBUILD_ABOVE {
                self.all = true;
                self.commitments = HashSet::new();
            }
        }
    }

    /// Rebuilds the counted amounts that depend on what changed.
    pub(super) async fn rebuild(mut self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        use crate::storage::counting::{rebuild_counted, rebuild_counted_for};
        // Rates decide whether parts in other currencies exceed their headline.
        if self.rates || self.all {
            return rebuild_counted(txn).await;
        }
        // Counted rows copy the pledger's kind and country and date by the event's start.
        for (column, ids) in
            [(commitment::Column::PledgerId, &self.actors), (commitment::Column::EventId, &self.events)]
        {
            for chunk in ids.chunks(5_000) {
                let found: Vec<i64> = commitment::Entity::find()
                    .select_only()
                    .column(commitment::Column::Id)
                    .filter(column.is_in(chunk.iter().copied()))
                    .into_tuple()
                    .all(txn)
                    .await?;
                self.commitments.extend(found);
            }
        }
        if self.commitments.len() > FULL_REBUILD_ABOVE {
            return rebuild_counted(txn).await;
        }
        rebuild_counted_for(txn, &self.commitments).await
    }
}

impl ImportSummary {
    /// Rows inserted or updated.
    pub fn changed(&self) -> usize {
        self.inserted + self.updated
    }

    pub(super) fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Inserted => self.inserted += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}
