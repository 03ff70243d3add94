//! The GraphQL API: schema, types and resolvers. Resolvers stay thin: read the context,
//! call storage or domain, convert, classify errors. Nothing here touches HTTP types.

pub mod guards;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod totals;
pub mod types;

use async_graphql::{Context, Schema};

use crate::{error::ApiError, storage::Db};
use loaders::Loaders;

/// The pledgewatch schema.
pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Limits that the API enforces, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    /// Rows per page when `first` is not given.
    pub default_page_size: u32,
    /// Most rows per page; more is refused with `BAD_USER_INPUT`.
    pub max_page_size: u32,
    /// Deepest nesting of a query; deeper is refused before it runs.
    pub max_depth: usize,
    /// Most fields a query may select (its complexity); more is refused before it runs.
    pub max_complexity: usize,
    /// Whether `__schema`/`__type` introspection is answered.
    pub introspection: bool,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self { default_page_size: 50, max_page_size: 500, max_depth: 15, max_complexity: 2_000, introspection: true }
    }
}

/// Builds the schema. Without a database it can still be printed (`export-schema`).
pub fn build_schema(db: Option<Db>, limits: ApiLimits) -> AppSchema {
    let mut builder = Schema::build(query::Query::default(), mutation::Mutation, subscription::Subscription)
        .data(limits)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(guards::Guards { introspection: limits.introspection });
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
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
