//! Sources come first: every other record links to them.

use entity::source;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::context::{Ctx, Ids};
use crate::domain::records::{DataSet, ValidSource};

/// Loads the ids of every source the data set refers to, then writes its own sources.
pub(super) async fn import(cx: &mut Ctx<'_>, data: &DataSet, valid: &[(usize, ValidSource)]) -> Result<(), DbErr> {
    let referenced = data
        .actors
        .iter()
        .flat_map(|r| r.sources.clone())
        .chain(data.events.iter().flat_map(|r| r.sources.clone()))
        .chain(data.commitments.iter().flat_map(|r| {
            r.sources
                .iter()
                .cloned()
                .chain(r.status_history.iter().flat_map(|s| s.sources.clone()))
                .chain(r.retraction.iter().flat_map(|x| x.sources.clone()))
        }))
        .chain(data.fundraising_targets.iter().flat_map(|r| r.sources.clone()))
        .chain(data.overlaps.iter().flat_map(|r| r.sources.clone()))
        .chain(data.coalitions.iter().flat_map(|r| r.sources.clone()))
        .chain(data.signatures.iter().flat_map(|r| r.sources.clone()))
        .chain(data.reported_counts.iter().flat_map(|r| r.sources.clone()))
        .chain(data.claims.iter().flat_map(|r| r.sources.clone()))
        .chain(data.exchange_rates.iter().flat_map(|r| r.sources.clone()));
    cx.ids.sources =
        Ids::load::<source::Entity>(cx.txn, source::Column::Id, source::Column::Slug, referenced.collect()).await?;
    for (_, ValidSource(r)) in valid {
        cx.tick("sources", valid.len());
        let existing = source::Entity::find().filter(source::Column::Slug.eq(&r.slug)).one(cx.txn).await?;
        let fresh = source::Model {
            id: 0,
            version: 1,
            slug: r.slug.clone(),
            url: r.url.clone(),
            publisher: r.publisher.clone(),
            title: r.title.clone(),
            published_on: r.published_on.clone(),
            language: r.language.clone(),
            quote: r.quote.clone(),
            created_at: cx.now,
        };
        let (id, outcome) = cx.upsert(existing, fresh).await?;
        cx.ids.sources.map.insert(r.slug.clone(), id);
        cx.summary.count(outcome);
    }
    Ok(())
}
