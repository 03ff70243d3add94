//! Edits: each one a single transaction that checks the version it was given, validates and
//! writes through the import path (same rules, same derived totals), and appends an audit
//! row with the record before and after. On any failure nothing is written.

use entity::{actor, coalition, commitment, event, signature, source, source_link, status_history};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    Statement, TransactionTrait,
};
use serde::Serialize;

use super::{
    Db, StorageError, StorageResult,
    audit::{Action, Subject, audit},
    changes::{Change, announce},
    counting::{bump_data_version, data_version, rebuild_counted_for},
    export::{actor_record, coalition_record, commitment_record, event_record, signature_record, source_record},
    import::ImportError,
    read::Linked,
};
use crate::domain::{
    FieldError,
    records::{
        ActorRecord, CoalitionRecord, CommitmentRecord, DataSet, EventRecord, FORMAT, SignatureRecord, SourceRecord,
    },
};

/// A record of any edited kind, in the import format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Record {
    Source(SourceRecord),
    Actor(ActorRecord),
    Event(EventRecord),
    Commitment(Box<CommitmentRecord>),
    Coalition(CoalitionRecord),
    Signature(SignatureRecord),
}

impl Record {
    fn kind(&self) -> Subject {
        match self {
            Self::Source(_) => Subject::Source,
            Self::Actor(_) => Subject::Actor,
            Self::Event(_) => Subject::Event,
            Self::Commitment(_) => Subject::Commitment,
            Self::Coalition(_) => Subject::Coalition,
            Self::Signature(_) => Subject::Signature,
        }
    }

    /// The key `history` finds it by: its slug, or `coalition/actor` for a signature.
    pub fn key(&self) -> String {
        match self {
            Self::Source(r) => r.slug.clone(),
            Self::Actor(r) => r.slug.clone(),
            Self::Event(r) => r.slug.clone(),
            Self::Commitment(r) => r.slug.clone(),
            Self::Coalition(r) => r.slug.clone(),
            Self::Signature(r) => signature_key(&r.coalition, &r.actor),
        }
    }

    fn into_data(self, new_sources: Vec<SourceRecord>) -> DataSet {
        let mut data = DataSet { format: FORMAT.to_owned(), sources: new_sources, ..DataSet::default() };
        match self {
            Self::Source(r) => data.sources.push(r),
            Self::Actor(r) => data.actors.push(r),
            Self::Event(r) => data.events.push(r),
            Self::Commitment(r) => data.commitments.push(*r),
            Self::Coalition(r) => data.coalitions.push(r),
            Self::Signature(r) => data.signatures.push(r),
        }
        data
    }
}

/// The history key of a signature.
pub fn signature_key(coalition: &str, actor: &str) -> String {
    format!("{coalition}/{actor}")
}

/// A stored row: its id, version and record.
#[derive(Debug, Clone)]
pub struct Current {
    pub id: i64,
    pub version: i32,
    pub record: Record,
}

/// The row of `kind` with `key`, as it is now.
async fn current<C: ConnectionTrait>(conn: &C, kind: Subject, key: &str) -> Result<Option<Current>, DbErr> {
    Ok(match kind {
        Subject::Source => source::Entity::find()
            .filter(source::Column::Slug.eq(key))
            .one(conn)
            .await?
            .map(|m| Current { id: m.id, version: m.version, record: Record::Source(source_record(&m)) }),
        Subject::Actor => match actor::Entity::find().filter(actor::Column::Slug.eq(key)).one(conn).await? {
            Some(m) => {
                Some(Current { id: m.id, version: m.version, record: Record::Actor(actor_record(conn, &m).await?) })
            }
            None => None,
        },
        Subject::Event => match event::Entity::find().filter(event::Column::Slug.eq(key)).one(conn).await? {
            Some(m) => {
                Some(Current { id: m.id, version: m.version, record: Record::Event(event_record(conn, &m).await?) })
            }
            None => None,
        },
        Subject::Commitment => {
            match commitment::Entity::find().filter(commitment::Column::Slug.eq(key)).one(conn).await? {
                Some(m) => Some(Current {
                    id: m.id,
                    version: m.version,
                    record: Record::Commitment(Box::new(commitment_record(conn, &m).await?)),
                }),
                None => None,
            }
        }
        Subject::Coalition => {
            match coalition::Entity::find().filter(coalition::Column::Slug.eq(key)).one(conn).await? {
                Some(m) => Some(Current {
                    id: m.id,
                    version: m.version,
                    record: Record::Coalition(coalition_record(conn, &m).await?),
                }),
                None => None,
            }
        }
        Subject::Signature => {
            let Some((coalition_slug, actor_slug)) = key.split_once('/') else { return Ok(None) };
            let coalition =
                coalition::Entity::find().filter(coalition::Column::Slug.eq(coalition_slug)).one(conn).await?;
            let actor = actor::Entity::find().filter(actor::Column::Slug.eq(actor_slug)).one(conn).await?;
            let (Some(coalition), Some(actor)) = (coalition, actor) else { return Ok(None) };
            match signature::Entity::find()
                .filter(signature::Column::CoalitionId.eq(coalition.id))
                .filter(signature::Column::ActorId.eq(actor.id))
                .one(conn)
                .await?
            {
                Some(m) => Some(Current {
                    id: m.id,
                    version: m.version,
                    record: Record::Signature(signature_record(conn, &m).await?),
                }),
                None => None,
            }
        }
        Subject::Token | Subject::Import => None,
    })
}

/// Takes PostgreSQL transaction-scoped advisory locks on these keys (in a fixed order, so
/// that two edits never wait on each other in a circle); nothing on SQLite, whose write
/// transactions run one at a time.
async fn lock_keys(txn: &DatabaseTransaction, keys: &mut [(Subject, &str)]) -> Result<(), DbErr> {
    if txn.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    keys.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
    for (kind, key) in keys.iter() {
        txn.execute_raw(Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [format!("{}/{key}", kind.as_str()).into()],
        ))
        .await?;
    }
    Ok(())
}

/// Takes the row at `expected` version for this transaction, or says why not. The no-op
/// UPDATE locks the row (PostgreSQL) and re-checks the version after any concurrent writer
/// committed, so of two concurrent updates from one version exactly one goes on.
async fn claim(txn: &DatabaseTransaction, kind: Subject, current: &Current, expected: i32) -> StorageResult<()> {
    let conflict = |now: i32| {
        StorageError::Conflict(format!(
            "{} {:?} is at version {now}, not {expected}: reload it and apply the change again",
            kind.as_str(),
            current.record.key()
        ))
    };
    if current.version != expected {
        return Err(conflict(current.version));
    }
    let Some(table) = kind.table() else {
        return Err(StorageError::Db(DbErr::Custom(format!("{} rows have no version", kind.as_str()))));
    };
    // Integers only: inlining them is safe.
    let sql = format!("UPDATE \"{table}\" SET version = version WHERE id = {} AND version = {expected}", current.id);
    let done = txn.execute_raw(Statement::from_string(txn.get_database_backend(), sql)).await?;
    if done.rows_affected() == 0 {
        return Err(conflict(expected + 1));
    }
    Ok(())
}

fn record_json(record: &Record) -> Option<String> {
    serde_json::to_string(record).ok()
}

/// The first problem of a failed import, as a field error of the edit. The edit's
/// `new_sources` come first among the data set's sources; a source after them is the edited
/// record itself (`createSource`).
fn first_problem(err: ImportError, new_sources: usize) -> StorageError {
    match err {
        ImportError::Invalid(problems) => match problems.into_iter().next() {
            Some(p) if p.collection == "sources" && p.index < new_sources => {
                StorageError::Invalid(p.error.within(&format!("newSources[{}]", p.index)))
            }
            Some(p) => StorageError::Invalid(p.error),
            None => StorageError::Invalid(FieldError::new("input", "is invalid")),
        },
        ImportError::Storage(e) => e,
    }
}

/// An edit: what it does to which row, checked against which version.
pub struct Edit {
    /// Who edits (the token name, for the audit log).
    pub who: String,
    pub action: Action,
    pub kind: Subject,
    /// The row's key (slug, or `coalition/actor`).
    pub key: String,
    /// `None` creates a row that must not exist; `Some(v)` changes the row at version `v`.
    pub expected_version: Option<i32>,
    /// Sources to create along with the edit, citable by slug.
    pub new_sources: Vec<SourceRecord>,
}

impl Edit {
    /// Creates the row `key`, which must not exist yet.
    pub fn create(who: String, kind: Subject, key: String, new_sources: Vec<SourceRecord>) -> Self {
        Self { who, action: Action::Create, kind, key, expected_version: None, new_sources }
    }

    /// Changes the row `key`, which must still be at `version`.
    pub fn change(
        who: String,
        action: Action,
        kind: Subject,
        key: String,
        version: i32,
        new_sources: Vec<SourceRecord>,
    ) -> Self {
        Self { who, action, kind, key, expected_version: Some(version), new_sources }
    }
}

impl Db {
    /// Starts a write transaction (on SQLite, `BEGIN IMMEDIATE`: writers queue up front
    /// instead of failing when they upgrade a stale read).
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.conn()
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// Applies an edit: `change` gets the current record (`None` when creating) and returns
    /// the new one. Returns the row as written.
    pub async fn edit(
        &self,
        edit: Edit,
        change: impl FnOnce(Option<Record>) -> Result<Record, FieldError>,
    ) -> StorageResult<Current> {
        let txn = self.begin_write().await?;
        // Creates of one key queue up (SQLite's BEGIN IMMEDIATE already serialises writers):
        // the second sees the first's row and is refused, instead of both reading "absent".
        // (An update is serialised by its version claim; only what is created is locked.)
        let mut keys: Vec<(Subject, &str)> =
            edit.new_sources.iter().map(|s| (Subject::Source, s.slug.as_str())).collect();
        if edit.expected_version.is_none() {
            keys.push((edit.kind, edit.key.as_str()));
        }
        lock_keys(&txn, &mut keys).await?;
        let before = current(&txn, edit.kind, &edit.key).await?;
        match (&before, edit.expected_version) {
            (Some(b), None) if edit.kind == Subject::Signature => {
                return Err(StorageError::Conflict(format!(
                    "signature {:?} exists (version {}): set it again with its expectedVersion",
                    edit.key, b.version
                )));
            }
            (Some(_), None) => {
                return Err(StorageError::Invalid(FieldError::new(
                    "slug",
                    format!("{} {:?} already exists: update it with its expectedVersion", edit.kind.as_str(), edit.key),
                )));
            }
            (None, Some(_)) => return Err(StorageError::NotFound(format!("no {} {:?}", edit.kind.as_str(), edit.key))),
            (Some(b), Some(v)) => claim(&txn, edit.kind, b, v).await?,
            (None, None) => {}
        }
        for (i, s) in edit.new_sources.iter().enumerate() {
            if current(&txn, Subject::Source, &s.slug).await?.is_some() {
                return Err(StorageError::Invalid(FieldError::new(
                    format!("newSources[{i}].slug"),
                    format!("source {:?} already exists: cite it in sources", s.slug),
                )));
            }
        }
        let record = change(before.as_ref().map(|b| b.record.clone()))?;
        if record.kind() != edit.kind || record.key() != edit.key {
            return Err(StorageError::Invalid(FieldError::new("slug", "cannot be changed")));
        }
        let fresh = edit.new_sources.len();
        let (summary, pending) = self
            .import_in(&txn, &record.into_data(edit.new_sources.clone()))
            .await
            .map_err(|e| first_problem(e, fresh))?;
        let after = current(&txn, edit.kind, &edit.key)
            .await?
            .ok_or_else(|| StorageError::Db(DbErr::Custom("an edited row is missing after its write".into())))?;
        for s in &edit.new_sources {
            let created = current(&txn, Subject::Source, &s.slug).await?.map(|c| c.id);
            let json = serde_json::to_string(s).ok();
            audit(&txn, &edit.who, Action::Create, (Subject::Source, created, &s.slug), None, json).await?;
        }
        // An update that changes nothing is not a change: no audit row, same version.
        if summary.changed() > 0 {
            let before_json = before.as_ref().and_then(|b| record_json(&b.record));
            let action = if before.is_none() { Action::Create } else { edit.action };
            let after_json = record_json(&after.record);
            audit(&txn, &edit.who, action, (edit.kind, Some(after.id), &edit.key), before_json, after_json).await?;
        }
        txn.commit().await?;
        self.published(pending);
        Ok(after)
    }

    /// Deletes a commitment published by mistake (no parts, overlaps or confirmations may
    /// depend on it); the audit log keeps what it was.
    pub async fn delete_commitment(&self, who: &str, slug: &str, reason: &str) -> StorageResult<()> {
        let txn = self.begin_write().await?;
        let Some(before) = current(&txn, Subject::Commitment, slug).await? else {
            return Err(StorageError::NotFound(format!("no commitment {slug:?}")));
        };
        let children =
            commitment::Entity::find().filter(commitment::Column::ParentId.eq(before.id)).count(&txn).await?;
        if children > 0 {
            return Err(StorageError::Invalid(FieldError::new(
                "slug",
                format!("{children} commitment(s) hang below it: move or delete them first"),
            )));
        }
        let overlaps = entity::overlap::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(entity::overlap::Column::LaterId.eq(before.id))
                    .add(entity::overlap::Column::EarlierId.eq(before.id)),
            )
            .count(&txn)
            .await?;
        if overlaps > 0 {
            return Err(StorageError::Invalid(FieldError::new(
                "slug",
                "it is in an overlap: remove the overlap first",
            )));
        }
        let parent = commitment::Entity::find_by_id(before.id).one(&txn).await?.and_then(|c| c.parent_id);
        let statuses: Vec<i64> = status_history::Entity::find()
            .select_only()
            .column(status_history::Column::Id)
            .filter(status_history::Column::CommitmentId.eq(before.id))
            .into_tuple()
            .all(&txn)
            .await?;
        source_link::Entity::delete_many()
            .filter(source_link::Column::EntityKind.eq(Linked::Status.as_str()))
            .filter(source_link::Column::EntityId.is_in(statuses))
            .exec(&txn)
            .await?;
        source_link::Entity::delete_many()
            .filter(source_link::Column::EntityKind.is_in([Linked::Commitment.as_str(), Linked::Retraction.as_str()]))
            .filter(source_link::Column::EntityId.eq(before.id))
            .exec(&txn)
            .await?;
        status_history::Entity::delete_many()
            .filter(status_history::Column::CommitmentId.eq(before.id))
            .exec(&txn)
            .await?;
        crate::storage::counting::log_counted_rows(&txn, &[before.id], -1).await?;
        entity::counted_amount::Entity::delete_many()
            .filter(entity::counted_amount::Column::CommitmentId.eq(before.id))
            .exec(&txn)
            .await?;
        commitment::Entity::delete_by_id(before.id).exec(&txn).await?;
        if let Some(parent) = parent {
            rebuild_counted_for(&txn, &std::iter::once(parent).collect()).await?;
        }
        bump_data_version(&txn).await?;
        let version = data_version(&txn).await?;
        let change = Change { version, deleted: vec![slug.to_owned()], totals: true, ..Change::default() };
        let pending = announce(&txn, change).await?;
        let mut before_json = serde_json::to_value(&before.record).unwrap_or_default();
        before_json["deletionReason"] = serde_json::Value::String(reason.to_owned());
        audit(
            &txn,
            who,
            Action::Delete,
            (Subject::Commitment, Some(before.id), slug),
            Some(before_json.to_string()),
            None,
        )
        .await?;
        txn.commit().await?;
        self.published(pending);
        Ok(())
    }
}
