//! `GET /export/commitments.csv` and `.json`: the commitments matching the same filters as
//! the GraphQL `commitments` field (as query parameters), streamed page by page so the
//! server never holds the whole export. `?excel=1` adds a UTF-8 byte-order mark and CRLF
//! line ends, so spreadsheet programs open it with accents intact; `?excel=fr` also
//! separates fields with `;` and writes the counted amounts and rates with a decimal comma,
//! as French Excel reads them.
//!
//! Beside the recorded amounts, each row says how it counts in a total and its counted
//! amount in the reporting currency (`?currency=`, EUR by default) with the rates applied:
//! the `counted_low`/`counted_high` columns add up, to the cent, to `totals` for the same
//! filter (its low and high scenario sums on the new-money basis).

use axum::{
    body::{Body, Bytes},
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{AppState, gate::Reader};
use crate::{
    domain::{
        FieldError,
        codes::CurrencyCode,
        fx::{EuroRate, FxPolicy},
        report::ledger::Line,
        totals::TotalsQuery,
    },
    error::{ApiError, code},
    graphql::inputs::CommitmentFilterInput,
    storage::{export::CommitmentRow, read::CommitmentFilter},
};

/// Rows per database page of the stream.
const PAGE: u64 = 100;

/// The CSV columns, in order.
const COLUMNS: [&str; 23] = [
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
    "counted_as",
    "counted_low",
    "counted_high",
    "counted_currency",
    "rates",
    "counted_note",
];

/// How a spreadsheet reads the file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// Comma, LF, decimal point.
    Plain,
    /// Comma, CRLF, decimal point, byte-order mark.
    Excel,
    /// Semicolon, CRLF, decimal comma in the counted columns, byte-order mark.
    ExcelFrench,
}

impl Dialect {
    fn number(self, s: String) -> String {
        if self == Self::ExcelFrench { s.replace('.', ",") } else { s }
    }
}

/// A rate as the reader checks it: "USD 1.0377 per EUR, 2025-02-10".
fn describe_rate(rate: &EuroRate) -> String {
    match rate.average_of {
        Some((year, n)) => format!("{} {} per EUR, {year} average of {n}", rate.quote, rate.rate.normalize()),
        None => format!("{} {} per EUR, {}", rate.quote, rate.rate.normalize(), rate.on),
    }
}

/// A counted amount in minor units of `currency`, with its digits.
fn counted_amount(minor: i128, currency: CurrencyCode) -> String {
    rust_decimal::Decimal::from_i128_with_scale(minor, currency.exponent()).to_string()
}

fn csv_record(row: &CommitmentRow, line: &Line, currency: CurrencyCode, dialect: Dialect) -> [String; 23] {
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
        line.counted_as.as_str().to_owned(),
        line.counted.map(|p| dialect.number(counted_amount(p.low, currency))).unwrap_or_default(),
        line.counted.map(|p| dialect.number(counted_amount(p.high, currency))).unwrap_or_default(),
        currency.as_str().to_owned(),
        dialect.number(line.rates.iter().map(describe_rate).collect::<Vec<_>>().join("; ")),
        line.note.clone(),
    ]
}

fn csv_chunk(
    rows: &[CommitmentRow],
    lines: &[Line],
    currency: CurrencyCode,
    header: bool,
    dialect: Dialect,
) -> std::io::Result<Bytes> {
    let terminator = if dialect == Dialect::Plain { csv::Terminator::Any(b'\n') } else { csv::Terminator::CRLF };
    let delimiter = if dialect == Dialect::ExcelFrench { b';' } else { b',' };
    let mut writer = csv::WriterBuilder::new().terminator(terminator).delimiter(delimiter).from_writer(Vec::new());
    if header {
        writer.write_record(COLUMNS)?;
    }
    for (row, line) in rows.iter().zip(lines) {
        writer.write_record(csv_record(row, line, currency, dialect))?;
    }
    writer.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()))
}

fn json_chunk(rows: &[CommitmentRow], lines: &[Line], currency: CurrencyCode, first: bool) -> std::io::Result<Bytes> {
    let mut out = Vec::new();
    for (i, (row, line)) in rows.iter().zip(lines).enumerate() {
        if !(first && i == 0) {
            out.extend_from_slice(b",\n");
        }
        let mut value = serde_json::to_value(row)?;
        value["sources"] = row
            .sources
            .iter()
            .map(|(publisher, title, url)| serde_json::json!({ "publisher": publisher, "title": title, "url": url }))
            .collect();
        value["counted"] = serde_json::json!({
            "as": line.counted_as.as_str(),
            "low": line.counted.map(|p| counted_amount(p.low, currency)),
            "high": line.counted.map(|p| counted_amount(p.high, currency)),
            "currency": currency.as_str(),
            "rates": line.rates.iter().map(describe_rate).collect::<Vec<_>>(),
            "note": line.note,
        });
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

/// The spreadsheet dialect and the reporting currency of the counted columns.
fn dialect_and_currency(params: &[(String, String)]) -> Result<(Dialect, CurrencyCode), ApiError> {
    let mut dialect = Dialect::Plain;
    let mut currency = CurrencyCode::parse("currency", "EUR")?;
    for (k, v) in params {
        match (k.as_str(), v.as_str()) {
            ("excel", "1" | "true") => dialect = Dialect::Excel,
            ("excel", "fr") => dialect = Dialect::ExcelFrench,
            ("excel", "0" | "false") => dialect = Dialect::Plain,
            ("excel", _) => return Err(FieldError::new("excel", "is 1 (Excel), fr (French Excel) or 0").into()),
            ("currency", v) => currency = CurrencyCode::parse("currency", v)?,
            _ => {}
        }
    }
    Ok((dialect, currency))
}

pub(super) async fn commitments(state: AppState, params: Vec<(String, String)>, format: Format) -> Response {
    let (dialect, currency) = match dialect_and_currency(&params) {
        Ok(found) => found,
        Err(err) => return refusal(err),
    };
    let filter = match commitment_filter_from_params(&params) {
        Ok(filter) => filter,
        Err(err) => return refusal(err),
    };
    let query = TotalsQuery {
        filter: filter.clone(),
        group_by: Vec::new(),
        currency,
        fx: FxPolicy::AnnouncementDate,
        as_of: None,
        known_at: None,
    };
    // The first page is read before the status line is sent: a failure is still a proper
    // error answer, not a stream cut after a 200.
    let first = async {
        let mut counted = state.db.counted_columns(query).await?;
        let page = state.db.commitment_rows(&filter, None, PAGE).await?;
        let lines = state.db.counted_lines(&mut counted, &page.0).await?;
        Ok::<_, crate::storage::StorageError>((counted, page, lines))
    };
    let (mut counted, first_page, first_lines) = match first.await {
        Ok(found) => found,
        Err(err) => return refusal(err.into()),
    };
    let db = state.db.clone();
    let stream = async_stream::stream! {
        if format == Format::Csv && dialect != Dialect::Plain {
            yield Ok::<Bytes, std::io::Error>(Bytes::from_static("\u{feff}".as_bytes()));
        }
        if format == Format::Json {
            yield Ok(Bytes::from_static(b"[\n"));
        }
        let (mut rows, mut next) = first_page;
        let mut lines = first_lines;
        let mut first = true;
        loop {
            yield match format {
                Format::Csv => csv_chunk(&rows, &lines, currency, first, dialect),
                Format::Json => json_chunk(&rows, &lines, currency, first),
            };
            first = first && rows.is_empty();
            let Some(cursor) = next else { break };
            let page = async {
                let page = db.commitment_rows(&filter, Some(&cursor), PAGE).await?;
                let lines = db.counted_lines(&mut counted, &page.0).await?;
                Ok::<_, crate::storage::StorageError>((page, lines))
            };
            match page.await {
                Ok(((page, cursor), page_lines)) => {
                    (rows, next) = (page, cursor);
                    lines = page_lines;
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
        } else if !["excel", "currency"].contains(&name) {
            return Err(FieldError::new(name, "is not a filter of commitments").into());
        }
    }
    let value = async_graphql::Value::from_json(serde_json::Value::Object(object))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let input = <CommitmentFilterInput as async_graphql::InputType>::parse(Some(value))
        .map_err(|e| FieldError::new("filter", e.into_server_error(Default::default()).message))?;
    input.into_filter()
}
