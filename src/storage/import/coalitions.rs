//! Coalitions (and declarations) and their signatures.

use entity::{coalition, reported_count, signature};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::context::{Ctx, Ids};
use crate::{
    domain::{
        FieldError,
        records::{DataSet, ValidCoalition, ValidReportedCount, ValidSignature},
        text::fold,
    },
    storage::read::Linked,
};

/// Loads the ids of every coalition the data set's signatures name, then writes its own
/// coalitions.
pub(super) async fn import(cx: &mut Ctx<'_>, data: &DataSet, valid: &[(usize, ValidCoalition)]) -> Result<(), DbErr> {
    let referenced = data
        .signatures
        .iter()
        .map(|s| s.coalition.clone())
        .chain(data.reported_counts.iter().map(|r| r.coalition.clone()));
    cx.ids.coalitions =
        Ids::load::<coalition::Entity>(cx.txn, coalition::Column::Id, coalition::Column::Slug, referenced.collect())
            .await?;
    for (index, c) in valid {
        cx.tick("coalitions", valid.len());
        let ids = &cx.ids;
        let resolved = (|| {
            Ok::<_, FieldError>((ids.events.get_opt("event", "event", &c.event)?, ids.sources.sources(&c.sources)?))
        })();
        let (event_id, sources) = match resolved {
            Ok(r) => r,
            Err(e) => {
                cx.fail("coalitions", *index, &c.slug, e);
                continue;
            }
        };
        let existing = coalition::Entity::find().filter(coalition::Column::Slug.eq(&c.slug)).one(cx.txn).await?;
        let fresh = coalition::Model {
            id: 0,
            slug: c.slug.clone(),
            name: c.name.clone(),
            name_folded: fold(&c.name),
            kind: c.kind.as_str().to_owned(),
            launched_on: c.launched_on,
            event_id,
            name_fr: c.name_fr.clone(),
            name_fr_folded: c.name_fr.as_deref().map(fold),
            version: 1,
            created_at: cx.now,
            updated_at: cx.now,
        };
        let (id, _) = cx.save(existing, fresh, Linked::Coalition, &sources).await?;
        cx.ids.coalitions.map.insert(c.slug.clone(), id);
    }
    Ok(())
}

/// Writes signatures, one per coalition and actor.
pub(super) async fn signatures(cx: &mut Ctx<'_>, valid: &[(usize, ValidSignature)]) -> Result<(), DbErr> {
    for (index, s) in valid {
        cx.tick("signatures", valid.len());
        let key = format!("{} / {}", s.coalition, s.actor);
        let ids = &cx.ids;
        let resolved = (|| {
            Ok::<_, FieldError>((
                ids.coalitions.get("coalition", "coalition", &s.coalition)?,
                ids.actors.get("actor", "actor", &s.actor)?,
                ids.sources.sources(&s.sources)?,
            ))
        })();
        let (coalition_id, actor_id, sources) = match resolved {
            Ok(r) => r,
            Err(e) => {
                cx.fail("signatures", *index, &key, e);
                continue;
            }
        };
        let existing = signature::Entity::find()
            .filter(signature::Column::CoalitionId.eq(coalition_id))
            .filter(signature::Column::ActorId.eq(actor_id))
            .one(cx.txn)
            .await?;
        let fresh = signature::Model {
            id: 0,
            coalition_id,
            actor_id,
            stance: s.stance.as_str().to_owned(),
            initiator: s.initiator,
            signed_on: s.signed_on,
            version: 1,
            created_at: cx.now,
            updated_at: cx.now,
            notes: s.notes.clone(),
        };
        cx.save(existing, fresh, Linked::Signature, &sources).await?;
    }
    Ok(())
}

/// Writes reported counts, one per coalition and wording.
pub(super) async fn reported_counts(cx: &mut Ctx<'_>, valid: &[(usize, ValidReportedCount)]) -> Result<(), DbErr> {
    for (index, r) in valid {
        cx.tick("reported_counts", valid.len());
        let key = format!("{} / {}", r.coalition, r.wording);
        let ids = &cx.ids;
        let resolved = (|| {
            Ok::<_, FieldError>((
                ids.coalitions.get("coalition", "coalition", &r.coalition)?,
                ids.sources.sources(&r.sources)?,
            ))
        })();
        let (coalition_id, sources) = match resolved {
            Ok(found) => found,
            Err(e) => {
                cx.fail("reported_counts", *index, &key, e);
                continue;
            }
        };
        let existing = reported_count::Entity::find()
            .filter(reported_count::Column::CoalitionId.eq(coalition_id))
            .filter(reported_count::Column::Wording.eq(&r.wording))
            .one(cx.txn)
            .await?;
        let fresh = reported_count::Model {
            id: 0,
            coalition_id,
            reported_on: r.reported_on,
            count_low: r.count.low(),
            count_high: r.count.high(),
            kind: r.kind.as_str().to_owned(),
            wording: r.wording.clone(),
            note: r.note.clone(),
        };
        cx.save(existing, fresh, Linked::ReportedCount, &sources).await?;
    }
    Ok(())
}
