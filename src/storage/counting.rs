//! The derived table of counted amounts: rebuilt from the commitments, their hierarchy and
//! their overlaps inside the write transaction that changed them, and the data version that
//! every write increments.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use entity::{counted_amount, exchange_rate, overlap};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, Statement};

use crate::domain::{
    codes::CurrencyCode,
    counting::{Facts, OverlapFacts, counted_rows},
    fx::{EURO, RateTable},
    kinds::CommitmentRelation,
};

/// Rows per INSERT: 29 columns each stays under SQLite's 32,766 parameters.
const INSERT_CHUNK: usize = 500;

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
     c.announced_on, e.start_date AS event_start, c.amount_disputed, c.status, c.event_id, c.pledger_id, \
     a.kind AS pledger_kind, a.country AS pledger_country, c.beneficiary_id, c.recipient_country, c.sector, c.kind \
     FROM commitments c JOIN actors a ON a.id = c.pledger_id LEFT JOIN events e ON e.id = c.event_id";

/// The published euro rates, for the currencies in `currencies` (all when `None`).
pub(crate) async fn load_rates<C: ConnectionTrait>(
    conn: &C,
    currencies: Option<&[String]>,
) -> Result<RateTable, DbErr> {
    let mut query = exchange_rate::Entity::find().filter(exchange_rate::Column::Base.eq(EURO));
    if let Some(list) = currencies {
        query = query.filter(exchange_rate::Column::Quote.is_in(list.iter().cloned()));
    }
    let mut table = RateTable::default();
    for r in query.all(conn).await? {
        // Stored rates passed validation; a corrupt one is skipped rather than guessed.
        if let Ok(rate) = r.rate.parse::<Decimal>() {
            table.insert(&r.quote, r.rate_date, rate);
        }
    }
    Ok(table)
}

/// Rebuilds every counted amount. Runs inside the caller's transaction, so a total read
/// after the commit sees exactly the written data.
pub(crate) async fn rebuild_counted<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let owners = Owner::find_by_statement(Statement::from_string(backend, OWNERS_SQL)).all(conn).await?;
    let overlaps = overlap::Entity::find().all(conn).await?;
    let rates = load_rates(conn, None).await?;

    let currency = |code: &str| CurrencyCode::parse("currency", code).map_err(|e| DbErr::Custom(e.to_string()));
    let mut facts = Vec::with_capacity(owners.len());
    for o in &owners {
        facts.push(Facts {
            id: o.id,
            parent: o.parent_id,
            relation: o.relation.as_deref().and_then(|r| CommitmentRelation::parse("relation", r).ok()),
            low: o.amount_low,
            high: o.amount_high,
            currency: currency(&o.currency)?,
            date: o.on(),
            disputed: o.amount_disputed,
        });
    }
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

    let by_id: HashMap<i64, &Owner> = owners.iter().map(|o| (o.id, o)).collect();
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
    counted_amount::Entity::delete_many().exec(conn).await?;
    let mut rest = models;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(INSERT_CHUNK));
        counted_amount::Entity::insert_many(rest).exec_without_returning(conn).await?;
        rest = tail;
    }
    Ok(())
}

/// Marks a write: every cached total made before it is stale.
pub(crate) async fn bump_data_version<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let stmt = Statement::from_string(
        conn.get_database_backend(),
        "UPDATE data_versions SET version = version + 1 WHERE id = 1",
    );
    conn.execute_raw(stmt).await?;
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
