//! Commitments with their sources, retraction and status history. Parents in the file
//! are written before their parts; new rows go in multi-row inserts ([`super::new_rows`]).

use std::collections::{HashMap, HashSet};

use entity::commitment;
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};

use super::{
    context::{Ctx, IdMaps, Ids, Outcome, link_sources, minor},
    new_rows::{NEW_ROWS_PER_INSERT, NewCommitment, NewCommitments},
    statuses::{wanted_statuses, write_status_history},
};
use crate::{
    domain::{
        FieldError,
        records::{DataSet, ValidCommitment},
        text::fold,
    },
    storage::read::Linked,
};

/// A commitment with its position in the file.
type Numbered = (usize, ValidCommitment);

/// Loads the ids of the commitments the data set refers to (parents, overlaps), then
/// writes its own commitments, parents first.
pub(super) async fn import(cx: &mut Ctx<'_>, data: &DataSet, valid: Vec<Numbered>) -> Result<(), DbErr> {
    let referenced = data
        .commitments
        .iter()
        .filter_map(|c| c.parent.clone())
        .chain(data.overlaps.iter().flat_map(|o| std::iter::once(o.later.clone()).chain(o.earlier.clone())))
        .chain(data.claims.iter().map(|c| c.commitment.clone()));
    cx.ids.commitments =
        Ids::load::<commitment::Entity>(cx.txn, commitment::Column::Id, commitment::Column::Slug, referenced.collect())
            .await?;
    let (ordered, cyclic) = parents_first(valid);
    for (index, c) in cyclic {
        cx.fail("commitments", index, &c.slug, FieldError::new("parent", "the parents form a cycle"));
    }
    let mut stored = stored_rows(cx.txn, &ordered).await?;
    let mut seen: HashSet<&str> = HashSet::new();
    let mut new_rows = NewCommitments::default();
    for (index, c) in &ordered {
        cx.tick("commitments", ordered.len());
        // A part waits for its parent's insert; a slug seen twice reads the first.
        let repeated = !seen.insert(c.slug.as_str());
        if repeated || c.parent.as_ref().is_some_and(|p| new_rows.slugs.contains(p)) {
            new_rows.flush(cx).await?;
        }
        let row = match resolve(&cx.ids, c, cx.now) {
            Ok(row) => row,
            Err(e) => {
                cx.fail("commitments", *index, &c.slug, e);
                continue;
            }
        };
        let existing = if repeated {
            commitment::Entity::find().filter(commitment::Column::Slug.eq(&c.slug)).one(cx.txn).await?
        } else {
            stored.remove(&c.slug)
        };
        let Some(old) = existing else {
            new_rows.push(row);
            if new_rows.rows.len() >= NEW_ROWS_PER_INSERT {
                new_rows.flush(cx).await?;
            }
            continue;
        };
        if let Some(parent) = row.model.parent_id
            && is_ancestor(cx.txn, old.id, parent).await?
        {
            cx.fail("commitments", *index, &c.slug, FieldError::new("parent", "the parents form a cycle"));
            continue;
        }
        update(cx, old, row).await?;
    }
    new_rows.flush(cx).await
}

/// The stored rows of the file's commitments, fetched together.
async fn stored_rows(
    txn: &DatabaseTransaction,
    ordered: &[Numbered],
) -> Result<HashMap<String, commitment::Model>, DbErr> {
    let mut stored = HashMap::new();
    let slugs: Vec<String> = ordered.iter().map(|(_, c)| c.slug.clone()).collect();
    for chunk in slugs.chunks(500) {
        let found =
            commitment::Entity::find().filter(commitment::Column::Slug.is_in(chunk.iter().cloned())).all(txn).await?;
        stored.extend(found.into_iter().map(|m| (m.slug.clone(), m)));
    }
    Ok(stored)
}

/// Updates a stored commitment to `row`: its columns, links and status history.
async fn update(cx: &mut Ctx<'_>, old: commitment::Model, row: NewCommitment) -> Result<(), DbErr> {
    let NewCommitment { model, sources, retraction_sources, statuses } = row;
    // A part that leaves its headline changes the old family too: rebuild it.
    let left = old.parent_id.filter(|p| model.parent_id != Some(*p));
    let slug = model.slug.clone();
    let before = old.clone();
    let (id, mut outcome) = cx.upsert(Some(old), model).await?;
    if let Some(old_parent) = left {
        cx.touched.commitment(old_parent);
    }
    cx.ids.commitments.map.insert(slug, id);
    let sources_changed = link_sources(cx.txn, Linked::Commitment, id, &sources).await?
        | link_sources(cx.txn, Linked::Retraction, id, &retraction_sources).await?;
    let history_changed = write_status_history(cx.txn, id, statuses, cx.now).await?;
    if (sources_changed || history_changed) && outcome == Outcome::Unchanged {
        outcome = Outcome::Updated;
        cx.bump(before).await?;
    }
    if outcome != Outcome::Unchanged {
        cx.touched.commitment(id);
    }
    cx.summary.count(outcome);
    Ok(())
}

/// The row a record stands for, with every reference resolved to its id.
fn resolve(ids: &IdMaps, c: &ValidCommitment, now: sea_orm::prelude::DateTimeUtc) -> Result<NewCommitment, FieldError> {
    // Resolved in this order, so a record's first problem is the one reported.
    let pledger_id = ids.actors.get("pledger", "actor", &c.pledger)?;
    let event_id = ids.events.get_opt("event", "event", &c.event)?;
    let beneficiary_id = ids.actors.get_opt("beneficiary", "actor", &c.beneficiary)?;
    let parent_id = ids.commitments.get_opt("parent", "commitment", &c.parent)?;
    let sources = ids.sources.sources(&c.sources)?;
    let (amount_low, amount_high, currency, currency_exponent) = minor(&c.money.to_minor("amount")?);
    let retraction_sources = match &c.retraction {
        Some(r) => ids.sources.sources(&r.sources).map_err(|e| e.within("retraction"))?,
        None => Vec::new(),
    };
    let statuses = wanted_statuses(c, &sources, &ids.sources)?;
    let model = commitment::Model {
        id: 0,
        slug: c.slug.clone(),
        title: c.title.clone(),
        title_folded: fold(&c.title),
        pledger_id,
        event_id,
        beneficiary_id,
        announced_on: c.announced_on,
        amount_low,
        amount_high,
        currency,
        currency_exponent,
        recipient_country: c.recipient_country.as_ref().map(|r| r.as_str().to_owned()),
        sector: c.sector.clone(),
        kind: c.kind.as_str().to_owned(),
        horizon_year: c.horizon_year,
        status: c.status.as_str().to_owned(),
        amount_disputed: c.amount_disputed,
        parent_id,
        relation: c.relation.map(|r| r.as_str().to_owned()),
        notes: c.notes.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
        retracted_on: c.retraction.as_ref().and_then(|r| r.retracted_on),
        retraction_reason: c.retraction.as_ref().map(|r| r.reason.clone()),
    };
    Ok(NewCommitment { model, sources, retraction_sources, statuses })
}

/// Orders commitments so that parents in the file come before their children; records in
/// a parent cycle are reported.
fn parents_first(commitments: Vec<Numbered>) -> (Vec<Numbered>, Vec<Numbered>) {
    let in_file: HashSet<String> = commitments.iter().map(|(_, c)| c.slug.clone()).collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut ordered = Vec::with_capacity(commitments.len());
    let mut pending = commitments;
    loop {
        let before = pending.len();
        let (ready, waiting): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, c)| match &c.parent {
            Some(p) if in_file.contains(p) => placed.contains(p),
            _ => true,
        });
        placed.extend(ready.iter().map(|(_, c)| c.slug.clone()));
        ordered.extend(ready);
        pending = waiting;
        if pending.is_empty() || pending.len() == before {
            return (ordered, pending);
        }
    }
}

/// Whether `ancestor` is `id` or one of its parents' chain (bounded walk).
async fn is_ancestor(txn: &DatabaseTransaction, ancestor: i64, id: i64) -> Result<bool, DbErr> {
    let mut current = Some(id);
    for _ in 0..1000 {
        match current {
            Some(c) if c == ancestor => return Ok(true),
            Some(c) => {
                current = commitment::Entity::find_by_id(c).one(txn).await?.and_then(|m| m.parent_id);
            }
            None => return Ok(false),
        }
    }
    Ok(true)
}
