//! Write-time sums (`counted_sums`, migration 000015): the counted rows a total counts by
//! default, added up per event, pledger's country and currency (and measure, row currency
//! and rate day, which conversion needs), inside the transaction that writes them.
//!
//! A total that asks nothing else of the rows (no `asOf`, no `knownAt`, the default
//! statuses, a filter and a grouping on those three dimensions only: the totals dashboards
//! ask first) adds up these sums, some thousands of rows, instead of the counted rows, a
//! million. The buckets and their exact sums are the same as the counted rows give, so the
//! report is the same, converted by the same code.
//!
//! The sums follow every change of the counted rows: [`add_rows_of`] runs wherever the
//! change log copies rows (before a family's rows are deleted, after they are written), and
//! a full rebuild [`refill`]s them. A claim's what-if runs the same code in its rolled-back
//! transaction.

use entity::counted_amount::Column as Ca;
use sea_orm::{
    ConnectionTrait, DbErr, FromQueryResult, Statement, StatementBuilder, StreamTrait,
    sea_query::{Alias, Condition, Expr, ExprTrait, Query, SelectStatement},
};

use super::{
    cache::{BucketKey, Sums},
    sql::{HALF, Summing, by_bucket, col, exists_condition, owner_condition, select_key},
    varying::stored_rows_are_linear,
};
use crate::domain::{
    counting::Rule,
    filters::CommitmentFilter,
    totals::{Dimension, TotalsQuery},
};
use crate::storage::{Db, StorageResult};

/// The dimensions the sums keep.
pub(super) const KEPT: [Dimension; 3] = [Dimension::Event, Dimension::PledgerCountry, Dimension::Currency];

/// Which rows of sums a total adds up: those by event, pledger country and currency, or
/// one of their two roll-ups, by event alone or over all events. At a million commitments
/// that is 205,000, 20,000 or 2,100 rows: grouping two hundred thousand rows by their text
/// keys cost PostgreSQL 120–200 ms, about what the bare GROUP BY over the million
/// commitments costs, so a total reads the smallest level that holds its question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Event × pledger country × currency.
    Full = 0,
    /// Event alone (pledger country and currency `''`).
    ByEvent = 1,
    /// Pledger country × currency over all events (event `0`).
    AllEvents = 2,
}

impl Level {
    const ALL: [Level; 3] = [Level::Full, Level::ByEvent, Level::AllEvents];
}

/// The key of a row of sums: each column, the value that stands for "none" in it (key
/// columns are NOT NULL, see the migration), and how each counted row's value is written
/// in it at each [`Level`].
const KEY: [(&str, Option<&str>, [&str; 3]); 8] = [
    ("level", None, ["0", "1", "2"]),
    ("event_id", Some("0"), ["COALESCE(ca.event_id, 0)", "COALESCE(ca.event_id, 0)", "0"]),
    ("pledger_country", Some("''"), ["COALESCE(ca.pledger_country, '')", "''", "COALESCE(ca.pledger_country, '')"]),
    ("owner_currency", None, ["ca.owner_currency", "''", "ca.owner_currency"]),
    ("measure", None, ["ca.measure"; 3]),
    ("currency", None, ["ca.currency"; 3]),
    ("rate_date", Some("'0001-01-01'"), ["COALESCE(ca.rate_date, '0001-01-01')"; 3]),
    ("rate_year", Some("0"), ["COALESCE(ca.rate_year, 0)"; 3]),
];

/// The sums of a row, and how each is summed from counted rows.
fn summed() -> [(&'static str, String); 6] {
    [
        ("n_primary", "SUM(ca.is_primary)".to_owned()),
        ("n_rows", "COUNT(*)".to_owned()),
        ("low_h", format!("SUM(ca.amount_low / {HALF})")),
        ("low_l", format!("SUM(ca.amount_low % {HALF})")),
        ("high_h", format!("SUM(ca.amount_high / {HALF})")),
        ("high_l", format!("SUM(ca.amount_high % {HALF})")),
    ]
}

/// Which sums can add up `query`, if any: it reads nothing of a counted row but the kept
/// dimensions, under the default statuses and today's data.
pub(super) fn answer(query: &TotalsQuery) -> Option<Level> {
    // Every field is named, so that a new filter cannot be forgotten here.
    let CommitmentFilter {
        events: _,
        pledger_countries: _,
        currencies: _,
        pledgers,
        pledger_kinds,
        beneficiaries,
        recipient_countries,
        sectors,
        kinds,
        statuses,
        announced_from,
        announced_to,
        amount_min,
        amount_max,
        part_of,
        relations,
        top_level,
        text,
        updated_since,
        updated_before,
        known,
    } = &query.filter;
    let kept = query.as_of.is_none()
        && query.known_at.is_none()
        && known.is_none()
        && pledgers.is_empty()
        && pledger_kinds.is_empty()
        && beneficiaries.is_empty()
        && recipient_countries.is_empty()
        && sectors.is_empty()
        && kinds.is_empty()
        && statuses.is_empty()
        && announced_from.is_none()
        && announced_to.is_none()
        && amount_min.is_none()
        && amount_max.is_none()
        && part_of.is_none()
        && relations.is_empty()
        && top_level.is_none()
        && text.as_deref().is_none_or(|t| t.trim().is_empty())
        && updated_since.is_none()
        && updated_before.is_none()
        && query.group_by.iter().all(|d| KEPT.contains(d));
    if !kept {
        return None;
    }
    let f = &query.filter;
    let grouped_by_only = |dimensions: &[Dimension]| query.group_by.iter().all(|d| dimensions.contains(d));
    Some(if f.events.is_empty() && grouped_by_only(&[Dimension::PledgerCountry, Dimension::Currency]) {
        Level::AllEvents
    } else if f.pledger_countries.is_empty() && f.currencies.is_empty() && grouped_by_only(&[Dimension::Event]) {
        Level::ByEvent
    } else {
        Level::Full
    })
}

/// The counted rows a total with the default statuses adds up as stored: the rule of
/// [`super::Db::linear`] for such a total, less its filter.
fn counted_by_default() -> Condition {
    exists_condition(&CommitmentFilter::default(), None)
        .add(col(Ca::Rule).ne(Rule::Unquantified.as_str()))
        .add(stored_rows_are_linear())
}

/// Adds `sign` times the counted rows matching `cond` (alias `ca`) to the sums.
async fn add<C: ConnectionTrait>(conn: &C, cond: Condition, sign: i32) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    if backend == sea_orm::DatabaseBackend::Postgres {
        // Writers queue here for the data version's row, which each of them updates at its
        // end anyway, before they lock rows of sums: two writes moving money between the
        // same two rows in opposite directions would otherwise each hold one and wait for
        // the other (a deadlock, tested). SQLite's BEGIN IMMEDIATE already queues them.
        conn.execute_unprepared("SELECT version FROM data_versions WHERE id = 1 FOR UPDATE").await?;
    }
    // One statement for every level: each is grouped by its own key, so no row of sums is
    // written twice by it.
    let level = |level: Level| {
        let mut select = Query::select();
        select.from_as(entity::counted_amount::Entity, Alias::new("ca"));
        for (_, _, at) in KEY {
            select.expr(Expr::cust(at[level as usize]));
        }
        for (_, sum) in summed() {
            select.expr(Expr::cust(format!("{sign} * CAST({sum} AS BIGINT)")));
        }
        select.cond_where(counted_by_default().add(cond.clone()));
        select.add_group_by((1..=KEY.len()).map(|i| Expr::cust(i.to_string())));
        select
    };
    let mut select = level(Level::Full);
    for other in &Level::ALL[1..] {
        select.union(sea_orm::sea_query::UnionType::All, level(*other));
    }
    let built = StatementBuilder::build(&select, &backend);
    let keys: Vec<&str> = KEY.iter().map(|(name, _, _)| *name).collect();
    let sums: Vec<&str> = summed().iter().map(|(name, _)| *name).collect();
    let updates: Vec<String> =
        sums.iter().map(|name| format!("{name} = counted_sums.{name} + excluded.{name}")).collect();
    let sql = format!(
        "INSERT INTO counted_sums ({keys}, {sums}) {select} ON CONFLICT ({keys}) DO UPDATE SET {updates}",
        keys = keys.join(", "),
        sums = sums.join(", "),
        select = built.sql,
        updates = updates.join(", "),
    );
    let values = built.values.map(|v| v.0).unwrap_or_default();
    conn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

/// Adds the counted rows of the commitments `ids` to the sums (`sign` 1), or takes them
/// away (`sign` −1, before they are deleted).
pub(crate) async fn add_rows_of<C: ConnectionTrait>(conn: &C, ids: &[i64], sign: i32) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids = Expr::cust(format!("ca.commitment_id IN ({})", crate::storage::counting::id_list(ids)));
    add(conn, Condition::all().add(ids), sign).await
}

/// Sums every counted row again (after a full rebuild, or once for a database from before
/// the sums).
pub(crate) async fn refill<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    conn.execute_unprepared("DELETE FROM counted_sums").await?;
    add(conn, Condition::all(), 1).await?;
    conn.execute_unprepared("UPDATE data_versions SET sums_ready = 1 WHERE id = 1").await?;
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        conn.execute_unprepared("ANALYZE counted_sums").await?;
    }
    Ok(())
}

/// Drops the rows of sums no counted row is left in (a recomputation would not have them).
pub(crate) async fn drop_empty<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    conn.execute_unprepared("DELETE FROM counted_sums WHERE n_rows = 0").await?;
    Ok(())
}

/// Whether the sums have been filled (a database from before them has not).
pub(crate) async fn ready<C: ConnectionTrait>(conn: &C) -> Result<bool, DbErr> {
    #[derive(FromQueryResult)]
    struct Ready {
        sums_ready: i32,
    }
    let sql = "SELECT sums_ready FROM data_versions WHERE id = 1";
    let row = Ready::find_by_statement(Statement::from_string(conn.get_database_backend(), sql)).one(conn).await?;
    Ok(row.is_some_and(|r| r.sums_ready != 0))
}

/// `FROM` the sums of `level`, as alias `ca` with the counted rows' column names and
/// their NULLs, so that a total's key, filter and rate key read them as they read counted
/// rows.
pub(super) fn from_sums(level: Level) -> SelectStatement {
    let mut rows = Query::select();
    rows.from(Alias::new("counted_sums"));
    for (name, none, _) in KEY.iter().skip(1) {
        let expr = match none {
            Some(none) => Expr::cust(format!("NULLIF({name}, {none})")),
            None => Expr::col(Alias::new(*name)),
        };
        rows.expr_as(expr, Alias::new(*name));
    }
    for (name, _) in summed() {
        rows.column(Alias::new(name));
    }
    rows.and_where(Expr::col(Alias::new("level")).eq(level as i32)).and_where(Expr::col(Alias::new("n_rows")).ne(0));
    Query::select().from_subquery(rows, Alias::new("ca")).take()
}

/// Selects the sums of a total over [`from_sums`], named as [`super::Db::linear`] reads
/// them (the amounts as the two halves of [`super::sql::Summing::Split`]).
pub(super) fn select_sums(select: &mut SelectStatement) {
    for (name, column) in [
        ("n", "n_primary"),
        ("rows", "n_rows"),
        ("low_h", "low_h"),
        ("low_l", "low_l"),
        ("high_h", "high_h"),
        ("high_l", "high_l"),
    ] {
        select.expr_as(super::sql::sum(Expr::col((Alias::new("ca"), Alias::new(column)))), Alias::new(name));
    }
}

impl Db {
    /// The linear sums of a question the write-time sums answer: the same buckets as from
    /// the counted rows, added up from their sums.
    pub(super) async fn linear_from_sums<C: ConnectionTrait + StreamTrait>(
        &self,
        conn: &C,
        query: &TotalsQuery,
        level: Level,
    ) -> StorageResult<Vec<(BucketKey, Sums)>> {
        let backend = ConnectionTrait::get_database_backend(conn);
        let mut select = from_sums(level);
        select_key(&mut select, query, None, backend);
        select.expr_as(col(Ca::Measure), Alias::new("measure")).expr_as(col(Ca::Currency), Alias::new("currency"));
        // Sums of halves never leave the integer range.
        select_sums(&mut select);
        select.cond_where(owner_condition(query, self.text_index()));
        by_bucket(&mut select, query);
        self.buckets(conn, query, &select, Summing::Split).await
    }
}

#[cfg(test)]
mod tests {
    use super::{Level, answer};
    use crate::domain::{
        codes::CurrencyCode,
        fx::FxPolicy,
        kinds::CommitmentStatus,
        totals::{Dimension, TotalsQuery},
    };

    fn query(group_by: &[Dimension]) -> TotalsQuery {
        TotalsQuery {
            filter: Default::default(),
            group_by: group_by.to_vec(),
            currency: CurrencyCode::parse("currency", "EUR").unwrap(),
            fx: FxPolicy::AnnouncementDate,
            as_of: None,
            known_at: None,
        }
    }

    #[test]
    fn each_question_reads_the_smallest_level_that_holds_it() {
        use Dimension::*;
        assert_eq!(answer(&query(&[])), Some(Level::AllEvents));
        assert_eq!(answer(&query(&[PledgerCountry, Currency])), Some(Level::AllEvents));
        assert_eq!(answer(&query(&[Event])), Some(Level::ByEvent));
        assert_eq!(answer(&query(&[Event, Currency])), Some(Level::Full));
        let mut of_events = query(&[]);
        of_events.filter.events = vec!["ai-action-summit-2025".into()];
        assert_eq!(answer(&of_events), Some(Level::ByEvent));
        of_events.filter.currencies = vec!["USD".into()];
        assert_eq!(answer(&of_events), Some(Level::Full));
        let mut in_france = query(&[Currency]);
        in_france.filter.pledger_countries = vec!["FR".into()];
        assert_eq!(answer(&in_france), Some(Level::AllEvents));
    }

    #[test]
    fn questions_on_anything_else_read_the_counted_rows() {
        use Dimension::*;
        for dimension in [Pledger, PledgerKind, RecipientCountry, Sector, Kind, Status, Year, Month] {
            assert_eq!(answer(&query(&[dimension])), None, "{dimension:?}");
        }
        let mut q = query(&[Event]);
        q.as_of = chrono::NaiveDate::from_ymd_opt(2025, 2, 10);
        assert_eq!(answer(&q), None, "asOf");
        let mut q = query(&[Event]);
        q.known_at = Some(3);
        assert_eq!(answer(&q), None, "knownAt");
        let mut q = query(&[Event]);
        q.filter.statuses = vec![CommitmentStatus::Announced];
        assert_eq!(answer(&q), None, "a status filter");
        let mut q = query(&[Event]);
        q.filter.sectors = vec!["Compute".into()];
        assert_eq!(answer(&q), None, "a sector filter");
        let mut q = query(&[Event]);
        q.filter.text = Some("  ".into());
        assert_eq!(answer(&q), Some(Level::ByEvent), "blank text filters nothing");
        q.filter.text = Some("elysee".into());
        assert_eq!(answer(&q), None, "a text filter");
    }
}
