//! The ECB's euro reference rates history CSV (`eurofxref-hist.csv`): a `Date` column, then
//! one column per currency with the units per 1 EUR, `N/A` where a currency had no rate.
//! Rows become exchange-rate records of the import format, validated and written by the
//! ordinary import (one transaction, idempotent).

use std::io::Read;

use chrono::NaiveDate;

use crate::domain::{
    FieldError,
    codes::CurrencyCode,
    fx::EURO,
    records::{RateRecord, parse_date},
};

/// Which rows and columns to take.
#[derive(Debug, Clone, Default)]
pub struct EcbSelection {
    /// Only these currencies (all when empty).
    pub currencies: Vec<String>,
    /// Only dates on or after this one.
    pub from: Option<NaiveDate>,
    /// Only dates on or before this one.
    pub to: Option<NaiveDate>,
}

/// Reads an ECB history CSV into rate records citing `sources`. Errors name the line and
/// column.
pub fn read_history(
    input: impl Read,
    selection: &EcbSelection,
    sources: &[String],
) -> Result<Vec<RateRecord>, FieldError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(input);
    let headers = reader.headers().map_err(|e| FieldError::new("line 1", e.to_string()))?.clone();
    if headers.get(0) != Some("Date") {
        return Err(FieldError::new("line 1", "the first column must be Date (the ECB history CSV format)"));
    }
    // Without a list, every currency an amount can be recorded in: the columns of currencies
    // ISO 4217 has withdrawn (CYP, EEK, LTL, LVL, MTL, ROL, SIT, SKK, TRL, …) are skipped, as
    // no commitment can be in them. A list names its currencies, and an unknown one is an error.
    let wanted = |code: &str| {
        !code.is_empty()
            && if selection.currencies.is_empty() {
                CurrencyCode::parse("currency", code).is_ok()
            } else {
                selection.currencies.iter().any(|c| c == code)
            }
    };
    let mut records = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| FieldError::new(format!("line {line}"), e.to_string()))?;
        let raw_date = row.get(0).unwrap_or_default();
        let date = parse_date(&format!("line {line}.Date"), raw_date)?;
        if selection.from.is_some_and(|f| date < f) || selection.to.is_some_and(|t| date > t) {
            continue;
        }
        for (column, code) in headers.iter().enumerate().skip(1) {
            if !wanted(code) {
                continue;
            }
            let value = row.get(column).unwrap_or_default();
            if value.is_empty() || value == "N/A" {
                continue;
            }
            records.push(RateRecord {
                date: raw_date.to_owned(),
                base: EURO.to_owned(),
                quote: code.to_owned(),
                rate: value.to_owned(),
                sources: sources.to_vec(),
            });
        }
    }
    // Validate here too, so that an error names the CSV line rather than a record index.
    for r in &records {
        r.validate().map_err(|e| e.within(&format!("{} {}", r.date, r.quote)))?;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header and two rows of the ECB history, as published (trimmed to 6 currencies).
    const SAMPLE: &str = "Date,USD,JPY,BGN,CYP,CZK,\n\
        2025-02-14,1.0478,160.09,1.9558,N/A,25.043,\n\
        2025-02-13,1.039,159.79,1.9558,N/A,25.057,\n";

    #[test]
    fn reads_every_published_rate_and_skips_na() {
        let records = read_history(SAMPLE.as_bytes(), &EcbSelection::default(), &["ecb".into()]).unwrap();
        assert_eq!(records.len(), 8);
        assert!(records.iter().all(|r| r.base == "EUR" && r.quote != "CYP" && r.sources == ["ecb"]));
        assert_eq!(
            (records[0].date.as_str(), records[0].quote.as_str(), records[0].rate.as_str()),
            ("2025-02-14", "USD", "1.0478")
        );
    }

    #[test]
    fn selects_currencies_and_dates() {
        let selection =
            EcbSelection { currencies: vec!["USD".into()], from: NaiveDate::from_ymd_opt(2025, 2, 14), to: None };
        let records = read_history(SAMPLE.as_bytes(), &selection, &[]).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].rate, "1.0478");
    }

    #[test]
    fn a_bad_line_is_named() {
        let bad = "Date,USD,\n2025-02-14,1.0478,\n2025-02-31,1.04,\n";
        assert_eq!(read_history(bad.as_bytes(), &EcbSelection::default(), &[]).unwrap_err().field, "line 3.Date");
        let bad_rate = "Date,USD,\n2025-02-14,-1,\n";
        assert_eq!(
            read_history(bad_rate.as_bytes(), &EcbSelection::default(), &[]).unwrap_err().field,
            "2025-02-14 USD.rate"
        );
        assert!(read_history("Day,USD\n".as_bytes(), &EcbSelection::default(), &[]).is_err());
    }
}
