//! The HTTP layer: axum routes for GraphQL over HTTP, GraphiQL and health. It hands request
//! data to the GraphQL layer; it holds no business logic.

mod cache;
mod console;
mod dashboard;
mod export;
mod feed;
pub mod gate;
mod graphql;
mod order;
mod socket;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tower_governor::{GovernorError, GovernorLayer, governor::GovernorConfigBuilder, key_extractor::KeyExtractor};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
};

use crate::{error::code, graphql::AppSchema, metrics::Metrics, storage::Db};
use graphql::{graphql_get, graphql_post};

/// The media type of GraphQL-over-HTTP responses.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The GraphQL schema (with the database as schema data).
    pub schema: AppSchema,
    /// The database.
    pub db: Db,
    /// What `/metrics` reports.
    pub metrics: Metrics,
    /// Whole answers to anonymous read queries, until the next write (sized by
    /// [`HttpLimits::response_cache_entries`]).
    pub responses: Arc<cache::ResponseCache>,
    /// Tokens seen valid lately (their hashes): their holders get rate budgets of their own.
    pub known_tokens: Arc<gate::KnownTokens>,
    /// Per client address: checks of tokens not seen valid lately (same budget).
    pub token_checks: Option<gate::Limiter>,
    /// The limits the state was built with (the router's layers read them).
    pub limits: Arc<HttpLimits>,
    /// The rate-limit layer's configuration (its limiter is [`AppState::limiter`], which
    /// WebSocket operations are charged to).
    governor: Option<
        Arc<
            tower_governor::governor::GovernorConfig<
                TokenOrIp,
                governor::middleware::NoOpMiddleware<governor::clock::QuantaInstant>,
            >,
        >,
    >,
}

impl AppState {
    /// The per-client rate limiter, shared by HTTP requests and WebSocket operations (the
    /// rate-limit layer's own).
    pub fn limiter(&self) -> Option<&gate::Limiter> {
        self.governor.as_ref().map(|config| config.limiter())
    }

    /// Whether reads need no token.
    pub fn public_reads(&self) -> bool {
        self.limits.public_reads
    }

    /// The state for a schema and its database under these limits, built once: the
    /// response cache, the rate limiters and the token budget all come from `limits`.
    pub fn new(schema: AppSchema, db: Db, limits: HttpLimits) -> Self {
        let metrics = Metrics::new(db.clone(), db.max_connections());
        let responses = Arc::new(cache::ResponseCache::new(limits.response_cache_entries));
        let limiter = |rate: RateLimit| {
            let quota = governor::Quota::with_period(rate.period)?
                .allow_burst(std::num::NonZeroU32::new(rate.burst.max(1)).unwrap_or(std::num::NonZeroU32::MIN));
            Some(Arc::new(governor::RateLimiter::keyed(quota)))
        };
        // The HTTP layer's limiter is the one WebSocket operations are charged to.
        let governor = limits.rate_limit.and_then(|rate| {
            GovernorConfigBuilder::default()
                .period(rate.period)
                .burst_size(rate.burst.max(1))
                .key_extractor(TokenOrIp)
                .finish()
                .map(Arc::new)
        });
        Self {
            schema,
            db,
            metrics,
            responses,
            known_tokens: Arc::new(gate::KnownTokens::default()),
            token_checks: limits.rate_limit.and_then(limiter),
            governor,
            limits: Arc::new(limits),
        }
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

/// Rate-limit key: the token (hashed) when one is sent, else the client's address (see
/// [`gate::rate_key`]).
#[derive(Debug, Clone, Copy)]
struct TokenOrIp;

impl KeyExtractor for TokenOrIp {
    type Key = String;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<Self::Key, GovernorError> {
        let ip = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        gate::rate_key(gate::header_token(req.headers()), ip).ok_or(GovernorError::UnableToExtractKey)
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
pub fn router(state: AppState) -> Router {
    let limits = Arc::clone(&state.limits);
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(socket::graphql_ws))
        .route("/export/commitments.csv", get(export::commitments_csv))
        .route("/export/commitments.json", get(export::commitments_json))
        .route("/changes.atom", get(feed::changes_atom))
        // async-graphql-axum streams the body itself, past axum's DefaultBodyLimit: the
        // tower-http layer caps the stream (and refuses a long Content-Length up front).
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout));
    if let Some(config) = state.governor.clone() {
        let limiters: Vec<gate::Limiter> =
            [Some(Arc::clone(config.limiter())), state.token_checks.clone()].into_iter().flatten().collect();
        // Forget idle clients now and then, so the tables do not grow without end.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    for limiter in &limiters {
                        limiter.retain_recent();
                    }
                }
            });
        }
        router = router.layer(GovernorLayer::new(config));
    }
    // The limits' own plain-text refusals (413, 408, 429) get a GraphQL error body with a code.
    router = router.layer(axum::middleware::map_response(coded_refusals));
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
        .route("/console/console.js", get(console::script))
        .route("/console/{file}", get(console::vendored))
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

/// Gives the limit layers' plain-text refusals a GraphQL error body with a code: 413 (body
/// too large), 408 (timeout), 429 (rate limit, with a `Retry-After` of at least 1 s).
async fn coded_refusals(response: Response) -> Response {
    let ours =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    if ours {
        return response;
    }
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            denied(StatusCode::PAYLOAD_TOO_LARGE, code::PAYLOAD_TOO_LARGE, "request body too large")
        }
        StatusCode::REQUEST_TIMEOUT => {
            denied(StatusCode::REQUEST_TIMEOUT, code::REQUEST_TIMEOUT, "the request took too long and was stopped")
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let seconds = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            rate_limited(seconds)
        }
        _ => response,
    }
}

/// 429 with a `Retry-After` of at least one second.
fn rate_limited(seconds: u64) -> Response {
    let mut answer = denied(
        StatusCode::TOO_MANY_REQUESTS,
        code::RATE_LIMITED,
        "too many requests; retry after the Retry-After delay",
    );
    answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    answer
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

/// A refusal: `status` with a GraphQL error body carrying `code`; a 401 says how to
/// authenticate (`WWW-Authenticate: Bearer`), a 503 when to come back (`Retry-After`).
pub(crate) fn denied(status: StatusCode, code: &str, message: &str) -> Response {
    let errors = vec![serde_json::json!({ "message": message, "extensions": { "code": code } })];
    let body = serde_json::to_vec(&serde_json::json!({ "errors": errors })).unwrap_or_default();
    let mut response = (status, [(header::CONTENT_TYPE, GRAPHQL_RESPONSE_JSON)], body).into_response();
    decorate(&mut response);
    response
}

/// The headers every refusal of a status carries.
fn decorate(response: &mut Response) {
    match response.status() {
        StatusCode::UNAUTHORIZED => {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        _ => {}
    }
}
