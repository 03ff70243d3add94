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
