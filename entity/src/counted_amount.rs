//! Derived: the money the totals engine counts for a commitment, with the attributes totals
//! group by copied beside it. Rebuilt inside every write transaction; never edited by hand.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "counted_amounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The commitment whose attributes the row is grouped by.
    pub commitment_id: i64,
    /// The part (carve-out) or earlier commitment (overlap) the row depends on.
    pub related_id: Option<i64>,
    /// OWN, CARVE_OUT, OVERLAP, CONFIRMED, DETAIL or UNQUANTIFIED.
    pub rule: String,
    /// NEW, REPRESENTED, CONFIRMED or UNCOUNTED.
    pub measure: String,
    /// 1 on the one row per commitment that counts it.
    pub is_primary: i32,
    /// Data-quality bits (see `domain::counting::flags`).
    pub flags: i32,
    pub amount_low: i64,
    pub amount_high: i64,
    pub currency: String,
    pub currency_exponent: i16,
    /// The date that picks the exchange rate.
    pub rate_date: Option<Date>,
    pub rate_year: Option<i32>,
    /// When the owner was announced (else its event's start).
    pub owner_on: Option<Date>,
    /// When the related commitment was announced (else its event's start).
    pub related_on: Option<Date>,
    /// The owner's announcement date, as recorded.
    pub announced_on: Option<Date>,
    pub status: String,
    pub related_status: Option<String>,
    pub event_id: Option<i64>,
    pub pledger_id: i64,
    pub pledger_kind: String,
    pub pledger_country: Option<String>,
    pub beneficiary_id: Option<i64>,
    pub recipient_country: Option<String>,
    pub sector: Option<String>,
    pub kind: String,
    pub owner_currency: String,
    pub year: Option<i32>,
    /// `YYYY-MM`.
    pub month: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
