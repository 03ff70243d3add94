//! The derived table of counted amounts: rebuilt from the commitments, their hierarchy and
//! their overlaps inside the write transaction that changed them, and the data version that
//! every write increments.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use entity::{commitment, counted_amount, exchange_rate, overlap};
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};

use crate::domain::{
    codes::CurrencyCode,
    counting::{Facts, OverlapFacts, counted_rows},
    fx::{EURO, FxPolicy, RateKey, RateTable, rate_window},
    kinds::CommitmentRelation,
};

use super::history;

/// Rows per INSERT: 29 columns each stays under SQLite's 32,766 parameters.
const INSERT_CHUNK: usize = 500;

/// The status counted rows carry for a retracted commitment: no total counts it.
pub(crate) const RETRACTED: &str = "RETRACTED";

/// A commitment with the attributes totals group by.
#[derive(Debug, Clone, FromQueryResult)]
struct Owner {
    id: i64,
    parent_id: Option<i64>,
    relation: Option<String>,
    amount_low: Option<i64>,
    amount_high: Option<i64>,
    currency: String,
    announced_on: Option<NaiveDate>,
    event_start: Option<NaiveDate>,
    amount_disputed: bool,
    status: String,
    event_id: Option<i64>,
    pledger_id: i64,
    pledger_kind: String,
    pledger_country: Option<String>,
    beneficiary_id: Option<i64>,
    recipient_country: Option<String>,
    sector: Option<String>,
    kind: String,
}

impl Owner {
    /// The date its money is dated by: the announcement, else the event's start.
    fn on(&self) -> Option<NaiveDate> {
        self.announced_on.or(self.event_start)
    }
}

const OWNERS_SQL: &str = "SELECT c.id, c.parent_id, c.relation, c.amount_low, c.amount_high, c.currency, \
     c.announced_on, e.start_date AS event_start, c.amount_disputed, \
     CASE WHEN c.retraction_reason IS NOT NULL THEN 'RETRACTED' ELSE c.status END AS status, c.event_id, c.pledger_id, \
     a.kind AS pledger_kind, a.country AS pledger_country, c.beneficiary_id, c.recipient_country, c.sector, c.kind \
     FROM commitments c JOIN actors a ON a.id = c.pledger_id LEFT JOIN events e ON e.id = c.event_id";

/// The published euro rates, for the currencies in `currencies` (all when `None`).
pub(crate) async fn load_rates<C: ConnectionTrait>(
    conn: &C,
    currencies: &[String],
    keys: impl IntoIterator<Item = RateKey>,
) -> Result<RateTable, DbErr> {
    // Only the days these keys can read (the whole history is ~200,000 rates).
    load_rate_window(conn, currencies, rate_window(keys)).await
}

/// The published euro rates of `currencies` from the first to the last day of `window`
/// (none without one).
pub(crate) async fn load_rate_window<C: ConnectionTrait>(
    conn: &C,
    currencies: &[String],
    window: Option<(NaiveDate, NaiveDate)>,
) -> Result<RateTable, DbErr> {
    let Some((from, to)) = window else { return Ok(RateTable::default()) };
    let query = exchange_rate::Entity::find()
        .filter(exchange_rate::Column::Base.eq(EURO))
        .filter(exchange_rate::Column::Quote.is_in(currencies.iter().cloned()))
        .filter(exchange_rate::Column::RateDate.between(from, to));
    let mut table = RateTable::default();
    for r in query.all(conn).await? {
        // Stored rates passed validation; a corrupt one is skipped rather than guessed.
        if let Ok(rate) = r.rate.parse::<Decimal>() {
            table.insert(&r.quote, r.rate_date, rate);
        }
    }
    Ok(table)
}

/// Ids per `IN (…)` list: far below both databases' parameter and statement limits.
const ID_CHUNK: usize = 5_000;

pub(super) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The commitments with these ids, with their grouping attributes.
async fn load_owners<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> Result<Vec<Owner>, DbErr> {
    let backend = conn.get_database_backend();
    let mut owners = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ID_CHUNK) {
        // Ids are integers: listing them inline is safe and keeps one statement per chunk.
        let sql = format!("{OWNERS_SQL} WHERE c.id IN ({})", id_list(chunk));
        owners.extend(Owner::find_by_statement(Statement::from_string(backend, sql)).all(conn).await?);
    }
    Ok(owners)
}

#[derive(Debug, FromQueryResult)]
struct Link {
    id: i64,
    other: Option<i64>,
}

async fn links<C: ConnectionTrait>(conn: &C, sql: &str, ids: &[i64]) -> Result<Vec<Link>, DbErr> {
    let backend = conn.get_database_backend();
    let mut out = Vec::new();
    for chunk in ids.chunks(ID_CHUNK) {
        let sql = sql.replace("{ids}", &id_list(chunk));
        out.extend(Link::find_by_statement(Statement::from_string(backend, sql)).all(conn).await?);
    }
    Ok(out)
}

/// Every commitment whose counted amounts depend on one of `seed`: the whole families
/// (roots and all descendants) of the seed, and of later commitments overlapping it.
pub(crate) async fn families_of<C: ConnectionTrait>(conn: &C, seed: &HashSet<i64>) -> Result<Vec<i64>, DbErr> {
    let mut known: HashSet<i64> = seed.clone();
    let seed_list: Vec<i64> = seed.iter().copied().collect();
    for l in links(
        conn,
        "SELECT later_id AS id, earlier_id AS other FROM \"overlaps\" WHERE earlier_id IN ({ids})",
        &seed_list,
    )
    .await?
    {
        known.insert(l.id);
    }
    // Up to the roots.
    let mut frontier: Vec<i64> = known.iter().copied().collect();
    while !frontier.is_empty() {
        let parents =
            links(conn, "SELECT id, parent_id AS other FROM commitments WHERE id IN ({ids})", &frontier).await?;
        frontier = parents.into_iter().filter_map(|l| l.other).filter(|p| known.insert(*p)).collect();
    }
    // Down to every descendant.
    let mut frontier: Vec<i64> = known.iter().copied().collect();
    while !frontier.is_empty() {
        let children =
            links(conn, "SELECT id, parent_id AS other FROM commitments WHERE parent_id IN ({ids})", &frontier).await?;
        frontier = children.into_iter().map(|l| l.id).filter(|c| known.insert(*c)).collect();
    }
    let mut all: Vec<i64> = known.into_iter().collect();
    all.sort_unstable();
    Ok(all)
}

/// Rebuilds the counted amounts of the families that `changed` commitments belong to (see
/// [`families_of`]), inside the caller's transaction.
pub(crate) async fn rebuild_counted_for<C: ConnectionTrait>(conn: &C, changed: &HashSet<i64>) -> Result<(), DbErr> {
    if changed.is_empty() {
        return Ok(());
    }
    let family = families_of(conn, changed).await?;
    rebuild(conn, &family, true).await
}

/// Roots per pass of a full rebuild: with their families, a few thousand commitments in
/// memory at a time, however many are stored.
const ROOTS_PER_PASS: u64 = 2_000;

/// Rebuilds every counted amount, family by family. Runs inside the caller's transaction,
/// so a total read after the commit sees exactly the written data.
pub(crate) async fn rebuild_counted<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    log_gap(conn).await?;
    history::close(conn, None).await?;
    counted_amount::Entity::delete_many().exec(conn).await?;
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // A bulk import may have grown the tables from nothing in this transaction, where
        // autovacuum cannot see them: without statistics the family walk below scanned
        // the commitments for each batch of roots (100–150 ms a batch at 1M rows), and
        // the owners' join, believing the actors few, went through them (0.2–1.2 s a
        // batch). ANALYZE counts the rows this transaction inserted.
        conn.execute_unprepared("ANALYZE commitments, actors, events, \"overlaps\"").await?;
    }
    let mut after = i64::MIN;
    loop {
        let roots: Vec<i64> = commitment::Entity::find()
            .select_only()
            .column(commitment::Column::Id)
            .filter(commitment::Column::ParentId.is_null())
            .filter(commitment::Column::Id.gt(after))
            .order_by_asc(commitment::Column::Id)
            .limit(ROOTS_PER_PASS)
            .into_tuple()
            .all(conn)
            .await?;
        let Some(&last) = roots.last() else { break };
        after = last;
        // Every commitment has exactly one root (parents form no cycle), so each is
        // rebuilt exactly once.
        let mut family = roots.clone();
        let mut frontier = roots;
        while !frontier.is_empty() {
            let children =
                links(conn, "SELECT id, parent_id AS other FROM commitments WHERE parent_id IN ({ids})", &frontier)
                    .await?;
            frontier = children.into_iter().map(|l| l.id).collect();
            family.extend(&frontier);
        }
        rebuild(conn, &family, false).await?;
    }
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // The same for the rows just written: without statistics the planner scanned the
        // whole table for the few rows of varying families (39 ms at 100 000 commitments)
        // instead of using their partial index (0.3 ms), until autovacuum came by.
        conn.execute_unprepared("ANALYZE counted_amounts").await?;
    }
    super::totals::sums::refill(conn).await
}

/// The counting facts of these commitments, with the rates that compare their amounts
/// (each at the rate of its own date).
async fn facts_and_rates<C: ConnectionTrait>(conn: &C, owners: &[Owner]) -> Result<(Vec<Facts>, RateTable), DbErr> {
    let mut currencies: Vec<String> = owners.iter().map(|o| o.currency.clone()).collect();
    currencies.sort();
    currencies.dedup();
    let days = owners.iter().filter_map(Owner::on).map(|d| FxPolicy::AnnouncementDate.key(Some(d)));
    let rates = load_rates(conn, &currencies, days).await?;
    let mut facts = Vec::with_capacity(owners.len());
    for o in owners {
        facts.push(Facts {
            id: o.id,
            parent: o.parent_id,
            relation: o.relation.as_deref().and_then(|r| CommitmentRelation::parse("relation", r).ok()),
            low: o.amount_low,
            high: o.amount_high,
            currency: CurrencyCode::parse("currency", &o.currency).map_err(|e| DbErr::Custom(e.to_string()))?,
            date: o.on(),
            disputed: o.amount_disputed,
        });
    }
    Ok((facts, rates))
}

/// The counted rows of the commitments `ids` alone, as if no other commitment existed: a
/// total resolves the families whose rows vary ([`crate::domain::counting::flags::VARIES`])
/// again from the members it counts. Overlaps are not resolved (their rows never vary).
pub(crate) async fn counted_rows_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<Vec<crate::domain::counting::CountedRow>, DbErr> {
    let owners = load_owners(conn, ids).await?;
    let (facts, rates) = facts_and_rates(conn, &owners).await?;
    Ok(counted_rows(&facts, &[], &rates))
}

/// Rebuilds the counted amounts of `scope`, a set closed under parents and parts; with
/// `replace`, their old rows are deleted first.
async fn rebuild<C: ConnectionTrait>(conn: &C, scope: &[i64], replace: bool) -> Result<(), DbErr> {
    let owners = load_owners(conn, scope).await?;
    let mut overlaps = Vec::new();
    for chunk in scope.chunks(ID_CHUNK) {
        overlaps.extend(
            overlap::Entity::find().filter(overlap::Column::LaterId.is_in(chunk.iter().copied())).all(conn).await?,
        );
    }
    // Earlier commitments of overlaps outside the scope: their status and date still gate
    // the overlap rows.
    let in_scope: HashSet<i64> = owners.iter().map(|o| o.id).collect();
    let outside: Vec<i64> = overlaps.iter().filter_map(|o| o.earlier_id).filter(|id| !in_scope.contains(id)).collect();
    let related_owners = if outside.is_empty() { Vec::new() } else { load_owners(conn, &outside).await? };
    let (facts, rates) = facts_and_rates(conn, &owners).await?;
    let currency = |code: &str| CurrencyCode::parse("currency", code).map_err(|e| DbErr::Custom(e.to_string()));
    let mut overlap_facts = Vec::with_capacity(overlaps.len());
    for o in &overlaps {
        let Some(high) = o.amount_high else { continue };
        overlap_facts.push(OverlapFacts {
            later: o.later_id,
            earlier: o.earlier_id,
            low: o.amount_low,
            high,
            currency: currency(&o.currency)?,
        });
    }
    let rows = counted_rows(&facts, &overlap_facts, &rates);

    let by_id: HashMap<i64, &Owner> = owners.iter().chain(&related_owners).map(|o| (o.id, o)).collect();
    let mut models = Vec::with_capacity(rows.len());
    for row in rows {
        let owner = by_id[&row.owner];
        let related = row.related.and_then(|id| by_id.get(&id));
        let on = owner.on();
        models.push(counted_amount::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            commitment_id: sea_orm::Set(row.owner),
            related_id: sea_orm::Set(row.related),
            rule: sea_orm::Set(row.rule.as_str().to_owned()),
            measure: sea_orm::Set(row.rule.measure().as_str().to_owned()),
            is_primary: sea_orm::Set(i32::from(row.primary)),
            flags: sea_orm::Set(row.flags),
            amount_low: sea_orm::Set(row.low),
            amount_high: sea_orm::Set(row.high),
            currency: sea_orm::Set(row.currency.as_str().to_owned()),
            currency_exponent: sea_orm::Set(row.currency.exponent() as i16),
            rate_date: sea_orm::Set(row.date),
            rate_year: sea_orm::Set(row.date.map(|d| d.year())),
            owner_on: sea_orm::Set(on),
            related_on: sea_orm::Set(related.and_then(|r| r.on())),
            announced_on: sea_orm::Set(owner.announced_on),
            status: sea_orm::Set(owner.status.clone()),
            related_status: sea_orm::Set(related.map(|r| r.status.clone())),
            event_id: sea_orm::Set(owner.event_id),
            pledger_id: sea_orm::Set(owner.pledger_id),
            pledger_kind: sea_orm::Set(owner.pledger_kind.clone()),
            pledger_country: sea_orm::Set(owner.pledger_country.clone()),
            beneficiary_id: sea_orm::Set(owner.beneficiary_id),
            recipient_country: sea_orm::Set(owner.recipient_country.clone()),
            sector: sea_orm::Set(owner.sector.clone()),
            kind: sea_orm::Set(owner.kind.clone()),
            owner_currency: sea_orm::Set(owner.currency.clone()),
            year: sea_orm::Set(on.map(|d| d.year())),
            month: sea_orm::Set(on.map(|d| format!("{:04}-{:02}", d.year(), d.month()))),
        });
    }
    if replace {
        for chunk in scope.chunks(ID_CHUNK) {
            log_counted_rows(conn, chunk, -1).await?;
            counted_amount::Entity::delete_many()
                .filter(counted_amount::Column::CommitmentId.is_in(chunk.iter().copied()))
                .exec(conn)
                .await?;
        }
    }
    let mut rest = models;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(INSERT_CHUNK));
        counted_amount::Entity::insert_many(rest).exec_without_returning(conn).await?;
        rest = tail;
    }
    for chunk in scope.chunks(ID_CHUNK) {
        if replace {
            log_counted_rows(conn, chunk, 1).await?;
        } else {
            history::open(conn, chunk).await?;
        }
    }
    Ok(())
}

/// The columns of a counted row, as `counted_changes` copies them.
pub(super) const COUNTED_COLUMNS: &str = "commitment_id, related_id, rule, measure, is_primary, flags, amount_low, amount_high, \
     currency, currency_exponent, rate_date, rate_year, owner_on, related_on, announced_on, status, related_status, \
     event_id, pledger_id, pledger_kind, pledger_country, beneficiary_id, recipient_country, sector, kind, \
     owner_currency, year, month";

/// Copies the counted rows of `ids` into the change log with `sign` (−1 before they are
/// replaced or deleted, +1 once written), under the version this write will commit
/// (`-1` until [`bump_data_version`] sets it), and adds them to the write-time sums with
/// the same sign.
pub(crate) async fn log_counted_rows<C: ConnectionTrait>(conn: &C, ids: &[i64], sign: i32) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO counted_changes (version, sign, {COUNTED_COLUMNS}) SELECT -1, {sign}, {COUNTED_COLUMNS} \
         FROM counted_amounts WHERE commitment_id IN ({})",
        id_list(ids)
    );
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql)).await?;
    // The write-time sums follow the same rows, with the same sign.
    super::totals::sums::add_rows_of(conn, ids, sign).await?;
    if sign < 0 { history::close(conn, Some(ids)).await } else { history::open(conn, ids).await }
}

/// Versions of the change log kept: a total older than that is recomputed.
const LOGGED_VERSIONS: i64 = 1_000;

/// Marks a write: every cached total made before it is stale. The write's logged counted
/// rows take its version, and the log keeps the last [`LOGGED_VERSIONS`] versions (pruned
/// every 64th version).
pub(crate) async fn bump_data_version<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let bumped = VersionRow::find_by_statement(Statement::from_string(
        backend,
        format!(
            "UPDATE data_versions SET version = version + 1, delta_from = CASE \
             WHEN delta_from < version + 1 - {LOGGED_VERSIONS} THEN version + 1 - {LOGGED_VERSIONS} \
             ELSE delta_from END WHERE id = 1 RETURNING version"
        ),
    ))
    .one(conn)
    .await?;
    let Some(VersionRow { version }) = bumped else { return Ok(()) };
    let now = chrono::Utc::now().timestamp_micros();
    let log = format!("UPDATE counted_changes SET version = {version} WHERE version = -1");
    for stamp in std::iter::once(log).chain(history::stamp(version)).chain([history::moment(version, now)]) {
        conn.execute_raw(Statement::from_string(backend, stamp)).await?;
    }
    if version % 64 == 0 {
        let prune =
            format!("DELETE FROM counted_changes WHERE version >= 0 AND version <= {}", version - LOGGED_VERSIONS);
        conn.execute_raw(Statement::from_string(backend, prune)).await?;
        super::totals::sums::drop_empty(conn).await?;
    }
    Ok(())
}

/// Marks a write that rebuilt the counted amounts without logging them: no total computed
/// before it can be brought up to date. Call before [`bump_data_version`].
pub(crate) async fn log_gap<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let sql = "UPDATE data_versions SET delta_from = version + 1 WHERE id = 1";
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql)).await?;
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct VersionRow {
    version: i64,
}

/// The current data version.
pub(crate) async fn data_version<C: ConnectionTrait>(conn: &C) -> Result<i64, DbErr> {
    let backend = conn.get_database_backend();
    let row = VersionRow::find_by_statement(Statement::from_string(
        backend,
        "SELECT version FROM data_versions WHERE id = 1",
    ))
    .one(conn)
    .await?;
    Ok(row.map_or(0, |r| r.version))
}

/// Whether commitments exist but no counted amount does (a database from before the
/// derived table).
pub(crate) async fn counted_is_stale<C: ConnectionTrait>(conn: &C) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let row = VersionRow::find_by_statement(Statement::from_string(
        backend,
        "SELECT CAST(COUNT(*) AS BIGINT) AS version FROM (SELECT 1 AS x FROM commitments LIMIT 1) c \
         WHERE NOT EXISTS (SELECT 1 FROM counted_amounts)",
    ))
    .one(conn)
    .await?;
    Ok(row.is_some_and(|r| r.version > 0))
}

impl super::Db {
    /// The current data version: incremented by every write that changes anything a
    /// query can read.
    pub async fn data_version(&self) -> Result<i64, DbErr> {
        data_version(self.conn()).await
    }

    /// Rebuilds every counted amount from scratch in one transaction (after a restore, or
    /// to check the incremental rebuilds): totals answer exactly as before.
    pub async fn rebuild_totals(&self) -> Result<(), DbErr> {
        let txn = self.begin_write().await?;
        rebuild_counted(&txn).await?;
        bump_data_version(&txn).await?;
        let version = data_version(&txn).await?;
        let change = super::changes::Change { version, totals: true, ..Default::default() };
        let pending = super::changes::announce(&txn, change).await?;
        txn.commit().await?;
        self.published(pending);
        Ok(())
    }
}
