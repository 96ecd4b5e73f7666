//! The expire and release paths under a long history, on SQLite and PostgreSQL (a harness, not
//! criterion). Most holds are never turned into permits, so the release and expire paths
//! matter as much as reserve.
//!
//! Each backend gets one quota with a history of finished reservations (released, expired,
//! closed, rejected; written directly in SQL, as years of use would leave them), then, in the
//! same run:
//! - an idle sweep (nothing due), which `cites serve` runs every minute: median and p99, with
//!   the permit-validity index and without it (dropped and re-created in the run; without it
//!   is what every sweep cost before migration 0005);
//! - expiry: a batch of holds falls due at once and one sweep expires them;
//! - release and commit churn: clients reserve and release (or reserve and commit) at once,
//!   pairs per second, against reserving alone in the same run.
//!
//! Run: `cargo bench --bench sweep` (`CITES_BENCH_ROWS=N` finished reservations, default
//! 200,000; `CITES_BENCH_SECS=N` seconds per churn cell, default 3;
//! `CITES_BENCH_BACKENDS=sqlite|postgres` runs one).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

/// The `cites` binary's allocator (`src/main.rs`): the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use db::{Backend, TestDb, with_db};
use domain::{Clock, CountryCode, ManualClock, Period, Quantity, TaxonId, UnitCode};
use quota::{Actor, ClientKey, Ledger, Outcome, QuotaSpec};
use rust_decimal::Decimal;

const ROWS_DEFAULT: i64 = 200_000;
const SECS_DEFAULT: f64 = 3.0;
/// Idle sweeps timed with the index, and without it (each one reads the whole history then).
const IDLE_SWEEPS_INDEXED: usize = 200;
const IDLE_SWEEPS_UNINDEXED: usize = 20;
/// Holds that fall due together (one sweep handles at most 1,000 holds).
const DUE_HOLDS: usize = 1_000;
const CHURN_CLIENTS: [usize; 2] = [1, 16];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn actor() -> Actor {
    Actor {
        name: "bench".into(),
        reason: None,
    }
}

fn one() -> Quantity {
    Quantity::new(Decimal::ONE, UnitCode::parse("").unwrap()).unwrap()
}

fn pct(sorted_us: &[u64], p: f64) -> f64 {
    sorted_us[((sorted_us.len() as f64 * p) as usize).min(sorted_us.len() - 1)] as f64 / 1000.0
}

/// `n` finished reservations of `quota_id`, a quarter of each terminal state.
async fn write_history(db: &db::Db, quota_id: i64, n: i64, at: DateTime<Utc>) {
    let sql = "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $4) \
         INSERT INTO quota_reservations (quota_id, state, quantity_micro, committed_micro, \
         exported_micro, expires_at, permit_expires_at, created_at, created_by) \
         SELECT $1, CASE n % 4 WHEN 0 THEN 'released' WHEN 1 THEN 'expired' \
         WHEN 2 THEN 'closed' ELSE 'rejected' END, 1000000, \
         CASE WHEN n % 4 = 2 THEN 1000000 ELSE 0 END, 0, \
         $2, CASE WHEN n % 4 = 2 THEN $3 ELSE NULL END, $2, 'history' FROM g";
    with_db!(db, pool => sqlx::query(sql)
        .bind(quota_id).bind(at).bind(at).bind(n)
        .execute(pool).await.map(|_| ()))
    .unwrap();
    // As after years of use: the planner knows the table's size.
    with_db!(db, pool => sqlx::query("ANALYZE").execute(pool).await.map(|_| ())).unwrap();
}

async fn idle_sweeps(ledger: &Ledger, n: usize) -> Vec<u64> {
    let mut us = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let report = ledger.sweep(&actor()).await.unwrap();
        us.push(started.elapsed().as_micros() as u64);
        assert_eq!(report.expired + report.closed, 0, "nothing is due");
    }
    us.sort_unstable();
    us
}

/// What each churn client does with the hold it reserved.
#[derive(Clone, Copy)]
enum Then {
    Nothing,
    Release,
    /// Commit the whole hold (a permit issued).
    Commit,
}

/// Reserve-and-release (or reserve-and-commit) pairs, or reservations alone, per second over
/// `window`, with `clients` at once.
async fn churn(
    ledger: &Ledger,
    quota_id: i64,
    clients: usize,
    window: Duration,
    tag: &str,
    then: Then,
) -> f64 {
    let deadline = Instant::now() + window;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let ledger = ledger.clone();
        let tag = format!("{tag}-{c}");
        tasks.push(tokio::spawn(async move {
            let mut pairs = 0u64;
            while Instant::now() < deadline {
                let key = ClientKey::parse(&format!("{tag}-{pairs}")).unwrap();
                let held = ledger
                    .reserve(&key, quota_id, &one(), None, &actor())
                    .await
                    .unwrap();
                let Outcome::Done { reservation, .. } = held else {
                    panic!("the churn quota never runs out: {held:?}");
                };
                let key = ClientKey::parse(&format!("{tag}-{pairs}-then")).unwrap();
                let ended = match then {
                    Then::Nothing => None,
                    Then::Release => Some(ledger.release(&key, reservation.id, &actor()).await),
                    Then::Commit => Some(
                        ledger
                            .commit(&key, reservation.id, None, None, &actor())
                            .await,
                    ),
                };
                if let Some(ended) = ended {
                    let ended = ended.unwrap();
                    assert!(matches!(ended, Outcome::Done { .. }), "{ended:?}");
                }
                pairs += 1;
            }
            pairs
        }));
    }
    let mut pairs = 0;
    for t in tasks {
        pairs += t.await.unwrap();
    }
    pairs as f64 / window.as_secs_f64()
}

async fn run(backend: Backend, rows: i64, window: Duration) {
    let name = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let t = TestDb::create(backend).await.unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let ledger = Ledger::new(t.db.clone(), clock.clone());
    let spec = QuotaSpec {
        exporter: CountryCode::parse("NA").unwrap(),
        taxon_id: TaxonId::new(4521),
        period: Period::calendar_year(2026),
        limit: Some(
            Quantity::new(Decimal::from(1_000_000_000), UnitCode::parse("").unwrap()).unwrap(),
        ),
        unit: UnitCode::parse("").unwrap(),
        term: None,
        source: None,
        purpose: None,
        notes: Some("sweep bench".into()),
        speciesplus_id: None,
    };
    let q = ledger
        .declare(&ClientKey::parse("declare").unwrap(), &spec, &actor())
        .await
        .unwrap();
    let started = Instant::now();
    write_history(&t.db, q.id, rows, t0() - chrono::Duration::days(30)).await;
    println!(
        "{name}: {rows} finished reservations written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let with_index = idle_sweeps(&ledger, IDLE_SWEEPS_INDEXED).await;
    with_db!(&t.db, pool => sqlx::query("DROP INDEX quota_reservations_permit_validity")
        .execute(pool).await.map(|_| ()))
    .unwrap();
    let without_index = idle_sweeps(&ledger, IDLE_SWEEPS_UNINDEXED).await;
    with_db!(&t.db, pool => sqlx::query(
        "CREATE INDEX quota_reservations_permit_validity ON quota_reservations (state, permit_expires_at)")
        .execute(pool).await.map(|_| ()))
    .unwrap();
    println!(
        "{name}: idle sweep p50/p99 {:.2}/{:.2} ms with the permit-validity index, {:.2}/{:.2} ms \
         without it: {:.0}x",
        pct(&with_index, 0.5),
        pct(&with_index, 0.99),
        pct(&without_index, 0.5),
        pct(&without_index, 0.99),
        pct(&without_index, 0.5) / pct(&with_index, 0.5)
    );

    let expiry = clock.now() + chrono::Duration::minutes(1);
    for i in 0..DUE_HOLDS {
        let key = ClientKey::parse(&format!("due-{i}")).unwrap();
        ledger
            .reserve(&key, q.id, &one(), Some(expiry), &actor())
            .await
            .unwrap();
    }
    clock.advance(chrono::Duration::minutes(2));
    let started = Instant::now();
    let report = ledger.sweep(&actor()).await.unwrap();
    let took = started.elapsed();
    assert_eq!(report.expired, DUE_HOLDS as u64);
    println!(
        "{name}: one sweep expired {} holds in {:.1} ms ({:.0} expirations/s)",
        report.expired,
        took.as_secs_f64() * 1000.0,
        report.expired as f64 / took.as_secs_f64()
    );

    for clients in CHURN_CLIENTS {
        let pairs = churn(
            &ledger,
            q.id,
            clients,
            window,
            &format!("churn{clients}"),
            Then::Release,
        )
        .await;
        let committed = churn(
            &ledger,
            q.id,
            clients,
            window,
            &format!("commit{clients}"),
            Then::Commit,
        )
        .await;
        let alone = churn(
            &ledger,
            q.id,
            clients,
            window,
            &format!("alone{clients}"),
            Then::Nothing,
        )
        .await;
        println!(
            "{name}, {clients} clients: {pairs:.0} reserve-and-release pairs/s, {committed:.0} \
             reserve-and-commit pairs/s, {alone:.0} reservations alone/s: a pair takes {:.1}x \
             (release) and {:.1}x (commit) a reservation",
            alone / pairs,
            alone / committed
        );
    }
    let broken = ledger.verify(q.id).await.unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    t.drop_db().await.unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows: i64 = env_or("CITES_BENCH_ROWS", ROWS_DEFAULT);
    let window = Duration::from_secs_f64(env_or("CITES_BENCH_SECS", SECS_DEFAULT));
    let only = std::env::var("CITES_BENCH_BACKENDS").ok();
    for (backend, tag) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        if only.as_deref().is_none_or(|o| o.contains(tag)) {
            run(backend, rows, window).await;
        }
    }
}
