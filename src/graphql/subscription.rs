//! Subscriptions for dashboards (graphql-transport-ws at `/graphql/ws`): commitments as
//! they change, and totals whenever they move. Both listen to the change notices of
//! `storage::changes`, so on PostgreSQL they see the writes of every replica.

use async_graphql::{Context, Enum, SimpleObject, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::{
    ContextExt,
    inputs::CommitmentFilterInput,
    scalars::Date,
    totals::{FxPolicyInput, TotalsBasis, TotalsDimension, TotalsHaving, TotalsOrder, TotalsReport, TotalsRequest},
    types::Commitment,
};
use crate::{
    error::{ApiError, ApiResultExt},
    storage::{Db, changes::Change},
};

/// What happened to a commitment.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChangeAction {
    /// Recorded (its version is 1).
    Created,
    /// Changed: fields, status, retraction or sources.
    Updated,
    /// Deleted by an administrator.
    Deleted,
    /// Notices may have been lost (a reconnection to the database, a subscriber too slow)
    /// or a bulk import changed too many commitments to list them: re-read what you show.
    /// `slug` is empty and `commitment` null.
    Resync,
}

/// A commitment that changed.
#[derive(SimpleObject)]
pub struct CommitmentChange {
    pub action: ChangeAction,
    pub slug: String,
    /// The commitment as it is now (null once deleted).
    pub commitment: Option<Commitment>,
    /// The data version after the write (0 after a reconnection).
    pub data_version: i64,
}

/// Waits for the next notice; several queued at once (an import) come back merged, and a
/// subscriber that fell behind gets a resync instead of an error.
async fn next_change(receiver: &mut Receiver<Change>) -> Option<Change> {
    let mut change = match receiver.recv().await {
        Ok(change) => change,
        Err(RecvError::Lagged(_)) => Change::resync(),
        Err(RecvError::Closed) => return None,
    };
    loop {
        match receiver.try_recv() {
            Ok(more) => {
                change.version = change.version.max(more.version);
                change.commitments.extend(more.commitments);
                change.deleted.extend(more.deleted);
                change.totals |= more.totals;
                change.resync |= more.resync;
            }
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => change = Change::resync(),
            Err(_) => return Some(change),
        }
    }
}

/// The root subscription.
#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Commitments matching `filter` as they are created or changed, and deletions (sent to
    /// every subscriber: a deleted row no longer matches anything).
    async fn commitment_changed(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommitmentFilterInput>,
    ) -> Result<impl Stream<Item = Result<CommitmentChange, ApiError>> + use<>, ApiError> {
        let filter = filter.unwrap_or_default().into_filter()?;
        let db: Db = ctx.db()?.clone();
        let mut receiver = db.subscribe();
        Ok(async_stream::stream! {
            while let Some(change) = next_change(&mut receiver).await {
                if change.resync {
                    yield Ok(CommitmentChange { action: ChangeAction::Resync, slug: String::new(), commitment: None, data_version: change.version });
                }
                for slug in change.deleted {
                    yield Ok(CommitmentChange { action: ChangeAction::Deleted, slug, commitment: None, data_version: change.version });
                }
                if change.commitments.is_empty() {
                    continue;
                }
                let mut ids = change.commitments;
                ids.sort_unstable();
                ids.dedup();
                match db.commitments_matching(&filter, &ids).await.api() {
                    Ok(rows) => {
                        for row in rows {
                            let action = if row.version == 1 { ChangeAction::Created } else { ChangeAction::Updated };
                            let slug = row.slug.clone();
                            yield Ok(CommitmentChange { action, slug, commitment: Some(Commitment::now(row)), data_version: change.version });
                        }
                    }
                    Err(err) => yield Err(err),
                }
            }
        })
    }

    /// The totals for these arguments now, then again each time they change (a burst of
    /// writes gives one update). The arguments are those of `totals`, all of them: the
    /// README's totals queries work as subscriptions.
    #[allow(clippy::too_many_arguments)]
    async fn totals_changed(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommitmentFilterInput>,
        group_by: Option<Vec<TotalsDimension>>,
        #[graphql(default = "EUR")] currency: String,
        fx: Option<FxPolicyInput>,
        as_of: Option<Date>,
        basis: Option<TotalsBasis>,
        having: Option<TotalsHaving>,
        order_by: Option<TotalsOrder>,
        first: Option<i32>,
        claims: Option<Vec<String>>,
        known_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<impl Stream<Item = Result<TotalsReport, ApiError>> + use<>, ApiError> {
        let db: Db = ctx.db()?.clone();
        let request = TotalsRequest::new(filter, group_by, &currency, fx, as_of, basis, having, order_by, first)?
            .known_at(crate::graphql::known_version(&db, known_at).await?);
        let claims = claims.unwrap_or_default();
        // Subscribe before the first answer, so no change falls between the two.
        let mut receiver = db.subscribe();
        let first = request.run_claimed(&db, &claims).await?;
        Ok(async_stream::stream! {
            let mut last = first.fingerprint();
            yield Ok(first);
            while let Some(change) = next_change(&mut receiver).await {
                if !change.totals {
                    continue;
                }
                match request.run_claimed(&db, &claims).await {
                    Ok(report) => {
                        let fingerprint = report.fingerprint();
                        if fingerprint != last {
                            last = fingerprint;
                            yield Ok(report);
                        }
                    }
                    Err(err) => yield Err(err),
                }
            }
        })
    }
}
