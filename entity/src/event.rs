//! A summit, summit segment, investment summit or announcement.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub name_folded: String,
    pub kind: String,
    pub city: Option<String>,
    pub country: Option<String>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    /// The series the event is an edition of (`choose-france`, …).
    pub series: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The French name, where a source gives one.
    pub name_fr: Option<String>,
    pub name_fr_folded: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
