//! The reference data shipped inside the binary (`data/reference.json`), loaded into an
//! empty database at first start.

use crate::domain::records::DataSet;

/// The reference data set, as committed.
pub const REFERENCE_JSON: &str = include_str!("../data/reference.json");

/// Parses the shipped reference data.
pub fn reference_data() -> Result<DataSet, serde_json::Error> {
    serde_json::from_str(REFERENCE_JSON)
}
