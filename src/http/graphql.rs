//! GraphQL over HTTP: POST and GET, the answer's media type and status, the response cache,
//! and GraphiQL for a browser.

use async_graphql::{ServerError, http::parse_query_string};
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::Response,
};

use super::{
    AppState, GRAPHQL_RESPONSE_JSON, OperationInfo, cache, decorate, denied,
    gate::{self, Caller, Reader},
    order::KeyOrder,
};
use crate::{auth::Principal, error::code, graphql::loaders::Loaders};

/// How the client wants its answer: `Accept: application/graphql-response+json` gets that
/// media type with statuses that mean something (GraphQL over HTTP); anything else gets
/// `application/json`, and an explicit `application/json` alone also gets the legacy rule
/// of 200 for every well-formed request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    GraphqlResponse,
    Json,
    LegacyJson,
}

impl Answer {
    fn of(headers: &HeaderMap) -> Self {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if accept.contains("application/graphql-response+json") {
            Self::GraphqlResponse
        } else if accept.contains("application/json") {
            Self::LegacyJson
        } else {
            Self::Json
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
            Self::Json | Self::LegacyJson => "application/json",
        }
    }
}

/// The HTTP status of a GraphQL response: a request error (no data) takes its code's
/// status; an authentication or availability error anywhere decides the request; else 200.
fn status_of(response: &async_graphql::Response) -> StatusCode {
    let request_error = matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let codes: Vec<String> = response.errors.iter().filter_map(gate::code_of).collect();
    for deciding in [code::UNAUTHENTICATED, code::FORBIDDEN, code::SERVER_BUSY, code::SERVICE_UNAVAILABLE] {
        if codes.iter().any(|c| c == deciding) {
            return code::http_status(deciding).unwrap_or(StatusCode::OK);
        }
    }
    if request_error {
        return codes.first().and_then(|c| code::http_status(c)).unwrap_or(StatusCode::BAD_REQUEST);
    }
    StatusCode::OK
}

/// Runs a request that passed the gate's parse: from the response cache when it can.
async fn execute(
    state: &AppState,
    caller: Caller,
    answer: Answer,
    mut request: async_graphql::Request,
    operation: gate::Operation,
) -> Response {
    let principal = caller.principal;
    let legacy = answer == Answer::LegacyJson;
    // Anonymous reads may be answered from the response cache, checked against the data
    // version (one indexed one-row read) so that no answer outlives a write.
    let cache_key =
        (state.responses.enabled() && principal == Principal::Anonymous && operation.kind == "query").then(|| {
            cache::Key {
                query: request.query.clone(),
                variables: serde_json::to_string(&request.variables).unwrap_or_default(),
                operation: request.operation_name.clone(),
                legacy_json: legacy,
            }
        });
    let mut version = None;
    if let Some(key) = &cache_key
        && state.responses.is_known(key)
    {
        match state.db.data_version().await {
            Ok(v) => {
                if let Some(body) = state.responses.get(v, key) {
                    let info = OperationInfo { name: operation.name, kind: operation.kind, error_codes: vec![] };
                    return graphql_body(body, StatusCode::OK, answer, info, true);
                }
                version = Some(v);
            }
            // The database is not there: say so now rather than wait for it a second time.
            Err(err) => {
                let error = match crate::storage::StorageError::from(err) {
                    crate::storage::StorageError::Unavailable(_) => gate::unavailable(&state.db),
                    other => {
                        tracing::error!(err = %other, "cannot read the data version");
                        gate::coded("internal server error", code::INTERNAL_SERVER_ERROR)
                    }
                };
                return request_refused(&error, answer, operation);
            }
        }
    }
    let order = KeyOrder::of_request(&mut request);
    request = request.data(Loaders::new(&state.db)).data(principal);
    let mut response = state.schema.execute(request).await;
    if let Some(order) = order {
        order.apply(&mut response.data);
    }
    gate::finish_errors(&mut response.errors, &state.db);
    let status = if legacy { StatusCode::OK } else { status_of(&response) };
    let request_error = matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
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
            return denied(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL_SERVER_ERROR, "internal server error");
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
    let error_codes = response.errors.iter().filter_map(gate::code_of).collect();
    graphql_body(body, status, answer, OperationInfo { name: operation.name, kind: operation.kind, error_codes }, false)
}

/// A request refused before it ran (by the gate's parse, or the database's absence).
fn request_refused(error: &ServerError, answer: Answer, operation: gate::Operation) -> Response {
    let code = gate::code_of(error).unwrap_or_else(|| code::BAD_REQUEST.to_owned());
    let status = match answer {
        Answer::LegacyJson => StatusCode::OK,
        _ => code::http_status(&code).unwrap_or(StatusCode::BAD_REQUEST),
    };
    let body = serde_json::to_vec(&serde_json::json!({ "errors": [error] })).unwrap_or_default();
    let info = OperationInfo { name: operation.name, kind: operation.kind, error_codes: vec![code] };
    graphql_body(Bytes::from(body), status, answer, info, false)
}

/// A GraphQL answer over HTTP; `cached` marks one served from the response cache.
fn graphql_body(body: Bytes, status: StatusCode, answer: Answer, info: OperationInfo, cached: bool) -> Response {
    let mut http = Response::new(Body::from(body));
    *http.status_mut() = status;
    http.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(answer.content_type()));
    decorate(&mut http);
    http.headers_mut().insert("x-pledgewatch-cache", HeaderValue::from_static(if cached { "hit" } else { "miss" }));
    http.extensions_mut().insert(info);
    http
}

/// Whether a POST body is declared JSON (`application/json`, with any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

pub(super) async fn graphql_post(
    State(state): State<AppState>,
    Reader(caller): Reader,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = Answer::of(&headers);
    if !is_json(&headers) {
        return denied(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::UNSUPPORTED_MEDIA_TYPE,
            "send the GraphQL request as a JSON body with Content-Type: application/json",
        );
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return denied(StatusCode::BAD_REQUEST, code::BAD_REQUEST, &format!("malformed GraphQL request: {err}"));
        }
    };
    match gate::prepare(&mut request) {
        Ok(operation) => execute(&state, caller, answer, request, operation).await,
        Err(error) => request_refused(&error, answer, gate::Operation { name: "unparsable".into(), kind: "invalid" }),
    }
}

pub(super) async fn graphql_get(
    State(state): State<AppState>,
    reader: Result<Reader, Response>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let browser = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if browser && !query.split('&').any(|pair| pair.starts_with("query=")) {
        return super::console::page();
    }
    let Reader(caller) = match reader {
        Ok(reader) => reader,
        Err(refusal) => return refusal,
    };
    let answer = Answer::of(&headers);
    let mut request = match parse_query_string(query) {
        Ok(request) => request,
        Err(err) => {
            return denied(StatusCode::BAD_REQUEST, code::BAD_REQUEST, &format!("malformed GraphQL request: {err}"));
        }
    };
    let operation = match gate::prepare(&mut request) {
        Ok(operation) => operation,
        Err(error) => {
            return request_refused(&error, answer, gate::Operation { name: "unparsable".into(), kind: "invalid" });
        }
    };
    // A document of several operations without operationName is refused when it runs.
    if operation.kind == "mutation" {
        let mut response =
            denied(StatusCode::METHOD_NOT_ALLOWED, code::METHOD_NOT_ALLOWED, "mutations are sent with POST");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, caller, answer, request, operation).await
}
