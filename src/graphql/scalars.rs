//! Strict scalars: `Decimal` (money, exchange rates) and `Date`, both read and written as
//! strings only.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

use crate::domain::records::parse_decimal;

/// An exact decimal number written as a string ("109000000000", "0.3"). Input accepts only
/// strings: a JSON number would already have passed through a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal(pub rust_decimal::Decimal);

/// An exact decimal number, always a JSON string: `"109000000000.00"`, `"0.86818"`, `"-1.5"`.
/// An amount of money is written with its currency's ISO 4217 minor-unit digits
/// (`"750000000.10"` EUR, `"5000000000"` JPY); rates and ratios without trailing zeros.
/// Money and exchange rates are never floats: read it into a decimal type (Python's
/// `decimal.Decimal`, JavaScript's decimal.js or big.js, Rust's `rust_decimal`), not a
/// number. Input accepts strings only; a JSON number is refused.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => parse_decimal("value", &s).map(Decimal).map_err(|e| InputValueError::custom(e.message)),
            _ => Err(InputValueError::custom(
                "a Decimal is written as a string such as \"1500000.50\", never as a JSON number",
            )),
        }
    }

    fn to_value(&self) -> Value {
        // Written with the scale it was given: money carries its currency's minor-unit
        // digits ("750000000.10" EUR, "5000000000" JPY); rates and ratios are built with
        // `Decimal::exact`.
        Value::String(self.0.to_string())
    }
}

impl Decimal {
    /// A number that is not money (a rate, a ratio): written without trailing zeros.
    pub fn exact(value: rust_decimal::Decimal) -> Self {
        Decimal(value.normalize())
    }
}

/// A calendar date written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time zone, a JSON string `YYYY-MM-DD` (RFC 3339 `full-date`).
#[Scalar(name = "Date", specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            // Only the form here: the range of a stored date is a rule of the record, checked
            // with the field's name by the domain validation.
            Value::String(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("{s:?} is not a date YYYY-MM-DD"))),
            _ => Err(InputValueError::custom("a Date is written as a string YYYY-MM-DD")),
        }
    }

    fn to_value(&self) -> Value {
        // chrono's `Display` is ISO 8601, the bytes of `%Y-%m-%d` (signed outside years
        // 0–9999) without parsing a format string for every value.
        Value::String(self.0.to_string())
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    /// The dates written with `Display` are the bytes `%Y-%m-%d` wrote, in and out of the
    /// years of four digits.
    #[test]
    fn display_writes_what_the_iso_format_wrote() {
        for (y, m, d) in
            [(2025, 2, 10), (999, 1, 1), (1, 12, 31), (0, 6, 15), (9999, 12, 31), (10000, 1, 1), (-1, 3, 4)]
        {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
            assert_eq!(date.to_string(), date.format("%Y-%m-%d").to_string());
        }
    }
}
