//! Database migrations of pledgewatch.
//!
//! Migrations use their own identifiers ([`iden`]) and never import the `entity` crate, so
//! an applied migration keeps meaning what it meant when it ran. An applied migration is
//! never edited: change the schema with a new file `mYYYYMMDD_NNNNNN_verb_noun.rs`.

pub use sea_orm_migration::prelude::*;

mod iden;
mod m20261124_000001_create_core_tables;
mod m20261124_000002_create_counted_amounts;
mod m20261124_000003_create_tokens_and_audit;
mod m20261124_000004_index_pages_and_as_of;
mod m20261128_000001_add_signature_notes;
mod m20261128_000002_index_varying_counted;
mod m20261128_000003_index_search_text;
mod m20261128_000004_create_counted_changes;
mod m20261128_000005_add_event_series;
mod m20261128_000006_create_reported_counts;
mod m20261128_000007_allow_unrecorded_earlier_overlaps;
mod m20261128_000008_index_commitments_updated;
mod m20261128_000009_add_french_names;
mod m20261128_000010_create_claims;
mod m20261128_000011_create_counted_history;
mod m20261128_000012_create_record_history;
mod m20261129_000013_counted_varies_statistics;
mod m20261129_000014_history_per_statement;
mod m20261129_000015_create_counted_sums;

/// The record tables whose past states the database keeps (`<table>_history`, with the
/// columns that name one row).
pub use m20261128_000012_create_record_history::KEPT as KEPT_HISTORY;

/// The ordered list of pledgewatch migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_core_tables::Migration),
            Box::new(m20261124_000002_create_counted_amounts::Migration),
            Box::new(m20261124_000003_create_tokens_and_audit::Migration),
            Box::new(m20261124_000004_index_pages_and_as_of::Migration),
            Box::new(m20261128_000001_add_signature_notes::Migration),
            Box::new(m20261128_000002_index_varying_counted::Migration),
            Box::new(m20261128_000003_index_search_text::Migration),
            Box::new(m20261128_000004_create_counted_changes::Migration),
            Box::new(m20261128_000005_add_event_series::Migration),
            Box::new(m20261128_000006_create_reported_counts::Migration),
            Box::new(m20261128_000007_allow_unrecorded_earlier_overlaps::Migration),
            Box::new(m20261128_000008_index_commitments_updated::Migration),
            Box::new(m20261128_000009_add_french_names::Migration),
            Box::new(m20261128_000010_create_claims::Migration),
            Box::new(m20261128_000011_create_counted_history::Migration),
            Box::new(m20261128_000012_create_record_history::Migration),
            Box::new(m20261129_000013_counted_varies_statistics::Migration),
            Box::new(m20261129_000014_history_per_statement::Migration),
            Box::new(m20261129_000015_create_counted_sums::Migration),
        ]
    }
}
