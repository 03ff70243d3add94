//! Mutations: every one authenticated (EDITOR, or ADMIN for tokens and deletions), validated
//! by the same rules as imports, checked against the version the editor read, and audited.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    ContextExt,
    scalars::{Date, Decimal},
    types::*,
};
use crate::{
    auth::{Denied, Principal, Role, require},
    domain::{
        FieldError, kinds,
        records::{
            ActorRecord, CoalitionRecord, CommitmentRecord, EventRecord, RetractionRecord, SignatureRecord,
            SourceRecord, StatusRecord,
        },
    },
    error::{ApiError, ApiResultExt},
    storage::{
        StorageError,
        audit::{Action, Kind},
        write::{Current, Edit, Record, signature_key},
    },
};

/// Checks the caller's role; returns the name the audit log records.
pub(crate) fn authorize(ctx: &Context<'_>, needed: Role) -> Result<String, ApiError> {
    let principal = ctx.data::<Principal>().cloned().unwrap_or(Principal::Anonymous);
    match require(&principal, needed) {
        Ok(()) => Ok(principal.name().to_owned()),
        Err(Denied::Unauthenticated) => {
            Err(ApiError::Unauthenticated(format!("this needs a bearer token with role {needed} or above")))
        }
        Err(Denied::Forbidden) => Err(ApiError::Forbidden(format!(
            "this needs role {needed}; the token {:?} has {}",
            principal.name(),
            principal.role().map_or("no role", Role::as_str)
        ))),
    }
}

fn date(d: Option<Date>) -> Option<String> {
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
fn cited(sources: Option<Vec<String>>, new_sources: &[SourceInput]) -> Vec<String> {
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
}

/// A new API token: its secret is shown here once and never again.
#[derive(SimpleObject)]
pub struct CreatedToken {
    pub name: String,
    pub role: String,
    /// Send as `Authorization: Bearer <token>`. Only its hash is stored.
    pub token: String,
}

/// An API token (never its secret).
#[derive(SimpleObject)]
pub struct ApiToken {
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What the audit log and `history` name.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Kind")]
pub enum AuditedEntity {
    Source,
    Actor,
    Event,
    Commitment,
    Coalition,
    Signature,
    Token,
    /// A bulk import (slug: the file or directory imported).
    Import,
}

/// One audited write.
pub struct AuditEntry(pub entity::audit_entry::Model);

#[Object]
impl AuditEntry {
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Who: the token name.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// CREATE, UPDATE, SET_STATUS, RETRACT, DELETE or REVOKE.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of record.
    async fn entity(&self) -> &str {
        &self.0.entity_kind
    }
    /// Its slug (`coalition/actor` for a signature).
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The record before, in the import format (null for a creation).
    async fn before(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.before.as_deref().and_then(|b| serde_json::from_str(b).ok()).map(async_graphql::Json)
    }
    /// The record after (null for a deletion).
    async fn after(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.after.as_deref().and_then(|a| serde_json::from_str(a).ok()).map(async_graphql::Json)
    }
}

fn new_sources(list: Option<Vec<SourceInput>>) -> Vec<SourceRecord> {
    list.unwrap_or_default().into_iter().map(Into::into).collect()
}

fn wrong_kind() -> FieldError {
    FieldError::new("slug", "names a record of another kind")
}

/// The argument or input field a record field was set from, so that an error names what
/// the client sent: `parent` is `partOf`; the appended status and the retraction come
/// from the mutation's own arguments.
fn api_field(action: Action, field: &str) -> String {
    let argument = |rest: &str| match rest.split_once('[') {
        Some(("sources", _)) => "source".to_owned(),
        _ => rest.to_owned(),
    };
    if let Some(rest) = field.strip_prefix("parent") {
        return format!("partOf{rest}");
    }
    if action == Action::SetStatus
        && let Some((_, rest)) = field.strip_prefix("statusHistory[").and_then(|f| f.split_once("]."))
    {
        return argument(rest);
    }
    if action == Action::Retract
        && let Some(rest) = field.strip_prefix("retraction.")
    {
        return argument(rest);
    }
    field.to_owned()
}

/// Runs an edit for `who`, then loads the written row.
async fn run(
    ctx: &Context<'_>,
    edit: Edit,
    change: impl FnOnce(Option<Record>) -> Result<Record, FieldError>,
) -> Result<Current, ApiError> {
    let action = edit.action;
    match ctx.db()?.edit(edit, change).await {
        Err(StorageError::Invalid(mut error)) => {
            error.field = api_field(action, &error.field);
            Err(ApiError::BadUserInput(error))
        }
        other => other.api(),
    }
}

async fn load_commitment(ctx: &Context<'_>, slug: &str) -> Result<Commitment, ApiError> {
    ctx.db()?
        .commitment_by_slug(slug)
        .await
        .api()?
        .map(Commitment)
        .ok_or_else(|| ApiError::Internal(format!("commitment {slug} vanished after its write")))
}

/// The root mutation.
#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates a source (EDITOR).
    async fn create_source(&self, ctx: &Context<'_>, input: SourceInput) -> Result<Source, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let key = input.slug.clone();
        let edit = Edit::create(who, Kind::Source, key.clone(), vec![]);
        run(ctx, edit, |_| Ok(Record::Source(input.into()))).await?;
        source_by_slug(ctx, &key).await
    }

    /// Corrects a source (EDITOR) at the version read.
    async fn update_source(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
        patch: SourcePatch,
    ) -> Result<Source, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let edit = Edit::change(who, Action::Update, Kind::Source, slug.clone(), expected_version, vec![]);
        run(ctx, edit, |before| {
            let Some(Record::Source(mut r)) = before else { return Err(wrong_kind()) };
            set(&mut r.url, patch.url);
            set(&mut r.publisher, patch.publisher);
            set(&mut r.title, patch.title);
            self::patch(&mut r.published_on, patch.published_on, |v| v);
            self::patch(&mut r.language, patch.language, |v| v);
            self::patch(&mut r.quote, patch.quote, |v| v);
            Ok(Record::Source(r))
        })
        .await?;
        source_by_slug(ctx, &slug).await
    }

    /// Creates an actor (EDITOR).
    async fn create_actor(&self, ctx: &Context<'_>, input: ActorInput) -> Result<Actor, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let fresh = new_sources(input.new_sources.clone());
        let record = ActorRecord {
            slug: input.slug.clone(),
            name: input.name,
            kind: kinds::ActorKind::from(input.kind).as_str().to_owned(),
            country: input.country,
            aliases: input.aliases.unwrap_or_default(),
            sources: cited(input.sources, input.new_sources.as_deref().unwrap_or_default()),
        };
        let edit = Edit::create(who, Kind::Actor, input.slug.clone(), fresh);
        run(ctx, edit, |_| Ok(Record::Actor(record))).await?;
        actor_by_slug(ctx, &input.slug).await
    }

    /// Updates an actor (EDITOR) at the version read; a stale version is a CONFLICT.
    async fn update_actor(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
        patch: ActorPatch,
    ) -> Result<Actor, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let fresh = new_sources(patch.new_sources.clone());
        let edit = Edit::change(who, Action::Update, Kind::Actor, slug.clone(), expected_version, fresh);
        run(ctx, edit, |before| {
            let Some(Record::Actor(mut r)) = before else { return Err(wrong_kind()) };
            set(&mut r.name, patch.name);
            if let Some(v) = patch.kind {
                r.kind = kinds::ActorKind::from(v).as_str().to_owned();
            }
            self::patch(&mut r.country, patch.country, |v| v);
            set(&mut r.aliases, patch.aliases);
            recite(&mut r.sources, patch.sources, patch.new_sources.as_deref());
            Ok(Record::Actor(r))
        })
        .await?;
        actor_by_slug(ctx, &slug).await
    }

    /// Creates an event (EDITOR).
    async fn create_event(&self, ctx: &Context<'_>, input: EventInput) -> Result<Event, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let fresh = new_sources(input.new_sources.clone());
        let record = EventRecord {
            slug: input.slug.clone(),
            name: input.name,
            kind: kinds::EventKind::from(input.kind).as_str().to_owned(),
            city: input.city,
            country: input.country,
            start_date: date(input.start_date),
            end_date: date(input.end_date),
            sources: cited(input.sources, input.new_sources.as_deref().unwrap_or_default()),
        };
        let edit = Edit::create(who, Kind::Event, input.slug.clone(), fresh);
        run(ctx, edit, |_| Ok(Record::Event(record))).await?;
        event_by_slug(ctx, &input.slug).await
    }

    /// Updates an event (EDITOR) at the version read.
    async fn update_event(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
        patch: EventPatch,
    ) -> Result<Event, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let fresh = new_sources(patch.new_sources.clone());
        let edit = Edit::change(who, Action::Update, Kind::Event, slug.clone(), expected_version, fresh);
        run(ctx, edit, |before| {
            let Some(Record::Event(mut r)) = before else { return Err(wrong_kind()) };
            set(&mut r.name, patch.name);
            if let Some(v) = patch.kind {
                r.kind = kinds::EventKind::from(v).as_str().to_owned();
            }
            self::patch(&mut r.city, patch.city, |v| v);
            self::patch(&mut r.country, patch.country, |v| v);
            self::patch(&mut r.start_date, patch.start_date, |d| d.0.format("%Y-%m-%d").to_string());
            self::patch(&mut r.end_date, patch.end_date, |d| d.0.format("%Y-%m-%d").to_string());
            recite(&mut r.sources, patch.sources, patch.new_sources.as_deref());
            Ok(Record::Event(r))
        })
        .await?;
        event_by_slug(ctx, &slug).await
    }

    /// Records a commitment (EDITOR): at least one source, codes, range, dates, parent and
    /// references all checked; totals include it at once.
    async fn create_commitment(&self, ctx: &Context<'_>, input: CommitmentInput) -> Result<Commitment, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let fresh = new_sources(input.new_sources.clone());
        let record = CommitmentRecord {
            slug: input.slug.clone(),
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
            sources: cited(input.sources, input.new_sources.as_deref().unwrap_or_default()),
            status_history: vec![],
            retraction: None,
        };
        let edit = Edit::create(who, Kind::Commitment, input.slug.clone(), fresh);
        run(ctx, edit, |_| Ok(Record::Commitment(Box::new(record)))).await?;
        load_commitment(ctx, &input.slug).await
    }

    /// Updates a commitment (EDITOR) at the version read; a stale version is a CONFLICT.
    async fn update_commitment(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
        patch: CommitmentPatch,
    ) -> Result<Commitment, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let fresh = new_sources(patch.new_sources.clone());
        let edit = Edit::change(who, Action::Update, Kind::Commitment, slug.clone(), expected_version, fresh);
        run(ctx, edit, |before| {
            let Some(Record::Commitment(mut r)) = before else { return Err(wrong_kind()) };
            set(&mut r.title, patch.title);
            set(&mut r.pledger, patch.pledger);
            self::patch(&mut r.event, patch.event, |v| v);
            self::patch(&mut r.beneficiary, patch.beneficiary, |v| v);
            self::patch(&mut r.announced_on, patch.announced_on, |d| d.0.format("%Y-%m-%d").to_string());
            self::patch(&mut r.amount_low, patch.amount_low, |d| d.0.to_string());
            self::patch(&mut r.amount_high, patch.amount_high, |d| d.0.to_string());
            set(&mut r.currency, patch.currency);
            self::patch(&mut r.recipient_country, patch.recipient_country, |v| v);
            self::patch(&mut r.sector, patch.sector, |v| v);
            self::patch(&mut r.horizon_year, patch.horizon_year, |v| v);
            if let Some(v) = patch.kind {
                r.kind = kinds::CommitmentKind::from(v).as_str().to_owned();
            }
            set(&mut r.amount_disputed, patch.amount_disputed);
            self::patch(&mut r.parent, patch.part_of, |v| v);
            self::patch(&mut r.relation, patch.relation, |v| kinds::CommitmentRelation::from(v).as_str().to_owned());
            self::patch(&mut r.notes, patch.notes, |v| v);
            recite(&mut r.sources, patch.sources, patch.new_sources.as_deref());
            Ok(Record::Commitment(r))
        })
        .await?;
        load_commitment(ctx, &slug).await
    }

    /// Appends a status to a commitment's history (EDITOR): delivered, stalled, withdrawn…
    #[allow(clippy::too_many_arguments)]
    async fn set_commitment_status(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
        status: CommitmentStatus,
        effective_on: Option<Date>,
        #[graphql(desc = "Slug of the source that reports the change.")] source: String,
        note: Option<String>,
    ) -> Result<Commitment, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let edit = Edit::change(who, Action::SetStatus, Kind::Commitment, slug.clone(), expected_version, vec![]);
        run(ctx, edit, |before| {
            let Some(Record::Commitment(mut r)) = before else { return Err(wrong_kind()) };
            let status = kinds::CommitmentStatus::from(status).as_str().to_owned();
            r.status_history.push(StatusRecord {
                status: status.clone(),
                effective_on: date(effective_on),
                note,
                sources: vec![source],
            });
            r.status = status;
            Ok(Record::Commitment(r))
        })
        .await?;
        load_commitment(ctx, &slug).await
    }

    /// Retracts a figure the tracker published in error (EDITOR): it is kept, shown as
    /// retracted, and left out of every total.
    async fn retract_commitment(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
        reason: String,
        #[graphql(desc = "Slug of the source that shows the figure was wrong.")] source: String,
        retracted_on: Option<Date>,
    ) -> Result<Commitment, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let edit = Edit::change(who, Action::Retract, Kind::Commitment, slug.clone(), expected_version, vec![]);
        run(ctx, edit, |before| {
            let Some(Record::Commitment(mut r)) = before else { return Err(wrong_kind()) };
            r.retraction = Some(RetractionRecord { reason, retracted_on: date(retracted_on), sources: vec![source] });
            Ok(Record::Commitment(r))
        })
        .await?;
        load_commitment(ctx, &slug).await
    }

    /// Deletes a commitment entered by mistake (ADMIN). The audit log keeps what it was.
    async fn delete_commitment(&self, ctx: &Context<'_>, slug: String, reason: String) -> Result<bool, ApiError> {
        let who = authorize(ctx, Role::Admin)?;
        if reason.trim().is_empty() {
            return Err(FieldError::new("reason", "must not be empty").into());
        }
        ctx.db()?.delete_commitment(&who, &slug, &reason).await.api()?;
        Ok(true)
    }

    /// Creates a coalition or declaration (EDITOR).
    async fn create_coalition(&self, ctx: &Context<'_>, input: CoalitionInput) -> Result<Coalition, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let fresh = new_sources(input.new_sources.clone());
        let record = CoalitionRecord {
            slug: input.slug.clone(),
            name: input.name,
            kind: kinds::CoalitionKind::from(input.kind).as_str().to_owned(),
            launched_on: date(input.launched_on),
            event: input.event,
            sources: cited(input.sources, input.new_sources.as_deref().unwrap_or_default()),
        };
        let edit = Edit::create(who, Kind::Coalition, input.slug.clone(), fresh);
        run(ctx, edit, |_| Ok(Record::Coalition(record))).await?;
        coalition_by_slug(ctx, &input.slug).await
    }

    /// Updates a coalition (EDITOR) at the version read.
    async fn update_coalition(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
        patch: CoalitionPatch,
    ) -> Result<Coalition, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let fresh = new_sources(patch.new_sources.clone());
        let edit = Edit::change(who, Action::Update, Kind::Coalition, slug.clone(), expected_version, fresh);
        run(ctx, edit, |before| {
            let Some(Record::Coalition(mut r)) = before else { return Err(wrong_kind()) };
            set(&mut r.name, patch.name);
            if let Some(v) = patch.kind {
                r.kind = kinds::CoalitionKind::from(v).as_str().to_owned();
            }
            self::patch(&mut r.launched_on, patch.launched_on, |d| d.0.format("%Y-%m-%d").to_string());
            self::patch(&mut r.event, patch.event, |v| v);
            recite(&mut r.sources, patch.sources, patch.new_sources.as_deref());
            Ok(Record::Coalition(r))
        })
        .await?;
        coalition_by_slug(ctx, &slug).await
    }

    /// Records an actor's stance on a coalition (EDITOR). Changing a recorded stance needs
    /// the version read (`expectedVersion`); without it an existing stance is refused.
    async fn set_signature(
        &self,
        ctx: &Context<'_>,
        input: SignatureInput,
        expected_version: Option<i32>,
    ) -> Result<Signature, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let key = signature_key(&input.coalition, &input.actor);
        let fresh = new_sources(input.new_sources.clone());
        let record = SignatureRecord {
            coalition: input.coalition,
            actor: input.actor,
            stance: kinds::Stance::from(input.stance).as_str().to_owned(),
            initiator: input.initiator.unwrap_or(false),
            signed_on: date(input.signed_on),
            sources: cited(input.sources, input.new_sources.as_deref().unwrap_or_default()),
        };
        let action = if expected_version.is_some() { Action::Update } else { Action::Create };
        let edit = Edit { who, action, kind: Kind::Signature, key: key.clone(), expected_version, new_sources: fresh };
        let written = run(ctx, edit, |_| Ok(Record::Signature(record))).await?;
        let model = ctx.db()?.signature_by_id(written.id).await.api()?;
        model.map(Signature).ok_or_else(|| ApiError::Internal(format!("signature {key} vanished after its write")))
    }

    /// Creates an API token (ADMIN); its secret is in the answer, once.
    async fn create_token(&self, ctx: &Context<'_>, name: String, role: TokenRole) -> Result<CreatedToken, ApiError> {
        let who = authorize(ctx, Role::Admin)?;
        let role: Role = role.into();
        let token = ctx.db()?.create_token(&who, &name, role).await.api()?;
        Ok(CreatedToken { name, role: role.as_str().to_owned(), token })
    }

    /// Revokes an API token (ADMIN): it stops working at once.
    async fn revoke_token(&self, ctx: &Context<'_>, name: String) -> Result<bool, ApiError> {
        let who = authorize(ctx, Role::Admin)?;
        ctx.db()?.revoke_token(&who, &name).await.api()?;
        Ok(true)
    }
}

/// A token's role.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Role")]
pub enum TokenRole {
    Reader,
    Editor,
    Admin,
}

async fn source_by_slug(ctx: &Context<'_>, slug: &str) -> Result<Source, ApiError> {
    let found = ctx.db()?.source_by_slug(slug).await.api()?;
    found.map(Source).ok_or_else(|| ApiError::Internal(format!("source {slug} vanished after its write")))
}

async fn actor_by_slug(ctx: &Context<'_>, slug: &str) -> Result<Actor, ApiError> {
    let found = ctx.db()?.actor_by_slug(slug).await.api()?;
    found.map(Actor).ok_or_else(|| ApiError::Internal(format!("actor {slug} vanished after its write")))
}

async fn event_by_slug(ctx: &Context<'_>, slug: &str) -> Result<Event, ApiError> {
    let found = ctx.db()?.event_by_slug(slug).await.api()?;
    found.map(Event).ok_or_else(|| ApiError::Internal(format!("event {slug} vanished after its write")))
}

async fn coalition_by_slug(ctx: &Context<'_>, slug: &str) -> Result<Coalition, ApiError> {
    let found = ctx.db()?.coalition_by_slug(slug).await.api()?;
    found.map(Coalition).ok_or_else(|| ApiError::Internal(format!("coalition {slug} vanished after its write")))
}

/// Audit and token queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Every audited change of one record, newest first (`coalition/actor` for a
    /// signature). A token's history is for ADMIN tokens only, like `tokens`.
    async fn history(
        &self,
        ctx: &Context<'_>,
        entity: AuditedEntity,
        slug: String,
        #[graphql(desc = "Most entries (default 100, at most 500).")] first: Option<i32>,
    ) -> Result<Vec<AuditEntry>, ApiError> {
        if entity == AuditedEntity::Token {
            authorize(ctx, Role::Admin)?;
        }
        let first = first.unwrap_or(100);
        if !(0..=500).contains(&first) {
            return Err(FieldError::new("first", "must be between 0 and 500").into());
        }
        let rows = ctx.db()?.history(entity.into(), &slug, first as u64).await.api()?;
        Ok(rows.into_iter().map(AuditEntry).collect())
    }

    /// The API tokens (ADMIN), never their secrets.
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<ApiToken>, ApiError> {
        authorize(ctx, Role::Admin)?;
        let rows = ctx.db()?.tokens().await.api()?;
        Ok(rows
            .into_iter()
            .map(|t| ApiToken { name: t.name, role: t.role, created_at: t.created_at, revoked_at: t.revoked_at })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_the_client_sent() {
        assert_eq!(api_field(Action::Create, "parent"), "partOf");
        assert_eq!(api_field(Action::Update, "amountLow"), "amountLow");
        assert_eq!(api_field(Action::SetStatus, "statusHistory[3].effectiveOn"), "effectiveOn");
        assert_eq!(api_field(Action::SetStatus, "statusHistory[3].sources[0]"), "source");
        assert_eq!(api_field(Action::Retract, "retraction.reason"), "reason");
        assert_eq!(api_field(Action::Retract, "retraction.sources[0]"), "source");
        // An import-format path of another action stays as it is.
        assert_eq!(api_field(Action::Update, "statusHistory[0].effectiveOn"), "statusHistory[0].effectiveOn");
    }
}
