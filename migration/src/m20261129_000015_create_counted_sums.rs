//! `counted_sums`: the counted rows that a total counts by default, summed at write time by
//! the dimensions dashboards group by first (event, pledger's country, currency), so that
//! such a total adds up some thousand sums instead of a million rows.
//!
//! One row per (event, pledger country, owner currency, measure, row currency, rate day,
//! rate year) at level 0, and two roll-ups: by event alone at level 1 (pledger country and
//! owner currency `''`), and over all events at level 2 (event `0`). Key columns are NOT
//! NULL so that a write can add to its row with an upsert on both databases (SQLite never
//! finds a conflict on a NULL), with `0`, `''` and `0001-01-01` standing for "none".
//! Amounts are summed in two halves (`/ 2^32` and `% 2^32`, as the totals engine sums them
//! on overflow), so that no number of rows makes a sum leave the BIGINT range. The storage
//! fills the table (`data_versions.sums_ready` says it has), keeps it in step inside every
//! write transaction, and refills it after every full rebuild of the counted amounts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn name(s: &str) -> Alias {
    Alias::new(s)
}

/// The key of a row of `counted_sums`.
const KEY: [&str; 8] =
    ["level", "event_id", "pledger_country", "owner_currency", "measure", "currency", "rate_date", "rate_year"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(name("counted_sums"))
            .col(integer(name("level")))
            .col(big_integer(name("event_id")))
            .col(text(name("pledger_country")))
            .col(text(name("owner_currency")))
            .col(text(name("measure")))
            .col(text(name("currency")))
            .col(date(name("rate_date")))
            .col(integer(name("rate_year")))
            .col(big_integer(name("n_primary")))
            .col(big_integer(name("n_rows")))
            .col(big_integer(name("low_h")))
            .col(big_integer(name("low_l")))
            .col(big_integer(name("high_h")))
            .col(big_integer(name("high_l")));
        let mut key = Index::create();
        key.name("pk_counted_sums");
        for column in KEY {
            key.col(name(column));
        }
        table.primary_key(&mut key);
        manager.create_table(table.take()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(name("data_versions"))
                    .add_column(ColumnDef::new(name("sums_ready")).integer().not_null().default(0))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(name("data_versions")).drop_column(name("sums_ready")).take()).await?;
        manager.drop_table(Table::drop().table(name("counted_sums")).take()).await
    }
}
