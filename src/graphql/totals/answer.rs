//! What a totals answer holds: groups and amounts per measure and currency (the rows behind
//! a group are in `contributions.rs`; rates, exclusions and warnings in `notes.rs`).

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};

use super::*;
use crate::graphql::{
    ContextExt,
    scalars::{Date, Decimal},
    types::{Actor, Event, loaded},
};
use crate::{
    domain::{
        codes::CurrencyCode,
        counting::flags,
        report::{Group, KeyValue, Pair, Report, Totals},
    },
    error::{ApiError, ApiResultExt},
    storage::totals::{Dimension, TotalsQuery},
};

/// A total in the reporting currency: the interval it lies in, and its two scenario sums.
#[derive(SimpleObject, Clone, Copy)]
pub struct TotalRange {
    /// The low end of the interval (never above `high`).
    pub low: Decimal,
    /// The high end of the interval.
    pub high: Decimal,
    /// Every range at its low end ("up to X" counts 0). Scenario sums add up across
    /// groups; for a headline's remainder without its parts this scenario is the larger.
    pub low_scenario: Decimal,
    /// Every range at its high end.
    pub high_scenario: Decimal,
}

impl TotalRange {
    pub(super) fn of(pair: Pair, exponent: u32) -> Self {
        let (low, high) = pair.interval().to_decimals(exponent);
        let (low_scenario, high_scenario) = pair.to_decimals(exponent);
        Self {
            low: Decimal(low),
            high: Decimal(high),
            low_scenario: Decimal(low_scenario),
            high_scenario: Decimal(high_scenario),
        }
    }
}

/// Money of one original currency in a total.
#[derive(SimpleObject)]
pub struct CurrencyBreakdown {
    /// ISO 4217 code.
    pub currency: String,
    /// Exact total in that currency: the low end.
    pub low: Decimal,
    /// Exact total in that currency: the high end.
    pub high: Decimal,
    /// Exact total in that currency, low scenario (adds up across groups).
    pub low_scenario: Decimal,
    /// Exact total in that currency, high scenario.
    pub high_scenario: Decimal,
    /// The same converted into the reporting currency.
    pub converted: TotalRange,
}

/// The measures of a total, in the reporting currency.
#[derive(SimpleObject)]
pub struct TotalsAmounts {
    /// Commitments counted (each once, whatever its number of rows).
    pub count: i64,
    /// The low end of the total of the basis (NEW_MONEY by default); never above `high`.
    pub low: Decimal,
    /// The high end of the total of the basis.
    pub high: Decimal,
    /// The low scenario total of the basis: every range at its low end. Scenario totals
    /// add up across groups exactly; `low`/`high` order them.
    pub low_scenario: Decimal,
    /// The high scenario total of the basis.
    pub high_scenario: Decimal,
    /// Money counted once, at its first announcement.
    pub new_money: TotalRange,
    /// Money as announced, including money presented again.
    pub as_announced: TotalRange,
    /// Money presented again that an earlier announcement already counted.
    pub represented: TotalRange,
    /// Money later announcements confirmed (not added to the total).
    pub confirmed: TotalRange,
    /// By original currency (on the report's basis): exact in that currency, and converted.
    pub by_currency: Vec<CurrencyBreakdown>,
}

/// The total a basis reports.
fn basis_pair(t: &Totals, basis: TotalsBasis) -> Pair {
    t.of_basis(basis.into())
}

impl TotalsAmounts {
    pub(super) fn of(t: &Totals, to: CurrencyCode, basis: TotalsBasis) -> Self {
        let e = to.exponent();
        let shown = TotalRange::of(basis_pair(t, basis), e);
        Self {
            count: t.count,
            low: shown.low,
            high: shown.high,
            low_scenario: shown.low_scenario,
            high_scenario: shown.high_scenario,
            new_money: TotalRange::of(t.counted(), e),
            as_announced: TotalRange::of(t.as_announced(), e),
            represented: TotalRange::of(Pair { low: -t.represented.low, high: -t.represented.high }, e),
            confirmed: TotalRange::of(t.confirmed, e),
            by_currency: t
                .by_currency
                .iter()
                .map(|p| {
                    let (original, converted) = match basis {
                        TotalsBasis::NewMoney => (p.counted_original(), p.counted_converted()),
                        TotalsBasis::AsAnnounced => (p.original, p.converted),
                    };
                    let exact = TotalRange::of(original, p.currency.exponent());
                    CurrencyBreakdown {
                        currency: p.currency.as_str().to_owned(),
                        low: exact.low,
                        high: exact.high,
                        low_scenario: exact.low_scenario,
                        high_scenario: exact.high_scenario,
                        converted: TotalRange::of(converted, e),
                    }
                })
                .collect(),
        }
    }
}

/// One value of a group's key.
pub struct TotalsKeyPart {
    dimension: Dimension,
    value: Option<KeyValue>,
}

impl TotalsKeyPart {
    fn id(&self) -> Option<i64> {
        self.value.as_ref().and_then(KeyValue::id)
    }

    fn text(&self) -> Option<String> {
        self.value.as_ref().map(ToString::to_string)
    }
}

#[Object]
impl TotalsKeyPart {
    /// The dimension.
    async fn dimension(&self) -> TotalsDimension {
        self.dimension.into()
    }
    /// The value: a slug for EVENT and PLEDGER, else the stored value (null: not recorded).
    async fn value(&self, ctx: &Context<'_>) -> Result<Option<String>, ApiError> {
        Ok(match self.dimension {
            Dimension::Event => self.event(ctx).await?.map(|e| e.0.slug),
            Dimension::Pledger => self.actor(ctx).await?.map(|a| a.0.slug),
            _ => self.text(),
        })
    }
    /// A readable label: the event's or pledger's name, else the value.
    async fn label(&self, ctx: &Context<'_>) -> Result<Option<String>, ApiError> {
        Ok(match self.dimension {
            Dimension::Event => self.event(ctx).await?.map(|e| e.0.name),
            Dimension::Pledger => self.actor(ctx).await?.map(|a| a.0.name),
            _ => self.text(),
        })
    }
    /// The event, for EVENT.
    async fn event(&self, ctx: &Context<'_>) -> Result<Option<Event>, ApiError> {
        match (self.dimension, self.id()) {
            (Dimension::Event, Some(id)) => Ok(loaded(ctx.loaders()?.events.load_one(id).await)?.map(Event)),
            _ => Ok(None),
        }
    }
    /// The pledger, for PLEDGER.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Actor>, ApiError> {
        match (self.dimension, self.id()) {
            (Dimension::Pledger, Some(id)) => Ok(loaded(ctx.loaders()?.actors.load_one(id).await)?.map(Actor)),
            _ => Ok(None),
        }
    }
}

/// A group of a totals report.
pub struct TotalsGroup {
    pub(super) group: Group,
    pub(super) query: Arc<TotalsQuery>,
    pub(super) basis: TotalsBasis,
}

impl TotalsGroup {
    fn shown(&self) -> TotalRange {
        TotalRange::of(basis_pair(&self.group.totals, self.basis), self.query.currency.exponent())
    }
}

#[Object]
impl TotalsGroup {
    /// One value per grouping dimension, in `groupBy` order.
    async fn key(&self) -> Vec<TotalsKeyPart> {
        self.query
            .group_by
            .iter()
            .zip(&self.group.key)
            .map(|(d, v)| TotalsKeyPart { dimension: *d, value: v.clone() })
            .collect()
    }
    /// The group's totals.
    async fn totals(&self) -> TotalsAmounts {
        TotalsAmounts::of(&self.group.totals, self.query.currency, self.basis)
    }
    /// Commitments counted.
    async fn count(&self) -> i64 {
        self.group.totals.count
    }
    /// The low end of the group's total (basis of the report); never above `high`.
    async fn low(&self) -> Decimal {
        self.shown().low
    }
    /// The high end of the group's total.
    async fn high(&self) -> Decimal {
        self.shown().high
    }
    /// The low scenario total: every range at its low end. The groups' scenario totals add
    /// up exactly to the grand total's.
    async fn low_scenario(&self) -> Decimal {
        self.shown().low_scenario
    }
    /// The high scenario total: every range at its high end.
    async fn high_scenario(&self) -> Decimal {
        self.shown().high_scenario
    }
    /// By original currency.
    async fn by_currency(&self) -> Vec<CurrencyBreakdown> {
        TotalsAmounts::of(&self.group.totals, self.query.currency, self.basis).by_currency
    }
    /// The counted rows behind the group: each commitment's own amount, the carve-outs of
    /// its parts, its overlaps and confirmations, by commitment.
    async fn contributions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Most rows (default 100, at most 500).")] first: Option<i32>,
    ) -> Result<Vec<Contribution>, ApiError> {
        let first = listed(first, 100)?;
        let db = ctx.db()?;
        let rows = db.totals_contributions(&self.query, &self.group.key, first).await.api()?;
        contributions(db, rows, &self.query).await
    }
}

/// A totals report.
pub struct TotalsReport {
    pub(super) report: Arc<Report>,
    pub(super) query: Arc<TotalsQuery>,
    pub(super) basis: TotalsBasis,
    pub(super) groups: Vec<Group>,
    /// The alternative claims the figures are computed under (none: the recorded ones).
    pub(super) claims: Vec<entity::claim::Model>,
    pub(super) provenance: TotalsProvenance,
}

impl TotalsReport {
    /// What a subscriber compares to tell whether the totals moved.
    pub(crate) fn fingerprint(&self) -> (Arc<Report>, Vec<Group>) {
        (Arc::clone(&self.report), self.groups.clone())
    }
}

#[Object]
impl TotalsReport {
    /// The reporting currency.
    async fn currency(&self) -> &'static str {
        self.query.currency.as_str()
    }
    /// The basis of `low`/`high`.
    async fn basis(&self) -> TotalsBasis {
        self.basis
    }
    /// Where the figures come from: computed for this request, updated from an earlier
    /// report with the rows written since, or the engine's cached report; and the data
    /// version they are exactly the data of.
    async fn provenance(&self) -> TotalsProvenance {
        self.provenance
    }
    /// The date the report answers as of, if any.
    async fn as_of(&self) -> Option<Date> {
        self.query.as_of.map(Date)
    }
    /// The groups (one, with an empty key, when nothing is grouped). Without `having`
    /// they add up exactly to `grandTotal`, in each scenario.
    async fn groups(&self) -> Vec<TotalsGroup> {
        self.groups
            .iter()
            .map(|g| TotalsGroup { group: g.clone(), query: Arc::clone(&self.query), basis: self.basis })
            .collect()
    }
    /// The total of every group (before `having` and `first`).
    async fn grand_total(&self) -> TotalsAmounts {
        TotalsAmounts::of(&self.report.grand, self.query.currency, self.basis)
    }
    /// The alternative claims these figures are computed under, in place of the recorded
    /// (preferred) ones (`totals(claims:)`); empty for the recorded figures. An answer under
    /// claims is computed for the request, never from the cache; its `excluded`, `warnings`
    /// and contributions describe the recorded data.
    async fn claims_used(&self) -> Vec<crate::graphql::types::Claim> {
        self.claims.iter().cloned().map(crate::graphql::types::Claim).collect()
    }
    /// Every exchange rate applied.
    async fn rates_used(&self) -> Vec<RateUsed> {
        rates_used(&self.report.rates)
    }
    /// Commitments matching the filter that the total leaves out, and why (at most 500
    /// per reason).
    async fn excluded(&self, ctx: &Context<'_>) -> Result<Vec<ExcludedCommitment>, ApiError> {
        excluded(ctx, &self.query, &self.report).await
    }
    /// Data-quality findings on the counted commitments (at most 500 commitments).
    async fn warnings(&self, ctx: &Context<'_>) -> Result<Vec<TotalsWarning>, ApiError> {
        let rows = ctx.db()?.totals_flagged(&self.query, MAX_LISTED).await.api()?;
        let mut out = Vec::new();
        for r in rows {
            for (bit, code) in [
                (flags::DISPUTED, WarningCode::AmountDisputed),
                (flags::PARTS_EXCEED_LOW | flags::PARTS_EXCEED_HIGH, WarningCode::PartsExceedHeadline),
                (flags::OVERLAP_EXCEEDS, WarningCode::OverlapExceedsAmount),
                (flags::UNCHECKED, WarningCode::Unchecked),
            ] {
                if r.flags & bit != 0 {
                    out.push(TotalsWarning { id: r.commitment_id, code });
                }
            }
        }
        let undated = ctx.db()?.totals_dated_by_event(&self.query, MAX_LISTED).await.api()?;
        out.extend(undated.into_iter().map(|id| TotalsWarning { id, code: WarningCode::DatedByEvent }));
        Ok(out)
    }
}
