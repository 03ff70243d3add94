//! Statistics on `flags & 32` (the VARIES bit of counted rows) for PostgreSQL's planner.
//!
//! Every total leaves out the rows of varying families with `(flags & 32) = 0`. Without
//! statistics on that expression PostgreSQL guessed that it keeps 0.5% of the rows, so at a
//! million rows it planned a sort for a few thousand rows and spilled 60 MB to disk
//! (GROUP BY event: 1.04 s for the statement). With them it plans a hash aggregate in
//! memory (0.56 s). SQLite has no such statistics; nothing to do there.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        // 32 is `flags::VARIES` in the server's domain (this crate does not depend on it).
        db.execute_unprepared("CREATE STATISTICS IF NOT EXISTS counted_varies ON ((flags & 32)) FROM counted_amounts")
            .await?;
        db.execute_unprepared("ANALYZE counted_amounts").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared("DROP STATISTICS IF EXISTS counted_varies").await?;
        }
        Ok(())
    }
}
