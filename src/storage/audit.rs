//! The audit log: what each write records (who, when, what, the record before and after),
//! and `history`, its reading. Every write of `write.rs`, `tokens.rs` and the imports
//! appends its rows here, in its own transaction.

use chrono::Utc;
use entity::audit_entry;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{Db, StorageResult};

/// What the audit log and `history` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Source,
    Actor,
    Event,
    Commitment,
    Coalition,
    Signature,
    Token,
    Import,
}

impl Subject {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Actor => "actor",
            Self::Event => "event",
            Self::Commitment => "commitment",
            Self::Coalition => "coalition",
            Self::Signature => "signature",
            Self::Token => "token",
            Self::Import => "import",
        }
    }

    /// The table of a versioned record (tokens and imports have no version to claim).
    pub(crate) fn table(self) -> Option<&'static str> {
        match self {
            Self::Source => Some("sources"),
            Self::Actor => Some("actors"),
            Self::Event => Some("events"),
            Self::Commitment => Some("commitments"),
            Self::Coalition => Some("coalitions"),
            Self::Signature => Some("signatures"),
            Self::Token | Self::Import => None,
        }
    }
}

/// What an audit row says was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    SetStatus,
    Retract,
    Delete,
    Revoke,
    Import,
}

impl Action {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::SetStatus => "SET_STATUS",
            Self::Retract => "RETRACT",
            Self::Delete => "DELETE",
            Self::Revoke => "REVOKE",
            Self::Import => "IMPORT",
        }
    }
}

/// Appends an audit row.
pub(crate) async fn audit<C: ConnectionTrait>(
    conn: &C,
    who: &str,
    action: Action,
    (kind, entity_id, key): (Subject, Option<i64>, &str),
    before: Option<String>,
    after: Option<String>,
) -> Result<(), DbErr> {
    audit_entry::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        at: Set(Utc::now()),
        actor: Set(who.to_owned()),
        action: Set(action.as_str().to_owned()),
        entity_kind: Set(kind.as_str().to_owned()),
        entity_id: Set(entity_id),
        slug: Set(key.to_owned()),
        before: Set(before),
        after: Set(after),
    }
    .insert(conn)
    .await?;
    Ok(())
}

impl Db {
    /// The audit rows of one record, newest first.
    pub async fn history(&self, kind: Subject, key: &str, limit: u64) -> StorageResult<Vec<audit_entry::Model>> {
        Ok(audit_entry::Entity::find()
            .filter(audit_entry::Column::EntityKind.eq(kind.as_str()))
            .filter(audit_entry::Column::Slug.eq(key))
            .order_by_desc(audit_entry::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?)
    }
}

/// Which audited writes the changes feed lists.
#[derive(Debug, Clone, Default)]
pub struct ChangesFilter {
    /// Written at or after.
    pub since: Option<chrono::DateTime<Utc>>,
    /// Written before.
    pub until: Option<chrono::DateTime<Utc>>,
    /// Only these kinds of record (empty: every kind but tokens).
    pub subjects: Vec<Subject>,
    /// Only records of this event: the event itself and the commitments made at it, before
    /// or after the write.
    pub event: Option<String>,
    /// Only this coalition: the coalition itself and its signatures.
    pub coalition: Option<String>,
}

/// The cursor tag of the changes feed.
const CHANGES_CURSOR: &str = "changes:ID_DESC";

impl Db {
    /// The audited writes matching `filter`, newest first, a page of `first` after the
    /// cursor `after`.
    pub async fn changes(
        &self,
        filter: &ChangesFilter,
        window: super::read::Window<'_>,
    ) -> StorageResult<super::read::Page<audit_entry::Model>> {
        use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
        // Slugs never hold LIKE wildcards, but a filter is a user's text.
        use crate::domain::text::like_escaped;
        let mut query = audit_entry::Entity::find();
        if let Some(since) = filter.since {
            query = query.filter(audit_entry::Column::At.gte(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_entry::Column::At.lt(until));
        }
        let subjects: Vec<&str> = if filter.subjects.is_empty() {
            ALL_BUT_TOKENS.iter().map(|s| s.as_str()).collect()
        } else {
            filter.subjects.iter().map(|s| s.as_str()).collect()
        };
        query = query.filter(audit_entry::Column::EntityKind.is_in(subjects));
        if let Some(event) = &filter.event {
            // Records are stored as compact JSON (`"event":"slug"`), written by this server.
            let field = LikeExpr::new(format!("%\"event\":\"{}\"%", like_escaped(event))).escape('\\');
            query = query.filter(
                sea_orm::Condition::any()
                    .add(
                        sea_orm::Condition::all()
                            .add(audit_entry::Column::EntityKind.eq(Subject::Event.as_str()))
                            .add(audit_entry::Column::Slug.eq(event.as_str())),
                    )
                    .add(
                        sea_orm::Condition::all()
                            .add(audit_entry::Column::EntityKind.eq(Subject::Commitment.as_str()))
                            .add(
                                sea_orm::Condition::any()
                                    .add(Expr::col(audit_entry::Column::After).like(field.clone()))
                                    .add(Expr::col(audit_entry::Column::Before).like(field)),
                            ),
                    ),
            );
        }
        if let Some(coalition) = &filter.coalition {
            let signatures = LikeExpr::new(format!("{}/%", like_escaped(coalition))).escape('\\');
            query = query.filter(
                sea_orm::Condition::any()
                    .add(
                        sea_orm::Condition::all()
                            .add(audit_entry::Column::EntityKind.eq(Subject::Coalition.as_str()))
                            .add(audit_entry::Column::Slug.eq(coalition.as_str())),
                    )
                    .add(
                        sea_orm::Condition::all()
                            .add(audit_entry::Column::EntityKind.eq(Subject::Signature.as_str()))
                            .add(Expr::col(audit_entry::Column::Slug).like(signatures)),
                    ),
            );
        }
        // Newest first: `after` reads older entries, `before` newer ones (backwards).
        let key = window.key(CHANGES_CURSOR, 1)?;
        if let Some(key) = key {
            let field = if window.backward() { "before" } else { "after" };
            let id: i64 = key[0]
                .as_deref()
                .and_then(|k| k.parse().ok())
                .ok_or_else(|| crate::domain::FieldError::new(field, "is not a cursor of this list and ordering"))?;
            query = query.filter(if window.backward() {
                audit_entry::Column::Id.gt(id)
            } else {
                audit_entry::Column::Id.lt(id)
            });
        }
        let order = if window.backward() { sea_orm::Order::Asc } else { sea_orm::Order::Desc };
        let rows = query.order_by(audit_entry::Column::Id, order).limit(window.size() + 1).all(self.conn()).await?;
        Ok(window.page(rows, |r| super::cursor::encode(CHANGES_CURSOR, &[Some(r.id.to_string())])))
    }
}

/// What the changes feed lists by default: every record and import, not the tokens.
pub const ALL_BUT_TOKENS: [Subject; 7] = [
    Subject::Source,
    Subject::Actor,
    Subject::Event,
    Subject::Commitment,
    Subject::Coalition,
    Subject::Signature,
    Subject::Import,
];
