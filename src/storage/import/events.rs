//! Events.

use entity::event;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::context::{Ctx, Ids};
use crate::{
    domain::{
        records::{DataSet, ValidEvent},
        text::fold,
    },
    storage::read::Linked,
};

/// Loads the ids of every event the data set refers to, then writes its own events.
pub(super) async fn import(cx: &mut Ctx<'_>, data: &DataSet, valid: &[(usize, ValidEvent)]) -> Result<(), DbErr> {
    let referenced = data
        .commitments
        .iter()
        .filter_map(|c| c.event.clone())
        .chain(data.coalitions.iter().filter_map(|c| c.event.clone()));
    cx.ids.events =
        Ids::load::<event::Entity>(cx.txn, event::Column::Id, event::Column::Slug, referenced.collect()).await?;
    for (index, e) in valid {
        cx.tick("events", valid.len());
        let existing = event::Entity::find().filter(event::Column::Slug.eq(&e.slug)).one(cx.txn).await?;
        let fresh = event::Model {
            id: 0,
            slug: e.slug.clone(),
            name: e.name.clone(),
            name_folded: fold(&e.name),
            kind: e.kind.as_str().to_owned(),
            city: e.city.clone(),
            country: e.country.as_ref().map(|c| c.as_str().to_owned()),
            start_date: e.start_date,
            end_date: e.end_date,
            series: e.series.clone(),
            name_fr: e.name_fr.clone(),
            name_fr_folded: e.name_fr.as_deref().map(fold),
            version: 1,
            created_at: cx.now,
            updated_at: cx.now,
        };
        let sources = cx.sources_or_report("events", *index, &e.slug, &e.sources);
        let (id, changed) = cx.save(existing, fresh, Linked::Event, &sources).await?;
        if changed {
            cx.touched.events.push(id);
        }
        cx.ids.events.map.insert(e.slug.clone(), id);
    }
    Ok(())
}
