//! Where a totals answer's figures come from: computed for the request, brought up to
//! date from the change log, or the engine's cached report; and of which data version.

use async_graphql::{Enum, SimpleObject};

use crate::storage::totals::Answered;

/// How the engine made a totals answer.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "crate::storage::totals::Served")]
pub enum TotalsServedBy {
    /// Summed from the counted rows for this request.
    Computed,
    /// The report of an earlier data version, brought up to date for this request with the
    /// rows written since (exactly what a recomputation gives).
    Updated,
    /// The report of this data version made for an earlier request, from the engine's cache.
    Cached,
}

/// Where a totals answer's figures come from.
#[derive(SimpleObject, Clone, Copy, Debug)]
pub struct TotalsProvenance {
    /// How the engine made the answer. A whole answer replayed from the response cache
    /// (HTTP header `x-pledgewatch-cache: hit`) repeats what its first answer said here.
    pub served_by: TotalsServedBy,
    /// The data version whose data the figures are exactly (every write increments it; the
    /// change events give it as `dataVersion`). Null under `claims`: a what-if is the data
    /// of no version.
    pub data_version: Option<i64>,
}

impl TotalsProvenance {
    /// The provenance of one report.
    pub(super) fn of(answered: &Answered) -> Self {
        Self { served_by: answered.served.into(), data_version: Some(answered.version) }
    }

    /// The provenance of an answer made of two reports (each read in its own snapshot):
    /// the least cached way, and the earlier version.
    pub(super) fn of_both(a: &Answered, b: &Answered) -> Self {
        Self { served_by: a.served.and(b.served).into(), data_version: Some(a.version.min(b.version)) }
    }

    /// A what-if under claims: computed for the request, the data of no version.
    pub(super) fn what_if() -> Self {
        Self { served_by: TotalsServedBy::Computed, data_version: None }
    }
}
