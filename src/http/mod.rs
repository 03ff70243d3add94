//! The HTTP layer: axum routes for GraphQL over HTTP, GraphiQL and health. It hands request
//! data to the GraphQL layer; it holds no business logic.

use std::time::Duration;

use async_graphql::{
    ServerError,
    http::{GraphiQLSource, parse_query_string},
    parser::{parse_query, types::OperationType},
};
use async_graphql_axum::GraphQLRequest;
use axum::{
    Router,
    body::Body,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tower_http::timeout::TimeoutLayer;

use crate::{
    graphql::{AppSchema, loaders::Loaders},
    storage::Db,
};

/// The media type of GraphQL-over-HTTP responses.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The GraphQL schema (with the database as schema data).
    pub schema: AppSchema,
    /// The database.
    pub db: Db,
}

/// HTTP limits.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self { max_body_bytes: 256 * 1024, request_timeout: Duration::from_secs(30) }
    }
}

/// The router: `POST`/`GET /graphql` (GraphiQL for browsers), `GET /healthz`.
pub fn router(state: AppState, limits: HttpLimits) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// A malformed HTTP request (not JSON, not a GraphQL request): 400 with a GraphQL error body.
pub struct BadRequest(async_graphql::ParseRequestError);

impl From<async_graphql::ParseRequestError> for BadRequest {
    fn from(err: async_graphql::ParseRequestError) -> Self {
        Self(err)
    }
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        let status = match self.0 {
            async_graphql::ParseRequestError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        let message = match self.0 {
            async_graphql::ParseRequestError::PayloadTooLarge => "request body too large".to_owned(),
            other => format!("malformed GraphQL request: {other}"),
        };
        error_response(status, &message)
    }
}

fn error_response(status: StatusCode, message: &str) -> Response {
    let errors = vec![ServerError::new(message, None)];
    let body = serde_json::to_vec(&serde_json::json!({ "errors": errors })).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, GRAPHQL_RESPONSE_JSON)], body).into_response()
}

/// Whether the client asked for plain `application/json` (the legacy media type, always 200).
fn wants_legacy_json(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    accept.contains("application/json") && !accept.contains("application/graphql-response+json")
}

fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = parse_query(&request.query) else { return false };
    document.operations.iter().any(|(name, op)| {
        let selected = match (&request.operation_name, name) {
            (Some(wanted), Some(name)) => wanted.as_str() == name.as_str(),
            (Some(_), None) => false,
            (None, _) => true,
        };
        selected && op.node.ty == OperationType::Mutation
    })
}

async fn execute(state: &AppState, headers: &HeaderMap, request: async_graphql::Request) -> Response {
    let request = request.data(Loaders::new(&state.db));
    let response = state.schema.execute(request).await;
    let legacy = wants_legacy_json(headers);
    // A request error (parse or validation) has no data and errors without a path.
    let request_error = matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if request_error && !legacy { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let content_type = if legacy { "application/json" } else { GRAPHQL_RESPONSE_JSON };
    // A request error has no `data` entry at all (GraphQL-over-HTTP).
    let serialized = if request_error {
        serde_json::to_vec(&serde_json::json!({ "errors": response.errors }))
    } else {
        serde_json::to_vec(&response)
    };
    let body = match serialized {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(%err, "cannot serialize a GraphQL response");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
        }
    };
    let mut http = Response::new(Body::from(body));
    *http.status_mut() = status;
    http.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    http
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest<BadRequest>,
) -> Response {
    execute(&state, &headers, request.into_inner()).await
}

async fn graphql_get(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let query = uri.query().unwrap_or_default();
    let browser = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if browser && !query.split('&').any(|pair| pair.starts_with("query=")) {
        return Html(GraphiQLSource::build().endpoint("/graphql").title("pledgewatch GraphiQL").finish())
            .into_response();
    }
    let request = match parse_query_string(query) {
        Ok(request) => request,
        Err(err) => return BadRequest(err).into_response(),
    };
    if is_mutation(&request) {
        let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, "mutations are sent with POST");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &headers, request).await
}
