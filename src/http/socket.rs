//! GraphQL over WebSocket (graphql-transport-ws, and the older graphql-ws). Every
//! operation on a socket passes the same gate as an HTTP request: the rate limit of its
//! client, its token checked again (a token revoked while the socket is open stops working
//! at once, on every replica, as revocation is a row in the shared database), private
//! reads, and the document's limits with a single parse. What the server sends follows
//! graphql-transport-ws to the letter ([`Outgoing`]): refused operations get an `error`
//! message, refused connections the close codes 4401/4403.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Data, Executor, Request, Response, ServerError,
    http::{WebSocket, WebSocketProtocols, WsMessage},
};
use async_graphql_axum::GraphQLProtocol;
use axum::{
    extract::{
        ConnectInfo, State,
        ws::{CloseFrame, Message, WebSocketUpgrade},
    },
    response::Response as HttpResponse,
};
use futures_util::{SinkExt, StreamExt, stream::BoxStream};

use super::{AppState, gate, order::KeyOrder};
use crate::graphql::loaders::Loaders;

/// The token a socket authenticated with (from the upgrade's header or `connection_init`).
#[derive(Clone, Debug)]
struct SocketToken(Option<String>);

/// The bearer token in a `connection_init` payload: `{"Authorization": "Bearer …"}` (any
/// case), as browsers cannot set headers on a WebSocket.
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    let value = object.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization"))?.1.as_str()?;
    Some(value.strip_prefix("Bearer ").unwrap_or(value).trim().to_owned())
}

/// `GET /graphql/ws`: a token in the upgrade's header must be valid (401 otherwise); under
/// private reads the token may also come in `connection_init`.
pub(super) async fn graphql_ws(
    State(state): State<AppState>,
    caller: gate::Caller,
    connect: Result<ConnectInfo<SocketAddr>, axum::extract::rejection::ExtensionRejection>,
    _supported: GraphQLProtocol,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    // The protocol the client asked for, as `GraphQLProtocol` chose it (its value is private).
    let protocol = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        .unwrap_or(WebSocketProtocols::SubscriptionsTransportWS);
    let header_token = caller.token;
    let ip = connect.ok().map(|c| c.0.ip());
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| async move {
        let executor = SocketExecutor { state: state.clone(), ip };
        // The close code a refused `connection_init` asks for (4401 or 4403).
        let refusal: Arc<Mutex<Option<u16>>> = Arc::default();
        let refused_with = Arc::clone(&refusal);
        let (mut sink, incoming) = socket.split();
        let input = incoming.take_while(|message| futures_util::future::ready(message.is_ok())).filter_map(|message| {
            futures_util::future::ready(match message {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => Some(m.into_data()),
                _ => None,
            })
        });
        let messages = WebSocket::new(executor, input, protocol).on_connection_init(move |payload| async move {
            let token = payload_token(&payload).or(header_token);
            let checked = match gate::Caller::resolve(&state, token.as_deref(), ip).await {
                Ok(caller) => caller.may_read(&state),
                Err(error) => Err(error),
            };
            if let Err(error) = checked {
                let forbidden = gate::code_of(&error).as_deref() == Some(crate::error::code::FORBIDDEN);
                *refused_with.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some(if forbidden { 4403 } else { 4401 });
                return Err(async_graphql::Error::new(error.message));
            }
            let mut data = Data::default();
            data.insert(SocketToken(token));
            Ok(data)
        });
        let mut protocol_messages = Outgoing::new(protocol, refusal);
        futures_util::pin_mut!(messages);
        while let Some(message) = messages.next().await {
            let Some(message) = protocol_messages.translate(message) else { continue };
            if sink.send(message).await.is_err() {
                break;
            }
        }
    })
}

/// What the library sends, as graphql-transport-ws has it: an operation refused before it
/// ran (its first answer holds errors and no data) is an `error` message, with no
/// `complete` after it, so that clients' error handlers run; a refused `connection_init`
/// closes with 4401 (no valid token) or 4403 (forbidden), not 1002.
struct Outgoing {
    protocol: WebSocketProtocols,
    refusal: Arc<Mutex<Option<u16>>>,
    /// Operations that have sent an answer.
    answered: HashSet<String>,
    /// Operations ended by an `error` message.
    failed: HashSet<String>,
}

impl Outgoing {
    fn new(protocol: WebSocketProtocols, refusal: Arc<Mutex<Option<u16>>>) -> Self {
        Self { protocol, refusal, answered: HashSet::new(), failed: HashSet::new() }
    }

    fn translate(&mut self, message: WsMessage) -> Option<Message> {
        match message {
            WsMessage::Close(code, reason) => {
                let asked = *self.refusal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let code = match (self.protocol, code, asked) {
                    (WebSocketProtocols::GraphQLWS, 1002, Some(asked)) => asked,
                    _ => code,
                };
                Some(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
            }
            WsMessage::Text(text) if self.protocol == WebSocketProtocols::GraphQLWS => {
                self.operation_message(text).map(|t| Message::Text(t.into()))
            }
            WsMessage::Text(text) => Some(Message::Text(text.into())),
        }
    }

    /// A `next` or `complete` of graphql-transport-ws, rewritten where the protocol asks.
    /// Only an operation's first answer is read whole: later ones (every update of a
    /// subscription) pass after reading their type and id.
    fn operation_message(&mut self, text: String) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(rename = "type", borrow)]
            kind: std::borrow::Cow<'a, str>,
            #[serde(default, borrow)]
            id: Option<std::borrow::Cow<'a, str>>,
        }
        let Ok(head) = serde_json::from_str::<Head>(&text) else { return Some(text) };
        let id = head.id.as_deref().unwrap_or_default().to_owned();
        match head.kind.as_ref() {
            "next" if self.answered.insert(id.clone()) => {
                let Ok(message) = serde_json::from_str::<serde_json::Value>(&text) else { return Some(text) };
                let payload = message.get("payload");
                let no_data = payload.and_then(|p| p.get("data")).is_none_or(serde_json::Value::is_null);
                let errors =
                    payload.and_then(|p| p.get("errors")).filter(|e| e.as_array().is_some_and(|a| !a.is_empty()));
                match errors {
                    Some(errors) if no_data => {
                        self.failed.insert(id.clone());
                        Some(serde_json::json!({ "type": "error", "id": id, "payload": errors }).to_string())
                    }
                    _ => Some(text),
                }
            }
            "complete" => {
                self.answered.remove(&id);
                // After an `error`, the operation is over: no `complete` follows.
                (!self.failed.remove(&id)).then_some(text)
            }
            _ => Some(text),
        }
    }
}

/// Runs each operation of a socket through the gate.
#[derive(Clone)]
struct SocketExecutor {
    state: AppState,
    ip: Option<std::net::IpAddr>,
}

fn refused(error: ServerError) -> BoxStream<'static, Response> {
    futures_util::stream::once(async move { Response::from_errors(vec![error]) }).boxed()
}

impl SocketExecutor {
    /// Refuses the operation when its client is over its rate budget (the same budget as
    /// its HTTP requests: its token's, or its address's).
    fn within_budget(&self, token: Option<&str>) -> Result<(), ServerError> {
        match (self.state.limiter(), gate::rate_key(token, self.ip)) {
            (Some(limiter), Some(key)) => gate::charge(limiter, &key),
            _ => Ok(()),
        }
    }
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        let mut stream = self.execute_stream(request, None);
        stream.next().await.unwrap_or_default()
    }

    fn execute_stream(&self, mut request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let token = session_data
            .as_ref()
            .and_then(|d| d.get(&std::any::TypeId::of::<SocketToken>()))
            .and_then(|d| d.downcast_ref::<SocketToken>())
            .and_then(|t| t.0.clone());
        if let Err(error) = self.within_budget(token.as_deref()) {
            return refused(error);
        }
        let operation = match gate::prepare(&mut request) {
            Ok(operation) => operation,
            Err(error) => return refused(error),
        };
        let order = KeyOrder::of_request(&mut request);
        let this = self.clone();
        async_stream::stream! {
            // The token is checked again for each operation: a revoked one stops at once.
            let caller = match gate::Caller::resolve(&this.state, token.as_deref(), this.ip).await {
                Ok(caller) => caller,
                Err(error) => {
                    yield Response::from_errors(vec![error]);
                    return;
                }
            };
            if let Err(error) = caller.may_read(&this.state) {
                yield Response::from_errors(vec![error]);
                return;
            }
            let request = request.data(Loaders::new(&this.state.db)).data(caller.principal.clone());
            let session = session_data.unwrap_or_default();
            let mut responses = this.state.schema.execute_stream_with_session_data(request, session);
            let mut first = true;
            while let Some(mut response) = responses.next().await {
                // A subscription re-checks its token before each later answer, so revocation
                // also ends the streams already open.
                if token.is_some()
                    && operation.kind == "subscription"
                    && !first
                    && let Err(error) = gate::Caller::resolve(&this.state, token.as_deref(), this.ip).await
                {
                    yield Response::from_errors(vec![error]);
                    return;
                }
                first = false;
                gate::finish_errors(&mut response.errors, &this.state.db);
                if let Some(order) = &order {
                    order.apply(&mut response.data);
                }
                yield response;
            }
        }
        .boxed()
    }
}
