//! Overlaps: money a later commitment presents again from an earlier one.

use entity::overlap;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::context::{Ctx, minor};
use crate::{
    domain::{FieldError, records::ValidOverlap},
    storage::read::Linked,
};

/// Writes overlaps; both commitments' families are rebuilt when one changed.
pub(super) async fn import(cx: &mut Ctx<'_>, valid: &[(usize, ValidOverlap)]) -> Result<(), DbErr> {
    for (index, o) in valid {
        cx.tick("overlaps", valid.len());
        let key = super::overlap_key(&o.later, o.earlier.as_deref());
        let ids = &cx.ids;
        let resolved = (|| {
            Ok::<_, FieldError>((
                ids.commitments.get("later", "commitment", &o.later)?,
                ids.commitments.get_opt("earlier", "commitment", &o.earlier)?,
                ids.sources.sources(&o.sources)?,
                o.money.to_minor("amount")?,
            ))
        })();
        let (later_id, earlier_id, sources, range) = match resolved {
            Ok(r) => r,
            Err(e) => {
                cx.fail("overlaps", *index, &key, e);
                continue;
            }
        };
        let (amount_low, amount_high, currency, currency_exponent) = minor(&range);
        let existing = overlap::Entity::find()
            .filter(overlap::Column::LaterId.eq(later_id))
            .filter(match earlier_id {
                Some(id) => overlap::Column::EarlierId.eq(id),
                None => overlap::Column::EarlierId.is_null(),
            })
            .one(cx.txn)
            .await?;
        let fresh = overlap::Model {
            id: 0,
            later_id,
            earlier_id,
            amount_low,
            amount_high,
            currency,
            currency_exponent,
            note: o.note.clone(),
        };
        let (_, changed) = cx.save(existing, fresh, Linked::Overlap, &sources).await?;
        if changed {
            cx.touched.commitment(later_id);
            if let Some(earlier_id) = earlier_id {
                cx.touched.commitment(earlier_id);
            }
        }
    }
    Ok(())
}
