//! A register written before the migration that stores its tables in key order reads the same
//! after it, and stays append-only.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use db::{Backend, TestDb};
use domain::ManualClock;
use trace::{Limits, Register};

use crate::support::{on_both_backends, scenario};

/// The last migration before the register's tables were rebuilt in key order.
const BEFORE_KEY_ORDER: i64 = 14;

/// Every answer the scenarios give, in one comparable value.
async fn answers(register: &Register) -> String {
    let mut out = Vec::new();
    for specimen in [
        "urn:cites:tin:IT-0001:24RU000123:0001",
        "urn:cites:handbag:FR:0001",
    ] {
        let o = register.origin(specimen, Limits::default()).await.unwrap();
        out.push(serde_json::to_string(&o).unwrap());
    }
    let f = register
        .forward("urn:cites:fish:RU:2024:0451", Limits::default())
        .await
        .unwrap();
    out.push(serde_json::to_string(&f).unwrap());
    let f = register
        .forward_from_event("ev:croc:ranching-2022", Limits::default())
        .await
        .unwrap();
    out.push(serde_json::to_string(&f).unwrap());
    let d = register.by_document("24ZW00055").await.unwrap();
    out.push(serde_json::to_string(&d).unwrap());
    let i = register
        .by_identifier(None, "ZW24/000101NIL")
        .await
        .unwrap();
    out.push(format!("{i:?}"));
    out.join("\n")
}

async fn a_register_written_before_the_key_order_migration_reads_the_same_after_it(
    backend: Backend,
) {
    let t = TestDb::create_migrated_to(backend, Some(BEFORE_KEY_ORDER))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2024, 7, 1, 12, 0, 0).single().unwrap(),
    ));
    let register = Register::new(t.db.clone(), clock);
    for name in ["caviar", "crocodile"] {
        register.ingest(&scenario(name), name).await.unwrap();
    }
    let before = answers(&register).await;
    assert!(before.contains("24ZW00055"), "{before}");

    t.db.migrate().await.unwrap();
    assert_eq!(answers(&register).await, before);
    // A retried batch is still recognised, and a new one still stored.
    assert!(
        register
            .ingest(&scenario("caviar"), "caviar")
            .await
            .unwrap()
            .replayed
    );
    assert!(
        !register
            .ingest(&scenario("timber"), "timber")
            .await
            .unwrap()
            .replayed
    );
    for sql in [
        "UPDATE trace_specimens SET quantity_micro = 2000000",
        "DELETE FROM trace_flows",
        "UPDATE trace_documents SET status = 'cancelled'",
        "DELETE FROM trace_event_documents",
    ] {
        let r = db::with_db!(&t.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.map(|_| ())
        });
        let e = r.unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    if backend == Backend::Sqlite {
        // Stored in key order: the rebuilt tables have no rowid.
        for table in [
            "trace_flows",
            "trace_events",
            "trace_specimens",
            "trace_documents",
        ] {
            let sql = format!("SELECT rowid FROM {table} LIMIT 1");
            let r = db::with_db!(&t.db, pool => {
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.map(|_| ())
            });
            assert!(r.is_err(), "{table} still has a rowid");
        }
    }
    t.drop_db().await.unwrap();
}
on_both_backends!(a_register_written_before_the_key_order_migration_reads_the_same_after_it);
