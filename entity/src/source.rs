//! A public source (article, release, official page) backing a fact.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sources")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub url: String,
    pub publisher: String,
    pub title: String,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`: as precise as the page tells.
    pub published_on: Option<String>,
    pub language: Option<String>,
    pub quote: Option<String>,
    pub created_at: DateTimeUtc,
    /// Incremented by every change (optimistic concurrency).
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
