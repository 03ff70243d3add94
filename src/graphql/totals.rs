//! Totals, event comparisons and the foundation: thin resolvers over `storage::totals` and
//! `domain::report`.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject};

use super::{
    ContextExt,
    inputs::CommitmentFilterInput,
    scalars::{Date, Decimal},
    types::{Actor, Commitment, Event, MoneyRange, loaded, stored},
};
use crate::{
    domain::{
        FieldError,
        codes::CurrencyCode,
        counting::{Rule, flags},
        fx::{self, FxPolicy, RateKey},
        kinds,
        report::{self, Group, Measured, Pair, Report, Totals},
    },
    error::{ApiError, ApiResultExt},
    storage::{
        read::CommitmentFilter,
        totals::{ContributionRow, Dimension, ExclusionReason as Reason, TotalsQuery},
    },
};

/// Most groups, excluded commitments or warnings one answer lists.
const MAX_LISTED: u64 = 500;

/// What totals can be grouped by; any combination, in the order given.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Dimension")]
pub enum TotalsDimension {
    /// The event (key: its slug).
    Event,
    /// The pledger (key: its slug).
    Pledger,
    /// The pledger's kind.
    PledgerKind,
    /// The pledger's country.
    PledgerCountry,
    /// The country where the money goes.
    RecipientCountry,
    /// The sector.
    Sector,
    /// The kind of commitment.
    Kind,
    /// The status (on `asOf` when given).
    Status,
    /// The original currency of the money.
    Currency,
    /// The year of the announcement (else of the event's start).
    Year,
    /// The month (`YYYY-MM`) of the announcement (else of the event's start).
    Month,
}

/// Which exchange rate converts an amount.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum FxMethod {
    /// The ECB rate of the commitment's announcement date (the last one published on or
    /// before it, at most 7 days earlier).
    #[default]
    AnnouncementDate,
    /// The ECB rate of one date (`date`) for every amount, with the same 7-day look-back.
    FixedDate,
    /// The mean of the ECB rates published in the year of the announcement.
    YearlyAverage,
}

/// The exchange-rate policy of a total.
#[derive(InputObject, Clone, Copy, Default)]
#[graphql(name = "FxPolicy")]
pub struct FxPolicyInput {
    /// The method (default ANNOUNCEMENT_DATE).
    pub method: Option<FxMethod>,
    /// The date of FIXED_DATE.
    pub date: Option<Date>,
}

impl FxPolicyInput {
    fn into_policy(self, field: &str) -> Result<FxPolicy, ApiError> {
        match (self.method.unwrap_or_default(), self.date) {
            (FxMethod::AnnouncementDate, None) => Ok(FxPolicy::AnnouncementDate),
            (FxMethod::YearlyAverage, None) => Ok(FxPolicy::YearlyAverage),
            (FxMethod::FixedDate, Some(d)) => Ok(FxPolicy::FixedDate(d.0)),
            (FxMethod::FixedDate, None) => {
                Err(FieldError::new(format!("{field}.date"), "is required with FIXED_DATE").into())
            }
            (_, Some(_)) => Err(FieldError::new(format!("{field}.date"), "is only used with FIXED_DATE").into()),
        }
    }
}

/// Whether money presented again at a later event counts there too.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum TotalsBasis {
    /// Money counted once, at its first announcement (the default).
    #[default]
    NewMoney,
    /// Every commitment as announced, money presented again included.
    AsAnnounced,
}

/// Group ordering.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum TotalsOrder {
    /// By key (the default).
    #[default]
    Key,
    /// Largest high total first.
    HighDesc,
    /// Largest low total first.
    LowDesc,
    /// Smallest high total first.
    HighAsc,
    /// Most commitments first.
    CountDesc,
}

/// Keeps groups whose totals are within bounds (in the reporting currency).
#[derive(InputObject, Clone, Copy, Default)]
pub struct TotalsHaving {
    /// Low total at least this.
    pub min_low: Option<Decimal>,
    /// High total at least this.
    pub min_high: Option<Decimal>,
    /// High total at most this.
    pub max_high: Option<Decimal>,
    /// At least this many commitments.
    pub min_count: Option<i32>,
}

fn currency(field: &str, raw: &str) -> Result<CurrencyCode, ApiError> {
    Ok(CurrencyCode::parse(field, raw)?)
}

fn to_minor(field: &str, value: Decimal, currency: CurrencyCode) -> Result<i128, ApiError> {
    let scaled = crate::domain::money::scaled(value.0, currency.exponent())
        .ok_or_else(|| ApiError::from(FieldError::new(field, "is too large")))?;
    if !scaled.fract().is_zero() {
        return Err(FieldError::new(field, "has more decimal places than the reporting currency").into());
    }
    use rust_decimal::prelude::ToPrimitive;
    scaled.to_i128().ok_or_else(|| FieldError::new(field, "is too large").into())
}

/// A low/high pair of totals in the reporting currency.
#[derive(SimpleObject, Clone, Copy)]
pub struct TotalRange {
    /// Every range at its low end ("up to X" counts 0).
    pub low: Decimal,
    /// Every range at its high end.
    pub high: Decimal,
}

impl TotalRange {
    fn of(pair: Pair, exponent: u32) -> Self {
        let (low, high) = pair.to_decimals(exponent);
        Self { low: Decimal(low), high: Decimal(high) }
    }
}

/// Money of one original currency in a total.
#[derive(SimpleObject)]
pub struct CurrencyBreakdown {
    /// ISO 4217 code.
    pub currency: String,
    /// Exact total in that currency, low scenario.
    pub low: Decimal,
    /// Exact total in that currency, high scenario.
    pub high: Decimal,
    /// The same converted into the reporting currency.
    pub converted: TotalRange,
}

/// The measures of a total, in the reporting currency.
#[derive(SimpleObject)]
pub struct TotalsAmounts {
    /// Commitments counted (each once, whatever its number of rows).
    pub count: i64,
    /// Low scenario total of the basis (NEW_MONEY by default).
    pub low: Decimal,
    /// High scenario total of the basis.
    pub high: Decimal,
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
    match basis {
        TotalsBasis::NewMoney => t.counted(),
        TotalsBasis::AsAnnounced => t.as_announced(),
    }
}

impl TotalsAmounts {
    fn of(t: &Totals, to: CurrencyCode, basis: TotalsBasis) -> Self {
        let e = to.exponent();
        let (low, high) = basis_pair(t, basis).to_decimals(e);
        Self {
            count: t.count,
            low: Decimal(low),
            high: Decimal(high),
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
                    let (low, high) = original.to_decimals(p.currency.exponent());
                    CurrencyBreakdown {
                        currency: p.currency.as_str().to_owned(),
                        low: Decimal(low),
                        high: Decimal(high),
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
    /// For CARVE_OUT the part, for OVERLAP the earlier commitment.
    async fn related(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        match self.row.related_id {
            Some(id) => Ok(loaded(ctx.loaders()?.commitments.load_one(id).await)?.map(Commitment)),
            None => Ok(None),
        }
    }
    /// The amount counted, exact, in its original currency (negative for carve-outs and
    /// overlaps).
    async fn original(&self) -> Result<TotalRangeIn, ApiError> {
        let c = stored(CurrencyCode::parse("currency", &self.row.currency))?;
        let (low, high) =
            Pair { low: self.row.amount_low.into(), high: self.row.amount_high.into() }.to_decimals(c.exponent());
        Ok(TotalRangeIn { low: Decimal(low), high: Decimal(high), currency: c.as_str().to_owned() })
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

/// A low/high pair in a named currency.
#[derive(SimpleObject)]
pub struct TotalRangeIn {
    pub low: Decimal,
    pub high: Decimal,
    pub currency: String,
}

/// A group of a totals report.
pub struct TotalsGroup {
    group: Group,
    query: Arc<TotalsQuery>,
    basis: TotalsBasis,
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
    /// Low scenario total (basis of the report).
    async fn low(&self) -> Decimal {
        TotalRange::of(basis_pair(&self.group.totals, self.basis), self.query.currency.exponent()).low
    }
    /// High scenario total (basis of the report).
    async fn high(&self) -> Decimal {
        TotalRange::of(basis_pair(&self.group.totals, self.basis), self.query.currency.exponent()).high
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
        let first = first.unwrap_or(100);
        if !(0..=MAX_LISTED as i32).contains(&first) {
            return Err(FieldError::new("first", format!("must be between 0 and {MAX_LISTED}")).into());
        }
        let db = ctx.db()?;
        let rows = db.totals_contributions(&self.query, &self.group.key, first as u64).await.api()?;
        contributions(db, rows, &self.query).await
    }
}

async fn contributions(
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

fn rates_used(rates: &[fx::EuroRate]) -> Vec<RateUsed> {
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

async fn excluded(
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
        }
    }
}

/// A totals report.
pub struct TotalsReport {
    report: Arc<Report>,
    query: Arc<TotalsQuery>,
    basis: TotalsBasis,
    groups: Vec<Group>,
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
        Ok(out)
    }
}

/// `having` in minor units of the reporting currency.
#[derive(Clone, Copy)]
struct Bounds {
    min_low: Option<i128>,
    min_high: Option<i128>,
    max_high: Option<i128>,
    min_count: Option<i128>,
}

/// A checked `totals` request, run by the query and by the `totalsChanged` subscription.
pub(crate) struct TotalsRequest {
    query: Arc<TotalsQuery>,
    basis: TotalsBasis,
    having: Option<Bounds>,
    order_by: TotalsOrder,
    first: usize,
}

impl TotalsRequest {
    /// Checks the arguments; each error names its argument.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        filter: Option<CommitmentFilterInput>,
        group_by: Option<Vec<TotalsDimension>>,
        currency: &str,
        fx: Option<FxPolicyInput>,
        as_of: Option<Date>,
        basis: Option<TotalsBasis>,
        having: Option<TotalsHaving>,
        order_by: Option<TotalsOrder>,
        first: Option<i32>,
    ) -> Result<Self, ApiError> {
        let currency = self::currency("currency", currency)?;
        let mut group_by: Vec<Dimension> = group_by.unwrap_or_default().into_iter().map(Into::into).collect();
        let before = group_by.len();
        let mut seen = Vec::new();
        group_by.retain(|d| {
            let fresh = !seen.contains(d);
            seen.push(*d);
            fresh
        });
        if group_by.len() != before {
            return Err(FieldError::new("groupBy", "names a dimension twice").into());
        }
        let args = TotalsArgs {
            filter: filter.unwrap_or_default().into_filter()?,
            group_by,
            currency,
            fx: fx.unwrap_or_default().into_policy("fx")?,
            as_of: as_of.map(|d| d.0),
        };
        let first = first.unwrap_or(MAX_LISTED as i32);
        if !(0..=MAX_LISTED as i32).contains(&first) {
            return Err(FieldError::new("first", format!("must be between 0 and {MAX_LISTED}")).into());
        }
        let having = match having {
            Some(h) => {
                let minor = |field: &str, v: Option<Decimal>| v.map(|v| to_minor(field, v, currency)).transpose();
                Some(Bounds {
                    min_low: minor("having.minLow", h.min_low)?,
                    min_high: minor("having.minHigh", h.min_high)?,
                    max_high: minor("having.maxHigh", h.max_high)?,
                    min_count: h.min_count.map(i128::from),
                })
            }
            None => None,
        };
        Ok(Self {
            query: Arc::new(args.query()),
            basis: basis.unwrap_or_default(),
            having,
            order_by: order_by.unwrap_or_default(),
            first: first as usize,
        })
    }

    /// Runs the request (answered from the cache while the data version stands).
    pub(crate) async fn run(&self, db: &crate::storage::Db) -> Result<TotalsReport, ApiError> {
        let report = db.totals(&self.query).await.api()?;
        let mut groups = report.groups.clone();
        if let Some(b) = self.having {
            report::having(&mut groups, Measured::Low, b.min_low, None);
            report::having(&mut groups, Measured::High, b.min_high, b.max_high);
            report::having(&mut groups, Measured::Count, b.min_count, None);
        }
        match self.order_by {
            TotalsOrder::Key => {}
            TotalsOrder::HighDesc => report::order_by(&mut groups, Measured::High, true),
            TotalsOrder::LowDesc => report::order_by(&mut groups, Measured::Low, true),
            TotalsOrder::HighAsc => report::order_by(&mut groups, Measured::High, false),
            TotalsOrder::CountDesc => report::order_by(&mut groups, Measured::Count, true),
        }
        groups.truncate(self.first);
        Ok(TotalsReport { report, query: Arc::clone(&self.query), basis: self.basis, groups })
    }
}

/// Arguments shared by `totals` and `compareEvents`.
pub(crate) struct TotalsArgs {
    pub filter: CommitmentFilter,
    pub group_by: Vec<Dimension>,
    pub currency: CurrencyCode,
    pub fx: FxPolicy,
    pub as_of: Option<chrono::NaiveDate>,
}

impl TotalsArgs {
    fn query(self) -> TotalsQuery {
        TotalsQuery {
            filter: self.filter,
            group_by: self.group_by,
            currency: self.currency,
            fx: self.fx,
            as_of: self.as_of,
        }
    }
}

/// One event of a comparison.
pub struct EventComparison {
    event: Event,
    totals: Totals,
    ratio: Option<(rust_decimal::Decimal, rust_decimal::Decimal)>,
    pledgers: Vec<Group>,
    query: Arc<TotalsQuery>,
    rates: Vec<fx::EuroRate>,
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
        TotalsAmounts::of(&self.totals, self.query.currency, TotalsBasis::NewMoney)
    }
    /// Commitments counted.
    async fn count(&self) -> i64 {
        self.totals.count
    }
    /// Distinct pledgers with a counted commitment.
    async fn pledgers(&self) -> usize {
        self.pledgers.iter().filter(|g| g.totals.count > 0).count()
    }
    /// The largest pledgers by high total (new money).
    async fn top_pledgers(
        &self,
        #[graphql(desc = "How many (default 5, at most 500).")] first: Option<i32>,
    ) -> Result<Vec<TotalsGroup>, ApiError> {
        let first = first.unwrap_or(5);
        if !(0..=MAX_LISTED as i32).contains(&first) {
            return Err(FieldError::new("first", format!("must be between 0 and {MAX_LISTED}")).into());
        }
        Ok(self
            .pledgers
            .iter()
            .filter(|g| g.totals.count > 0)
            .take(first as usize)
            .map(|g| TotalsGroup { group: g.clone(), query: Arc::clone(&self.query), basis: TotalsBasis::NewMoney })
            .collect())
    }
    /// This event's new money divided by the first event's, per scenario (6 decimals; null
    /// when the first event's total is zero).
    async fn ratio_to_first(&self) -> Option<TotalRatio> {
        self.ratio.map(|(low, high)| TotalRatio { low: Decimal(low), high: Decimal(high) })
    }
    /// The exchange rates applied to this event.
    async fn rates_used(&self) -> Vec<RateUsed> {
        rates_used(&self.rates)
    }
}

/// A ratio per scenario.
#[derive(SimpleObject)]
pub struct TotalRatio {
    pub low: Decimal,
    pub high: Decimal,
}

fn ratio(value: i128, base: i128) -> Option<rust_decimal::Decimal> {
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
    #[graphql(skip)]
    query: Arc<TotalsQuery>,
    #[graphql(skip)]
    report: Arc<Report>,
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

/// Totals queries.
#[derive(Default)]
pub struct TotalsQueryRoot;

#[Object]
impl TotalsQueryRoot {
    /// Exact totals of the commitments matching `filter`, grouped by any dimensions, in one
    /// reporting currency, with every rate shown and nothing counted twice.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::cost::TOTALS + child_complexity")]
    async fn totals(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommitmentFilterInput>,
        #[graphql(desc = "Dimensions to group by, in order (none: one group).")] group_by: Option<Vec<TotalsDimension>>,
        #[graphql(desc = "Reporting currency (ISO 4217).", default = "EUR")] currency: String,
        #[graphql(desc = "Exchange-rate policy (default: the rate of each announcement date).")] fx: Option<
            FxPolicyInput,
        >,
        #[graphql(desc = "Answer as of this date: what was announced by then, with its status then.")] as_of: Option<
            Date,
        >,
        #[graphql(desc = "NEW_MONEY (default): money counted once; AS_ANNOUNCED: as announced.")] basis: Option<
            TotalsBasis,
        >,
        #[graphql(desc = "Keep only groups within these bounds.")] having: Option<TotalsHaving>,
        #[graphql(desc = "Group order (default KEY).")] order_by: Option<TotalsOrder>,
        #[graphql(desc = "Most groups (default and maximum 500).")] first: Option<i32>,
    ) -> Result<TotalsReport, ApiError> {
        let request = TotalsRequest::new(filter, group_by, &currency, fx, as_of, basis, having, order_by, first)?;
        request.run(ctx.db()?).await
    }

    /// Events side by side: new money and money presented again, counts, distinct pledgers,
    /// top pledgers, and each event's ratio to the first.
    #[graphql(complexity = "crate::graphql::cost::TOTALS + child_complexity")]
    async fn compare_events(
        &self,
        ctx: &Context<'_>,
        slugs: Vec<String>,
        #[graphql(desc = "Reporting currency (ISO 4217).", default = "EUR")] currency: String,
        fx: Option<FxPolicyInput>,
        as_of: Option<Date>,
    ) -> Result<Vec<EventComparison>, ApiError> {
        let currency = self::currency("currency", &currency)?;
        let fx = fx.unwrap_or_default().into_policy("fx")?;
        if slugs.is_empty() || slugs.len() > 20 {
            return Err(FieldError::new("slugs", "must name 1 to 20 events").into());
        }
        let db = ctx.db()?;
        let mut out: Vec<EventComparison> = Vec::with_capacity(slugs.len());
        let mut first: Option<Pair> = None;
        for (i, slug) in slugs.iter().enumerate() {
            let event = db
                .event_by_slug(slug)
                .await
                .api()?
                .ok_or_else(|| FieldError::new(format!("slugs[{i}]"), format!("no event {slug:?}")))?;
            let filter = CommitmentFilter { events: vec![slug.clone()], ..CommitmentFilter::default() };
            let base =
                TotalsQuery { filter: filter.clone(), group_by: vec![], currency, fx, as_of: as_of.map(|d| d.0) };
            let total = db.totals(&base).await.api()?;
            let by_pledger = Arc::new(TotalsQuery { group_by: vec![Dimension::Pledger], ..base });
            let pledger_report = db.totals(&by_pledger).await.api()?;
            let mut pledgers = pledger_report.groups.clone();
            report::order_by(&mut pledgers, Measured::High, true);
            let counted = total.grand.counted();
            let base_pair = *first.get_or_insert(counted);
            let ratio = ratio(counted.low, base_pair.low).zip(ratio(counted.high, base_pair.high));
            out.push(EventComparison {
                event: Event(event),
                totals: total.grand.clone(),
                ratio,
                pledgers,
                query: by_pledger,
                rates: total.rates.clone(),
            });
        }
        Ok(out)
    }

    /// A foundation (an actor of kind FOUNDATION): its endowment target, the ENDOWMENT
    /// commitments for it, and the share of the target reached.
    #[graphql(complexity = "crate::graphql::cost::FOUNDATION + child_complexity")]
    async fn foundation(
        &self,
        ctx: &Context<'_>,
        slug: String,
        fx: Option<FxPolicyInput>,
    ) -> Result<Option<Foundation>, ApiError> {
        let db = ctx.db()?;
        let Some(actor) = db.actor_by_slug(&slug).await.api()? else { return Ok(None) };
        if stored(kinds::ActorKind::parse("kind", &actor.kind))? != kinds::ActorKind::Foundation {
            return Err(FieldError::new("slug", format!("{slug:?} is not a foundation ({})", actor.kind)).into());
        }
        let target = loaded(ctx.loaders()?.targets.load_one(actor.id).await)?;
        let currency = match &target {
            Some(t) => stored(CurrencyCode::parse("currency", &t.currency))?,
            None => CurrencyCode::parse("currency", fx::EURO)?,
        };
        let query = Arc::new(TotalsQuery {
            filter: CommitmentFilter {
                beneficiaries: vec![slug.clone()],
                kinds: vec![kinds::CommitmentKind::Endowment],
                ..CommitmentFilter::default()
            },
            group_by: vec![],
            currency,
            fx: fx.unwrap_or_default().into_policy("fx")?,
            as_of: None,
        });
        let report = db.totals(&query).await.api()?;
        let pledged = report.grand.counted();
        let share = target.as_ref().and_then(|t| {
            let low = t.amount_low.map(i128::from)?;
            let high = t.amount_high.map(i128::from)?;
            Some(TotalRatio { low: Decimal(ratio(pledged.low, high)?), high: Decimal(ratio(pledged.high, low)?) })
        });
        Ok(Some(Foundation {
            target: target.map(|t| MoneyRange::from_stored(t.amount_low, t.amount_high, &t.currency)).transpose()?,
            pledged: TotalsAmounts::of(&report.grand, currency, TotalsBasis::NewMoney),
            share,
            actor: Actor(actor),
            query,
            report,
        }))
    }
}
