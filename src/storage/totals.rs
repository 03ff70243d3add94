//! Totals: one GROUP BY over the counted amounts (integers, no join), converted and added up
//! by `domain::report`, cached until the next write.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::NaiveDate;
use entity::{actor, commitment, counted_amount::Column as Ca, event, status_history};
use sea_orm::{
    ConnectionTrait, FromQueryResult, Order, QueryResult, Statement, StatementBuilder,
    sea_query::{Alias, Condition, Expr, ExprTrait, Func, JoinType, Query, SelectStatement, WindowStatement},
};

use super::{
    Db, StorageResult,
    counting::{RETRACTED, data_version, load_rates},
    read::{CommitmentFilter, commitment_condition, ids_of_slugs, strs},
};
use crate::domain::{
    codes::CurrencyCode,
    counting::{Measure, Rule},
    fx::{FxPolicy, RateKey},
    kinds::{ActorKind, CommitmentKind, CommitmentStatus},
    report::{Bucket, GroupKey, Report, build},
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

/// One counted row behind a group, for "where does this number come from?".
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ContributionRow {
    pub commitment_id: i64,
    pub related_id: Option<i64>,
    pub rule: String,
    pub amount_low: i64,
    pub amount_high: i64,
    pub currency: String,
    pub rate_date: Option<NaiveDate>,
}

impl ContributionRow {
    /// The rule that made the row.
    pub fn rule(&self) -> Option<Rule> {
        Rule::parse(&self.rule)
    }
}

/// Most answers a server keeps; the whole cache is dropped at every write anyway.
const CACHE_CAPACITY: usize = 512;

/// Totals already answered at one data version.
#[derive(Debug, Default)]
pub struct TotalsCache {
    version: i64,
    entries: HashMap<String, Arc<Report>>,
    hits: u64,
    misses: u64,
}

/// A shared cache handle.
pub type SharedCache = Arc<Mutex<TotalsCache>>;

fn col(c: Ca) -> Expr {
    Expr::col((Alias::new("ca"), c))
}

fn dimension_expr(dimension: Dimension, as_of: Option<AsOf>) -> Expr {
    let text = |c: Ca| Expr::from(Func::cast_as(col(c), Alias::new("TEXT")));
    match dimension {
        Dimension::Event => text(Ca::EventId),
        Dimension::Pledger => text(Ca::PledgerId),
        Dimension::PledgerKind => col(Ca::PledgerKind),
        Dimension::PledgerCountry => col(Ca::PledgerCountry),
        Dimension::RecipientCountry => col(Ca::RecipientCountry),
        Dimension::Sector => col(Ca::Sector),
        Dimension::Kind => col(Ca::Kind),
        Dimension::Status => match as_of {
            Some(day) => status_at(Ca::CommitmentId, day),
            None => col(Ca::Status),
        },
        // A row counts under its owner's currency: a headline's carve-out of a part in another
        // currency stays in the headline's group, so the remainder is never split off negative.
        Dimension::Currency => col(Ca::OwnerCurrency),
        Dimension::Year => text(Ca::Year),
        Dimension::Month => col(Ca::Month),
    }
}

/// The status of the commitment in column `id` on `day`: the latest status change dated on
/// or before it (an announced commitment without a dated change counts as announced).
/// A total "as of" a day, and how statuses on that day are found: joined from one window
/// pass over the status history (PostgreSQL, where a subquery per counted row is slow), or
/// by an indexed subquery per row (SQLite, where that is the faster plan: 63 ms against
/// 171 ms for an as-of total by pledger at 100 000 commitments).
#[derive(Debug, Clone, Copy)]
struct AsOf {
    day: NaiveDate,
    joined: bool,
}

fn status_at(id: Ca, as_of: AsOf) -> Expr {
    if !as_of.joined {
        return status_subquery(id, as_of.day);
    }
    // The statuses on the day are joined by `from_counted` (aliases `so` and `sr`).
    let alias = if matches!(id, Ca::RelatedId) { "sr" } else { "so" };
    Func::coalesce([
        Expr::col((Alias::new(alias), Alias::new("status"))),
        Expr::val(CommitmentStatus::Announced.as_str()),
    ])
    .into()
}

fn status_subquery(id: Ca, day: NaiveDate) -> Expr {
    use status_history::Column as S;
    let latest = Query::select()
        .column(S::Status)
        .from(status_history::Entity)
        .and_where(Expr::col((status_history::Entity, S::CommitmentId)).eq(col(id)))
        .and_where(Expr::col((status_history::Entity, S::EffectiveOn)).lte(day))
        .order_by((status_history::Entity, S::EffectiveOn), Order::Desc)
        .order_by((status_history::Entity, S::Id), Order::Desc)
        .limit(1)
        .take();
    Func::coalesce([Expr::from(latest), Expr::val(CommitmentStatus::Announced.as_str())]).into()
}

/// Each commitment's status on `day`: its latest change dated on or before it (one window
/// pass over the status history, instead of a subquery per counted row).
fn statuses_on(day: NaiveDate) -> SelectStatement {
    use status_history::Column as S;
    let latest_first = WindowStatement::partition_by(S::CommitmentId)
        .order_by(S::EffectiveOn, Order::Desc)
        .order_by(S::Id, Order::Desc)
        .take();
    let ranked = Query::select()
        .column(S::CommitmentId)
        .column(S::Status)
        .expr_window_as(Expr::cust("ROW_NUMBER()"), latest_first, Alias::new("rn"))
        .from(status_history::Entity)
        .and_where(Expr::col(S::EffectiveOn).lte(day))
        .take();
    Query::select()
        .column(Alias::new("commitment_id"))
        .column(Alias::new("status"))
        .from_subquery(ranked, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("rn")).eq(1))
        .take()
}

/// The statuses a total counts: those asked for, else every one but WITHDRAWN.
fn counted_statuses(filter: &CommitmentFilter) -> Vec<&'static str> {
    if filter.statuses.is_empty() {
        CommitmentStatus::ALL.iter().filter(|s| **s != CommitmentStatus::Withdrawn).map(|s| s.as_str()).collect()
    } else {
        strs(&filter.statuses, CommitmentStatus::as_str)
    }
}

/// The filter on the owner's attributes (everything but status and dates of the as-of rule).
fn owner_condition(filter: &CommitmentFilter) -> Condition {
    let mut cond = Condition::all();
    let ids_in = |c: Ca, sub: SelectStatement| col(c).in_subquery(sub);
    if !filter.events.is_empty() {
        cond = cond.add(ids_in(
            Ca::EventId,
            ids_of_slugs::<event::Entity>(event::Column::Id, event::Column::Slug, &filter.events),
        ));
    }
    if !filter.pledgers.is_empty() {
        cond = cond.add(ids_in(
            Ca::PledgerId,
            ids_of_slugs::<actor::Entity>(actor::Column::Id, actor::Column::Slug, &filter.pledgers),
        ));
    }
    if !filter.beneficiaries.is_empty() {
        cond = cond.add(ids_in(
            Ca::BeneficiaryId,
            ids_of_slugs::<actor::Entity>(actor::Column::Id, actor::Column::Slug, &filter.beneficiaries),
        ));
    }
    if !filter.pledger_kinds.is_empty() {
        cond = cond.add(col(Ca::PledgerKind).is_in(strs(&filter.pledger_kinds, ActorKind::as_str)));
    }
    if !filter.pledger_countries.is_empty() {
        cond = cond.add(col(Ca::PledgerCountry).is_in(filter.pledger_countries.iter().cloned()));
    }
    if !filter.recipient_countries.is_empty() {
        cond = cond.add(col(Ca::RecipientCountry).is_in(filter.recipient_countries.iter().cloned()));
    }
    if !filter.sectors.is_empty() {
        cond = cond.add(col(Ca::Sector).is_in(filter.sectors.iter().cloned()));
    }
    if !filter.kinds.is_empty() {
        cond = cond.add(col(Ca::Kind).is_in(strs(&filter.kinds, CommitmentKind::as_str)));
    }
    if !filter.currencies.is_empty() {
        cond = cond.add(col(Ca::OwnerCurrency).is_in(filter.currencies.iter().cloned()));
    }
    if let Some(from) = filter.announced_from {
        cond = cond.add(col(Ca::AnnouncedOn).gte(from));
    }
    if let Some(to) = filter.announced_to {
        cond = cond.add(col(Ca::AnnouncedOn).lte(to));
    }
    // The rest is asked of the commitments table itself.
    let residual = CommitmentFilter {
        amount_min: filter.amount_min,
        amount_max: filter.amount_max,
        part_of: filter.part_of.clone(),
        relations: filter.relations.clone(),
        top_level: filter.top_level,
        text: filter.text.clone(),
        ..CommitmentFilter::default()
    };
    let residual_cond = commitment_condition(&residual);
    if !residual_cond.is_empty() {
        let ids =
            Query::select().column(commitment::Column::Id).from(commitment::Entity).cond_where(residual_cond).take();
        cond = cond.add(col(Ca::CommitmentId).in_subquery(ids));
    }
    cond
}

/// Rows that count: the owner passes the filter and its status (at the date) is counted,
/// and a carve-out or overlap counts only while its related commitment does too.
fn counted_condition(filter: &CommitmentFilter, as_of: Option<AsOf>) -> Condition {
    let statuses = counted_statuses(filter);
    let mut cond = owner_condition(filter);
    match as_of {
        None => {
            cond = cond
                .add(col(Ca::Status).is_in(statuses.clone()))
                .add(Condition::any().add(col(Ca::RelatedId).is_null()).add(col(Ca::RelatedStatus).is_in(statuses)));
        }
        Some(day) => {
            cond = cond
                .add(col(Ca::OwnerOn).lte(day.day))
                .add(status_at(Ca::CommitmentId, day).is_in(statuses.clone()))
                .add(
                    Condition::any().add(col(Ca::RelatedId).is_null()).add(
                        Condition::all()
                            .add(col(Ca::RelatedOn).lte(day.day))
                            .add(status_at(Ca::RelatedId, day).is_in(statuses)),
                    ),
                );
        }
    }
    cond
}

fn rate_key_expr(query: &TotalsQuery) -> Option<Expr> {
    let reporting = query.currency.as_str();
    let unless_reporting =
        |e: Expr| -> Expr { Expr::case(col(Ca::Currency).eq(reporting), Expr::null()).finally(e).into() };
    match query.fx {
        FxPolicy::AnnouncementDate => Some(unless_reporting(col(Ca::RateDate))),
        FxPolicy::YearlyAverage => {
            Some(unless_reporting(Expr::from(Func::cast_as(col(Ca::RateYear), Alias::new("TEXT")))))
        }
        FxPolicy::FixedDate(_) => None,
    }
}

/// `FROM counted_amounts ca`, and with `as_of` the statuses on that day of the owner (`so`)
/// and of the related commitment (`sr`).
fn from_counted(as_of: Option<AsOf>) -> SelectStatement {
    let mut select = Query::select().from_as(entity::counted_amount::Entity, Alias::new("ca")).take();
    if let Some(AsOf { day, joined: true }) = as_of {
        for (alias, column) in [("so", Ca::CommitmentId), ("sr", Ca::RelatedId)] {
            select.join_subquery(
                JoinType::LeftJoin,
                statuses_on(day),
                Alias::new(alias),
                Expr::col((Alias::new(alias), Alias::new("commitment_id"))).equals((Alias::new("ca"), column)),
            );
        }
    }
    select
}

fn sum(c: Ca) -> Expr {
    Func::cast_as(Func::sum(col(c)), Alias::new("BIGINT")).into()
}

/// 2^32: amounts are summed in two halves so that no number of rows overflows a BIGINT.
const HALF: i64 = 1 << 32;

/// `SUM(c / 2^32)` and `SUM(c % 2^32)` (both truncate towards zero on SQLite and
/// PostgreSQL, so `c = (c / 2^32) * 2^32 + c % 2^32` for every row): each half stays far
/// within a BIGINT for billions of rows, and the exact total is rebuilt in `i128`.
fn split_sum(c: Ca) -> (Expr, Expr) {
    let high = Func::cast_as(Func::sum(col(c).div(HALF)), Alias::new("BIGINT")).into();
    let low = Func::cast_as(Func::sum(col(c).modulo(HALF)), Alias::new("BIGINT")).into();
    (high, low)
}

/// The exact sum of the two halves of [`split_sum`] read from `row` as `{name}_h`, `{name}_l`.
fn joined_sum(row: &QueryResult, name: &str) -> Result<i128, sea_orm::DbErr> {
    let high = row.try_get::<Option<i64>>("", &format!("{name}_h"))?.unwrap_or(0);
    let low = row.try_get::<Option<i64>>("", &format!("{name}_l"))?.unwrap_or(0);
    Ok(i128::from(high) * i128::from(HALF) + i128::from(low))
}

fn statement<C: ConnectionTrait>(conn: &C, select: &SelectStatement) -> Statement {
    StatementBuilder::build(select, &conn.get_database_backend())
}

/// One GROUP BY row as a bucket.
fn bucket(row: &QueryResult, dims: usize, query: &TotalsQuery) -> StorageResult<Bucket> {
    let bad = |what: &str| sea_orm::DbErr::Custom(format!("totals: unexpected {what} in counted_amounts"));
    let mut key: GroupKey = Vec::with_capacity(dims);
    for i in 0..dims {
        key.push(row.try_get::<Option<String>>("", &format!("d{i}"))?);
    }
    let measure: String = row.try_get("", "measure")?;
    let currency: String = row.try_get("", "currency")?;
    let currency = CurrencyCode::parse("currency", &currency).map_err(|_| bad("currency"))?;
    let rate_key = if currency == query.currency {
        RateKey::Identity
    } else {
        match query.fx {
            FxPolicy::FixedDate(day) => RateKey::Day(day),
            FxPolicy::AnnouncementDate => match row.try_get::<Option<NaiveDate>>("", "rk")? {
                Some(day) => RateKey::Day(day),
                None => RateKey::Undated,
            },
            FxPolicy::YearlyAverage => match row.try_get::<Option<String>>("", "rk")? {
                Some(year) => RateKey::Year(year.parse().map_err(|_| bad("year"))?),
                None => RateKey::Undated,
            },
        }
    };
    Ok(Bucket {
        key,
        measure: Measure::parse(&measure).ok_or_else(|| bad("measure"))?,
        currency,
        rate_key,
        low: joined_sum(row, "low")?,
        high: joined_sum(row, "high")?,
        count: row.try_get::<Option<i64>>("", "n")?.unwrap_or(0),
    })
}

impl Db {
    /// A totals report, from the cache when no write happened since it was made.
    pub async fn totals(&self, query: &TotalsQuery) -> StorageResult<Arc<Report>> {
        let version = data_version(self.conn()).await?;
        let key = format!("{query:?}");
        {
            let mut cache = self.totals_cache.lock().expect("the cache lock is never poisoned");
            if cache.version != version {
                cache.version = version;
                cache.entries.clear();
            }
            if let Some(report) = cache.entries.get(&key).cloned() {
                cache.hits += 1;
                return Ok(report);
            }
            cache.misses += 1;
        }
        let report = Arc::new(self.compute_totals(query).await?);
        let mut cache = self.totals_cache.lock().expect("the cache lock is never poisoned");
        if cache.version == version {
            if cache.entries.len() >= CACHE_CAPACITY {
                cache.entries.clear();
            }
            cache.entries.insert(key, Arc::clone(&report));
        }
        Ok(report)
    }

    /// Cache hits and misses so far.
    pub fn totals_cache_stats(&self) -> (u64, u64) {
        let cache = self.totals_cache.lock().expect("the cache lock is never poisoned");
        (cache.hits, cache.misses)
    }

    async fn compute_totals(&self, query: &TotalsQuery) -> StorageResult<Report> {
        let as_of = self.as_of(query);
        let mut select = from_counted(as_of);
        let dims = query.group_by.len();
        for (i, d) in query.group_by.iter().enumerate() {
            select.expr_as(dimension_expr(*d, as_of), Alias::new(format!("d{i}")));
        }
        select
            .expr_as(col(Ca::Measure), Alias::new("measure"))
            .expr_as(col(Ca::Currency), Alias::new("currency"))
            .expr_as(sum(Ca::IsPrimary), Alias::new("n"));
        for (name, column) in [("low", Ca::AmountLow), ("high", Ca::AmountHigh)] {
            let (high, low) = split_sum(column);
            select.expr_as(high, Alias::new(format!("{name}_h"))).expr_as(low, Alias::new(format!("{name}_l")));
        }
        let rate = rate_key_expr(query);
        if let Some(rate) = &rate {
            select.expr_as(rate.clone(), Alias::new("rk"));
        }
        // An unquantified commitment adds nothing and is listed as excluded instead: it is
        // not counted, so that each matched commitment is counted or excluded, once.
        select.cond_where(counted_condition(&query.filter, as_of).add(col(Ca::Rule).ne(Rule::Unquantified.as_str())));
        for (i, _) in query.group_by.iter().enumerate() {
            select.group_by_col(Alias::new(format!("d{i}")));
        }
        select.group_by_col(Alias::new("measure")).group_by_col(Alias::new("currency"));
        if rate.is_some() {
            select.group_by_col(Alias::new("rk"));
        }
        let rows = self.conn().query_all_raw(statement(self.conn(), &select)).await?;
        let mut buckets = Vec::with_capacity(rows.len());
        let mut currencies: Vec<String> = vec![query.currency.as_str().to_owned()];
        for row in &rows {
            let bucket = bucket(row, dims, query)?;
            if !currencies.iter().any(|c| c == bucket.currency.as_str()) {
                currencies.push(bucket.currency.as_str().to_owned());
            }
            buckets.push(bucket);
        }
        let rates = load_rates(self.conn(), Some(&currencies)).await?;
        Ok(build(&buckets, query.currency, &rates))
    }

    /// The commitments matching the filter that a total leaves out, and why; at most
    /// `limit` per reason. `report` gives the buckets that had no exchange rate.
    pub async fn totals_excluded(
        &self,
        query: &TotalsQuery,
        report: &Report,
        limit: u64,
    ) -> StorageResult<Vec<Excluded>> {
        let as_of = self.as_of(query);
        let mut out = Vec::new();
        let owner = owner_condition(&query.filter);
        let primary = || col(Ca::IsPrimary).eq(1);
        // `statuses` says whether the condition reads the statuses on the day (the joins are
        // only made for those).
        let ids = |cond: Condition, statuses: bool| {
            let mut s = from_counted(as_of.filter(|_| statuses));
            s.expr_as(col(Ca::CommitmentId), Alias::new("id"))
                .cond_where(cond)
                .order_by((Alias::new("ca"), Ca::CommitmentId), Order::Asc)
                .limit(limit);
            s
        };
        if query.filter.statuses.is_empty() {
            let withdrawn = CommitmentStatus::Withdrawn.as_str();
            let status = match as_of {
                Some(day) => Condition::all()
                    .add(col(Ca::OwnerOn).lte(day.day))
                    .add(status_at(Ca::CommitmentId, day).eq(withdrawn)),
                None => Condition::all().add(col(Ca::Status).eq(withdrawn)),
            };
            for id in self.ids(&ids(owner.clone().add(primary()).add(status), true)).await? {
                out.push(Excluded { commitment_id: id, reason: ExclusionReason::Withdrawn, detail: None });
            }
        }
        let retracted = owner.clone().add(primary()).add(col(Ca::Status).eq(RETRACTED));
        for id in self.ids(&ids(retracted, false)).await? {
            out.push(Excluded { commitment_id: id, reason: ExclusionReason::Retracted, detail: None });
        }
        let counted = counted_condition(&query.filter, as_of);
        let unquantified = counted.clone().add(col(Ca::Rule).eq(Rule::Unquantified.as_str()));
        for id in self.ids(&ids(unquantified, true)).await? {
            out.push(Excluded { commitment_id: id, reason: ExclusionReason::Unquantified, detail: None });
        }
        if query.as_of.is_some() {
            let undated = owner.add(primary()).add(col(Ca::OwnerOn).is_null()).add(col(Ca::Status).ne(RETRACTED));
            for id in self.ids(&ids(undated, false)).await? {
                out.push(Excluded { commitment_id: id, reason: ExclusionReason::NoDate, detail: None });
            }
        }
        for missing in &report.unconverted {
            let mut cond = counted.clone().add(col(Ca::Currency).eq(missing.currency.as_str())).add(
                Condition::any()
                    .add(col(Ca::Rule).eq(Rule::Own.as_str()))
                    .add(col(Ca::Rule).eq(Rule::Confirmed.as_str())),
            );
            cond = match (query.fx, missing.rate_key) {
                (FxPolicy::AnnouncementDate, RateKey::Day(day)) => cond.add(col(Ca::RateDate).eq(day)),
                (FxPolicy::YearlyAverage, RateKey::Year(year)) => cond.add(col(Ca::RateYear).eq(year)),
                (FxPolicy::FixedDate(_), _) => cond,
                (_, _) => cond.add(col(Ca::RateDate).is_null()),
            };
            let detail = missing.reason.describe();
            for id in self.ids(&ids(cond, true)).await? {
                out.push(Excluded { commitment_id: id, reason: ExclusionReason::NoRate, detail: Some(detail.clone()) });
            }
        }
        Ok(out)
    }

    /// Commitments counted by the total that carry a data-quality finding; at most `limit`.
    pub async fn totals_flagged(&self, query: &TotalsQuery, limit: u64) -> StorageResult<Vec<Flagged>> {
        let as_of = self.as_of(query);
        let mut select = from_counted(as_of);
        select
            .expr_as(col(Ca::CommitmentId), Alias::new("commitment_id"))
            .expr_as(col(Ca::Flags), Alias::new("flags"))
            .cond_where(counted_condition(&query.filter, as_of).add(col(Ca::IsPrimary).eq(1)).add(col(Ca::Flags).ne(0)))
            .order_by((Alias::new("ca"), Ca::CommitmentId), Order::Asc)
            .limit(limit);
        #[derive(FromQueryResult)]
        struct Row {
            commitment_id: i64,
            flags: i32,
        }
        let rows = Row::find_by_statement(statement(self.conn(), &select)).all(self.conn()).await?;
        Ok(rows.into_iter().map(|r| Flagged { commitment_id: r.commitment_id, flags: r.flags }).collect())
    }

    /// Commitments an as-of total counts from their event's first day because they have no
    /// announcement day of their own; at most `limit` (none without `as_of`).
    pub async fn totals_dated_by_event(&self, query: &TotalsQuery, limit: u64) -> StorageResult<Vec<i64>> {
        let Some(as_of) = self.as_of(query) else { return Ok(Vec::new()) };
        let mut select = from_counted(Some(as_of));
        select
            .expr_as(col(Ca::CommitmentId), Alias::new("id"))
            .cond_where(
                counted_condition(&query.filter, Some(as_of))
                    .add(col(Ca::IsPrimary).eq(1))
                    .add(col(Ca::AnnouncedOn).is_null())
                    .add(col(Ca::Rule).ne(Rule::Unquantified.as_str())),
            )
            .order_by((Alias::new("ca"), Ca::CommitmentId), Order::Asc)
            .limit(limit);
        self.ids(&select).await
    }

    /// The counted rows behind one group of a report (its key in the query's `group_by`
    /// order), at most `limit`, by commitment.
    pub async fn totals_contributions(
        &self,
        query: &TotalsQuery,
        key: &GroupKey,
        limit: u64,
    ) -> StorageResult<Vec<ContributionRow>> {
        let as_of = self.as_of(query);
        let mut cond = counted_condition(&query.filter, as_of);
        for (d, value) in query.group_by.iter().zip(key) {
            let expr = dimension_expr(*d, as_of);
            cond = cond.add(match value {
                Some(v) => expr.eq(v.clone()),
                None => expr.is_null(),
            });
        }
        let mut select = from_counted(as_of);
        for (name, c) in [
            ("commitment_id", Ca::CommitmentId),
            ("related_id", Ca::RelatedId),
            ("rule", Ca::Rule),
            ("amount_low", Ca::AmountLow),
            ("amount_high", Ca::AmountHigh),
            ("currency", Ca::Currency),
            ("rate_date", Ca::RateDate),
        ] {
            select.expr_as(col(c), Alias::new(name));
        }
        select
            .cond_where(cond.add(col(Ca::Rule).ne(Rule::Unquantified.as_str())))
            .order_by((Alias::new("ca"), Ca::CommitmentId), Order::Asc)
            .order_by((Alias::new("ca"), Ca::Id), Order::Asc)
            .limit(limit);
        Ok(ContributionRow::find_by_statement(statement(self.conn(), &select)).all(self.conn()).await?)
    }

    fn as_of(&self, query: &TotalsQuery) -> Option<AsOf> {
        let joined = self.conn().get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        query.as_of.map(|day| AsOf { day, joined })
    }

    async fn ids(&self, select: &SelectStatement) -> StorageResult<Vec<i64>> {
        #[derive(FromQueryResult)]
        struct Id {
            id: i64,
        }
        let rows = Id::find_by_statement(statement(self.conn(), select)).all(self.conn()).await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }
}

impl Db {
    /// The published euro rates of these currencies.
    pub async fn rate_table(&self, currencies: &[String]) -> StorageResult<crate::domain::fx::RateTable> {
        Ok(load_rates(self.conn(), Some(currencies)).await?)
    }
}
