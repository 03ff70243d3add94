//! Writing a data set as a CSV set.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::specs::*;
use crate::domain::records::{CommitmentRecord, DataSet, StatusRecord};

/// A JSON value as one cell.
fn cell(value: Option<&Value>) -> Result<String, String> {
    Ok(match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(list)) => {
            let mut parts = Vec::with_capacity(list.len());
            for v in list {
                let text = v.as_str().unwrap_or_default();
                if text.contains(LIST_SEPARATOR) {
                    return Err(format!("{text:?} contains the list separator {LIST_SEPARATOR:?}"));
                }
                parts.push(text.to_owned());
            }
            parts.join(&LIST_SEPARATOR.to_string())
        }
        Some(Value::Object(_)) => return Err("a nested object has no cell".into()),
    })
}

fn write_file<T: serde::Serialize>(
    dir: &Path,
    spec: &FileSpec,
    records: impl IntoIterator<Item = T>,
    extra: impl Fn(&T, &mut Map<String, Value>),
) -> Result<PathBuf, String> {
    let path = dir.join(spec.file);
    let mut writer = csv::Writer::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    writer.write_record(spec.columns).map_err(|e| e.to_string())?;
    for record in records {
        let Value::Object(mut object) = serde_json::to_value(&record).map_err(|e| e.to_string())? else {
            return Err("a record is not an object".into());
        };
        extra(&record, &mut object);
        let row: Vec<String> = spec
            .columns
            .iter()
            .map(|c| cell(object.get(*c)).map_err(|e| format!("{}: {c}: {e}", spec.file)))
            .collect::<Result<_, _>>()?;
        writer.write_record(&row).map_err(|e| e.to_string())?;
    }
    writer.flush().map_err(|e| e.to_string())?;
    Ok(path)
}

/// No extra columns.
fn none<T>(_: &T, _: &mut Map<String, Value>) {}

/// Writes `data` as a CSV set into `dir` (created if needed); returns the files written.
pub fn write_dir(data: &DataSet, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let statuses = data
        .commitments
        .iter()
        .flat_map(|c| c.status_history.iter().map(move |s| (c.slug.clone(), s.clone())))
        .collect::<Vec<_>>();
    Ok(vec![
        write_file(dir, &SOURCES, &data.sources, none)?,
        write_file(dir, &ACTORS, &data.actors, none)?,
        write_file(dir, &EVENTS, &data.events, none)?,
        write_file(dir, &COMMITMENTS, &data.commitments, |c: &&CommitmentRecord, object| {
            if let Some(r) = &c.retraction {
                object.insert("retraction_reason".into(), Value::String(r.reason.clone()));
                object.insert("retracted_on".into(), r.retracted_on.clone().map_or(Value::Null, Value::String));
                object.insert("retraction_sources".into(), r.sources.iter().cloned().map(Value::String).collect());
            }
        })?,
        write_file(
            dir,
            &STATUS_HISTORY,
            statuses.iter().map(|(slug, s)| StatusRow { commitment: slug, status: s }),
            none,
        )?,
        write_file(dir, &TARGETS, &data.fundraising_targets, none)?,
        write_file(dir, &OVERLAPS, &data.overlaps, none)?,
        write_file(dir, &COALITIONS, &data.coalitions, none)?,
        write_file(dir, &SIGNATURES, &data.signatures, none)?,
        write_file(dir, &REPORTED_COUNTS, &data.reported_counts, none)?,
        write_file(dir, &CLAIMS, &data.claims, none)?,
        write_file(dir, &RATES, &data.exchange_rates, none)?,
    ])
}

/// A status row: its commitment's slug, then the status's own fields.
#[derive(serde::Serialize)]
struct StatusRow<'a> {
    commitment: &'a str,
    #[serde(flatten)]
    status: &'a StatusRecord,
}
