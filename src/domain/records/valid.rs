//! Records in their checked, typed form: what `validate` returns and storage writes.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::SourceRecord;
use crate::domain::{
    codes::{CountryCode, CurrencyCode},
    kinds::{
        ActorKind, CoalitionKind, CommitmentKind, CommitmentRelation, CommitmentStatus, EventKind, ReportedCountKind,
        Stance,
    },
    money::Money,
};

/// A checked source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSource(pub SourceRecord);

/// A checked actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidActor {
    pub slug: String,
    pub name: String,
    pub kind: ActorKind,
    pub country: Option<CountryCode>,
    pub aliases: Vec<String>,
    pub sources: Vec<String>,
}

/// A checked event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvent {
    pub slug: String,
    pub name: String,
    pub kind: EventKind,
    pub city: Option<String>,
    pub country: Option<CountryCode>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub series: Option<String>,
    pub name_fr: Option<String>,
    pub sources: Vec<String>,
}

/// A checked commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCommitment {
    pub slug: String,
    pub title: String,
    pub pledger: String,
    pub event: Option<String>,
    pub beneficiary: Option<String>,
    pub announced_on: Option<NaiveDate>,
    pub money: Money,
    pub recipient_country: Option<CountryCode>,
    pub sector: Option<String>,
    pub horizon_year: Option<i32>,
    pub kind: CommitmentKind,
    pub status: CommitmentStatus,
    pub amount_disputed: bool,
    pub parent: Option<String>,
    pub relation: Option<CommitmentRelation>,
    pub notes: Option<String>,
    pub sources: Vec<String>,
    pub status_history: Vec<ValidStatus>,
    pub retraction: Option<ValidRetraction>,
}

/// A checked retraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRetraction {
    pub reason: String,
    pub retracted_on: Option<NaiveDate>,
    pub sources: Vec<String>,
}

/// A checked status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidStatus {
    pub status: CommitmentStatus,
    pub effective_on: Option<NaiveDate>,
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A checked fundraising target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTarget {
    pub actor: String,
    pub money: Money,
    pub horizon_year: Option<i32>,
    pub notes: Option<String>,
    pub sources: Vec<String>,
}

/// A checked overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidOverlap {
    pub later: String,
    pub earlier: Option<String>,
    pub money: Money,
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A checked coalition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCoalition {
    pub slug: String,
    pub name: String,
    pub kind: CoalitionKind,
    pub launched_on: Option<NaiveDate>,
    pub event: Option<String>,
    pub name_fr: Option<String>,
    pub sources: Vec<String>,
}

/// A checked signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSignature {
    pub coalition: String,
    pub actor: String,
    pub stance: Stance,
    pub initiator: bool,
    pub signed_on: Option<NaiveDate>,
    pub sources: Vec<String>,
    pub notes: Option<String>,
}

/// A checked claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidClaim {
    pub slug: String,
    pub commitment: String,
    pub claimant: String,
    pub claimed_on: Option<NaiveDate>,
    pub money: Money,
    pub preferred: bool,
    pub reason: Option<String>,
    pub notes: Option<String>,
    pub sources: Vec<String>,
}

/// A checked reported count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidReportedCount {
    pub coalition: String,
    pub reported_on: Option<NaiveDate>,
    pub count: crate::domain::reported::CountRange,
    pub kind: ReportedCountKind,
    pub wording: String,
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A checked exchange rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRate {
    pub date: NaiveDate,
    pub base: CurrencyCode,
    pub quote: CurrencyCode,
    pub rate: Decimal,
    pub sources: Vec<String>,
}
