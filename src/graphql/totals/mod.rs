//! Totals, event comparisons and the foundation: thin resolvers over `storage::totals` and
//! `domain::report`.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object};

use super::{
    ContextExt,
    inputs::CommitmentFilterInput,
    scalars::{Date, Decimal},
    types::{Actor, Event, MoneyRange, loaded, stored},
};
use crate::{
    domain::{
        FieldError,
        codes::CurrencyCode,
        filters::CommitmentFilter,
        fx::{self, FxPolicy},
        kinds,
        report::{self, Pair},
        totals::{Dimension, Having, RankBy, Shape, TotalsQuery, order_by},
    },
    error::{ApiError, ApiResultExt},
};

mod answer;
mod compare;
mod contributions;
mod notes;
mod provenance;
mod whatif;

use super::known_version;
pub use answer::*;
pub use compare::*;
pub use contributions::*;
pub use notes::*;
pub use provenance::*;

/// Most groups, excluded commitments or warnings one answer lists.
const MAX_LISTED: u64 = 500;

/// A `first` argument: `default` when absent, else 0 to [`MAX_LISTED`].
fn listed(first: Option<i32>, default: u64) -> Result<u64, FieldError> {
    match first {
        None => Ok(default),
        Some(n) => u64::try_from(n)
            .ok()
            .filter(|n| *n <= MAX_LISTED)
            .ok_or_else(|| FieldError::new("first", format!("must be between 0 and {MAX_LISTED}"))),
    }
}

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
    /// The currency the commitment was announced in (a package's remainder counts in the
    /// package's currency, whatever its parts').
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
#[graphql(remote = "report::Basis")]
pub enum TotalsBasis {
    /// Money counted once, at its first announcement (the default).
    #[default]
    NewMoney,
    /// Every commitment as announced, money presented again included.
    AsAnnounced,
}

/// Group ordering.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(remote = "crate::domain::totals::Order")]
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

/// A checked `totals` request, run by the query and by the `totalsChanged` subscription.
pub(crate) struct TotalsRequest {
    query: Arc<TotalsQuery>,
    basis: TotalsBasis,
    shape: Shape,
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
        let first = listed(first, MAX_LISTED)?;
        let having = match having {
            Some(h) => {
                let minor = |field: &str, v: Option<Decimal>| v.map(|v| to_minor(field, v, currency)).transpose();
                Some(Having {
                    min_low: minor("having.minLow", h.min_low)?,
                    min_high: minor("having.minHigh", h.min_high)?,
                    max_high: minor("having.maxHigh", h.max_high)?,
                    min_count: h.min_count.map(i128::from),
                })
            }
            None => None,
        };
        let basis = basis.unwrap_or_default();
        let order = order_by.unwrap_or_default().into();
        Ok(Self {
            query: Arc::new(args.query()),
            basis,
            shape: Shape { basis: basis.into(), having, order, first: first as usize },
        })
    }

    /// The same request as the database knew it at `version` (transaction time).
    pub(crate) fn known_at(mut self, version: Option<i64>) -> Self {
        Arc::make_mut(&mut self.query).known_at = version;
        self
    }

    /// Runs the request (answered from the cache while the data version stands).
    pub(crate) async fn run(&self, db: &crate::storage::Db) -> Result<TotalsReport, ApiError> {
        let answered = db.totals(&self.query).await.api()?;
        let provenance = TotalsProvenance::of(&answered);
        let report = answered.report;
        let groups = self.shape.apply(&report.groups);
        Ok(TotalsReport {
            report,
            query: Arc::clone(&self.query),
            basis: self.basis,
            groups,
            claims: Vec::new(),
            provenance,
        })
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
            known_at: None,
        }
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
        #[graphql(desc = "Claims (`Commitment.claims`, by slug) to count instead of the recorded ones, at most \
                          one per commitment: how much a disagreement between sources moves the total.")]
        claims: Option<Vec<String>>,
        #[graphql(desc = "Answer as the tracker knew it at this moment: the figures, exclusions and \
                          statuses recorded then, before later edits, corrections and retractions. \
                          Combines with `asOf`.")]
        known_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<TotalsReport, ApiError> {
        let db = ctx.db()?;
        let request = TotalsRequest::new(filter, group_by, &currency, fx, as_of, basis, having, order_by, first)?
            .known_at(known_version(db, known_at).await?);
        request.run_claimed(db, &claims.unwrap_or_default()).await
    }

    /// Events side by side: new money and money presented again, counts, distinct pledgers,
    /// top pledgers, and each event's ratio to the first. Name the events (`slugs`, in
    /// your order) or a series (`series`: its editions, oldest first).
    #[graphql(complexity = "crate::graphql::cost::TOTALS + child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn compare_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The events, in the order to show them (1 to 20).")] slugs: Option<Vec<String>>,
        #[graphql(desc = "A series (see `Event.series`): its editions, oldest first.")] series: Option<String>,
        #[graphql(desc = "Reporting currency (ISO 4217).", default = "EUR")] currency: String,
        fx: Option<FxPolicyInput>,
        as_of: Option<Date>,
        #[graphql(desc = "Counted within every event (e.g. `kinds: [INVESTMENT]`, or `topLevel: true`); \
                          its `events` must stay empty: name the events in `slugs` or `series`.")]
        filter: Option<CommitmentFilterInput>,
        #[graphql(desc = "What `totals.low`/`high`, `ratioToFirst` and `topPledgers` are of (NEW_MONEY by default).")]
        basis: Option<TotalsBasis>,
        #[graphql(desc = "Answer as the tracker knew it at this moment (see `totals`).")] known_at: Option<
            chrono::DateTime<chrono::Utc>,
        >,
    ) -> Result<Vec<EventComparison>, ApiError> {
        let basis = basis.unwrap_or(TotalsBasis::NewMoney);
        let currency = self::currency("currency", &currency)?;
        let within = match filter {
            Some(f) if f.events.as_ref().is_some_and(|e| !e.is_empty()) => {
                return Err(FieldError::new("filter.events", "name the events in slugs or series").into());
            }
            Some(f) => f.into_filter()?,
            None => CommitmentFilter::default(),
        };
        let fx = fx.unwrap_or_default().into_policy("fx")?;
        let db = ctx.db()?;
        let known = known_version(db, known_at).await?;
        let events = match (slugs, series) {
            (Some(_), Some(_)) => return Err(FieldError::new("series", "name events or a series, not both").into()),
            (None, None) => return Err(FieldError::new("slugs", "name 1 to 20 events, or a series").into()),
            (None, Some(series)) => {
                let editions = db.events_in_series(&series).await.api()?;
                if editions.is_empty() {
                    return Err(FieldError::new("series", format!("no event of series {series:?}")).into());
                }
                if editions.len() > 20 {
                    return Err(FieldError::new("series", "has more than 20 editions: name them").into());
                }
                editions
            }
            (Some(slugs), None) => {
                if slugs.is_empty() || slugs.len() > 20 {
                    return Err(FieldError::new("slugs", "must name 1 to 20 events").into());
                }
                let mut events = Vec::with_capacity(slugs.len());
                for (i, slug) in slugs.iter().enumerate() {
                    events.push(
                        db.event_by_slug(slug)
                            .await
                            .api()?
                            .ok_or_else(|| FieldError::new(format!("slugs[{i}]"), format!("no event {slug:?}")))?,
                    );
                }
                events
            }
        };
        let mut out: Vec<EventComparison> = Vec::with_capacity(events.len());
        let mut first: Option<Pair> = None;
        for event in events {
            let slug = &event.slug;
            let filter = CommitmentFilter { events: vec![slug.clone()], ..within.clone() };
            let base = TotalsQuery {
                filter: filter.clone(),
                group_by: vec![],
                currency,
                fx,
                as_of: as_of.map(|d| d.0),
                known_at: known,
            };
            let total = db.totals(&base).await.api()?;
            let by_pledger = Arc::new(TotalsQuery { group_by: vec![Dimension::Pledger], ..base });
            let pledger_answer = db.totals(&by_pledger).await.api()?;
            let provenance = TotalsProvenance::of_both(&total, &pledger_answer);
            let (total, pledger_report) = (total.report, pledger_answer.report);
            let mut pledgers = pledger_report.groups.clone();
            order_by(&mut pledgers, RankBy::High, basis.into(), true);
            let counted = total.grand.of_basis(basis.into());
            let base_pair = *first.get_or_insert(counted);
            let ratio = ratio(counted.low, base_pair.low).zip(ratio(counted.high, base_pair.high));
            out.push(EventComparison {
                event: Event(event),
                ratio,
                pledgers,
                query: by_pledger,
                report: total,
                basis,
                provenance,
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
        #[graphql(desc = "Answer as the tracker knew it at this moment (see `totals`).")] known_at: Option<
            chrono::DateTime<chrono::Utc>,
        >,
    ) -> Result<Option<Foundation>, ApiError> {
        let db = ctx.db()?;
        let known = known_version(db, known_at).await?;
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
            known_at: known,
        });
        let answered = db.totals(&query).await.api()?;
        let provenance = TotalsProvenance::of(&answered);
        let report = answered.report;
        let pledged = report.grand.counted();
        let share = target.as_ref().and_then(|t| {
            let low = t.amount_low.map(i128::from)?;
            let high = t.amount_high.map(i128::from)?;
            Some(TotalRatio {
                low: Decimal::exact(ratio(pledged.low, high)?),
                high: Decimal::exact(ratio(pledged.high, low)?),
            })
        });
        Ok(Some(Foundation {
            target: target.map(|t| MoneyRange::from_stored(t.amount_low, t.amount_high, &t.currency)).transpose()?,
            pledged: TotalsAmounts::of(&report.grand, currency, TotalsBasis::NewMoney),
            share,
            actor: Actor(actor),
            provenance,
            query,
            report,
        }))
    }
}
