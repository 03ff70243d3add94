//! The SQL of totals: dimensions, the rows a total counts (filter, statuses, as-of), the
//! rate key of each bucket, and sums that cannot overflow.

use chrono::NaiveDate;
use entity::{actor, commitment, counted_amount::Column as Ca, event, status_history};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, Order, QueryResult, Statement, StatementBuilder,
    sea_query::{Alias, Condition, Expr, ExprTrait, Func, JoinType, Query, SelectStatement, WindowStatement},
};

pub use crate::domain::totals::{Dimension, TotalsQuery};
use crate::domain::{
    fx::FxPolicy,
    kinds::{ActorKind, CommitmentKind, CommitmentStatus},
    report::{GroupKey, KeyValue},
};
use crate::storage::{
    counting::RETRACTED,
    read::{CommitmentFilter, TextIndex, commitment_condition, ids_of_slugs, strs},
};

pub(super) fn col(c: Ca) -> Expr {
    Expr::col((Alias::new("ca"), c))
}

/// A dimension's value in a counted row: an integer (ids and years) or text. A total
/// groups by [`grouped_dimension`] and reads the value back with [`read_dimension`].
pub(super) fn dimension_expr(dimension: Dimension, as_of: Option<AsOf>) -> Expr {
    match dimension {
        Dimension::Event => col(Ca::EventId),
        Dimension::Pledger => col(Ca::PledgerId),
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
        Dimension::Year => col(Ca::Year),
        Dimension::Month => col(Ca::Month),
    }
}

/// Whether a dimension's values are stored as integers.
fn integer_dimension(dimension: Dimension) -> bool {
    matches!(dimension, Dimension::Event | Dimension::Pledger | Dimension::Year)
}

/// A dimension as a total groups by it. PostgreSQL groups ids and years as the integers
/// they are. SQLite groups them as text: given the bare column, it walks the column's
/// index to group (a random read per row, and it still sorts), 3.2 s against 1.9 s for a
/// total by event at a million rows.
fn grouped_dimension(dimension: Dimension, as_of: Option<AsOf>, backend: DatabaseBackend) -> Expr {
    let expr = dimension_expr(dimension, as_of);
    if backend == DatabaseBackend::Sqlite && integer_dimension(dimension) {
        Func::cast_as(expr, Alias::new("TEXT")).into()
    } else {
        expr
    }
}

/// Selects the group key of a total, dimension `i` as `d{i}` (read back by [`read_key`]).
pub(super) fn select_key(
    select: &mut SelectStatement,
    query: &TotalsQuery,
    as_of: Option<AsOf>,
    backend: DatabaseBackend,
) {
    for (i, d) in query.group_by.iter().enumerate() {
        select.expr_as(grouped_dimension(*d, as_of, backend), Alias::new(format!("d{i}")));
    }
}

/// The group key of a row selected with [`select_key`].
pub(super) fn read_key(row: &QueryResult, query: &TotalsQuery, backend: DatabaseBackend) -> Result<GroupKey, DbErr> {
    query.group_by.iter().enumerate().map(|(i, d)| read_dimension(row, &key_column(i), *d, backend)).collect()
}

/// The name of a group key's column `i` (`d{i}`), without formatting it again for every row
/// of a statement that may return ten thousand.
fn key_column(i: usize) -> std::borrow::Cow<'static, str> {
    const NAMES: [&str; 8] = ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"];
    match NAMES.get(i) {
        Some(name) => (*name).into(),
        None => format!("d{i}").into(),
    }
}

/// The value of `dimension` in column `name` of a row made by [`grouped_dimension`], typed.
fn read_dimension(
    row: &QueryResult,
    name: &str,
    dimension: Dimension,
    backend: DatabaseBackend,
) -> Result<Option<KeyValue>, DbErr> {
    let unexpected = |text: &str| DbErr::Custom(format!("totals: unexpected {dimension:?} value {text:?}"));
    if backend == DatabaseBackend::Sqlite {
        return match row.try_get::<Option<String>>("", name)? {
            None => Ok(None),
            Some(text) => KeyValue::parse(dimension, &text).map(Some).ok_or_else(|| unexpected(&text)),
        };
    }
    Ok(match dimension {
        Dimension::Event | Dimension::Pledger => row.try_get::<Option<i64>>("", name)?.map(KeyValue::Id),
        // An INTEGER column (4 bytes on PostgreSQL).
        Dimension::Year => row.try_get::<Option<i32>>("", name)?.map(KeyValue::Year),
        _ => row.try_get::<Option<String>>("", name)?.map(KeyValue::Text),
    })
}

/// The rows whose `dimension` has the group key value `value`.
pub(super) fn dimension_is(dimension: Dimension, as_of: Option<AsOf>, value: &Option<KeyValue>) -> Condition {
    let expr = dimension_expr(dimension, as_of);
    let cond = Condition::all();
    match value {
        None => cond.add(expr.is_null()),
        Some(KeyValue::Id(id)) => cond.add(expr.eq(*id)),
        Some(KeyValue::Year(year)) => cond.add(expr.eq(*year)),
        Some(KeyValue::Text(text)) => cond.add(expr.eq(text.clone())),
    }
}

/// The status of the commitment in column `id` on `day`: the latest status change dated on
/// or before it (an announced commitment without a dated change counts as announced).
/// A total "as of" a day, and how statuses on that day are found: joined from one window
/// pass over the status history (PostgreSQL, where a subquery per counted row is slow), or
/// by an indexed subquery per row (SQLite, where that is the faster plan: 63 ms against
/// 171 ms for an as-of total by pledger at 100 000 commitments).
#[derive(Debug, Clone, Copy)]
pub(super) struct AsOf {
    pub day: NaiveDate,
    pub joined: bool,
    /// The data version of a `knownAt` answer: statuses as recorded then.
    pub known: Option<i64>,
}

pub(super) fn status_at(id: Ca, as_of: AsOf) -> Expr {
    if !as_of.joined {
        return status_subquery(id, as_of.day, as_of.known);
    }
    // The statuses on the day are joined by `from_counted` (aliases `so` and `sr`).
    let alias = if matches!(id, Ca::RelatedId) { "sr" } else { "so" };
    Func::coalesce([
        Expr::col((Alias::new(alias), Alias::new("status"))),
        Expr::val(CommitmentStatus::Announced.as_str()),
    ])
    .into()
}

/// The status history (as known at version `known`), under its own name.
fn status_history_from(select: &mut SelectStatement, known: Option<i64>) -> &mut SelectStatement {
    match known {
        None => select.from(status_history::Entity),
        Some(v) => select.from_subquery(crate::storage::history::rows_at("status_history", v), status_history::Entity),
    }
}

pub(super) fn status_subquery(id: Ca, day: NaiveDate, known: Option<i64>) -> Expr {
    use status_history::Column as S;
    let mut latest = Query::select();
    status_history_from(&mut latest, known);
    let latest = latest
        .column(S::Status)
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
pub(super) fn statuses_on(day: NaiveDate, known: Option<i64>) -> SelectStatement {
    use status_history::Column as S;
    let latest_first = WindowStatement::partition_by(S::CommitmentId)
        .order_by(S::EffectiveOn, Order::Desc)
        .order_by(S::Id, Order::Desc)
        .take();
    let mut ranked = Query::select();
    status_history_from(&mut ranked, known);
    let ranked = ranked
        .column(S::CommitmentId)
        .column(S::Status)
        .expr_window_as(Expr::cust("ROW_NUMBER()"), latest_first, Alias::new("rn"))
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
pub(super) fn counted_statuses(filter: &CommitmentFilter) -> Vec<&'static str> {
    if filter.statuses.is_empty() {
        CommitmentStatus::ALL.iter().filter(|s| **s != CommitmentStatus::Withdrawn).map(|s| s.as_str()).collect()
    } else {
        strs(&filter.statuses, CommitmentStatus::as_str)
    }
}

/// The filter on the owner's attributes (everything but status and dates of the as-of rule),
/// on the values of the moment the query is asked at (`knownAt`).
pub(super) fn owner_condition(query: &TotalsQuery, index: TextIndex) -> Condition {
    let filter = &query.filter;
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
        updated_since: filter.updated_since,
        updated_before: filter.updated_before,
        known: query.known_at,
        ..CommitmentFilter::default()
    };
    let residual_cond = commitment_condition(&residual, index);
    if !residual_cond.is_empty() {
        let mut ids = Query::select();
        match query.known_at {
            None => ids.from(commitment::Entity),
            // The commitments as they were then (their amounts, parents, titles).
            Some(v) => ids.from_subquery(crate::storage::history::rows_at("commitments", v), commitment::Entity),
        };
        let ids = ids.column((commitment::Entity, commitment::Column::Id)).cond_where(residual_cond).take();
        cond = cond.add(col(Ca::CommitmentId).in_subquery(ids));
    }
    cond
}

/// Rows that count: the owner passes the filter and its status (at the date) is counted,
/// and a carve-out or overlap counts only while its related commitment does too.
pub(super) fn counted_condition(query: &TotalsQuery, as_of: Option<AsOf>, index: TextIndex) -> Condition {
    owner_condition(query, index).add(exists_condition(&query.filter, as_of))
}

/// Whether a row's commitments are counted at all (whatever the filter selects): the
/// owner's status (at the date) is counted and it is announced by then, and so is the
/// related commitment of a carve-out or overlap.
pub(super) fn exists_condition(filter: &CommitmentFilter, as_of: Option<AsOf>) -> Condition {
    let statuses = counted_statuses(filter);
    match as_of {
        None => Condition::all()
            .add(col(Ca::Status).is_in(statuses.clone()))
            .add(Condition::any().add(col(Ca::RelatedId).is_null()).add(col(Ca::RelatedStatus).is_in(statuses))),
        // A retraction says the figure was never right: it counts on no day. (The status
        // history does not hold it, so the stored status is asked too.)
        Some(day) => Condition::all()
            .add(col(Ca::OwnerOn).lte(day.day))
            .add(col(Ca::Status).ne(RETRACTED))
            .add(status_at(Ca::CommitmentId, day).is_in(statuses.clone()))
            .add(
                Condition::any().add(col(Ca::RelatedId).is_null()).add(
                    Condition::all()
                        .add(col(Ca::RelatedOn).lte(day.day))
                        .add(col(Ca::RelatedStatus).ne(RETRACTED))
                        .add(status_at(Ca::RelatedId, day).is_in(statuses)),
                ),
            ),
    }
}

pub(super) fn rate_key_expr(query: &TotalsQuery) -> Option<Expr> {
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

/// `FROM counted_amounts ca` (with `known`, the history's rows of that version), and with
/// `as_of` the statuses on that day of the owner (`so`) and of the related commitment (`sr`).
pub(super) fn from_counted(as_of: Option<AsOf>, known: Option<i64>) -> SelectStatement {
    let mut select = match known {
        None => Query::select().from_as(entity::counted_amount::Entity, Alias::new("ca")).take(),
        // As the database knew it at version `v`: the rows of the history that were the
        // state then (same columns, same alias).
        Some(v) => {
            let column = |c: &str| Expr::col((Alias::new("ca"), Alias::new(c)));
            Query::select()
                .from_as(Alias::new("counted_history"), Alias::new("ca"))
                .and_where(column("known_from").lte(v))
                .cond_where(Condition::any().add(column("known_until").is_null()).add(column("known_until").gt(v)))
                .take()
        }
    };
    if let Some(AsOf { day, joined: true, known }) = as_of {
        for (alias, column) in [("so", Ca::CommitmentId), ("sr", Ca::RelatedId)] {
            select.join_subquery(
                JoinType::LeftJoin,
                statuses_on(day, known),
                Alias::new(alias),
                Expr::col((Alias::new(alias), Alias::new("commitment_id"))).equals((Alias::new("ca"), column)),
            );
        }
    }
    select
}

pub(super) fn sum(e: Expr) -> Expr {
    Func::cast_as(Func::sum(e), Alias::new("BIGINT")).into()
}

/// 2^32: amounts are summed in two halves so that no number of rows overflows a BIGINT.
pub(super) const HALF: i64 = 1 << 32;

/// `SUM(c / 2^32)` and `SUM(c % 2^32)` (both truncate towards zero on SQLite and
/// PostgreSQL, so `c = (c / 2^32) * 2^32 + c % 2^32` for every row): each half stays far
/// within a BIGINT for billions of rows, and the exact total is rebuilt in `i128`.
pub(super) fn split_sum(e: Expr) -> (Expr, Expr) {
    let high = Func::cast_as(Func::sum(e.clone().div(HALF)), Alias::new("BIGINT")).into();
    let low = Func::cast_as(Func::sum(e.modulo(HALF)), Alias::new("BIGINT")).into();
    (high, low)
}

/// How a total's statement adds up amounts, exactly whatever their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Summing {
    /// PostgreSQL: its `SUM` of BIGINTs is an exact NUMERIC, read as text (never overflows).
    Numeric,
    /// SQLite: a plain `SUM`, which fails rather than overflow (see [`sum_overflowed`]).
    Plain,
    /// The two halves of [`split_sum`]: SQLite's fallback when a plain sum overflowed.
    Split,
}

impl Summing {
    /// The first way to try on `conn`'s database.
    pub(super) fn first<C: ConnectionTrait>(conn: &C) -> Self {
        match conn.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => Self::Numeric,
            _ => Self::Plain,
        }
    }

    /// Selects the sum of `e` as `{name}_h` (and `{name}_l` when split).
    pub(super) fn select(self, select: &mut SelectStatement, name: &str, e: Expr) {
        match self {
            Self::Numeric => {
                select.expr_as(Func::cast_as(Func::sum(e), Alias::new("TEXT")), Alias::new(format!("{name}_h")))
            }
            Self::Plain => select.expr_as(sum(e), Alias::new(format!("{name}_h"))),
            Self::Split => {
                let (high, low) = split_sum(e);
                select.expr_as(high, Alias::new(format!("{name}_h"))).expr_as(low, Alias::new(format!("{name}_l")))
            }
        };
    }

    /// The exact sum selected by [`Summing::select`], read from `row`.
    pub(super) fn read(self, row: &QueryResult, name: &str) -> Result<i128, DbErr> {
        // The two names a total reads for every row, without formatting them for each.
        let (high, low): (std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>) = match name {
            "low" => ("low_h".into(), "low_l".into()),
            "high" => ("high_h".into(), "high_l".into()),
            _ => (format!("{name}_h").into(), format!("{name}_l").into()),
        };
        match self {
            Self::Numeric => match row.try_get::<Option<String>>("", &high)? {
                None => Ok(0),
                Some(text) => text
                    .parse::<i128>()
                    .map_err(|_| DbErr::Custom(format!("totals: the sum {text:?} is not a whole number"))),
            },
            Self::Plain => Ok(i128::from(row.try_get::<Option<i64>>("", &high)?.unwrap_or(0))),
            Self::Split => {
                let h = row.try_get::<Option<i64>>("", &high)?.unwrap_or(0);
                let l = row.try_get::<Option<i64>>("", &low)?.unwrap_or(0);
                Ok(i128::from(h) * i128::from(HALF) + i128::from(l))
            }
        }
    }
}

/// Whether a statement failed because SQLite's plain `SUM` left the integer range ("integer
/// overflow": the statement fails, the transaction goes on).
pub(super) fn sum_overflowed(error: &crate::storage::StorageError) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let crate::storage::StorageError::Db(
        DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)),
    ) = error
    else {
        return false;
    };
    matches!(e.as_ref(), sqlx::Error::Database(db) if db.message() == "integer overflow")
}

pub(super) fn statement<C: ConnectionTrait>(conn: &C, select: &SelectStatement) -> Statement {
    StatementBuilder::build(select, &conn.get_database_backend())
}

/// Selects a statement's rate key (`rk`, when the policy has one) and groups it into
/// buckets: group key, measure, currency, rate key.
pub(super) fn by_bucket(select: &mut SelectStatement, query: &TotalsQuery) {
    for (i, _) in query.group_by.iter().enumerate() {
        select.group_by_col(Alias::new(format!("d{i}")));
    }
    select.group_by_col(Alias::new("measure")).group_by_col(Alias::new("currency"));
    if let Some(rate) = rate_key_expr(query) {
        select.expr_as(rate, Alias::new("rk")).group_by_col(Alias::new("rk"));
    }
}
