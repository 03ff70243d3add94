//! Error policy.
//!
//! - `domain` returns [`FieldError`]s: a field and what is wrong with it.
//! - `storage` returns `StorageError` (thiserror): invalid input or a database failure.
//! - `anyhow` only at the edges (startup, CLI), with context.
//! - The GraphQL layer answers one error type, [`ApiError`], whose variants map to
//!   `extensions.code`: `BAD_USER_INPUT` (with `extensions.field`), `NOT_FOUND`,
//!   `NOT_FOUND`, `CONFLICT`, `UNAUTHENTICATED`, `FORBIDDEN`, `INTERNAL_SERVER_ERROR`. An internal error is logged with its cause and answered with a
//!   generic message: database text never reaches a client.

use async_graphql::ErrorExtensions;

use crate::{domain::FieldError, storage::StorageError};

/// The error every resolver answers. It deliberately has no `Display`, so that it can only
/// become a GraphQL error through the `From` below, with its code.
#[derive(Debug)]
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
    /// Something went wrong on our side; the cause is logged.
    Internal(String),
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
