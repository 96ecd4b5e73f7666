//! Throw-away databases for tests and benchmarks: a SQLite file in a temporary directory, or a
//! uniquely named PostgreSQL database that is dropped again afterwards.

use std::path::PathBuf;

use crate::{Backend, Db, Error, Result};

/// The PostgreSQL server tests use when `CITES_TEST_POSTGRES_URL` is not set: the one every
/// development and CI machine runs.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database created for one test. Call [`TestDb::drop_db`] at the end; one left behind by a
/// test that panicked or was killed is removed by a later [`TestDb::create`] once it is older
/// than `STALE_AFTER` (it stays that long for a look at what went wrong).
pub struct TestDb {
    pub db: Db,
    pub url: String,
    admin_url: Option<String>,
    name: Option<String>,
    dir: Option<PathBuf>,
}

/// Prefix of every test database name, so stale ones can be found and dropped. The name goes
/// on with the Unix second the database was made, `_`, and a random number.
const TEST_DB_PREFIX: &str = "cites_test_t";
/// Age from which a test database nobody dropped is removed: no test or benchmark runs so long.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Wall-clock time, not an injected clock: it dates databases across test processes, so that a
/// later run can tell how long ago an abandoned one was made.
#[allow(clippy::disallowed_methods)]
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A fresh name: prefix, Unix second, random number.
fn new_name() -> String {
    format!(
        "{TEST_DB_PREFIX}{}_{:016x}",
        unix_now(),
        rand::random::<u64>()
    )
}

/// Whether `name` is a test database's, made longer than [`STALE_AFTER`] ago. Only names of
/// exactly the form [`new_name`] makes qualify, so nothing else is ever dropped.
fn is_stale(name: &str, now: u64) -> bool {
    let Some((secs, random)) = name
        .strip_prefix(TEST_DB_PREFIX)
        .and_then(|rest| rest.split_once('_'))
    else {
        return false;
    };
    let well_formed = !secs.is_empty()
        && secs.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 16
        && random.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed
        && secs
            .parse::<u64>()
            .is_ok_and(|made| now.saturating_sub(made) > STALE_AFTER.as_secs())
}

impl TestDb {
    /// Creates and migrates a fresh database on `backend`. PostgreSQL must be reachable: an
    /// unreachable server is an error, never a skipped test.
    pub async fn create(backend: Backend) -> Result<TestDb> {
        TestDb::create_migrated_to(backend, None).await
    }

    /// A fresh database whose schema stops at migration `version` (`None`: all of them), to
    /// test an upgrade over data written before it ([`Db::migrate`] then applies the rest).
    pub async fn create_migrated_to(backend: Backend, version: Option<i64>) -> Result<TestDb> {
        let connect = |url: String| async move {
            let db = Db::connect_without_migrating(&url).await?;
            db.migrate_to(version).await?;
            Ok::<_, Error>((db, url))
        };
        match backend {
            Backend::Sqlite => {
                let temp = std::env::temp_dir();
                // Directories left behind by tests that panicked or were killed.
                if let Ok(entries) = std::fs::read_dir(&temp) {
                    let now = unix_now();
                    for entry in entries.flatten() {
                        if entry.file_name().to_str().is_some_and(|n| is_stale(n, now)) {
                            let _ = std::fs::remove_dir_all(entry.path());
                        }
                    }
                }
                let dir = temp.join(new_name());
                std::fs::create_dir_all(&dir).map_err(|e| Error::Sqlx(sqlx::Error::Io(e)))?;
                let (db, url) =
                    connect(format!("sqlite://{}", dir.join("cites.db").display())).await?;
                Ok(TestDb {
                    db,
                    url,
                    admin_url: None,
                    name: None,
                    dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let admin_url = std::env::var("CITES_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned());
                let name = new_name();
                let admin = Db::connect_without_migrating(&admin_url).await?;
                if let Db::Postgres(pool) = &admin {
                    // Databases left behind by tests that panicked or were killed.
                    let names: Vec<String> = sqlx::query_scalar(
                        "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
                    )
                    .bind(TEST_DB_PREFIX)
                    .fetch_all(pool)
                    .await?;
                    let now = unix_now();
                    for stale in names.iter().filter(|n| is_stale(n, now)) {
                        // Checked by `is_stale`: the prefix, digits, `_`, hex digits.
                        // Another test process may be dropping it too: not this test's error.
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {stale} WITH (FORCE)"
                        )))
                        .execute(pool)
                        .await;
                    }
                    // The name is generated here from a random number: no user input.
                    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                        .execute(pool)
                        .await?;
                }
                admin.close().await;
                let (db, url) = connect(replace_db_name(&admin_url, &name)).await?;
                Ok(TestDb {
                    db,
                    url,
                    admin_url: Some(admin_url),
                    name: Some(name),
                    dir: None,
                })
            }
        }
    }

    /// Closes the pool and removes the database.
    pub async fn drop_db(self) -> Result<()> {
        self.db.close().await;
        if let (Some(admin_url), Some(name)) = (&self.admin_url, &self.name) {
            let admin = Db::connect_without_migrating(admin_url).await?;
            if let Db::Postgres(pool) = &admin {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(pool)
                .await?;
            }
            admin.close().await;
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok(())
    }
}

impl TestDb {
    /// Ends every connection to the PostgreSQL database at `url` (a [`TestDb::url`]) but its
    /// own, as an administrator's `pg_terminate_backend` or a server restart would; answers how
    /// many. For tests of what callers see when connections break under them (call it again
    /// and again meanwhile).
    pub async fn terminate_connections_to(url: &str) -> Result<i64> {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(url).await?;
        let terminated = sqlx::query_scalar(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await?;
        admin.close().await?;
        Ok(terminated)
    }
}

/// Swaps the database name at the end of a PostgreSQL URL, keeping any query string.
fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let host_part = base.rsplit_once('/').map(|(h, _)| h).unwrap_or(base);
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Runs one scenario as a `#[tokio::test]` on SQLite and one on PostgreSQL, named
/// `<scenario>::on_sqlite` and `<scenario>::on_postgres`: the one such macro of every test
/// binary in the workspace. The scenario is an `async fn(db::Backend, ...)` beside the call.
///
/// - `on_both_backends!(scenario);` on tokio's current-thread runtime;
/// - `on_both_backends!(multi_thread scenario);` on two worker threads;
/// - `... scenario -> anyhow::Result<()>);` when the scenario returns that;
/// - `... name = scenario(args...));` runs `scenario(backend, args...)` as the tests `name::*`.
#[macro_export]
macro_rules! on_both_backends {
    (multi_thread $($rest:tt)+) => {
        $crate::on_both_backends!(@with [(flavor = "multi_thread", worker_threads = 2)] $($rest)+);
    };
    (@with [$($flavor:tt)*] $name:ident = $scenario:ident($($arg:expr),* $(,)?) $(-> $ret:ty)?) => {
        mod $name {
            #[tokio::test $($flavor)*]
            async fn on_sqlite() $(-> $ret)? {
                super::$scenario($crate::Backend::Sqlite $(, $arg)*).await
            }

            #[tokio::test $($flavor)*]
            async fn on_postgres() $(-> $ret)? {
                super::$scenario($crate::Backend::Postgres $(, $arg)*).await
            }
        }
    };
    (@with [$($flavor:tt)*] $scenario:ident $(-> $ret:ty)?) => {
        $crate::on_both_backends!(@with [$($flavor)*] $scenario = $scenario() $(-> $ret)?);
    };
    ($scenario:ident $($rest:tt)*) => {
        $crate::on_both_backends!(@with [] $scenario $($rest)*);
    };
}
