//! Transaction time: the counted rows and the records as the database knew them at each
//! data version. The records' history (`<table>_history`) is kept by triggers (migration
//! 000012); for the counted rows every write closes the rows it replaces and opens the rows it writes in
//! `counted_history` (the version is `-1` until `bump_data_version` stamps it), and keeps
//! the moment of each version in `version_times`; a `knownAt` total reads the rows of one
//! version (`storage/totals/sql.rs`: `from_counted`). Never pruned.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement};

use super::counting::{COUNTED_COLUMNS, id_list};

/// Ends the history of the counted rows of `ids` (all rows: `None`) at the version this
/// write will commit (`-1` until [`super::counting::bump_data_version`] stamps it): they are about to be
/// replaced or deleted.
pub(crate) async fn close<C: ConnectionTrait>(conn: &C, ids: Option<&[i64]>) -> Result<(), DbErr> {
    let scope = ids.map(|ids| format!(" AND commitment_id IN ({})", id_list(ids))).unwrap_or_default();
    let sql = format!("UPDATE counted_history SET known_until = -1 WHERE known_until IS NULL{scope}");
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql)).await?;
    Ok(())
}

/// Starts the history of the counted rows of `ids` as just written, from the version this
/// write will commit.
pub(crate) async fn open<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> Result<(), DbErr> {
    let sql = format!(
        "INSERT INTO counted_history (id, {COUNTED_COLUMNS}, known_from, known_until) \
         SELECT id, {COUNTED_COLUMNS}, -1, NULL FROM counted_amounts WHERE commitment_id IN ({})",
        id_list(ids)
    );
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql)).await?;
    Ok(())
}

/// The statements that stamp the rows this write closed and opened with its `version`: the
/// counted rows' history, and the records' (kept by triggers, see migration 000012).
pub(crate) fn stamp(version: i64) -> impl Iterator<Item = String> {
    let tables = std::iter::once("counted_history".to_owned())
        .chain(migration::KEPT_HISTORY.iter().map(|(table, _)| format!("{table}_history")));
    tables.map(move |history| {
        format!(
            "UPDATE {history} SET \
             known_from = CASE WHEN known_from = -1 THEN {version} ELSE known_from END, \
             known_until = CASE WHEN known_until = -1 THEN {version} ELSE known_until END \
             WHERE known_from = -1 OR known_until = -1"
        )
    })
}

/// The rows of `table` as the database knew them at data version `v` (from its history,
/// same columns plus the two versions), to read in place of the table under its own name.
pub(crate) fn rows_at(table: &str, v: i64) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, ExprTrait, Query};
    Query::select()
        .column(Asterisk)
        .from(Alias::new(format!("{table}_history")))
        .and_where(Expr::col(Alias::new("known_from")).lte(v))
        .cond_where(
            Condition::any()
                .add(Expr::col(Alias::new("known_until")).is_null())
                .add(Expr::col(Alias::new("known_until")).gt(v)),
        )
        .take()
}

/// Makes `select` read its entity's table as the database knew it at data version `v`.
pub(crate) fn read_at<E: sea_orm::EntityTrait>(select: &mut sea_orm::Select<E>, v: i64) {
    use sea_orm::QueryTrait;
    let entity = E::default();
    let table = entity.unquoted();
    QueryTrait::query(select).from_clear().from_subquery(rows_at(table, v), entity);
}

/// The statement that keeps the moment (microseconds since 1970, UTC) of `version`.
pub(crate) fn moment(version: i64, micros: i64) -> String {
    format!("INSERT INTO version_times (version, written_at) VALUES ({version}, {micros})")
}

impl super::Db {
    /// The data version the database was at, at moment `at` (the last written by then), or
    /// when the kept history starts (`None`: no history yet).
    pub async fn version_known_at(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<i64, Option<chrono::DateTime<chrono::Utc>>>, DbErr> {
        let conn = self.conn();
        let backend = conn.get_database_backend();
        let micros = at.timestamp_micros();
        #[derive(Debug, FromQueryResult)]
        struct Maybe {
            version: Option<i64>,
        }
        // The kept history starts at the last of the starts (the records' history came
        // after the counted rows'): a moment before it cannot be answered.
        let start = Maybe::find_by_statement(Statement::from_string(
            backend,
            "SELECT MAX(version) AS version FROM history_starts".to_owned(),
        ))
        .one(conn)
        .await?
        .and_then(|m| m.version)
        .unwrap_or(0);
        let found = Maybe::find_by_statement(Statement::from_string(
            backend,
            format!("SELECT MAX(version) AS version FROM version_times WHERE written_at <= {micros}"),
        ))
        .one(conn)
        .await?
        .and_then(|m| m.version);
        if let Some(version) = found.filter(|v| *v >= start) {
            return Ok(Ok(version));
        }
        let first = Maybe::find_by_statement(Statement::from_string(
            backend,
            format!("SELECT MIN(written_at) AS version FROM version_times WHERE version >= {start}"),
        ))
        .one(conn)
        .await?
        .and_then(|m| m.version)
        .and_then(chrono::DateTime::from_timestamp_micros);
        Ok(Err(first))
    }
}
