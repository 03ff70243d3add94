//! The counted rows behind a figure: "where does this number come from?".

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::*;
use crate::graphql::{
    ContextExt,
    scalars::{Date, Decimal},
    types::{Commitment, loaded, stored},
};
use crate::{
    domain::{
        codes::CurrencyCode,
        counting::Rule,
        fx::{self, RateKey},
        report::Pair,
    },
    error::{ApiError, ApiResultExt},
    storage::totals::{ContributionRow, TotalsQuery},
};

/// Why a counted row exists.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Rule")]
pub enum CountingRule {
    /// The commitment's own amount.
    Own,
    /// Minus a part's amount, under its headline: the headline's unattributed remainder.
    CarveOut,
    /// Minus money an earlier announcement already counted.
    Overlap,
    /// A confirmation of an earlier pledge: in the confirmed measure only.
    Confirmed,
    /// Inside a DETAIL_OF breakdown: nothing counted.
    Detail,
    /// No amount: nothing counted.
    Unquantified,
}

/// One counted row behind a group: "where does this number come from?".
pub struct Contribution {
    row: ContributionRow,
    converted: Option<(i128, i128)>,
    to: CurrencyCode,
}

#[Object]
impl Contribution {
    /// The commitment the row is counted under.
    async fn commitment(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.row.commitment_id).await)?.map(Commitment::now))
    }
    /// Why the row exists.
    async fn rule(&self) -> Result<CountingRule, ApiError> {
        self.row.rule().map(Into::into).ok_or_else(|| ApiError::Internal(format!("unknown rule {}", self.row.rule)))
    }
    /// For CARVE_OUT the part, for OVERLAP the earlier commitment, for CONFIRMED the pledge
    /// it confirms, for DETAIL the pledge whose figure holds it (where its money counts).
    async fn related(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        let loaders = ctx.loaders()?;
        let load = |id: i64| async move { loaded(loaders.commitments.load_one(id).await) };
        match (self.row.rule(), self.row.related_id) {
            (_, Some(id)) => Ok(load(id).await?.map(Commitment::now)),
            (Some(Rule::Detail | Rule::Confirmed), None) => {
                // Up the parents while they are details themselves (bounded: imports refuse
                // cycles).
                let mut current = load(self.row.commitment_id).await?;
                for _ in 0..64 {
                    let Some(parent) = current.as_ref().and_then(|c| c.parent_id) else { break };
                    let parent = load(parent).await?;
                    let inside_detail = parent.as_ref().is_some_and(|p| p.relation.as_deref() == Some("DETAIL_OF"));
                    current = parent;
                    if !inside_detail {
                        break;
                    }
                }
                Ok(current.filter(|c| c.id != self.row.commitment_id).map(Commitment::now))
            }
            _ => Ok(None),
        }
    }
    /// Why the row counts what it counts, in words ("inside eu-investai-200bn: counted
    /// there").
    async fn reason(&self, ctx: &Context<'_>) -> Result<String, ApiError> {
        let related = self.related(ctx).await?.map(|c| c.0.slug);
        let related = related.as_deref().unwrap_or("another commitment");
        Ok(match self.row.rule() {
            Some(Rule::Own) => "its own amount".to_owned(),
            Some(Rule::CarveOut) => format!("minus its part {related}, which counts on its own"),
            Some(Rule::Overlap) if self.row.related_id.is_none() => {
                "minus money announced before, not recorded here one by one".to_owned()
            }
            Some(Rule::Overlap) => format!("minus money {related} announced first and counts"),
            Some(Rule::Confirmed) => format!("confirms {related}: shown as confirmed, not added again"),
            Some(Rule::Detail) => format!("inside {related}: counted there, so 0 here"),
            Some(Rule::Unquantified) => "no amount: nothing to add".to_owned(),
            None => return Err(ApiError::Internal(format!("unknown rule {}", self.row.rule))),
        })
    }
    /// The amount counted, exact, in its original currency (negative for carve-outs and
    /// overlaps).
    async fn original(&self) -> Result<OriginalAmount, ApiError> {
        let c = stored(CurrencyCode::parse("currency", &self.row.currency))?;
        let (low, high) =
            Pair { low: self.row.amount_low.into(), high: self.row.amount_high.into() }.to_decimals(c.exponent());
        Ok(OriginalAmount { low: Decimal(low), high: Decimal(high), currency: c.as_str().to_owned() })
    }
    /// The amount converted on its own (null without a rate). Converted alone, rows may
    /// differ from the group total by rounding; the group total shares it exactly.
    async fn converted(&self) -> Option<TotalRange> {
        self.converted.map(|(low, high)| TotalRange::of(Pair { low, high }, self.to.exponent()))
    }
    /// The date whose rate converts it.
    async fn rate_date(&self) -> Option<Date> {
        self.row.rate_date.map(Date)
    }
}

// An amount as recorded, before conversion. Its GraphQL name stays `TotalRangeIn` for the
// clients that already use it (schema.graphql is kept byte-identical).
/// A low/high pair in a named currency.
#[derive(SimpleObject)]
#[graphql(name = "TotalRangeIn")]
pub struct OriginalAmount {
    pub low: Decimal,
    pub high: Decimal,
    pub currency: String,
}

pub(super) async fn contributions(
    db: &crate::storage::Db,
    rows: Vec<ContributionRow>,
    query: &TotalsQuery,
) -> Result<Vec<Contribution>, ApiError> {
    let mut currencies: Vec<String> = rows.iter().map(|r| r.currency.clone()).collect();
    currencies.push(query.currency.as_str().to_owned());
    currencies.sort();
    currencies.dedup();
    let to = query.currency;
    let keys = rows.iter().filter(|r| r.currency != to.as_str()).map(|r| query.fx.key(r.rate_date));
    let rates = db.rate_table(&currencies, keys).await.api()?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let converted = CurrencyCode::parse("currency", &row.currency).ok().and_then(|from| {
                let key = if from == to { RateKey::Identity } else { query.fx.key(row.rate_date) };
                let conversion = rates.conversion(from.as_str(), to.as_str(), key).ok()?;
                let low = fx::allocate(&[i128::from(row.amount_low)], from.exponent(), to.exponent(), &conversion).0;
                let high = fx::allocate(&[i128::from(row.amount_high)], from.exponent(), to.exponent(), &conversion).0;
                Some((low, high))
            });
            Contribution { row, converted, to }
        })
        .collect())
}
