//! The provenance register at scale (a harness, not criterion: each
//! figure is one timed run, printed with the options that made it).
//!
//! Per backend (SQLite as `db::TestDb` makes it: a file, WAL, `synchronous=FULL`; PostgreSQL on
//! 127.0.0.1:5432 or `CITES_TEST_POSTGRES_URL`), on two fresh databases:
//!
//! 1. **Ingest.** A generated register (`chains.rs`: supply chains of six profiles, merged into a
//!    DAG by repackagings; deterministic for the seed, streamed one batch at a time) is stored
//!    batch by batch in batches of `trace::BATCH_RECORDS_MAX` records: through
//!    `Register::ingest` (the project's JSON, parsed, checked, stored, with findings) into one
//!    database, and as bare multi-row INSERTs of the same rows into the same tables of the other
//!    (`bare.rs`), batch after batch in alternating order so both meet the same disk weather.
//!    Generating a batch and writing its JSON are timed apart and not counted in either rate.
//! 2. **Queries.** On the register's database, for a uniform sample of specimens (seeded):
//!    `Register::origin` and `Register::forward` with the default `Limits`, each against the
//!    bare recursive CTE of `bare::walk_sql` that returns only the keys, interleaved query by
//!    query after a warm-up; p50 and p99 of each, and whether the engine and the CTE found the
//!    same specimens. Beside them, the trace's statement alone
//!    (`Register::trace_statement_only`: the same statement and parameters, its answer not read
//!    or analysed), which says how much of a trace is the database's. The three queries of a
//!    key take turns at running first, when less of what they read is in the caches.
//! 3. **Sweep.** `Register::sweep` (what `cites trace check` runs) over the whole register with
//!    `TraceConfig::default()` and the taxon facts the catalogue would give for the generator's
//!    six taxa (`chains::taxon_facts`: each profile's lineage up to its kingdom, as
//!    `src/app/trace.rs` builds them from the catalogue): its time (loading the register into
//!    the graph, then the checks), its findings by rule and severity, its peak memory.
//!
//! Each phase reports the process's peak resident memory (VmHWM, reset between phases through
//! `/proc/self/clear_refs`); PostgreSQL's own memory is its server's, not counted.
//!
//! Run: `nice cargo bench -p trace --bench trace` (10,000,000 nodes on SQLite and 1,000,000 on
//! PostgreSQL; nodes are specimens, events and documents). `CITES_BENCH_NODES=100000` sets both
//! scales (`CITES_BENCH_NODES_SQLITE`, `CITES_BENCH_NODES_POSTGRES` one each),
//! `CITES_BENCH_BACKENDS=sqlite|postgres` runs one backend, `CITES_BENCH_SAMPLES` the queried
//! specimens (5,000), `CITES_BENCH_SEED` the generator's seed (21), `CITES_BENCH_PHASES` the
//! phases run (`ingest,bare,queries,sweep`, the default; `ingest` is always run, as the others
//! read its register: `CITES_BENCH_PHASES=ingest,sweep` measures the sweep without the bare
//! INSERT baseline and the queries). The databases are dropped
//! (the SQLite directory removed) when the bench ends, fails, panics or is interrupted
//! (Ctrl-C, SIGTERM); one killed outright is removed by a later `TestDb::create` after
//! `db::STALE_AFTER`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

/// The `cites` binary's allocator (`src/main.rs`): the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bare;
mod chains;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use chrono::{TimeZone, Utc};
use db::{Backend, Db, TestDb};
use domain::ManualClock;
use rand::{Rng, SeedableRng};
use trace::{BATCH_RECORDS_MAX, Limits, Node, Register, Severity, TraceConfig};

/// Nodes (specimens, events, documents) generated on SQLite unless `CITES_BENCH_NODES[_SQLITE]`
/// says otherwise: the scale.
const NODES_SQLITE_DEFAULT: u64 = 10_000_000;
/// The same on PostgreSQL (`CITES_BENCH_NODES[_POSTGRES]`).
const NODES_POSTGRES_DEFAULT: u64 = 1_000_000;
/// Specimens queried (origin and forward each) unless `CITES_BENCH_SAMPLES` says otherwise: a
/// p99 of fifty points. The p99 of 1,000 (the tenth slowest) moved from 2.0x to 4.4x the bare
/// CTE's between runs of the same code on this shared machine.
const SAMPLES_DEFAULT: usize = 5_000;
/// Queries of each kind run and not counted before the sample, to warm caches and plans.
const WARMUP_QUERIES: usize = 50;
const SEED_DEFAULT: u64 = 21;
/// Progress lines per ingest phase.
const PROGRESS_STEPS: u64 = 10;
/// The p99 the issue asks of a trace, and its multiple of the bare CTE.
const P99_TARGET: Duration = Duration::from_millis(50);
const P99_RATIO_TARGET: f64 = 3.0;
/// Ingest rate the issue asks, as a fraction of the bare INSERT's.
const INGEST_RATIO_TARGET: f64 = 0.5;

fn env_or<T: std::str::FromStr>(names: &[&str], default: T) -> T {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok())
        .map(|v| {
            v.replace(['_', ','], "")
                .parse()
                .unwrap_or_else(|_| panic!("{names:?}: {v:?} is not a number"))
        })
        .unwrap_or(default)
}

#[derive(Clone, Copy)]
struct Opts {
    nodes: u64,
    samples: usize,
    seed: u64,
    phases: Phases,
}

/// The phases run besides the register's ingest (`CITES_BENCH_PHASES`).
#[derive(Clone, Copy, Debug)]
struct Phases {
    bare: bool,
    queries: bool,
    sweep: bool,
}

fn phases() -> anyhow::Result<Phases> {
    const ACCEPTED: &str = "a comma-separated list of ingest, bare, queries, sweep (ingest always \
                            included)";
    let Some(list) = std::env::var("CITES_BENCH_PHASES")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(Phases {
            bare: true,
            queries: true,
            sweep: true,
        });
    };
    let mut p = Phases {
        bare: false,
        queries: false,
        sweep: false,
    };
    let mut ingest = false;
    for name in list.split(',').map(str::trim) {
        match name {
            "ingest" => ingest = true,
            "bare" => p.bare = true,
            "queries" => p.queries = true,
            "sweep" => p.sweep = true,
            other => {
                return Err(anyhow!(
                    "CITES_BENCH_PHASES: unknown phase {other:?}; accepted {ACCEPTED}"
                ));
            }
        }
    }
    anyhow::ensure!(
        ingest,
        "CITES_BENCH_PHASES: {list:?} leaves out ingest, which fills the register the other \
         phases read; accepted {ACCEPTED}"
    );
    Ok(p)
}

fn backends() -> anyhow::Result<Vec<Backend>> {
    match std::env::var("CITES_BENCH_BACKENDS").ok().as_deref() {
        None | Some("") | Some("sqlite,postgres") => Ok(vec![Backend::Sqlite, Backend::Postgres]),
        Some("sqlite") => Ok(vec![Backend::Sqlite]),
        Some("postgres") => Ok(vec![Backend::Postgres]),
        Some(other) => Err(anyhow!(
            "CITES_BENCH_BACKENDS: {other:?}; accepted sqlite, postgres or sqlite,postgres"
        )),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let samples = env_or(&["CITES_BENCH_SAMPLES"], SAMPLES_DEFAULT);
    let seed = env_or(&["CITES_BENCH_SEED"], SEED_DEFAULT);
    let phases = phases()?;
    println!(
        "trace bench: batches of {BATCH_RECORDS_MAX} records, {samples} specimens queried, seed \
         {seed}, phases {phases:?} after the ingest; profiles: {}; an item is repackaged with \
         probability {} (again {})",
        chains::profiles(),
        chains::P_POOL,
        chains::P_REPOOL
    );
    for backend in backends()? {
        let nodes = match backend {
            Backend::Sqlite => env_or(
                &["CITES_BENCH_NODES_SQLITE", "CITES_BENCH_NODES"],
                NODES_SQLITE_DEFAULT,
            ),
            Backend::Postgres => env_or(
                &["CITES_BENCH_NODES_POSTGRES", "CITES_BENCH_NODES"],
                NODES_POSTGRES_DEFAULT,
            ),
        };
        let o = Opts {
            nodes,
            samples,
            seed,
            phases,
        };
        guarded(backend, o).await?;
    }
    Ok(())
}

/// Runs [`run`] on two fresh databases and drops them whatever happens: an error, a panic in
/// the bench's task, Ctrl-C or SIGTERM.
async fn guarded(backend: Backend, o: Opts) -> anyhow::Result<()> {
    let engine = TestDb::create(backend).await?;
    let bare = match TestDb::create(backend).await {
        Ok(t) => t,
        Err(e) => {
            engine.drop_db().await?;
            return Err(e.into());
        }
    };
    println!("\n== {backend:?}: {} nodes ==", o.nodes);
    let task = tokio::spawn(run(
        backend,
        [engine.db.clone(), bare.db.clone()],
        [engine.url.clone(), bare.url.clone()],
        o,
    ));
    let abort = task.abort_handle();
    let outcome = tokio::select! {
        r = task => r.unwrap_or_else(|e| Err(anyhow!("the bench's task ended abnormally: {e}"))),
        s = interrupted() => {
            abort.abort();
            Err(anyhow!("interrupted by {s}"))
        }
    };
    let dropped = (engine.drop_db().await, bare.drop_db().await);
    dropped.0.context("dropping the register's database")?;
    dropped.1.context("dropping the baseline's database")?;
    outcome
}

async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return "Ctrl-C";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}

/// Bytes a database takes: the SQLite file and its WAL, or `pg_database_size`.
async fn size(db: &Db, url: &str) -> anyhow::Result<u64> {
    match db {
        Db::Sqlite(_) => {
            let path = url.trim_start_matches("sqlite://");
            let mut total = 0;
            for suffix in ["", "-wal"] {
                total += std::fs::metadata(format!("{path}{suffix}")).map_or(0, |m| m.len());
            }
            Ok(total)
        }
        Db::Postgres(pool) => {
            let n: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(pool)
                .await?;
            Ok(u64::try_from(n)?)
        }
    }
}

/// Forgets the process's peak resident memory, so the next [`peak_mib`] is the phase's own.
fn reset_peak() {
    // "5" resets VmHWM to the current RSS (proc(5), since Linux 4.0).
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        println!("(cannot reset the peak resident memory: {e}; the peaks below are cumulative)");
    }
}

/// The process's peak resident memory since the last [`reset_peak`], in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

async fn run(backend: Backend, dbs: [Db; 2], urls: [String; 2], o: Opts) -> anyhow::Result<()> {
    let [engine, bare] = dbs;
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
    let register = Register::new(engine.clone(), Arc::new(ManualClock::new(now)));
    let specimens = ingest(&register, [&engine, &bare], o, now).await?;
    if o.phases.queries {
        queries(backend, &register, &engine, specimens, o).await?;
    }
    let sizes = (size(&engine, &urls[0]).await?, size(&bare, &urls[1]).await?);
    println!(
        "database size: register {:.0} MiB, bare {:.0} MiB",
        sizes.0 as f64 / 1048576.0,
        sizes.1 as f64 / 1048576.0
    );
    if o.phases.sweep {
        // As `cites trace check` would, in a process of its own: the ingest's pools closed
        // (their connections' prepared statements and page caches freed for the sweep to
        // reuse), the register read through a fresh one.
        drop(register);
        engine.close().await;
        bare.close().await;
        let fresh = Db::connect_without_migrating(&urls[0]).await?;
        let register = Register::new(fresh.clone(), Arc::new(ManualClock::new(now)));
        let swept = sweep(&register).await;
        fresh.close().await;
        swept?;
    }
    Ok(())
}

/// The peak memory the issue allows the sweep at 10 million nodes.
const SWEEP_PEAK_TARGET_MIB: f64 = 2048.0;

/// Phase 3: the full sweep (`cites trace check`): load and checks timed apart (the sweep
/// reports `checks` when the register is loaded), the peak memory of each, findings by rule.
async fn sweep(register: &Register) -> anyhow::Result<()> {
    let taxa = chains::taxon_facts();
    let config = TraceConfig::default();
    // When the checks began, and the peak memory of the load until then.
    let loaded: std::sync::Mutex<Option<(Instant, f64)>> = std::sync::Mutex::new(None);
    let progress = |phase: &'static str, _rows: u64| {
        if phase == "checks" {
            let peak = peak_mib();
            reset_peak();
            *loaded.lock().unwrap() = Some((Instant::now(), peak));
        }
    };
    reset_peak();
    println!(
        "sweep: resident memory when it began {:.0} MiB (what the ingest left, freed or not)",
        peak_mib()
    );
    let t = Instant::now();
    let s = register.sweep(&config, &taxa, &progress).await?;
    let end = Instant::now();
    let (checks_began, load_peak) = loaded.lock().unwrap().unwrap_or((end, f64::NAN));
    let checks_peak = peak_mib();
    let peak = load_peak.max(checks_peak);
    let mut by_rule: std::collections::BTreeMap<(u8, &str), usize> = Default::default();
    for f in &s.findings {
        let rank = match f.severity {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        };
        *by_rule.entry((rank, f.rule.as_str())).or_default() += 1;
    }
    let errors = s
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    println!(
        "sweep: {:.1} s (loading {} specimens, {} events, {} flows, {} documents {:.1} s, peak \
         RSS {load_peak:.0} MiB; checks {:.1} s, peak RSS {checks_peak:.0} MiB): peak RSS \
         {peak:.0} MiB (target under {SWEEP_PEAK_TARGET_MIB:.0} MiB at 10 million nodes: {}); \
         {} findings, {errors} errors",
        (end - t).as_secs_f64(),
        s.specimens,
        s.events,
        s.flows,
        s.documents,
        (checks_began - t).as_secs_f64(),
        (end - checks_began).as_secs_f64(),
        if peak < SWEEP_PEAK_TARGET_MIB {
            "met"
        } else {
            "MISSED"
        },
        s.findings.len()
    );
    for ((rank, rule), n) in &by_rule {
        let severity = ["error", "warning", "info"][usize::from(*rank)];
        let first = s.findings.iter().find(|f| f.rule == *rule);
        println!(
            "  {rule} ({severity}): {n}; first: {}",
            first.map_or("", |f| f.message.as_str())
        );
    }
    Ok(())
}

/// What autovacuum does on PostgreSQL once a table has grown by a tenth (its default
/// `autovacuum_analyze_scale_factor`), done here at every tenth of the ingest, untimed: a
/// server may run with autovacuum off (the development server does), and without statistics
/// the planner takes the grown tables for the empty ones it last saw (a look-up of 1,000 event
/// keys read the whole of trace_events: 60 ms at 280,000 events). Answers the time it took.
async fn analyze(dbs: [&Db; 2]) -> anyhow::Result<Duration> {
    let t = Instant::now();
    for db in dbs {
        if let Db::Postgres(pool) = db {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
    }
    Ok(t.elapsed())
}

/// Phase 1: every batch into the register and into the baseline; answers how many specimens.
async fn ingest(
    register: &Register,
    dbs: [&Db; 2],
    o: Opts,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<u64> {
    let bare = dbs[1];
    let mut t_analyze = Duration::ZERO;
    reset_peak();
    let mut g = chains::Generator::new(o.seed, o.nodes, BATCH_RECORDS_MAX);
    let (mut t_gen, mut t_engine, mut t_bare) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut w_engine, mut w_bare) = (Duration::ZERO, Duration::ZERO);
    let (mut batches, mut findings, mut records, mut step) = (0_u64, 0_usize, 0_u64, 1_u64);
    let (mut step_engine, mut step_bare, mut step_nodes) = (Duration::ZERO, Duration::ZERO, 0);
    loop {
        let t = Instant::now();
        let Some(b) = g.next_batch() else { break };
        let json = b.to_json();
        t_gen += t.elapsed();
        let key = format!("bench:{batches}");
        let mut engine_first = batches % 2 == 0;
        let (mut de, mut db) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..if o.phases.bare { 2 } else { 1 } {
            let t = Instant::now();
            if engine_first || !o.phases.bare {
                let done = register.ingest(&json, &key).await?;
                anyhow::ensure!(!done.replayed, "batch {key} was taken for a retry");
                findings += done.findings.len();
                de = t.elapsed();
            } else {
                bare::insert(bare, &b, &key, now).await?;
                db = t.elapsed();
            }
            engine_first = !engine_first;
        }
        t_engine += de;
        t_bare += db;
        w_engine = w_engine.max(de);
        w_bare = w_bare.max(db);
        step_engine += de;
        step_bare += db;
        step_nodes += b.nodes() as u64;
        records += b.records() as u64;
        batches += 1;
        let done = g.counts.nodes();
        if done * PROGRESS_STEPS >= o.nodes * step || done >= o.nodes {
            let register_rate = step_nodes as f64 / step_engine.as_secs_f64();
            if o.phases.bare {
                println!(
                    "  {:>11} nodes: this stretch register {register_rate:>7.0} nodes/s, bare \
                     {:>7.0} nodes/s ({:.2}x)",
                    done,
                    step_nodes as f64 / step_bare.as_secs_f64(),
                    step_bare.as_secs_f64() / step_engine.as_secs_f64()
                );
            } else {
                println!("  {done:>11} nodes: this stretch register {register_rate:>7.0} nodes/s");
            }
            std::io::stdout().flush()?;
            (step_engine, step_bare, step_nodes) = (Duration::ZERO, Duration::ZERO, 0);
            while done * PROGRESS_STEPS >= o.nodes * step {
                step += 1;
            }
            t_analyze += analyze(dbs).await?;
        }
    }
    if dbs[0].backend() == Backend::Postgres {
        println!(
            "ANALYZE of both databases at every tenth of the ingest: {:.1} s (untimed)",
            t_analyze.as_secs_f64()
        );
    }
    let c = &g.counts;
    let nodes = c.nodes() as f64;
    println!(
        "generated: {} nodes in {batches} batches ({records} records): {} specimens, {} \
         documents, events {:?}; {} identifiers, {} flows; {} primary chains, {} repackagings; \
         generation and JSON {:.1} s",
        c.nodes(),
        c.specimens,
        c.documents,
        c.events,
        c.identifiers,
        c.flows,
        c.primary_chains,
        c.repackagings,
        t_gen.as_secs_f64()
    );
    if !o.phases.bare {
        println!(
            "ingest: register {:.1} s ({:.0} nodes/s, slowest batch {} ms), bare INSERT not run; \
             {findings} findings; peak RSS {:.0} MiB",
            t_engine.as_secs_f64(),
            nodes / t_engine.as_secs_f64(),
            w_engine.as_millis(),
            peak_mib()
        );
        return Ok(c.specimens);
    }
    let ratio = t_bare.as_secs_f64() / t_engine.as_secs_f64();
    println!(
        "ingest: register {:.1} s ({:.0} nodes/s, slowest batch {} ms), bare INSERT {:.1} s \
         ({:.0} nodes/s, slowest batch {} ms): {ratio:.2}x of bare (target >= {INGEST_RATIO_TARGET}: \
         {}); {findings} findings; peak RSS {:.0} MiB",
        t_engine.as_secs_f64(),
        nodes / t_engine.as_secs_f64(),
        w_engine.as_millis(),
        t_bare.as_secs_f64(),
        nodes / t_bare.as_secs_f64(),
        w_bare.as_millis(),
        if ratio >= INGEST_RATIO_TARGET {
            "met"
        } else {
            "MISSED"
        },
        peak_mib()
    );
    Ok(c.specimens)
}

/// The queries timed, by index: the whole queries, the bare walks, and the trace's statement
/// alone (`Register::trace_statement_only`: its answer not read, nothing analysed).
const SERIES: [&str; 6] = [
    "origin (register)",
    "origin (bare CTE)",
    "forward (register)",
    "forward (bare CTE)",
    "origin (statement)",
    "forward (statement)",
];

/// Latencies of one kind of query, and the sizes of the answers.
#[derive(Default)]
struct Series {
    times: Vec<Duration>,
    found: Vec<usize>,
}

impl Series {
    fn pct(&self, p: usize) -> Duration {
        let mut v = self.times.clone();
        v.sort();
        v.get((v.len() * p / 100).min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }

    fn line(&self, name: &str) -> String {
        let mean = self.found.iter().sum::<usize>() as f64 / self.found.len().max(1) as f64;
        format!(
            "{name:<22} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  specimens mean {mean:.1} max {}",
            self.pct(50).as_secs_f64() * 1e3,
            self.pct(99).as_secs_f64() * 1e3,
            self.times
                .iter()
                .max()
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3,
            self.found.iter().max().copied().unwrap_or_default()
        )
    }
}

fn specimen_count(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .filter(|n| matches!(n, Node::Specimen { .. }))
        .count()
}

/// Phase 2: origin and forward against the bare CTE, over a uniform sample of specimens.
async fn queries(
    backend: Backend,
    register: &Register,
    engine: &Db,
    specimens: u64,
    o: Opts,
) -> anyhow::Result<()> {
    reset_peak();
    let mut rng = rand::rngs::StdRng::seed_from_u64(o.seed ^ 0x5eed);
    let (up, down) = (bare::walk_sql(true), bare::walk_sql(false));
    let limits = Limits::default();
    let mut s: [Series; 6] = Default::default();
    let (mut disagree, mut truncated) = (Vec::new(), 0);
    for i in 0..WARMUP_QUERIES + o.samples {
        let key = format!("sp:{}", rng.random_range(0..specimens));
        let counted = i >= WARMUP_QUERIES;
        // The first query of a key finds less of the register in the caches than the next
        // ones: each of the three series of a kind runs first, second and third in turn.
        let turn = i % 3;
        let mut order = [0_usize; 6];
        for k in 0..3 {
            order[k] = [0, 4, 1][(k + turn) % 3];
            order[3 + k] = [2, 5, 3][(k + turn) % 3];
        }
        let mut found = [0_usize; 6];
        let mut took = [Duration::ZERO; 6];
        for q in order {
            let t = Instant::now();
            found[q] = match q {
                0 => {
                    let a = register.origin(&key, limits).await?;
                    truncated += usize::from(a.truncated);
                    specimen_count(&a.nodes)
                }
                1 => bare::walk(engine, &up, &key).await?,
                2 => {
                    let a = register.forward(&key, limits).await?;
                    truncated += usize::from(a.truncated);
                    specimen_count(&a.nodes)
                }
                3 => bare::walk(engine, &down, &key).await?,
                _ => {
                    register.trace_statement_only(&key, q == 4, limits).await?;
                    0
                }
            };
            took[q] = t.elapsed();
        }
        // The statement's answer is the query's, unread.
        (found[4], found[5]) = (found[0], found[2]);
        if !counted {
            continue;
        }
        for q in 0..6 {
            s[q].times.push(took[q]);
            s[q].found.push(found[q]);
        }
        if found[0] != found[1] || found[2] != found[3] {
            disagree.push(key);
        }
    }
    println!(
        "queries ({backend:?}, {} specimens, default limits: depth {}, {} nodes):",
        o.samples, limits.depth, limits.nodes
    );
    for q in [0, 4, 1, 2, 5, 3] {
        println!("  {}", s[q].line(SERIES[q]));
    }
    for (e, st, b, name) in [(0, 4, 1, "origin"), (2, 5, 3, "forward")] {
        let ratio = s[e].pct(99).as_secs_f64() / s[b].pct(99).as_secs_f64();
        let met = ratio <= P99_RATIO_TARGET && s[e].pct(99) <= P99_TARGET;
        println!(
            "  {name}: p99 {ratio:.2}x the bare CTE (target <= {P99_RATIO_TARGET}x and under {} \
             ms: {}); its statement alone {:.2}x",
            P99_TARGET.as_millis(),
            if met { "met" } else { "MISSED" },
            s[st].pct(99).as_secs_f64() / s[b].pct(99).as_secs_f64()
        );
    }
    println!(
        "  answers: {} of {} samples found the same specimens as the CTE{}; {truncated} \
         truncated; peak RSS {:.0} MiB",
        o.samples - disagree.len(),
        o.samples,
        disagree
            .first()
            .map_or(String::new(), |k| format!(" (first differing: {k})")),
        peak_mib()
    );
    Ok(())
}
