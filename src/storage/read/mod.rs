//! Reads: lookups by key (`lookup.rs`: by slug, batched by id for DataLoaders), keyset-paginated lists
//! with filters, and accent-insensitive search.

mod filter;
mod lookup;
mod search;

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{actor, coalition, commitment, event, source, source_link};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::NullOrdering,
};

pub(crate) use self::filter::{TextIndex, commitment_condition, ids_of_slugs, strs, title_contains};
use self::filter::{actor_condition, actor_ids_where};
pub use self::{
    filter::{ActorFilter, CommitmentFilter, CommitmentOrder, SignatureFilter},
    search::SearchHit,
};
use super::{Db, StorageResult, cursor};
use crate::domain::FieldError;

/// Which table a source link belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linked {
    Actor,
    Event,
    Commitment,
    Status,
    Target,
    Overlap,
    Coalition,
    Signature,
    Rate,
    Retraction,
    ReportedCount,
}

impl Linked {
    /// The stored `entity_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actor => "actor",
            Self::Event => "event",
            Self::Commitment => "commitment",
            Self::Status => "status",
            Self::Target => "target",
            Self::Overlap => "overlap",
            Self::Coalition => "coalition",
            Self::Signature => "signature",
            Self::Rate => "rate",
            Self::Retraction => "retraction",
            Self::ReportedCount => "reported_count",
        }
    }
}

/// A page of a keyset-paginated list: rows with their cursors, and whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows, each with the cursor that continues after it.
    pub rows: Vec<(T, String)>,
    /// Whether rows follow the last one.
    pub has_next: bool,
}

/// Counts of a coalition's signatures by stance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StanceCounts {
    pub signed: u64,
    pub declined: u64,
    pub withdrawn: u64,
}

fn date_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|d| d.format("%Y-%m-%d").to_string())
}

fn parse_key_date(raw: &Option<String>) -> Result<Option<NaiveDate>, FieldError> {
    raw.as_deref()
        .map(|r| {
            NaiveDate::parse_from_str(r, "%Y-%m-%d")
                .map_err(|_| FieldError::new("after", "is not a cursor of this list"))
        })
        .transpose()
}

fn parse_key_id(raw: &Option<String>) -> Result<i64, FieldError> {
    raw.as_deref().and_then(|r| r.parse().ok()).ok_or_else(|| FieldError::new("after", "is not a cursor of this list"))
}

/// The sources of each row of one kind, in their given order, in one statement (on any
/// connection: the pool, or an edit's transaction).
pub(crate) async fn linked_sources_of<C: sea_orm::ConnectionTrait>(
    conn: &C,
    kind: Linked,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<source::Model>>, sea_orm::DbErr> {
    let mut map: HashMap<i64, Vec<source::Model>> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    let links = source_link::Entity::find()
        .filter(source_link::Column::EntityKind.eq(kind.as_str()))
        .filter(source_link::Column::EntityId.is_in(ids.iter().copied()))
        .order_by_asc(source_link::Column::EntityId)
        .order_by_asc(source_link::Column::Position)
        .find_also_related(source::Entity)
        .all(conn)
        .await?;
    for (link, source) in links {
        if let Some(source) = source {
            map.entry(link.entity_id).or_default().push(source);
        }
    }
    Ok(map)
}

impl Db {
    /// How this database finds substrings of titles.
    pub(crate) fn text_index(&self) -> TextIndex {
        TextIndex::of(self.conn().get_database_backend())
    }

    /// A page of commitments after `after`, at most `first` rows.
    pub async fn commitments_page(
        &self,
        filter: &CommitmentFilter,
        order: CommitmentOrder,
        first: u64,
        after: Option<&str>,
    ) -> StorageResult<Page<commitment::Model>> {
        use commitment::Column as C;
        let mut select = commitment::Entity::find().filter(commitment_condition(filter, self.text_index()));
        let tag = filter::order_tag(order);
        let key = after.map(|a| cursor::decode("after", tag, 2, a)).transpose()?;
        let limit = first + 1;
        let mut rows = match order {
            CommitmentOrder::AnnouncedOnDesc | CommitmentOrder::AnnouncedOnAsc => {
                // After a cursor: dated rows in date order, then undated ones (NULLS LAST),
                // two range scans that each follow an index from the cursor on. One
                // condition with an OR for the undated rows made the databases walk every
                // row before the cursor (a page 1000 deep cost 2.4 times the first at a
                // million rows).
                let descending = order == CommitmentOrder::AnnouncedOnDesc;
                let direction = if descending { Order::Desc } else { Order::Asc };
                let (after_date, after_id) = match &key {
                    Some(key) => (parse_key_date(&key[0])?, Some(parse_key_id(&key[1])?)),
                    None => (None, None),
                };
                let id_after = |id: i64| if descending { C::Id.lt(id) } else { C::Id.gt(id) };
                if key.is_none() {
                    // The first page: one ordered scan (the index's own order).
                    select
                        .order_by_with_nulls(C::AnnouncedOn, direction.clone(), NullOrdering::Last)
                        .order_by(C::Id, direction)
                        .limit(limit)
                        .all(self.conn())
                        .await?
                } else {
                    let mut rows = Vec::new();
                    let among_undated = after_id.is_some() && after_date.is_none();
                    if !among_undated {
                        let mut dated = select.clone().filter(C::AnnouncedOn.is_not_null());
                        if let (Some(d), Some(id)) = (after_date, after_id) {
                            let (from, beyond) = if descending {
                                (C::AnnouncedOn.lte(d), C::AnnouncedOn.lt(d))
                            } else {
                                (C::AnnouncedOn.gte(d), C::AnnouncedOn.gt(d))
                            };
                            dated = dated.filter(from).filter(Condition::any().add(beyond).add(id_after(id)));
                        }
                        rows = dated
                            .order_by(C::AnnouncedOn, direction.clone())
                            .order_by(C::Id, direction.clone())
                            .limit(limit)
                            .all(self.conn())
                            .await?;
                    }
                    if (rows.len() as u64) < limit {
                        let mut undated = select.filter(C::AnnouncedOn.is_null());
                        if let (true, Some(id)) = (among_undated, after_id) {
                            undated = undated.filter(id_after(id));
                        }
                        let rest = limit - rows.len() as u64;
                        rows.extend(undated.order_by(C::Id, direction).limit(rest).all(self.conn()).await?);
                    }
                    rows
                }
            }
            CommitmentOrder::UpdatedAtDesc => {
                if let Some(key) = &key {
                    let at = key[0]
                        .as_deref()
                        .and_then(|k| chrono::DateTime::parse_from_rfc3339(k).ok())
                        .map(|at| at.with_timezone(&chrono::Utc))
                        .ok_or_else(|| FieldError::new("after", "is not a cursor of this list and ordering"))?;
                    let id = parse_key_id(&key[1])?;
                    select = select.filter(C::UpdatedAt.lte(at)).filter(
                        Condition::any()
                            .add(C::UpdatedAt.lt(at))
                            .add(Condition::all().add(C::UpdatedAt.eq(at)).add(C::Id.lt(id))),
                    );
                }
                select.order_by_desc(C::UpdatedAt).order_by_desc(C::Id).limit(limit).all(self.conn()).await?
            }
            CommitmentOrder::TitleAsc => {
                if let Some(key) = &key {
                    let title = key[0].clone().unwrap_or_default();
                    let id = parse_key_id(&key[1])?;
                    select = select.filter(
                        Condition::any()
                            .add(C::Title.gt(title.clone()))
                            .add(Condition::all().add(C::Title.eq(title)).add(C::Id.gt(id))),
                    );
                }
                select.order_by_asc(C::Title).order_by_asc(C::Id).limit(limit).all(self.conn()).await?
            }
        };
        let has_next = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let rows = rows
            .into_iter()
            .map(|row| {
                let first_key = match order {
                    CommitmentOrder::TitleAsc => Some(row.title.clone()),
                    CommitmentOrder::UpdatedAtDesc => {
                        Some(row.updated_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                    }
                    _ => date_text(row.announced_on),
                };
                let cursor = cursor::encode(tag, &[first_key, Some(row.id.to_string())]);
                (row, cursor)
            })
            .collect();
        Ok(Page { rows, has_next })
    }

    /// How many commitments match `filter`.
    /// The commitments among `ids` that match `filter`, in id order.
    pub async fn commitments_matching(
        &self,
        filter: &CommitmentFilter,
        ids: &[i64],
    ) -> StorageResult<Vec<commitment::Model>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(1_000) {
            found.extend(
                commitment::Entity::find()
                    .filter(commitment_condition(filter, self.text_index()))
                    .filter(commitment::Column::Id.is_in(chunk.iter().copied()))
                    .order_by_asc(commitment::Column::Id)
                    .all(self.conn())
                    .await?,
            );
        }
        Ok(found)
    }

    pub async fn commitments_count(&self, filter: &CommitmentFilter) -> StorageResult<u64> {
        Ok(commitment::Entity::find()
            .filter(commitment_condition(filter, self.text_index()))
            .count(self.conn())
            .await?)
    }

    /// A page of actors ordered by slug.
    pub async fn actors_page(
        &self,
        filter: &ActorFilter,
        first: u64,
        after: Option<&str>,
    ) -> StorageResult<Page<actor::Model>> {
        let select = actor::Entity::find().filter(actor_condition(filter));
        page_by_slug(self, select, actor::Column::Slug, "actors", first, after, |a| a.slug.clone()).await
    }

    /// How many actors match `filter`.
    pub async fn actors_count(&self, filter: &ActorFilter) -> StorageResult<u64> {
        Ok(actor::Entity::find().filter(actor_condition(filter)).count(self.conn()).await?)
    }

    /// How many events there are.
    pub async fn events_count(&self) -> StorageResult<u64> {
        Ok(event::Entity::find().count(self.conn()).await?)
    }

    /// How many coalitions there are.
    pub async fn coalitions_count(&self) -> StorageResult<u64> {
        Ok(coalition::Entity::find().count(self.conn()).await?)
    }

    /// A page of events ordered by slug.
    pub async fn events_page(&self, first: u64, after: Option<&str>) -> StorageResult<Page<event::Model>> {
        page_by_slug(self, event::Entity::find(), event::Column::Slug, "events", first, after, |e| e.slug.clone()).await
    }

    /// A page of coalitions ordered by slug.
    pub async fn coalitions_page(&self, first: u64, after: Option<&str>) -> StorageResult<Page<coalition::Model>> {
        page_by_slug(self, coalition::Entity::find(), coalition::Column::Slug, "coalitions", first, after, |c| {
            c.slug.clone()
        })
        .await
    }
}

/// A slug-ordered keyset page of any table with a unique slug.
async fn page_by_slug<E, F>(
    db: &Db,
    select: Select<E>,
    slug: E::Column,
    tag: &str,
    first: u64,
    after: Option<&str>,
    slug_of: F,
) -> StorageResult<Page<E::Model>>
where
    E: EntityTrait,
    F: Fn(&E::Model) -> String,
{
    let mut select = select;
    if let Some(after) = after {
        let key = cursor::decode("after", tag, 1, after)?;
        select = select.filter(slug.gt(key[0].clone().unwrap_or_default()));
    }
    let mut rows = select.order_by_asc(slug).limit(first + 1).all(db.conn()).await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let rows = rows
        .into_iter()
        .map(|row| {
            let cursor = cursor::encode(tag, &[Some(slug_of(&row))]);
            (row, cursor)
        })
        .collect();
    Ok(Page { rows, has_next })
}
