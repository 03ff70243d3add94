//! What a totals answer holds: groups, amounts per measure and currency, the rows behind a
//! group, the rates used, exclusions and warnings.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::*;
use crate::graphql::{
    ContextExt,
    scalars::{Date, Decimal},
    types::{Actor, Commitment, Event, loaded, stored},
};
use crate::{
    domain::{
        codes::CurrencyCode,
        counting::{Rule, flags},
        fx::{self, RateKey},
        report::{Group, Pair, Report, Totals},
    },
    error::{ApiError, ApiResultExt},
    storage::totals::{ContributionRow, Dimension, ExclusionReason as Reason, TotalsQuery},
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
    value: Option<String>,
}

impl TotalsKeyPart {
    fn id(&self) -> Option<i64> {
        self.value.as_deref().and_then(|v| v.parse().ok())
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
            _ => self.value.clone(),
        })
    }
    /// A readable label: the event's or pledger's name, else the value.
    async fn label(&self, ctx: &Context<'_>) -> Result<Option<String>, ApiError> {
        Ok(match self.dimension {
            Dimension::Event => self.event(ctx).await?.map(|e| e.0.name),
            Dimension::Pledger => self.actor(ctx).await?.map(|a| a.0.name),
            _ => self.value.clone(),
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

/// Why a counted row exists.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Rule")]
pub enum CountingRule {
    /// The commitment's own amount.
    Own,
    /// Minus a part's amount, under its headline: the headline's unattributed remainder.
    CarveOut,
    /// Minus money an earlier announcement already counted.
    Overlap,
    /// A confirmation of an earlier pledge: in the confirmed measure only.
    Confirmed,
    /// Inside a DETAIL_OF breakdown: nothing counted.
    Detail,
    /// No amount: nothing counted.
    Unquantified,
}

/// One counted row behind a group: "where does this number come from?".
pub struct Contribution {
    row: ContributionRow,
    converted: Option<(i128, i128)>,
    to: CurrencyCode,
}

#[Object]
impl Contribution {
    /// The commitment the row is counted under.
    async fn commitment(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.row.commitment_id).await)?.map(Commitment))
    }
    /// Why the row exists.
    async fn rule(&self) -> Result<CountingRule, ApiError> {
        self.row.rule().map(Into::into).ok_or_else(|| ApiError::Internal(format!("unknown rule {}", self.row.rule)))
    }
    /// For CARVE_OUT the part, for OVERLAP the earlier commitment, for CONFIRMED the pledge
    /// it confirms, for DETAIL the pledge whose figure holds it (where its money counts).
    async fn related(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        let loaders = ctx.loaders()?;
        let load = |id: i64| async move { loaded(loaders.commitments.load_one(id).await) };
        match (self.row.rule(), self.row.related_id) {
            (_, Some(id)) => Ok(load(id).await?.map(Commitment)),
            (Some(Rule::Detail | Rule::Confirmed), None) => {
                // Up the parents while they are details themselves (bounded: imports refuse
                // cycles).
                let mut current = load(self.row.commitment_id).await?;
                for _ in 0..64 {
                    let Some(parent) = current.as_ref().and_then(|c| c.parent_id) else { break };
                    let parent = load(parent).await?;
                    let inside_detail = parent.as_ref().is_some_and(|p| p.relation.as_deref() == Some("DETAIL_OF"));
                    current = parent;
                    if !inside_detail {
                        break;
                    }
                }
                Ok(current.filter(|c| c.id != self.row.commitment_id).map(Commitment))
            }
            _ => Ok(None),
        }
    }
    /// Why the row counts what it counts, in words ("inside eu-investai-200bn: counted
    /// there").
    async fn reason(&self, ctx: &Context<'_>) -> Result<String, ApiError> {
        let related = self.related(ctx).await?.map(|c| c.0.slug);
        let related = related.as_deref().unwrap_or("another commitment");
        Ok(match self.row.rule() {
            Some(Rule::Own) => "its own amount".to_owned(),
            Some(Rule::CarveOut) => format!("minus its part {related}, which counts on its own"),
            Some(Rule::Overlap) => format!("minus money {related} announced first and counts"),
            Some(Rule::Confirmed) => format!("confirms {related}: shown as confirmed, not added again"),
            Some(Rule::Detail) => format!("inside {related}: counted there, so 0 here"),
            Some(Rule::Unquantified) => "no amount: nothing to add".to_owned(),
            None => return Err(ApiError::Internal(format!("unknown rule {}", self.row.rule))),
        })
    }
    /// The amount counted, exact, in its original currency (negative for carve-outs and
    /// overlaps).
    async fn original(&self) -> Result<OriginalAmount, ApiError> {
        let c = stored(CurrencyCode::parse("currency", &self.row.currency))?;
        let (low, high) =
            Pair { low: self.row.amount_low.into(), high: self.row.amount_high.into() }.to_decimals(c.exponent());
        Ok(OriginalAmount { low: Decimal(low), high: Decimal(high), currency: c.as_str().to_owned() })
    }
    /// The amount converted on its own (null without a rate). Converted alone, rows may
    /// differ from the group total by rounding; the group total shares it exactly.
    async fn converted(&self) -> Option<TotalRange> {
        self.converted.map(|(low, high)| TotalRange::of(Pair { low, high }, self.to.exponent()))
    }
    /// The date whose rate converts it.
    async fn rate_date(&self) -> Option<Date> {
        self.row.rate_date.map(Date)
    }
}

// An amount as recorded, before conversion. Its GraphQL name stays `TotalRangeIn` for the
// clients that already use it (schema.graphql is kept byte-identical).
/// A low/high pair in a named currency.
#[derive(SimpleObject)]
#[graphql(name = "TotalRangeIn")]
pub struct OriginalAmount {
    pub low: Decimal,
    pub high: Decimal,
    pub currency: String,
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

pub(super) async fn contributions(
    db: &crate::storage::Db,
    rows: Vec<ContributionRow>,
    query: &TotalsQuery,
) -> Result<Vec<Contribution>, ApiError> {
    let mut currencies: Vec<String> = rows.iter().map(|r| r.currency.clone()).collect();
    currencies.push(query.currency.as_str().to_owned());
    currencies.sort();
    currencies.dedup();
    let rates = db.rate_table(&currencies).await.api()?;
    let to = query.currency;
    Ok(rows
        .into_iter()
        .map(|row| {
            let converted = CurrencyCode::parse("currency", &row.currency).ok().and_then(|from| {
                let key = if from == to { RateKey::Identity } else { query.fx.key(row.rate_date) };
                let conversion = rates.conversion(from.as_str(), to.as_str(), key).ok()?;
                let low = fx::allocate(&[i128::from(row.amount_low)], from.exponent(), to.exponent(), &conversion).0;
                let high = fx::allocate(&[i128::from(row.amount_high)], from.exponent(), to.exponent(), &conversion).0;
                Some((low, high))
            });
            Contribution { row, converted, to }
        })
        .collect())
}

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
            rate: Decimal(r.rate),
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
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.id).await)?.map(Commitment))
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
    id: i64,
    code: WarningCode,
}

#[Object]
impl TotalsWarning {
    /// The commitment concerned.
    async fn commitment(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.id).await)?.map(Commitment))
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

/// A totals report.
pub struct TotalsReport {
    pub(super) report: Arc<Report>,
    pub(super) query: Arc<TotalsQuery>,
    pub(super) basis: TotalsBasis,
    pub(super) groups: Vec<Group>,
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
