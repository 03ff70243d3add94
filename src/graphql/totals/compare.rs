//! Comparisons between events, and the public-interest foundation's progress.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Object, SimpleObject};

use super::*;
use crate::graphql::{
    ContextExt,
    scalars::Decimal,
    types::{Actor, Event, MoneyRange},
};
use crate::{
    domain::report::{Group, Report},
    error::{ApiError, ApiResultExt},
    storage::totals::TotalsQuery,
};

/// One event of a comparison.
pub struct EventComparison {
    pub(super) event: Event,
    pub(super) ratio: Option<(rust_decimal::Decimal, rust_decimal::Decimal)>,
    pub(super) pledgers: Vec<Group>,
    /// By pledger (the filter is the event's).
    pub(super) query: Arc<TotalsQuery>,
    /// The event's total.
    pub(super) report: Arc<Report>,
    /// What `totals.low`/`high`, the ratio and the ranking are of.
    pub(super) basis: TotalsBasis,
    pub(super) provenance: TotalsProvenance,
}

#[Object]
impl EventComparison {
    /// The event.
    async fn event(&self) -> &Event {
        &self.event
    }
    /// Its totals: `newMoney` and `represented` side by side, `asAnnounced` for the total
    /// as announced at the event.
    async fn totals(&self) -> TotalsAmounts {
        TotalsAmounts::of(&self.report.grand, self.query.currency, self.basis)
    }
    /// Commitments counted.
    async fn count(&self) -> i64 {
        self.report.grand.count
    }
    /// Distinct pledgers with a counted commitment.
    async fn pledgers(&self) -> usize {
        self.pledgers.iter().filter(|g| g.totals.count > 0).count()
    }
    /// The largest pledgers by high total (on `basis`).
    async fn top_pledgers(
        &self,
        #[graphql(desc = "How many (default 5, at most 500).")] first: Option<i32>,
    ) -> Result<Vec<TotalsGroup>, ApiError> {
        let first = listed(first, 5)?;
        Ok(self
            .pledgers
            .iter()
            .filter(|g| g.totals.count > 0)
            .take(first as usize)
            .map(|g| TotalsGroup { group: g.clone(), query: Arc::clone(&self.query), basis: self.basis })
            .collect())
    }
    /// What `totals.low`/`high`, `ratioToFirst` and `topPledgers` are of: NEW_MONEY (money
    /// counted once, at its first announcement) or AS_ANNOUNCED (money presented again
    /// included). Quote the figure with it, and with `excluded`.
    async fn basis(&self) -> TotalsBasis {
        self.basis
    }
    /// This event's total divided by the first event's, on `basis`, per scenario (6
    /// decimals; null when the first event's total is zero).
    async fn ratio_to_first(&self) -> Option<TotalRatio> {
        self.ratio.map(|(low, high)| TotalRatio { low: Decimal::exact(low), high: Decimal::exact(high) })
    }
    /// Where the figures come from: computed for this request or from the engine's cache
    /// (of its total and its pledgers: COMPUTED if either was), and the data version.
    async fn provenance(&self) -> TotalsProvenance {
        self.provenance
    }
    /// The exchange rates applied to this event.
    async fn rates_used(&self) -> Vec<RateUsed> {
        rates_used(&self.report.rates)
    }
    /// The event's commitments left out of its total, and why (no rate for their day in
    /// the reporting currency, withdrawn, unquantified, …; at most 500 per reason).
    async fn excluded(&self, ctx: &Context<'_>) -> Result<Vec<ExcludedCommitment>, ApiError> {
        excluded(ctx, &self.query, &self.report).await
    }
}

/// A ratio per scenario.
#[derive(SimpleObject)]
pub struct TotalRatio {
    pub low: Decimal,
    pub high: Decimal,
}

pub(super) fn ratio(value: i128, base: i128) -> Option<rust_decimal::Decimal> {
    if base == 0 {
        return None;
    }
    let v = rust_decimal::Decimal::from_i128_with_scale(value, 0);
    let b = rust_decimal::Decimal::from_i128_with_scale(base, 0);
    v.checked_div(b)
        .map(|r| r.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointNearestEven).normalize())
}

/// A foundation: its endowment target and what was pledged towards it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Foundation {
    /// The foundation.
    pub actor: Actor,
    /// Its fundraising target (null when none is recorded).
    pub target: Option<MoneyRange>,
    /// ENDOWMENT commitments for it, in the target's currency (else EUR).
    pub pledged: TotalsAmounts,
    /// `pledged` over `target`: low = pledged low / target high, high = pledged high /
    /// target low (6 decimals; null without a target).
    pub share: Option<TotalRatio>,
    /// Where `pledged` comes from: computed for this request or from the engine's cache,
    /// and the data version.
    pub provenance: TotalsProvenance,
    #[graphql(skip)]
    pub(super) query: Arc<TotalsQuery>,
    #[graphql(skip)]
    pub(super) report: Arc<Report>,
}

#[ComplexObject]
impl Foundation {
    /// The endowment commitments for it, with the amount counted for each.
    async fn contributions(&self, ctx: &Context<'_>) -> Result<Vec<Contribution>, ApiError> {
        let db = ctx.db()?;
        let rows = db.totals_contributions(&self.query, &Vec::new(), MAX_LISTED).await.api()?;
        contributions(db, rows, &self.query).await
    }
    /// The exchange rates applied.
    async fn rates_used(&self) -> Vec<RateUsed> {
        rates_used(&self.report.rates)
    }
    /// Commitments left out of `pledged`, and why.
    async fn excluded(&self, ctx: &Context<'_>) -> Result<Vec<ExcludedCommitment>, ApiError> {
        excluded(ctx, &self.query, &self.report).await
    }
}
