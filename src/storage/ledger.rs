//! The counted columns of an export: for each commitment of a page, how it counts and its
//! counted amount in the reporting currency, so that the spreadsheet's column adds up to the
//! API's total for the same filter (see [`crate::domain::report::ledger`]). Read page by
//! page: the export stays a stream.

use std::collections::HashMap;

use super::{Db, StorageResult, export::CommitmentRow, totals::ContributionRow};
use crate::domain::{
    codes::CurrencyCode,
    counting::Rule,
    fx::{NoRate, RateKey},
    kinds::CommitmentStatus,
    report::ledger::{CountedAs, Ledger, LedgerRow, Line},
    totals::TotalsQuery,
};

/// What the counted columns read once for a whole export, and the running ledger.
pub struct CountedColumns {
    query: TotalsQuery,
    varying: Vec<ContributionRow>,
    ledger: Ledger,
}

impl Db {
    /// The counted columns of an export answering `query` (its filter is the export's).
    pub async fn counted_columns(&self, query: TotalsQuery) -> StorageResult<CountedColumns> {
        let varying = self.varying_rows(&query).await?;
        let ledger = Ledger::new(query.currency);
        Ok(CountedColumns { query, varying, ledger })
    }

    /// The line of each commitment of `page`, in the page's order. Three statements: the
    /// counted rows, the related slugs, the rates.
    pub async fn counted_lines(
        &self,
        counted: &mut CountedColumns,
        page: &[CommitmentRow],
    ) -> StorageResult<Vec<Line>> {
        let ids: Vec<i64> = page.iter().map(|r| r.id).collect();
        let rows = self.counted_rows_of(&counted.query, &ids, &counted.varying).await?;
        let related_ids: Vec<i64> = rows.iter().filter_map(|r| r.related_id).collect();
        let slugs: HashMap<i64, String> =
            self.commitments_by_ids(&related_ids).await?.into_iter().map(|c| (c.id, c.slug)).collect();
        let query = &counted.query;
        let mut by_owner: HashMap<i64, Vec<LedgerRow>> = HashMap::new();
        for r in &rows {
            let (Some(rule), Ok(currency)) = (r.rule(), CurrencyCode::parse("currency", &r.currency)) else {
                return Err(sea_orm::DbErr::Custom(format!("unexpected counted row {r:?}")).into());
            };
            by_owner.entry(r.commitment_id).or_default().push(LedgerRow {
                rule,
                currency,
                rate_key: query.fx.key(r.rate_date),
                low: r.amount_low.into(),
                high: r.amount_high.into(),
                related: r.related_id.and_then(|id| slugs.get(&id).cloned()),
            });
        }
        let mut currencies: Vec<String> = rows.iter().map(|r| r.currency.clone()).collect();
        currencies.push(query.currency.as_str().to_owned());
        currencies.sort();
        currencies.dedup();
        let keys: Vec<RateKey> = by_owner.values().flatten().map(|r| r.rate_key).collect();
        let rates = self.rate_table(&currencies, keys).await?;
        let to = query.currency;
        let mut lines = Vec::with_capacity(page.len());
        for row in page {
            let mut counted_rows = by_owner.remove(&row.id).unwrap_or_default();
            // A detail or a confirmation names the pledge it belongs to: its parent.
            for r in counted_rows.iter_mut().filter(|r| matches!(r.rule, Rule::Detail | Rule::Confirmed)) {
                r.related = r.related.take().or_else(|| row.parent.clone());
            }
            let convert = |from: CurrencyCode, key: RateKey| -> Result<_, NoRate> {
                rates.conversion(from.as_str(), to.as_str(), key)
            };
            let line = match counted.ledger.line(&counted_rows, row.relation.as_deref(), convert) {
                Some(line) => line,
                None if row.retracted => Ledger::left_out(CountedAs::Retracted),
                None if row.status == CommitmentStatus::Withdrawn.as_str() => Ledger::left_out(CountedAs::Withdrawn),
                None => Ledger::left_out(CountedAs::Unquantified),
            };
            lines.push(line);
        }
        Ok(lines)
    }
}
