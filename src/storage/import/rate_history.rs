//! A rate history in bulk (the ECB's whole history: ~7,000 days × up to 40 currencies):
//! new rates in multi-row inserts with their source links, stored rates of the same value
//! left alone, and a stored rate the file gives differently reported and kept, never
//! overwritten in silence. One transaction; the totals are rebuilt once.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::{exchange_rate, source, source_link};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::{
    Batches, ImportError, audit_import,
    context::{ImportSummary, Touched, link_rows},
    plan_each_statement,
};
use crate::{
    domain::{
        FieldError,
        records::{Problem, RateRecord},
    },
    storage::{Db, read::Linked},
};

/// Rates per multi-row insert (5 columns) and source links per insert (4 columns).
const RATES_PER_INSERT: usize = 1_000;
const LINKS_PER_INSERT: usize = 2_000;

/// A published rate that differs from the one stored for its day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedRate {
    pub date: NaiveDate,
    pub quote: String,
    pub stored: String,
    pub published: String,
}

/// What a rate history import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateHistorySummary {
    pub inserted: usize,
    pub unchanged: usize,
    /// Stored rates the file gives differently: kept as stored, reported here.
    pub changed: Vec<ChangedRate>,
}

impl Db {
    /// Whether any exchange rate is stored for a day before `day` (the ECB history starts
    /// in 1999; the reference data's own rates in 2021).
    pub async fn has_rates_before(&self, day: NaiveDate) -> Result<bool, crate::storage::StorageError> {
        let found = exchange_rate::Entity::find()
            .select_only()
            .column(exchange_rate::Column::Id)
            .filter(exchange_rate::Column::RateDate.lt(day))
            .limit(1)
            .into_tuple::<i64>()
            .one(self.conn())
            .await?;
        Ok(found.is_some())
    }

    /// Imports `rates` (euro reference rates, each citing the same sources) in bulk, on
    /// behalf of `who`; audited as an import named `label` when it inserted anything.
    pub async fn import_rate_history(
        &self,
        who: &str,
        label: &str,
        rates: &[RateRecord],
    ) -> Result<RateHistorySummary, ImportError> {
        let mut valid = Vec::with_capacity(rates.len());
        let mut problems = Vec::new();
        for (index, r) in rates.iter().enumerate() {
            match r.validate() {
                Ok(v) => valid.push(v),
                Err(e) => problems.push(Problem::new("exchange_rates", index, &format!("{} {}", r.date, r.quote), e)),
            }
        }
        let txn = self.begin_write().await?;
        plan_each_statement(&txn).await?;
        // Every source cited, by slug.
        let slugs: Vec<String> =
            valid.iter().flat_map(|r| r.sources.clone()).collect::<HashSet<_>>().into_iter().collect();
        let found: Vec<(i64, String)> = source::Entity::find()
            .select_only()
            .column(source::Column::Id)
            .column(source::Column::Slug)
            .filter(source::Column::Slug.is_in(slugs.clone()))
            .into_tuple()
            .all(&txn)
            .await?;
        let source_ids: HashMap<String, i64> = found.into_iter().map(|(id, slug)| (slug, id)).collect();
        for slug in slugs.iter().filter(|s| !source_ids.contains_key(*s)) {
            problems.push(Problem::new(
                "exchange_rates",
                0,
                slug,
                FieldError::new("sources", format!("no source with slug {slug:?}")),
            ));
        }
        if !problems.is_empty() {
            return Err(ImportError::Invalid(problems));
        }
        // The rates stored already, by day and currency pair.
        let stored: Vec<(NaiveDate, String, String, String)> = exchange_rate::Entity::find()
            .select_only()
            .column(exchange_rate::Column::RateDate)
            .column(exchange_rate::Column::Base)
            .column(exchange_rate::Column::Quote)
            .column(exchange_rate::Column::Rate)
            .into_tuple()
            .all(&txn)
            .await?;
        let stored: HashMap<(NaiveDate, String, String), String> =
            stored.into_iter().map(|(d, b, q, r)| ((d, b, q), r)).collect();
        let mut summary = RateHistorySummary::default();
        let mut fresh: Vec<(exchange_rate::Model, Vec<i64>)> = Vec::new();
        let mut seen = HashSet::new();
        for r in valid {
            let published = r.rate.normalize().to_string();
            let key = (r.date, r.base.as_str().to_owned(), r.quote.as_str().to_owned());
            match stored.get(&key) {
                Some(old) if *old == published => summary.unchanged += 1,
                Some(old) => summary.changed.push(ChangedRate {
                    date: r.date,
                    quote: key.2.clone(),
                    stored: old.clone(),
                    published,
                }),
                None if !seen.insert(key.clone()) => summary.unchanged += 1,
                None => {
                    let sources = r.sources.iter().filter_map(|s| source_ids.get(s).copied()).collect();
                    let model =
                        exchange_rate::Model { id: 0, rate_date: r.date, base: key.1, quote: key.2, rate: published };
                    fresh.push((model, sources));
                }
            }
        }
        for chunk in fresh.chunks(RATES_PER_INSERT) {
            let rows = chunk.iter().map(|(m, _)| {
                let mut active = exchange_rate::ActiveModel::from(m.clone()).reset_all();
                active.not_set(exchange_rate::Column::Id);
                active
            });
            let inserted = exchange_rate::Entity::insert_many(rows).exec_with_returning(&txn).await?;
            let ids: HashMap<(NaiveDate, &str, &str), i64> =
                inserted.iter().map(|m| ((m.rate_date, m.base.as_str(), m.quote.as_str()), m.id)).collect();
            let mut links = Vec::new();
            for (m, sources) in chunk {
                let id = ids.get(&(m.rate_date, m.base.as_str(), m.quote.as_str())).copied().ok_or_else(|| {
                    DbErr::Custom(format!("rate {} {} was not returned by its insert", m.rate_date, m.quote))
                })?;
                links.extend(link_rows(Linked::Rate, id, sources));
            }
            for links in links.chunks(LINKS_PER_INSERT) {
                source_link::Entity::insert_many(links.iter().cloned()).exec_without_returning(&txn).await?;
            }
        }
        summary.inserted = fresh.len();
        let counts = ImportSummary { inserted: summary.inserted, updated: 0, unchanged: summary.unchanged };
        let pending = if summary.inserted > 0 {
            audit_import(&txn, who, label, &counts).await?;
            // New rates can convert what could not be converted: every total is rebuilt.
            let batches = Batches { summary: counts, touched: Touched { rates: true, ..Touched::default() } };
            self.finish_import(&txn, batches).await?.1
        } else {
            None
        };
        txn.commit().await?;
        self.published(pending);
        Ok(summary)
    }
}
