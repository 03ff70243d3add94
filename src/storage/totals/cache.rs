//! Totals kept between requests, and brought up to date after a write by adding what the
//! write changed instead of summing every counted row again.
//!
//! An answer is cached with its data version and its exact *linear sums* (per group,
//! measure, currency and rate) and the rows of the families that [vary](super::varying),
//! as resolved for it. After writes, a cached answer whose question the change log can
//! serve (no `asOf`, a filter on the counted rows' own columns only) is updated with the
//! logged rows between its version and the current one, read in the same database
//! snapshot as that version, and only the varying families those writes rebuilt are
//! resolved again; any other answer is recomputed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::NaiveDate;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseBackend, DatabaseTransaction, FromQueryResult, IsolationLevel, QueryResult,
    Statement, TransactionTrait,
};

use super::{
    LoadedRates, Source, TotalsQuery,
    sql::{Summing, read_key},
    varying::Resolved,
};
use crate::{
    domain::{
        codes::CurrencyCode,
        counting::Measure,
        fx::{FxPolicy, RateKey},
        report::{GroupKey, Report},
    },
    storage::{
        Db, StorageResult,
        counting::{data_version, families_of},
    },
};

/// How the engine made a totals report, the least cached first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Served {
    /// Summed from the counted rows for this request.
    Computed,
    /// The report of an earlier data version, brought up to date with the rows written
    /// since (the change log), for this request.
    Updated,
    /// The report of this data version made for an earlier request, from the engine's cache.
    Cached,
}

impl Served {
    /// How an answer made of two reports was made: computed if either was, else updated if
    /// either was, else cached.
    pub fn and(self, other: Served) -> Served {
        self.min(other)
    }
}

/// A totals report, how it was made, and the data version it is exactly the data of.
#[derive(Debug, Clone)]
pub struct Answered {
    pub report: Arc<Report>,
    pub served: Served,
    pub version: i64,
}

/// Most answers a server keeps (all are dropped when it is full).
const CACHE_CAPACITY: usize = 512;

/// What identifies a bucket of linear sums.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct BucketKey {
    pub key: GroupKey,
    pub measure: Measure,
    pub currency: CurrencyCode,
    pub rate_key: RateKey,
}

/// Exact sums of a bucket, and how many stored rows make it (a bucket whose rows are all
/// gone is dropped, as a recomputation would not have it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Sums {
    pub low: i128,
    pub high: i128,
    pub count: i64,
    pub rows: i64,
}

impl Sums {
    pub(super) fn add(&mut self, other: Sums) {
        self.low += other.low;
        self.high += other.high;
        self.count += other.count;
        self.rows += other.rows;
    }
}

/// One GROUP BY row of linear sums as a bucket.
pub(super) fn bucket(
    row: &QueryResult,
    query: &TotalsQuery,
    summing: Summing,
    backend: sea_orm::DatabaseBackend,
) -> StorageResult<(BucketKey, Sums)> {
    let bad = |what: &str| sea_orm::DbErr::Custom(format!("totals: unexpected {what} in counted_amounts"));
    let key = read_key(row, query, backend)?;
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
    let bucket =
        BucketKey { key, measure: Measure::parse(&measure).ok_or_else(|| bad("measure"))?, currency, rate_key };
    let sums = Sums {
        low: summing.read(row, "low")?,
        high: summing.read(row, "high")?,
        count: row.try_get::<Option<i64>>("", "n")?.unwrap_or(0),
        rows: row.try_get::<Option<i64>>("", "rows")?.unwrap_or(0),
    };
    Ok((bucket, sums))
}

/// The linear sums of one answer.
pub(super) type Linear = HashMap<BucketKey, Sums>;

/// What the change log brings up to date: the linear sums and the resolved rows of the
/// varying families.
#[derive(Debug)]
struct Parts {
    linear: Linear,
    varying: Vec<Resolved>,
    /// The rates the answer was converted at: a rate written since would have left a gap
    /// in the log (every rate write rebuilds all counted rows unlogged), so an answer the
    /// log brings up to date may convert at them again.
    rates: Option<LoadedRates>,
}

#[derive(Debug)]
struct Entry {
    version: i64,
    /// Kept only for answers the change log can bring up to date.
    parts: Option<Arc<Parts>>,
    report: Arc<Report>,
}

/// Most commitments of varying families rewritten since a cached answer for which only
/// their families are resolved again, and most members (ten times as many) those families
/// may have; beyond either, every family is (one statement instead of a long list of ids).
const REFAMILY_LIMIT: usize = 500;

/// Totals already answered.
#[derive(Debug, Default)]
pub struct TotalsCache {
    entries: HashMap<String, Entry>,
    hits: u64,
    misses: u64,
    updates: u64,
    /// Answers added up from the write-time sums.
    pub(super) from_sums: u64,
}

/// A shared cache handle.
pub type SharedCache = Arc<Mutex<TotalsCache>>;

#[derive(Debug, FromQueryResult)]
struct Versions {
    version: i64,
    delta_from: i64,
}

/// Whether the change log can bring an answer to this question up to date: the logged rows
/// carry every column the question reads (no `asOf`, whose statuses come from the history;
/// no filter that reads other tables, which a write may change without a counted row).
fn follows_the_log(query: &TotalsQuery) -> bool {
    let f = &query.filter;
    query.as_of.is_none()
        && query.known_at.is_none()
        && f.events.is_empty()
        && f.pledgers.is_empty()
        && f.beneficiaries.is_empty()
        && f.amount_min.is_none()
        && f.amount_max.is_none()
        && f.part_of.is_none()
        && f.relations.is_empty()
        && f.top_level.is_none()
        && f.text.as_deref().is_none_or(|t| t.trim().is_empty())
        && f.updated_since.is_none()
        && f.updated_before.is_none()
}

impl Db {
    /// A totals report: from the cache when nothing was written since it was made, brought
    /// up to date from the change log when it can be, else computed; with which of these
    /// it was and the data version it is of.
    pub async fn totals(&self, query: &TotalsQuery) -> StorageResult<Answered> {
        let version = data_version(self.conn()).await?;
        let key = format!("{query:?}");
        let cached = {
            let mut cache = self.totals_cache.lock().expect("the cache lock is never poisoned");
            match cache.entries.get(&key) {
                Some(e) if e.version == version => {
                    let report = Arc::clone(&e.report);
                    cache.hits += 1;
                    return Ok(Answered { report, served: Served::Cached, version });
                }
                Some(e) => e.parts.clone().map(|p| (e.version, p)),
                None => None,
            }
        };
        let follows = follows_the_log(query);
        let as_of = self.as_of(query);
        // The version, the log and the counted rows are read in one snapshot, so that an
        // answer is exactly the data of the version it is stored under.
        let txn = self.read_snapshot().await?;
        let versions = Versions::find_by_statement(Statement::from_string(
            txn.get_database_backend(),
            "SELECT version, delta_from FROM data_versions WHERE id = 1",
        ))
        .one(&txn)
        .await?
        .unwrap_or(Versions { version: 0, delta_from: 0 });
        // A cached answer of an earlier version that the log reaches back to is updated.
        let update = cached.filter(|(from, _)| follows && *from >= versions.delta_from && *from < versions.version);
        let served = if update.is_some() { Served::Updated } else { Served::Computed };
        let parts = match update {
            Some((from, cached)) => {
                let mut linear = cached.linear.clone();
                let source = Source::Log { after: from, upto: versions.version };
                for (bucket, sums) in self.linear(&txn, query, as_of, source).await? {
                    linear.entry(bucket).or_default().add(sums);
                }
                linear.retain(|_, s| *s != Sums::default());
                // A varying family is resolved again only when a write rebuilt it (its rows
                // are in the log); the others resolve as they did.
                let rewritten = self.varying_rewritten(&txn, from, versions.version).await?;
                let scope = match rewritten.len() {
                    0 => Some(Vec::new()),
                    n if n <= REFAMILY_LIMIT => Some(families_of(&txn, &rewritten).await?),
                    _ => None,
                };
                let varying = match scope {
                    Some(scope) if scope.is_empty() => cached.varying.clone(),
                    Some(scope) if scope.len() <= REFAMILY_LIMIT * 10 => {
                        let mut varying: Vec<Resolved> = cached
                            .varying
                            .iter()
                            .filter(|r| scope.binary_search(&r.row.owner).is_err())
                            .cloned()
                            .collect();
                        varying.extend(self.resolved_varying(&txn, query, as_of, Some(&scope)).await?);
                        varying
                    }
                    _ => self.resolved_varying(&txn, query, as_of, None).await?,
                };
                self.totals_cache.lock().expect("the cache lock is never poisoned").updates += 1;
                Parts { linear, varying, rates: cached.rates.clone() }
            }
            None => {
                self.totals_cache.lock().expect("the cache lock is never poisoned").misses += 1;
                let mut linear = Linear::new();
                for (bucket, sums) in self.linear(&txn, query, as_of, Source::Table).await? {
                    linear.entry(bucket).or_default().add(sums);
                }
                let varying = self.resolved_varying(&txn, query, as_of, None).await?;
                Parts { linear, varying, rates: None }
            }
        };
        let (report, rates) = self.report_of(&txn, query, &parts.linear, &parts.varying, parts.rates.as_ref()).await?;
        let report = Arc::new(report);
        let parts = Parts { rates: Some(rates), ..parts };
        txn.commit().await?;
        let mut cache = self.totals_cache.lock().expect("the cache lock is never poisoned");
        let newer = cache.entries.get(&key).is_some_and(|e| e.version >= versions.version);
        if !newer {
            if cache.entries.len() >= CACHE_CAPACITY {
                cache.entries.clear();
            }
            let parts = follows.then(|| Arc::new(parts));
            cache.entries.insert(key, Entry { version: versions.version, parts, report: Arc::clone(&report) });
        }
        Ok(Answered { report, served, version: versions.version })
    }

    /// Cache hits and misses (answers computed from the counted rows) so far.
    pub fn totals_cache_stats(&self) -> (u64, u64) {
        let cache = self.totals_cache.lock().expect("the cache lock is never poisoned");
        (cache.hits, cache.misses)
    }

    /// Answers computed from the write-time sums ([`super::sums`]) so far, instead of from
    /// the counted rows.
    pub fn totals_from_sums(&self) -> u64 {
        self.totals_cache.lock().expect("the cache lock is never poisoned").from_sums
    }

    /// Cached answers brought up to date from the change log so far.
    pub fn totals_cache_updates(&self) -> u64 {
        self.totals_cache.lock().expect("the cache lock is never poisoned").updates
    }

    /// A read-only transaction that sees one snapshot (SQLite's WAL gives one to every
    /// read transaction; PostgreSQL needs REPEATABLE READ).
    async fn read_snapshot(&self) -> StorageResult<DatabaseTransaction> {
        Ok(match self.conn().get_database_backend() {
            DatabaseBackend::Postgres => {
                self.conn().begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?
            }
            _ => self.conn().begin().await?,
        })
    }
}
