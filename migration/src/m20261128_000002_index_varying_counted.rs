//! Counted rows of a family whose headline gives way to its parts carry flag bit 32
//! ("varies"): totals resolve those families again for the members they count. A partial
//! index finds those few rows without scanning the table, and the counted rows are dropped
//! so that the server rebuilds them, with the flag, at its next start.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_counted_amounts_varies ON counted_amounts (commitment_id) WHERE (flags & 32) <> 0",
        )
        .await?;
        // Rebuilt from the commitments at the next start (`counted_is_stale`).
        db.execute_unprepared("DELETE FROM counted_amounts").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX ix_counted_amounts_varies").await?;
        Ok(())
    }
}
