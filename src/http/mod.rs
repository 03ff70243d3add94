//! The HTTP layer: axum routes for GraphQL over HTTP, GraphiQL and health. It hands request
//! data to the GraphQL layer; it holds no business logic.

mod cache;
mod dashboard;
mod export;

use std::{sync::Arc, time::Duration};

use async_graphql::{
    ServerError,
    http::{GraphiQLSource, parse_query_string},
    parser::{parse_query, types::OperationType},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLWebSocket};
use axum::{
    Router,
    body::{Body, Bytes},
    extract::{State, ws::WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tower_governor::{GovernorError, GovernorLayer, governor::GovernorConfigBuilder, key_extractor::KeyExtractor};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
};

use crate::{
    auth::{Principal, Role, hash_token},
    graphql::{AppSchema, loaders::Loaders},
    metrics::Metrics,
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
    /// Whether reads need no token (set from [`HttpLimits`] by [`router`]).
    pub public_reads: bool,
    /// What `/metrics` reports.
    pub metrics: Metrics,
    /// Whole answers to anonymous read queries, until the next write (sized by
    /// [`HttpLimits::response_cache_entries`] in [`router`]).
    pub responses: Arc<cache::ResponseCache>,
}

impl AppState {
    /// The state for a schema and its database (public reads).
    pub fn new(schema: AppSchema, db: Db) -> Self {
        let metrics = Metrics::new(db.clone(), db.max_connections());
        let responses = Arc::new(cache::ResponseCache::new(HttpLimits::default().response_cache_entries));
        Self { schema, db, public_reads: true, metrics, responses }
    }
}

/// A request budget per client: `burst` requests at once, one more every `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Time to earn one more request.
    pub period: Duration,
    /// Requests a client may send at once.
    pub burst: u32,
}

/// HTTP limits and policies.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Per token (or, without one, per client IP); `None` switches it off.
    pub rate_limit: Option<RateLimit>,
    /// Origins browsers may call from (`*` for any); empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// Whether reads need no token (otherwise READER or above).
    pub public_reads: bool,
    /// Anonymous read queries whose whole answers are kept until the next write (0: none).
    pub response_cache_entries: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(30),
            rate_limit: Some(RateLimit { period: Duration::from_millis(20), burst: 100 }),
            cors_origins: Vec::new(),
            public_reads: true,
            response_cache_entries: 256,
        }
    }
}

/// Rate-limit key: the token (hashed) when one is sent, else the client's address.
#[derive(Debug, Clone, Copy)]
struct TokenOrIp;

impl KeyExtractor for TokenOrIp {
    type Key = String;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<Self::Key, GovernorError> {
        if let Some(auth) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            return Ok(format!("token:{}", hash_token(auth)));
        }
        let ip = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .ok_or(GovernorError::UnableToExtractKey)?;
        Ok(format!("ip:{ip}"))
    }
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT]),
    )
}

/// The router: `POST`/`GET /graphql` (GraphiQL for browsers), the dashboard at `GET /`,
/// `GET /healthz`. Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so
/// that rate limits can key on the client address.
pub fn router(mut state: AppState, limits: HttpLimits) -> Router {
    state.public_reads = limits.public_reads;
    state.responses = Arc::new(cache::ResponseCache::new(limits.response_cache_entries));
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/export/commitments.csv", get(export::commitments_csv))
        .route("/export/commitments.json", get(export::commitments_json))
        // async-graphql-axum streams the body itself, past axum's DefaultBodyLimit: the
        // tower-http layer caps the stream (and refuses a long Content-Length up front).
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(axum::middleware::map_response(body_too_large))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout));
    if let Some(rate) = limits.rate_limit
        && let Some(config) = GovernorConfigBuilder::default()
            .period(rate.period)
            .burst_size(rate.burst.max(1))
            .key_extractor(TokenOrIp)
            .finish()
    {
        let limiter = config.limiter().clone();
        // Forget idle clients now and then, so the table does not grow without end.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    limiter.retain_recent();
                }
            });
        }
        router = router.layer(GovernorLayer::new(config)).layer(axum::middleware::map_response(too_many_requests));
    }
    if let Some(cors) = cors(&limits.cors_origins) {
        router = router.layer(cors);
    }
    // Outermost: every answer is counted and logged, refusals by the limits included.
    router = router.layer(axum::middleware::from_fn_with_state(state.clone(), track));
    // Health checks, metrics and the dashboard's static files stay outside the limits.
    router
        .route("/", get(dashboard::index))
        .route("/dashboard.js", get(dashboard::script))
        .route("/dashboard.css", get(dashboard::style))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// What a GraphQL request was, for the request log and the metrics.
#[derive(Clone, Debug)]
struct OperationInfo {
    name: String,
    kind: &'static str,
    error_codes: Vec<String>,
}

/// Logs one line per request (method, route, status, latency, GraphQL operation; never
/// headers, so never tokens) and counts it.
async fn track(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.http(&route, method.as_str(), status, elapsed.as_secs_f64());
    let operation = response.extensions().get::<OperationInfo>();
    if let Some(op) = operation {
        state.metrics.operation(&op.name, op.kind, elapsed.as_secs_f64(), &op.error_codes);
    }
    tracing::info!(
        target: "pledgewatch::request",
        method = %method,
        route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        operation = operation.map(|o| o.name.as_str()),
        kind = operation.map(|o| o.kind),
        errors = operation.map(|o| o.error_codes.join(",")).filter(|e| !e.is_empty()),
        "request"
    );
    response
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
        .into_response()
}

/// The operation's name (or `anonymous`) and kind.
fn operation_of(request: &async_graphql::Request) -> (String, &'static str) {
    let Ok(document) = parse_query(&request.query) else { return ("unparsable".to_owned(), "invalid") };
    for (name, op) in document.operations.iter() {
        let selected = match (&request.operation_name, name) {
            (Some(wanted), Some(name)) => wanted.as_str() == name.as_str(),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if selected {
            let kind = match op.node.ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            return (name.map_or_else(|| "anonymous".to_owned(), |n| n.to_string()), kind);
        }
    }
    ("unknown".to_owned(), "invalid")
}

/// Gives the rate limiter's plain-text 429 a GraphQL error body, keeping its Retry-After.
async fn too_many_requests(response: Response) -> Response {
    if response.status() != StatusCode::TOO_MANY_REQUESTS {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut answer =
        denied(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "too many requests; retry after the Retry-After delay");
    if let Some(value) = retry_after {
        answer.headers_mut().insert(header::RETRY_AFTER, value);
    }
    answer
}

/// Gives the limit layer's plain-text 413 a GraphQL error body.
async fn body_too_large(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return error_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    }
    response
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers within two seconds (else 503, so a load balancer sends
/// traffic elsewhere until it is back).
async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.ping(Duration::from_secs(2)).await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "2")], "database unreachable").into_response()
    }
}

/// The bearer token in a `connection_init` payload: `{"Authorization": "Bearer …"}` (any
/// case), as browsers cannot set headers on a WebSocket.
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    let value = object.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?.1.as_str()?;
    Some(value.strip_prefix("Bearer ").unwrap_or(value).trim().to_owned())
}

/// GraphQL subscriptions over WebSocket (graphql-transport-ws, and the older graphql-ws).
/// The token comes from the upgrade request's header or the `connection_init` payload.
async fn graphql_ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let from_header = match principal(&state, &headers).await {
        Ok(Principal::Invalid) => {
            return denied(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "the bearer token is malformed, unknown or revoked",
            );
        }
        Ok(p) => p,
        Err(response) => return response,
    };
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let db = state.db.clone();
        let public_reads = state.public_reads;
        GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let principal = match payload_token(&payload) {
                    Some(token) => {
                        db.principal(&token).await.map_err(|_| async_graphql::Error::new("cannot check the token"))?
                    }
                    None => from_header,
                };
                if principal == Principal::Invalid {
                    return Err(async_graphql::Error::new("the bearer token is malformed, unknown or revoked"));
                }
                if !public_reads && crate::auth::require(&principal, Role::Reader).is_err() {
                    return Err(async_graphql::Error::new("reads need a token on this server"));
                }
                let mut data = async_graphql::Data::default();
                data.insert(Loaders::new(&db));
                data.insert(principal);
                Ok(data)
            })
            .serve()
    })
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
        // A streamed body over the limit surfaces as an I/O error from the limit layer.
        let too_large = match &self.0 {
            async_graphql::ParseRequestError::PayloadTooLarge => true,
            async_graphql::ParseRequestError::Io(err) => err.to_string().contains("length limit exceeded"),
            _ => false,
        };
        if too_large {
            return error_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
        let (status, message) = (StatusCode::BAD_REQUEST, format!("malformed GraphQL request: {}", self.0));
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

/// Who sent the request: no token, a valid one, or one that is malformed, unknown or revoked.
async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Principal::Anonymous) };
    let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    match token {
        Some(token) if !token.is_empty() => state.db.principal(token).await.map_err(|err| match err {
            crate::storage::StorageError::Db(db) if crate::error::is_unavailable(&db) => {
                tracing::warn!(%db, "cannot check a token: database unavailable");
                let mut response = denied(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "the database is unreachable right now; retry shortly",
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                response
            }
            other => {
                tracing::error!(err = %other, "cannot check a token");
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            }
        }),
        _ => Ok(Principal::Invalid),
    }
}

fn denied(status: StatusCode, code: &str, message: &str) -> Response {
    let errors = vec![serde_json::json!({ "message": message, "extensions": { "code": code } })];
    let body = serde_json::to_vec(&serde_json::json!({ "errors": errors })).unwrap_or_default();
    let mut response = (status, [(header::CONTENT_TYPE, GRAPHQL_RESPONSE_JSON)], body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

async fn execute(state: &AppState, headers: &HeaderMap, request: async_graphql::Request) -> Response {
    let principal = match principal(state, headers).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    // A credential that does not hold is refused outright, whatever the operation.
    if principal == Principal::Invalid {
        return denied(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "the bearer token is malformed, unknown or revoked",
        );
    }
    if !state.public_reads {
        match crate::auth::require(&principal, Role::Reader) {
            Ok(()) => {}
            Err(_) => return denied(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "reads need a token on this server"),
        }
    }
    let (operation, kind) = operation_of(&request);
    let legacy = wants_legacy_json(headers);
    // Anonymous reads may be answered from the response cache, checked against the data
    // version (one indexed one-row read) so that no answer outlives a write.
    let cache_key =
        (state.responses.enabled() && principal == Principal::Anonymous && kind == "query").then(|| cache::Key {
            query: request.query.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
            operation: request.operation_name.clone(),
            legacy_json: legacy,
        });
    let mut version = None;
    if let Some(key) = &cache_key
        && state.responses.is_known(key)
        && let Ok(v) = state.db.data_version().await
    {
        if let Some(body) = state.responses.get(v, key) {
            return graphql_body(
                body,
                StatusCode::OK,
                legacy,
                OperationInfo { name: operation, kind, error_codes: vec![] },
                true,
            );
        }
        version = Some(v);
    }
    let request = request.data(Loaders::new(&state.db)).data(principal);
    let response = state.schema.execute(request).await;
    let code_of = |e: &ServerError| {
        e.extensions.as_ref().and_then(|x| x.get("code")).map(|c| c.to_string().trim_matches('"').to_owned())
    };
    let has = |code: &str| response.errors.iter().any(|e| code_of(e).as_deref() == Some(code));
    let auth_status = if has("UNAUTHENTICATED") {
        Some(StatusCode::UNAUTHORIZED)
    } else if has("FORBIDDEN") {
        Some(StatusCode::FORBIDDEN)
    } else if has("SERVICE_UNAVAILABLE") {
        Some(StatusCode::SERVICE_UNAVAILABLE)
    } else {
        None
    };
    // A request error (parse or validation) has no data and errors without a path.
    let request_error = matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = match (legacy, auth_status) {
        (true, _) => StatusCode::OK,
        (false, Some(status)) => status,
        (false, None) if request_error => StatusCode::BAD_REQUEST,
        (false, None) => StatusCode::OK,
    };
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
    let body = Bytes::from(body);
    if let Some(key) = cache_key
        && status == StatusCode::OK
        && response.errors.is_empty()
    {
        match version {
            Some(version) => state.responses.put(version, key, body.clone()),
            None => state.responses.mark_known(key),
        }
    }
    let error_codes =
        response.errors.iter().map(|e| code_of(e).unwrap_or_else(|| "REQUEST_ERROR".to_owned())).collect();
    graphql_body(body, status, legacy, OperationInfo { name: operation, kind, error_codes }, false)
}

/// A GraphQL answer over HTTP; `cached` marks one served from the response cache.
fn graphql_body(body: Bytes, status: StatusCode, legacy: bool, info: OperationInfo, cached: bool) -> Response {
    let content_type = if legacy { "application/json" } else { GRAPHQL_RESPONSE_JSON };
    let mut http = Response::new(Body::from(body));
    *http.status_mut() = status;
    http.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        http.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    http.headers_mut().insert("x-pledgewatch-cache", HeaderValue::from_static(if cached { "hit" } else { "miss" }));
    http.extensions_mut().insert(info);
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
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .title("pledgewatch GraphiQL")
                .finish(),
        )
        .into_response();
    }
    let request = match parse_query_string(query) {
        Ok(request) => request,
        Err(err) => return BadRequest(err).into_response(),
    };
    // A document of several operations without operationName is refused when it runs.
    if operation_of(&request).1 == "mutation" {
        let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, "mutations are sent with POST");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &headers, request).await
}
