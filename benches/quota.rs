//! Quota reservation throughput (a harness, not criterion: each measurement is one timed run).
//!
//! Reservations per second, p50 and p99 latency, errors and retries, at 1, 4, 16 and 64
//! concurrent clients (tokio tasks, each looping on "reserve 1 unit"), on one hot quota and on
//! 1,000 quotas (each reservation picks a random one), on SQLite (a file database as
//! `db::TestDb` makes it: WAL, `synchronous=FULL`) and on PostgreSQL (127.0.0.1:5432, or
//! `CITES_TEST_POSTGRES_URL`), for these variants, interleaved cell by cell so that they are
//! compared under the same fsync weather (the protocol in `benches/README.md`):
//!
//! - (a) naive read-then-write: autocommitted `SELECT` then `UPDATE ... SET held = <read + 1>`.
//!   Wrong on purpose: it loses updates, reported as "lost" (granted minus what the counters
//!   moved); a separate short run on a quota of 100 units counts what it grants beyond the limit.
//! - (b) `BEGIN; SELECT ... FOR UPDATE; UPDATE; COMMIT` on PostgreSQL. On SQLite, labelled b*,
//!   the nearest: `BEGIN IMMEDIATE; SELECT; UPDATE; COMMIT`.
//! - (c) `SERIALIZABLE` read-then-write retried on 40001/40P01 (PostgreSQL). On SQLite, labelled
//!   c*, the nearest: a DEFERRED transaction retried on SQLITE_BUSY (5, 517, 6, 261). Retries
//!   are immediate (after a task yield), for up to 30 s per reservation, and counted.
//! - (d) the engine, unbatched: `quota::Ledger::reserve`, one reservation per transaction. It does
//!   more than the raw loops: besides the conditional UPDATE it inserts the reservation, a ledger
//!   entry and the key's request record (on PostgreSQL one autocommitted statement of
//!   data-modifying CTEs; on SQLite `BEGIN IMMEDIATE` and four statements).
//! - (e1) the raw ceiling the pgbench way: one conditional
//!   `UPDATE export_quotas SET held_micro = held_micro + $n WHERE id = $1 AND available >= $n`
//!   per autocommitted transaction. The ceiling for (d) on PostgreSQL.
//! - (e2) the raw `BEGIN [IMMEDIATE]; INSERT INTO quota_reservations; conditional UPDATE; COMMIT`
//!   loop. The ceiling for (d) on SQLite.
//! - (e3) the raw batch: one writer, `BEGIN; INSERT <C> reservations; conditional UPDATE;
//!   COMMIT` with C the cell's client count (the largest batch group commit can form). The
//!   ceiling for (f).
//!
//! The run also times fdatasync on a temporary file (50 calls) before, between and after the
//! backends, since this VM's fsync latency varies by an order of magnitude: compare ratios
//! within one run, not absolute figures across runs. Every error is counted and printed.
//!
//! Run: `cargo bench --bench quota` (`CITES_BENCH_SECS=10` seconds measured per cell after a
//! 5 s warm-up (`CITES_BENCH_WARMUP_SECS`), as the protocol asks; 128 cells: about 35
//! minutes; `CITES_BENCH_BACKENDS=sqlite|postgres` runs one; `CITES_BENCH_VARIANTS=d,f,e1`,
//! `CITES_BENCH_CLIENTS=16,64` and `CITES_BENCH_QUOTAS=1` run a subset of the cells;
//! `CITES_BENCH_RUNS=3` runs them all three times and gives the medians in the ratio table;
//! `CITES_BENCH_KEYS=per-client` shapes the idempotency keys as each
//! client counting its own instead of one time-ordered sequence, see [`KeyShape`]).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

/// The `cites` binary's allocator (`src/main.rs`): the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use db::{Backend, Db, TestDb, with_db, with_tx};
use domain::{CountryCode, ManualClock, Period, Quantity, TaxonId, UnitCode};
use quota::{Actor, ClientKey, GroupCommit, Ledger, Outcome, QuotaSpec};
use rand::{Rng, SeedableRng};

/// Seconds measured per cell unless `CITES_BENCH_SECS` says otherwise (the protocol: at
/// least 10 s measured after a 5 s warm-up).
const SECS_DEFAULT: f64 = 10.0;
/// Run before each measured window unless `CITES_BENCH_WARMUP_SECS` says otherwise; its
/// reservations are not counted in the rate.
const WARMUP_DEFAULT: Duration = Duration::from_secs(5);

/// Whole runs of every cell unless `CITES_BENCH_RUNS` says otherwise; the ratio table shows
/// the median of the runs (the protocol asks for at least 3).
const RUNS_DEFAULT: usize = 1;

fn runs() -> usize {
    std::env::var("CITES_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n >= 1)
        .unwrap_or(RUNS_DEFAULT)
}

fn warmup() -> Duration {
    std::env::var("CITES_BENCH_WARMUP_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s: &f64| *s >= 0.0)
        .map_or(WARMUP_DEFAULT, Duration::from_secs_f64)
}
const CLIENTS: [usize; 4] = [1, 4, 16, 64];
/// 1: everyone on the hot quota; 1,000: a random quota per reservation.
const QUOTA_COUNTS: [usize; 2] = [1, 1_000];
/// Quota limits of the throughput cells: never exhausted during a run.
const LIMIT_UNITS: i64 = 1_000_000_000;
/// Quota limit of the naive variant's oversell runs.
const OVERSELL_LIMIT_UNITS: i64 = 100;
/// An oversell run stops here even if its clients still find units.
const OVERSELL_TIME_MAX: Duration = Duration::from_secs(20);
/// Each reservation is of one unit, in millionths as stored.
const UNIT_MICRO: i64 = 1_000_000;
/// How long one (c) reservation keeps retrying before it counts as an error (SQLite's busy
/// timeout as `db` sets it).
const RETRY_FOR: Duration = db::SQLITE_BUSY_TIMEOUT;
const FSYNC_PROBES: usize = 50;

const SELECT_AVAILABLE: &str = "SELECT limit_micro - held_micro - committed_micro - exported_micro, \
     held_micro FROM export_quotas WHERE id = $1";
const SELECT_AVAILABLE_FOR_UPDATE: &str = "SELECT limit_micro - held_micro - committed_micro - exported_micro, \
     held_micro FROM export_quotas WHERE id = $1 FOR UPDATE";
const SET_HELD: &str = "UPDATE export_quotas SET held_micro = $2 WHERE id = $1";
const CONDITIONAL_UPDATE: &str = "UPDATE export_quotas SET held_micro = held_micro + $2 \
     WHERE id = $1 AND limit_micro - held_micro - committed_micro - exported_micro >= $2";
const INSERT_RESERVATION: &str = "INSERT INTO quota_reservations \
     (quota_id, state, quantity_micro, expires_at, created_at, created_by) \
     VALUES ($1, 'held', $2, $3, $4, 'bench')";
const HELD_SUM: &str = "SELECT CAST(COALESCE(SUM(held_micro), 0) AS BIGINT) FROM export_quotas \
     WHERE id >= $1 AND id <= $2";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Naive,
    Locked,
    Serializable,
    Engine,
    Group,
    RawUpdate,
    RawTx,
    RawBatch,
}

const VARIANTS: [Variant; 8] = [
    Variant::Naive,
    Variant::Locked,
    Variant::Serializable,
    Variant::Engine,
    Variant::Group,
    Variant::RawUpdate,
    Variant::RawTx,
    Variant::RawBatch,
];

impl Variant {
    fn label(self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Variant::Naive, _) => "a  naive SELECT;UPDATE",
            (Variant::Locked, Backend::Postgres) => "b  FOR UPDATE txn",
            (Variant::Locked, Backend::Sqlite) => "b* IMMEDIATE SELECT;UPDATE",
            (Variant::Serializable, Backend::Postgres) => "c  SERIALIZABLE+retry",
            (Variant::Serializable, Backend::Sqlite) => "c* DEFERRED+retry BUSY",
            (Variant::Engine, _) => "d  engine reserve",
            (Variant::Group, _) => "f  engine group commit",
            (Variant::RawUpdate, _) => "e1 raw cond. UPDATE",
            (Variant::RawTx, _) => "e2 raw INSERT+UPDATE txn",
            (Variant::RawBatch, _) => "e3 raw batch txn (C rows)",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Variant::Naive => "a",
            Variant::Locked => "b",
            Variant::Serializable => "c",
            Variant::Engine => "d",
            Variant::Group => "f",
            Variant::RawUpdate => "e1",
            Variant::RawTx => "e2",
            Variant::RawBatch => "e3",
        }
    }
}

/// A comma-separated filter from the environment (`CITES_BENCH_VARIANTS=d,f,e1`), for quick
/// looks at a few cells; unset runs everything.
fn env_list(name: &str) -> Option<Vec<String>> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').map(|x| x.trim().to_owned()).collect())
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// What every client of one backend shares.
struct Ctx {
    backend: Backend,
    db: Db,
    ledger: Ledger,
    /// The engine behind its group-commit writer (variant f).
    group: GroupCommit,
    one: Quantity,
    actor: Actor,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    keys: KeyShape,
}

/// How the clients' idempotency keys are shaped (`CITES_BENCH_KEYS`). The key index is a
/// B-tree: time-ordered keys (UUIDv7, ULID) all land on its rightmost pages, while keys that
/// each client numbers for itself land on as many pages as there are clients, and every page
/// a batch touches is one more page for the commit to write.
#[derive(Clone, Copy, Debug)]
enum KeyShape {
    /// `ordered` (the default): one time-ordered sequence shared by every client.
    Ordered,
    /// `per-client`: `<client>-<n>`, each client counting its own.
    PerClient,
}

impl KeyShape {
    fn from_env() -> KeyShape {
        match std::env::var("CITES_BENCH_KEYS").as_deref() {
            Ok("per-client") => KeyShape::PerClient,
            Ok("ordered") | Err(_) => KeyShape::Ordered,
            Ok(other) => panic!("CITES_BENCH_KEYS: {other:?} is not one of ordered, per-client"),
        }
    }
}

/// The shared sequence of [`KeyShape::Ordered`] keys.
static KEY_SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `n` units of the quotas' unit (NAR, specimens).
fn units(n: i64) -> Quantity {
    serde_json::from_value(serde_json::json!({ "amount": n.to_string(), "unit": "NAR" })).unwrap()
}

/// An error with its sources, for the report.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// PostgreSQL serialization failure or deadlock; SQLite BUSY, BUSY_SNAPSHOT, LOCKED, LOCKED_SHAREDCACHE.
fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(
            d.code().as_deref(),
            Some("40001" | "40P01" | "5" | "517" | "6" | "261")
        ),
        _ => false,
    }
}

/// (a): read, then write what was read plus one, in two autocommitted statements.
async fn naive(db: &Db, quota_id: i64) -> Result<bool, sqlx::Error> {
    let (available, held): (i64, i64) = with_db!(db, pool => sqlx::query_as(SELECT_AVAILABLE)
        .bind(quota_id).fetch_one(pool).await)?;
    if available < UNIT_MICRO {
        return Ok(false);
    }
    with_db!(db, pool => sqlx::query(SET_HELD)
        .bind(quota_id).bind(held + UNIT_MICRO).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(true)
}

/// (b) and (c): the same read-then-write inside one transaction opened with `begin`.
async fn read_then_write_tx(
    db: &Db,
    begin: &'static str,
    select: &'static str,
    quota_id: i64,
) -> Result<bool, sqlx::Error> {
    with_db!(db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        let (available, held): (i64, i64) =
            sqlx::query_as(select).bind(quota_id).fetch_one(&mut *tx).await?;
        if available < UNIT_MICRO {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(SET_HELD).bind(quota_id).bind(held + UNIT_MICRO).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}

/// (e1): one conditional UPDATE, autocommitted.
async fn raw_update(db: &Db, quota_id: i64) -> Result<bool, sqlx::Error> {
    let n = with_db!(db, pool => sqlx::query(CONDITIONAL_UPDATE)
        .bind(quota_id).bind(UNIT_MICRO).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// (e2): BEGIN [IMMEDIATE]; INSERT reservation; conditional UPDATE; COMMIT.
async fn raw_tx(ctx: &Ctx, quota_id: i64) -> Result<bool, sqlx::Error> {
    let begin = match ctx.backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    with_db!(&ctx.db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        sqlx::query(INSERT_RESERVATION)
            .bind(quota_id).bind(UNIT_MICRO).bind(ctx.expires_at).bind(ctx.now)
            .execute(&mut *tx).await?;
        let n = sqlx::query(CONDITIONAL_UPDATE)
            .bind(quota_id).bind(UNIT_MICRO).execute(&mut *tx).await?.rows_affected();
        if n == 1 {
            tx.commit().await?;
            Ok(true)
        } else {
            tx.rollback().await?;
            Ok(false)
        }
    })
}

/// The raw ceiling for group commit (raw batch transactions): one
/// writer, `BEGIN [IMMEDIATE]; INSERT <batch> reservations; conditional UPDATE by <batch>;
/// COMMIT`, with the batch as large as the cell's client count (the largest batch group commit
/// can form there).
async fn raw_batch(ctx: &Ctx, quota_id: i64, batch: usize) -> Result<bool, sqlx::Error> {
    let begin = match ctx.backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    with_db!(&ctx.db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO quota_reservations \
             (quota_id, state, quantity_micro, expires_at, created_at, created_by) ");
        qb.push_values(0..batch, |mut b, _| {
            b.push_bind(quota_id).push_bind("held").push_bind(UNIT_MICRO)
                .push_bind(ctx.expires_at).push_bind(ctx.now).push_bind("bench");
        });
        qb.build().execute(&mut *tx).await?;
        let n = sqlx::query(CONDITIONAL_UPDATE)
            .bind(quota_id).bind(UNIT_MICRO * batch as i64).execute(&mut *tx).await?.rows_affected();
        if n == 1 {
            tx.commit().await?;
            Ok(true)
        } else {
            tx.rollback().await?;
            Ok(false)
        }
    })
}

/// One reservation of one unit: `Ok((granted, retries))`, or the error (with its retries).
async fn reserve_once(
    ctx: &Ctx,
    variant: Variant,
    quota_id: i64,
    batch: usize,
    key: impl FnOnce() -> String,
) -> Result<(bool, u32), String> {
    let plain = |r: Result<bool, sqlx::Error>| r.map(|g| (g, 0)).map_err(|e| describe(&e));
    match variant {
        Variant::Naive => plain(naive(&ctx.db, quota_id).await),
        Variant::Locked => {
            let (begin, select) = match ctx.backend {
                Backend::Sqlite => ("BEGIN IMMEDIATE", SELECT_AVAILABLE),
                Backend::Postgres => ("BEGIN", SELECT_AVAILABLE_FOR_UPDATE),
            };
            plain(read_then_write_tx(&ctx.db, begin, select, quota_id).await)
        }
        Variant::Serializable => {
            let begin = match ctx.backend {
                Backend::Sqlite => "BEGIN DEFERRED",
                Backend::Postgres => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            };
            let give_up = Instant::now() + RETRY_FOR;
            let mut retries = 0;
            loop {
                match read_then_write_tx(&ctx.db, begin, SELECT_AVAILABLE, quota_id).await {
                    Ok(granted) => return Ok((granted, retries)),
                    Err(e) if is_conflict(&e) && Instant::now() < give_up => {
                        retries += 1;
                        tokio::task::yield_now().await;
                    }
                    Err(e) => return Err(format!("{} (after {retries} retries)", describe(&e))),
                }
            }
        }
        Variant::Engine => {
            let key = ClientKey::parse(&key()).map_err(|e| describe(&e))?;
            match ctx
                .ledger
                .reserve(&key, quota_id, &ctx.one, None, &ctx.actor)
                .await
            {
                Ok(Outcome::Done { .. }) => Ok((true, 0)),
                Ok(Outcome::Refused { .. }) => Ok((false, 0)),
                Err(e) => Err(describe(&e)),
            }
        }
        Variant::Group => {
            let key = ClientKey::parse(&key()).map_err(|e| describe(&e))?;
            match ctx
                .group
                .reserve(&key, quota_id, &ctx.one, None, &ctx.actor)
                .await
            {
                Ok(Outcome::Done { .. }) => Ok((true, 0)),
                Ok(Outcome::Refused { .. }) => Ok((false, 0)),
                Err(e) => Err(describe(&e)),
            }
        }
        Variant::RawUpdate => plain(raw_update(&ctx.db, quota_id).await),
        Variant::RawTx => plain(raw_tx(ctx, quota_id).await),
        Variant::RawBatch => raw_batch(ctx, quota_id, batch)
            .await
            .map(|g| (g, 0))
            .map_err(|e| describe(&e)),
    }
}

/// What one client saw during one cell.
#[derive(Default)]
struct Tally {
    /// Granted reservations completed inside the measured window, and their latencies.
    ok: u64,
    latencies_us: Vec<u64>,
    /// The rest over the whole cell, warm-up included.
    granted_total: u64,
    refused: u64,
    errors: u64,
    retries: u64,
    samples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.latencies_us.extend(other.latencies_us);
        self.granted_total += other.granted_total;
        self.refused += other.refused;
        self.errors += other.errors;
        self.retries += other.retries;
        for s in other.samples {
            if self.samples.len() < 3 && !self.samples.contains(&s) {
                self.samples.push(s);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn client(
    ctx: Arc<Ctx>,
    variant: Variant,
    targets: Arc<Vec<i64>>,
    key_prefix: String,
    client_index: usize,
    measure_from: Instant,
    until: Instant,
    seed: u64,
    batch: usize,
) -> Tally {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut t = Tally::default();
    let mut i = 0u64;
    loop {
        let started = Instant::now();
        if started >= until {
            break;
        }
        let quota_id = targets[rng.random_range(0..targets.len())];
        i += 1;
        let result = reserve_once(&ctx, variant, quota_id, batch, || match ctx.keys {
            KeyShape::Ordered => format!(
                "{key_prefix}-{:016}",
                KEY_SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            KeyShape::PerClient => format!("{key_prefix}-{client_index}-{i}"),
        })
        .await;
        let done = Instant::now();
        let in_window = done >= measure_from && done <= until;
        match result {
            Ok((granted, retries)) => {
                t.retries += u64::from(retries);
                if granted {
                    // A raw batch grants `batch` reservations at once, each waiting as long.
                    t.granted_total += batch as u64;
                    if in_window {
                        t.ok += batch as u64;
                        let us = done.duration_since(started).as_micros() as u64;
                        t.latencies_us.extend(std::iter::repeat_n(us, batch));
                    }
                } else {
                    t.refused += 1;
                }
            }
            Err(e) => {
                t.errors += 1;
                if t.samples.len() < 3 && !t.samples.contains(&e) {
                    t.samples.push(e);
                }
            }
        }
    }
    t
}

/// One measured cell of the table.
struct Cell {
    backend: Backend,
    variant: Variant,
    quotas: usize,
    clients: usize,
    window: Duration,
    tally: Tally,
    /// Granted (whole cell) minus what the counters moved, in units: lost updates.
    lost: i64,
}

impl Cell {
    fn rate(&self) -> f64 {
        self.tally.ok as f64 / self.window.as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        let l = &self.tally.latencies_us;
        if l.is_empty() {
            return f64::NAN;
        }
        l[((l.len() as f64 - 1.0) * p).round() as usize] as f64 / 1_000.0
    }

    fn row(&self) -> String {
        format!(
            "{:<8} {:<26} {:>6} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>6} {:>8} {:>7} {:>7}",
            backend_name(self.backend),
            self.variant.label(self.backend),
            self.quotas,
            self.clients,
            self.rate(),
            self.percentile_ms(0.5),
            self.percentile_ms(0.99),
            self.tally.errors,
            self.tally.retries,
            self.tally.refused,
            self.lost
        )
    }
}

const HEADER: &str = "backend  variant                    quotas clients   res/s   p50 ms   p99 ms errors  retries refused    lost";

async fn held_sum(db: &Db, ids: &[i64]) -> i64 {
    let (lo, hi) = (ids[0], ids[ids.len() - 1]);
    with_db!(db, pool => sqlx::query_scalar(HELD_SUM).bind(lo).bind(hi).fetch_one(pool).await)
        .unwrap()
}

async fn run_cell(
    ctx: &Arc<Ctx>,
    set: &Arc<Vec<i64>>,
    variant: Variant,
    quotas: usize,
    clients: usize,
    window: Duration,
) -> Cell {
    let targets: Arc<Vec<i64>> = if quotas == 1 {
        Arc::new(vec![set[0]])
    } else {
        set.clone()
    };
    let before = held_sum(&ctx.db, set).await;
    let measure_from = Instant::now() + warmup();
    let until = measure_from + window;
    // The raw batch is one writer committing `clients` rows at a time.
    let (tasks, batch) = match variant {
        Variant::RawBatch => (1, clients),
        _ => (clients, 1),
    };
    let handles: Vec<_> = (0..tasks)
        .map(|c| {
            tokio::spawn(client(
                ctx.clone(),
                variant,
                targets.clone(),
                format!("bench-{}-q{quotas}-c{clients}", variant.tag()),
                c,
                measure_from,
                until,
                (quotas * 1_000 + clients * 10 + c) as u64,
                batch,
            ))
        })
        .collect();
    let mut tally = Tally::default();
    for h in handles {
        tally.merge(h.await.unwrap());
    }
    tally.latencies_us.sort_unstable();
    let after = held_sum(&ctx.db, set).await;
    let lost = tally.granted_total as i64 - (after - before) / UNIT_MICRO;
    Cell {
        backend: ctx.backend,
        variant,
        quotas,
        clients,
        window,
        tally,
        lost,
    }
}

/// A quota of `limit_units` declared through the engine, on a taxon of its own (a national
/// quota is declared once per exporter, taxon, unit, restrictions and period).
async fn declare(ledger: &Ledger, key: &str, limit_units: i64) -> i64 {
    // Mixed (Knuth's multiplicative hash), so that keys one letter apart land far apart, clear
    // of the 1,000 copies of a quota that follow its taxon id.
    let taxon = key
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        .wrapping_mul(2_654_435_761);
    let spec = QuotaSpec {
        exporter: CountryCode::parse("NA").unwrap(),
        taxon_id: TaxonId::new(1_000_000 + taxon % 1_000_000_000),
        period: Period::calendar_year(2026),
        limit: Some(units(limit_units)),
        unit: UnitCode::parse("NAR").unwrap(),
        term: None,
        source: None,
        purpose: None,
        notes: Some(key.to_owned()),
        speciesplus_id: None,
    };
    let actor = Actor {
        name: "bench".to_owned(),
        reason: None,
    };
    ledger
        .declare(&ClientKey::parse(key).unwrap(), &spec, &actor)
        .await
        .unwrap()
        .id
}

/// `first` and `n - 1` copies of it (other taxa), inserted in one transaction so that their ids
/// are consecutive.
async fn copies(db: &Db, first: i64, n: usize) -> Vec<i64> {
    let mut ids = vec![first];
    let mut tx = db.begin().await.unwrap();
    for i in 1..n {
        let id: i64 = with_tx!(&mut tx, c => sqlx::query_scalar(
            "INSERT INTO export_quotas (exporter, taxon_id, period_start, period_end, unit, \
             limit_micro, origin, notes, created_at, created_by) \
             SELECT exporter, taxon_id + $2, period_start, period_end, unit, limit_micro, origin, \
             notes, created_at, created_by FROM export_quotas WHERE id = $1 RETURNING id")
            .bind(first).bind(i as i64).fetch_one(c).await)
        .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    assert_eq!(
        ids[n - 1] - ids[0],
        n as i64 - 1,
        "quota ids are not consecutive"
    );
    ids
}

struct Oversell {
    clients: usize,
    granted: u64,
    held_units: i64,
    errors: u64,
    elapsed: Duration,
    timed_out: bool,
    samples: Vec<String>,
}

/// (a) on a quota of [`OVERSELL_LIMIT_UNITS`]: each client reserves until it reads that
/// nothing is left; counts what was granted.
async fn oversell_run(ctx: &Arc<Ctx>, clients: usize) -> Oversell {
    let id = declare(
        &ctx.ledger,
        &format!("oversell-{clients}"),
        OVERSELL_LIMIT_UNITS,
    )
    .await;
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let mut t = Tally::default();
                let mut timed_out = false;
                loop {
                    if start.elapsed() > OVERSELL_TIME_MAX {
                        timed_out = true;
                        break;
                    }
                    match naive(&ctx.db, id).await {
                        Ok(true) => t.granted_total += 1,
                        Ok(false) => break,
                        Err(e) => {
                            t.errors += 1;
                            let e = describe(&e);
                            if t.samples.len() < 3 && !t.samples.contains(&e) {
                                t.samples.push(e);
                            }
                        }
                    }
                }
                (t, timed_out)
            })
        })
        .collect();
    let mut tally = Tally::default();
    let mut timed_out = false;
    for h in handles {
        let (t, out) = h.await.unwrap();
        tally.merge(t);
        timed_out |= out;
    }
    let elapsed = start.elapsed();
    let held: i64 = with_db!(&ctx.db, pool => sqlx::query_scalar(
        "SELECT held_micro FROM export_quotas WHERE id = $1").bind(id).fetch_one(pool).await)
    .unwrap();
    Oversell {
        clients,
        granted: tally.granted_total,
        held_units: held / UNIT_MICRO,
        errors: tally.errors,
        elapsed,
        timed_out,
        samples: tally.samples,
    }
}

/// Times [`FSYNC_PROBES`] fdatasync calls, each after an 8 KiB append, on a file in the
/// directory where `TestDb` puts SQLite databases. Returns (median, mean, max).
fn fsync_probe() -> (Duration, Duration, Duration) {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let mut file = std::fs::File::create(dir.path().join("fsync-probe")).unwrap();
    let block = [0x5au8; 8192];
    let mut times = Vec::with_capacity(FSYNC_PROBES);
    for _ in 0..FSYNC_PROBES {
        file.write_all(&block).unwrap();
        let t = Instant::now();
        file.sync_data().unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / FSYNC_PROBES as u32;
    (times[FSYNC_PROBES / 2], mean, times[FSYNC_PROBES - 1])
}

fn fsync_line(when: &str) -> String {
    let (median, mean, max) = fsync_probe();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "fsync probe ({when}): {FSYNC_PROBES} x fdatasync in {}: median {:.3} ms, mean {:.3} ms, max {:.3} ms",
        std::env::temp_dir().display(),
        ms(median),
        ms(mean),
        ms(max)
    )
}

struct BackendReport {
    cells: Vec<Cell>,
    oversells: Vec<Oversell>,
    engine_violations: Vec<String>,
}

/// How long a baseline's statement waits for a lock. The engine gives up a statement after
/// `quota::LOCK_WAIT` and retries it within its deadline; the raw baselines do not retry, so a
/// wait behind 64 writers must not turn into an error that lowers the ceiling they measure.
const BASELINE_LOCK_WAIT: Duration = Duration::from_secs(30);

async fn bench_backend(backend: Backend, window: Duration) -> BackendReport {
    let name = backend_name(backend);
    let t = TestDb::create(backend).await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap();
    let ledger = Ledger::new(t.db.clone(), Arc::new(ManualClock::new(now)));
    let ctx = Arc::new(Ctx {
        backend,
        // The baselines run on the same kind of pool as the engine: on PostgreSQL, plans
        // reused as pgbench's `-M prepared` reuses them ([`Db::for_keyed_statements`]).
        db: t.db.for_keyed_statements(BASELINE_LOCK_WAIT),
        ledger: ledger.clone(),
        group: GroupCommit::start(ledger.clone()),
        one: units(1),
        actor: Actor {
            name: "bench".to_owned(),
            reason: None,
        },
        now,
        expires_at: now + quota::HOLD_DEFAULT,
        keys: KeyShape::from_env(),
    });
    // Each variant gets its own 1,000 quotas (the first is its hot quota) in the same database.
    let mut sets = Vec::new();
    for v in VARIANTS {
        let first = declare(&ledger, &format!("bench-{}", v.tag()), LIMIT_UNITS).await;
        sets.push(Arc::new(copies(&t.db, first, QUOTA_COUNTS[1]).await));
    }
    let mut cells = Vec::new();
    let only_variants = env_list("CITES_BENCH_VARIANTS");
    let only_clients = env_list("CITES_BENCH_CLIENTS");
    let only_quotas = env_list("CITES_BENCH_QUOTAS");
    let wanted = |list: &Option<Vec<String>>, value: &str| {
        list.as_ref().is_none_or(|l| l.iter().any(|x| x == value))
    };
    for quotas in QUOTA_COUNTS {
        if !wanted(&only_quotas, &quotas.to_string()) {
            continue;
        }
        for clients in CLIENTS {
            if !wanted(&only_clients, &clients.to_string()) {
                continue;
            }
            for (v, set) in VARIANTS.iter().zip(&sets) {
                if !wanted(&only_variants, v.tag()) {
                    continue;
                }
                let cell = run_cell(&ctx, set, *v, quotas, clients, window).await;
                eprintln!("{}", cell.row());
                for s in &cell.tally.samples {
                    eprintln!("    error: {s}");
                }
                cells.push(cell);
            }
        }
    }
    let mut oversells = Vec::new();
    for clients in CLIENTS {
        if !wanted(&only_variants, "a") || !wanted(&only_clients, &clients.to_string()) {
            continue;
        }
        let o = oversell_run(&ctx, clients).await;
        eprintln!(
            "{name}: naive oversell run, {clients} clients: granted {} of {OVERSELL_LIMIT_UNITS}",
            o.granted
        );
        oversells.push(o);
    }
    // The engine's own invariants (counters = ledger replay = reservations, within limit)
    // after the load, on its 1,000 quotas.
    let mut engine_violations = Vec::new();
    let engine_sets = VARIANTS
        .iter()
        .zip(&sets)
        .filter(|(v, _)| matches!(v, Variant::Engine | Variant::Group))
        .flat_map(|(_, set)| set.iter().copied())
        .collect::<Vec<i64>>();
    for id in engine_sets.iter() {
        match ledger.verify(*id).await {
            Ok(v) => engine_violations.extend(v),
            Err(e) => engine_violations.push(format!("verify({id}) failed: {}", describe(&e))),
        }
    }
    t.drop_db().await.unwrap();
    BackendReport {
        cells,
        oversells,
        engine_violations,
    }
}

fn find(cells: &[Cell], quotas: usize, clients: usize, variant: Variant) -> Option<&Cell> {
    cells
        .iter()
        .find(|c| c.quotas == quotas && c.clients == clients && c.variant == variant)
}

/// The ratio table's figures for one backend, quota count and client count: rates d, f, e1, e2,
/// e3, then d/e1, d/e2, d/b, d/c, f/d, f/e3, e3/d.
fn ratio_row(cells: &[Cell], quotas: usize, clients: usize) -> [f64; 12] {
    let rate = |v| find(cells, quotas, clients, v).map_or(f64::NAN, Cell::rate);
    let d = rate(Variant::Engine);
    let f = rate(Variant::Group);
    [
        d,
        f,
        rate(Variant::RawUpdate),
        rate(Variant::RawTx),
        rate(Variant::RawBatch),
        d / rate(Variant::RawUpdate),
        d / rate(Variant::RawTx),
        d / rate(Variant::Locked),
        d / rate(Variant::Serializable),
        f / d,
        f / rate(Variant::RawBatch),
        rate(Variant::RawBatch) / d,
    ]
}

/// The median of the figures a cell gave in each run (NaN, a cell not run, sorts last).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get((xs.len().max(1) - 1) / 2)
        .copied()
        .unwrap_or(f64::NAN)
}

/// One line per quota count and client count; with several runs, each figure is the median of
/// the runs' figures (a ratio is the median of the ratios taken within each run, so that it is
/// always measured side by side).
fn print_ratios(backend: Backend, runs: &[&[Cell]]) {
    let ceiling = match backend {
        Backend::Postgres => "e1",
        Backend::Sqlite => "e2",
    };
    for quotas in QUOTA_COUNTS {
        for clients in CLIENTS {
            let rows: Vec<[f64; 12]> = runs
                .iter()
                .map(|cells| ratio_row(cells, quotas, clients))
                .collect();
            if rows.iter().all(|r| r[0].is_nan() && r[1].is_nan()) {
                continue;
            }
            let m: Vec<f64> = (0..12)
                .map(|i| median(rows.iter().map(|r| r[i]).collect()))
                .collect();
            println!(
                "{:<8} {:>6} {:>7} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>6.2}   {ceiling}",
                backend_name(backend),
                quotas,
                clients,
                m[0],
                m[1],
                m[2],
                m[3],
                m[4],
                m[5],
                m[6],
                m[7],
                m[8],
                m[9],
                m[10],
                m[11],
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and only wants a build.
    if !std::env::args().any(|a| a == "--bench") {
        println!("quota bench: run with `cargo bench --bench quota`");
        return;
    }
    let secs: f64 = std::env::var("CITES_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(SECS_DEFAULT);
    let window = Duration::from_secs_f64(secs);
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let backends: Vec<Backend> = match std::env::var("CITES_BENCH_BACKENDS").as_deref() {
        Ok("sqlite") => vec![Backend::Sqlite],
        Ok("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut fsync = vec![fsync_line("start")];
    eprintln!("{}", fsync[0]);
    eprintln!("client keys: {:?} (CITES_BENCH_KEYS)", KeyShape::from_env());
    eprintln!("{HEADER}");
    let runs = runs();
    let mut reports = Vec::new();
    for run in 1..=runs {
        for backend in &backends {
            let report = rt.block_on(bench_backend(*backend, window));
            let line = fsync_line(&format!("run {run}, after {}", backend_name(*backend)));
            eprintln!("{line}");
            fsync.push(line);
            reports.push((*backend, report));
        }
    }

    println!();
    println!(
        "Quota reservation throughput: {secs} s measured per cell after a {} s warm-up; {runs} run(s) of every cell (CITES_BENCH_RUNS); 1 unit per reservation; limits of {LIMIT_UNITS} units (never exhausted).",
        warmup().as_secs_f64()
    );
    println!(
        "Rates and latencies count reservations granted within the window; errors, retries, refused and lost cover the whole cell (warm-up included)."
    );
    println!(
        "lost = granted minus what the quota counters moved (lost updates; must be 0 except for (a)). Latency includes waiting for a pooled connection: pools hold {} (SQLite) and {} (PostgreSQL) connections, so at 16-64 clients most tasks queue for one.",
        db::SQLITE_POOL_CONNECTIONS_MAX,
        db::POSTGRES_POOL_CONNECTIONS_MAX
    );
    println!(
        "(d) does more per reservation than (e1)/(e2): besides the conditional UPDATE, a reservation, a ledger entry and the key's request record (three inserts with their indexes and foreign keys); its internal retries (up to {}) are not visible here.",
        quota::TRANSIENT_RETRIES_MAX
    );
    println!(
        "b*/c* on SQLite are the nearest equivalents: b* = BEGIN IMMEDIATE + SELECT + UPDATE; c* = BEGIN DEFERRED + SELECT + UPDATE retried on SQLITE_BUSY (d/b and d/c below are d/b* and d/c* there). (c) retries immediately for up to {} s per reservation; retries are counted.",
        RETRY_FOR.as_secs()
    );
    for line in &fsync {
        println!("{line}");
    }
    println!();
    println!("{HEADER}");
    for (_, report) in &reports {
        for cell in &report.cells {
            println!("{}", cell.row());
        }
    }

    println!();
    println!(
        "Engine (d) against the raw ceilings and baselines, each figure the median over the runs (ceiling: e1 on PostgreSQL, e2 on SQLite; goals in benches/README.md: PG d/e1 >= 0.8, d/b >= 1.5, d/c >= 1.8; SQLite d/e2 >= 0.7; group commit f/d >= 10 on PG, >= 20 on SQLite at 16-64 clients on one quota; e3/d is the most f/d could be on this machine, a raw batch of as many rows as there are clients against d)"
    );
    println!(
        "backend  quotas clients     d res/s   f res/s  e1 res/s  e2 res/s  e3 res/s   d/e1   d/e2    d/b    d/c    f/d   f/e3   e3/d   ceiling"
    );
    for backend in &backends {
        let of_backend: Vec<&[Cell]> = reports
            .iter()
            .filter(|(b, _)| b == backend)
            .map(|(_, r)| r.cells.as_slice())
            .collect();
        print_ratios(*backend, &of_backend);
    }

    println!();
    println!(
        "Naive read-then-write (a) on a quota of {OVERSELL_LIMIT_UNITS} units: each client reserves 1 unit until it reads that none is left."
    );
    println!("backend  clients granted oversold held-after errors  seconds");
    for (backend, report) in &reports {
        for o in &report.oversells {
            println!(
                "{:<8} {:>7} {:>7} {:>8} {:>10} {:>6} {:>8.2}{}",
                backend_name(*backend),
                o.clients,
                o.granted,
                (o.granted as i64 - OVERSELL_LIMIT_UNITS).max(0),
                o.held_units,
                o.errors,
                o.elapsed.as_secs_f64(),
                if o.timed_out {
                    "  (stopped at the time limit)"
                } else {
                    ""
                }
            );
        }
    }

    println!();
    let mut any_error = false;
    for (backend, report) in &reports {
        for cell in &report.cells {
            for s in &cell.tally.samples {
                any_error = true;
                println!(
                    "error sample {} {} q{} c{}: {s}",
                    backend_name(*backend),
                    cell.variant.tag(),
                    cell.quotas,
                    cell.clients
                );
            }
        }
        for o in &report.oversells {
            for s in &o.samples {
                any_error = true;
                println!(
                    "error sample {} naive oversell c{}: {s}",
                    backend_name(*backend),
                    o.clients
                );
            }
        }
        println!(
            "{}: engine invariants after the run (ledger.verify on its {} quotas): {}",
            backend_name(*backend),
            QUOTA_COUNTS[1],
            if report.engine_violations.is_empty() {
                "all hold".to_owned()
            } else {
                format!(
                    "{} violations, first: {}",
                    report.engine_violations.len(),
                    report.engine_violations[0]
                )
            }
        );
    }
    if !any_error {
        println!("no errors in any cell");
    }
    println!("total time {:.0} s", started.elapsed().as_secs_f64());
}
