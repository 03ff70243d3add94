//! API object types. They wrap storage rows and resolve nested fields through DataLoaders.

use async_graphql::{ComplexObject, Context, Enum, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use entity::{actor, coalition, commitment, event, fundraising_target, overlap, signature, source, status_history};

use super::{
    ContextExt,
    scalars::{Date, Decimal},
};
use crate::{
    domain::{
        FieldError,
        codes::CurrencyCode,
        kinds,
        money::{self, MinorRange},
    },
    error::{ApiError, ApiResultExt},
    storage::{
        Db,
        read::{ActorFilter, CommitmentFilter, Linked, Page, SignatureFilter, StanceCounts},
    },
};

/// A COUNT that a connection runs only when `totalCount` is asked for.
#[derive(Debug, Clone)]
pub enum CountQuery {
    Commitments(Box<CommitmentFilter>),
    Actors(ActorFilter),
    Events,
    Coalitions,
}

impl CountQuery {
    /// Runs the count.
    pub async fn run(&self, db: &Db) -> Result<u64, ApiError> {
        match self {
            Self::Commitments(filter) => db.commitments_count(filter).await.api(),
            Self::Actors(filter) => db.actors_count(filter).await.api(),
            Self::Events => db.events_count().await.api(),
            Self::Coalitions => db.coalitions_count().await.api(),
        }
    }
}

/// A stored value that does not parse is our fault, not the caller's.
pub(crate) fn stored<T>(result: Result<T, FieldError>) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::Internal(format!("stored value does not parse: {e}")))
}

pub(crate) fn loaded<T>(result: Result<T, std::sync::Arc<crate::storage::StorageError>>) -> Result<T, ApiError> {
    use crate::storage::StorageError;
    result.map_err(|e| match e.as_ref() {
        StorageError::Unavailable(cause) => ApiError::Unavailable(cause.clone()),
        StorageError::Conflict(what) => ApiError::Conflict(what.clone()),
        other => ApiError::Internal(other.to_string()),
    })
}

/// What kind of body an actor is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::ActorKind")]
pub enum ActorKind {
    Government,
    Company,
    InvestmentFund,
    PublicBank,
    Foundation,
    InternationalOrg,
    Philanthropy,
    Other,
}

/// What kind of occasion an event is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::EventKind")]
pub enum EventKind {
    Summit,
    SummitSegment,
    InvestmentSummit,
    Announcement,
    Other,
}

/// What kind of money a commitment is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::CommitmentKind")]
pub enum CommitmentKind {
    Investment,
    Endowment,
    PublicProgram,
}

/// Lifecycle status of a commitment.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::CommitmentStatus")]
pub enum CommitmentStatus {
    Announced,
    Confirmed,
    InProgress,
    Delivered,
    Stalled,
    Withdrawn,
}

/// How a commitment relates to its parent: PART_OF (a component of a headline package),
/// DETAIL_OF (an overlapping breakdown, never added up), CONFIRMS (a later concretisation,
/// not new money), TOWARDS_TARGET (money towards the beneficiary's fundraising target).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::CommitmentRelation")]
pub enum CommitmentRelation {
    PartOf,
    DetailOf,
    Confirms,
    TowardsTarget,
}

/// A declaration, or a coalition that members join.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::CoalitionKind")]
pub enum CoalitionKind {
    Declaration,
    Coalition,
}

/// An actor's stance on a coalition or declaration.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kinds::Stance")]
pub enum Stance {
    Signed,
    Declined,
    Withdrawn,
}

/// How much of an amount is known.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "money::AmountKind")]
pub enum AmountKind {
    /// One figure: low = high.
    Point,
    /// A range, or two disputed figures.
    Range,
    /// "Up to X": only `high` is known.
    UpTo,
    /// No figure ("several billion"): neither end is known, and it is never summed as zero.
    Unquantified,
}

/// An amount as a range in its original currency. `low`/`high` are exact decimals (strings).
#[derive(SimpleObject)]
pub struct MoneyRange {
    /// Low end; null when unknown ("up to X") or unquantified.
    pub low: Option<Decimal>,
    /// High end; null when unquantified.
    pub high: Option<Decimal>,
    /// ISO 4217 currency code.
    pub currency: String,
    /// What is known of the amount.
    pub kind: AmountKind,
}

impl MoneyRange {
    pub(crate) fn from_stored(low: Option<i64>, high: Option<i64>, currency: &str) -> Result<Self, ApiError> {
        let currency = stored(CurrencyCode::parse("currency", currency))?;
        let money = MinorRange { low, high, currency }.to_money();
        Ok(Self {
            low: money.range.low().map(Decimal),
            high: money.range.high().map(Decimal),
            currency: currency.as_str().to_owned(),
            kind: money.range.kind().into(),
        })
    }
}

/// A public source backing a fact.
pub struct Source(pub source::Model);

#[Object]
impl Source {
    /// Stable identifier of the source.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Address of the page.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Who published it.
    async fn publisher(&self) -> &str {
        &self.0.publisher
    }
    /// Title of the page.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Publication date as precise as known: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    async fn published_on(&self) -> Option<&str> {
        self.0.published_on.as_deref()
    }
    /// ISO 639-1 language of the page.
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }
    /// Short quote or paraphrase of the supporting passage.
    async fn quote(&self) -> Option<&str> {
        self.0.quote.as_deref()
    }
    /// Version, for `expectedVersion` in `updateSource`.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

async fn sources(ctx: &Context<'_>, kind: Linked, id: i64) -> Result<Vec<Source>, ApiError> {
    let found = loaded(ctx.loaders()?.sources.load_one((kind, id)).await)?;
    Ok(found.unwrap_or_default().into_iter().map(Source).collect())
}

pub(crate) async fn load_actor(ctx: &Context<'_>, id: i64) -> Result<Actor, ApiError> {
    loaded(ctx.loaders()?.actors.load_one(id).await)?
        .map(Actor)
        .ok_or_else(|| ApiError::Internal(format!("actor {id} is referenced but missing")))
}

/// A government, company, fund, bank, foundation or organisation.
pub struct Actor(pub actor::Model);

#[Object]
impl Actor {
    /// Stable identifier.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Kind of body.
    async fn kind(&self) -> Result<ActorKind, ApiError> {
        Ok(stored(kinds::ActorKind::parse("kind", &self.0.kind))?.into())
    }
    /// Headquarters or state, ISO 3166-1 alpha-2; null for international bodies or when no
    /// source states it.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    /// Other names and spellings (searchable).
    async fn aliases(&self) -> Vec<String> {
        serde_json::from_str(&self.0.aliases).unwrap_or_default()
    }
    /// Version, for `expectedVersion` in `updateActor`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Sources for this actor's identity and details.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Actor, self.0.id).await
    }
    /// The fundraising target of this actor (a foundation's endowment goal), if any. A
    /// target is not money pledged.
    async fn fundraising_target(&self, ctx: &Context<'_>) -> Result<Option<FundraisingTarget>, ApiError> {
        Ok(loaded(ctx.loaders()?.targets.load_one(self.0.id).await)?.map(FundraisingTarget))
    }
    /// This actor's stances on coalitions and declarations.
    async fn signatures(&self, ctx: &Context<'_>) -> Result<Vec<Signature>, ApiError> {
        let rows = loaded(ctx.loaders()?.actor_signatures.load_one(self.0.id).await)?;
        Ok(rows.unwrap_or_default().into_iter().map(Signature).collect())
    }
    /// Last change of this row.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A fundraising target: the goal a beneficiary raises money towards.
pub struct FundraisingTarget(pub fundraising_target::Model);

#[Object]
impl FundraisingTarget {
    /// The target amount.
    async fn amount(&self) -> Result<MoneyRange, ApiError> {
        MoneyRange::from_stored(self.0.amount_low, self.0.amount_high, &self.0.currency)
    }
    /// Year by which the target is to be reached, when stated.
    async fn horizon_year(&self) -> Option<i32> {
        self.0.horizon_year
    }
    /// Disagreements between sources and how the target was read.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Sources of the target.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Target, self.0.id).await
    }
}

/// A summit, summit segment, investment summit or announcement.
pub struct Event(pub event::Model);

#[Object]
impl Event {
    /// Stable identifier.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Kind of occasion.
    async fn kind(&self) -> Result<EventKind, ApiError> {
        Ok(stored(kinds::EventKind::parse("kind", &self.0.kind))?.into())
    }
    /// City.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// ISO 3166-1 alpha-2 country.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    /// First day.
    async fn start_date(&self) -> Option<Date> {
        self.0.start_date.map(Date)
    }
    /// Last day.
    async fn end_date(&self) -> Option<Date> {
        self.0.end_date.map(Date)
    }
    /// Version, for `expectedVersion` in `updateEvent`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Sources for the event.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Event, self.0.id).await
    }
    /// Coalitions and declarations launched at this event.
    async fn coalitions(&self, ctx: &Context<'_>) -> Result<Vec<Coalition>, ApiError> {
        let rows = loaded(ctx.loaders()?.event_coalitions.load_one(self.0.id).await)?;
        Ok(rows.unwrap_or_default().into_iter().map(Coalition).collect())
    }
}

/// An announced or committed amount (or an unquantified pledge), with its sources.
pub struct Commitment(pub commitment::Model);

#[Object]
impl Commitment {
    /// Stable identifier.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// What was announced.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Who pledged it.
    async fn pledger(&self, ctx: &Context<'_>) -> Result<Actor, ApiError> {
        load_actor(ctx, self.0.pledger_id).await
    }
    /// Where it was announced.
    async fn event(&self, ctx: &Context<'_>) -> Result<Option<Event>, ApiError> {
        match self.0.event_id {
            Some(id) => Ok(loaded(ctx.loaders()?.events.load_one(id).await)?.map(Event)),
            None => Ok(None),
        }
    }
    /// Who receives it (e.g. a foundation's endowment).
    async fn beneficiary(&self, ctx: &Context<'_>) -> Result<Option<Actor>, ApiError> {
        match self.0.beneficiary_id {
            Some(id) => load_actor(ctx, id).await.map(Some),
            None => Ok(None),
        }
    }
    /// Day of the first public announcement; null when no source gives it.
    async fn announced_on(&self) -> Option<Date> {
        self.0.announced_on.map(Date)
    }
    /// The amount as announced, in its original currency.
    async fn amount(&self) -> Result<MoneyRange, ApiError> {
        MoneyRange::from_stored(self.0.amount_low, self.0.amount_high, &self.0.currency)
    }
    /// Whether sources disagree on the amount (`amount` then holds the two figures).
    async fn amount_disputed(&self) -> bool {
        self.0.amount_disputed
    }
    /// Country where the money is to be spent; null for EU-wide or global programmes.
    async fn recipient_country(&self) -> Option<&str> {
        self.0.recipient_country.as_deref()
    }
    /// Sector, as described by the sources.
    async fn sector(&self) -> Option<&str> {
        self.0.sector.as_deref()
    }
    /// Kind of money.
    async fn kind(&self) -> Result<CommitmentKind, ApiError> {
        Ok(stored(kinds::CommitmentKind::parse("kind", &self.0.kind))?.into())
    }
    /// Year by which the money is to be spent, when stated.
    async fn horizon_year(&self) -> Option<i32> {
        self.0.horizon_year
    }
    /// Current lifecycle status.
    async fn status(&self) -> Result<CommitmentStatus, ApiError> {
        Ok(stored(kinds::CommitmentStatus::parse("status", &self.0.status))?.into())
    }
    /// The commitment this one belongs to, confirms or details.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        match self.0.parent_id {
            Some(id) => Ok(loaded(ctx.loaders()?.commitments.load_one(id).await)?.map(Commitment)),
            None => Ok(None),
        }
    }
    /// How this commitment relates to its parent (or, for TOWARDS_TARGET, to the
    /// beneficiary's target).
    async fn relation(&self) -> Result<Option<CommitmentRelation>, ApiError> {
        let relation = self.0.relation.as_deref().map(|r| kinds::CommitmentRelation::parse("relation", r)).transpose();
        Ok(stored(relation)?.map(Into::into))
    }
    /// Commitments whose parent this is (parts, details, confirmations), by title.
    async fn parts(&self, ctx: &Context<'_>) -> Result<Vec<Commitment>, ApiError> {
        let parts = loaded(ctx.loaders()?.parts.load_one(self.0.id).await)?;
        Ok(parts.unwrap_or_default().into_iter().map(Commitment).collect())
    }
    /// Disagreements between sources, overlaps, how a value was derived.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Sources of the figure (at least one).
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Commitment, self.0.id).await
    }
    /// Every status this commitment has had, oldest first.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<StatusChange>, ApiError> {
        let rows = loaded(ctx.loaders()?.statuses.load_one(self.0.id).await)?;
        Ok(rows.unwrap_or_default().into_iter().map(StatusChange).collect())
    }
    /// Money this commitment presents again from an earlier one, or that a later one
    /// presents again from it.
    async fn overlaps(&self, ctx: &Context<'_>) -> Result<Vec<Overlap>, ApiError> {
        let rows = loaded(ctx.loaders()?.overlaps.load_one(self.0.id).await)?;
        Ok(rows.unwrap_or_default().into_iter().map(Overlap).collect())
    }
    /// Incremented by every change: pass it as `expectedVersion` to update.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Last change of this row.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Set when the tracker retracted the figure: it is kept, but no total counts it.
    async fn retraction(&self, ctx: &Context<'_>) -> Result<Option<Retraction>, ApiError> {
        let Some(reason) = &self.0.retraction_reason else { return Ok(None) };
        Ok(Some(Retraction {
            reason: reason.clone(),
            retracted_on: self.0.retracted_on.map(Date),
            sources: sources(ctx, Linked::Retraction, self.0.id).await?,
        }))
    }
}

/// Why and when the tracker retracted a figure.
#[derive(SimpleObject)]
pub struct Retraction {
    /// Why.
    pub reason: String,
    /// When.
    pub retracted_on: Option<Date>,
    /// The sources that show the figure was wrong.
    pub sources: Vec<Source>,
}

/// One status of a commitment and the day it took effect.
pub struct StatusChange(pub status_history::Model);

#[Object]
impl StatusChange {
    /// The status.
    async fn status(&self) -> Result<CommitmentStatus, ApiError> {
        Ok(stored(kinds::CommitmentStatus::parse("status", &self.0.status))?.into())
    }
    /// Day it took effect; null when unknown.
    async fn effective_on(&self) -> Option<Date> {
        self.0.effective_on.map(Date)
    }
    /// Comment.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Sources of the change.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Status, self.0.id).await
    }
}

/// Money that a later commitment presents again from an earlier one: counted once, at its
/// first announcement.
pub struct Overlap(pub overlap::Model);

#[Object]
impl Overlap {
    /// The later commitment that re-presents the money.
    async fn later(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.0.later_id).await)?.map(Commitment))
    }
    /// The earlier commitment where the money was first announced.
    async fn earlier(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.0.earlier_id).await)?.map(Commitment))
    }
    /// The overlapping amount.
    async fn amount(&self) -> Result<MoneyRange, ApiError> {
        MoneyRange::from_stored(self.0.amount_low, self.0.amount_high, &self.0.currency)
    }
    /// How the overlap is known.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Sources of the overlap.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Overlap, self.0.id).await
    }
}

/// Signature counts of a coalition by stance.
#[derive(SimpleObject)]
pub struct SignatureCounts {
    /// Actors that signed or joined.
    pub signed: u64,
    /// Actors recorded as publicly not signing.
    pub declined: u64,
    /// Actors that withdrew.
    pub withdrawn: u64,
    /// All recorded stances.
    pub total: u64,
}

impl From<StanceCounts> for SignatureCounts {
    fn from(c: StanceCounts) -> Self {
        Self {
            signed: c.signed,
            declined: c.declined,
            withdrawn: c.withdrawn,
            total: c.signed + c.declined + c.withdrawn,
        }
    }
}

/// What a coalition's signatures can be grouped by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::storage::signatures::SignatureDimension")]
pub enum SignatureDimension {
    /// The signatory's kind.
    ActorKind,
    /// The signatory's country (null for international bodies).
    Country,
}

/// Stance counts for one value of a dimension.
#[derive(SimpleObject)]
pub struct SignatureGroup {
    /// The kind or country (null: none recorded).
    pub value: Option<String>,
    /// The counts.
    pub counts: SignatureCounts,
}

/// One day of a signature timeline.
#[derive(SimpleObject)]
pub struct TimelinePoint {
    /// The day.
    pub date: Date,
    /// SIGNED stances dated that day.
    pub signed: u64,
    /// SIGNED stances dated up to that day.
    pub cumulative: u64,
}

/// Signatories over time.
#[derive(SimpleObject)]
pub struct SignatureTimeline {
    /// One point per signing day, in date order.
    pub points: Vec<TimelinePoint>,
    /// SIGNED stances with no recorded date (not in `points`).
    pub undated: u64,
}

/// Filters on a coalition's signatures; an omitted or empty list does not filter.
#[derive(async_graphql::InputObject, Default)]
pub struct SignatureFilterInput {
    /// Only these stances.
    pub stances: Option<Vec<Stance>>,
    /// Only actors of these kinds.
    pub actor_kinds: Option<Vec<ActorKind>>,
    /// Only actors of these countries (ISO 3166-1 alpha-2).
    pub countries: Option<Vec<String>>,
}

/// A coalition, partnership or declaration.
pub struct Coalition(pub coalition::Model);

#[Object]
impl Coalition {
    /// Stable identifier.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Declaration or coalition.
    async fn kind(&self) -> Result<CoalitionKind, ApiError> {
        Ok(stored(kinds::CoalitionKind::parse("kind", &self.0.kind))?.into())
    }
    /// Launch or signing day.
    async fn launched_on(&self) -> Option<Date> {
        self.0.launched_on.map(Date)
    }
    /// Version, for `expectedVersion` in `updateCoalition`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Event where it was launched.
    async fn event(&self, ctx: &Context<'_>) -> Result<Option<Event>, ApiError> {
        match self.0.event_id {
            Some(id) => Ok(loaded(ctx.loaders()?.events.load_one(id).await)?.map(Event)),
            None => Ok(None),
        }
    }
    /// Sources for the coalition.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Coalition, self.0.id).await
    }
    /// Recorded stances (signed, declined, withdrawn), by actor name.
    async fn signatures(
        &self,
        ctx: &Context<'_>,
        filter: Option<SignatureFilterInput>,
    ) -> Result<Vec<Signature>, ApiError> {
        let filter = filter.unwrap_or_default();
        let countries = crate::domain::codes::country_codes("filter.countries", filter.countries)?;
        let filter = SignatureFilter {
            stances: filter.stances.unwrap_or_default().into_iter().map(Into::into).collect(),
            actor_kinds: filter.actor_kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            countries,
        };
        let rows = ctx.db()?.signatures_of(self.0.id, &filter).await.api()?;
        Ok(rows.into_iter().map(|(s, _)| Signature(s)).collect())
    }
    /// Counts of recorded stances. Only named signatories are recorded: see the sources for
    /// the reported totals. With `asOf`, only stances dated on or before that day (undated
    /// stances are counted only without `asOf`).
    async fn counts(&self, ctx: &Context<'_>, as_of: Option<Date>) -> Result<SignatureCounts, ApiError> {
        if let Some(day) = as_of {
            return Ok(ctx.db()?.stance_counts_on(self.0.id, day.0).await.api()?.into());
        }
        let counts = loaded(ctx.loaders()?.stance_counts.load_one(self.0.id).await)?;
        Ok(counts.unwrap_or_default().into())
    }
    /// Stance counts by the signatory's kind or country (optionally as of a day).
    async fn breakdown(
        &self,
        ctx: &Context<'_>,
        by: SignatureDimension,
        as_of: Option<Date>,
    ) -> Result<Vec<SignatureGroup>, ApiError> {
        let groups = ctx.db()?.signature_breakdown(self.0.id, by.into(), as_of.map(|d| d.0)).await.api()?;
        Ok(groups.into_iter().map(|g| SignatureGroup { value: g.value, counts: g.counts.into() }).collect())
    }
    /// Signatories (SIGNED) over time: per signing day and cumulative, for a line chart.
    async fn timeline(&self, ctx: &Context<'_>) -> Result<SignatureTimeline, ApiError> {
        let (points, undated) = ctx.db()?.signature_timeline(self.0.id).await.api()?;
        Ok(SignatureTimeline {
            points: points
                .into_iter()
                .map(|p| TimelinePoint { date: Date(p.on), signed: p.signed, cumulative: p.cumulative })
                .collect(),
            undated,
        })
    }
}

/// An actor's stance on a coalition or declaration.
pub struct Signature(pub signature::Model);

#[Object]
impl Signature {
    /// The actor.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Actor, ApiError> {
        load_actor(ctx, self.0.actor_id).await
    }
    /// The coalition or declaration.
    async fn coalition(&self, ctx: &Context<'_>) -> Result<Option<Coalition>, ApiError> {
        Ok(loaded(ctx.loaders()?.coalitions.load_one(self.0.coalition_id).await)?.map(Coalition))
    }
    /// Signed, declined or withdrawn.
    async fn stance(&self) -> Result<Stance, ApiError> {
        Ok(stored(kinds::Stance::parse("stance", &self.0.stance))?.into())
    }
    /// Whether the actor signed as an initiator or co-lead.
    async fn initiator(&self) -> bool {
        self.0.initiator
    }
    /// Day of signing (or of the public refusal).
    async fn signed_on(&self) -> Option<Date> {
        self.0.signed_on.map(Date)
    }
    /// Version, for `expectedVersion` in `setSignature`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Sources of the stance (at least one).
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Signature, self.0.id).await
    }
}

/// A search hit.
#[derive(Union)]
pub enum SearchHit {
    Actor(Actor),
    Event(Event),
    Coalition(Coalition),
    Commitment(Commitment),
}

/// Where a page stands in its list.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether rows follow this page.
    pub has_next_page: bool,
    /// Whether rows precede this page (true when `after` was given).
    pub has_previous_page: bool,
    /// Cursor of the first row.
    pub start_cursor: Option<String>,
    /// Cursor of the last row: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// The page info of a storage page.
    pub fn of<T>(page: &Page<T>, has_previous_page: bool) -> Self {
        Self {
            has_next_page: page.has_next,
            has_previous_page,
            start_cursor: page.rows.first().map(|(_, c)| c.clone()),
            end_cursor: page.rows.last().map(|(_, c)| c.clone()),
        }
    }
}

macro_rules! connection {
    ($(#[$meta:meta])* $connection:ident, $edge:ident, $node:ident, $model:ty) => {
        /// An edge: a node and its cursor.
        #[derive(SimpleObject)]
        pub struct $edge {
            /// The row.
            pub node: $node,
            /// Pass as `after` to continue after this row.
            pub cursor: String,
        }

        $(#[$meta])*
        #[derive(SimpleObject)]
        #[graphql(complex)]
        pub struct $connection {
            /// The rows with their cursors.
            pub edges: Vec<$edge>,
            /// Where this page stands.
            pub page_info: PageInfo,
            #[graphql(skip)]
            pub count: CountQuery,
        }

        impl $connection {
            /// Wraps a storage page.
            pub fn new(page: Page<$model>, has_previous: bool, count: CountQuery) -> Self {
                let page_info = PageInfo::of(&page, has_previous);
                let edges = page.rows.into_iter().map(|(row, cursor)| $edge { node: $node(row), cursor }).collect();
                Self { edges, page_info, count }
            }
        }

        #[ComplexObject]
        impl $connection {
            /// The rows alone.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }
            /// How many rows match, across all pages (one COUNT query, run only when asked).
            #[graphql(complexity = "crate::graphql::cost::COUNT")]
            async fn total_count(&self, ctx: &Context<'_>) -> Result<u64, ApiError> {
                self.count.run(ctx.db()?).await
            }
        }
    };
}

connection!(
    /// A page of commitments.
    CommitmentConnection, CommitmentEdge, Commitment, commitment::Model
);
connection!(
    /// A page of actors.
    ActorConnection, ActorEdge, Actor, actor::Model
);
connection!(
    /// A page of events.
    EventConnection, EventEdge, Event, event::Model
);
connection!(
    /// A page of coalitions.
    CoalitionConnection, CoalitionEdge, Coalition, coalition::Model
);
