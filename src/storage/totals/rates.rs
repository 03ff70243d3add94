//! The exchange rates a total is converted at: read for the days and currencies its
//! buckets need, and kept with a cached answer so that the answer brought up to date after
//! a write reads only what it lacks.

use std::sync::Arc;

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use crate::{
    domain::fx::{RateKey, RateTable},
    storage::{
        Db, StorageResult,
        counting::{load_rate_window, load_rates},
    },
};

/// The published rates a report read: the currencies and the days.
#[derive(Debug, Clone)]
pub(super) struct LoadedRates {
    currencies: Vec<String>,
    window: Option<(NaiveDate, NaiveDate)>,
    table: Arc<RateTable>,
}

impl LoadedRates {
    /// The rates of `currencies` over `window`: those of `reuse` when they hold them all
    /// (the caller knows that no rate changed since they were read), else read again.
    pub(super) async fn for_buckets<C: ConnectionTrait>(
        conn: &C,
        reuse: Option<&LoadedRates>,
        currencies: Vec<String>,
        window: Option<(NaiveDate, NaiveDate)>,
    ) -> StorageResult<Self> {
        if let Some(loaded) = reuse.filter(|r| r.covers(&currencies, window)) {
            return Ok(loaded.clone());
        }
        let table = Arc::new(load_rate_window(conn, &currencies, window).await?);
        Ok(Self { currencies, window, table })
    }

    pub(super) fn table(&self) -> &RateTable {
        &self.table
    }

    /// Whether these rates hold every rate of `currencies` over `window`.
    fn covers(&self, currencies: &[String], window: Option<(NaiveDate, NaiveDate)>) -> bool {
        let days = match (self.window, window) {
            (_, None) => true,
            (Some((from, to)), Some((a, b))) => from <= a && b <= to,
            (None, Some(_)) => false,
        };
        days && currencies.iter().all(|c| self.currencies.contains(c))
    }
}

impl Db {
    /// The published euro rates of these currencies that `keys` can read.
    pub async fn rate_table(
        &self,
        currencies: &[String],
        keys: impl IntoIterator<Item = RateKey>,
    ) -> StorageResult<RateTable> {
        Ok(load_rates(self.conn(), currencies, keys).await?)
    }
}
