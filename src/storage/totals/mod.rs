//! Totals: one GROUP BY over the counted amounts (integers, no join), converted and added up
//! by `domain::report`, cached until the next write.

use chrono::NaiveDate;
use entity::counted_amount::Column as Ca;
use futures_util::TryStreamExt;
use sea_orm::{
    ConnectionTrait, FromQueryResult, Order, StreamTrait,
    sea_query::{Alias, Condition, Expr, ExprTrait, Query, SelectStatement},
};

mod cache;
mod rates;
mod sql;
pub(crate) mod sums;
mod varying;

pub use self::cache::{Answered, Served, SharedCache, TotalsCache};
use self::{
    cache::{BucketKey, Linear, Sums, bucket},
    rates::LoadedRates,
    sql::*,
    varying::{Resolved, stored_rows_are_linear},
};
use super::{Db, StorageResult, counting::RETRACTED};
pub use crate::domain::totals::{Dimension, Excluded, ExclusionReason, Flagged, TotalsQuery};
use crate::domain::{
    counting::{Rule, flags},
    fx::{FxPolicy, RateKey, rate_window},
    kinds::CommitmentStatus,
    report::{Bucket, GroupKey, Report, build},
};

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

/// Where linear sums are read: the counted rows, or the change log's rows of the
/// versions after `after` up to `upto` (signed: −1 for rows a write removed).
#[derive(Debug, Clone, Copy)]
pub(super) enum Source {
    Table,
    Log { after: i64, upto: i64 },
}

impl Db {
    /// The linear sums of a total (every counted row but those of varying families), from
    /// the counted rows or, signed, from the change log: summed as [`Summing`] says, and on
    /// SQLite again in two halves when a plain sum leaves the integer range.
    async fn linear<C: ConnectionTrait + StreamTrait>(
        &self,
        conn: &C,
        query: &TotalsQuery,
        as_of: Option<AsOf>,
        source: Source,
    ) -> StorageResult<Vec<(BucketKey, Sums)>> {
        // A question the write-time sums hold is added up from them.
        if let (Source::Table, None, Some(level)) = (source, as_of, sums::answer(query)) {
            self.totals_cache.lock().expect("the cache lock is never poisoned").from_sums += 1;
            return self.linear_from_sums(conn, query, level).await;
        }
        match self.linear_sums(conn, query, as_of, source, Summing::first(conn)).await {
            Err(e) if sum_overflowed(&e) => self.linear_sums(conn, query, as_of, source, Summing::Split).await,
            result => result,
        }
    }

    async fn linear_sums<C: ConnectionTrait + StreamTrait>(
        &self,
        conn: &C,
        query: &TotalsQuery,
        as_of: Option<AsOf>,
        source: Source,
        summing: Summing,
    ) -> StorageResult<Vec<(BucketKey, Sums)>> {
        let (mut select, signed): (SelectStatement, fn(Ca) -> Expr) = match source {
            Source::Table => (from_counted(as_of, query.known_at), col),
            Source::Log { .. } => {
                (Query::select().from_as(Alias::new("counted_changes"), Alias::new("ca")).take(), |c| {
                    Expr::col((Alias::new("ca"), Alias::new("sign"))).mul(col(c))
                })
            }
        };
        let backend = ConnectionTrait::get_database_backend(conn);
        select_key(&mut select, query, as_of, backend);
        let rows = match source {
            Source::Table => Expr::cust("COUNT(*)"),
            Source::Log { .. } => Expr::col((Alias::new("ca"), Alias::new("sign"))),
        };
        select
            .expr_as(col(Ca::Measure), Alias::new("measure"))
            .expr_as(col(Ca::Currency), Alias::new("currency"))
            .expr_as(sum(signed(Ca::IsPrimary)), Alias::new("n"))
            .expr_as(
                match source {
                    Source::Table => rows,
                    Source::Log { .. } => sum(rows),
                },
                Alias::new("rows"),
            );
        for (name, column) in [("low", Ca::AmountLow), ("high", Ca::AmountHigh)] {
            summing.select(&mut select, name, signed(column));
        }
        // An unquantified commitment adds nothing and is listed as excluded instead: it is
        // not counted, so that each matched commitment is counted or excluded, once.
        let mut cond = counted_condition(query, as_of, self.text_index())
            .add(col(Ca::Rule).ne(Rule::Unquantified.as_str()))
            .add(stored_rows_are_linear());
        if let Source::Log { after, upto } = source {
            let version = Expr::col((Alias::new("ca"), Alias::new("version")));
            cond = cond.add(version.clone().gt(after)).add(version.lte(upto));
        }
        select.cond_where(cond);
        by_bucket(&mut select, query);
        self.buckets(conn, query, &select, summing).await
    }

    /// The buckets of a statement of linear sums, row by row: a grouping by day holds some
    /// ten thousand buckets at a million rows, and each database row costs far more memory
    /// than the bucket made of it.
    async fn buckets<C: ConnectionTrait + StreamTrait>(
        &self,
        conn: &C,
        query: &TotalsQuery,
        select: &SelectStatement,
        summing: Summing,
    ) -> StorageResult<Vec<(BucketKey, Sums)>> {
        let backend = ConnectionTrait::get_database_backend(conn);
        let rows = conn.stream_raw(statement(conn, select)).await?;
        let mut rows = std::pin::pin!(rows);
        let mut buckets = Vec::new();
        while let Some(row) = rows.try_next().await? {
            buckets.push(bucket(&row, query, summing, backend)?);
        }
        Ok(buckets)
    }

    /// The report of linear sums and the rows of the varying families resolved for it,
    /// with the rates it was converted at: those of `reuse` when they cover its buckets
    /// (the caller knows that no rate changed since they were read), else read again.
    async fn report_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        query: &TotalsQuery,
        linear: &Linear,
        varying: &[Resolved],
        reuse: Option<&LoadedRates>,
    ) -> StorageResult<(Report, LoadedRates)> {
        let mut buckets: Vec<Bucket> = linear
            .iter()
            .map(|(b, s)| Bucket {
                key: b.key.clone(),
                measure: b.measure,
                currency: b.currency,
                rate_key: b.rate_key,
                low: s.low,
                high: s.high,
                count: s.count,
            })
            .collect();
        for resolved in varying {
            let row = &resolved.row;
            buckets.push(Bucket {
                key: resolved.key.clone(),
                measure: row.rule.measure(),
                currency: row.currency,
                rate_key: if row.currency == query.currency { RateKey::Identity } else { query.fx.key(row.date) },
                low: i128::from(row.low),
                high: i128::from(row.high),
                count: i64::from(row.primary),
            });
        }
        // One order, whatever order the database or the map gave.
        buckets.sort_by(|a, b| {
            (&a.key, a.measure, a.currency.as_str(), a.rate_key).cmp(&(
                &b.key,
                b.measure,
                b.currency.as_str(),
                b.rate_key,
            ))
        });
        let mut currencies: Vec<String> = vec![query.currency.as_str().to_owned()];
        for b in &buckets {
            if !currencies.iter().any(|c| c == b.currency.as_str()) {
                currencies.push(b.currency.as_str().to_owned());
            }
        }
        let window = rate_window(buckets.iter().map(|b| b.rate_key));
        let rates = LoadedRates::for_buckets(conn, reuse, currencies, window).await?;
        Ok((build(&buckets, query.currency, rates.table()), rates))
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
        let owner = owner_condition(query, self.text_index());
        let primary = || col(Ca::IsPrimary).eq(1);
        // `statuses` says whether the condition reads the statuses on the day (the joins are
        // only made for those).
        let ids = |cond: Condition, statuses: bool| {
            let mut s = from_counted(as_of.filter(|_| statuses), query.known_at);
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
        let counted = counted_condition(query, as_of, self.text_index());
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
        let mut select = from_counted(as_of, query.known_at);
        select
            .expr_as(col(Ca::CommitmentId), Alias::new("commitment_id"))
            .expr_as(col(Ca::Flags), Alias::new("flags"))
            .cond_where(
                counted_condition(query, as_of, self.text_index())
                    .add(col(Ca::IsPrimary).eq(1))
                    .add(col(Ca::Flags).bit_and(flags::FINDINGS).ne(0)),
            )
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
        let mut select = from_counted(Some(as_of), query.known_at);
        select
            .expr_as(col(Ca::CommitmentId), Alias::new("id"))
            .cond_where(
                counted_condition(query, Some(as_of), self.text_index())
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
        let mut cond = counted_condition(query, as_of, self.text_index());
        for (d, value) in query.group_by.iter().zip(key) {
            cond = cond.add(dimension_is(*d, as_of, value));
        }
        let mut select = contribution_select(as_of, query.known_at);
        select
            .cond_where(cond.add(col(Ca::Rule).ne(Rule::Unquantified.as_str())).add(stored_rows_are_linear()))
            .limit(limit);
        let mut rows = ContributionRow::find_by_statement(statement(self.conn(), &select)).all(self.conn()).await?;
        for resolved in self.resolved_varying(self.conn(), query, as_of, None).await? {
            if &resolved.key != key {
                continue;
            }
            rows.push(resolved.into());
        }
        // Stable: each commitment's rows keep their order (its own row first).
        rows.sort_by_key(|r| r.commitment_id);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(rows)
    }

    /// The counted rows of varying families under `query` (no grouping), resolved once for
    /// the whole filter: [`Db::counted_rows_of`] takes them for each page of an export.
    pub async fn varying_rows(&self, query: &TotalsQuery) -> StorageResult<Vec<ContributionRow>> {
        let query = TotalsQuery { group_by: Vec::new(), ..query.clone() };
        let as_of = self.as_of(&query);
        Ok(self.resolved_varying(self.conn(), &query, as_of, None).await?.into_iter().map(Into::into).collect())
    }

    /// Every counted row of the commitments `ids` under `query` (unquantified rows
    /// included), by commitment: the stored rows, and those of `varying` (from
    /// [`Db::varying_rows`]) owned by `ids`. One statement.
    pub async fn counted_rows_of(
        &self,
        query: &TotalsQuery,
        ids: &[i64],
        varying: &[ContributionRow],
    ) -> StorageResult<Vec<ContributionRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let as_of = self.as_of(query);
        let mut select = contribution_select(as_of, query.known_at);
        select.cond_where(
            counted_condition(query, as_of, self.text_index())
                .add(col(Ca::CommitmentId).is_in(ids.iter().copied()))
                .add(stored_rows_are_linear()),
        );
        let mut rows = ContributionRow::find_by_statement(statement(self.conn(), &select)).all(self.conn()).await?;
        rows.extend(varying.iter().filter(|r| ids.contains(&r.commitment_id)).cloned());
        rows.sort_by_key(|r| r.commitment_id);
        Ok(rows)
    }

    /// The report `query` would give if each of `claims` replaced its commitment's recorded
    /// (preferred) amount: the same engine on the data as changed inside a transaction that
    /// is rolled back, so nothing is written, no one else sees the change, and the answer is
    /// never cached. On SQLite the transaction holds the write lock while it runs.
    pub async fn totals_under_claims(
        &self,
        query: &TotalsQuery,
        claims: &[entity::claim::Model],
    ) -> StorageResult<Report> {
        use entity::commitment::{Column as C, Entity as Commitments};
        use sea_orm::{EntityTrait, QueryFilter, TransactionTrait};
        let txn = self.conn().begin().await?;
        let mut changed = std::collections::HashSet::new();
        for claim in claims {
            Commitments::update_many()
                .col_expr(C::AmountLow, Expr::value(claim.amount_low))
                .col_expr(C::AmountHigh, Expr::value(claim.amount_high))
                .col_expr(C::Currency, Expr::value(claim.currency.clone()))
                .col_expr(C::CurrencyExponent, Expr::value(claim.currency_exponent))
                .filter(sea_orm::ColumnTrait::eq(&C::Id, claim.commitment_id))
                .exec(&txn)
                .await?;
            changed.insert(claim.commitment_id);
        }
        super::counting::rebuild_counted_for(&txn, &changed).await?;
        let as_of = self.as_of(query);
        let mut linear = Linear::new();
        for (bucket, sums) in self.linear(&txn, query, as_of, Source::Table).await? {
            linear.entry(bucket).or_default().add(sums);
        }
        let report = match self.resolved_varying(&txn, query, as_of, None).await {
            Ok(varying) => self.report_of(&txn, query, &linear, &varying, None).await.map(|(report, _)| report),
            Err(e) => Err(e),
        };
        txn.rollback().await?;
        report
    }

    fn as_of(&self, query: &TotalsQuery) -> Option<AsOf> {
        let joined = self.conn().get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        query.as_of.map(|day| AsOf { day, joined, known: query.known_at })
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

/// The columns of a [`ContributionRow`], each commitment's rows in stored order.
fn contribution_select(as_of: Option<AsOf>, known: Option<i64>) -> SelectStatement {
    let mut select = from_counted(as_of, known);
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
    select.order_by((Alias::new("ca"), Ca::CommitmentId), Order::Asc).order_by((Alias::new("ca"), Ca::Id), Order::Asc);
    select
}

impl From<varying::Resolved> for ContributionRow {
    fn from(resolved: varying::Resolved) -> Self {
        let row = resolved.row;
        ContributionRow {
            commitment_id: row.owner,
            related_id: row.related,
            rule: row.rule.as_str().to_owned(),
            amount_low: row.low,
            amount_high: row.high,
            currency: row.currency.as_str().to_owned(),
            rate_date: row.date,
        }
    }
}
