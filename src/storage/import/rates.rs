//! Exchange rates. A changed rate can move any converted total: all counted amounts are
//! rebuilt.

use entity::exchange_rate;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::context::Ctx;
use crate::{domain::records::ValidRate, storage::read::Linked};

/// Writes exchange rates, one per day and currency pair.
pub(super) async fn import(cx: &mut Ctx<'_>, valid: &[(usize, ValidRate)]) -> Result<(), DbErr> {
    for (index, r) in valid {
        cx.tick("exchange_rates", valid.len());
        let key = format!("{} {}/{}", r.date, r.base.as_str(), r.quote.as_str());
        let sources = match cx.ids.sources.sources(&r.sources) {
            Ok(s) => s,
            Err(e) => {
                cx.fail("exchange_rates", *index, &key, e);
                continue;
            }
        };
        let existing = exchange_rate::Entity::find()
            .filter(exchange_rate::Column::RateDate.eq(r.date))
            .filter(exchange_rate::Column::Base.eq(r.base.as_str()))
            .filter(exchange_rate::Column::Quote.eq(r.quote.as_str()))
            .one(cx.txn)
            .await?;
        let fresh = exchange_rate::Model {
            id: 0,
            rate_date: r.date,
            base: r.base.as_str().to_owned(),
            quote: r.quote.as_str().to_owned(),
            rate: r.rate.normalize().to_string(),
        };
        let (_, changed) = cx.save(existing, fresh, Linked::Rate, &sources).await?;
        cx.touched.rates |= changed;
    }
    Ok(())
}
