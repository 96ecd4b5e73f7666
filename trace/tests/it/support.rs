//! Shared set-up: a register over a fresh database, on a manual clock, and the scenario files.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use db::{Backend, TestDb};
use domain::ManualClock;
use serde_json::Value;
use trace::Register;

/// `db`'s, shared by every test binary.
pub(crate) use db::on_both_backends;

pub struct Fixture {
    pub t: TestDb,
    pub register: Register,
}

pub async fn fixture(backend: Backend) -> Fixture {
    let t = TestDb::create(backend).await.unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2024, 7, 1, 12, 0, 0).single().unwrap(),
    ));
    let register = Register::new(t.db.clone(), clock);
    Fixture { t, register }
}

pub fn fixture_path(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

pub fn scenario(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(&format!("scenarios/{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Rows of a table, by a count on either backend.
pub async fn count(f: &Fixture, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    db::with_db!(&f.t.db, pool => {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap()
    })
}
