//! Domain rules in plain Rust: money and ranges, codes, text folding, the kinds of things we
//! record, and the validation of every record. Nothing here knows HTTP, GraphQL or SQL, so
//! every rule is unit- and property-testable on its own.

pub mod changes;
pub mod codes;
pub mod counting;
pub mod filters;
pub mod fx;
pub mod kinds;
pub mod money;
pub mod records;
pub mod report;
pub mod reported;
pub mod status;
pub mod text;
pub mod totals;

use std::fmt;

/// A value that breaks a rule, with the field it came from: what every validation returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    /// The field as the caller named it (`amountLow`, `currency`, `sources[0].url`).
    pub field: String,
    /// What is wrong, lowercase, no final period.
    pub message: String,
}

impl FieldError {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error under a parent path (`commitments[3]` + `currency`).
    pub fn within(self, parent: &str) -> Self {
        Self { field: format!("{parent}.{}", self.field), ..self }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
