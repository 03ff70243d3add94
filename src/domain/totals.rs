//! The totals question and the shape of its answer, in one place: what a total filters and
//! groups by, why a matched commitment is left out, and how groups are kept, ordered and cut
//! (always by the figures a reader sees). Storage answers the question (`storage::totals`);
//! the report is built in [`super::report`]; GraphQL only converts and presents.
//!
//! The rules a total follows, each property-tested (`tests/it/properties.rs`):
//! - a package's remainder counts under the package's own attributes, currency included, so
//!   no group is negative money;
//! - `low`/`high` are an interval (never inverted); the scenario sums beside them add up;
//! - every commitment a filter matches is counted, or excluded with one [`ExclusionReason`];
//! - `having`, `orderBy` and `first` act on the interval on the report's basis, and never
//!   change the grand total.

use chrono::NaiveDate;

use super::{
    codes::CurrencyCode,
    filters::CommitmentFilter,
    fx::FxPolicy,
    report::{Basis, Group},
};

/// What totals can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The event (key: its id).
    Event,
    /// The pledger (key: its id).
    Pledger,
    PledgerKind,
    PledgerCountry,
    RecipientCountry,
    Sector,
    Kind,
    /// The status (as of the report's date, when it has one).
    Status,
    /// The currency the commitment was announced in (a package's remainder counts in the
    /// package's currency, whatever its parts').
    Currency,
    /// The year of the announcement (else of the event's start).
    Year,
    /// `YYYY-MM` of the announcement (else of the event's start).
    Month,
}

/// A totals question.
#[derive(Debug, Clone)]
pub struct TotalsQuery {
    pub filter: CommitmentFilter,
    pub group_by: Vec<Dimension>,
    pub currency: CurrencyCode,
    pub fx: FxPolicy,
    /// Answer as of this date: only what was announced by then, with the status it had.
    pub as_of: Option<NaiveDate>,
    /// Answer as the database knew it at this data version (transaction time): before the
    /// edits, corrections and retractions written since.
    pub known_at: Option<i64>,
}

/// Why a commitment matching the filter adds nothing to a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExclusionReason {
    /// Withdrawn (at the report's date); ask for the status to include it.
    Withdrawn,
    /// No amount to add.
    Unquantified,
    /// No exchange rate to convert it.
    NoRate,
    /// No announcement or event date, so an as-of answer cannot place it.
    NoDate,
    /// Retracted by the tracker.
    Retracted,
}

/// A commitment left out of a total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    pub commitment_id: i64,
    pub reason: ExclusionReason,
    pub detail: Option<String>,
}

/// A commitment with a data-quality finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    pub commitment_id: i64,
    pub flags: i32,
}

/// Which figure orders or filters groups: the low or high end of the interval shown, or
/// the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    Low,
    High,
    Count,
}

/// Keeps the groups whose figure (on `basis`; minor units of the reporting currency for
/// money) is at least `min` and at most `max`.
pub fn having(groups: &mut Vec<Group>, rank: RankBy, basis: Basis, min: Option<i128>, max: Option<i128>) {
    groups.retain(|g| {
        let v = value(g, rank, basis);
        min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m)
    });
}

/// Orders groups by a figure on `basis` (ties keep key order).
pub fn order_by(groups: &mut [Group], rank: RankBy, basis: Basis, descending: bool) {
    groups.sort_by(|a, b| {
        let (x, y) = (value(a, rank, basis), value(b, rank, basis));
        if descending { y.cmp(&x) } else { x.cmp(&y) }
    });
}

/// The figure a reader sees: the ends of the group's interval on `basis`.
fn value(g: &Group, rank: RankBy, basis: Basis) -> i128 {
    let shown = g.totals.of_basis(basis).interval();
    match rank {
        RankBy::Low => shown.low,
        RankBy::High => shown.high,
        RankBy::Count => i128::from(g.totals.count),
    }
}

/// `having`: bounds on the shown figures, in minor units of the reporting currency (counts
/// as numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Having {
    pub min_low: Option<i128>,
    pub min_high: Option<i128>,
    pub max_high: Option<i128>,
    pub min_count: Option<i128>,
}

/// The order of groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// By key.
    #[default]
    Key,
    HighDesc,
    LowDesc,
    HighAsc,
    CountDesc,
}

/// How an answer's groups are kept, ordered and cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub basis: Basis,
    pub having: Option<Having>,
    pub order: Order,
    pub first: usize,
}

impl Shape {
    /// The groups a reader gets: kept by `having`, ordered, at most `first`.
    pub fn apply(&self, groups: &[Group]) -> Vec<Group> {
        let mut groups = groups.to_vec();
        let basis = self.basis;
        if let Some(h) = self.having {
            having(&mut groups, RankBy::Low, basis, h.min_low, None);
            having(&mut groups, RankBy::High, basis, h.min_high, h.max_high);
            having(&mut groups, RankBy::Count, basis, h.min_count, None);
        }
        match self.order {
            Order::Key => {}
            Order::HighDesc => order_by(&mut groups, RankBy::High, basis, true),
            Order::LowDesc => order_by(&mut groups, RankBy::Low, basis, true),
            Order::HighAsc => order_by(&mut groups, RankBy::High, basis, false),
            Order::CountDesc => order_by(&mut groups, RankBy::Count, basis, true),
        }
        groups.truncate(self.first);
        groups
    }
}
