//! A government, company, fund, bank, foundation or organisation that pledges or signs.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "actors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// `name` folded for accent- and case-insensitive search.
    pub name_folded: String,
    pub kind: String,
    /// ISO 3166-1 alpha-2; `None` for international bodies or when no source states it.
    pub country: Option<String>,
    /// JSON array of other names and spellings.
    pub aliases: String,
    /// The aliases folded, separated by ` | `.
    pub aliases_folded: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
