//! Commitments, their status history, retraction and overlaps.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{claim, commitment, overlap, status_history};

use super::*;
use crate::domain::status;

/// An announced or committed amount (or an unquantified pledge), with its sources.
/// The second field is the data version it was read at (`knownAt`; `None`: today): its
/// sources, retraction sources and status history are read as known then too.
#[derive(Clone)]
pub struct Commitment(pub commitment::Model, pub Option<i64>);

impl Commitment {
    /// The record as it is today.
    pub fn now(row: commitment::Model) -> Self {
        Self(row, None)
    }
}

impl From<commitment::Model> for Commitment {
    fn from(row: commitment::Model) -> Self {
        Self::now(row)
    }
}

#[Object]
impl Commitment {
    /// Global id (Relay `Node`): `node(id:)` finds the record again.
    pub(crate) async fn id(&self) -> async_graphql::ID {
        super::global_id("Commitment", &self.0.slug)
    }

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
        let Some(id) = self.0.event_id else { return Ok(None) };
        let loaders = ctx.loaders()?;
        if let Some(event) = loaders.prefetched.event(id) {
            return Ok(Some(Event(event)));
        }
        Ok(loaded(loaders.events.load_one(id).await)?.map(Event))
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
            Some(id) => Ok(loaded(ctx.loaders()?.commitments.load_one(id).await)?.map(Commitment::now)),
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
        Ok(parts.unwrap_or_default().into_iter().map(Commitment::now).collect())
    }
    /// Disagreements between sources, overlaps, how a value was derived.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Sources of the figure (at least one).
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Commitment, self.0.id, self.1).await
    }
    /// Every status this commitment has had, oldest first.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<StatusChange>, ApiError> {
        let rows = loaded(ctx.loaders()?.statuses.load_one((self.0.id, self.1)).await)?.unwrap_or_default();
        // Corrections are judged in write order (ids); the history is shown by date.
        let mut written: Vec<&status_history::Model> = rows.iter().collect();
        written.sort_by_key(|r| r.id);
        let changes = written
            .iter()
            .map(|r| {
                let status = stored(kinds::CommitmentStatus::parse("status", &r.status))?;
                Ok(status::Change { status, effective_on: r.effective_on })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let corrections: std::collections::HashMap<i64, bool> =
            written.iter().enumerate().map(|(i, r)| (r.id, status::is_correction(&changes, i))).collect();
        Ok(rows
            .into_iter()
            .map(|row| StatusChange {
                correction: corrections.get(&row.id).copied().unwrap_or(false),
                row,
                known: self.1,
            })
            .collect())
    }
    /// What each source says the figure is, when sources disagree: the preferred claim first
    /// (the recorded amount, the one totals count, with why it is preferred), then the
    /// others; `totals(claims:)` gives a total under them. Empty when no disagreement is
    /// recorded.
    async fn claims(&self, ctx: &Context<'_>) -> Result<Vec<Claim>, ApiError> {
        let rows = loaded(ctx.loaders()?.claims.load_one(self.0.id).await)?;
        Ok(rows.unwrap_or_default().into_iter().map(Claim).collect())
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
            sources: sources(ctx, Linked::Retraction, self.0.id, self.1).await?,
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
pub struct StatusChange {
    pub row: status_history::Model,
    /// Whether it corrects the record (see `correction`).
    pub correction: bool,
    /// The data version it was read at (`knownAt`; `None`: today).
    pub known: Option<i64>,
}

#[Object]
impl StatusChange {
    /// The status.
    async fn status(&self) -> Result<CommitmentStatus, ApiError> {
        Ok(stored(kinds::CommitmentStatus::parse("status", &self.row.status))?.into())
    }
    /// Day it took effect; null when unknown.
    async fn effective_on(&self) -> Option<Date> {
        self.row.effective_on.map(Date)
    }
    /// Comment.
    async fn note(&self) -> Option<&str> {
        self.row.note.as_deref()
    }
    /// Sources of the change.
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Status, self.row.id, self.known).await
    }
    /// Whether the change corrects the record rather than reporting news: it is dated
    /// before a change recorded earlier, or it reopens a WITHDRAWN or DELIVERED commitment
    /// (its `note` says why).
    async fn correction(&self) -> bool {
        self.correction
    }
    /// When it was recorded.
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

/// Money that a later commitment presents again from an earlier one: counted once, at its
/// first announcement.
pub struct Overlap(pub overlap::Model);

#[Object]
impl Overlap {
    /// The later commitment that re-presents the money.
    async fn later(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.0.later_id).await)?.map(Commitment::now))
    }
    /// The earlier commitment where the money was first announced; null when the earlier
    /// announcements are not recorded one by one (the note and sources say what they were).
    async fn earlier(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        let Some(id) = self.0.earlier_id else { return Ok(None) };
        Ok(loaded(ctx.loaders()?.commitments.load_one(id).await)?.map(Commitment::now))
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
        sources(ctx, Linked::Overlap, self.0.id, None).await
    }
}

/// One claim about a commitment's figure: what a source (or the tracker's reading of
/// several) says the amount is, on what day, with its sources.
#[derive(Clone)]
pub struct Claim(pub claim::Model);

#[Object]
impl Claim {
    /// Stable identifier: pass it to `totals(claims:)`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The commitment the claim is about.
    async fn commitment(&self, ctx: &Context<'_>) -> Result<Option<Commitment>, ApiError> {
        Ok(loaded(ctx.loaders()?.commitments.load_one(self.0.commitment_id).await)?.map(Commitment::now))
    }
    /// Who makes the claim ("Verdict; Maddyness").
    async fn claimant(&self) -> &str {
        &self.0.claimant
    }
    /// The day of the claim or of the announcement it reports, when known.
    async fn claimed_on(&self) -> Option<Date> {
        self.0.claimed_on.map(Date)
    }
    /// The amount claimed.
    async fn amount(&self) -> Result<MoneyRange, ApiError> {
        MoneyRange::from_stored(self.0.amount_low, self.0.amount_high, &self.0.currency)
    }
    /// Whether this is the claim the commitment records and totals count.
    async fn preferred(&self) -> bool {
        self.0.preferred
    }
    /// Why it is preferred (the preferred claim only).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The claim in the source's words, or what else it says.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The sources stating it (at least one).
    async fn sources(&self, ctx: &Context<'_>) -> Result<Vec<Source>, ApiError> {
        sources(ctx, Linked::Claim, self.0.id, None).await
    }
}
