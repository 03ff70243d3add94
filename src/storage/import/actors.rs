//! Actors, and the fundraising targets that belong to them.

use std::collections::HashMap;

use entity::{actor, fundraising_target};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::{
    context::{Ctx, Ids, minor},
    new_rows::Pending,
};
use crate::{
    domain::{
        records::{DataSet, ValidActor, ValidTarget},
        text::fold,
    },
    storage::read::Linked,
};

/// Loads the ids of every actor the data set refers to, then writes its own actors.
pub(super) async fn import(cx: &mut Ctx<'_>, data: &DataSet, valid: &[(usize, ValidActor)]) -> Result<(), DbErr> {
    let referenced = data
        .commitments
        .iter()
        .flat_map(|c| [Some(c.pledger.clone()), c.beneficiary.clone()])
        .flatten()
        .chain(data.fundraising_targets.iter().map(|t| t.actor.clone()))
        .chain(data.signatures.iter().map(|s| s.actor.clone()));
    cx.ids.actors =
        Ids::load::<actor::Entity>(cx.txn, actor::Column::Id, actor::Column::Slug, referenced.collect()).await?;
    let slugs: Vec<String> = valid.iter().map(|(_, a)| a.slug.clone()).collect();
    let mut stored: HashMap<String, actor::Model> = HashMap::new();
    for chunk in slugs.chunks(500) {
        let found = actor::Entity::find().filter(actor::Column::Slug.is_in(chunk.iter().cloned())).all(cx.txn).await?;
        stored.extend(found.into_iter().map(|m| (m.slug.clone(), m)));
    }
    let mut pending = Pending::new(
        Linked::Actor,
        |a: &actor::Model| a.slug.clone(),
        |cx, a| {
            cx.touched.actors.push(a.id);
            cx.ids.actors.map.insert(a.slug.clone(), a.id);
        },
    );
    for (index, a) in valid {
        cx.tick("actors", valid.len());
        let fresh = actor::Model {
            id: 0,
            slug: a.slug.clone(),
            name: a.name.clone(),
            name_folded: fold(&a.name),
            kind: a.kind.as_str().to_owned(),
            country: a.country.as_ref().map(|c| c.as_str().to_owned()),
            aliases: serde_json::to_string(&a.aliases).unwrap_or_else(|_| "[]".into()),
            aliases_folded: a.aliases.iter().map(|x| fold(x)).collect::<Vec<_>>().join(" | "),
            version: 1,
            created_at: cx.now,
            updated_at: cx.now,
        };
        let sources = cx.sources_or_report("actors", *index, &a.slug, &a.sources);
        let existing = if pending.repeats(cx, &fresh).await? {
            actor::Entity::find().filter(actor::Column::Slug.eq(&a.slug)).one(cx.txn).await?
        } else {
            stored.remove(&a.slug)
        };
        let Some(old) = existing else {
            pending.push(cx, fresh, sources).await?;
            continue;
        };
        let (id, changed) = cx.save(Some(old), fresh, Linked::Actor, &sources).await?;
        if changed {
            cx.touched.actors.push(id);
        }
        cx.ids.actors.map.insert(a.slug.clone(), id);
    }
    pending.flush(cx).await
}

/// Writes fundraising targets, one per actor.
pub(super) async fn targets(cx: &mut Ctx<'_>, valid: &[(usize, ValidTarget)]) -> Result<(), DbErr> {
    for (index, t) in valid {
        cx.tick("fundraising_targets", valid.len());
        let resolved =
            cx.ids.actors.get("actor", "actor", &t.actor).and_then(|a| Ok((a, cx.ids.sources.sources(&t.sources)?)));
        let ((actor_id, sources), range) = match (resolved, t.money.to_minor("amount")) {
            (Ok(r), Ok(m)) => (r, m),
            (Err(e), _) | (_, Err(e)) => {
                cx.fail("fundraising_targets", *index, &t.actor, e);
                continue;
            }
        };
        let (amount_low, amount_high, currency, currency_exponent) = minor(&range);
        let existing = fundraising_target::Entity::find()
            .filter(fundraising_target::Column::ActorId.eq(actor_id))
            .one(cx.txn)
            .await?;
        let fresh = fundraising_target::Model {
            id: 0,
            actor_id,
            amount_low,
            amount_high,
            currency,
            currency_exponent,
            horizon_year: t.horizon_year,
            notes: t.notes.clone(),
        };
        cx.save(existing, fresh, Linked::Target, &sources).await?;
    }
    Ok(())
}
