//! Throw-away databases for tests and benchmarks: a SQLite file in a temporary directory, or a
//! uniquely named PostgreSQL database that is dropped again afterwards.

use std::path::PathBuf;

use crate::{Backend, Db, Error, Result};

/// The PostgreSQL server tests use when `CITES_TEST_POSTGRES_URL` is not set: the one every
/// development and CI machine runs.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database created for one test. Call [`TestDb::drop_db`] at the end; a PostgreSQL database
/// left behind by a panicking test is removed by the next [`TestDb::cleanup_stale`].
pub struct TestDb {
    pub db: Db,
    pub url: String,
    admin_url: Option<String>,
    name: Option<String>,
    dir: Option<PathBuf>,
}

/// Prefix of every test database name, so stale ones can be found and dropped.
const TEST_DB_PREFIX: &str = "cites_test_";

impl TestDb {
    /// Creates and migrates a fresh database on `backend`. PostgreSQL must be reachable: an
    /// unreachable server is an error, never a skipped test.
    pub async fn create(backend: Backend) -> Result<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!(
                    "{TEST_DB_PREFIX}{}_{}",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                std::fs::create_dir_all(&dir).map_err(|e| Error::Sqlx(sqlx::Error::Io(e)))?;
                let url = format!("sqlite://{}", dir.join("cites.db").display());
                let db = Db::connect(&url).await?;
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
                let name = format!("{TEST_DB_PREFIX}{:016x}", rand::random::<u64>());
                let admin = Db::connect_without_migrating(&admin_url).await?;
                if let Db::Postgres(pool) = &admin {
                    // The name is generated here from a random number: no user input.
                    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                        .execute(pool)
                        .await?;
                }
                admin.close().await;
                let url = replace_db_name(&admin_url, &name);
                let db = Db::connect(&url).await?;
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
