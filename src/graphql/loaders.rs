//! DataLoaders: one per lookup, created per request, so that nested fields of a page cost
//! one query per kind of lookup instead of one per row.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    actor, claim, coalition, commitment, event, fundraising_target, overlap, reported_count, signature, source,
    status_history,
};

use crate::storage::{
    Db, StorageError,
    read::{Linked, StanceCounts},
};

/// A storage error shared between the fields that waited on one batch.
pub type LoadError = Arc<StorageError>;

macro_rules! by_id_loader {
    ($(#[$meta:meta])* $name:ident, $model:ty, $method:ident, $key_of:expr) => {
        $(#[$meta])*
        pub struct $name(Db);

        impl Loader<i64> for $name {
            type Value = $model;
            type Error = LoadError;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let rows = self.0.$method(keys).await.map_err(Arc::new)?;
                let key_of: fn(&$model) -> i64 = $key_of;
                Ok(rows.into_iter().map(|row| (key_of(&row), row)).collect())
            }
        }
    };
}

macro_rules! grouped_loader {
    ($(#[$meta:meta])* $name:ident, $model:ty, $method:ident, $key_of:expr) => {
        $(#[$meta])*
        pub struct $name(Db);

        impl Loader<i64> for $name {
            type Value = Vec<$model>;
            type Error = LoadError;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let rows = self.0.$method(keys).await.map_err(Arc::new)?;
                let key_of: fn(&$model) -> i64 = $key_of;
                let mut map: HashMap<i64, Self::Value> = HashMap::new();
                for row in rows {
                    map.entry(key_of(&row)).or_default().push(row);
                }
                Ok(map)
            }
        }
    };
}

by_id_loader!(
    /// Actors by id.
    ActorLoader, actor::Model, actors_by_ids, |a| a.id
);
by_id_loader!(
    /// Events by id.
    EventLoader, event::Model, events_by_ids, |e| e.id
);
by_id_loader!(
    /// Commitments by id (parents).
    CommitmentLoader, commitment::Model, commitments_by_ids, |c| c.id
);
by_id_loader!(
    /// Coalitions by id.
    CoalitionLoader, coalition::Model, coalitions_by_ids, |c| c.id
);
by_id_loader!(
    /// Fundraising targets by actor id.
    TargetLoader, fundraising_target::Model, targets_of, |t| t.actor_id
);
grouped_loader!(
    /// Children by parent id.
    PartsLoader, commitment::Model, children_of, |c| c.parent_id.unwrap_or_default()
);
grouped_loader!(
    /// Signatures by actor id.
    ActorSignaturesLoader, signature::Model, signatures_of_actors, |s| s.actor_id
);
grouped_loader!(
    /// Claims by commitment id.
    ClaimsLoader, claim::Model, claims_of, |c| c.commitment_id
);
grouped_loader!(
    /// Reported counts by coalition id.
    ReportedCountsLoader, reported_count::Model, reported_counts_of, |r| r.coalition_id
);
grouped_loader!(
    /// Coalitions by the event they were launched at.
    EventCoalitionsLoader, coalition::Model, coalitions_of_events, |c| c.event_id.unwrap_or_default()
);

/// Overlaps by commitment id (as the later or the earlier one).
pub struct OverlapLoader(Db);

impl Loader<i64> for OverlapLoader {
    type Value = Vec<overlap::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = self.0.overlaps_of(keys).await.map_err(Arc::new)?;
        let mut map: HashMap<i64, Self::Value> = HashMap::new();
        for row in rows {
            for id in [Some(row.later_id), row.earlier_id].into_iter().flatten() {
                if keys.contains(&id) {
                    map.entry(id).or_default().push(row.clone());
                }
            }
        }
        Ok(map)
    }
}

/// The ids of `keys` grouped by the other part of their key (a kind, a data version).
fn grouped<G: std::hash::Hash + Eq, K>(keys: &[K], split: impl Fn(&K) -> (G, i64)) -> HashMap<G, Vec<i64>> {
    let mut groups: HashMap<G, Vec<i64>> = HashMap::new();
    for key in keys {
        let (group, id) = split(key);
        groups.entry(group).or_default().push(id);
    }
    groups
}

/// Sources by (kind of row, row id, data version known at: `None` for today).
pub struct SourcesLoader(Db);

type SourcesKey = (Linked, i64, Option<i64>);

impl Loader<SourcesKey> for SourcesLoader {
    type Value = Vec<source::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[SourcesKey]) -> Result<HashMap<SourcesKey, Self::Value>, Self::Error> {
        let mut map = HashMap::new();
        for ((kind, known), ids) in grouped(keys, |(kind, id, known)| ((*kind, *known), *id)) {
            let found = self.0.sources_of(kind, &ids, known).await.map_err(Arc::new)?;
            map.extend(found.into_iter().map(|(id, sources)| ((kind, id, known), sources)));
        }
        Ok(map)
    }
}

/// Status history by (commitment id, data version known at).
pub struct StatusLoader(Db);

impl Loader<(i64, Option<i64>)> for StatusLoader {
    type Value = Vec<status_history::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[(i64, Option<i64>)]) -> Result<HashMap<(i64, Option<i64>), Self::Value>, Self::Error> {
        let mut map: HashMap<(i64, Option<i64>), Self::Value> = HashMap::new();
        for (known, ids) in grouped(keys, |(id, known)| (*known, *id)) {
            for row in self.0.status_history_of(&ids, known).await.map_err(Arc::new)? {
                map.entry((row.commitment_id, known)).or_default().push(row);
            }
        }
        Ok(map)
    }
}

/// Signature counts by (coalition id, data version known at).
pub struct StanceCountsLoader(Db);

impl Loader<(i64, Option<i64>)> for StanceCountsLoader {
    type Value = StanceCounts;
    type Error = LoadError;

    async fn load(&self, keys: &[(i64, Option<i64>)]) -> Result<HashMap<(i64, Option<i64>), Self::Value>, Self::Error> {
        let mut map = HashMap::new();
        for (known, ids) in grouped(keys, |(id, known)| (*known, *id)) {
            let found = self.0.stance_counts(&ids, known).await.map_err(Arc::new)?;
            map.extend(found.into_iter().map(|(id, counts)| ((id, known), counts)));
        }
        Ok(map)
    }
}

/// What a page read ahead for its rows, before their fields asked: the pledgers, events
/// and sources of a page of commitments, fetched in three concurrent statements as soon as
/// the page is known, so that its 50 rows' nested fields find them without waiting for a
/// DataLoader's batching window. Filled only while a query (not a mutation) runs, so no
/// write of the same request can make it stale.
#[derive(Default)]
pub struct Prefetched {
    actors: Mutex<HashMap<i64, actor::Model>>,
    events: Mutex<HashMap<i64, event::Model>>,
    /// The sources of each commitment read ahead (an empty list when it has none).
    commitment_sources: Mutex<HashMap<i64, Vec<source::Model>>>,
}

impl Prefetched {
    /// Keeps `actors`.
    pub fn add_actors(&self, actors: Vec<actor::Model>) {
        if let Ok(mut map) = self.actors.lock() {
            map.extend(actors.into_iter().map(|a| (a.id, a)));
        }
    }
    /// Keeps `events`.
    pub fn add_events(&self, events: Vec<event::Model>) {
        if let Ok(mut map) = self.events.lock() {
            map.extend(events.into_iter().map(|e| (e.id, e)));
        }
    }
    /// Keeps the sources of the commitments `ids` (found in `sources`, or none).
    pub fn add_commitment_sources(&self, ids: &[i64], mut sources: HashMap<i64, Vec<source::Model>>) {
        if let Ok(mut map) = self.commitment_sources.lock() {
            for id in ids {
                map.insert(*id, sources.remove(id).unwrap_or_default());
            }
        }
    }
    /// The actor `id`, if read ahead.
    pub fn actor(&self, id: i64) -> Option<actor::Model> {
        self.actors.lock().ok()?.get(&id).cloned()
    }
    /// The event `id`, if read ahead.
    pub fn event(&self, id: i64) -> Option<event::Model> {
        self.events.lock().ok()?.get(&id).cloned()
    }
    /// The sources of the commitment `id`, if read ahead.
    pub fn commitment_sources(&self, id: i64) -> Option<Vec<source::Model>> {
        self.commitment_sources.lock().ok()?.get(&id).cloned()
    }
}

/// All loaders of one request.
pub struct Loaders {
    /// Rows read ahead by pages (see [`Prefetched`]).
    pub prefetched: Prefetched,
    pub actors: DataLoader<ActorLoader>,
    pub events: DataLoader<EventLoader>,
    pub commitments: DataLoader<CommitmentLoader>,
    pub coalitions: DataLoader<CoalitionLoader>,
    pub targets: DataLoader<TargetLoader>,
    pub parts: DataLoader<PartsLoader>,
    pub statuses: DataLoader<StatusLoader>,
    pub overlaps: DataLoader<OverlapLoader>,
    pub sources: DataLoader<SourcesLoader>,
    pub stance_counts: DataLoader<StanceCountsLoader>,
    pub actor_signatures: DataLoader<ActorSignaturesLoader>,
    pub event_coalitions: DataLoader<EventCoalitionsLoader>,
    pub reported_counts: DataLoader<ReportedCountsLoader>,
    pub claims: DataLoader<ClaimsLoader>,
}

impl Loaders {
    /// Fresh loaders (no cache shared between requests, so no stale reads).
    pub fn new(db: &Db) -> Self {
        fn new<L: Loader<K>, K: Send + Sync + std::hash::Hash + Eq + Clone + 'static>(loader: L) -> DataLoader<L> {
            DataLoader::new(loader, tokio::spawn)
        }
        Self {
            prefetched: Prefetched::default(),
            actors: new(ActorLoader(db.clone())),
            events: new(EventLoader(db.clone())),
            commitments: new(CommitmentLoader(db.clone())),
            coalitions: new(CoalitionLoader(db.clone())),
            targets: new(TargetLoader(db.clone())),
            parts: new(PartsLoader(db.clone())),
            statuses: new(StatusLoader(db.clone())),
            overlaps: new(OverlapLoader(db.clone())),
            sources: new(SourcesLoader(db.clone())),
            stance_counts: new(StanceCountsLoader(db.clone())),
            actor_signatures: new(ActorSignaturesLoader(db.clone())),
            event_coalitions: new(EventCoalitionsLoader(db.clone())),
            reported_counts: new(ReportedCountsLoader(db.clone())),
            claims: new(ClaimsLoader(db.clone())),
        }
    }
}
