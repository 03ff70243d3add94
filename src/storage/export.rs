//! Stored rows back into records of the import format: what the audit log keeps before and
//! after each write, and what an update patches.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{
    actor, claim, coalition, commitment, event, exchange_rate, fundraising_target, overlap, reported_count, signature,
    source, source_link, status_history,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::{Db, StorageResult, read::Linked};
use crate::domain::{
    money::from_minor_units,
    records::{
        ActorRecord, ClaimRecord, CoalitionRecord, CommitmentRecord, DataSet, EventRecord, FORMAT, OverlapRecord,
        RateRecord, ReportedCountRecord, RetractionRecord, SignatureRecord, SourceRecord, StatusRecord, TargetRecord,
    },
};

fn date(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

/// The slugs of the sources linked to a row, in order.
pub(crate) async fn source_slugs<C: ConnectionTrait>(conn: &C, kind: Linked, id: i64) -> Result<Vec<String>, DbErr> {
    let links = source_link::Entity::find()
        .filter(source_link::Column::EntityKind.eq(kind.as_str()))
        .filter(source_link::Column::EntityId.eq(id))
        .order_by_asc(source_link::Column::Position)
        .all(conn)
        .await?;
    let ids: Vec<i64> = links.iter().map(|l| l.source_id).collect();
    let sources = source::Entity::find().filter(source::Column::Id.is_in(ids.clone())).all(conn).await?;
    Ok(ids.iter().filter_map(|id| sources.iter().find(|s| s.id == *id).map(|s| s.slug.clone())).collect())
}

/// The source slugs of several rows of one kind, in order, in one statement.
pub(crate) async fn source_slugs_of<C: ConnectionTrait>(
    conn: &C,
    kind: Linked,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<String>>, DbErr> {
    Ok(super::read::linked_sources_of(conn, kind, ids, None)
        .await?
        .into_iter()
        .map(|(id, sources)| (id, sources.into_iter().map(|s| s.slug).collect()))
        .collect())
}

async fn slug_of<E, C>(conn: &C, id: Option<i64>) -> Result<Option<String>, DbErr>
where
    E: EntityTrait,
    E::Model: HasSlug,
    C: ConnectionTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
{
    match id {
        Some(id) => Ok(E::find_by_id(id).one(conn).await?.map(|m| m.slug().to_owned())),
        None => Ok(None),
    }
}

/// Rows that have a slug.
pub(crate) trait HasSlug {
    fn slug(&self) -> &str;
}

macro_rules! has_slug {
    ($($module:ident),+) => {
        $(impl HasSlug for $module::Model {
            fn slug(&self) -> &str {
                &self.slug
            }
        })+
    };
}
has_slug!(actor, event, commitment, coalition, source);

/// A source as a record.
pub(crate) fn source_record(m: &source::Model) -> SourceRecord {
    SourceRecord {
        slug: m.slug.clone(),
        url: m.url.clone(),
        publisher: m.publisher.clone(),
        title: m.title.clone(),
        published_on: m.published_on.clone(),
        language: m.language.clone(),
        quote: m.quote.clone(),
    }
}

/// An actor as a record.
pub(crate) async fn actor_record<C: ConnectionTrait>(conn: &C, m: &actor::Model) -> Result<ActorRecord, DbErr> {
    Ok(ActorRecord {
        slug: m.slug.clone(),
        name: m.name.clone(),
        kind: m.kind.clone(),
        country: m.country.clone(),
        aliases: serde_json::from_str(&m.aliases).unwrap_or_default(),
        sources: source_slugs(conn, Linked::Actor, m.id).await?,
    })
}

/// An event as a record.
pub(crate) async fn event_record<C: ConnectionTrait>(conn: &C, m: &event::Model) -> Result<EventRecord, DbErr> {
    Ok(EventRecord {
        slug: m.slug.clone(),
        name: m.name.clone(),
        kind: m.kind.clone(),
        city: m.city.clone(),
        country: m.country.clone(),
        start_date: date(m.start_date),
        end_date: date(m.end_date),
        series: m.series.clone(),
        name_fr: m.name_fr.clone(),
        sources: source_slugs(conn, Linked::Event, m.id).await?,
    })
}

/// A commitment as a record, with its status history and retraction.
pub(crate) async fn commitment_record<C: ConnectionTrait>(
    conn: &C,
    m: &commitment::Model,
) -> Result<CommitmentRecord, DbErr> {
    let statuses = status_history::Entity::find()
        .filter(status_history::Column::CommitmentId.eq(m.id))
        .order_by_asc(status_history::Column::Id)
        .all(conn)
        .await?;
    let ids: Vec<i64> = statuses.iter().map(|s| s.id).collect();
    let mut sources = source_slugs_of(conn, Linked::Status, &ids).await?;
    let status_history = statuses.iter().map(|s| status_record(s, sources.remove(&s.id).unwrap_or_default())).collect();
    let retraction_sources = match m.retraction_reason {
        Some(_) => source_slugs(conn, Linked::Retraction, m.id).await?,
        None => Vec::new(),
    };
    let linked = CommitmentLinks {
        pledger: slug_of::<actor::Entity, _>(conn, Some(m.pledger_id)).await?.unwrap_or_default(),
        event: slug_of::<event::Entity, _>(conn, m.event_id).await?,
        beneficiary: slug_of::<actor::Entity, _>(conn, m.beneficiary_id).await?,
        parent: slug_of::<commitment::Entity, _>(conn, m.parent_id).await?,
        sources: source_slugs(conn, Linked::Commitment, m.id).await?,
        status_history,
        retraction_sources,
    };
    Ok(commitment_from(m, linked))
}

fn status_record(s: &status_history::Model, sources: Vec<String>) -> StatusRecord {
    StatusRecord { status: s.status.clone(), effective_on: date(s.effective_on), note: s.note.clone(), sources }
}

/// What a commitment record names besides its own row.
struct CommitmentLinks {
    pledger: String,
    event: Option<String>,
    beneficiary: Option<String>,
    parent: Option<String>,
    sources: Vec<String>,
    status_history: Vec<StatusRecord>,
    retraction_sources: Vec<String>,
}

fn commitment_from(m: &commitment::Model, linked: CommitmentLinks) -> CommitmentRecord {
    let exponent = u32::try_from(m.currency_exponent).unwrap_or(2);
    CommitmentRecord {
        slug: m.slug.clone(),
        title: m.title.clone(),
        pledger: linked.pledger,
        event: linked.event,
        beneficiary: linked.beneficiary,
        announced_on: date(m.announced_on),
        amount_low: m.amount_low.map(|v| from_minor_units(v, exponent).to_string()),
        amount_high: m.amount_high.map(|v| from_minor_units(v, exponent).to_string()),
        currency: m.currency.clone(),
        recipient_country: m.recipient_country.clone(),
        sector: m.sector.clone(),
        horizon_year: m.horizon_year,
        kind: m.kind.clone(),
        status: m.status.clone(),
        amount_disputed: m.amount_disputed,
        parent: linked.parent,
        relation: m.relation.clone(),
        notes: m.notes.clone(),
        sources: linked.sources,
        status_history: linked.status_history,
        retraction: m.retraction_reason.as_ref().map(|reason| RetractionRecord {
            reason: reason.clone(),
            retracted_on: date(m.retracted_on),
            sources: linked.retraction_sources,
        }),
    }
}

/// A coalition as a record.
pub(crate) async fn coalition_record<C: ConnectionTrait>(
    conn: &C,
    m: &coalition::Model,
) -> Result<CoalitionRecord, DbErr> {
    Ok(CoalitionRecord {
        slug: m.slug.clone(),
        name: m.name.clone(),
        kind: m.kind.clone(),
        launched_on: date(m.launched_on),
        event: slug_of::<event::Entity, _>(conn, m.event_id).await?,
        name_fr: m.name_fr.clone(),
        sources: source_slugs(conn, Linked::Coalition, m.id).await?,
    })
}

/// A signature as a record.
pub(crate) async fn signature_record<C: ConnectionTrait>(
    conn: &C,
    m: &signature::Model,
) -> Result<SignatureRecord, DbErr> {
    Ok(SignatureRecord {
        coalition: slug_of::<coalition::Entity, _>(conn, Some(m.coalition_id)).await?.unwrap_or_default(),
        actor: slug_of::<actor::Entity, _>(conn, Some(m.actor_id)).await?.unwrap_or_default(),
        stance: m.stance.clone(),
        initiator: m.initiator,
        signed_on: date(m.signed_on),
        sources: source_slugs(conn, Linked::Signature, m.id).await?,
        notes: m.notes.clone(),
    })
}

fn amount(v: Option<i64>, exponent: i16) -> Option<String> {
    v.map(|v| from_minor_units(v, u32::try_from(exponent).unwrap_or(2)).to_string())
}

impl Db {
    /// Everything in the import format, in id order: importing it into an empty database
    /// gives the same records and the same totals.
    pub async fn export(&self) -> StorageResult<DataSet> {
        let conn = self.conn();
        let mut data = DataSet { format: FORMAT.to_owned(), ..DataSet::default() };
        data.sources = source::Entity::find()
            .order_by_asc(source::Column::Id)
            .all(conn)
            .await?
            .iter()
            .map(source_record)
            .collect();
        for m in actor::Entity::find().order_by_asc(actor::Column::Id).all(conn).await? {
            data.actors.push(actor_record(conn, &m).await?);
        }
        for m in event::Entity::find().order_by_asc(event::Column::Id).all(conn).await? {
            data.events.push(event_record(conn, &m).await?);
        }
        // Parents before their parts, so that the file imports in one pass.
        let mut commitments = commitment::Entity::find().order_by_asc(commitment::Column::Id).all(conn).await?;
        let actor_slugs: HashMap<i64, String> =
            actor::Entity::find().all(conn).await?.into_iter().map(|a| (a.id, a.slug)).collect();
        let event_slugs: HashMap<i64, String> =
            event::Entity::find().all(conn).await?.into_iter().map(|e| (e.id, e.slug)).collect();
        let commitment_slugs: HashMap<i64, String> = commitments.iter().map(|c| (c.id, c.slug.clone())).collect();
        let mut placed = std::collections::HashSet::new();
        while !commitments.is_empty() {
            let (ready, waiting): (Vec<_>, Vec<_>) =
                commitments.into_iter().partition(|c| c.parent_id.is_none_or(|p| placed.contains(&p)));
            if ready.is_empty() {
                return Err(DbErr::Custom("the commitments' parents form a cycle".into()).into());
            }
            // A few statements per thousand commitments, not several per commitment.
            for chunk in ready.chunks(1_000) {
                let ids: Vec<i64> = chunk.iter().map(|m| m.id).collect();
                let slugs = |map: HashMap<i64, Vec<source::Model>>| -> HashMap<i64, Vec<String>> {
                    map.into_iter().map(|(id, list)| (id, list.into_iter().map(|s| s.slug).collect())).collect()
                };
                let mut sources = slugs(self.sources_of(Linked::Commitment, &ids, None).await?);
                let mut retraction_sources = slugs(self.sources_of(Linked::Retraction, &ids, None).await?);
                let statuses = status_history::Entity::find()
                    .filter(status_history::Column::CommitmentId.is_in(ids.iter().copied()))
                    .order_by_asc(status_history::Column::Id)
                    .all(conn)
                    .await?;
                let status_ids: Vec<i64> = statuses.iter().map(|s| s.id).collect();
                let mut status_sources = slugs(self.sources_of(Linked::Status, &status_ids, None).await?);
                let mut histories: HashMap<i64, Vec<StatusRecord>> = HashMap::new();
                for s in &statuses {
                    let record = status_record(s, status_sources.remove(&s.id).unwrap_or_default());
                    histories.entry(s.commitment_id).or_default().push(record);
                }
                for m in chunk {
                    let linked = CommitmentLinks {
                        pledger: actor_slugs.get(&m.pledger_id).cloned().unwrap_or_default(),
                        event: m.event_id.and_then(|id| event_slugs.get(&id).cloned()),
                        beneficiary: m.beneficiary_id.and_then(|id| actor_slugs.get(&id).cloned()),
                        parent: m.parent_id.and_then(|id| commitment_slugs.get(&id).cloned()),
                        sources: sources.remove(&m.id).unwrap_or_default(),
                        status_history: histories.remove(&m.id).unwrap_or_default(),
                        retraction_sources: retraction_sources.remove(&m.id).unwrap_or_default(),
                    };
                    data.commitments.push(commitment_from(m, linked));
                }
            }
            placed.extend(ready.iter().map(|m| m.id));
            commitments = waiting;
        }
        for m in fundraising_target::Entity::find().order_by_asc(fundraising_target::Column::Id).all(conn).await? {
            data.fundraising_targets.push(TargetRecord {
                actor: slug_of::<actor::Entity, _>(conn, Some(m.actor_id)).await?.unwrap_or_default(),
                amount_low: amount(m.amount_low, m.currency_exponent),
                amount_high: amount(m.amount_high, m.currency_exponent),
                currency: m.currency.clone(),
                horizon_year: m.horizon_year,
                notes: m.notes.clone(),
                sources: source_slugs(conn, Linked::Target, m.id).await?,
            });
        }
        for m in overlap::Entity::find().order_by_asc(overlap::Column::Id).all(conn).await? {
            data.overlaps.push(OverlapRecord {
                later: slug_of::<commitment::Entity, _>(conn, Some(m.later_id)).await?.unwrap_or_default(),
                earlier: slug_of::<commitment::Entity, _>(conn, m.earlier_id).await?,
                amount_low: amount(m.amount_low, m.currency_exponent),
                amount_high: amount(m.amount_high, m.currency_exponent),
                currency: m.currency.clone(),
                note: m.note.clone(),
                sources: source_slugs(conn, Linked::Overlap, m.id).await?,
            });
        }
        for m in coalition::Entity::find().order_by_asc(coalition::Column::Id).all(conn).await? {
            data.coalitions.push(coalition_record(conn, &m).await?);
        }
        for m in signature::Entity::find().order_by_asc(signature::Column::Id).all(conn).await? {
            data.signatures.push(signature_record(conn, &m).await?);
        }
        for m in reported_count::Entity::find().order_by_asc(reported_count::Column::Id).all(conn).await? {
            data.reported_counts.push(ReportedCountRecord {
                coalition: slug_of::<coalition::Entity, _>(conn, Some(m.coalition_id)).await?.unwrap_or_default(),
                reported_on: date(m.reported_on),
                count_low: m.count_low,
                count_high: m.count_high,
                kind: m.kind.clone(),
                wording: m.wording.clone(),
                note: m.note.clone(),
                sources: source_slugs(conn, Linked::ReportedCount, m.id).await?,
            });
        }
        for m in claim::Entity::find().order_by_asc(claim::Column::Id).all(conn).await? {
            let exponent = u32::try_from(m.currency_exponent).unwrap_or(2);
            data.claims.push(ClaimRecord {
                slug: m.slug.clone(),
                commitment: slug_of::<commitment::Entity, _>(conn, Some(m.commitment_id)).await?.unwrap_or_default(),
                claimant: m.claimant.clone(),
                claimed_on: date(m.claimed_on),
                amount_low: m.amount_low.map(|v| from_minor_units(v, exponent).to_string()),
                amount_high: m.amount_high.map(|v| from_minor_units(v, exponent).to_string()),
                currency: m.currency.clone(),
                preferred: m.preferred,
                reason: m.reason.clone(),
                notes: m.notes.clone(),
                sources: source_slugs(conn, Linked::Claim, m.id).await?,
            });
        }
        for m in exchange_rate::Entity::find().order_by_asc(exchange_rate::Column::Id).all(conn).await? {
            data.exchange_rates.push(RateRecord {
                date: m.rate_date.format("%Y-%m-%d").to_string(),
                base: m.base.clone(),
                quote: m.quote.clone(),
                rate: m.rate.clone(),
                sources: source_slugs(conn, Linked::Rate, m.id).await?,
            });
        }
        Ok(data)
    }
}

/// A commitment flattened for newsrooms (`/export/commitments.csv`): names beside slugs,
/// amounts as decimals, its sources readable.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommitmentRow {
    /// The stored id (not exported: the slug names the record).
    #[serde(skip)]
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub pledger: String,
    pub pledger_name: String,
    pub event: Option<String>,
    pub announced_on: Option<String>,
    pub amount_low: Option<String>,
    pub amount_high: Option<String>,
    pub currency: String,
    pub kind: String,
    pub status: String,
    pub recipient_country: Option<String>,
    pub sector: Option<String>,
    pub parent: Option<String>,
    pub relation: Option<String>,
    pub retracted: bool,
    /// `(publisher, title, url)` in citation order.
    #[serde(skip)]
    pub sources: Vec<(String, String, String)>,
}

impl Db {
    /// A page of commitment rows in the list's default order (newest first) from the cursor
    /// `after`; returns the rows and the cursor to continue from, if more follow. Five
    /// statements a page (the page, pledgers, events, parents, sources), whatever its size.
    pub async fn commitment_rows(
        &self,
        filter: &super::read::CommitmentFilter,
        after: Option<&str>,
        size: u64,
    ) -> StorageResult<(Vec<CommitmentRow>, Option<String>)> {
        let page = self
            .commitments_page(
                filter,
                super::read::CommitmentOrder::AnnouncedOnDesc,
                super::read::Window::first(size, after),
            )
            .await?;
        let next = if page.has_next { page.rows.last().map(|(_, c)| c.clone()) } else { None };
        let models: Vec<commitment::Model> = page.rows.into_iter().map(|(m, _)| m).collect();
        let actor_ids: Vec<i64> = models.iter().map(|m| m.pledger_id).collect();
        let event_ids: Vec<i64> = models.iter().filter_map(|m| m.event_id).collect();
        let parent_ids: Vec<i64> = models.iter().filter_map(|m| m.parent_id).collect();
        let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
        let actors: std::collections::HashMap<i64, actor::Model> =
            self.actors_by_ids(&actor_ids).await?.into_iter().map(|a| (a.id, a)).collect();
        let events: std::collections::HashMap<i64, String> =
            self.events_by_ids(&event_ids).await?.into_iter().map(|e| (e.id, e.slug)).collect();
        let parents: std::collections::HashMap<i64, String> =
            self.commitments_by_ids(&parent_ids).await?.into_iter().map(|c| (c.id, c.slug)).collect();
        let mut sources = self.sources_of(Linked::Commitment, &ids, None).await?;
        let rows = models
            .into_iter()
            .map(|m| {
                let pledger = actors.get(&m.pledger_id);
                CommitmentRow {
                    id: m.id,
                    pledger: pledger.map(|a| a.slug.clone()).unwrap_or_default(),
                    pledger_name: pledger.map(|a| a.name.clone()).unwrap_or_default(),
                    event: m.event_id.and_then(|id| events.get(&id).cloned()),
                    announced_on: date(m.announced_on),
                    amount_low: amount(m.amount_low, m.currency_exponent),
                    amount_high: amount(m.amount_high, m.currency_exponent),
                    parent: m.parent_id.and_then(|id| parents.get(&id).cloned()),
                    retracted: m.retraction_reason.is_some(),
                    sources: sources
                        .remove(&m.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|s| (s.publisher, s.title, s.url))
                        .collect(),
                    slug: m.slug,
                    title: m.title,
                    currency: m.currency,
                    kind: m.kind,
                    status: m.status,
                    recipient_country: m.recipient_country,
                    sector: m.sector,
                    relation: m.relation,
                }
            })
            .collect();
        Ok((rows, next))
    }
}
