//! The reference data shipped inside the binary (`data/reference.json` and the ECB rate
//! history `data/ecb/eurofxref-hist.csv`), loaded into an empty database at first start.

use crate::domain::records::DataSet;

/// The reference data set, as committed.
pub const REFERENCE_JSON: &str = include_str!("../data/reference.json");

/// The ECB's whole euro reference-rate history (1999-01-04 to 2026-10-30), loaded with the
/// reference data so that any commitment since 1999 converts at its own day's rate.
pub const ECB_HISTORY_CSV: &str = include_str!("../data/ecb/eurofxref-hist.csv");

/// The source every rate of [`ECB_HISTORY_CSV`] cites (a source of the reference data).
pub const ECB_HISTORY_SOURCE: &str = "ecb-eurofxref-hist-1999-2026";

/// Parses the shipped reference data.
pub fn reference_data() -> Result<DataSet, serde_json::Error> {
    serde_json::from_str(REFERENCE_JSON)
}
