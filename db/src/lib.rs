//! Storage plumbing shared by the crates that keep tables: the two backends (SQLite, the
//! embedded default, and PostgreSQL), connecting with the settings the brief fixes, the embedded
//! migrations of every crate, and throw-away databases for tests.
//!
//! Owns no table and no query: each crate writes its own SQL against [`Db`], with the
//! [`with_db!`] and [`with_tx!`] macros running one body of code on whichever backend is in use.
//! SQL is written once with `$1, $2, ...` placeholders, which both SQLite and PostgreSQL accept.
//!
//! Architecture invariant: depends on sqlx only; knows nothing of CITES, HTTP or the Species+ API.

mod error;
mod testdb;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use error::{Error, Result};
pub use testdb::TestDb;

/// How long a SQLite writer waits for the write lock before giving up. Long enough that a
/// caller never sees "database is locked" under the load one machine can produce.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Prepared statements kept per SQLite connection. Multi-row INSERTs have one shape per row
/// count, so the default (100) would evict and re-prepare them constantly during a sync.
pub const SQLITE_STATEMENT_CACHE: usize = 1_000;
/// Prepared statements kept per PostgreSQL connection, for the same reason: a group-commit
/// batch of 1 to 256 requests has one statement shape per size, and at the default (100) a
/// load of 64 clients evicted and re-parsed them on every batch (group commit fell from 4,046
/// reservations/s at 16 clients to 1,234 at 64).
pub const POSTGRES_STATEMENT_CACHE: usize = 1_000;
/// Connections per pool. SQLite has one writer anyway; PostgreSQL gets a few more.
pub const SQLITE_POOL_CONNECTIONS_MAX: u32 = 8;
pub const POSTGRES_POOL_CONNECTIONS_MAX: u32 = 16;
/// How long to wait for a pooled connection before reporting the database as unavailable. A
/// pool that cannot connect (the server stopped) tries again until then, so this bounds how
/// long a read or `/health` waits for a database that is gone; under load a connection is
/// free again in milliseconds.
pub const POOL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(4);

/// The migrations of all crates, one ordered set per backend, embedded at build time.
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A connection pool on one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A write transaction on one of the two backends. SQLite transactions are opened with
/// `BEGIN IMMEDIATE`, so the write lock is taken up front and never upgraded mid-transaction
/// (an upgrade is what produces SQLITE_BUSY without waiting).
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Which backend a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Db {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `postgres://...`), creating a
    /// SQLite file if it does not exist, and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Db> {
        let db = Db::connect_without_migrating(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Connects without touching the schema.
    pub async fn connect_without_migrating(url: &str) -> Result<Db> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|source| Error::Url {
                    url: redact(url),
                    source,
                })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .statement_cache_capacity(SQLITE_STATEMENT_CACHE);
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            // An in-memory database exists per connection: one connection keeps it whole.
            let max = if in_memory {
                1
            } else {
                SQLITE_POOL_CONNECTIONS_MAX
            };
            let mut pool_options = SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(POOL_ACQUIRE_TIMEOUT)
                // A connection to a file in this process cannot go stale, and sqlx's check
                // before lending one is a round trip to the connection's thread for every
                // statement.
                .test_before_acquire(false);
            if in_memory {
                // Closing that connection would lose the database: never for being idle or
                // old (sqlx closes idle connections after 10 minutes, any after 30).
                pool_options = pool_options
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None);
            }
            let pool =
                pool_options
                    .connect_with(options)
                    .await
                    .map_err(|source| Error::Connect {
                        url: redact(url),
                        source,
                    })?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|source| Error::Url {
                    url: redact(url),
                    source,
                })?
                // Prepared statements are reused for the life of a connection. A generic plan
                // made while a table was empty (a first sync) keeps scanning it sequentially
                // after it has grown to 100,000 rows; custom plans see its current size
                // (a 30,000-taxon load: 32 s with generic plans, 9 s with custom ones).
                .options([("plan_cache_mode", "force_custom_plan")])
                .statement_cache_capacity(POSTGRES_STATEMENT_CACHE);
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_POOL_CONNECTIONS_MAX)
                .acquire_timeout(POOL_ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(|source| Error::Connect {
                    url: redact(url),
                    source,
                })?;
            Ok(Db::Postgres(pool))
        } else {
            Err(Error::UnsupportedUrl { url: redact(url) })
        }
    }

    /// Applies the migrations that have not been applied yet.
    pub async fn migrate(&self) -> Result<()> {
        self.migrate_to(None).await
    }

    /// Applies the migrations not applied yet, up to `version` included (`None`: all).
    pub async fn migrate_to(&self, version: Option<i64>) -> Result<()> {
        match (self, version) {
            (Db::Sqlite(pool), None) => SQLITE_MIGRATOR.run(pool).await?,
            (Db::Postgres(pool), None) => POSTGRES_MIGRATOR.run(pool).await?,
            (Db::Sqlite(pool), Some(v)) => SQLITE_MIGRATOR.run_to(v, pool).await?,
            (Db::Postgres(pool), Some(v)) => POSTGRES_MIGRATOR.run_to(v, pool).await?,
        }
        Ok(())
    }

    /// The same database for a workload of short statements that find their rows by key and
    /// run over and over (the quota ledger's), each of which waits at most `lock_wait` for a
    /// lock another session holds (then fails with an error [`is_locked`] recognises), and for
    /// a pooled connection. On PostgreSQL: a second pool, opened lazily, with `lock_timeout`
    /// set, whose connections plan each prepared statement once and reuse the plan
    /// (`plan_cache_mode = force_generic_plan`), where the main pool plans every execution for
    /// the catalogue's bulk loads ([`Db::connect`]). Planning a group-commit batch's statement
    /// took longer than running it: on one hot quota at 64 clients, 18,199 reservations/s with
    /// a plan per execution, 29,993 with the plan reused. On a SQLite file: a second pool
    /// whose `busy_timeout` is `lock_wait` (the main pool's, [`SQLITE_BUSY_TIMEOUT`], suits a
    /// catalogue load that may wait behind another). An in-memory SQLite database lives in its
    /// pool's one connection: the same pool (no other process can lock it).
    pub fn for_keyed_statements(&self, lock_wait: Duration) -> Db {
        match self {
            Db::Sqlite(pool) if pool.options().get_max_connections() <= 1 => {
                Db::Sqlite(pool.clone())
            }
            Db::Sqlite(pool) => {
                let options = (*pool.connect_options()).clone().busy_timeout(lock_wait);
                Db::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(SQLITE_POOL_CONNECTIONS_MAX)
                        .acquire_timeout(lock_wait)
                        .connect_lazy_with(options),
                )
            }
            Db::Postgres(pool) => {
                // The later `-c` of the startup options wins.
                let options = (*pool.connect_options()).clone().options([
                    ("plan_cache_mode", "force_generic_plan".to_owned()),
                    ("lock_timeout", format!("{}ms", lock_wait.as_millis())),
                ]);
                Db::Postgres(
                    PgPoolOptions::new()
                        .max_connections(POSTGRES_POOL_CONNECTIONS_MAX)
                        .acquire_timeout(lock_wait)
                        .connect_lazy_with(options),
                )
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Opens a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Attempts a read makes, at most, when its connection breaks under it. Every pooled
/// connection may have broken at once (a server restart ends them all), and the pool finds a
/// dead one only when it tests it: five attempts ride out a burst of such breaks.
pub const READ_ATTEMPTS_MAX: u32 = 5;

/// Whether `e` says the connection broke (the server restarted, an administrator terminated the
/// backend, the network failed) rather than that the statement failed. The statement may or
/// may not have run: only a statement that is safe to run twice may be retried on it.
pub fn is_connection_lost(e: &sqlx::Error) -> bool {
    match e {
        // A protocol error: what came back was not the server's answer, as when the
        // connection is closed during its handshake (sqlx reads the EOF as a reply of 0x00 to
        // its SSLRequest).
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        // PostgreSQL: class 08 (connection exception), the backend terminated by an
        // administrator or a shutdown (57P01, 57P02), the server still starting (57P03).
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            code.starts_with("08") || ["57P01", "57P02", "57P03"].contains(&code.as_ref())
        }),
        _ => false,
    }
}

/// Whether `e` says a lock another session holds was not granted in time: SQLite's BUSY and
/// LOCKED (with their extended codes BUSY_RECOVERY, BUSY_SNAPSHOT, LOCKED_SHAREDCACHE) once its
/// busy timeout has passed, PostgreSQL's `lock_not_available` (55P03) once `lock_timeout` has.
/// Nothing of the statement was done: the database is busy, not broken.
pub fn is_locked(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|code| ["5", "261", "517", "6", "262", "55P03"].contains(&code.as_ref())),
        _ => false,
    }
}

/// Runs `read` again, on another connection from the pool, when its connection broke under it
/// ([`is_connection_lost`]), up to [`READ_ATTEMPTS_MAX`] attempts. For reads, which are safe
/// to run twice; a pool reconnects at once, so there is no wait between attempts.
pub async fn retry_read<T, F, Fut>(mut read: F) -> std::result::Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        match read().await {
            Err(e) if attempt < READ_ATTEMPTS_MAX && is_connection_lost(&e) => {
                tracing::debug!(attempt, error = %e, "connection lost during a read; reading again");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Query parameters whose value is a secret (`?password=` is how libpq and sqlx also take one).
const SECRET_PARAMS: [&str; 6] = ["password", "token", "secret", "key", "signature", "sig"];

/// Removes the password from a URL so it can appear in errors and logs: the one in its
/// userinfo (up to the last `@` before the query, so a password holding `@` or `/` goes too)
/// and the value of any query parameter named like a secret (`SECRET_PARAMS`).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let mut shown = match before_query.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://{userinfo}@{host}"),
        },
        None => format!("{scheme}://{before_query}"),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _))
                    if SECRET_PARAMS
                        .iter()
                        .any(|s| name.to_ascii_lowercase().contains(s)) =>
                {
                    format!("{name}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

/// Runs `$body` with `$pool` bound to the backend's pool (`&SqlitePool` or `&PgPool`). The body
/// is compiled once per backend, so it may use backend-specific types as long as both compile.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// [`with_db!`] for a read: `$body` runs again on another connection when its connection broke
/// under it ([`retry_read`]). Evaluates to the body's `Result`, awaited. Only for statements that
/// change nothing, which are safe to run twice.
#[macro_export]
macro_rules! read_db {
    ($db:expr, $pool:ident => $body:expr) => {
        $crate::retry_read(|| async { $crate::with_db!($db, $pool => $body) }).await
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut SqliteConnection` or
/// `&mut PgConnection`).
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

#[cfg(test)]
mod tests;
