//! Actors, their fundraising targets, and events.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use entity::{actor, event, fundraising_target};

use super::*;

/// A government, company, fund, bank, foundation or organisation.
#[derive(Clone)]
pub struct Actor(pub actor::Model);

impl From<actor::Model> for Actor {
    fn from(row: actor::Model) -> Self {
        Self(row)
    }
}

#[Object]
impl Actor {
    /// Global id (Relay `Node`): `node(id:)` finds the record again.
    pub(crate) async fn id(&self) -> async_graphql::ID {
        super::global_id("Actor", &self.0.slug)
    }

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
        sources(ctx, Linked::Actor, self.0.id, None).await
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
        sources(ctx, Linked::Target, self.0.id, None).await
    }
}

/// A summit, summit segment, investment summit or announcement.
#[derive(Clone)]
pub struct Event(pub event::Model);

impl From<event::Model> for Event {
    fn from(row: event::Model) -> Self {
        Self(row)
    }
}

#[Object]
impl Event {
    /// Global id (Relay `Node`): `node(id:)` finds the record again.
    pub(crate) async fn id(&self) -> async_graphql::ID {
        super::global_id("Event", &self.0.slug)
    }

    /// Stable identifier.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name, in `lang` (EN by default; FR gives the French name where one is recorded,
    /// else the English one).
    async fn name(&self, lang: Option<Language>) -> &str {
        name_in(lang, &self.0.name, self.0.name_fr.as_deref())
    }
    /// The French name, where a source gives one ("Sommet pour l'action sur l'intelligence
    /// artificielle").
    async fn name_fr(&self) -> Option<&str> {
        self.0.name_fr.as_deref()
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

    /// The series this event is an edition of (`choose-france`, `uk-investment-summit`,
    /// `ai-summits`): `compareEvents(series:)` compares its editions, oldest first.
    async fn series(&self) -> Option<&str> {
        self.0.series.as_deref()
    }
    /// Version, for `expectedVersion` in `updateEvent`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Sources for the event.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Event, self.0.id, None).await
    }
    /// Coalitions and declarations launched at this event.
    async fn coalitions(&self, ctx: &Context<'_>) -> Result<Vec<Coalition>, ApiError> {
        let rows = loaded(ctx.loaders()?.event_coalitions.load_one(self.0.id).await)?;
        Ok(rows.unwrap_or_default().into_iter().map(Coalition).collect())
    }
}
