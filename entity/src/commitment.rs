//! An announced or committed amount of money (or an unquantified pledge).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commitments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    pub title_folded: String,
    pub pledger_id: i64,
    pub event_id: Option<i64>,
    pub beneficiary_id: Option<i64>,
    pub announced_on: Option<Date>,
    /// Low end in minor units of `currency`; `None` for "up to X" and unquantified pledges.
    pub amount_low: Option<i64>,
    /// High end in minor units of `currency`; `None` for unquantified pledges.
    pub amount_high: Option<i64>,
    pub currency: String,
    /// ISO 4217 exponent of `currency` (EUR 2, JPY 0): minor units = units × 10^exponent.
    pub currency_exponent: i16,
    pub recipient_country: Option<String>,
    pub sector: Option<String>,
    pub kind: String,
    pub horizon_year: Option<i32>,
    pub status: String,
    pub amount_disputed: bool,
    pub parent_id: Option<i64>,
    pub relation: Option<String>,
    pub notes: Option<String>,
    pub version: i32,
    /// When the tracker retracted the figure (see `retraction_reason`).
    pub retracted_on: Option<Date>,
    /// Why the figure was retracted; `None` while it stands.
    pub retraction_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
