//! Money that a later commitment presents again from an earlier one.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "overlaps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub later_id: i64,
    /// `None` when the earlier announcements are not recorded one by one ("of which €21.2bn
    /// announced over the previous twelve months").
    pub earlier_id: Option<i64>,
    pub amount_low: Option<i64>,
    pub amount_high: Option<i64>,
    pub currency: String,
    pub currency_exponent: i16,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
