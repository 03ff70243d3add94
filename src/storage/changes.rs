//! Change notices for live updates. Every write transaction says what it changed; readers
//! of [`Db::subscribe`] (GraphQL subscriptions) hear it once it is committed.
//!
//! - PostgreSQL: the notice is sent with `pg_notify` *inside* the transaction, so it is
//!   delivered on commit and never for a rollback, to every replica that `LISTEN`s on
//!   [`CHANNEL`] (this one included, through the same path). A listener task per process
//!   forwards notices to its local subscribers; when its connection drops it reconnects
//!   and sends a `resync` notice, since notices sent meanwhile are lost.
//! - SQLite (one process): the notice goes to the local subscribers after the commit.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, Statement, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::Db;

/// The PostgreSQL channel the notices travel on.
pub const CHANNEL: &str = "pledgewatch_changes";

/// How many notices a slow subscriber may fall behind before it is told to resync.
pub(crate) const BUFFER: usize = 1024;

/// Ids per PostgreSQL notice: a payload must stay under 8000 bytes.
const IDS_PER_NOTICE: usize = 500;

/// What a committed write changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The data version after the write (0 for a resync notice).
    #[serde(rename = "v")]
    pub version: i64,
    /// Commitments created or changed (ids).
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub commitments: Vec<i64>,
    /// Commitments deleted (slugs: their rows are gone).
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<String>,
    /// Whether totals may have changed.
    #[serde(rename = "t", default)]
    pub totals: bool,
    /// Notices may have been lost: everything may have changed.
    #[serde(rename = "r", default)]
    pub resync: bool,
}

impl Change {
    /// A notice that says "assume anything changed".
    pub fn resync() -> Self {
        Self { totals: true, resync: true, ..Self::default() }
    }

    /// Whether the notice says nothing.
    pub fn is_empty(&self) -> bool {
        self.commitments.is_empty() && self.deleted.is_empty() && !self.totals && !self.resync
    }

    /// Splits into notices small enough for `pg_notify`.
    fn chunks(&self) -> Vec<Change> {
        if self.commitments.len() <= IDS_PER_NOTICE {
            return vec![self.clone()];
        }
        self.commitments
            .chunks(IDS_PER_NOTICE)
            .enumerate()
            .map(|(i, ids)| Change {
                version: self.version,
                commitments: ids.to_vec(),
                deleted: if i == 0 { self.deleted.clone() } else { Vec::new() },
                totals: self.totals,
                resync: self.resync,
            })
            .collect()
    }
}

/// Sends `change` within the transaction `txn` on PostgreSQL (delivered on commit); on
/// SQLite returns it, for [`Db::published`] to send after the commit.
pub(crate) async fn announce(txn: &DatabaseTransaction, change: Change) -> Result<Option<Change>, DbErr> {
    if change.is_empty() {
        return Ok(None);
    }
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(Some(change));
    }
    for notice in change.chunks() {
        let payload = serde_json::to_string(&notice).map_err(|e| DbErr::Custom(e.to_string()))?;
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [Value::from(CHANNEL), Value::from(payload)],
        ))
        .await?;
    }
    Ok(None)
}

impl Db {
    /// Notices of committed writes, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Sends a notice [`announce`] kept for after the commit (SQLite).
    pub(crate) fn published(&self, change: Option<Change>) {
        if let Some(change) = change {
            // No subscriber is not an error.
            let _ = self.changes.send(change);
        }
    }

    /// On PostgreSQL, starts the task that forwards every replica's notices to this
    /// process's subscribers. Call it once per process; a no-op on SQLite.
    pub fn start_listening(&self) {
        if self.conn().get_database_backend() != DatabaseBackend::Postgres {
            return;
        }
        // The listener holds its connection for good: it gets a pool of its own, so that it
        // never takes one of the connections requests need (even with --db-max-connections 1).
        let options = (*self.conn().get_postgres_connection_pool().connect_options()).clone();
        let pool = sea_orm::sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
        let sender = self.changes.clone();
        tokio::spawn(async move {
            use sea_orm::sqlx::postgres::PgListener;
            let mut listener: Option<PgListener> = None;
            loop {
                let active = match listener.as_mut() {
                    Some(active) => active,
                    None => match connect(&pool).await {
                        Ok(fresh) => {
                            // Whatever was sent while we were away is lost: resync.
                            let _ = sender.send(Change::resync());
                            listener.insert(fresh)
                        }
                        Err(err) => {
                            tracing::warn!(%err, "cannot listen for changes; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    },
                };
                match active.try_recv().await {
                    Ok(Some(notice)) => match serde_json::from_str::<Change>(notice.payload()) {
                        Ok(change) => {
                            let _ = sender.send(change);
                        }
                        Err(err) => tracing::warn!(%err, payload = notice.payload(), "unreadable change notice"),
                    },
                    // The connection dropped; the listener reconnects on the next call.
                    Ok(None) => {
                        tracing::warn!("change listener lost its connection; reconnecting");
                        listener = None;
                    }
                    Err(err) => {
                        tracing::warn!(%err, "change listener failed; reconnecting");
                        listener = None;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}

async fn connect(pool: &sea_orm::sqlx::PgPool) -> Result<sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_notices_split_under_the_payload_limit_and_keep_everything() {
        let change = Change {
            version: 7,
            commitments: (1_000_000_000..1_000_001_234).collect(),
            deleted: vec!["gone".into()],
            totals: true,
            resync: false,
        };
        let chunks = change.chunks();
        assert_eq!(chunks.len(), 3);
        for chunk in &chunks {
            assert!(serde_json::to_string(chunk).unwrap().len() < 8000);
            assert_eq!((chunk.version, chunk.totals), (7, true));
        }
        let ids: Vec<i64> = chunks.iter().flat_map(|c| c.commitments.clone()).collect();
        assert_eq!(ids, change.commitments);
        assert_eq!(chunks.iter().map(|c| c.deleted.len()).sum::<usize>(), 1);
    }

    #[test]
    fn notices_round_trip_through_json() {
        let change = Change { version: 3, commitments: vec![1, 2], deleted: vec![], totals: true, resync: false };
        let json = serde_json::to_string(&change).unwrap();
        assert_eq!(json, r#"{"v":3,"c":[1,2],"t":true,"r":false}"#);
        assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), change);
    }
}
