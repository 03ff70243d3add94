//! Accent- and case-insensitive search over names and titles.

use entity::{actor, coalition, commitment, event};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::LikeExpr};

use crate::{
    domain::text::contains_pattern,
    storage::{Db, StorageResult},
};

/// One search hit.
#[derive(Debug, Clone)]
pub enum SearchHit {
    Actor(actor::Model),
    Event(event::Model),
    Coalition(coalition::Model),
    Commitment(commitment::Model),
}

impl Db {
    /// Accent- and case-insensitive search over actor names and aliases, event and
    /// coalition names (English and French) and commitment titles: actors first, then events, coalitions,
    /// commitments, each by name; at most `limit` hits.
    pub async fn search(&self, query: &str, limit: u64) -> StorageResult<Vec<SearchHit>> {
        let pattern = contains_pattern(query);
        if pattern == "%%" || limit == 0 {
            return Ok(Vec::new());
        }
        let like = || LikeExpr::new(pattern.clone()).escape('\\');
        let mut hits = Vec::new();
        let actors = actor::Entity::find()
            .filter(
                Condition::any()
                    .add(actor::Column::NameFolded.like(like()))
                    .add(actor::Column::AliasesFolded.like(like())),
            )
            .order_by_asc(actor::Column::NameFolded)
            .limit(limit)
            .all(self.conn())
            .await?;
        hits.extend(actors.into_iter().map(SearchHit::Actor));
        if (hits.len() as u64) < limit {
            let events = event::Entity::find()
                .filter(
                    Condition::any()
                        .add(event::Column::NameFolded.like(like()))
                        .add(event::Column::NameFrFolded.like(like())),
                )
                .order_by_asc(event::Column::NameFolded)
                .limit(limit - hits.len() as u64)
                .all(self.conn())
                .await?;
            hits.extend(events.into_iter().map(SearchHit::Event));
        }
        if (hits.len() as u64) < limit {
            let coalitions = coalition::Entity::find()
                .filter(
                    Condition::any()
                        .add(coalition::Column::NameFolded.like(like()))
                        .add(coalition::Column::NameFrFolded.like(like())),
                )
                .order_by_asc(coalition::Column::NameFolded)
                .limit(limit - hits.len() as u64)
                .all(self.conn())
                .await?;
            hits.extend(coalitions.into_iter().map(SearchHit::Coalition));
        }
        if (hits.len() as u64) < limit {
            let commitments = commitment::Entity::find()
                .filter(super::title_contains(query, self.text_index()))
                .order_by_asc(commitment::Column::TitleFolded)
                .limit(limit - hits.len() as u64)
                .all(self.conn())
                .await?;
            hits.extend(commitments.into_iter().map(SearchHit::Commitment));
        }
        Ok(hits)
    }
}
