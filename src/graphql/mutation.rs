//! Mutations: every one authenticated (EDITOR, or ADMIN for tokens and deletions), validated
//! by the same rules as imports, checked against the version the editor read, and audited.

use async_graphql::{Context, Object, SimpleObject};

use super::{
    ContextExt,
    edits::{
        ActorInput, ActorPatch, CoalitionInput, CoalitionPatch, CommitmentInput, CommitmentPatch, EventInput,
        EventPatch, SignatureInput, SourceInput, SourcePatch, date, new_sources,
    },
    scalars::Date,
    types::*,
};
use crate::{
    auth::{Denied, Principal, Role, require},
    domain::{
        FieldError, kinds,
        records::{
            ActorRecord, CoalitionRecord, CommitmentRecord, EventRecord, RetractionRecord, SignatureRecord,
            StatusRecord,
        },
        status,
    },
    error::{ApiError, ApiResultExt},
    storage::{
        StorageError,
        audit::{Action, Subject},
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

/// A new API token: its secret is shown here once and never again.
#[derive(SimpleObject)]
pub struct CreatedToken {
    pub name: String,
    pub role: String,
    /// Send as `Authorization: Bearer <token>`. Only its hash is stored.
    pub token: String,
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
        .map(Commitment::now)
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
        let edit = Edit::create(who, Subject::Source, key.clone(), vec![]);
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
        let edit = Edit::change(who, Action::Update, Subject::Source, slug.clone(), expected_version, vec![]);
        run(ctx, edit, |before| {
            let Some(Record::Source(mut r)) = before else { return Err(wrong_kind()) };
            patch.apply_to(&mut r);
            Ok(Record::Source(r))
        })
        .await?;
        source_by_slug(ctx, &slug).await
    }

    /// Creates an actor (EDITOR).
    async fn create_actor(&self, ctx: &Context<'_>, input: ActorInput) -> Result<Actor, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let (key, fresh) = (input.slug.clone(), new_sources(input.new_sources.as_deref()));
        let record = ActorRecord::from(input);
        let edit = Edit::create(who, Subject::Actor, key.clone(), fresh);
        run(ctx, edit, |_| Ok(Record::Actor(record))).await?;
        actor_by_slug(ctx, &key).await
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
        let fresh = new_sources(patch.new_sources.as_deref());
        let edit = Edit::change(who, Action::Update, Subject::Actor, slug.clone(), expected_version, fresh);
        run(ctx, edit, |before| {
            let Some(Record::Actor(mut r)) = before else { return Err(wrong_kind()) };
            patch.apply_to(&mut r);
            Ok(Record::Actor(r))
        })
        .await?;
        actor_by_slug(ctx, &slug).await
    }

    /// Creates an event (EDITOR).
    async fn create_event(&self, ctx: &Context<'_>, input: EventInput) -> Result<Event, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let (key, fresh) = (input.slug.clone(), new_sources(input.new_sources.as_deref()));
        let record = EventRecord::from(input);
        let edit = Edit::create(who, Subject::Event, key.clone(), fresh);
        run(ctx, edit, |_| Ok(Record::Event(record))).await?;
        event_by_slug(ctx, &key).await
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
        let fresh = new_sources(patch.new_sources.as_deref());
        let edit = Edit::change(who, Action::Update, Subject::Event, slug.clone(), expected_version, fresh);
        run(ctx, edit, |before| {
            let Some(Record::Event(mut r)) = before else { return Err(wrong_kind()) };
            patch.apply_to(&mut r);
            Ok(Record::Event(r))
        })
        .await?;
        event_by_slug(ctx, &slug).await
    }

    /// Records a commitment (EDITOR): at least one source, codes, range, dates, parent and
    /// references all checked; totals include it at once.
    async fn create_commitment(&self, ctx: &Context<'_>, input: CommitmentInput) -> Result<Commitment, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let (key, fresh) = (input.slug.clone(), new_sources(input.new_sources.as_deref()));
        let record = CommitmentRecord::from(input);
        let edit = Edit::create(who, Subject::Commitment, key.clone(), fresh);
        run(ctx, edit, |_| Ok(Record::Commitment(Box::new(record)))).await?;
        load_commitment(ctx, &key).await
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
        let fresh = new_sources(patch.new_sources.as_deref());
        let edit = Edit::change(who, Action::Update, Subject::Commitment, slug.clone(), expected_version, fresh);
        run(ctx, edit, |before| {
            let Some(Record::Commitment(mut r)) = before else { return Err(wrong_kind()) };
            patch.apply_to(&mut r);
            Ok(Record::Commitment(r))
        })
        .await?;
        load_commitment(ctx, &slug).await
    }

    /// Appends a status to a commitment's history (EDITOR): delivered, stalled, withdrawn…
    /// The commitment's status becomes the latest by effective date (not necessarily this
    /// one). A correction (dated before a recorded change, or reopening a WITHDRAWN or
    /// DELIVERED commitment) needs a `note` saying why, and shows as a correction.
    #[allow(clippy::too_many_arguments)]
    async fn set_commitment_status(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
        status: CommitmentStatus,
        #[graphql(desc = "Day it took effect (default: today, the day it is recorded).")] effective_on: Option<Date>,
        #[graphql(desc = "Slug of the source that reports the change.")] source: String,
        #[graphql(desc = "Why: required for a correction.")] note: Option<String>,
    ) -> Result<Commitment, ApiError> {
        let who = authorize(ctx, Role::Editor)?;
        let edit = Edit::change(who, Action::SetStatus, Subject::Commitment, slug.clone(), expected_version, vec![]);
        run(ctx, edit, |before| {
            let Some(Record::Commitment(mut r)) = before else { return Err(wrong_kind()) };
            // Undated, a change would sort before every dated one and never become current:
            // it takes effect the day it is recorded.
            let today = chrono::Utc::now().date_naive();
            let effective_on = Some(effective_on.map_or(today, |d| d.0));
            if effective_on.is_some_and(|d| d > today) {
                return Err(FieldError::new("effectiveOn", "is in the future: record a status once it took effect"));
            }
            let next = kinds::CommitmentStatus::from(status);
            let record = StatusRecord {
                status: next.as_str().to_owned(),
                effective_on: effective_on.map(|d| d.format("%Y-%m-%d").to_string()),
                note,
                sources: vec![source],
            };
            let valid = record.validate()?;
            let mut changes = status::changes_of(&r.status_history)?;
            let change = status::Change { status: next, effective_on: valid.effective_on };
            status::check_append(&changes, change, valid.note.as_deref())?;
            r.status_history.push(record);
            // The current status is the latest by effective date, not the last written.
            changes.push(change);
            r.status = status::current(&changes).unwrap_or(next).as_str().to_owned();
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
        let edit = Edit::change(who, Action::Retract, Subject::Commitment, slug.clone(), expected_version, vec![]);
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
        let (key, fresh) = (input.slug.clone(), new_sources(input.new_sources.as_deref()));
        let record = CoalitionRecord::from(input);
        let edit = Edit::create(who, Subject::Coalition, key.clone(), fresh);
        run(ctx, edit, |_| Ok(Record::Coalition(record))).await?;
        coalition_by_slug(ctx, &key).await
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
        let fresh = new_sources(patch.new_sources.as_deref());
        let edit = Edit::change(who, Action::Update, Subject::Coalition, slug.clone(), expected_version, fresh);
        run(ctx, edit, |before| {
            let Some(Record::Coalition(mut r)) = before else { return Err(wrong_kind()) };
            patch.apply_to(&mut r);
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
        let fresh = new_sources(input.new_sources.as_deref());
        let record = SignatureRecord::from(input);
        let action = if expected_version.is_some() { Action::Update } else { Action::Create };
        let edit =
            Edit { who, action, kind: Subject::Signature, key: key.clone(), expected_version, new_sources: fresh };
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
