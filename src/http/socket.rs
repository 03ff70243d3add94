//! GraphQL over WebSocket (graphql-transport-ws, and the older graphql-ws). Every
//! operation on a socket passes the same gate as an HTTP request: the rate limit of its
//! client, its token checked again (a token revoked while the socket is open stops working
//! at once, on every replica, as revocation is a row in the shared database), private
//! reads, and the document's limits with a single parse.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::{Data, Executor, Request, Response, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{ConnectInfo, State, ws::WebSocketUpgrade},
    response::Response as HttpResponse,
};
use futures_util::{StreamExt, stream::BoxStream};

use super::{AppState, gate};
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
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let header_token = caller.token;
    let ip = connect.ok().map(|c| c.0.ip());
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let executor = SocketExecutor { state: state.clone(), ip };
        GraphQLWebSocket::new(socket, executor, protocol)
            .on_connection_init(move |payload| async move {
                let token = payload_token(&payload).or(header_token);
                let caller = gate::Caller::resolve(&state, token.as_deref(), ip)
                    .await
                    .map_err(|e| async_graphql::Error::new(e.message))?;
                caller.may_read(&state).map_err(|e| async_graphql::Error::new(e.message))?;
                let mut data = Data::default();
                data.insert(SocketToken(token));
                Ok(data)
            })
            .serve()
    })
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
                yield response;
            }
        }
        .boxed()
    }
}
