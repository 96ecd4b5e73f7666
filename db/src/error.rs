//! The storage error type.

/// Errors of connecting to and migrating a database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "unsupported database url {url:?}: accepted sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl { url: String },
    #[error("invalid database url {url:?}")]
    Url {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot connect to database {url:?}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error")]
    Sqlx(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
