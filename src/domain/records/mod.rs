//! The records pledgewatch reads and writes (its import format), and the one validation
//! entry point per record type that imports and mutations share.
//!
//! Records hold raw text as given, so that every bad value is reported against its field
//! instead of failing the whole file; `validate` turns a record into its typed, checked form.
//! Checks that need the database (references exist, slugs are free, no cycles) are made by
//! the storage layer on top of these.

#[cfg(test)]
mod tests;
mod valid;
mod validate;

use serde::{Deserialize, Serialize};

pub use self::{
    valid::*,
    validate::{parse_date, parse_decimal},
};
use super::FieldError;

/// The format tag of a data set file.
pub const FORMAT: &str = "pledgewatch/1";
/// Longest name or title.
pub const MAX_NAME_LEN: usize = 300;
/// Longest free text (notes, quotes).
pub const MAX_TEXT_LEN: usize = 10_000;
/// Earliest date accepted anywhere.
pub const MIN_YEAR: i32 = 1990;
/// Latest year accepted anywhere (horizons reach far, but not further).
pub const MAX_YEAR: i32 = 2100;

/// A whole data set: what `import` reads and `export` writes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSet {
    /// Always [`FORMAT`].
    pub format: String,
    /// Where the data set comes from and how it was mapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub sources: Vec<SourceRecord>,
    #[serde(default)]
    pub actors: Vec<ActorRecord>,
    #[serde(default)]
    pub events: Vec<EventRecord>,
    #[serde(default)]
    pub commitments: Vec<CommitmentRecord>,
    #[serde(default)]
    pub fundraising_targets: Vec<TargetRecord>,
    #[serde(default)]
    pub overlaps: Vec<OverlapRecord>,
    #[serde(default)]
    pub coalitions: Vec<CoalitionRecord>,
    #[serde(default)]
    pub signatures: Vec<SignatureRecord>,
    #[serde(default)]
    pub reported_counts: Vec<ReportedCountRecord>,
    /// Competing claims about commitments' figures (after the commitments).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimRecord>,
    #[serde(default)]
    pub exchange_rates: Vec<RateRecord>,
}

/// A public source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRecord {
    pub slug: String,
    pub url: String,
    pub publisher: String,
    pub title: String,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    #[serde(default)]
    pub published_on: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub quote: Option<String>,
}

/// An actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorRecord {
    pub slug: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub sources: Vec<String>,
}

/// An event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    pub slug: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    /// The series the event is an edition of (a slug: `choose-france`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// The French name, where a source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_fr: Option<String>,
    pub sources: Vec<String>,
}

/// A commitment, with its status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentRecord {
    pub slug: String,
    pub title: String,
    pub pledger: String,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub beneficiary: Option<String>,
    #[serde(default)]
    pub announced_on: Option<String>,
    /// Decimal text in currency units; absent for "up to X" and unquantified pledges.
    #[serde(default)]
    pub amount_low: Option<String>,
    /// Decimal text in currency units; absent for unquantified pledges.
    #[serde(default)]
    pub amount_high: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub recipient_country: Option<String>,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    pub horizon_year: Option<i32>,
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub amount_disputed: bool,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub relation: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    pub sources: Vec<String>,
    #[serde(default)]
    pub status_history: Vec<StatusRecord>,
    /// Set when the tracker retracted the figure (published in error, or unsupported by its
    /// sources): the record stays, totals leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retraction: Option<RetractionRecord>,
}

/// Why and when a figure was retracted, with the source that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetractionRecord {
    pub reason: String,
    #[serde(default)]
    pub retracted_on: Option<String>,
    pub sources: Vec<String>,
}

/// One status a commitment had from a date on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRecord {
    pub status: String,
    #[serde(default)]
    pub effective_on: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A beneficiary's fundraising target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRecord {
    pub actor: String,
    #[serde(default)]
    pub amount_low: Option<String>,
    #[serde(default)]
    pub amount_high: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub horizon_year: Option<i32>,
    #[serde(default)]
    pub notes: Option<String>,
    pub sources: Vec<String>,
}

/// Money that a later commitment presents again from an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlapRecord {
    pub later: String,
    /// The earlier commitment; absent when the earlier announcements are not recorded here
    /// ("of which €21.2bn announced over the previous twelve months").
    #[serde(default)]
    pub earlier: Option<String>,
    #[serde(default)]
    pub amount_low: Option<String>,
    #[serde(default)]
    pub amount_high: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A coalition or declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoalitionRecord {
    pub slug: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub launched_on: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    /// The French name, where a source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_fr: Option<String>,
    pub sources: Vec<String>,
}

/// An actor's stance on a coalition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureRecord {
    pub coalition: String,
    pub actor: String,
    pub stance: String,
    /// Signed as an initiator or co-lead.
    #[serde(default)]
    pub initiator: bool,
    #[serde(default)]
    pub signed_on: Option<String>,
    pub sources: Vec<String>,
    /// A caveat on what the row rests on ("rests on a collective line: the 27 EU states").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A count of a coalition's signatories or members as a source reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportedCountRecord {
    pub coalition: String,
    /// The day of the report, when known.
    #[serde(default)]
    pub reported_on: Option<String>,
    pub count_low: i32,
    /// The high end of a range; the same as `count_low` for one figure; absent for an open
    /// count ("over 100").
    #[serde(default)]
    pub count_high: Option<i32>,
    /// `COUNT`, `EARLY` or `WIDER`.
    pub kind: String,
    /// The count in the source's words ("58 countries plus the EU and the African Union
    /// Commission"); one per coalition.
    pub wording: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// One claim about a commitment's figure: what a source (or the tracker's reading of several)
/// says the amount is. One claim per commitment is `preferred`, with its `reason`: its amount
/// is the commitment's recorded amount, the one totals count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRecord {
    pub slug: String,
    pub commitment: String,
    /// Who makes the claim ("Verdict; Maddyness").
    pub claimant: String,
    /// The day the claim was made or the announcement it reports, when known.
    #[serde(default)]
    pub claimed_on: Option<String>,
    #[serde(default)]
    pub amount_low: Option<String>,
    #[serde(default)]
    pub amount_high: Option<String>,
    pub currency: String,
    #[serde(default)]
    pub preferred: bool,
    /// Why this claim is preferred (required for the preferred one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub sources: Vec<String>,
}

/// An exchange rate: `rate` units of `quote` per 1 `base`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRecord {
    pub date: String,
    pub base: String,
    pub quote: String,
    pub rate: String,
    #[serde(default)]
    pub sources: Vec<String>,
}

/// One bad record: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The collection (`commitments`, `signatures`, …).
    pub collection: &'static str,
    /// Position in the collection, from 0.
    pub index: usize,
    /// The record's key (slug, or the pair it links).
    pub key: String,
    /// The field and reason.
    pub error: FieldError,
}

impl Problem {
    /// A bad record of `collection`, at `index`, known by `key`.
    pub fn new(collection: &'static str, index: usize, key: &str, error: FieldError) -> Self {
        Self { collection, index, key: key.to_owned(), error }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}] ({}): {}", self.collection, self.index, self.key, self.error)
    }
}
