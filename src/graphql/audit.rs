//! The audit log and the tokens as the API shows them: `history` (a token's only to ADMIN)
//! and `tokens` (ADMIN), never a secret.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{ContextExt, mutation::authorize};
use crate::{
    auth::Role,
    domain::FieldError,
    error::{ApiError, ApiResultExt},
    storage::audit::Subject,
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
