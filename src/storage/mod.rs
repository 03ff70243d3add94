//! Storage: the only module that speaks SQL (through sea-orm). It opens and migrates the
//! database, reads with batched queries, and writes whole transactions.

pub mod audit;
pub mod bulk;
pub mod changes;
pub mod counting;
pub mod cursor;
pub mod export;
pub mod history;
pub mod import;
pub mod ledger;
pub mod read;
pub mod signatures;
pub mod tokens;
pub mod totals;
pub mod write;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::MigratorTrait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr};

use crate::domain::FieldError;

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The caller's input breaks a rule.
    #[error("{0}")]
    Invalid(#[from] FieldError),
    /// The row asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The row changed since the version the caller read, or a row with its key exists.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached now (down, restarting, a broken connection).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database failed; the cause is logged, never shown to clients.
    #[error("database error: {0}")]
    Db(DbErr),
}

/// Whether a database error is a unique-key violation (SQLSTATE 23505 on PostgreSQL,
/// extended code 2067 or 1555 on SQLite): two writers created the same key at once.
pub fn is_unique_violation(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else {
        return false;
    };
    match e.as_ref() {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("23505" | "2067" | "1555")),
        _ => false,
    }
}

/// Whether a database error means "unreachable now" rather than "this request is wrong":
/// no connection, a broken one, a pool timeout, or a server shutting down or starting up
/// (SQLSTATE classes 08 and 57P).
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let inner = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match inner.as_ref() {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl From<DbErr> for StorageError {
    /// The one place that classifies database failures: a duplicate key is a conflict, an
    /// unreachable database is unavailable, anything else is ours.
    fn from(err: DbErr) -> Self {
        if is_unique_violation(&err) {
            Self::Conflict("a record with this key was created at the same moment: reload it and retry".into())
        } else if is_unavailable(&err) {
            Self::Unavailable(err.to_string())
        } else {
            Self::Db(err)
        }
    }
}

/// A result of storage.
pub type StorageResult<T> = Result<T, StorageError>;

/// The PostgreSQL advisory lock key that serialises migrations ("pledgewa" in ASCII).
const MIGRATION_LOCK: i64 = 0x706c_6564_6765_7761;

/// Pool and timeout settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_connections: u32,
    /// How long a request may wait for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(5) }
    }
}

impl PoolOptions {
    /// The connections a pool of `url`'s database opens at most, unless told: 8 on
    /// PostgreSQL (its work runs in the server's processes, while requests wait on the
    /// network); on SQLite twice the cores, from 2 to 8. SQLite runs each connection's
    /// statements on a thread of this process, so connections beyond the cores add no
    /// throughput, only memory: each holds its page cache, its prepared statements and its
    /// thread's malloc arena. On 2 cores, 4 connections instead of 8 lowered the suite's
    /// peak from 120 to 86 MB at 100 000 commitments, at the same throughput.
    pub fn default_connections(url: &str) -> u32 {
        if url.starts_with("sqlite:") {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
            (2 * cores).clamp(2, 8) as u32
        } else {
            8
        }
    }
}

/// The database handle shared by the whole server: a pool plus a count of the SQL
/// statements it ran (for metrics, and for tests that prove batching).
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
    totals_cache: totals::SharedCache,
    changes: tokio::sync::broadcast::Sender<changes::Change>,
    max_connections: u32,
    progress: Progress,
}

/// Hears an import's progress: one call per record written, with its collection's size.
pub trait ImportProgress: Send + Sync {
    /// A record of `collection` (of `total`) is written.
    fn record(&self, collection: &'static str, total: usize);
}

/// The progress sink of an import, if any.
#[derive(Clone, Default)]
pub(crate) struct Progress(Option<Arc<dyn ImportProgress>>);

impl Progress {
    pub(crate) fn tick(&self, collection: &'static str, total: usize) {
        if let Some(sink) = &self.0 {
            sink.record(collection, total);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Progress(on)" } else { "Progress(off)" })
    }
}

impl Db {
    /// Opens the database at `url` (`sqlite://file.db?mode=rwc` or `postgres://…`).
    pub async fn connect(url: &str, pool: &PoolOptions) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(pool.max_connections)
            .min_connections(1)
            .acquire_timeout(pool.acquire_timeout)
            .connect_timeout(pool.acquire_timeout)
            // A ping only for a connection idle for a while (one that the database or a
            // proxy may have dropped): pinging on every checkout cost a round trip per
            // statement, a third of a computed page's round trips on PostgreSQL.
            .test_before_acquire_if_idle_for(Duration::from_secs(30))
            // PostgreSQL compiles any statement it costs above 100 000 (a total over a
            // million rows) before running it: 75–85 ms of a 0.6 s first total, which the
            // compiled code never won back. Off for our sessions only, in the startup
            // packet (no extra round trip); the cluster's settings are left alone.
            .map_sqlx_postgres_opts(|options| options.options([("jit", "off")]))
            .sqlx_logging(false);
        let mut conn = Database::connect(options).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&statements);
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        if conn.get_database_backend() == DatabaseBackend::Sqlite {
            // WAL lets readers go on while one writer writes.
            conn.execute_unprepared("PRAGMA journal_mode=WAL").await?;
        }
        let (changes, _) = tokio::sync::broadcast::channel(changes::BUFFER);
        Ok(Self {
            conn,
            statements,
            totals_cache: Default::default(),
            changes,
            max_connections: pool.max_connections,
            progress: Progress::default(),
        })
    }

    /// The sea-orm connection.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Whether the database answers a trivial query within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> bool {
        matches!(tokio::time::timeout(timeout, self.conn.execute_unprepared("SELECT 1")).await, Ok(Ok(_)))
    }

    /// This handle, reporting the progress of its imports to `sink`.
    pub fn with_progress(&self, sink: Arc<dyn ImportProgress>) -> Self {
        Self { progress: Progress(Some(sink)), ..self.clone() }
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// Whether every connection the pool may open is open and in use: a request that timed
    /// out waiting for one met a busy server, not an unreachable database.
    pub fn pool_saturated(&self) -> bool {
        let (open, idle) = self.pool_usage();
        open >= self.max_connections && idle == 0
    }

    /// Connections open in the pool, and how many of them are idle.
    pub fn pool_usage(&self) -> (u32, usize) {
        match self.conn.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        }
    }

    /// How many SQL statements this handle has run so far.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        // Replicas starting together on one PostgreSQL take turns: the first migrates, the
        // others wait on a session advisory lock, then find nothing left to do.
        let lock = match self.conn.get_database_backend() {
            DatabaseBackend::Postgres => {
                // A session of its own, outside the pool: the migration needs the pool's
                // connections, even when there is only one.
                use sea_orm::sqlx::ConnectOptions as _;
                let options = self.conn.get_postgres_connection_pool().connect_options();
                let mut session =
                    options.connect().await.map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))?;
                sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(MIGRATION_LOCK)
                    .execute(&mut session)
                    .await
                    .map_err(|e| DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e.into())))?;
                Some(session)
            }
            _ => None,
        };
        let result = self.migrate_now().await;
        if let Some(session) = lock {
            // Closing the session releases the lock.
            use sea_orm::sqlx::Connection as _;
            let _ = session.close().await;
        }
        result
    }

    async fn migrate_now(&self) -> Result<(), DbErr> {
        migration::Migrator::up(&self.conn, None).await?;
        // A database written before the counted amounts existed gets them now.
        if counting::counted_is_stale(&self.conn).await? {
            self.rebuild_totals().await?;
        }
        // A database from before the write-time sums gets them now (they change no answer).
        if !totals::sums::ready(&self.conn).await? {
            let txn = self.begin_write().await?;
            totals::sums::refill(&txn).await?;
            txn.commit().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod pool_tests {
    use super::PoolOptions;

    #[test]
    fn sqlite_opens_twice_the_cores_and_postgresql_eight() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) as u32;
        let sqlite = PoolOptions::default_connections("sqlite://pledgewatch.db?mode=rwc");
        assert_eq!(sqlite, (2 * cores).clamp(2, 8));
        assert!((2..=8).contains(&sqlite));
        assert_eq!(PoolOptions::default_connections("postgres://u@h/db"), 8);
    }
}
