//! Transaction time: every counted row a write replaces is kept, with the data versions
//! between which it was the database's state (`known_from` ≤ v < `known_until`), and the
//! moment of each version. A total "as we knew it" on a past day reads the rows of that
//! day's version, in the same statement shapes as a current total. Kept in the same
//! transaction as each write; never pruned. The history starts at this migration: the rows
//! counted now are known from the current version on.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // One statement: the rows counted now, known from the current version on.
        db.execute_unprepared(
            "CREATE TABLE counted_history AS SELECT ca.*, \
             CAST(COALESCE((SELECT version FROM data_versions WHERE id = 1), 0) AS BIGINT) AS known_from, \
             CAST(NULL AS BIGINT) AS known_until FROM counted_amounts ca",
        )
        .await?;
        for sql in [
            "CREATE INDEX ix_counted_history_from ON counted_history (known_from)",
            "CREATE INDEX ix_counted_history_until ON counted_history (known_until)",
            "CREATE INDEX ix_counted_history_commitment ON counted_history (commitment_id)",
            "CREATE TABLE version_times (version BIGINT NOT NULL PRIMARY KEY, written_at BIGINT NOT NULL)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        // Microseconds since 1970 (UTC), the same on both databases.
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
        db.execute_unprepared(&format!(
            "INSERT INTO version_times (version, written_at) \
             SELECT COALESCE((SELECT version FROM data_versions WHERE id = 1), 0), {now}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE version_times").await?;
        db.execute_unprepared("DROP TABLE counted_history").await?;
        Ok(())
    }
}
