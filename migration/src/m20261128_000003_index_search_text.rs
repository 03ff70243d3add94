//! Search and the `text` filter find substrings of folded titles and names (`LIKE '%…%'`),
//! which no B-tree serves: at a million commitments each search scanned the table (1.2–1.7 s).
//! Trigram indexes serve them: on SQLite an FTS5 table with the trigram tokenizer over the
//! commitments' folded titles, kept in step by triggers; on PostgreSQL `pg_trgm` GIN indexes,
//! which the planner uses for the same `LIKE` (skipped, with the old scans, where the
//! extension is not available).

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE commitments_fts USING fts5(title_folded, content='commitments', content_rowid='id', \
     tokenize='trigram')",
    "CREATE TRIGGER commitments_fts_insert AFTER INSERT ON commitments BEGIN \
     INSERT INTO commitments_fts(rowid, title_folded) VALUES (new.id, new.title_folded); END",
    "CREATE TRIGGER commitments_fts_delete AFTER DELETE ON commitments BEGIN \
     INSERT INTO commitments_fts(commitments_fts, rowid, title_folded) VALUES ('delete', old.id, old.title_folded); END",
    "CREATE TRIGGER commitments_fts_update AFTER UPDATE OF title_folded ON commitments BEGIN \
     INSERT INTO commitments_fts(commitments_fts, rowid, title_folded) VALUES ('delete', old.id, old.title_folded); \
     INSERT INTO commitments_fts(rowid, title_folded) VALUES (new.id, new.title_folded); END",
    "INSERT INTO commitments_fts(commitments_fts) VALUES ('rebuild')",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER commitments_fts_update",
    "DROP TRIGGER commitments_fts_delete",
    "DROP TRIGGER commitments_fts_insert",
    "DROP TABLE commitments_fts",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_commitments_title_trgm ON commitments USING gin (title_folded gin_trgm_ops)",
    "CREATE INDEX ix_actors_name_trgm ON actors USING gin (name_folded gin_trgm_ops)",
    "CREATE INDEX ix_actors_aliases_trgm ON actors USING gin (aliases_folded gin_trgm_ops)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS ix_actors_aliases_trgm",
    "DROP INDEX IF EXISTS ix_actors_name_trgm",
    "DROP INDEX IF EXISTS ix_commitments_title_trgm",
];

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    for sql in statements {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => run(manager, SQLITE_UP).await,
            DatabaseBackend::Postgres => {
                let available = manager
                    .get_connection()
                    .query_one_raw(sea_orm::Statement::from_string(
                        DatabaseBackend::Postgres,
                        "SELECT 1 AS x FROM pg_available_extensions WHERE name = 'pg_trgm'",
                    ))
                    .await?
                    .is_some();
                if available { run(manager, POSTGRES_UP).await } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DatabaseBackend::Sqlite => run(manager, SQLITE_DOWN).await,
            DatabaseBackend::Postgres => run(manager, POSTGRES_DOWN).await,
            _ => Ok(()),
        }
    }
}
