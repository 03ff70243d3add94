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
//! - Every error a client sees, GraphQL or plain HTTP, carries one of the codes in [`code`];
//!   [`code::http_status`] is the one place that says which HTTP status a code gives when
//!   it decides a whole request.

use async_graphql::ErrorExtensions;

/// The error codes of `extensions.code`, and the HTTP status each gives a whole request.
pub mod code {
    use axum::http::StatusCode;

    /// Input breaks a rule; `extensions.field` names the field.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// What was asked for does not exist.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// The row changed, or exists already.
    pub const CONFLICT: &str = "CONFLICT";
    /// No valid token (none, malformed, unknown or revoked).
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// A valid token whose role is too low.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The database cannot be reached.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// Every database connection is in use: the server is busy, the database is fine.
    pub const SERVER_BUSY: &str = "SERVER_BUSY";
    /// Something failed on our side; the cause is logged.
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// The document is not GraphQL (or nests deeper than the parser's limit).
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The document does not fit the schema.
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The document nests selections, fragments or values deeper than allowed.
    pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
    /// The document costs more than the budget of one request.
    pub const QUERY_TOO_COSTLY: &str = "QUERY_TOO_COSTLY";
    /// Introspection is switched off.
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    /// The HTTP request is not a GraphQL request (not JSON, no query).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// The body is not `application/json`.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    /// A mutation sent with GET.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// The body is over the size limit.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// The request took longer than the timeout.
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    /// The client sent too many requests; see `Retry-After`.
    pub const RATE_LIMITED: &str = "RATE_LIMITED";

    /// The status of a request that this code decides: request-level codes, and the
    /// authentication and availability codes, which decide a request wherever they appear.
    /// `None` for the codes of field errors (they leave a 200 with partial data).
    pub fn http_status(code: &str) -> Option<StatusCode> {
        Some(match code {
            UNAUTHENTICATED => StatusCode::UNAUTHORIZED,
            FORBIDDEN => StatusCode::FORBIDDEN,
            SERVICE_UNAVAILABLE | SERVER_BUSY => StatusCode::SERVICE_UNAVAILABLE,
            RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
            GRAPHQL_PARSE_FAILED
            | GRAPHQL_VALIDATION_FAILED
            | QUERY_TOO_DEEP
            | QUERY_TOO_COSTLY
            | INTROSPECTION_DISABLED
            | BAD_REQUEST => StatusCode::BAD_REQUEST,
            UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            METHOD_NOT_ALLOWED => StatusCode::METHOD_NOT_ALLOWED,
            PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            REQUEST_TIMEOUT => StatusCode::REQUEST_TIMEOUT,
            INTERNAL_SERVER_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
            _ => return None,
        })
    }

    /// The message a client gets for an unreachable database or a busy server.
    pub const UNAVAILABLE_MESSAGE: &str = "the database is unreachable right now; retry shortly";
    /// The message a client gets when every connection is in use.
    pub const BUSY_MESSAGE: &str = "the server is busy (every database connection is in use); retry shortly";
}

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
    /// The database cannot be reached right now (down, restarting); the request may be
    /// retried.
    Unavailable(String),
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
            StorageError::Unavailable(cause) => Self::Unavailable(cause),
            StorageError::Db(db) => Self::Internal(db.to_string()),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::BadUserInput(field) => async_graphql::Error::new(field.to_string()).extend_with(|_, ext| {
                ext.set("code", code::BAD_USER_INPUT);
                ext.set("field", field.field.as_str());
            }),
            ApiError::NotFound(message) => coded(message, code::NOT_FOUND),
            ApiError::Conflict(message) => coded(message, code::CONFLICT),
            ApiError::Unauthenticated(message) => coded(message, code::UNAUTHENTICATED),
            ApiError::Forbidden(message) => coded(message, code::FORBIDDEN),
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                coded(code::UNAVAILABLE_MESSAGE.to_owned(), code::SERVICE_UNAVAILABLE)
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                coded("internal server error".to_owned(), code::INTERNAL_SERVER_ERROR)
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
