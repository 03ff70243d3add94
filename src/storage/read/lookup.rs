//! Lookups by key: one record by slug, the editions of a series, and batches by id for the
//! DataLoaders.

use std::collections::HashMap;

use entity::{
    actor, claim, coalition, commitment, event, fundraising_target, overlap, reported_count, signature, source,
    status_history,
};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, Order, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, NullOrdering},
};

use super::{Linked, SignatureFilter, StanceCounts, actor_ids_where, linked_sources_of, strs};
use crate::{
    domain::kinds::{ActorKind, Stance},
    storage::{Db, StorageResult},
};

impl Db {
    /// The source with `slug`.
    pub async fn source_by_slug(&self, slug: &str) -> StorageResult<Option<source::Model>> {
        Ok(source::Entity::find().filter(source::Column::Slug.eq(slug)).one(self.conn()).await?)
    }

    /// The rows of entity `E` whose slug `column` is one of `slugs`, in one query.
    pub async fn by_slugs<E: EntityTrait>(&self, column: E::Column, slugs: &[String]) -> StorageResult<Vec<E::Model>> {
        if slugs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(E::find().filter(column.is_in(slugs.iter().cloned())).all(self.conn()).await?)
    }

    /// The signature with `id`.
    pub async fn signature_by_id(&self, id: i64) -> StorageResult<Option<signature::Model>> {
        Ok(signature::Entity::find_by_id(id).one(self.conn()).await?)
    }

    /// The signature of the actor `actor` on the coalition `coalition` (slugs).
    pub async fn signature_by_slugs(&self, coalition: &str, actor: &str) -> StorageResult<Option<signature::Model>> {
        let (Some(c), Some(a)) = (self.coalition_by_slug(coalition).await?, self.actor_by_slug(actor).await?) else {
            return Ok(None);
        };
        Ok(signature::Entity::find()
            .filter(signature::Column::CoalitionId.eq(c.id))
            .filter(signature::Column::ActorId.eq(a.id))
            .one(self.conn())
            .await?)
    }

    /// The commitment with `slug`.
    pub async fn commitment_by_slug(&self, slug: &str) -> StorageResult<Option<commitment::Model>> {
        self.commitment_known_at(slug, None).await
    }

    /// The commitment with `slug` as known at data version `known` (`None`: today).
    pub async fn commitment_known_at(
        &self,
        slug: &str,
        known: Option<i64>,
    ) -> StorageResult<Option<commitment::Model>> {
        let mut select = commitment::Entity::find();
        if let Some(v) = known {
            crate::storage::history::read_at(&mut select, v);
        }
        Ok(select.filter(commitment::Column::Slug.eq(slug)).one(self.conn()).await?)
    }

    /// The actor with `slug`.
    pub async fn actor_by_slug(&self, slug: &str) -> StorageResult<Option<actor::Model>> {
        Ok(actor::Entity::find().filter(actor::Column::Slug.eq(slug)).one(self.conn()).await?)
    }

    /// The event with `slug`.
    pub async fn event_by_slug(&self, slug: &str) -> StorageResult<Option<event::Model>> {
        Ok(event::Entity::find().filter(event::Column::Slug.eq(slug)).one(self.conn()).await?)
    }

    /// The editions of a series, oldest first (undated last, then by slug).
    pub async fn events_in_series(&self, series: &str) -> StorageResult<Vec<event::Model>> {
        let mut events = event::Entity::find().filter(event::Column::Series.eq(series)).all(self.conn()).await?;
        events.sort_by(|a, b| {
            (a.start_date.is_none(), a.start_date, &a.slug).cmp(&(b.start_date.is_none(), b.start_date, &b.slug))
        });
        Ok(events)
    }

    /// The coalition with `slug`.
    pub async fn coalition_by_slug(&self, slug: &str) -> StorageResult<Option<coalition::Model>> {
        Ok(coalition::Entity::find().filter(coalition::Column::Slug.eq(slug)).one(self.conn()).await?)
    }

    /// Actors by id, for a DataLoader.
    pub async fn actors_by_ids(&self, ids: &[i64]) -> StorageResult<Vec<actor::Model>> {
        Ok(actor::Entity::find().filter(actor::Column::Id.is_in(ids.iter().copied())).all(self.conn()).await?)
    }

    /// Events by id, for a DataLoader.
    pub async fn events_by_ids(&self, ids: &[i64]) -> StorageResult<Vec<event::Model>> {
        Ok(event::Entity::find().filter(event::Column::Id.is_in(ids.iter().copied())).all(self.conn()).await?)
    }

    /// Commitments by id, for a DataLoader.
    pub async fn commitments_by_ids(&self, ids: &[i64]) -> StorageResult<Vec<commitment::Model>> {
        Ok(commitment::Entity::find()
            .filter(commitment::Column::Id.is_in(ids.iter().copied()))
            .all(self.conn())
            .await?)
    }

    /// Coalitions by id, for a DataLoader.
    pub async fn coalitions_by_ids(&self, ids: &[i64]) -> StorageResult<Vec<coalition::Model>> {
        Ok(coalition::Entity::find().filter(coalition::Column::Id.is_in(ids.iter().copied())).all(self.conn()).await?)
    }

    /// The children of each parent id, ordered by title.
    pub async fn children_of(&self, parent_ids: &[i64]) -> StorageResult<Vec<commitment::Model>> {
        Ok(commitment::Entity::find()
            .filter(commitment::Column::ParentId.is_in(parent_ids.iter().copied()))
            .order_by_asc(commitment::Column::Title)
            .all(self.conn())
            .await?)
    }

    /// The sources of each row of one kind, in their given order.
    pub async fn sources_of(
        &self,
        kind: Linked,
        ids: &[i64],
        known: Option<i64>,
    ) -> StorageResult<HashMap<i64, Vec<source::Model>>> {
        Ok(linked_sources_of(self.conn(), kind, ids, known).await?)
    }

    /// The status history of each commitment, oldest first (as known at version `known`).
    pub async fn status_history_of(
        &self,
        ids: &[i64],
        known: Option<i64>,
    ) -> StorageResult<Vec<status_history::Model>> {
        let mut select = status_history::Entity::find();
        if let Some(v) = known {
            crate::storage::history::read_at(&mut select, v);
        }
        Ok(select
            .filter(status_history::Column::CommitmentId.is_in(ids.iter().copied()))
            .order_by_with_nulls(status_history::Column::EffectiveOn, Order::Asc, NullOrdering::First)
            .order_by_asc(status_history::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// The claims about these commitments: the preferred first, then as recorded.
    pub async fn claims_of(&self, commitment_ids: &[i64]) -> StorageResult<Vec<claim::Model>> {
        Ok(claim::Entity::find()
            .filter(claim::Column::CommitmentId.is_in(commitment_ids.iter().copied()))
            .order_by_desc(claim::Column::Preferred)
            .order_by_asc(claim::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// The claims with these slugs (those that exist), in no particular order.
    pub async fn claims_by_slugs(&self, slugs: &[String]) -> StorageResult<Vec<claim::Model>> {
        Ok(claim::Entity::find().filter(claim::Column::Slug.is_in(slugs.iter().cloned())).all(self.conn()).await?)
    }

    /// The reported counts of these coalitions: by day, undated last, then as recorded.
    pub async fn reported_counts_of(&self, coalition_ids: &[i64]) -> StorageResult<Vec<reported_count::Model>> {
        Ok(reported_count::Entity::find()
            .filter(reported_count::Column::CoalitionId.is_in(coalition_ids.iter().copied()))
            .order_by_with_nulls(reported_count::Column::ReportedOn, Order::Asc, NullOrdering::Last)
            .order_by_asc(reported_count::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// The fundraising targets of these actors.
    pub async fn targets_of(&self, actor_ids: &[i64]) -> StorageResult<Vec<fundraising_target::Model>> {
        Ok(fundraising_target::Entity::find()
            .filter(fundraising_target::Column::ActorId.is_in(actor_ids.iter().copied()))
            .all(self.conn())
            .await?)
    }

    /// Overlaps in which these commitments are the later or the earlier one.
    pub async fn overlaps_of(&self, ids: &[i64]) -> StorageResult<Vec<overlap::Model>> {
        Ok(overlap::Entity::find()
            .filter(
                Condition::any()
                    .add(overlap::Column::LaterId.is_in(ids.iter().copied()))
                    .add(overlap::Column::EarlierId.is_in(ids.iter().copied())),
            )
            .order_by_asc(overlap::Column::Id)
            .all(self.conn())
            .await?)
    }

    /// Signatures of a coalition, with their actors, ordered by actor name.
    pub async fn signatures_of(
        &self,
        coalition_id: i64,
        filter: &SignatureFilter,
    ) -> StorageResult<Vec<(signature::Model, actor::Model)>> {
        let mut actor_cond = Condition::all();
        if !filter.actor_kinds.is_empty() {
            actor_cond = actor_cond.add(actor::Column::Kind.is_in(strs(&filter.actor_kinds, ActorKind::as_str)));
        }
        if !filter.countries.is_empty() {
            actor_cond = actor_cond.add(actor::Column::Country.is_in(filter.countries.iter().cloned()));
        }
        let mut select = signature::Entity::find().filter(signature::Column::CoalitionId.eq(coalition_id));
        if !filter.stances.is_empty() {
            select = select.filter(signature::Column::Stance.is_in(strs(&filter.stances, Stance::as_str)));
        }
        if !actor_cond.is_empty() {
            select = select.filter(signature::Column::ActorId.in_subquery(actor_ids_where(actor_cond)));
        }
        let signatures = select.all(self.conn()).await?;
        let actor_ids: Vec<i64> = signatures.iter().map(|s| s.actor_id).collect();
        let actors: HashMap<i64, actor::Model> =
            self.actors_by_ids(&actor_ids).await?.into_iter().map(|a| (a.id, a)).collect();
        let mut rows: Vec<_> =
            signatures.into_iter().filter_map(|s| actors.get(&s.actor_id).cloned().map(|a| (s, a))).collect();
        rows.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        Ok(rows)
    }

    /// Signature counts by stance for each coalition, in one GROUP BY.
    pub async fn stance_counts(
        &self,
        coalition_ids: &[i64],
        known: Option<i64>,
    ) -> StorageResult<HashMap<i64, StanceCounts>> {
        #[derive(FromQueryResult)]
        struct Row {
            coalition_id: i64,
            stance: String,
            n: i64,
        }
        let mut select = signature::Entity::find();
        if let Some(v) = known {
            crate::storage::history::read_at(&mut select, v);
        }
        let rows = select
            .select_only()
            .column(signature::Column::CoalitionId)
            .column(signature::Column::Stance)
            .column_as(Expr::col(signature::Column::Id).count(), "n")
            .filter(signature::Column::CoalitionId.is_in(coalition_ids.iter().copied()))
            .group_by(signature::Column::CoalitionId)
            .group_by(signature::Column::Stance)
            .into_model::<Row>()
            .all(self.conn())
            .await?;
        let mut map: HashMap<i64, StanceCounts> = HashMap::new();
        for row in rows {
            let counts = map.entry(row.coalition_id).or_default();
            let n = u64::try_from(row.n).unwrap_or_default();
            match Stance::parse("stance", &row.stance) {
                Ok(Stance::Signed) => counts.signed += n,
                Ok(Stance::Declined) => counts.declined += n,
                Ok(Stance::Withdrawn) => counts.withdrawn += n,
                Err(_) => {}
            }
        }
        Ok(map)
    }

    /// Coalitions launched at these events.
    pub async fn coalitions_of_events(&self, event_ids: &[i64]) -> StorageResult<Vec<coalition::Model>> {
        Ok(coalition::Entity::find()
            .filter(coalition::Column::EventId.is_in(event_ids.iter().copied()))
            .order_by_asc(coalition::Column::Slug)
            .all(self.conn())
            .await?)
    }

    /// Signatures of these actors.
    pub async fn signatures_of_actors(&self, actor_ids: &[i64]) -> StorageResult<Vec<signature::Model>> {
        Ok(signature::Entity::find()
            .filter(signature::Column::ActorId.is_in(actor_ids.iter().copied()))
            .order_by_asc(signature::Column::Id)
            .all(self.conn())
            .await?)
    }
}
