//! The audit log and the tokens as the API shows them: `history` (a token's only to ADMIN)
//! and `tokens` (ADMIN), never a secret.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{ContextExt, mutation::authorize};
use super::{inputs::window, types::PageInfo};
use crate::{
    auth::Role,
    domain::{FieldError, changes},
    error::{ApiError, ApiResultExt},
    storage::audit::{ChangesFilter, Subject},
};

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
#[graphql(remote = "Subject")]
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

/// One field a write changed, before and after (rendered as text).
#[derive(SimpleObject)]
pub struct FieldChange {
    /// The record's field, as in the import format and the CSV columns (`amount_high`).
    pub field: String,
    /// Its value before (null: none).
    pub before: Option<String>,
    /// Its value after (null: none).
    pub after: Option<String>,
    /// For a list (sources, status history): the elements added.
    pub added: Vec<String>,
    /// For a list: the elements removed.
    pub removed: Vec<String>,
}

/// One audited write: who, when, what, and what changed, in words (in `history` and the
/// changes feed).
pub struct AuditEntry(pub entity::audit_entry::Model);

impl AuditEntry {
    fn json(raw: &Option<String>) -> Option<serde_json::Value> {
        changes::record(raw.as_deref())
    }
}

#[Object]
impl AuditEntry {
    /// When it was written.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// Who wrote it: the token name (`reference` for the shipped data).
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// CREATE, UPDATE, SET_STATUS, RETRACT, DELETE, REVOKE or IMPORT.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of record.
    async fn entity(&self) -> &str {
        &self.0.entity_kind
    }
    /// The record's slug (`coalition/actor` for a signature; the file for an import).
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// What changed, in one line: "commitment apollo-5bn updated: amount_high 5000000000 →
    /// 6000000000; sources +lemonde-2025-03".
    async fn summary(&self) -> String {
        let (before, after) = (Self::json(&self.0.before), Self::json(&self.0.after));
        changes::summary(&self.0.action, &self.0.entity_kind, &self.0.slug, before.as_ref(), after.as_ref())
    }
    /// Every field that differs, in alphabetical order.
    async fn fields(&self) -> Vec<FieldChange> {
        let (before, after) = (Self::json(&self.0.before), Self::json(&self.0.after));
        changes::field_changes(before.as_ref(), after.as_ref())
            .into_iter()
            .map(|c| FieldChange {
                field: c.field,
                before: c.before,
                after: c.after,
                added: c.added,
                removed: c.removed,
            })
            .collect()
    }
    /// The record before, in the import format (null for a creation).
    async fn before(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        Self::json(&self.0.before).map(async_graphql::Json)
    }
    /// The record after (null for a deletion).
    async fn after(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        Self::json(&self.0.after).map(async_graphql::Json)
    }
}

/// A change and its cursor.
#[derive(SimpleObject)]
pub struct ChangeEdge {
    /// The change.
    pub node: AuditEntry,
    /// Pass as `after` to continue after this change.
    pub cursor: String,
}

/// A page of the changes feed, newest first.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ChangeConnection {
    /// The changes with their cursors.
    pub edges: Vec<ChangeEdge>,
    /// Where this page stands.
    pub page_info: PageInfo,
}

#[async_graphql::ComplexObject]
impl ChangeConnection {
    /// The changes alone.
    async fn nodes(&self) -> Vec<&AuditEntry> {
        self.edges.iter().map(|e| &e.node).collect()
    }
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

    /// Every write across all records, newest first: created, updated, status set,
    /// retracted, deleted, signatures and imports, each with who, when and what changed.
    /// Tokens are listed only to ADMIN tokens, and only when asked for (`entities: [TOKEN]`).
    /// The same feed is served as Atom at `/changes.atom`.
    #[allow(clippy::too_many_arguments)]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Written at or after this moment.")] since: Option<DateTime<Utc>>,
        #[graphql(desc = "Written before this moment.")] until: Option<DateTime<Utc>>,
        #[graphql(desc = "Only these kinds of record (default: all but tokens).")] entities: Option<Vec<AuditedEntity>>,
        #[graphql(desc = "Only this event and the commitments made at it.")] event: Option<String>,
        #[graphql(desc = "Only this coalition and its signatures.")] coalition: Option<String>,
        #[graphql(desc = "Most changes (default 50, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the page before.")] after: Option<String>,
        #[graphql(desc = "The changes just newer than `before` (or the oldest): paging backwards.")] last: Option<i32>,
        #[graphql(desc = "The `startCursor` of the page after.")] before: Option<String>,
    ) -> Result<ChangeConnection, ApiError> {
        let subjects: Vec<Subject> = entities.unwrap_or_default().into_iter().map(Into::into).collect();
        if subjects.contains(&Subject::Token) {
            authorize(ctx, Role::Admin)?;
        }
        let window = window(first, after.as_deref(), last, before.as_deref(), (50, 500))?;
        if let (Some(since), Some(until)) = (since, until)
            && until < since
        {
            return Err(FieldError::new("until", "is before since").into());
        }
        let filter = ChangesFilter { since, until, subjects, event, coalition };
        let page = ctx.db()?.changes(&filter, window).await.api()?;
        let page_info = PageInfo::of(&page);
        let edges = page.rows.into_iter().map(|(row, cursor)| ChangeEdge { node: AuditEntry(row), cursor }).collect();
        Ok(ChangeConnection { edges, page_info })
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
