//! Claims: what each source says a commitment's figure is. The preferred one is the
//! commitment's recorded amount (what totals count), and a commitment with claims has exactly
//! one preferred.

use std::collections::BTreeMap;

use entity::{claim, commitment};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use super::context::{Ctx, minor};
use crate::{
    domain::{FieldError, records::ValidClaim},
    storage::read::Linked,
};

/// Writes claims by slug, then checks each touched commitment's preferred claim.
pub(super) async fn import(cx: &mut Ctx<'_>, valid: &[(usize, ValidClaim)]) -> Result<(), DbErr> {
    // The commitments whose claims this import wrote, with a claim of each to report on.
    let mut touched: BTreeMap<i64, (usize, String)> = BTreeMap::new();
    for (index, c) in valid {
        cx.tick("claims", valid.len());
        let ids = &cx.ids;
        let resolved = (|| {
            Ok::<_, FieldError>((
                ids.commitments.get("commitment", "commitment", &c.commitment)?,
                ids.sources.sources(&c.sources)?,
                c.money.to_minor("amount")?,
            ))
        })();
        let (commitment_id, sources, range) = match resolved {
            Ok(r) => r,
            Err(e) => {
                cx.fail("claims", *index, &c.slug, e);
                continue;
            }
        };
        let (amount_low, amount_high, currency, currency_exponent) = minor(&range);
        if c.preferred {
            let recorded = commitment::Entity::find_by_id(commitment_id).one(cx.txn).await?;
            let same = recorded.as_ref().is_some_and(|m| {
                (m.amount_low, m.amount_high, m.currency.as_str()) == (amount_low, amount_high, currency.as_str())
            });
            if !same {
                let error = FieldError::new(
                    "preferred",
                    format!(
                        "the preferred claim is the amount {} records (what totals count); record that amount or prefer another claim",
                        c.commitment
                    ),
                );
                cx.fail("claims", *index, &c.slug, error);
                continue;
            }
        }
        let existing = claim::Entity::find().filter(claim::Column::Slug.eq(&c.slug)).one(cx.txn).await?;
        let fresh = claim::Model {
            id: 0,
            slug: c.slug.clone(),
            commitment_id,
            claimant: c.claimant.clone(),
            claimed_on: c.claimed_on,
            amount_low,
            amount_high,
            currency,
            currency_exponent,
            preferred: c.preferred,
            reason: c.reason.clone(),
            notes: c.notes.clone(),
        };
        cx.save(existing, fresh, Linked::Claim, &sources).await?;
        touched.entry(commitment_id).or_insert((*index, c.slug.clone()));
    }
    for (commitment_id, (index, slug)) in touched {
        let preferred = claim::Entity::find()
            .filter(claim::Column::CommitmentId.eq(commitment_id))
            .filter(claim::Column::Preferred.eq(true))
            .count(cx.txn)
            .await?;
        if preferred != 1 {
            let error = FieldError::new(
                "preferred",
                format!("a commitment with claims has exactly one preferred claim; this one's has {preferred}"),
            );
            cx.fail("claims", index, &slug, error);
        }
    }
    Ok(())
}
