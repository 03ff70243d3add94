//! The files of a CSV set and their columns.

/// One file of the set: its columns in order, and which are lists, booleans or integers.
pub(super) struct FileSpec {
    pub file: &'static str,
    pub columns: &'static [&'static str],
    pub lists: &'static [&'static str],
    pub bools: &'static [&'static str],
    pub ints: &'static [&'static str],
}

pub(super) const SOURCES: FileSpec = FileSpec {
    file: "sources.csv",
    columns: &["slug", "url", "publisher", "title", "published_on", "language", "quote"],
    lists: &[],
    bools: &[],
    ints: &[],
};
pub(super) const ACTORS: FileSpec = FileSpec {
    file: "actors.csv",
    columns: &["slug", "name", "kind", "country", "aliases", "sources"],
    lists: &["aliases", "sources"],
    bools: &[],
    ints: &[],
};
pub(super) const EVENTS: FileSpec = FileSpec {
    file: "events.csv",
    columns: &["slug", "name", "kind", "city", "country", "start_date", "end_date", "series", "name_fr", "sources"],
    lists: &["sources"],
    bools: &[],
    ints: &[],
};
pub(super) const COMMITMENTS: FileSpec = FileSpec {
    file: "commitments.csv",
    columns: &[
        "slug",
        "title",
        "pledger",
        "event",
        "beneficiary",
        "announced_on",
        "amount_low",
        "amount_high",
        "currency",
        "recipient_country",
        "sector",
        "horizon_year",
        "kind",
        "status",
        "amount_disputed",
        "parent",
        "relation",
        "notes",
        "sources",
        "retraction_reason",
        "retracted_on",
        "retraction_sources",
    ],
    lists: &["sources", "retraction_sources"],
    bools: &["amount_disputed"],
    ints: &["horizon_year"],
};
pub(super) const STATUS_HISTORY: FileSpec = FileSpec {
    file: "status_history.csv",
    columns: &["commitment", "status", "effective_on", "note", "sources"],
    lists: &["sources"],
    bools: &[],
    ints: &[],
};
pub(super) const TARGETS: FileSpec = FileSpec {
    file: "fundraising_targets.csv",
    columns: &["actor", "amount_low", "amount_high", "currency", "horizon_year", "notes", "sources"],
    lists: &["sources"],
    bools: &[],
    ints: &["horizon_year"],
};
pub(super) const OVERLAPS: FileSpec = FileSpec {
    file: "overlaps.csv",
    columns: &["later", "earlier", "amount_low", "amount_high", "currency", "note", "sources"],
    lists: &["sources"],
    bools: &[],
    ints: &[],
};
pub(super) const COALITIONS: FileSpec = FileSpec {
    file: "coalitions.csv",
    columns: &["slug", "name", "kind", "launched_on", "event", "name_fr", "sources"],
    lists: &["sources"],
    bools: &[],
    ints: &[],
};
pub(super) const SIGNATURES: FileSpec = FileSpec {
    file: "signatures.csv",
    columns: &["coalition", "actor", "stance", "initiator", "signed_on", "sources", "notes"],
    lists: &["sources"],
    bools: &["initiator"],
    ints: &[],
};
pub(super) const REPORTED_COUNTS: FileSpec = FileSpec {
    file: "reported_counts.csv",
    columns: &["coalition", "reported_on", "count_low", "count_high", "kind", "wording", "note", "sources"],
    lists: &["sources"],
    bools: &[],
    ints: &["count_low", "count_high"],
};
pub(super) const CLAIMS: FileSpec = FileSpec {
    file: "claims.csv",
    columns: &[
        "slug",
        "commitment",
        "claimant",
        "claimed_on",
        "amount_low",
        "amount_high",
        "currency",
        "preferred",
        "reason",
        "notes",
        "sources",
    ],
    lists: &["sources"],
    bools: &["preferred"],
    ints: &[],
};
pub(super) const RATES: FileSpec = FileSpec {
    file: "exchange_rates.csv",
    columns: &["date", "base", "quote", "rate", "sources"],
    lists: &["sources"],
    bools: &[],
    ints: &[],
};

/// The files of a set, in import order.
pub const FILES: [&str; 12] = [
    SOURCES.file,
    ACTORS.file,
    EVENTS.file,
    COMMITMENTS.file,
    STATUS_HISTORY.file,
    TARGETS.file,
    OVERLAPS.file,
    COALITIONS.file,
    SIGNATURES.file,
    REPORTED_COUNTS.file,
    CLAIMS.file,
    RATES.file,
];

/// The separator of values in a list cell.
pub const LIST_SEPARATOR: char = '|';
