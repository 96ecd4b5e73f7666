//! API keys of the HTTP service: created with a role, shown once, stored as a SHA-256 hash.
//!
//! A key is `cites_<prefix>_<secret>`: the prefix (8 hex characters) is stored in clear so an
//! operator can tell keys apart in listings and logs; the whole key is only ever stored hashed.
//! A 256-bit random secret needs no slow password hash: guessing it is not feasible.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use db::{Db, read_db, with_db};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The roles a key can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    PermitOfficer,
    ScientificAuthority,
    Enforcement,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::PermitOfficer,
        Role::ScientificAuthority,
        Role::Enforcement,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::PermitOfficer => "permit-officer",
            Role::ScientificAuthority => "scientific-authority",
            Role::Enforcement => "enforcement",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "invalid role {s:?} for field \"role\": accepted permit-officer, scientific-authority, enforcement, admin"
                )
            })
    }
}

/// Longest key name accepted.
pub const KEY_NAME_CHARS_MAX: usize = 100;
/// Random bytes in a key's secret part.
const SECRET_BYTES: usize = 32;

/// A key as listed (never with its secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who is calling: the key's name and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid key name for field \"name\": {0}")]
    InvalidName(&'static str),
    #[error(
        "a key named {0:?} already exists; pick another name (names are never reused, a revoked key's included: the audit ledger and its client keys refer to it)"
    )]
    NameTaken(String),
    #[error("no key named {0:?}")]
    UnknownName(String),
    #[error("the key named {0:?} was already revoked, at {1}")]
    AlreadyRevoked(String, DateTime<Utc>),
    #[error("database error")]
    Db(#[from] sqlx::Error),
}

fn hash(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// Creates a key; returns the key itself, which is not stored and cannot be shown again.
pub async fn create(
    db: &Db,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(String, KeyInfo), KeyError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(KeyError::InvalidName("it is empty"));
    }
    if name.chars().count() > KEY_NAME_CHARS_MAX {
        return Err(KeyError::InvalidName("it is longer than 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(KeyError::InvalidName("it contains control characters"));
    }
    let mut bytes = [0u8; SECRET_BYTES + 4];
    rand::rng().fill_bytes(&mut bytes);
    let prefix: String = bytes[..4].iter().map(|b| format!("{b:02x}")).collect();
    let secret: String = bytes[4..].iter().map(|b| format!("{b:02x}")).collect();
    let key = format!("cites_{prefix}_{secret}");
    let inserted = with_db!(db, pool => sqlx::query_as::<_, KeyInfo>(
        "INSERT INTO api_keys (name, role, key_prefix, secret_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, name, role, key_prefix, created_at, revoked_at")
        .bind(name).bind(role.as_str()).bind(&prefix).bind(hash(&key)).bind(now)
        .fetch_one(pool).await);
    match inserted {
        Ok(info) => Ok((key, info)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(KeyError::NameTaken(name.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn list(db: &Db) -> Result<Vec<KeyInfo>, KeyError> {
    Ok(read_db!(db, pool => sqlx::query_as::<_, KeyInfo>(
        "SELECT id, name, role, key_prefix, created_at, revoked_at FROM api_keys ORDER BY id")
        .fetch_all(pool).await)?)
}

pub async fn revoke(db: &Db, name: &str, now: DateTime<Utc>) -> Result<(), KeyError> {
    let n = with_db!(db, pool => sqlx::query(
        "UPDATE api_keys SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
        .bind(name).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        let revoked_at: Option<Option<DateTime<Utc>>> = with_db!(db, pool => sqlx::query_scalar(
            "SELECT revoked_at FROM api_keys WHERE name = $1")
            .bind(name).fetch_optional(pool).await)?;
        return Err(match revoked_at.flatten() {
            Some(at) => KeyError::AlreadyRevoked(name.to_owned(), at),
            None => KeyError::UnknownName(name.to_owned()),
        });
    }
    Ok(())
}

/// The caller a presented key belongs to, if it is a live key.
pub async fn authenticate(db: &Db, presented: &str) -> Result<Option<Caller>, KeyError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        name: String,
        role: String,
    }
    let secret_hash = hash(presented.trim());
    // Every request starts here: a connection that broke under it must not fail the request.
    let row: Option<Row> = read_db!(db, pool => sqlx::query_as::<_, Row>(
            "SELECT name, role FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL")
            .bind(&secret_hash).fetch_optional(pool).await)?;
    Ok(row.and_then(|r| {
        Some(Caller {
            name: r.name,
            role: r.role.parse().ok()?,
        })
    }))
}
