//! `GET /changes.atom`: the changes feed (the GraphQL `changes` field) as Atom, so that a
//! newsroom's feed reader follows the tracker. `?event=slug` keeps the event and the
//! commitments made at it, `?coalition=slug` the coalition and its signatures,
//! `?entities=COMMITMENT,SIGNATURE` those kinds of record, `?first=N` (default 50, at most
//! 200) the newest N.

use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, Uri, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};

use super::{AppState, export::refusal, gate::Reader};
use crate::{
    domain::{FieldError, changes},
    error::ApiResultExt,
    storage::audit::{ALL_BUT_TOKENS, ChangesFilter, Subject},
};

/// Entries when `first` is not given, and at most.
const DEFAULT_ENTRIES: u64 = 50;
const MAX_ENTRIES: u64 = 200;

fn subject(raw: &str) -> Result<Subject, FieldError> {
    let all = ALL_BUT_TOKENS;
    all.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(raw)).ok_or_else(|| {
        let names: Vec<String> = all.iter().map(|s| s.as_str().to_ascii_uppercase()).collect();
        FieldError::new("entities", format!("{raw:?} is not one of {}", names.join(", ")))
    })
}

/// The filter and size of the feed from its query parameters.
fn parse(params: &[(String, String)]) -> Result<(ChangesFilter, u64), FieldError> {
    let mut filter = ChangesFilter::default();
    let mut first = DEFAULT_ENTRIES;
    for (name, value) in params {
        match name.as_str() {
            "event" => filter.event = Some(value.clone()),
            "coalition" => filter.coalition = Some(value.clone()),
            "entities" => {
                for raw in value.split(',').filter(|v| !v.is_empty()) {
                    filter.subjects.push(subject(raw.trim())?);
                }
            }
            "since" => {
                let at = DateTime::parse_from_rfc3339(value)
                    .map_err(|_| FieldError::new("since", format!("{value:?} is not an RFC 3339 date-time")))?;
                filter.since = Some(at.with_timezone(&Utc));
            }
            "first" => {
                first = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_ENTRIES).contains(n))
                    .ok_or_else(|| FieldError::new("first", format!("must be between 1 and {MAX_ENTRIES}")))?;
            }
            other => return Err(FieldError::new(other, "is not a parameter of the feed")),
        }
    }
    Ok((filter, first))
}

/// The address the client used, for the feed's `self` link and ids.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    format!("{scheme}://{host}")
}

fn entry(row: &entity::audit_entry::Model, base: &str) -> Entry {
    let (before, after) = (changes::record(row.before.as_deref()), changes::record(row.after.as_deref()));
    let summary = changes::summary(&row.action, &row.entity_kind, &row.slug, before.as_ref(), after.as_ref());
    let details: Vec<String> = changes::field_changes(before.as_ref(), after.as_ref())
        .into_iter()
        .map(|c| {
            let show = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_owned());
            format!("{}: {} → {}", c.field, show(c.before), show(c.after))
        })
        .collect();
    let at = row.at.fixed_offset();
    Entry {
        title: Text::plain(summary.clone()),
        id: format!("{base}/changes.atom#change-{}", row.id),
        updated: at,
        published: Some(at),
        authors: vec![Person { name: row.actor.clone(), ..Person::default() }],
        summary: Some(Text::plain(summary)),
        content: (!details.is_empty()).then(|| Content {
            value: Some(details.join("\n")),
            content_type: Some("text".to_owned()),
            ..Content::default()
        }),
        ..Entry::default()
    }
}

pub(super) async fn changes_atom(
    State(state): State<AppState>,
    _reader: Reader,
    headers: HeaderMap,
    uri: Uri,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (filter, first) = match parse(&params) {
        Ok(parsed) => parsed,
        Err(error) => return refusal(error.into()),
    };
    let page = match state.db.changes(&filter, crate::storage::read::Window::first(first, None)).await.api() {
        Ok(page) => page,
        Err(error) => return refusal(error),
    };
    let base = base_url(&headers);
    // The address as the client wrote it (path and query, still percent-encoded).
    let self_url = format!("{base}{}", uri.path_and_query().map_or("/changes.atom", |p| p.as_str()));
    let mut title = "pledgewatch: what changed".to_owned();
    if let Some(event) = &filter.event {
        title.push_str(&format!(" (event {event})"));
    }
    if let Some(coalition) = &filter.coalition {
        title.push_str(&format!(" (coalition {coalition})"));
    }
    let entries: Vec<Entry> = page.rows.iter().map(|(row, _)| entry(row, &base)).collect();
    let updated = page.rows.first().map_or_else(|| Utc::now().fixed_offset(), |(row, _)| row.at.fixed_offset());
    let feed = Feed {
        title: Text::plain(title),
        id: self_url.clone(),
        updated,
        authors: vec![Person { name: "pledgewatch".to_owned(), ..Person::default() }],
        links: vec![Link { href: self_url, rel: "self".to_owned(), ..Link::default() }],
        entries,
        ..Feed::default()
    };
    let mut response = feed.to_string().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/atom+xml; charset=utf-8"));
    response
}
