//! A count of a coalition's signatories or members as a source reported it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reported_counts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub coalition_id: i64,
    pub reported_on: Option<Date>,
    pub count_low: i32,
    /// `None` for an open count ("over 100").
    pub count_high: Option<i32>,
    pub kind: String,
    pub wording: String,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
