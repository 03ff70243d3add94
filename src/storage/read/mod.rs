//! Reads: lookups by key (`lookup.rs`: by slug, batched by id for DataLoaders), keyset-paginated lists
//! with filters, and accent-insensitive search.

mod filter;
mod lookup;
mod search;

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{actor, coalition, commitment, event, source, source_link};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    Select, sea_query::NullOrdering,
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
    Claim,
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
            Self::Claim => "claim",
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
    /// Whether rows come before the first one (for a forward page: whether it started after
    /// a cursor, as Relay allows).
    pub has_previous: bool,
}

/// Which rows of an ordered list a page holds (Relay's `first`/`after` and `last`/`before`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window<'a> {
    /// The `size` rows after the cursor (from the start without one).
    First { size: u64, after: Option<&'a str> },
    /// The `size` rows before the cursor (up to the end without one).
    Last { size: u64, before: Option<&'a str> },
}

impl<'a> Window<'a> {
    /// The first `size` rows after `after`.
    pub fn first(size: u64, after: Option<&'a str>) -> Self {
        Self::First { size, after }
    }

    /// Rows wanted.
    pub fn size(self) -> u64 {
        match self {
            Self::First { size, .. } | Self::Last { size, .. } => size,
        }
    }

    /// Whether the list is read backwards from the cursor.
    pub fn backward(self) -> bool {
        matches!(self, Self::Last { .. })
    }

    /// The cursor decoded as a key of `len` values, refused under the argument's name.
    pub(crate) fn key(self, tag: &str, len: usize) -> Result<Option<Vec<Option<String>>>, crate::domain::FieldError> {
        match self {
            Self::First { after: Some(c), .. } => cursor::decode("after", tag, len, c).map(Some),
            Self::Last { before: Some(c), .. } => cursor::decode("before", tag, len, c).map(Some),
            _ => Ok(None),
        }
    }

    /// A page from rows read up to `size + 1` deep in scan order (backwards for `Last`):
    /// cut to `size`, in the list's order, each with its cursor.
    pub(crate) fn page<T>(self, mut rows: Vec<T>, cursor_of: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as u64 > self.size();
        rows.truncate(self.size() as usize);
        let (has_next, has_previous) = match self {
            Self::First { after, .. } => (more, after.is_some()),
            Self::Last { before, .. } => {
                rows.reverse();
                (before.is_some(), more)
            }
        };
        let rows = rows
            .into_iter()
            .map(|row| {
                let cursor = cursor_of(&row);
                (row, cursor)
            })
            .collect();
        Page { rows, has_next, has_previous }
    }
}

/// Counts of a coalition's signatures by stance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StanceCounts {
    pub signed: u64,
    pub declined: u64,
    pub withdrawn: u64,
}

fn date_text(date: Option<NaiveDate>) -> Option<String> {
    // `Display` writes what `%Y-%m-%d` writes, without parsing a format for every row.
    date.map(|d| d.to_string())
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
    known: Option<i64>,
) -> Result<HashMap<i64, Vec<source::Model>>, sea_orm::DbErr> {
    let mut map: HashMap<i64, Vec<source::Model>> = HashMap::new();
    if ids.is_empty() {
        return Ok(map);
    }
    // Each source with the id of the row it backs, decoded as one flat row: a link and its
    // source decoded as a pair renamed every column of every row (a string built per
    // value), a tenth of a computed page's time.
    #[derive(sea_orm::FromQueryResult)]
    struct LinkedSource {
        linked_entity_id: i64,
        #[sea_orm(nested)]
        source: source::Model,
    }
    let mut select = source::Entity::find();
    match known {
        None => select = select.join(sea_orm::JoinType::InnerJoin, source_link::Relation::Source.def().rev()),
        // Both tables as they were then, under their own names.
        Some(v) => {
            use sea_orm::{
                QueryTrait,
                sea_query::{Expr, ExprTrait},
            };
            super::history::read_at(&mut select, v);
            QueryTrait::query(&mut select).join_subquery(
                sea_orm::JoinType::InnerJoin,
                super::history::rows_at("source_links", v),
                source_link::Entity,
                Expr::col((source_link::Entity, source_link::Column::SourceId))
                    .equals((source::Entity, source::Column::Id)),
            );
        }
    }
    let rows = select
        .column_as(source_link::Column::EntityId, "linked_entity_id")
        .filter(source_link::Column::EntityKind.eq(kind.as_str()))
        .filter(source_link::Column::EntityId.is_in(ids.iter().copied()))
        .order_by_asc(source_link::Column::EntityId)
        .order_by_asc(source_link::Column::Position)
        .into_model::<LinkedSource>()
        .all(conn)
        .await?;
    for row in rows {
        map.entry(row.linked_entity_id).or_default().push(row.source);
    }
    Ok(map)
}

impl Db {
    /// How this database finds substrings of titles.
    pub(crate) fn text_index(&self) -> TextIndex {
        TextIndex::of(self.conn().get_database_backend())
    }

    /// A page of commitments: `first` after a cursor or `last` before one.
    pub async fn commitments_page(
        &self,
        filter: &CommitmentFilter,
        order: CommitmentOrder,
        window: Window<'_>,
    ) -> StorageResult<Page<commitment::Model>> {
        use commitment::Column as C;
        let mut select = self.commitments_where(filter);
        let tag = filter::order_tag(order);
        let key = window.key(tag, 2)?;
        let limit = window.size() + 1;
        // Read backwards, every comparison and direction flips; the page is turned round at
        // the end.
        let back = window.backward();
        let (asc, desc) = if back { (Order::Desc, Order::Asc) } else { (Order::Asc, Order::Desc) };
        let rows = match order {
            CommitmentOrder::AnnouncedOnDesc | CommitmentOrder::AnnouncedOnAsc => {
                // Dated rows in date order, then undated ones (NULLS LAST); read backwards,
                // the undated ones come first. After a cursor, two range scans that each
                // follow an index from the cursor on: one condition with an OR for the
                // undated rows made the databases walk every row before the cursor (a page
                // 1000 deep cost 2.4 times the first at a million rows).
                let descending = (order == CommitmentOrder::AnnouncedOnDesc) != back;
                let direction = if descending { Order::Desc } else { Order::Asc };
                let (cursor_date, cursor_id) = match &key {
                    Some(key) => (parse_key_date(&key[0])?, Some(parse_key_id(&key[1])?)),
                    None => (None, None),
                };
                let id_beyond = |id: i64| if descending { C::Id.lt(id) } else { C::Id.gt(id) };
                if key.is_none() && !back {
                    // The first page: one ordered scan (the index's own order).
                    select
                        .order_by_with_nulls(C::AnnouncedOn, direction.clone(), NullOrdering::Last)
                        .order_by(C::Id, direction)
                        .limit(limit)
                        .all(self.conn())
                        .await?
                } else {
                    // The two parts in scan order, and where the cursor is.
                    let parts = if back { [false, true] } else { [true, false] };
                    let cursor_part = key.as_ref().map(|_| cursor_date.is_some());
                    let mut rows = Vec::new();
                    let mut passed_cursor = cursor_part.is_none();
                    for dated in parts {
                        if (rows.len() as u64) >= limit {
                            break;
                        }
                        let here = cursor_part == Some(dated);
                        if !(passed_cursor || here) {
                            continue; // a part wholly before the cursor
                        }
                        let rest = limit - rows.len() as u64;
                        let part = if dated {
                            let mut part = select.clone().filter(C::AnnouncedOn.is_not_null());
                            if let (true, Some(d), Some(id)) = (here, cursor_date, cursor_id) {
                                let (from, beyond) = if descending {
                                    (C::AnnouncedOn.lte(d), C::AnnouncedOn.lt(d))
                                } else {
                                    (C::AnnouncedOn.gte(d), C::AnnouncedOn.gt(d))
                                };
                                part = part.filter(from).filter(Condition::any().add(beyond).add(id_beyond(id)));
                            }
                            part.order_by(C::AnnouncedOn, direction.clone()).order_by(C::Id, direction.clone())
                        } else {
                            let mut part = select.clone().filter(C::AnnouncedOn.is_null());
                            if let (true, Some(id)) = (here, cursor_id) {
                                part = part.filter(id_beyond(id));
                            }
                            part.order_by(C::Id, direction.clone())
                        };
                        rows.extend(part.limit(rest).all(self.conn()).await?);
                        passed_cursor = true;
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
                    select = if back {
                        select.filter(C::UpdatedAt.gte(at)).filter(
                            Condition::any()
                                .add(C::UpdatedAt.gt(at))
                                .add(Condition::all().add(C::UpdatedAt.eq(at)).add(C::Id.gt(id))),
                        )
                    } else {
                        select.filter(C::UpdatedAt.lte(at)).filter(
                            Condition::any()
                                .add(C::UpdatedAt.lt(at))
                                .add(Condition::all().add(C::UpdatedAt.eq(at)).add(C::Id.lt(id))),
                        )
                    };
                }
                select.order_by(C::UpdatedAt, desc.clone()).order_by(C::Id, desc).limit(limit).all(self.conn()).await?
            }
            CommitmentOrder::TitleAsc => {
                if let Some(key) = &key {
                    let title = key[0].clone().unwrap_or_default();
                    let id = parse_key_id(&key[1])?;
                    let (beyond, id_beyond) = if back {
                        (C::Title.lt(title.clone()), C::Id.lt(id))
                    } else {
                        (C::Title.gt(title.clone()), C::Id.gt(id))
                    };
                    select = select.filter(
                        Condition::any().add(beyond).add(Condition::all().add(C::Title.eq(title)).add(id_beyond)),
                    );
                }
                select.order_by(C::Title, asc.clone()).order_by(C::Id, asc).limit(limit).all(self.conn()).await?
            }
        };
        Ok(window.page(rows, |row| {
            let first_key = match order {
                CommitmentOrder::TitleAsc => Some(row.title.clone()),
                CommitmentOrder::UpdatedAtDesc => {
                    Some(row.updated_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                }
                _ => date_text(row.announced_on),
            };
            cursor::encode(tag, &[first_key, Some(row.id.to_string())])
        }))
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
        Ok(self.commitments_where(filter).count(self.conn()).await?)
    }

    /// The commitments `filter` selects, as today or as known at its version.
    fn commitments_where(&self, filter: &CommitmentFilter) -> Select<commitment::Entity> {
        let mut select = commitment::Entity::find();
        if let Some(v) = filter.known {
            super::history::read_at(&mut select, v);
        }
        select.filter(commitment_condition(filter, self.text_index()))
    }

    /// A page of actors ordered by slug.
    pub async fn actors_page(&self, filter: &ActorFilter, window: Window<'_>) -> StorageResult<Page<actor::Model>> {
        let select = actor::Entity::find().filter(actor_condition(filter));
        page_by_slug(self, select, actor::Column::Slug, "actors", window, |a| a.slug.clone()).await
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
    pub async fn events_page(&self, window: Window<'_>) -> StorageResult<Page<event::Model>> {
        page_by_slug(self, event::Entity::find(), event::Column::Slug, "events", window, |e| e.slug.clone()).await
    }

    /// A page of coalitions ordered by slug.
    pub async fn coalitions_page(&self, window: Window<'_>) -> StorageResult<Page<coalition::Model>> {
        page_by_slug(self, coalition::Entity::find(), coalition::Column::Slug, "coalitions", window, |c| c.slug.clone())
            .await
    }
}

/// A slug-ordered keyset page of any table with a unique slug.
async fn page_by_slug<E, F>(
    db: &Db,
    select: Select<E>,
    slug: E::Column,
    tag: &str,
    window: Window<'_>,
    slug_of: F,
) -> StorageResult<Page<E::Model>>
where
    E: EntityTrait,
    F: Fn(&E::Model) -> String,
{
    let mut select = select;
    let key = window.key(tag, 1)?.map(|key| key[0].clone().unwrap_or_default());
    let rows = if window.backward() {
        if let Some(key) = key {
            select = select.filter(slug.lt(key));
        }
        select.order_by_desc(slug).limit(window.size() + 1).all(db.conn()).await?
    } else {
        if let Some(key) = key {
            select = select.filter(slug.gt(key));
        }
        select.order_by_asc(slug).limit(window.size() + 1).all(db.conn()).await?
    };
    Ok(window.page(rows, |row| cursor::encode(tag, &[Some(slug_of(row))])))
}
