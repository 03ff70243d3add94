//! What a reader can ask a list or a total to keep: filters as plain data. Storage
//! translates them into SQL (`storage::read::filter`), once.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::kinds::{ActorKind, CommitmentKind, CommitmentRelation, CommitmentStatus, Stance};

/// Filters on commitments; an empty list or `None` does not filter.
#[derive(Debug, Clone, Default)]
pub struct CommitmentFilter {
    pub events: Vec<String>,
    pub pledgers: Vec<String>,
    pub pledger_kinds: Vec<ActorKind>,
    pub pledger_countries: Vec<String>,
    pub beneficiaries: Vec<String>,
    pub recipient_countries: Vec<String>,
    pub sectors: Vec<String>,
    pub kinds: Vec<CommitmentKind>,
    pub statuses: Vec<CommitmentStatus>,
    pub currencies: Vec<String>,
    pub announced_from: Option<NaiveDate>,
    pub announced_to: Option<NaiveDate>,
    /// Keeps commitments whose range reaches at least this amount (original currency).
    pub amount_min: Option<Decimal>,
    /// Keeps commitments whose range starts at most at this amount (original currency).
    pub amount_max: Option<Decimal>,
    /// Children of this commitment.
    pub part_of: Option<String>,
    pub relations: Vec<CommitmentRelation>,
    /// `Some(true)`: only rows without parent; `Some(false)`: only rows with one.
    pub top_level: Option<bool>,
    pub text: Option<String>,
    /// Last written at or after this moment.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Last written before this moment.
    pub updated_before: Option<chrono::DateTime<chrono::Utc>>,
    /// The rows as the database knew them at this data version (`knownAt`), not today's.
    /// A list reads it; totals take theirs in `TotalsQuery::known_at`.
    pub known: Option<i64>,
}

/// Orders of the commitments list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitmentOrder {
    /// Newest announcement first; unknown dates last.
    AnnouncedOnDesc,
    /// Oldest announcement first; unknown dates last.
    AnnouncedOnAsc,
    /// By title.
    TitleAsc,
    /// Last written first ("what changed lately").
    UpdatedAtDesc,
}

/// Filters on actors.
#[derive(Debug, Clone, Default)]
pub struct ActorFilter {
    pub kinds: Vec<ActorKind>,
    pub countries: Vec<String>,
    pub text: Option<String>,
}

/// Filters on a coalition's signatures.
#[derive(Debug, Clone, Default)]
pub struct SignatureFilter {
    pub stances: Vec<Stance>,
    pub actor_kinds: Vec<ActorKind>,
    pub countries: Vec<String>,
}
