//! `GET /export/commitments.csv` and `.json`: the commitments matching the same filters as
//! the GraphQL `commitments` field (as query parameters), streamed page by page so the
//! server never holds the whole export. `?excel=1` adds a UTF-8 byte-order mark and CRLF
//! line ends, so spreadsheet programs open it with accents intact.

use axum::{
    body::{Body, Bytes},
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{AppState, gate::Reader};
use crate::{
    domain::FieldError,
    error::{ApiError, code},
    graphql::inputs::CommitmentFilterInput,
    storage::{export::CommitmentRow, read::CommitmentFilter},
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

pub(super) async fn commitments(state: AppState, params: Vec<(String, String)>, format: Format) -> Response {
    let excel = params.iter().any(|(k, v)| k == "excel" && (v == "1" || v == "true"));
    let filter = match commitment_filter_from_params(&params) {
        Ok(filter) => filter,
        Err(err) => return refusal(err),
    };
    // The first page is read before the status line is sent: a failure is still a proper
    // error answer, not a stream cut after a 200.
    let first_page = match state.db.commitment_rows(&filter, None, PAGE).await {
        Ok(page) => page,
        Err(err) => return refusal(err.into()),
    };
    let db = state.db.clone();
    let stream = async_stream::stream! {
        if format == Format::Csv && excel {
            yield Ok::<Bytes, std::io::Error>(Bytes::from_static("\u{feff}".as_bytes()));
        }
        if format == Format::Json {
            yield Ok(Bytes::from_static(b"[\n"));
        }
        let (mut rows, mut next) = first_page;
        let mut first = true;
        loop {
            yield match format {
                Format::Csv => csv_chunk(&rows, first, excel),
                Format::Json => json_chunk(&rows, first),
            };
            first = first && rows.is_empty();
            let Some(cursor) = next else { break };
            match db.commitment_rows(&filter, Some(&cursor), PAGE).await {
                Ok(page) => (rows, next) = page,
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

/// An API error as a refusal with its code's status (`BAD_USER_INPUT` is 400 here: there
/// is no partial answer to give).
pub(super) fn refusal(err: ApiError) -> Response {
    let error: async_graphql::Error = err.into();
    let code = error
        .extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .map(|c| c.to_string().trim_matches('"').to_owned())
        .unwrap_or_else(|| code::INTERNAL_SERVER_ERROR.to_owned());
    let status = code::http_status(&code).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({ "errors": [{ "message": error.message, "extensions": error.extensions }] });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    response
}

pub(super) async fn commitments_csv(
    State(state): State<AppState>,
    _reader: Reader,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    commitments(state, params, Format::Csv).await
}

pub(super) async fn commitments_json(
    State(state): State<AppState>,
    _reader: Reader,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    commitments(state, params, Format::Json).await
}

/// The `commitments` filter from URL query parameters, for the export endpoints: the same
/// names and checks as the GraphQL filter (`events=a,b`, `pledgerKinds=COMPANY`,
/// `announcedFrom=2025-01-01`, `topLevel=true`, `text=elysee`). List parameters take commas
/// or repeats; `sectors` only repeats, as sector names hold commas.
pub fn commitment_filter_from_params(params: &[(String, String)]) -> Result<CommitmentFilter, ApiError> {
    const LISTS: [&str; 10] = [
        "events",
        "pledgers",
        "pledgerKinds",
        "pledgerCountries",
        "beneficiaries",
        "recipientCountries",
        "sectors",
        "kinds",
        "statuses",
        "currencies",
    ];
    const LIST_RELATIONS: &str = "relations";
    let mut object = serde_json::Map::new();
    for (name, value) in params {
        let name = name.as_str();
        if LISTS.contains(&name) || name == LIST_RELATIONS {
            let entry = object.entry(name.to_owned()).or_insert_with(|| serde_json::Value::Array(Vec::new()));
            let parts: Vec<&str> = if name == "sectors" { vec![value.as_str()] } else { value.split(',').collect() };
            if let serde_json::Value::Array(list) = entry {
                list.extend(parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).map(|p| p.to_owned().into()));
            }
        } else if name == "topLevel" {
            let flag = match value.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(FieldError::new("topLevel", "is true or false").into()),
            };
            object.insert(name.to_owned(), flag.into());
        } else if [
            "announcedFrom",
            "announcedTo",
            "amountMin",
            "amountMax",
            "partOf",
            "text",
            "updatedSince",
            "updatedBefore",
        ]
        .contains(&name)
        {
            object.insert(name.to_owned(), value.clone().into());
        } else if !["excel"].contains(&name) {
            return Err(FieldError::new(name, "is not a filter of commitments").into());
        }
    }
    let value = async_graphql::Value::from_json(serde_json::Value::Object(object))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let input = <CommitmentFilterInput as async_graphql::InputType>::parse(Some(value))
        .map_err(|e| FieldError::new("filter", e.into_server_error(Default::default()).message))?;
    input.into_filter()
}
