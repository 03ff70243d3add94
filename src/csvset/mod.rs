//! The CSV set: one file per collection, for newsrooms that keep their data in spreadsheets.
//! It holds exactly what the JSON import format holds. Lists (sources, aliases) are one cell,
//! values joined with `|`; a commitment's status history lives in `status_history.csv` and
//! its retraction in three `retraction_*` columns. Every file is optional on import.
//!
//! Reading turns rows into the JSON format's records and remembers where each came from,
//! so that a problem found later (by validation or in the database) names file, row and
//! column.

mod specs;
mod write;

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
};

use serde_json::{Map, Value};

use self::specs::*;
pub use self::{
    specs::{FILES, LIST_SEPARATOR},
    write::write_dir,
};
use crate::domain::records::{CommitmentRecord, DataSet, FORMAT, Problem, RetractionRecord, StatusRecord};

/// Where a problem is: file, row (the line in the file, the header being line 1) and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    pub file: String,
    pub row: u64,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.row, self.column, self.reason)
    }
}

/// Where each record of a read set came from, to place later problems.
#[derive(Debug, Default)]
pub struct Origins {
    /// Per collection of the JSON format, the line of each record.
    lines: HashMap<&'static str, Vec<u64>>,
    /// Per commitment (by index), the lines of its status rows.
    statuses: HashMap<usize, Vec<u64>>,
}

impl Origins {
    /// Places a problem of the import (collection, index, field) in the CSV set.
    pub fn locate(&self, problem: &Problem) -> CsvProblem {
        let spec = spec_of(problem.collection);
        let line = self.lines.get(problem.collection).and_then(|l| l.get(problem.index)).copied().unwrap_or(0);
        let field = problem.error.field.as_str();
        let (file, row, column) = if let Some(rest) = field.strip_prefix("statusHistory[") {
            let (n, inner) = rest.split_once("].").unwrap_or((rest.trim_end_matches(']'), ""));
            let row = n
                .parse::<usize>()
                .ok()
                .and_then(|n| self.statuses.get(&problem.index).and_then(|s| s.get(n)))
                .copied()
                .unwrap_or(line);
            (STATUS_HISTORY.file, row, column_of(inner))
        } else if let Some(inner) = field.strip_prefix("retraction.") {
            // reason → retraction_reason, sources → retraction_sources, retractedOn as is.
            let column = match column_of(inner) {
                c if c == "retracted_on" => c,
                c => format!("retraction_{c}"),
            };
            (spec.map_or("?", |s| s.file), line, column)
        } else {
            (spec.map_or("?", |s| s.file), line, column_of(field))
        };
        CsvProblem { file: file.to_owned(), row, column, reason: problem.error.message.clone() }
    }
}

fn spec_of(collection: &str) -> Option<&'static FileSpec> {
    [
        &SOURCES,
        &ACTORS,
        &EVENTS,
        &COMMITMENTS,
        &TARGETS,
        &OVERLAPS,
        &COALITIONS,
        &SIGNATURES,
        &REPORTED_COUNTS,
        &CLAIMS,
        &RATES,
    ]
    .into_iter()
    .find(|s| s.file.trim_end_matches(".csv") == collection)
}

/// `amountLow` → `amount_low`, `sources[2]` → `sources`, `parent` → `parent`.
fn column_of(field: &str) -> String {
    let base = field.split('[').next().unwrap_or(field);
    let mut out = String::with_capacity(base.len() + 4);
    for c in base.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The rows of one file, read one at a time as JSON objects of the record format, each
/// with its line. A missing file has no rows.
struct FileRows {
    spec: &'static FileSpec,
    reader: Option<csv::Reader<std::fs::File>>,
    headers: Vec<String>,
}

impl FileRows {
    fn open(dir: &Path, spec: &'static FileSpec, problems: &mut Vec<CsvProblem>) -> Self {
        let mut rows = Self { spec, reader: None, headers: Vec::new() };
        let path = dir.join(spec.file);
        if !path.exists() {
            return rows;
        }
        let mut reader = match csv::ReaderBuilder::new().flexible(false).from_path(&path) {
            Ok(r) => r,
            Err(e) => {
                problems.push(rows.problem(0, "-", format!("cannot read: {e}")));
                return rows;
            }
        };
        rows.headers = match reader.headers() {
            Ok(h) => h.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_owned()).collect(),
            Err(e) => {
                problems.push(rows.problem(1, "-", format!("cannot read the header: {e}")));
                return rows;
            }
        };
        for h in &rows.headers {
            if !spec.columns.contains(&h.as_str()) {
                problems.push(rows.problem(
                    1,
                    h,
                    format!("unknown column (expected some of: {})", spec.columns.join(", ")),
                ));
            }
        }
        rows.reader = Some(reader);
        rows
    }

    fn problem(&self, row: u64, column: &str, reason: String) -> CsvProblem {
        CsvProblem { file: self.spec.file.to_owned(), row, column: column.to_owned(), reason }
    }

    /// The next row that reads as a record; rows that do not are reported and skipped.
    fn next(&mut self, problems: &mut Vec<CsvProblem>) -> Option<(u64, Map<String, Value>)> {
        let spec = self.spec;
        let mut record = csv::StringRecord::new();
        loop {
            let read = self.reader.as_mut()?.read_record(&mut record);
            match read {
                Ok(true) => {}
                Ok(false) => {
                    self.reader = None;
                    return None;
                }
                Err(e) => {
                    let row = e.position().map_or(0, |p| p.line());
                    problems.push(self.problem(row, "-", format!("not a CSV row: {e}")));
                    continue;
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            let mut object = Map::new();
            let mut good = true;
            for (header, cell) in self.headers.iter().zip(record.iter()) {
                let column = header.as_str();
                if !spec.columns.contains(&column) {
                    continue;
                }
                let cell = cell.trim();
                let value = if spec.lists.contains(&column) {
                    Value::Array(
                        cell.split(LIST_SEPARATOR)
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(|v| Value::String(v.to_owned()))
                            .collect(),
                    )
                } else if spec.bools.contains(&column) {
                    match cell.to_ascii_lowercase().as_str() {
                        "" | "false" | "no" | "0" => Value::Bool(false),
                        "true" | "yes" | "1" => Value::Bool(true),
                        _ => {
                            problems.push(self.problem(line, column, format!("{cell:?} is not true or false")));
                            good = false;
                            continue;
                        }
                    }
                } else if spec.ints.contains(&column) {
                    if cell.is_empty() {
                        Value::Null
                    } else {
                        match cell.parse::<i32>() {
                            Ok(n) => Value::from(n),
                            Err(_) => {
                                problems.push(self.problem(line, column, format!("{cell:?} is not a whole number")));
                                good = false;
                                continue;
                            }
                        }
                    }
                } else if cell.is_empty() {
                    Value::Null
                } else {
                    Value::String(cell.to_owned())
                };
                object.insert(column.to_owned(), value);
            }
            if good {
                return Some((line, object));
            }
        }
    }
}

/// Required text columns missing from a row become empty text, so that validation names them.
fn fill_required(object: &mut Map<String, Value>, required: &[&str]) {
    for column in required {
        let entry = object.entry(column.to_string()).or_insert(Value::Null);
        if entry.is_null() {
            *entry = Value::String(String::new());
        }
    }
}

/// The CSV set read in parts, so that a large set never sits in memory whole: the small
/// files at once ([`SetReader::head`], [`SetReader::tail`]), commitments and status rows a
/// batch at a time. Problems in the files themselves (a cell that is not a number, a
/// column not of the set) are kept and handed over by [`SetReader::take_problems`].
pub struct SetReader {
    dir: PathBuf,
    problems: Vec<CsvProblem>,
    commitments: FileRows,
    statuses: FileRows,
}

/// A status row of `status_history.csv`: its commitment, line and record.
pub type StatusLine = (String, u64, StatusRecord);

impl SetReader {
    /// Opens the set in `dir`; fails when it holds none of the set's files.
    pub fn open(dir: &Path) -> Result<Self, Vec<CsvProblem>> {
        if !FILES.iter().any(|f| dir.join(f).exists()) {
            return Err(vec![CsvProblem {
                file: dir.display().to_string(),
                row: 0,
                column: "-".into(),
                reason: format!("no file of the CSV set here (expected some of: {})", FILES.join(", ")),
            }]);
        }
        let mut problems = Vec::new();
        let commitments = FileRows::open(dir, &COMMITMENTS, &mut problems);
        let statuses = FileRows::open(dir, &STATUS_HISTORY, &mut problems);
        Ok(Self { dir: dir.to_owned(), problems, commitments, statuses })
    }

    /// Every problem found in the files so far.
    pub fn take_problems(&mut self) -> Vec<CsvProblem> {
        std::mem::take(&mut self.problems)
    }

    /// Sources, actors and events: what commitments refer to.
    pub fn head(&mut self) -> (DataSet, Origins) {
        let mut data = DataSet { format: FORMAT.to_owned(), ..DataSet::default() };
        let mut origins = Origins::default();
        self.read(&SOURCES, &mut data.sources, &mut origins, &["slug", "url", "publisher", "title"]);
        self.read(&ACTORS, &mut data.actors, &mut origins, &["slug", "name", "kind"]);
        self.read(&EVENTS, &mut data.events, &mut origins, &["slug", "name", "kind"]);
        (data, origins)
    }

    /// Targets, overlaps, coalitions, signatures and exchange rates: what refers to
    /// commitments and actors.
    pub fn tail(&mut self) -> (DataSet, Origins) {
        let mut data = DataSet { format: FORMAT.to_owned(), ..DataSet::default() };
        let mut origins = Origins::default();
        self.read(&TARGETS, &mut data.fundraising_targets, &mut origins, &["actor", "currency"]);
        self.read(&OVERLAPS, &mut data.overlaps, &mut origins, &["later", "currency"]);
        self.read(&COALITIONS, &mut data.coalitions, &mut origins, &["slug", "name", "kind"]);
        self.read(&SIGNATURES, &mut data.signatures, &mut origins, &["coalition", "actor", "stance"]);
        let required = ["coalition", "kind", "wording"];
        self.read(&REPORTED_COUNTS, &mut data.reported_counts, &mut origins, &required);
        let required = ["slug", "commitment", "claimant", "currency"];
        self.read(&CLAIMS, &mut data.claims, &mut origins, &required);
        self.read(&RATES, &mut data.exchange_rates, &mut origins, &["date", "base", "quote", "rate"]);
        (data, origins)
    }

    fn read<T: serde::de::DeserializeOwned>(
        &mut self,
        spec: &'static FileSpec,
        into: &mut Vec<T>,
        origins: &mut Origins,
        required: &[&str],
    ) {
        let mut rows = FileRows::open(&self.dir, spec, &mut self.problems);
        let mut lines = Vec::new();
        while let Some((line, mut object)) = rows.next(&mut self.problems) {
            fill_required(&mut object, required);
            if spec.lists.contains(&"sources") {
                object.entry("sources").or_insert(Value::Array(vec![]));
            }
            match serde_json::from_value(Value::Object(object)) {
                Ok(record) => {
                    into.push(record);
                    lines.push(line);
                }
                Err(e) => self.problems.push(rows.problem(line, "-", e.to_string())),
            }
        }
        origins.lines.insert(spec.file.trim_end_matches(".csv"), lines);
    }

    /// Up to `max` more rows of `commitments.csv` (none at the end), each with its line;
    /// the retraction columns fold into one object.
    pub fn commitments(&mut self, max: usize) -> Vec<(u64, CommitmentRecord)> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some((line, mut object)) = self.commitments.next(&mut self.problems) else { break };
            let reason = object.remove("retraction_reason");
            let retracted_on = object.remove("retracted_on");
            let retraction_sources = object.remove("retraction_sources");
            fill_required(&mut object, &["slug", "title", "pledger", "currency", "kind", "status"]);
            object.entry("sources").or_insert(Value::Array(vec![]));
            match serde_json::from_value::<CommitmentRecord>(Value::Object(object)) {
                Ok(mut record) => {
                    if let Some(Value::String(reason)) = reason {
                        let on = retracted_on.and_then(|v| v.as_str().map(str::to_owned));
                        let sources = match retraction_sources {
                            Some(Value::Array(list)) => {
                                list.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
                            }
                            _ => Vec::new(),
                        };
                        record.retraction = Some(RetractionRecord { reason, retracted_on: on, sources });
                    }
                    out.push((line, record));
                }
                Err(e) => self.problems.push(self.commitments.problem(line, "-", e.to_string())),
            }
        }
        out
    }

    /// Up to `max` more rows of `status_history.csv` (none at the end).
    pub fn status_rows(&mut self, max: usize) -> Vec<StatusLine> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some((line, mut object)) = self.statuses.next(&mut self.problems) else { break };
            let slug = object.remove("commitment").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            fill_required(&mut object, &["status"]);
            object.entry("sources").or_insert(Value::Array(vec![]));
            match serde_json::from_value::<StatusRecord>(Value::Object(object)) {
                Ok(status) => out.push((slug, line, status)),
                Err(e) => self.problems.push(self.statuses.problem(line, "-", e.to_string())),
            }
        }
        out
    }
}

/// A batch of commitments as a data set, each with its status rows (in file order), and
/// where each came from.
pub fn commitment_batch(
    rows: Vec<(u64, CommitmentRecord)>,
    mut statuses: HashMap<String, Vec<(u64, StatusRecord)>>,
) -> (DataSet, Origins) {
    let mut data = DataSet { format: FORMAT.to_owned(), ..DataSet::default() };
    let mut origins = Origins::default();
    let mut lines = Vec::with_capacity(rows.len());
    for (line, mut record) in rows {
        if let Some(list) = statuses.remove(&record.slug) {
            let (status_lines, records): (Vec<u64>, Vec<StatusRecord>) = list.into_iter().unzip();
            origins.statuses.insert(data.commitments.len(), status_lines);
            record.status_history = records;
        }
        data.commitments.push(record);
        lines.push(line);
    }
    origins.lines.insert("commitments", lines);
    (data, origins)
}

/// The problem of a status row whose commitment is not in `commitments.csv`.
pub fn orphan_status(slug: &str, line: u64) -> CsvProblem {
    CsvProblem {
        file: STATUS_HISTORY.file.into(),
        row: line,
        column: "commitment".into(),
        reason: format!("no commitment {slug:?} in {}", COMMITMENTS.file),
    }
}

/// Reads the whole CSV set in `dir` at once (small sets; a bulk import streams it with
/// [`SetReader`]). On success the data set and where each record came from; otherwise
/// every problem found in the files.
pub fn read_dir(dir: &Path) -> Result<(DataSet, Origins), Vec<CsvProblem>> {
    let mut reader = SetReader::open(dir)?;
    let (mut data, mut origins) = reader.head();
    let mut statuses: HashMap<String, Vec<(u64, StatusRecord)>> = HashMap::new();
    for (slug, line, status) in reader.status_rows(usize::MAX) {
        statuses.entry(slug).or_default().push((line, status));
    }
    let rows = reader.commitments(usize::MAX);
    let slugs: std::collections::HashSet<&str> = rows.iter().map(|(_, c)| c.slug.as_str()).collect();
    let mut orphans: Vec<CsvProblem> = statuses
        .iter()
        .filter(|(slug, _)| !slugs.contains(slug.as_str()))
        .flat_map(|(slug, list)| list.iter().map(|(line, _)| orphan_status(slug, *line)))
        .collect();
    orphans.sort_by_key(|p| p.row);
    let (batch, batch_origins) = commitment_batch(rows, statuses);
    data.commitments = batch.commitments;
    origins.lines.extend(batch_origins.lines);
    origins.statuses = batch_origins.statuses;
    let (tail, tail_origins) = reader.tail();
    data.fundraising_targets = tail.fundraising_targets;
    data.overlaps = tail.overlaps;
    data.coalitions = tail.coalitions;
    data.signatures = tail.signatures;
    data.reported_counts = tail.reported_counts;
    data.claims = tail.claims;
    data.exchange_rates = tail.exchange_rates;
    origins.lines.extend(tail_origins.lines);
    let mut problems = reader.take_problems();
    problems.extend(orphans);
    if problems.is_empty() { Ok((data, origins)) } else { Err(problems) }
}

#[cfg(test)]
mod tests;
