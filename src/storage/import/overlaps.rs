//! Overlaps: money a later commitment presents again from an earlier one.

use std::collections::HashMap;

use entity::overlap;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::{
    context::{Ctx, minor},
    new_rows::Pending,
};
use crate::{
    domain::{FieldError, records::ValidOverlap},
    storage::read::Linked,
};

/// An overlap is known by its two commitments.
type Key = (i64, Option<i64>);

fn key_of(o: &overlap::Model) -> Key {
    (o.later_id, o.earlier_id)
}

/// Writes overlaps; both commitments' families are rebuilt when one changed.
pub(super) async fn import(cx: &mut Ctx<'_>, valid: &[(usize, ValidOverlap)]) -> Result<(), DbErr> {
    let mut rows = Vec::with_capacity(valid.len());
    for (index, o) in valid {
        let ids = &cx.ids;
        let resolved = (|| {
            Ok::<_, FieldError>((
                ids.commitments.get("later", "commitment", &o.later)?,
                ids.commitments.get_opt("earlier", "commitment", &o.earlier)?,
                ids.sources.sources(&o.sources)?,
                o.money.to_minor("amount")?,
            ))
        })();
        match resolved {
            Ok((later_id, earlier_id, sources, range)) => {
                let (amount_low, amount_high, currency, currency_exponent) = minor(&range);
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
                rows.push((fresh, sources));
            }
            Err(e) => cx.fail("overlaps", *index, &super::overlap_key(&o.later, o.earlier.as_deref()), e),
        }
    }
    let mut stored = stored_overlaps(cx, &rows).await?;
    let mut pending = Pending::new(Linked::Overlap, key_of, |cx, o| touch(cx, key_of(o)));
    for (fresh, sources) in rows {
        cx.tick("overlaps", valid.len());
        let key = key_of(&fresh);
        let existing = if pending.repeats(cx, &fresh).await? { find(cx, key).await? } else { stored.remove(&key) };
        match existing {
            None => pending.push(cx, fresh, sources).await?,
            Some(old) => {
                let (_, changed) = cx.save(Some(old), fresh, Linked::Overlap, &sources).await?;
                if changed {
                    touch(cx, key);
                }
            }
        }
    }
    pending.flush(cx).await
}

/// Both commitments' families count again.
fn touch(cx: &mut Ctx<'_>, (later_id, earlier_id): Key) {
    cx.touched.commitment(later_id);
    if let Some(earlier_id) = earlier_id {
        cx.touched.commitment(earlier_id);
    }
}

/// The stored overlaps of the rows' later commitments, fetched together (the first by id
/// when a pair is stored twice).
async fn stored_overlaps(
    cx: &Ctx<'_>,
    rows: &[(overlap::Model, Vec<i64>)],
) -> Result<HashMap<Key, overlap::Model>, DbErr> {
    let mut later: Vec<i64> = rows.iter().map(|(o, _)| o.later_id).collect();
    later.sort_unstable();
    later.dedup();
    let mut stored = HashMap::new();
    for chunk in later.chunks(500) {
        let found = overlap::Entity::find()
            .filter(overlap::Column::LaterId.is_in(chunk.iter().copied()))
            .order_by_asc(overlap::Column::Id)
            .all(cx.txn)
            .await?;
        for o in found {
            stored.entry(key_of(&o)).or_insert(o);
        }
    }
    Ok(stored)
}

async fn find(cx: &Ctx<'_>, (later_id, earlier_id): Key) -> Result<Option<overlap::Model>, DbErr> {
    overlap::Entity::find()
        .filter(overlap::Column::LaterId.eq(later_id))
        .filter(match earlier_id {
            Some(id) => overlap::Column::EarlierId.eq(id),
            None => overlap::Column::EarlierId.is_null(),
        })
        .order_by_asc(overlap::Column::Id)
        .one(cx.txn)
        .await
}
