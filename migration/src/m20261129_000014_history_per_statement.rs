//! PostgreSQL: the rows an INSERT writes enter their history once per statement, not once
//! per row.
//!
//! Migration 000012 kept each record table's history with a PL/pgSQL trigger that ran for
//! every inserted row: a function call and a one-row INSERT each. A bulk import inserts 500
//! commitments (and their source links and status rows) per statement, so the per-row
//! trigger cost about a third of each insert (a commitments insert of 100,000 rows: 6.6 s,
//! 4.6 s without the trigger, 5.8 s with this one). Now an INSERT copies its new rows
//! into the history from its transition table in one statement. Deletes and updates keep
//! the per-row trigger (a close needs each row's key, and updates are few). The history
//! written is the same row for row. SQLite has no statement-level triggers; nothing changes
//! there.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

use crate::m20261128_000012_create_record_history::{KEPT, columns, quoted};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (table, _) in KEPT {
            let history = format!("{table}_history");
            // The history's own columns (the record's, then the two versions).
            let kept: Vec<String> =
                columns(db, &history).await?.into_iter().filter(|c| c != "known_from" && c != "known_until").collect();
            let list = quoted(&kept, "");
            for sql in [
                format!("DROP TRIGGER {history}_keep ON \"{table}\""),
                format!(
                    "CREATE TRIGGER {history}_keep AFTER DELETE ON \"{table}\" \
                     FOR EACH ROW EXECUTE FUNCTION {history}_keep()"
                ),
                format!(
                    "CREATE FUNCTION {history}_keep_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     INSERT INTO {history} ({list}, known_from, known_until) SELECT {list}, -1, NULL FROM inserted; \
                     RETURN NULL; END $$"
                ),
                format!(
                    "CREATE TRIGGER {history}_keep_inserted AFTER INSERT ON \"{table}\" \
                     REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION {history}_keep_inserted()"
                ),
            ] {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (table, _) in KEPT {
            let history = format!("{table}_history");
            for sql in [
                format!("DROP TRIGGER {history}_keep_inserted ON \"{table}\""),
                format!("DROP FUNCTION {history}_keep_inserted()"),
                format!("DROP TRIGGER {history}_keep ON \"{table}\""),
                format!(
                    "CREATE TRIGGER {history}_keep AFTER INSERT OR DELETE ON \"{table}\" \
                     FOR EACH ROW EXECUTE FUNCTION {history}_keep()"
                ),
            ] {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }
}
