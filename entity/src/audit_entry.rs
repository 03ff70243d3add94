//! One audited write: who, when, what, and the record before and after (JSON).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// The token name (or `import`, `cli`).
    pub actor: String,
    /// CREATE, UPDATE, SET_STATUS, RETRACT, DELETE, …
    pub action: String,
    /// commitment, actor, event, source, coalition, signature, token.
    pub entity_kind: String,
    pub entity_id: Option<i64>,
    pub slug: String,
    /// The record before, in the import format (JSON); `None` for a creation.
    pub before: Option<String>,
    /// The record after; `None` for a deletion.
    pub after: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
