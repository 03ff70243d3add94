//! The GraphQL API: schema, types and resolvers. Resolvers stay thin: read the context,
//! call storage or domain, convert, classify errors. Nothing here touches HTTP types.

pub mod audit;
pub mod edits;
pub mod guards;
pub mod inputs;
pub mod loaders;
pub mod mutation;
pub mod node;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod totals;
pub mod types;

use async_graphql::{Context, Schema};

use crate::{
    error::{ApiError, ApiResultExt},
    storage::Db,
};
use loaders::Loaders;

/// The root query.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(
    query::CommitmentQuery,
    query::DirectoryQuery,
    query::SearchQuery,
    totals::TotalsQueryRoot,
    audit::AuditQuery,
    node::NodeQuery,
);

/// The pledgewatch schema.
pub type AppSchema = Schema<Query, mutation::Mutation, subscription::Subscription>;

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

/// The cost model: what a field adds to a query's cost (async-graphql's complexity),
/// refused with `QUERY_TOO_COSTLY` above [`ApiLimits::max_complexity`] before anything runs.
/// A field costs 1 plus what it selects; the fields that scan many rows cost more.
pub mod cost {
    /// `totals` and `compareEvents`: a GROUP BY over every counted amount.
    pub const TOTALS: usize = 100;
    /// `foundation`: a total over one family.
    pub const FOUNDATION: usize = 50;
    /// `search`: a scan of the folded names and titles.
    pub const SEARCH: usize = 20;
    /// `totalCount`: a COUNT over every match.
    pub const COUNT: usize = 10;
    /// Rows a page may hold for its selection to count once; a page of `first` rows counts
    /// its selection once per [`ROWS_PER_UNIT`] rows (at least once).
    pub const ROWS_PER_UNIT: usize = 50;

    /// What a page of `first` rows multiplies its selection by.
    pub fn pages(first: Option<i32>) -> usize {
        let rows = usize::try_from(first.unwrap_or(50)).unwrap_or(0);
        rows.div_ceil(ROWS_PER_UNIT).max(1)
    }
}

/// Most directives on one field.
pub const MAX_DIRECTIVES_PER_FIELD: usize = 10;

/// Builds the schema. Without a database it can still be printed (`export-schema`).
pub fn build_schema(db: Option<Db>, limits: ApiLimits) -> AppSchema {
    let mut builder = Schema::build(Query::default(), mutation::Mutation, subscription::Subscription)
        .data(limits)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_directives(MAX_DIRECTIVES_PER_FIELD)
        .extension(guards::Guards { introspection: limits.introspection });
    if !limits.introspection {
        // "Did you mean …" would name the fields that introspection hides.
        builder = builder.disable_introspection().disable_suggestions();
    }
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    // With `@specifiedBy`, as the live schema reports it (code generators read it).
    build_schema(None, ApiLimits::default())
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
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

/// The data version a `knownAt` moment reads (`None`: now), or why it cannot be read: the
/// moment of every transaction-time read (totals, records, counts).
pub(crate) async fn known_version(
    db: &crate::storage::Db,
    known_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<i64>, ApiError> {
    let Some(at) = known_at else { return Ok(None) };
    match db.version_known_at(at).await.map_err(crate::storage::StorageError::from).api()? {
        Ok(version) => Ok(Some(version)),
        Err(first) => Err(crate::domain::FieldError::new(
            "knownAt",
            match first {
                Some(first) => {
                    format!("the history of figures starts at {}: nothing earlier is known", first.to_rfc3339())
                }
                None => "no history of figures is kept yet".to_owned(),
            },
        )
        .into()),
    }
}
