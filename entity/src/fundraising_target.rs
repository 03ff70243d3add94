//! A fundraising target (e.g. a foundation's endowment goal): an attribute of the
//! beneficiary, not money pledged.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fundraising_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub actor_id: i64,
    pub amount_low: Option<i64>,
    pub amount_high: Option<i64>,
    pub currency: String,
    pub currency_exponent: i16,
    pub horizon_year: Option<i32>,
    pub notes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
