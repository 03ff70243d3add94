//! A commitment's status history: what it should be, and writing only what differs (a
//! status appended is one insert, not a rewrite).

use entity::{source_link, status_history};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder,
    prelude::DateTimeUtc,
};

use super::context::{Ids, link_rows, link_sources};
use crate::{
    domain::{
        FieldError,
        records::{ValidCommitment, ValidStatus},
    },
    storage::read::{Linked, linked_sources_of},
};

/// A status with the ids of its sources.
pub(super) type Sourced = (ValidStatus, Vec<i64>);

/// The status history a commitment should have: the record's own, or without one, its
/// status from its announcement day backed by its sources.
pub(super) fn wanted_statuses(
    c: &ValidCommitment,
    commitment_sources: &[i64],
    source_ids: &Ids,
) -> Result<Vec<Sourced>, FieldError> {
    if c.status_history.is_empty() {
        let status = ValidStatus { status: c.status, effective_on: c.announced_on, note: None, sources: vec![] };
        return Ok(vec![(status, commitment_sources.to_vec())]);
    }
    c.status_history
        .iter()
        .enumerate()
        .map(|(i, s)| match source_ids.sources(&s.sources) {
            Ok(ids) => Ok((s.clone(), ids)),
            Err(e) => Err(e.within(&format!("statusHistory[{i}]"))),
        })
        .collect()
}

/// The row of one status, ready to insert.
pub(super) fn status_row(commitment_id: i64, status: ValidStatus, now: DateTimeUtc) -> status_history::ActiveModel {
    let mut row = status_history::ActiveModel::from(status_history::Model {
        id: 0,
        commitment_id,
        status: status.status.as_str().to_owned(),
        effective_on: status.effective_on,
        note: status.note,
        created_at: now,
    })
    .reset_all();
    row.not_set(status_history::Column::Id);
    row
}

fn status_rows_equal(old: &[(status_history::Model, Vec<i64>)], new: &[Sourced]) -> bool {
    old.len() == new.len()
        && old.iter().zip(new).all(|((o, os), (n, ns))| {
            o.status == n.status.as_str() && o.effective_on == n.effective_on && o.note == n.note && os == ns
        })
}

/// Writes a stored commitment's status history when it differs from `wanted`; true when
/// it did. Rows appended are inserted alone; any other difference rewrites the history.
pub(super) async fn write_status_history(
    txn: &DatabaseTransaction,
    commitment_id: i64,
    wanted: Vec<Sourced>,
    now: DateTimeUtc,
) -> Result<bool, DbErr> {
    let existing = status_history::Entity::find()
        .filter(status_history::Column::CommitmentId.eq(commitment_id))
        .order_by_asc(status_history::Column::Id)
        .all(txn)
        .await?;
    let ids: Vec<i64> = existing.iter().map(|s| s.id).collect();
    // Every old row's sources in one statement.
    let mut links = linked_sources_of(txn, Linked::Status, &ids, None).await?;
    let old: Vec<(status_history::Model, Vec<i64>)> = existing
        .into_iter()
        .map(|row| {
            let sources = links.remove(&row.id).unwrap_or_default().into_iter().map(|s| s.id).collect();
            (row, sources)
        })
        .collect();
    if status_rows_equal(&old, &wanted) {
        return Ok(false);
    }
    // A status appended (what `setCommitmentStatus` does): insert the new rows alone.
    if wanted.len() > old.len() && status_rows_equal(&old, &wanted[..old.len()]) {
        for (status, sources) in wanted.into_iter().skip(old.len()) {
            let inserted = status_row(commitment_id, status, now).insert(txn).await?;
            let links = link_rows(Linked::Status, inserted.id, &sources);
            if !links.is_empty() {
                source_link::Entity::insert_many(links).exec(txn).await?;
            }
        }
        return Ok(true);
    }
    source_link::Entity::delete_many()
        .filter(source_link::Column::EntityKind.eq(Linked::Status.as_str()))
        .filter(source_link::Column::EntityId.is_in(ids))
        .exec(txn)
        .await?;
    status_history::Entity::delete_many()
        .filter(status_history::Column::CommitmentId.eq(commitment_id))
        .exec(txn)
        .await?;
    for (status, sources) in wanted {
        let inserted = status_row(commitment_id, status, now).insert(txn).await?;
        link_sources(txn, Linked::Status, inserted.id, &sources).await?;
    }
    Ok(true)
}
