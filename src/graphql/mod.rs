//! The GraphQL API: schema, types and resolvers. Resolvers stay thin: read the context,
//! call storage or domain, convert, classify errors. Nothing here touches HTTP types.

pub mod loaders;
pub mod query;
pub mod scalars;
pub mod totals;
pub mod types;

use async_graphql::{Context, EmptyMutation, EmptySubscription, Schema};

use crate::{error::ApiError, storage::Db};
use loaders::Loaders;

/// The pledgewatch schema.
pub type AppSchema = Schema<query::Query, EmptyMutation, EmptySubscription>;

/// Limits that the API enforces, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    /// Rows per page when `first` is not given.
    pub default_page_size: u32,
    /// Most rows per page; more is refused with `BAD_USER_INPUT`.
    pub max_page_size: u32,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self { default_page_size: 50, max_page_size: 500 }
    }
}

/// Builds the schema. Without a database it can still be printed (`export-schema`).
pub fn build_schema(db: Option<Db>, limits: ApiLimits) -> AppSchema {
    let mut builder = Schema::build(query::Query::default(), EmptyMutation, EmptySubscription).data(limits);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, ApiLimits::default()).sdl()
}

/// Typed access to what resolvers need from the context.
pub trait ContextExt {
    /// The database.
    fn db(&self) -> Result<&Db, ApiError>;
    /// This request's DataLoaders.
    fn loaders(&self) -> Result<&Loaders, ApiError>;
    /// The API limits.
    fn limits(&self) -> ApiLimits;
}

impl ContextExt for Context<'_> {
    fn db(&self) -> Result<&Db, ApiError> {
        self.data::<Db>().map_err(|_| ApiError::Internal("no database in the schema data".into()))
    }

    fn loaders(&self) -> Result<&Loaders, ApiError> {
        self.data::<Loaders>().map_err(|_| ApiError::Internal("no loaders in the request data".into()))
    }

    fn limits(&self) -> ApiLimits {
        self.data::<ApiLimits>().copied().unwrap_or_default()
    }
}
