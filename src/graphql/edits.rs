//! What editors send: the mutation inputs (`*Input` to create, `*Patch` to change), each
//! converted in one place into the domain record the edit writes (`From` for a create,
//! `apply_to` for a patch: an omitted field stays, `null` clears). Resolvers authorize,
//! convert, edit and answer.

use async_graphql::{InputObject, MaybeUndefined};

use super::{
    scalars::{Date, Decimal},
    types::*,
};
use crate::domain::{
    kinds,
    records::{ActorRecord, CoalitionRecord, CommitmentRecord, EventRecord, SignatureRecord, SourceRecord},
};

pub(crate) fn date(d: Option<Date>) -> Option<String> {
    d.map(|d| d.0.format("%Y-%m-%d").to_string())
}

fn decimal(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.0.to_string())
}

/// Sets a required field when the patch gives it.
fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}

/// Replaces the cited sources when the patch gives `sources` or `newSources`: the given list
/// (or the current one), then the new sources.
fn recite(target: &mut Vec<String>, sources: Option<Vec<String>>, new_sources: Option<&[SourceInput]>) {
    if sources.is_some() || new_sources.is_some() {
        let keep = sources.unwrap_or_else(|| std::mem::take(target));
        *target = cited(Some(keep), new_sources.unwrap_or_default());
    }
}

/// Applies a patch value: undefined keeps, null clears, a value sets.
fn patch<T, U>(target: &mut Option<U>, value: MaybeUndefined<T>, convert: impl FnOnce(T) -> U) {
    match value {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *target = None,
        MaybeUndefined::Value(v) => *target = Some(convert(v)),
    }
}

/// A new source, citable by its slug.
#[derive(InputObject, Clone)]
pub struct SourceInput {
    pub slug: String,
    /// An http(s) URL.
    pub url: String,
    pub publisher: String,
    pub title: String,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub published_on: Option<String>,
    /// ISO 639-1.
    pub language: Option<String>,
    /// The passage that supports the figure.
    pub quote: Option<String>,
}

impl From<SourceInput> for SourceRecord {
    fn from(s: SourceInput) -> Self {
        Self {
            slug: s.slug,
            url: s.url,
            publisher: s.publisher,
            title: s.title,
            published_on: s.published_on,
            language: s.language,
            quote: s.quote,
        }
    }
}

/// Changes to a source.
#[derive(InputObject, Default)]
pub struct SourcePatch {
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub title: Option<String>,
    pub published_on: MaybeUndefined<String>,
    pub language: MaybeUndefined<String>,
    pub quote: MaybeUndefined<String>,
}

/// The sources a record cites: existing slugs, then new sources created with it.
pub(crate) fn cited(sources: Option<Vec<String>>, new_sources: &[SourceInput]) -> Vec<String> {
    let mut all = sources.unwrap_or_default();
    all.extend(new_sources.iter().map(|s| s.slug.clone()));
    all
}

/// A new actor.
#[derive(InputObject)]
pub struct ActorInput {
    pub slug: String,
    pub name: String,
    pub kind: ActorKind,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub aliases: Option<Vec<String>>,
    /// Slugs of existing sources.
    pub sources: Option<Vec<String>>,
    /// Sources to create and cite.
    pub new_sources: Option<Vec<SourceInput>>,
}

/// Changes to an actor; omitted fields stay, null clears.
#[derive(InputObject, Default)]
pub struct ActorPatch {
    pub name: Option<String>,
    pub kind: Option<ActorKind>,
    pub country: MaybeUndefined<String>,
    pub aliases: Option<Vec<String>>,
    /// Replaces the cited sources.
    pub sources: Option<Vec<String>>,
    pub new_sources: Option<Vec<SourceInput>>,
}

/// A new event.
#[derive(InputObject)]
pub struct EventInput {
    pub slug: String,
    pub name: String,
    pub kind: EventKind,
    pub city: Option<String>,
    pub country: Option<String>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    /// The series the event is an edition of (a slug, e.g. `choose-france`).
    pub series: Option<String>,
    /// The French name (cite the source that gives it).
    pub name_fr: Option<String>,
    pub sources: Option<Vec<String>>,
    pub new_sources: Option<Vec<SourceInput>>,
}

/// Changes to an event.
#[derive(InputObject, Default)]
pub struct EventPatch {
    pub name: Option<String>,
    pub kind: Option<EventKind>,
    pub city: MaybeUndefined<String>,
    pub country: MaybeUndefined<String>,
    pub start_date: MaybeUndefined<Date>,
    pub end_date: MaybeUndefined<Date>,
    pub series: MaybeUndefined<String>,
    pub name_fr: MaybeUndefined<String>,
    pub sources: Option<Vec<String>>,
    pub new_sources: Option<Vec<SourceInput>>,
}

/// A new commitment. Its first status is recorded from `announcedOn` with its sources.
#[derive(InputObject)]
pub struct CommitmentInput {
    pub slug: String,
    pub title: String,
    /// Slug of the pledging actor.
    pub pledger: String,
    pub event: Option<String>,
    pub beneficiary: Option<String>,
    pub announced_on: Option<Date>,
    /// Omit for "up to X" (give only `amountHigh`) and for unquantified pledges.
    pub amount_low: Option<Decimal>,
    pub amount_high: Option<Decimal>,
    /// ISO 4217.
    pub currency: String,
    pub recipient_country: Option<String>,
    pub sector: Option<String>,
    pub horizon_year: Option<i32>,
    pub kind: CommitmentKind,
    /// Default ANNOUNCED.
    pub status: Option<CommitmentStatus>,
    pub amount_disputed: Option<bool>,
    /// Slug of the parent commitment (with `relation`).
    pub part_of: Option<String>,
    pub relation: Option<CommitmentRelation>,
    pub notes: Option<String>,
    pub sources: Option<Vec<String>>,
    pub new_sources: Option<Vec<SourceInput>>,
}

/// Changes to a commitment (status: `setCommitmentStatus`).
#[derive(InputObject, Default)]
pub struct CommitmentPatch {
    pub title: Option<String>,
    pub pledger: Option<String>,
    pub event: MaybeUndefined<String>,
    pub beneficiary: MaybeUndefined<String>,
    pub announced_on: MaybeUndefined<Date>,
    pub amount_low: MaybeUndefined<Decimal>,
    pub amount_high: MaybeUndefined<Decimal>,
    pub currency: Option<String>,
    pub recipient_country: MaybeUndefined<String>,
    pub sector: MaybeUndefined<String>,
    pub horizon_year: MaybeUndefined<i32>,
    pub kind: Option<CommitmentKind>,
    pub amount_disputed: Option<bool>,
    pub part_of: MaybeUndefined<String>,
    pub relation: MaybeUndefined<CommitmentRelation>,
    pub notes: MaybeUndefined<String>,
    pub sources: Option<Vec<String>>,
    pub new_sources: Option<Vec<SourceInput>>,
}

/// A new coalition or declaration.
#[derive(InputObject)]
pub struct CoalitionInput {
    pub slug: String,
    pub name: String,
    pub kind: CoalitionKind,
    pub launched_on: Option<Date>,
    pub event: Option<String>,
    /// The French name (cite the source that gives it).
    pub name_fr: Option<String>,
    pub sources: Option<Vec<String>>,
    pub new_sources: Option<Vec<SourceInput>>,
}

/// Changes to a coalition.
#[derive(InputObject, Default)]
pub struct CoalitionPatch {
    pub name: Option<String>,
    pub kind: Option<CoalitionKind>,
    pub launched_on: MaybeUndefined<Date>,
    pub event: MaybeUndefined<String>,
    pub name_fr: MaybeUndefined<String>,
    pub sources: Option<Vec<String>>,
    pub new_sources: Option<Vec<SourceInput>>,
}

/// An actor's stance on a coalition.
#[derive(InputObject)]
pub struct SignatureInput {
    pub coalition: String,
    pub actor: String,
    pub stance: Stance,
    pub initiator: Option<bool>,
    pub signed_on: Option<Date>,
    pub sources: Option<Vec<String>>,
    pub new_sources: Option<Vec<SourceInput>>,
    /// A caveat on what the row rests on (e.g. a collective line rather than a country-level
    /// source).
    pub notes: Option<String>,
}

/// The sources a create or a patch brings along, to be created with it.
pub(crate) fn new_sources(list: Option<&[SourceInput]>) -> Vec<SourceRecord> {
    list.unwrap_or_default().iter().cloned().map(Into::into).collect()
}

impl SourcePatch {
    /// The patched source.
    pub(crate) fn apply_to(self, r: &mut SourceRecord) {
        set(&mut r.url, self.url);
        set(&mut r.publisher, self.publisher);
        set(&mut r.title, self.title);
        patch(&mut r.published_on, self.published_on, |v| v);
        patch(&mut r.language, self.language, |v| v);
        patch(&mut r.quote, self.quote, |v| v);
    }
}

impl From<ActorInput> for ActorRecord {
    fn from(input: ActorInput) -> Self {
        let sources = cited(input.sources, input.new_sources.as_deref().unwrap_or_default());
        Self {
            slug: input.slug,
            name: input.name,
            kind: kinds::ActorKind::from(input.kind).as_str().to_owned(),
            country: input.country,
            aliases: input.aliases.unwrap_or_default(),
            sources,
        }
    }
}

impl ActorPatch {
    /// The patched actor.
    pub(crate) fn apply_to(self, r: &mut ActorRecord) {
        set(&mut r.name, self.name);
        if let Some(v) = self.kind {
            r.kind = kinds::ActorKind::from(v).as_str().to_owned();
        }
        patch(&mut r.country, self.country, |v| v);
        set(&mut r.aliases, self.aliases);
        recite(&mut r.sources, self.sources, self.new_sources.as_deref());
    }
}

impl From<EventInput> for EventRecord {
    fn from(input: EventInput) -> Self {
        let sources = cited(input.sources, input.new_sources.as_deref().unwrap_or_default());
        Self {
            slug: input.slug,
            name: input.name,
            kind: kinds::EventKind::from(input.kind).as_str().to_owned(),
            city: input.city,
            country: input.country,
            start_date: date(input.start_date),
            end_date: date(input.end_date),
            series: input.series,
            name_fr: input.name_fr,
            sources,
        }
    }
}

impl EventPatch {
    /// The patched event.
    pub(crate) fn apply_to(self, r: &mut EventRecord) {
        set(&mut r.name, self.name);
        if let Some(v) = self.kind {
            r.kind = kinds::EventKind::from(v).as_str().to_owned();
        }
        patch(&mut r.city, self.city, |v| v);
        patch(&mut r.country, self.country, |v| v);
        patch(&mut r.start_date, self.start_date, |d| d.0.format("%Y-%m-%d").to_string());
        patch(&mut r.end_date, self.end_date, |d| d.0.format("%Y-%m-%d").to_string());
        patch(&mut r.series, self.series, |v| v);
        patch(&mut r.name_fr, self.name_fr, |v| v);
        recite(&mut r.sources, self.sources, self.new_sources.as_deref());
    }
}

impl From<CommitmentInput> for CommitmentRecord {
    fn from(input: CommitmentInput) -> Self {
        let sources = cited(input.sources, input.new_sources.as_deref().unwrap_or_default());
        Self {
            slug: input.slug,
            title: input.title,
            pledger: input.pledger,
            event: input.event,
            beneficiary: input.beneficiary,
            announced_on: date(input.announced_on),
            amount_low: decimal(input.amount_low),
            amount_high: decimal(input.amount_high),
            currency: input.currency,
            recipient_country: input.recipient_country,
            sector: input.sector,
            horizon_year: input.horizon_year,
            kind: kinds::CommitmentKind::from(input.kind).as_str().to_owned(),
            status: kinds::CommitmentStatus::from(input.status.unwrap_or(CommitmentStatus::Announced))
                .as_str()
                .to_owned(),
            amount_disputed: input.amount_disputed.unwrap_or(false),
            parent: input.part_of,
            relation: input.relation.map(|r| kinds::CommitmentRelation::from(r).as_str().to_owned()),
            notes: input.notes,
            sources,
            status_history: vec![],
            retraction: None,
        }
    }
}

impl CommitmentPatch {
    /// The patched commitment.
    pub(crate) fn apply_to(self, r: &mut CommitmentRecord) {
        set(&mut r.title, self.title);
        set(&mut r.pledger, self.pledger);
        patch(&mut r.event, self.event, |v| v);
        patch(&mut r.beneficiary, self.beneficiary, |v| v);
        patch(&mut r.announced_on, self.announced_on, |d| d.0.format("%Y-%m-%d").to_string());
        patch(&mut r.amount_low, self.amount_low, |d| d.0.to_string());
        patch(&mut r.amount_high, self.amount_high, |d| d.0.to_string());
        set(&mut r.currency, self.currency);
        patch(&mut r.recipient_country, self.recipient_country, |v| v);
        patch(&mut r.sector, self.sector, |v| v);
        patch(&mut r.horizon_year, self.horizon_year, |v| v);
        if let Some(v) = self.kind {
            r.kind = kinds::CommitmentKind::from(v).as_str().to_owned();
        }
        set(&mut r.amount_disputed, self.amount_disputed);
        patch(&mut r.parent, self.part_of, |v| v);
        patch(&mut r.relation, self.relation, |v| kinds::CommitmentRelation::from(v).as_str().to_owned());
        patch(&mut r.notes, self.notes, |v| v);
        recite(&mut r.sources, self.sources, self.new_sources.as_deref());
    }
}

impl From<CoalitionInput> for CoalitionRecord {
    fn from(input: CoalitionInput) -> Self {
        let sources = cited(input.sources, input.new_sources.as_deref().unwrap_or_default());
        Self {
            slug: input.slug,
            name: input.name,
            kind: kinds::CoalitionKind::from(input.kind).as_str().to_owned(),
            launched_on: date(input.launched_on),
            event: input.event,
            name_fr: input.name_fr,
            sources,
        }
    }
}

impl CoalitionPatch {
    /// The patched coalition.
    pub(crate) fn apply_to(self, r: &mut CoalitionRecord) {
        set(&mut r.name, self.name);
        if let Some(v) = self.kind {
            r.kind = kinds::CoalitionKind::from(v).as_str().to_owned();
        }
        patch(&mut r.launched_on, self.launched_on, |d| d.0.format("%Y-%m-%d").to_string());
        patch(&mut r.event, self.event, |v| v);
        patch(&mut r.name_fr, self.name_fr, |v| v);
        recite(&mut r.sources, self.sources, self.new_sources.as_deref());
    }
}

impl From<SignatureInput> for SignatureRecord {
    fn from(input: SignatureInput) -> Self {
        let sources = cited(input.sources, input.new_sources.as_deref().unwrap_or_default());
        Self {
            coalition: input.coalition,
            actor: input.actor,
            stance: kinds::Stance::from(input.stance).as_str().to_owned(),
            initiator: input.initiator.unwrap_or(false),
            signed_on: date(input.signed_on),
            sources,
            notes: input.notes,
        }
    }
}
