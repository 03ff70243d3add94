//! What a total says beside its figures: the rates it applied, what it left out and why,
//! and data-quality warnings.

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::*;
use crate::graphql::{
    ContextExt,
    scalars::{Date, Decimal},
    types::{Commitment, loaded},
};
use crate::{
    domain::{
        fx::{self},
        report::Report,
    },
    error::{ApiError, ApiResultExt},
    storage::totals::{ExclusionReason as Reason, TotalsQuery},
};

/// A published ECB rate that a total applied.
#[derive(SimpleObject)]
pub struct RateUsed {
    /// Publication date (for a yearly average, the last date averaged).
    pub date: Date,
    /// Always EUR: ECB euro reference rates.
    pub base: String,
    /// The quoted currency.
    pub quote: String,
    /// Units of `quote` per 1 EUR.
    pub rate: Decimal,
    /// For YEARLY_AVERAGE, the year averaged.
    pub average_year: Option<i32>,
    /// For YEARLY_AVERAGE, how many published rates the mean is of.
    pub average_of: Option<i32>,
}

pub(super) fn rates_used(rates: &[fx::EuroRate]) -> Vec<RateUsed> {
    rates
        .iter()
        .map(|r| RateUsed {
            date: Date(r.on),
            base: fx::EURO.to_owned(),
            quote: r.quote.clone(),
            rate: Decimal::exact(r.rate),
            average_year: r.average_of.map(|(y, _)| y),
            average_of: r.average_of.map(|(_, n)| n as i32),
        })
        .collect()
}

pub(super) async fn excluded(
    ctx: &Context<'_>,
    query: &TotalsQuery,
    report: &Report,
) -> Result<Vec<ExcludedCommitment>, ApiError> {
    let rows = ctx.db()?.totals_excluded(query, report, MAX_LISTED).await.api()?;
    Ok(rows
        .into_iter()
        .map(|e| ExcludedCommitment { id: e.commitment_id, reason: e.reason, detail: e.detail })
        .collect())
}

/// Why a commitment matching the filter is not in a total.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Reason")]
pub enum ExclusionReason {
    /// Withdrawn (on `asOf` when given); ask for the status to include it.
    Withdrawn,
    /// No amount to add ("several billion").
    Unquantified,
    /// No exchange rate to convert it (see `detail`).
    NoRate,
    /// No date, so an `asOf` answer cannot place it.
    NoDate,
    /// Retracted by the tracker (see the commitment's `retraction`).
    Retracted,
}

/// A commitment left out of a total, and why.
pub struct ExcludedCommitment {
    id: i64,
    reason: Reason,
    detail: Option<String>,
}

#[Object]
impl ExcludedCommitment {
    /// The commitment.
    async fn commitment(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.id).await)?.map(Commitment::now))
    }
    /// Why it is left out.
    async fn reason(&self) -> ExclusionReason {
        self.reason.into()
    }
    /// More about the reason.
    async fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

/// A data-quality finding about a counted commitment.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum WarningCode {
    /// Sources disagree on the amount: counted as its low/high pair.
    AmountDisputed,
    /// The parts add up to more than their headline: the parts are counted.
    PartsExceedHeadline,
    /// Money presented again is larger than the later commitment: capped at it.
    OverlapExceedsAmount,
    /// Parts or overlaps in another currency could not be compared (no rate).
    Unchecked,
    /// No announcement day: an `asOf` answer counts it from its event's first day.
    DatedByEvent,
}

/// A warning of a totals report.
pub struct TotalsWarning {
    pub(super) id: i64,
    pub(super) code: WarningCode,
}

#[Object]
impl TotalsWarning {
    /// The commitment concerned.
    async fn commitment(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.id).await)?.map(Commitment::now))
    }
    /// What was found.
    async fn code(&self) -> WarningCode {
        self.code
    }
    /// The finding in words.
    async fn message(&self) -> &'static str {
        match self.code {
            WarningCode::AmountDisputed => "sources disagree on the amount; counted as its low/high pair",
            WarningCode::PartsExceedHeadline => "its parts add up to more than the headline; the parts are counted",
            WarningCode::OverlapExceedsAmount => "the money presented again exceeds the amount; capped at the amount",
            WarningCode::Unchecked => "parts or overlaps in another currency could not be compared: no rate",
            WarningCode::DatedByEvent => "no announcement day recorded: counted from its event's first day",
        }
    }
}
