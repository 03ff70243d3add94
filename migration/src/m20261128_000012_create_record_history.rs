//! Transaction time for the records themselves: commitments, their status history, source
//! links, sources and signatures. Each table gets a `<table>_history` with the same columns
//! plus `known_from` and `known_until` (data versions: a row was the database's state for
//! `known_from` ≤ v < `known_until`, `NULL` while it still is). The database keeps it with
//! triggers, so no write path can forget it: an insert opens a row, an update closes the old
//! row and opens the new one, a delete closes. Triggers write `-1` for "the version this
//! write will commit"; the write stamps it when it takes its version, as for
//! `counted_history`. The history starts at this migration (`history_starts`): the rows
//! stored now are known from the current version on.
//!
//! The column lists are read from the tables when this migration runs: a later migration
//! that adds a column to one of these tables must add it to the history and recreate the
//! triggers.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{DatabaseBackend, Statement},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables kept, each with the columns that name one row.
pub const KEPT: &[(&str, &[&str])] = &[
    ("commitments", &["id"]),
    ("status_history", &["id"]),
    ("source_links", &["entity_kind", "entity_id", "source_id"]),
    ("sources", &["id"]),
    ("signatures", &["id"]),
];

pub(crate) async fn columns(db: &SchemaManagerConnection<'_>, table: &str) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
        _ => format!(
            "SELECT column_name AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    };
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    rows.iter().map(|r| r.try_get::<String>("", "name")).collect()
}

pub(crate) fn quoted(columns: &[String], prefix: &str) -> String {
    columns.iter().map(|c| format!("{prefix}\"{c}\"")).collect::<Vec<_>>().join(", ")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let version = "CAST(COALESCE((SELECT version FROM data_versions WHERE id = 1), 0) AS BIGINT)";
        db.execute_unprepared("CREATE TABLE history_starts (kept TEXT NOT NULL PRIMARY KEY, version BIGINT NOT NULL)")
            .await?;
        for (table, key) in KEPT {
            let cols = columns(db, table).await?;
            let history = format!("{table}_history");
            let list = quoted(&cols, "");
            db.execute_unprepared(&format!(
                "CREATE TABLE {history} AS SELECT {list}, {version} AS known_from, \
                 CAST(NULL AS BIGINT) AS known_until FROM \"{table}\""
            ))
            .await?;
            let key_list = key.join(", ");
            for sql in [
                format!("CREATE INDEX ix_{history}_from ON {history} (known_from)"),
                format!("CREATE INDEX ix_{history}_until ON {history} (known_until)"),
                format!("CREATE INDEX ix_{history}_key ON {history} ({key_list}, known_from)"),
                format!("INSERT INTO history_starts (kept, version) SELECT '{table}', {version}"),
            ] {
                db.execute_unprepared(&sql).await?;
            }
            let same_key = key.iter().map(|k| format!("\"{k}\" = OLD.\"{k}\"")).collect::<Vec<_>>().join(" AND ");
            let close = format!("UPDATE {history} SET known_until = -1 WHERE known_until IS NULL AND {same_key};");
            let open = format!(
                "INSERT INTO {history} ({list}, known_from, known_until) VALUES ({}, -1, NULL);",
                quoted(&cols, "NEW.")
            );
            if backend == DatabaseBackend::Sqlite {
                let changed =
                    cols.iter().map(|c| format!("OLD.\"{c}\" IS NOT NEW.\"{c}\"")).collect::<Vec<_>>().join(" OR ");
                for sql in [
                    format!("CREATE TRIGGER {history}_insert AFTER INSERT ON \"{table}\" BEGIN {open} END"),
                    format!("CREATE TRIGGER {history}_delete AFTER DELETE ON \"{table}\" BEGIN {close} END"),
                    format!(
                        "CREATE TRIGGER {history}_update AFTER UPDATE ON \"{table}\" WHEN {changed} \
                         BEGIN {close} {open} END"
                    ),
                ] {
                    db.execute_unprepared(&sql).await?;
                }
            } else {
                for sql in [
                    format!(
                        "CREATE FUNCTION {history}_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                         IF TG_OP <> 'INSERT' THEN {close} END IF; \
                         IF TG_OP <> 'DELETE' THEN {open} END IF; \
                         RETURN NULL; END $$"
                    ),
                    format!(
                        "CREATE TRIGGER {history}_keep AFTER INSERT OR DELETE ON \"{table}\" \
                         FOR EACH ROW EXECUTE FUNCTION {history}_keep()"
                    ),
                    // An update that changes nothing (a version claim) keeps no row.
                    format!(
                        "CREATE TRIGGER {history}_keep_update AFTER UPDATE ON \"{table}\" \
                         FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION {history}_keep()"
                    ),
                ] {
                    db.execute_unprepared(&sql).await?;
                }
            }
        }
        // The reads of then: a page in date order, a record's statuses, a coalition's
        // signatures (as the tables' own indexes serve today's).
        let mut reads = vec![
            "CREATE INDEX ix_commitments_history_announced ON commitments_history (announced_on, id)",
            "CREATE INDEX ix_commitments_history_slug ON commitments_history (slug)",
            "CREATE INDEX ix_commitments_history_updated ON commitments_history (updated_at, id)",
            "CREATE INDEX ix_status_history_history_commitment ON status_history_history (commitment_id)",
            "CREATE INDEX ix_signatures_history_coalition ON signatures_history (coalition_id)",
        ];
        if backend == DatabaseBackend::Postgres {
            reads.push(
                "CREATE INDEX ix_commitments_history_newest_first ON commitments_history \
                 (announced_on DESC NULLS LAST, id DESC)",
            );
        }
        for sql in reads {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for (table, _) in KEPT {
            let history = format!("{table}_history");
            let drops = if backend == DatabaseBackend::Sqlite {
                vec![
                    format!("DROP TRIGGER {history}_insert"),
                    format!("DROP TRIGGER {history}_delete"),
                    format!("DROP TRIGGER {history}_update"),
                ]
            } else {
                vec![
                    format!("DROP TRIGGER {history}_keep ON \"{table}\""),
                    format!("DROP TRIGGER {history}_keep_update ON \"{table}\""),
                    format!("DROP FUNCTION {history}_keep()"),
                ]
            };
            for sql in drops.into_iter().chain([format!("DROP TABLE {history}")]) {
                db.execute_unprepared(&sql).await?;
            }
        }
        db.execute_unprepared("DROP TABLE history_starts").await?;
        Ok(())
    }
}
