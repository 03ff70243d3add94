//! What changed in one audited write, in words a newsroom can read: the fields whose value
//! differs between the record before and after (both in the import format), and a one-line
//! summary ("commitment apollo-5bn updated: amount_high 5000000000 → 6000000000; sources
//! +le-monde-2025-03").
//!
//! Plain functions of JSON values: the feed (`changes`, `/changes.atom`) and the tests call
//! them alike.

use serde_json::{Map, Value};

/// Most field changes a summary spells out; the rest are counted ("and 2 more").
pub const SUMMARY_FIELDS: usize = 6;

/// Longest rendering of one value in a summary (the field list keeps it whole).
const SUMMARY_VALUE_CHARS: usize = 80;

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The record's field, as in the import format and CSV columns (`amount_high`).
    pub field: String,
    /// Its value before, rendered as text; `None` when it had none.
    pub before: Option<String>,
    /// Its value after; `None` when it has none.
    pub after: Option<String>,
    /// For lists: the elements added (`+`) and removed (`−`), rendered.
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// A record as the audit log stores it (JSON text in the import format); `None` when there
/// is none (a creation's before, a deletion's after) or it cannot be read.
pub fn record(raw: Option<&str>) -> Option<Value> {
    raw.and_then(|r| serde_json::from_str(r).ok())
}

/// The fields that differ between `before` and `after` (either may be absent: a creation,
/// a deletion), in alphabetical order.
pub fn field_changes(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<&String> = a.keys().collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
    let mut out = Vec::new();
    for key in keys {
        let (old, new) = (present(b.get(key)), present(a.get(key)));
        if old == new {
            continue;
        }
        let (added, removed) = match (old, new) {
            (old, new) if is_list(old) || is_list(new) => {
                let old_items = old.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                let new_items = new.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                (
                    new_items.iter().filter(|v| !old_items.contains(v)).map(render).collect(),
                    old_items.iter().filter(|v| !new_items.contains(v)).map(render).collect(),
                )
            }
            _ => (Vec::new(), Vec::new()),
        };
        out.push(FieldChange { field: key.clone(), before: old.map(render), after: new.map(render), added, removed });
    }
    out
}

/// A value that says something: null, `""`, `[]` and `false`-by-default are "none".
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => true,
    })
}

fn is_list(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Array(_)))
}

/// The fields of a nested record (a status entry, a retraction) in the order a reader
/// expects: what happened, when, why, then the sources.
const NESTED_ORDER: [&str; 6] = ["status", "reason", "effective_on", "retracted_on", "note", "sources"];

/// A value as text: strings as they are, lists joined with ", ", nested records as their
/// values joined with " · " (a status entry: "WITHDRAWN · 2025-09-01 · site abandoned · src").
pub fn render(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(render).collect::<Vec<_>>().join(", "),
        Value::Object(fields) => {
            let rank = |k: &str| NESTED_ORDER.iter().position(|n| *n == k).unwrap_or(NESTED_ORDER.len() - 1);
            let mut keys: Vec<&String> = fields.keys().filter(|k| present(fields.get(*k)).is_some()).collect();
            keys.sort_by_key(|k| rank(k));
            keys.iter().map(|k| render(&fields[*k])).collect::<Vec<_>>().join(" · ")
        }
        other => other.to_string(),
    }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= SUMMARY_VALUE_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(SUMMARY_VALUE_CHARS - 1).collect();
    out.push('…');
    out
}

/// The verb of an audited action.
fn verb(action: &str) -> &'static str {
    match action {
        "CREATE" => "created",
        "UPDATE" => "updated",
        "SET_STATUS" => "status set",
        "RETRACT" => "retracted",
        "DELETE" => "deleted",
        "REVOKE" => "revoked",
        "IMPORT" => "imported",
        _ => "changed",
    }
}

/// One line saying what a write did: `"{entity} {key} {verb}"`, then for a creation its
/// title or name, for an import its counts, otherwise the fields that changed
/// (`field before → after`, lists as `+added −removed`), at most [`SUMMARY_FIELDS`].
pub fn summary(action: &str, entity: &str, key: &str, before: Option<&Value>, after: Option<&Value>) -> String {
    let head = format!("{entity} {key} {}", verb(action));
    let label =
        |v: Option<&Value>| v.and_then(|v| v.get("title").or_else(|| v.get("name"))).and_then(Value::as_str).map(cut);
    match action {
        "CREATE" => match label(after) {
            Some(title) => format!("{head}: “{title}”"),
            None => head,
        },
        "DELETE" => match label(before) {
            Some(title) => format!("{head}: “{title}”"),
            None => head,
        },
        "IMPORT" => {
            let n = |k: &str| after.and_then(|a| a.get(k)).and_then(Value::as_u64).unwrap_or(0);
            format!("{head}: {} inserted, {} updated, {} unchanged", n("inserted"), n("updated"), n("unchanged"))
        }
        "REVOKE" => head,
        _ => {
            let changes = field_changes(before, after);
            if changes.is_empty() {
                return head;
            }
            let mut parts: Vec<String> = changes.iter().take(SUMMARY_FIELDS).map(describe).collect();
            if changes.len() > SUMMARY_FIELDS {
                parts.push(format!("and {} more", changes.len() - SUMMARY_FIELDS));
            }
            format!("{head}: {}", parts.join("; "))
        }
    }
}

fn describe(c: &FieldChange) -> String {
    if !c.added.is_empty() || !c.removed.is_empty() {
        let items = c
            .added
            .iter()
            .map(|a| format!("+{}", cut(a)))
            .chain(c.removed.iter().map(|r| format!("−{}", cut(r))))
            .collect::<Vec<_>>()
            .join(", ");
        return format!("{} {items}", c.field);
    }
    let show = |v: &Option<String>| v.as_deref().map_or_else(|| "(none)".to_owned(), cut);
    format!("{} {} → {}", c.field, show(&c.before), show(&c.after))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_update_names_each_changed_field_before_and_after() {
        let before = json!({ "slug": "apollo", "title": "Apollo", "amount_high": "5000000000", "notes": null,
            "sources": ["a", "b"], "amount_disputed": false });
        let after = json!({ "slug": "apollo", "title": "Apollo", "amount_high": "6000000000", "notes": "Revised",
            "sources": ["b", "c"], "amount_disputed": false });
        let changes = field_changes(Some(&before), Some(&after));
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["amount_high", "notes", "sources"]);
        assert_eq!(changes[1].before, None);
        assert_eq!(changes[2].added, ["c"]);
        assert_eq!(changes[2].removed, ["a"]);
        assert_eq!(
            summary("UPDATE", "commitment", "apollo", Some(&before), Some(&after)),
            "commitment apollo updated: amount_high 5000000000 → 6000000000; notes (none) → Revised; sources +c, −a"
        );
    }

    #[test]
    fn a_status_change_shows_the_new_entry() {
        let before = json!({ "status": "IN_PROGRESS", "status_history": [
            { "status": "IN_PROGRESS", "effective_on": "2025-06-01", "sources": ["s"] } ] });
        let after = json!({ "status": "WITHDRAWN", "status_history": [
            { "status": "IN_PROGRESS", "effective_on": "2025-06-01", "sources": ["s"] },
            { "status": "WITHDRAWN", "effective_on": "2025-09-01", "note": "Site abandoned", "sources": ["t"] } ] });
        assert_eq!(
            summary("SET_STATUS", "commitment", "prologis", Some(&before), Some(&after)),
            "commitment prologis status set: status IN_PROGRESS → WITHDRAWN; \
             status_history +WITHDRAWN · 2025-09-01 · Site abandoned · t"
        );
    }

    #[test]
    fn creations_deletions_and_imports_say_what_they_are() {
        let record = json!({ "slug": "x", "title": "A data centre" });
        assert_eq!(summary("CREATE", "commitment", "x", None, Some(&record)), "commitment x created: “A data centre”");
        assert_eq!(summary("DELETE", "commitment", "x", Some(&record), None), "commitment x deleted: “A data centre”");
        let counts = json!({ "inserted": 3, "updated": 1, "unchanged": 40 });
        assert_eq!(
            summary("IMPORT", "import", "reference.json", None, Some(&counts)),
            "import reference.json imported: 3 inserted, 1 updated, 40 unchanged"
        );
        // No field changed (an update that touched only what the record does not show).
        assert_eq!(summary("UPDATE", "actor", "x", Some(&record), Some(&record)), "actor x updated");
    }

    #[test]
    fn long_values_are_cut_and_many_fields_counted() {
        let before = json!({ "a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1", "g": "1", "h": "1" });
        let after =
            json!({ "a": "2", "b": "2", "c": "2", "d": "2", "e": "2", "f": "2", "g": "2", "h": "x".repeat(200) });
        let line = summary("UPDATE", "event", "e", Some(&before), Some(&after));
        assert!(line.ends_with("; and 2 more"), "{line}");
        let changes = field_changes(Some(&before), Some(&after));
        assert_eq!(changes[7].after.as_deref().map(str::len), Some(200), "the field list keeps it whole");
        assert_eq!(cut(&"x".repeat(200)).chars().count(), SUMMARY_VALUE_CHARS);
    }
}
