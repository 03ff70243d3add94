//! Claims: what each source says a commitment's figure is. The preferred one is the
//! commitment's recorded amount (what totals count), and a commitment with claims has exactly
//! one preferred.

use std::collections::BTreeMap;

use entity::{claim, commitment};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::context::{Ctx, minor};
use crate::{
    domain::{
        FieldError,
        records::{DataSet, ValidClaim},
    },
    storage::read::Linked,
};

/// Writes claims by slug (the rule on preferred claims is checked by [`check`] once
/// everything is written).
pub(super) async fn import(cx: &mut Ctx<'_>, valid: &[(usize, ValidClaim)]) -> Result<(), DbErr> {
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
    }
    Ok(())
}

/// Checks the rule on preferred claims for every commitment this import wrote or whose
/// claims it wrote: a commitment with claims has exactly one preferred claim, and its
/// recorded amount (what totals count) is that claim's. One statement when no claim is
/// concerned, so an edit, a CSV re-import or the claims themselves cannot break it. A
/// commitment of the data set is reported on its amount, a claim on `preferred`.
pub(super) async fn check(cx: &mut Ctx<'_>, data: &DataSet) -> Result<(), DbErr> {
    let mut concerned: BTreeMap<i64, (&'static str, usize, String)> = BTreeMap::new();
    for (index, c) in data.claims.iter().enumerate() {
        if let Ok(id) = cx.ids.commitments.get("commitment", "commitment", &c.commitment) {
            concerned.entry(id).or_insert(("claims", index, c.slug.clone()));
        }
    }
    for (index, c) in data.commitments.iter().enumerate() {
        if let Ok(id) = cx.ids.commitments.get("slug", "commitment", &c.slug) {
            concerned.insert(id, ("commitments", index, c.slug.clone()));
        }
    }
    let ids: Vec<i64> = concerned.keys().copied().collect();
    let mut claims: Vec<claim::Model> = Vec::new();
    for chunk in ids.chunks(5_000) {
        claims.extend(
            claim::Entity::find().filter(claim::Column::CommitmentId.is_in(chunk.iter().copied())).all(cx.txn).await?,
        );
    }
    let mut by_commitment: BTreeMap<i64, Vec<claim::Model>> = BTreeMap::new();
    for c in claims {
        by_commitment.entry(c.commitment_id).or_default().push(c);
    }
    for (commitment_id, claims) in by_commitment {
        let (collection, index, key) = concerned[&commitment_id].clone();
        let preferred: Vec<&claim::Model> = claims.iter().filter(|c| c.preferred).collect();
        let error = match preferred[..] {
            [p] => {
                let recorded = commitment::Entity::find_by_id(commitment_id).one(cx.txn).await?;
                if recorded.is_some_and(|m| {
                    (m.amount_low, m.amount_high, m.currency.as_str())
                        == (p.amount_low, p.amount_high, p.currency.as_str())
                }) {
                    continue;
                }
                let message = format!(
                    "this figure has competing claims and its recorded amount must be the preferred claim {:?} \
                     (what totals count): record the new figure as a claim and prefer it",
                    p.slug
                );
                FieldError::new(if collection == "commitments" { "amountLow" } else { "preferred" }, message)
            }
            _ => FieldError::new(
                "preferred",
                format!("a commitment with claims has exactly one preferred claim; this one has {}", preferred.len()),
            ),
        };
        cx.fail(collection, index, &key, error);
    }
    Ok(())
}
