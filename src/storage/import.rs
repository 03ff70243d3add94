//! Imports a [`DataSet`] in one transaction: every record validated first (all problems
//! reported, not just the first), then upserted by its natural key, so that importing the
//! same file again changes nothing.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{
    actor, coalition, commitment, event, exchange_rate, fundraising_target, overlap, signature, source, source_link,
    status_history,
};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, prelude::DateTimeUtc,
};

use super::{
    Db, StorageError,
    changes::{Change, announce},
    read::Linked,
};
use crate::domain::{
    FieldError,
    money::MinorRange,
    records::{DataSet, FORMAT, ValidCommitment, ValidStatus},
    text::fold,
};

/// One bad record: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The collection (`commitments`, `signatures`, …).
    pub collection: &'static str,
    /// Position in the collection, from 0.
    pub index: usize,
    /// The record's key (slug, or the pair it links).
    pub key: String,
    /// The field and reason.
    pub error: FieldError,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}] ({}): {}", self.collection, self.index, self.key, self.error)
    }
}

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
enum Outcome {
    Inserted,
    Updated,
    Unchanged,
}

/// What an import changed that counted amounts depend on.
#[derive(Debug, Default)]
struct Touched {
    commitments: HashSet<i64>,
    /// So many commitments changed that everything is rebuilt (the set is no longer kept:
    /// a bulk import of a million rows must not hold a million ids).
    all: bool,
    actors: Vec<i64>,
    events: Vec<i64>,
    rates: bool,
}

/// Above this many changed commitments, rebuilding everything is cheaper than finding the
/// families of each.
const FULL_REBUILD_ABOVE: usize = 10_000;

impl Touched {
    fn is_empty(&self) -> bool {
        self.commitments.is_empty() && !self.all && self.actors.is_empty() && self.events.is_empty() && !self.rates
    }

    fn commitment(&mut self, id: i64) {
        if !self.all {
            self.commitments.insert(id);
            if self.commitments.len() > FULL_REBUILD_ABOVE {
                self.all = true;
                self.commitments = HashSet::new();
            }
        }
    }

    /// Rebuilds the counted amounts that depend on what changed.
    async fn rebuild(mut self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        use super::counting::{rebuild_counted, rebuild_counted_for};
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

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Inserted => self.inserted += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// A stored row that imports can upsert: how to carry its identity over from the row it
/// replaces, and how to mark a real change.
trait Stored: Clone + PartialEq + Send + Sync + Sized + 'static {
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

/// Upserts a row, replaces its source links, counts what happened; returns the row's id.
async fn save<M>(
    txn: &DatabaseTransaction,
    existing: Option<M>,
    fresh: M,
    now: DateTimeUtc,
    kind: Linked,
    sources: &[i64],
    summary: &mut ImportSummary,
) -> Result<(i64, bool), DbErr>
where
    M: Stored + IntoActiveModel<M::Active>,
{
    let (id, mut outcome) = upsert(txn, existing, fresh, now).await?;
    if link_sources(txn, kind, id, sources).await? && outcome == Outcome::Unchanged {
        outcome = Outcome::Updated;
    }
    summary.count(outcome);
    Ok((id, outcome != Outcome::Unchanged))
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
async fn link_sources(txn: &DatabaseTransaction, kind: Linked, id: i64, sources: &[i64]) -> Result<bool, DbErr> {
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
fn link_rows(kind: Linked, id: i64, sources: &[i64]) -> Vec<source_link::ActiveModel> {
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
struct Ids {
    map: HashMap<String, i64>,
}

impl Ids {
    async fn load<E: EntityTrait>(
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

    fn get(&self, field: &str, what: &str, slug: &str) -> Result<i64, FieldError> {
        self.map.get(slug).copied().ok_or_else(|| FieldError::new(field, format!("no {what} with slug {slug:?}")))
    }

    fn get_opt(&self, field: &str, what: &str, slug: &Option<String>) -> Result<Option<i64>, FieldError> {
        slug.as_deref().map(|s| self.get(field, what, s)).transpose()
    }

    fn sources(&self, slugs: &[String]) -> Result<Vec<i64>, FieldError> {
        slugs.iter().enumerate().map(|(i, s)| self.get(&format!("sources[{i}]"), "source", s)).collect()
    }
}

/// A commitment with its position in the file.
type Numbered = (usize, ValidCommitment);

/// Orders commitments so that parents in the file come before their children; records in
/// a parent cycle are reported.
fn parents_first(commitments: Vec<Numbered>) -> (Vec<Numbered>, Vec<Numbered>) {
    let in_file: HashSet<String> = commitments.iter().map(|(_, c)| c.slug.clone()).collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(commitments.len());
    let mut pending = commitments;
    loop {
        let before = pending.len();
        let (ready, waiting): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, c)| match &c.parent {
            Some(p) if in_file.contains(p) => placed.contains(p),
            _ => true,
        });
        placed.extend(ready.iter().map(|(_, c)| c.slug.clone()));
        ordered.extend(ready);
        pending = waiting;
        if pending.is_empty() || pending.len() == before {
            return (ordered, pending);
        }
    }
}

fn minor(range: &MinorRange) -> (Option<i64>, Option<i64>, String, i16) {
    (range.low, range.high, range.currency.as_str().to_owned(), range.currency.exponent() as i16)
}

fn status_rows_equal(old: &[(status_history::Model, Vec<i64>)], new: &[(ValidStatus, Vec<i64>)]) -> bool {
    old.len() == new.len()
        && old.iter().zip(new).all(|((o, os), (n, ns))| {
            o.status == n.status.as_str() && o.effective_on == n.effective_on && o.note == n.note && os == ns
        })
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
        Ok(summary)
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
            problems.push(Problem {
                collection: "format",
                index: 0,
                key: data.format.clone(),
                error: FieldError::new("format", format!("expected {FORMAT:?}")),
            });
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
                            problems.push(Problem { collection: stringify!($collection), index, key: $key, error });
                            None
                        }
                    })
                    .collect::<Vec<_>>()
            };
        }
        let sources = check!(sources, r => r.slug.clone());
        let actors = check!(actors, r => r.slug.clone());
        let events = check!(events, r => r.slug.clone());
        let commitments = check!(commitments, r => r.slug.clone());
        let targets = check!(fundraising_targets, r => r.actor.clone());
        let overlaps = check!(overlaps, r => format!("{} > {}", r.later, r.earlier));
        let coalitions = check!(coalitions, r => r.slug.clone());
        let signatures = check!(signatures, r => format!("{} / {}", r.coalition, r.actor));
        let rates = check!(exchange_rates, r => format!("{} {}/{}", r.date, r.base, r.quote));
        if !problems.is_empty() {
            return Ok(problems);
        }

        let now = Utc::now();
        let Batches { summary, touched } = batches;
        let mut fail = |collection: &'static str, index: usize, key: &str, error: FieldError| {
            problems.push(Problem { collection, index, key: key.to_owned(), error });
        };

        // Sources first: everything else links to them.
        let referenced = data
            .actors
            .iter()
            .flat_map(|r| r.sources.clone())
            .chain(data.events.iter().flat_map(|r| r.sources.clone()))
            .chain(data.commitments.iter().flat_map(|r| {
                r.sources
                    .iter()
                    .cloned()
                    .chain(r.status_history.iter().flat_map(|s| s.sources.clone()))
                    .chain(r.retraction.iter().flat_map(|x| x.sources.clone()))
            }))
            .chain(data.fundraising_targets.iter().flat_map(|r| r.sources.clone()))
            .chain(data.overlaps.iter().flat_map(|r| r.sources.clone()))
            .chain(data.coalitions.iter().flat_map(|r| r.sources.clone()))
            .chain(data.signatures.iter().flat_map(|r| r.sources.clone()))
            .chain(data.exchange_rates.iter().flat_map(|r| r.sources.clone()));
        let mut source_ids =
            Ids::load::<source::Entity>(txn, source::Column::Id, source::Column::Slug, referenced.collect()).await?;
        for (_, valid) in &sources {
            self.progress.tick("sources", sources.len());
            let r = &valid.0;
            let existing = source::Entity::find().filter(source::Column::Slug.eq(&r.slug)).one(txn).await?;
            let fresh = source::Model {
                id: 0,
                version: 1,
                slug: r.slug.clone(),
                url: r.url.clone(),
                publisher: r.publisher.clone(),
                title: r.title.clone(),
                published_on: r.published_on.clone(),
                language: r.language.clone(),
                quote: r.quote.clone(),
                created_at: now,
            };
            let (id, outcome) = upsert(txn, existing, fresh, now).await?;
            source_ids.map.insert(r.slug.clone(), id);
            summary.count(outcome);
        }

        let actor_refs = data
            .commitments
            .iter()
            .flat_map(|c| [Some(c.pledger.clone()), c.beneficiary.clone()])
            .flatten()
            .chain(data.fundraising_targets.iter().map(|t| t.actor.clone()))
            .chain(data.signatures.iter().map(|s| s.actor.clone()));
        let mut actor_ids =
            Ids::load::<actor::Entity>(txn, actor::Column::Id, actor::Column::Slug, actor_refs.collect()).await?;
        for (index, a) in &actors {
            self.progress.tick("actors", actors.len());
            let existing = actor::Entity::find().filter(actor::Column::Slug.eq(&a.slug)).one(txn).await?;
            let fresh = actor::Model {
                id: 0,
                slug: a.slug.clone(),
                name: a.name.clone(),
                name_folded: fold(&a.name),
                kind: a.kind.as_str().to_owned(),
                country: a.country.as_ref().map(|c| c.as_str().to_owned()),
                aliases: serde_json::to_string(&a.aliases).unwrap_or_else(|_| "[]".into()),
                aliases_folded: a.aliases.iter().map(|x| fold(x)).collect::<Vec<_>>().join(" | "),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            // A bad source is reported (and rolls the import back), but the row is still
            // written so that records referring to it do not report it missing too.
            let sources = source_ids.sources(&a.sources).unwrap_or_else(|e| {
                fail("actors", *index, &a.slug, e);
                Vec::new()
            });
            let (id, changed) = save(txn, existing, fresh, now, Linked::Actor, &sources, summary).await?;
            if changed {
                touched.actors.push(id);
            }
            actor_ids.map.insert(a.slug.clone(), id);
        }

        let event_refs = data
            .commitments
            .iter()
            .filter_map(|c| c.event.clone())
            .chain(data.coalitions.iter().filter_map(|c| c.event.clone()));
        let mut event_ids =
            Ids::load::<event::Entity>(txn, event::Column::Id, event::Column::Slug, event_refs.collect()).await?;
        for (index, e) in &events {
            self.progress.tick("events", events.len());
            let existing = event::Entity::find().filter(event::Column::Slug.eq(&e.slug)).one(txn).await?;
            let fresh = event::Model {
                id: 0,
                slug: e.slug.clone(),
                name: e.name.clone(),
                name_folded: fold(&e.name),
                kind: e.kind.as_str().to_owned(),
                city: e.city.clone(),
                country: e.country.as_ref().map(|c| c.as_str().to_owned()),
                start_date: e.start_date,
                end_date: e.end_date,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            // A bad source is reported (and rolls the import back), but the row is still
            // written so that records referring to it do not report it missing too.
            let sources = source_ids.sources(&e.sources).unwrap_or_else(|err| {
                fail("events", *index, &e.slug, err);
                Vec::new()
            });
            let (id, changed) = save(txn, existing, fresh, now, Linked::Event, &sources, summary).await?;
            if changed {
                touched.events.push(id);
            }
            event_ids.map.insert(e.slug.clone(), id);
        }

        let commitment_refs = data
            .commitments
            .iter()
            .filter_map(|c| c.parent.clone())
            .chain(data.overlaps.iter().flat_map(|o| [o.later.clone(), o.earlier.clone()]));
        let mut commitment_ids = Ids::load::<commitment::Entity>(
            txn,
            commitment::Column::Id,
            commitment::Column::Slug,
            commitment_refs.collect(),
        )
        .await?;
        let (ordered, cyclic) = parents_first(commitments);
        for (index, c) in cyclic {
            fail("commitments", index, &c.slug, FieldError::new("parent", "the parents form a cycle"));
        }
        // Rows already stored, fetched together; new rows are written in multi-row inserts.
        let mut stored: HashMap<String, commitment::Model> = HashMap::new();
        let slugs: Vec<String> = ordered.iter().map(|(_, c)| c.slug.clone()).collect();
        for chunk in slugs.chunks(500) {
            let found = commitment::Entity::find()
                .filter(commitment::Column::Slug.is_in(chunk.iter().cloned()))
                .all(txn)
                .await?;
            stored.extend(found.into_iter().map(|m| (m.slug.clone(), m)));
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut new_rows = NewCommitments::default();
        for (index, c) in &ordered {
            self.progress.tick("commitments", ordered.len());
            // A part waits for its parent's insert; a slug seen twice reads the first.
            let repeated = !seen.insert(c.slug.as_str());
            if repeated || c.parent.as_ref().is_some_and(|p| new_rows.slugs.contains(p)) {
                new_rows.flush(txn, &mut commitment_ids, summary, touched).await?;
            }
            let resolved = (|| {
                Ok::<_, FieldError>((
                    actor_ids.get("pledger", "actor", &c.pledger)?,
                    event_ids.get_opt("event", "event", &c.event)?,
                    actor_ids.get_opt("beneficiary", "actor", &c.beneficiary)?,
                    commitment_ids.get_opt("parent", "commitment", &c.parent)?,
                    source_ids.sources(&c.sources)?,
                ))
            })();
            let (pledger_id, event_id, beneficiary_id, parent_id, sources) = match resolved {
                Ok(ids) => ids,
                Err(e) => {
                    fail("commitments", *index, &c.slug, e);
                    continue;
                }
            };
            let existing = if repeated {
                commitment::Entity::find().filter(commitment::Column::Slug.eq(&c.slug)).one(txn).await?
            } else {
                stored.remove(&c.slug)
            };
            if let (Some(old), Some(parent)) = (&existing, parent_id)
                && self.is_ancestor(txn, old.id, parent).await?
            {
                fail("commitments", *index, &c.slug, FieldError::new("parent", "the parents form a cycle"));
                continue;
            }
            let (amount_low, amount_high, currency, currency_exponent) = match c.money.to_minor("amount") {
                Ok(range) => minor(&range),
                Err(e) => {
                    fail("commitments", *index, &c.slug, e);
                    continue;
                }
            };
            let fresh = commitment::Model {
                id: 0,
                slug: c.slug.clone(),
                title: c.title.clone(),
                title_folded: fold(&c.title),
                pledger_id,
                event_id,
                beneficiary_id,
                announced_on: c.announced_on,
                amount_low,
                amount_high,
                currency,
                currency_exponent,
                recipient_country: c.recipient_country.as_ref().map(|r| r.as_str().to_owned()),
                sector: c.sector.clone(),
                kind: c.kind.as_str().to_owned(),
                horizon_year: c.horizon_year,
                status: c.status.as_str().to_owned(),
                amount_disputed: c.amount_disputed,
                parent_id,
                relation: c.relation.map(|r| r.as_str().to_owned()),
                notes: c.notes.clone(),
                version: 1,
                created_at: now,
                updated_at: now,
                retracted_on: c.retraction.as_ref().and_then(|r| r.retracted_on),
                retraction_reason: c.retraction.as_ref().map(|r| r.reason.clone()),
            };
            let retraction_sources = match c.retraction.as_ref().map(|r| source_ids.sources(&r.sources)).transpose() {
                Ok(ids) => ids.unwrap_or_default(),
                Err(e) => {
                    fail("commitments", *index, &c.slug, e.within("retraction"));
                    continue;
                }
            };
            let wanted = match wanted_statuses(c, &sources, &source_ids) {
                Ok(rows) => rows,
                Err(e) => {
                    fail("commitments", *index, &c.slug, e);
                    continue;
                }
            };
            let Some(old) = existing else {
                new_rows.push(NewCommitment { model: fresh, sources, retraction_sources, statuses: wanted });
                if new_rows.rows.len() >= NEW_ROWS_PER_INSERT {
                    new_rows.flush(txn, &mut commitment_ids, summary, touched).await?;
                }
                continue;
            };
            // A part that leaves its headline changes the old family too: rebuild it.
            let left = old.parent_id.filter(|p| fresh.parent_id != Some(*p));
            let (id, mut outcome) = upsert(txn, Some(old), fresh, now).await?;
            if let Some(old_parent) = left {
                touched.commitment(old_parent);
            }
            commitment_ids.map.insert(c.slug.clone(), id);
            let sources_changed = link_sources(txn, Linked::Commitment, id, &sources).await?
                | link_sources(txn, Linked::Retraction, id, &retraction_sources).await?;
            let history_changed = write_status_history(txn, id, wanted, now).await?;
            if (sources_changed || history_changed) && outcome == Outcome::Unchanged {
                outcome = Outcome::Updated;
            }
            if outcome != Outcome::Unchanged {
                touched.commitment(id);
            }
            summary.count(outcome);
        }
        new_rows.flush(txn, &mut commitment_ids, summary, touched).await?;

        for (index, t) in &targets {
            self.progress.tick("fundraising_targets", targets.len());
            let key = t.actor.as_str();
            let resolved =
                actor_ids.get("actor", "actor", &t.actor).and_then(|a| Ok((a, source_ids.sources(&t.sources)?)));
            let money = t.money.to_minor("amount");
            let ((actor_id, sources), range) = match (resolved, money) {
                (Ok(r), Ok(m)) => (r, m),
                (Err(e), _) | (_, Err(e)) => {
                    fail("fundraising_targets", *index, key, e);
                    continue;
                }
            };
            let (amount_low, amount_high, currency, currency_exponent) = minor(&range);
            let existing = fundraising_target::Entity::find()
                .filter(fundraising_target::Column::ActorId.eq(actor_id))
                .one(txn)
                .await?;
            let fresh = fundraising_target::Model {
                id: 0,
                actor_id,
                amount_low,
                amount_high,
                currency,
                currency_exponent,
                horizon_year: t.horizon_year,
                notes: t.notes.clone(),
            };
            save(txn, existing, fresh, now, Linked::Target, &sources, summary).await?;
        }

        for (index, o) in &overlaps {
            self.progress.tick("overlaps", overlaps.len());
            let key = format!("{} > {}", o.later, o.earlier);
            let resolved = (|| {
                Ok::<_, FieldError>((
                    commitment_ids.get("later", "commitment", &o.later)?,
                    commitment_ids.get("earlier", "commitment", &o.earlier)?,
                    source_ids.sources(&o.sources)?,
                    o.money.to_minor("amount")?,
                ))
            })();
            let (later_id, earlier_id, sources, range) = match resolved {
                Ok(r) => r,
                Err(e) => {
                    fail("overlaps", *index, &key, e);
                    continue;
                }
            };
            let (amount_low, amount_high, currency, currency_exponent) = minor(&range);
            let existing = overlap::Entity::find()
                .filter(overlap::Column::LaterId.eq(later_id))
                .filter(overlap::Column::EarlierId.eq(earlier_id))
                .one(txn)
                .await?;
            let fresh = overlap::Model {
                id: 0,
                later_id,
                earlier_id,
                amount_low,
                amount_high,
                currency,
                currency_exponent,
                note: o.note.clone(),
            };
            let (_, changed) = save(txn, existing, fresh, now, Linked::Overlap, &sources, summary).await?;
            if changed {
                touched.commitment(later_id);
                touched.commitment(earlier_id);
            }
        }

        let coalition_refs = data.signatures.iter().map(|s| s.coalition.clone());
        let mut coalition_ids = Ids::load::<coalition::Entity>(
            txn,
            coalition::Column::Id,
            coalition::Column::Slug,
            coalition_refs.collect(),
        )
        .await?;
        for (index, c) in &coalitions {
            self.progress.tick("coalitions", coalitions.len());
            let resolved = (|| {
                Ok::<_, FieldError>((event_ids.get_opt("event", "event", &c.event)?, source_ids.sources(&c.sources)?))
            })();
            let (event_id, sources) = match resolved {
                Ok(r) => r,
                Err(e) => {
                    fail("coalitions", *index, &c.slug, e);
                    continue;
                }
            };
            let existing = coalition::Entity::find().filter(coalition::Column::Slug.eq(&c.slug)).one(txn).await?;
            let fresh = coalition::Model {
                id: 0,
                slug: c.slug.clone(),
                name: c.name.clone(),
                name_folded: fold(&c.name),
                kind: c.kind.as_str().to_owned(),
                launched_on: c.launched_on,
                event_id,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            let (id, _) = save(txn, existing, fresh, now, Linked::Coalition, &sources, summary).await?;
            coalition_ids.map.insert(c.slug.clone(), id);
        }

        for (index, s) in &signatures {
            self.progress.tick("signatures", signatures.len());
            let key = format!("{} / {}", s.coalition, s.actor);
            let resolved = (|| {
                Ok::<_, FieldError>((
                    coalition_ids.get("coalition", "coalition", &s.coalition)?,
                    actor_ids.get("actor", "actor", &s.actor)?,
                    source_ids.sources(&s.sources)?,
                ))
            })();
            let (coalition_id, actor_id, sources) = match resolved {
                Ok(r) => r,
                Err(e) => {
                    fail("signatures", *index, &key, e);
                    continue;
                }
            };
            let existing = signature::Entity::find()
                .filter(signature::Column::CoalitionId.eq(coalition_id))
                .filter(signature::Column::ActorId.eq(actor_id))
                .one(txn)
                .await?;
            let fresh = signature::Model {
                id: 0,
                coalition_id,
                actor_id,
                stance: s.stance.as_str().to_owned(),
                initiator: s.initiator,
                signed_on: s.signed_on,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            save(txn, existing, fresh, now, Linked::Signature, &sources, summary).await?;
        }

        for (index, r) in &rates {
            self.progress.tick("exchange_rates", rates.len());
            let key = format!("{} {}/{}", r.date, r.base.as_str(), r.quote.as_str());
            let sources = match source_ids.sources(&r.sources) {
                Ok(s) => s,
                Err(e) => {
                    fail("exchange_rates", *index, &key, e);
                    continue;
                }
            };
            let existing = exchange_rate::Entity::find()
                .filter(exchange_rate::Column::RateDate.eq(r.date))
                .filter(exchange_rate::Column::Base.eq(r.base.as_str()))
                .filter(exchange_rate::Column::Quote.eq(r.quote.as_str()))
                .one(txn)
                .await?;
            let fresh = exchange_rate::Model {
                id: 0,
                rate_date: r.date,
                base: r.base.as_str().to_owned(),
                quote: r.quote.as_str().to_owned(),
                rate: r.rate.normalize().to_string(),
            };
            let (_, changed) = save(txn, existing, fresh, now, Linked::Rate, &sources, summary).await?;
            touched.rates |= changed;
        }

        Ok(problems)
    }

    /// Whether `ancestor` is `id` or one of its parents' chain (bounded walk).
    async fn is_ancestor(&self, txn: &DatabaseTransaction, ancestor: i64, id: i64) -> Result<bool, DbErr> {
        let mut current = Some(id);
        for _ in 0..1000 {
            match current {
                Some(c) if c == ancestor => return Ok(true),
                Some(c) => {
                    current = commitment::Entity::find_by_id(c).one(txn).await?.and_then(|m| m.parent_id);
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// The status history a commitment should have: the record's own, or without one, its
/// status from its announcement day backed by its sources.
fn wanted_statuses(
    c: &ValidCommitment,
    commitment_sources: &[i64],
    source_ids: &Ids,
) -> Result<Vec<(ValidStatus, Vec<i64>)>, FieldError> {
    if c.status_history.is_empty() {
        let status = ValidStatus { status: c.status, effective_on: c.announced_on, note: None, sources: vec![] };
        return Ok(vec![(status, commitment_sources.to_vec())]);
    }
    c.status_history
        .iter()
        .enumerate()
        .map(|(i, s)| match source_ids.sources(&s.sources) {
            Ok(ids) => Ok((s.clone(), ids)),
            Err(e) => Err(e.within(&format!("statusHistory[{i}]"))),
        })
        .collect()
}

fn status_row(commitment_id: i64, status: ValidStatus, now: DateTimeUtc) -> status_history::ActiveModel {
    let mut row = status_history::ActiveModel::from(status_history::Model {
        id: 0,
        commitment_id,
        status: status.status.as_str().to_owned(),
        effective_on: status.effective_on,
        note: status.note,
        created_at: now,
    })
    .reset_all();
    row.not_set(status_history::Column::Id);
    row
}

/// Replaces a stored commitment's status history when it differs from `wanted`; true
/// when it did.
async fn write_status_history(
    txn: &DatabaseTransaction,
    commitment_id: i64,
    wanted: Vec<(ValidStatus, Vec<i64>)>,
    now: DateTimeUtc,
) -> Result<bool, DbErr> {
    let existing = status_history::Entity::find()
        .filter(status_history::Column::CommitmentId.eq(commitment_id))
        .order_by_asc(status_history::Column::Id)
        .all(txn)
        .await?;
    let ids: Vec<i64> = existing.iter().map(|s| s.id).collect();
    // Every old row's sources in one statement.
    let mut links = super::read::linked_sources_of(txn, Linked::Status, &ids).await?;
    let old: Vec<(status_history::Model, Vec<i64>)> = existing
        .into_iter()
        .map(|row| {
            let sources = links.remove(&row.id).unwrap_or_default().into_iter().map(|s| s.id).collect();
            (row, sources)
        })
        .collect();
    if status_rows_equal(&old, &wanted) {
        return Ok(false);
    }
    // A status appended (what `setCommitmentStatus` does): insert the new rows alone.
    if wanted.len() > old.len() && status_rows_equal(&old, &wanted[..old.len()]) {
        for (status, sources) in wanted.into_iter().skip(old.len()) {
            let inserted = status_row(commitment_id, status, now).insert(txn).await?;
            let links = link_rows(Linked::Status, inserted.id, &sources);
            if !links.is_empty() {
                source_link::Entity::insert_many(links).exec(txn).await?;
            }
        }
        return Ok(true);
    }
    source_link::Entity::delete_many()
        .filter(source_link::Column::EntityKind.eq(Linked::Status.as_str()))
        .filter(source_link::Column::EntityId.is_in(ids))
        .exec(txn)
        .await?;
    status_history::Entity::delete_many()
        .filter(status_history::Column::CommitmentId.eq(commitment_id))
        .exec(txn)
        .await?;
    for (status, sources) in wanted {
        let inserted = status_row(commitment_id, status, now).insert(txn).await?;
        link_sources(txn, Linked::Status, inserted.id, &sources).await?;
    }
    Ok(true)
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
        (super::audit::Kind::Import, None, label),
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

/// New commitments per multi-row insert: 26 columns × 500 rows stays far below the bound
/// parameter limits of SQLite (32 766) and PostgreSQL (65 535).
const NEW_ROWS_PER_INSERT: usize = 500;

/// A commitment not yet stored, with what links to it.
struct NewCommitment {
    model: commitment::Model,
    sources: Vec<i64>,
    retraction_sources: Vec<i64>,
    statuses: Vec<(ValidStatus, Vec<i64>)>,
}

/// New commitments waiting for their multi-row insert: a bulk import writes a few
/// statements per 500 rows instead of several per row.
#[derive(Default)]
struct NewCommitments {
    rows: Vec<NewCommitment>,
    slugs: HashSet<String>,
}

impl NewCommitments {
    fn push(&mut self, row: NewCommitment) {
        self.slugs.insert(row.model.slug.clone());
        self.rows.push(row);
    }

    /// Inserts the waiting rows, their source links and status histories; records their
    /// ids and counts them as inserted.
    async fn flush(
        &mut self,
        txn: &DatabaseTransaction,
        ids: &mut Ids,
        summary: &mut ImportSummary,
        touched: &mut Touched,
    ) -> Result<(), DbErr> {
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
        let inserted = commitment::Entity::insert_many(models).exec_with_returning(txn).await?;
        let by_slug: HashMap<&str, i64> = inserted.iter().map(|m| (m.slug.as_str(), m.id)).collect();
        let now = rows[0].model.created_at;
        let mut links = Vec::new();
        let mut statuses = Vec::new();
        let mut status_sources = Vec::new();
        for row in rows {
            let id = *by_slug.get(row.model.slug.as_str()).ok_or_else(|| {
                DbErr::Custom(format!("commitment {:?} was not returned by its insert", row.model.slug))
            })?;
            ids.map.insert(row.model.slug.clone(), id);
            summary.count(Outcome::Inserted);
            touched.commitment(id);
            links.extend(link_rows(Linked::Commitment, id, &row.sources));
            links.extend(link_rows(Linked::Retraction, id, &row.retraction_sources));
            for (status, sources) in row.statuses {
                statuses.push((id, status_row(id, status, now)));
                status_sources.push(sources);
            }
        }
        let mut sources = status_sources.into_iter();
        for chunk in statuses.chunks(NEW_ROWS_PER_INSERT) {
            let expected: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
            let inserted = status_history::Entity::insert_many(chunk.iter().map(|(_, row)| row.clone()))
                .exec_with_returning(txn)
                .await?;
            // Rows come back in the order of the VALUES list on both databases; checked,
            // since the status sources are matched by position.
            if inserted.iter().map(|s| s.commitment_id).ne(expected.iter().copied()) {
                return Err(DbErr::Custom("status rows came back out of order".into()));
            }
            for status in inserted {
                links.extend(link_rows(Linked::Status, status.id, &sources.next().unwrap_or_default()));
            }
        }
        for chunk in links.chunks(NEW_ROWS_PER_INSERT * 4) {
            source_link::Entity::insert_many(chunk.iter().cloned()).exec_without_returning(txn).await?;
        }
        Ok(())
    }
}
