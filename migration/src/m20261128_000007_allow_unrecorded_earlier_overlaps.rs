//! An overlap's earlier side may be unrecorded: "€30.4bn, of which €21.2bn announced over the
//! previous twelve months" says how much of a figure is not new without naming each earlier
//! announcement. `earlier_id` becomes nullable.
//!
//! SQLite cannot drop a NOT NULL constraint: the table is rebuilt (same columns, keys and
//! indexes) inside the migration's transaction. No other table refers to `overlaps`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::iden::{Commitments, Overlaps};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn overlaps_table(name: &str, earlier_nullable: bool) -> TableCreateStatement {
    let mut earlier =
        if earlier_nullable { big_integer_null(Overlaps::EarlierId) } else { big_integer(Overlaps::EarlierId) };
    Table::create()
        .table(Alias::new(name))
        .col(big_pk_auto(Overlaps::Id))
        .col(big_integer(Overlaps::LaterId))
        .col(&mut earlier)
        .col(big_integer_null(Overlaps::AmountLow))
        .col(big_integer_null(Overlaps::AmountHigh))
        .col(text(Overlaps::Currency))
        .col(small_integer(Overlaps::CurrencyExponent))
        .col(text_null(Overlaps::Note))
        .foreign_key(
            ForeignKey::create()
                .name("fk_overlaps_later")
                .from(Alias::new(name), Overlaps::LaterId)
                .to(Commitments::Table, Commitments::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_overlaps_earlier")
                .from(Alias::new(name), Overlaps::EarlierId)
                .to(Commitments::Table, Commitments::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .take()
}

async fn rebuild_on_sqlite(manager: &SchemaManager<'_>, earlier_nullable: bool) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    manager.create_table(overlaps_table("overlaps_rebuilt", earlier_nullable)).await?;
    conn.execute_unprepared(
        "INSERT INTO overlaps_rebuilt (id, later_id, earlier_id, amount_low, amount_high, currency, \
         currency_exponent, note) SELECT id, later_id, earlier_id, amount_low, amount_high, currency, \
         currency_exponent, note FROM overlaps",
    )
    .await?;
    conn.execute_unprepared("DROP TABLE overlaps").await?;
    conn.execute_unprepared("ALTER TABLE overlaps_rebuilt RENAME TO overlaps").await?;
    let mut unique = Index::create().name("ux_overlaps_later_earlier").table(Overlaps::Table).take();
    unique.col(Overlaps::LaterId).col(Overlaps::EarlierId).unique();
    manager.create_index(unique).await?;
    manager
        .create_index(
            Index::create().name("ix_overlaps_earlier").table(Overlaps::Table).col(Overlaps::EarlierId).take(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// The SQLite rebuild must be all or nothing too.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Sqlite {
            return rebuild_on_sqlite(manager, true).await;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Overlaps::Table)
                    .modify_column(ColumnDef::new(Overlaps::EarlierId).big_integer().null())
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DELETE FROM overlaps WHERE earlier_id IS NULL").await?;
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Sqlite {
            return rebuild_on_sqlite(manager, false).await;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Overlaps::Table)
                    .modify_column(ColumnDef::new(Overlaps::EarlierId).big_integer().not_null())
                    .take(),
            )
            .await
    }
}
