//! One source's (or one reading's) claim about a commitment's figure.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub commitment_id: i64,
    /// Who makes the claim ("Verdict; Maddyness", "the Élysée via AFP").
    pub claimant: String,
    pub claimed_on: Option<Date>,
    /// Minor units of `currency`.
    pub amount_low: Option<i64>,
    pub amount_high: Option<i64>,
    pub currency: String,
    pub currency_exponent: i16,
    /// The claim the commitment's recorded amount follows (one per commitment).
    pub preferred: bool,
    /// Why it is preferred (required when preferred).
    pub reason: Option<String>,
    pub notes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
