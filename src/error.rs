//! Error policy.
//!
//! - `domain` returns [`FieldError`]s: a field and what is wrong with it.
//! - `storage` returns `StorageError` (thiserror): invalid input or a database failure.
//! - `anyhow` only at the edges (startup, CLI), with context.
//! - The GraphQL layer answers one error type, [`ApiError`], whose variants map to
//!   `extensions.code`: `BAD_USER_INPUT` (with `extensions.field`), `NOT_FOUND`,
//!   `CONFLICT`, `UNAUTHENTICATED`, `FORBIDDEN`, `SERVICE_UNAVAILABLE` (HTTP 503),
//!   `INTERNAL_SERVER_ERROR`. An internal error is logged with its cause and answered with a
//!   generic message: database text never reaches a client.

use async_graphql::ErrorExtensions;

use crate::{domain::FieldError, storage::StorageError};

/// The error every resolver answers. It deliberately has no `Display`, so that it can only
/// become a GraphQL error through the `From` below, with its code.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// Input breaks a rule; nothing was changed.
    BadUserInput(FieldError),
    /// What was asked for does not exist.
    NotFound(String),
    /// The row changed since the caller read it (optimistic concurrency).
    Conflict(String),
    /// No valid token.
    Unauthenticated(String),
    /// A valid token whose role is too low.
    Forbidden(String),
    /// The database cannot be reached right now (down, restarting, pool exhausted); the
    /// request may be retried.
    Unavailable(String),
    /// Something went wrong on our side; the cause is logged.
    Internal(String),
}

/// Whether a database error means "unreachable now" rather than "this request is wrong":
/// no connection, a broken one, a pool timeout, or a server shutting down or starting up
/// (SQLSTATE classes 08 and 57P).
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let inner = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match inner.as_ref() {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        Self::BadUserInput(err)
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Invalid(field) => Self::BadUserInput(field),
            StorageError::NotFound(what) => Self::NotFound(what),
            StorageError::Conflict(what) => Self::Conflict(what),
            StorageError::Db(db) if is_unavailable(&db) => Self::Unavailable(db.to_string()),
            StorageError::Db(db) => Self::Internal(db.to_string()),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::BadUserInput(field) => async_graphql::Error::new(field.to_string()).extend_with(|_, ext| {
                ext.set("code", "BAD_USER_INPUT");
                ext.set("field", field.field.as_str());
            }),
            ApiError::NotFound(message) => coded(message, "NOT_FOUND"),
            ApiError::Conflict(message) => coded(message, "CONFLICT"),
            ApiError::Unauthenticated(message) => coded(message, "UNAUTHENTICATED"),
            ApiError::Forbidden(message) => coded(message, "FORBIDDEN"),
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                coded("the database is unreachable right now; retry shortly".to_owned(), "SERVICE_UNAVAILABLE")
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                async_graphql::Error::new("internal server error")
                    .extend_with(|_, ext| ext.set("code", "INTERNAL_SERVER_ERROR"))
            }
        }
    }
}

fn coded(message: String, code: &'static str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

/// Turns storage results into API results at call sites: `db.x().await.api()?`.
pub trait ApiResultExt<T> {
    /// Classifies the error.
    fn api(self) -> Result<T, ApiError>;
}

impl<T, E: Into<ApiError>> ApiResultExt<T> for Result<T, E> {
    fn api(self) -> Result<T, ApiError> {
        self.map_err(Into::into)
    }
}
