//! The gate every request passes, whatever its transport: who is calling ([`Caller`],
//! resolved once per HTTP request and once per WebSocket operation), whether they may read,
//! and the GraphQL document parsed once, with limits, before anything else looks at it.
//!
//! What a document may be, checked before the parser runs (its recursion would otherwise
//! overflow the stack on a few kilobytes of brackets): at most [`MAX_NESTING`] levels of
//! `{`, `[` and `(`, outside strings and comments. After the parse: at most
//! [`MAX_FRAGMENTS`] fragment definitions, at most `order::MAX_SELECTIONS` selections once
//! fragments are spread, and no list value (inline or in the variables)
//! over [`MAX_LIST_ITEMS`] items. The parsed document is handed to the executor, which does
//! not parse it again.

use std::{collections::HashSet, net::IpAddr, sync::Mutex};

use async_graphql::{
    ErrorExtensionValues, ServerError,
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
};
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::Response,
};

use super::{AppState, denied};
use crate::{
    auth::{Principal, Role, hash_token, require},
    error::code,
    storage::{Db, StorageError},
};

/// Deepest nesting of brackets a document may have (selections, lists, objects,
/// arguments together); legitimate queries stay far below it (the depth limit is 15).
pub const MAX_NESTING: usize = 64;

/// Most fragment definitions in one document.
pub const MAX_FRAGMENTS: usize = 200;

pub use crate::domain::text::MAX_LIST_ITEMS;

/// A GraphQL error with a code (and no position).
pub fn coded(message: impl Into<String>, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code);
    error.extensions = Some(ext);
    error
}

/// A `BAD_USER_INPUT` error naming `field`.
fn field_error(field: &str, message: impl Into<String>) -> ServerError {
    let mut error = coded(format!("{field}: {}", message.into()), code::BAD_USER_INPUT);
    if let Some(ext) = error.extensions.as_mut() {
        ext.set("field", field);
    }
    error
}

/// The deepest bracket nesting of `text`, ignoring strings, block strings and comments;
/// stops counting past `limit` (returns `limit + 1`).
pub fn nesting(text: &str, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0_usize, 0_usize, 0_usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// What the HTTP layer needs of an operation: its name and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The operation's name, `anonymous`, or `unknown` when none matches.
    pub name: String,
    /// `query`, `mutation`, `subscription`, or `invalid`.
    pub kind: &'static str,
}

impl Operation {
    fn invalid(name: &str) -> Self {
        Self { name: name.to_owned(), kind: "invalid" }
    }
}

/// The operation a request runs, in its parsed document.
fn operation_in(document: &ExecutableDocument, wanted: Option<&str>) -> Operation {
    for (name, op) in document.operations.iter() {
        let selected = match (wanted, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if selected {
            let kind = match op.node.ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            return Operation { name: name.map_or_else(|| "anonymous".to_owned(), |n| n.to_string()), kind };
        }
    }
    Operation::invalid("unknown")
}

/// The first list longer than [`MAX_LIST_ITEMS`] in `value`, as (path, length).
fn long_list_in_json(path: String, value: &serde_json::Value) -> Option<(String, usize)> {
    match value {
        serde_json::Value::Array(items) if items.len() > MAX_LIST_ITEMS => Some((path, items.len())),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| long_list_in_json(format!("{path}[{i}]"), v))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| long_list_in_json(format!("{path}.{k}"), v)),
        _ => None,
    }
}

fn long_list_in_value(path: String, value: &async_graphql::Value) -> Option<(String, usize)> {
    use async_graphql::Value;
    match value {
        Value::List(items) if items.len() > MAX_LIST_ITEMS => Some((path, items.len())),
        Value::List(items) => items.iter().enumerate().find_map(|(i, v)| long_list_in_value(format!("{path}[{i}]"), v)),
        Value::Object(map) => map.iter().find_map(|(k, v)| long_list_in_value(format!("{path}.{k}"), v)),
        _ => None,
    }
}

fn long_list_in_selection(set: &SelectionSet) -> Option<(String, usize)> {
    set.items.iter().find_map(|item| match &item.node {
        Selection::Field(field) => field
            .node
            .arguments
            .iter()
            .find_map(|(name, value)| {
                // Variables stand as null here: their values are checked on their own.
                let value = value.node.clone().into_const_with(|_| Ok::<_, ()>(async_graphql::Value::Null)).ok()?;
                long_list_in_value(name.node.to_string(), &value)
            })
            .or_else(|| long_list_in_selection(&field.node.selection_set.node)),
        Selection::InlineFragment(fragment) => long_list_in_selection(&fragment.node.selection_set.node),
        Selection::FragmentSpread(_) => None,
    })
}

/// Checks a request's document and variables against the limits above and parses it once:
/// the parsed document stays in the request for the executor. Returns the operation run.
pub fn prepare(request: &mut async_graphql::Request) -> Result<Operation, ServerError> {
    if nesting(&request.query, MAX_NESTING) > MAX_NESTING {
        return Err(coded(
            format!("the document nests brackets deeper than {MAX_NESTING} levels"),
            code::QUERY_TOO_DEEP,
        ));
    }
    let variables = serde_json::to_value(&request.variables).unwrap_or_default();
    if let Some((path, len)) = long_list_in_json("$".to_owned(), &variables) {
        let path = path.replacen("$.", "$", 1);
        return Err(field_error(&path, format!("has {len} items, more than {MAX_LIST_ITEMS}")));
    }
    let wanted = request.operation_name.clone();
    let document = request.parsed_query().map_err(|e| {
        let mut error = coded(e.message.clone(), code::GRAPHQL_PARSE_FAILED);
        error.locations = e.locations.clone();
        error
    })?;
    if document.fragments.len() > MAX_FRAGMENTS {
        return Err(coded(
            format!("the document defines {} fragments, more than {MAX_FRAGMENTS}", document.fragments.len()),
            code::GRAPHQL_VALIDATION_FAILED,
        ));
    }
    if !super::order::KeyOrder::within_budget(document) {
        return Err(coded(
            format!(
                "the document expands to more than {} selections once its fragments are spread",
                super::order::MAX_SELECTIONS
            ),
            code::QUERY_TOO_COSTLY,
        ));
    }
    let sets = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(document.fragments.values().map(|f| &f.node.selection_set.node));
    for set in sets {
        if let Some((path, len)) = long_list_in_selection(set) {
            return Err(field_error(&path, format!("has {len} items, more than {MAX_LIST_ITEMS}")));
        }
    }
    Ok(operation_in(document, wanted.as_deref()))
}

/// The error for a database that did not answer in time: a busy server when every
/// connection of the pool is in use (the database is fine), else an unreachable database.
/// The one place that tells the two apart.
pub fn unavailable(db: &Db) -> ServerError {
    if db.pool_saturated() {
        coded(code::BUSY_MESSAGE, code::SERVER_BUSY)
    } else {
        coded(code::UNAVAILABLE_MESSAGE, code::SERVICE_UNAVAILABLE)
    }
}

/// Codes what async-graphql left uncoded, in one place for every transport: an error of
/// the whole request (no path) is a validation failure, a field error without a code is
/// ours. An unavailable database is reported as a busy server when every connection of
/// the pool is in use.
pub fn finish_errors(errors: &mut [ServerError], db: &Db) {
    for error in errors.iter_mut() {
        let code = error.extensions.as_ref().and_then(|x| x.get("code")).map(|c| c.to_string());
        match code.as_deref().map(|c| c.trim_matches('"')) {
            None => {
                let code =
                    if error.path.is_empty() { code::GRAPHQL_VALIDATION_FAILED } else { code::INTERNAL_SERVER_ERROR };
                error.extensions.get_or_insert_with(Default::default).set("code", code);
            }
            Some(code::SERVICE_UNAVAILABLE) => {
                let decided = unavailable(db);
                error.message = decided.message;
                error.extensions = decided.extensions;
            }
            Some(_) => {}
        }
    }
}

/// The code of a GraphQL error, if any.
pub fn code_of(error: &ServerError) -> Option<String> {
    error.extensions.as_ref().and_then(|x| x.get("code")).map(|c| c.to_string().trim_matches('"').to_owned())
}

/// Tokens seen valid lately, by hash. A token not among them costs its client address one
/// token check, from a budget as large as the request budget, before it is looked up: each
/// made-up token would otherwise come with a fresh request budget of its own, and guessing
/// would never be throttled.
#[derive(Debug, Default)]
pub struct KnownTokens(Mutex<HashSet<String>>);

impl KnownTokens {
    /// Most hashes kept; past it the set starts again (the budgets are a few seconds long).
    const CAPACITY: usize = 10_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the token with this hash was valid lately.
    pub fn contains(&self, hash: &str) -> bool {
        self.lock().contains(hash)
    }

    fn remember(&self, hash: String) {
        let mut set = self.lock();
        if set.len() >= Self::CAPACITY {
            set.clear();
        }
        set.insert(hash);
    }

    fn forget(&self, hash: &str) {
        self.lock().remove(hash);
    }
}

/// The bearer token of an `Authorization` header value; `None` for a header that is not
/// `Bearer <token>`.
pub fn bearer(value: &str) -> Option<&str> {
    value.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty())
}

/// Who is calling: resolved from the `Authorization` header by the extractor (a malformed,
/// unknown or revoked token is refused with 401 before anything runs), or per WebSocket
/// operation by [`Caller::resolve`].
#[derive(Clone, Debug)]
pub struct Caller {
    /// Who the token says.
    pub principal: Principal,
    /// The token it was resolved from (a WebSocket keeps it to check it again).
    pub token: Option<String>,
}

impl Caller {
    /// Resolves a bearer token (`None`: anonymous) sent from `ip`. A token not seen valid
    /// lately is first charged to its client address's rate budget. Remembers valid tokens
    /// and forgets revoked ones.
    pub async fn resolve(state: &AppState, token: Option<&str>, ip: Option<IpAddr>) -> Result<Self, ServerError> {
        let Some(token) = token else { return Ok(Self { principal: Principal::Anonymous, token: None }) };
        let hash = hash_token(token);
        if !state.known_tokens.contains(&format!("token:{hash}"))
            && let (Some(limiter), Some(ip)) = (&state.token_checks, ip)
        {
            charge(limiter, &format!("ip:{ip}"))?;
        }
        let principal = match state.db.principal(token).await {
            Ok(p) => p,
            Err(StorageError::Unavailable(cause)) => {
                tracing::warn!(%cause, "cannot check a token: database unavailable");
                return Err(unavailable(&state.db));
            }
            Err(err) => {
                tracing::error!(%err, "cannot check a token");
                return Err(coded("internal server error", code::INTERNAL_SERVER_ERROR));
            }
        };
        if principal == Principal::Invalid {
            state.known_tokens.forget(&format!("token:{hash}"));
            return Err(coded("the bearer token is malformed, unknown or revoked", code::UNAUTHENTICATED));
        }
        state.known_tokens.remember(format!("token:{hash}"));
        Ok(Self { principal, token: Some(token.to_owned()) })
    }

    /// Whether this caller may read on this server (`--private-reads` needs READER).
    pub fn may_read(&self, state: &AppState) -> Result<(), ServerError> {
        if state.public_reads() || require(&self.principal, Role::Reader).is_ok() {
            Ok(())
        } else {
            Err(coded("reads need a token on this server", code::UNAUTHENTICATED))
        }
    }
}

/// Takes one request from `key`'s budget, or says when to come back (`RATE_LIMITED`,
/// with `extensions.retryAfter` in whole seconds, at least 1).
pub fn charge(limiter: &Limiter, key: &str) -> Result<(), ServerError> {
    use governor::clock::{Clock, QuantaClock};
    limiter.check_key(&key.to_owned()).map_err(|not_until| {
        let wait = not_until.wait_time_from(QuantaClock::default().now());
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let mut error = coded(format!("too many requests; retry after {seconds} s"), code::RATE_LIMITED);
        if let Some(ext) = error.extensions.as_mut() {
            ext.set("retryAfter", seconds);
        }
        error
    })
}

/// The answer to a request refused at the gate, with the status its code gives (and the
/// `Retry-After` of a rate limit).
pub fn refusal(error: &ServerError) -> Response {
    let code = code_of(error).unwrap_or_else(|| code::BAD_REQUEST.to_owned());
    let status = code::http_status(&code).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = denied(status, &code, &error.message);
    let retry = error.extensions.as_ref().and_then(|x| x.get("retryAfter")).map(ToString::to_string);
    if let Some(value) = retry.and_then(|v| axum::http::HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => match value.to_str().ok().and_then(bearer) {
                Some(token) => Some(token.to_owned()),
                None => {
                    return Err(refusal(&coded(
                        "the bearer token is malformed, unknown or revoked",
                        code::UNAUTHENTICATED,
                    )));
                }
            },
        };
        Caller::resolve(state, token.as_deref(), client_ip(parts)).await.map_err(|e| refusal(&e))
    }
}

/// A caller who may read on this server: what every read route takes, so that no route
/// can forget `--private-reads`.
#[derive(Clone, Debug)]
pub struct Reader(pub Caller);

impl FromRequestParts<AppState> for Reader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.may_read(state).map_err(|e| refusal(&e))?;
        Ok(Self(caller))
    }
}

/// The client's address, when the server was started with connect info.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}

/// The rate-limit key of a request: its token's (hashed) when it sends one, else its
/// client address. (A token not seen valid lately is also charged to the address: see
/// [`Caller::resolve`].)
pub fn rate_key(token: Option<&str>, ip: Option<IpAddr>) -> Option<String> {
    match token {
        Some(token) => Some(format!("token:{}", hash_token(token))),
        None => ip.map(|ip| format!("ip:{ip}")),
    }
}

/// The bearer token of a request's headers, if it sends one that is well formed.
pub fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer)
}

/// Shared between the HTTP rate-limit layer and the WebSocket executor.
pub type Limiter = tower_governor::governor::SharedRateLimiter<
    String,
    governor::middleware::NoOpMiddleware<governor::clock::QuantaInstant>,
>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(nesting("{ a(x: [[1]]) { b } }", 100), 4);
        assert_eq!(nesting(r#"{ a(x: "{{{{[[[") }"#, 100), 2);
        assert_eq!(nesting("{ a # {{{{{\n }", 100), 1);
        assert_eq!(nesting(r#"{ a(x: """ {{{ \""" [[[ """) }"#, 100), 2);
        assert_eq!(nesting(r#"{ a(x: "\"{{") }"#, 100), 2);
        assert_eq!(nesting(&"[".repeat(10_000), 64), 65, "stops counting past the limit");
    }

    #[test]
    fn a_deep_document_is_refused_before_the_parser_runs() {
        let deep = format!("{{__typename(a:{}1{})}}", "[".repeat(5_000), "]".repeat(5_000));
        let mut request = async_graphql::Request::new(deep);
        let error = prepare(&mut request).unwrap_err();
        assert_eq!(code_of(&error).as_deref(), Some(code::QUERY_TOO_DEEP));
        let mut ok = async_graphql::Request::new("query Q { a(x: [[1]]) { b } }");
        assert_eq!(prepare(&mut ok).unwrap(), Operation { name: "Q".into(), kind: "query" });
    }

    #[test]
    fn long_lists_are_named_by_their_path() {
        let list: Vec<String> = (0..=MAX_LIST_ITEMS).map(|i| i.to_string()).collect();
        let mut request = async_graphql::Request::new("query($f: F) { a(filter: $f) }")
            .variables(async_graphql::Variables::from_json(serde_json::json!({ "f": { "events": list } })));
        let error = prepare(&mut request).unwrap_err();
        assert_eq!(error.extensions.unwrap().get("field").map(ToString::to_string).as_deref(), Some("\"$f.events\""));
        let inline = format!("{{ a(filter: {{ events: [{}] }}) }}", list.join(","));
        let error = prepare(&mut async_graphql::Request::new(inline)).unwrap_err();
        assert!(error.message.starts_with("filter.events: has 1001 items"), "{}", error.message);
    }
}
