//! `GET /export/commitments.csv` and `.json`: the commitments matching the same filters as
//! the GraphQL `commitments` field (as query parameters), streamed page by page so the
//! server never holds the whole export. `?excel=1` adds a UTF-8 byte-order mark and CRLF
//! line ends, so spreadsheet programs open it with accents intact.

use axum::{
    body::{Body, Bytes},
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{AppState, denied, principal};
use crate::{
    auth::{Principal, Role, require},
    graphql::query::commitment_filter_from_params,
    storage::export::CommitmentRow,
};

/// Rows per database page of the stream.
const PAGE: u64 = 100;

/// The CSV columns, in order.
const COLUMNS: [&str; 17] = [
    "slug",
    "title",
    "pledger",
    "pledger_name",
    "event",
    "announced_on",
    "amount_low",
    "amount_high",
    "currency",
    "kind",
    "status",
    "recipient_country",
    "sector",
    "parent",
    "relation",
    "retracted",
    "sources",
];

fn csv_record(row: &CommitmentRow) -> [String; 17] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let sources = row
        .sources
        .iter()
        .map(|(publisher, title, url)| format!("{publisher}: {title} <{url}>"))
        .collect::<Vec<_>>()
        .join("; ");
    [
        row.slug.clone(),
        row.title.clone(),
        row.pledger.clone(),
        row.pledger_name.clone(),
        opt(&row.event),
        opt(&row.announced_on),
        opt(&row.amount_low),
        opt(&row.amount_high),
        row.currency.clone(),
        row.kind.clone(),
        row.status.clone(),
        opt(&row.recipient_country),
        opt(&row.sector),
        opt(&row.parent),
        opt(&row.relation),
        row.retracted.to_string(),
        sources,
    ]
}

fn csv_chunk(rows: &[CommitmentRow], header: bool, excel: bool) -> std::io::Result<Bytes> {
    let terminator = if excel { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
    let mut writer = csv::WriterBuilder::new().terminator(terminator).from_writer(Vec::new());
    if header {
        writer.write_record(COLUMNS)?;
    }
    for row in rows {
        writer.write_record(csv_record(row))?;
    }
    writer.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()))
}

fn json_chunk(rows: &[CommitmentRow], first: bool) -> std::io::Result<Bytes> {
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if !(first && i == 0) {
            out.extend_from_slice(b",\n");
        }
        let mut value = serde_json::to_value(row)?;
        value["sources"] = row
            .sources
            .iter()
            .map(|(publisher, title, url)| serde_json::json!({ "publisher": publisher, "title": title, "url": url }))
            .collect();
        serde_json::to_writer(&mut out, &value)?;
    }
    Ok(Bytes::from(out))
}

/// The two export formats.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Csv,
    Json,
}

pub(super) async fn commitments(
    state: AppState,
    headers: HeaderMap,
    params: Vec<(String, String)>,
    format: Format,
) -> Response {
    match principal(&state, &headers).await {
        Ok(Principal::Invalid) => {
            return denied(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "the bearer token is malformed, unknown or revoked",
            );
        }
        Ok(p) if !state.public_reads && require(&p, Role::Reader).is_err() => {
            return denied(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "reads need a token on this server");
        }
        Ok(_) => {}
        Err(response) => return response,
    }
    let excel = params.iter().any(|(k, v)| k == "excel" && (v == "1" || v == "true"));
    let filter = match commitment_filter_from_params(&params) {
        Ok(filter) => filter,
        Err(err) => {
            let error: async_graphql::Error = err.into();
            let message = error.message.clone();
            let body = serde_json::json!({ "errors": [{ "message": message, "extensions": error.extensions }] });
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    };
    let db = state.db.clone();
    let stream = async_stream::stream! {
        if format == Format::Csv && excel {
            yield Ok::<Bytes, std::io::Error>(Bytes::from_static("\u{feff}".as_bytes()));
        }
        if format == Format::Json {
            yield Ok(Bytes::from_static(b"[\n"));
        }
        let mut after: Option<String> = None;
        let mut first = true;
        loop {
            match db.commitment_rows(&filter, after.as_deref(), PAGE).await {
                Ok((rows, next)) => {
                    yield match format {
                        Format::Csv => csv_chunk(&rows, first, excel),
                        Format::Json => json_chunk(&rows, first),
                    };
                    first = first && rows.is_empty();
                    match next {
                        Some(cursor) => after = Some(cursor),
                        None => break,
                    }
                }
                Err(err) => {
                    // The status line is sent: cut the stream so the client sees a failure.
                    tracing::error!(%err, "the export stream failed");
                    yield Err(std::io::Error::other("the export failed"));
                    return;
                }
            }
        }
        if format == Format::Json {
            yield Ok(Bytes::from_static(b"\n]\n"));
        }
    };
    let (content_type, file) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "commitments.csv"),
        Format::Json => ("application/json", "commitments.json"),
    };
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub(super) async fn commitments_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    commitments(state, headers, params, Format::Csv).await
}

pub(super) async fn commitments_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    commitments(state, headers, params, Format::Json).await
}
