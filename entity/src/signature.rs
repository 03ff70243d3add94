//! An actor's stance on a coalition: signed (possibly as an initiator), declined, withdrawn.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signatures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub coalition_id: i64,
    pub actor_id: i64,
    pub stance: String,
    pub initiator: bool,
    pub signed_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// A caveat on what the row rests on (e.g. a collective line, not a country-level source).
    pub notes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
