//! `POST /v1/permit-checks` under concurrent load, on SQLite and PostgreSQL (a harness, not
//! criterion: each request is timed on its own).
//!
//! The service runs in-process on 127.0.0.1:0 over the sample catalogue, with one national
//! quota large enough never to run out. Clients (tokio tasks with one HTTP client each) loop on
//! checking a wild Amazilia versicolor export from Brazil, with and without `reserve: true`
//! (each reserving check has its own client key, so each one reserves). Per cell: checks per
//! second, p50 and p99 latency, errors, and how many reserving checks were allowed and
//! reserved (they must be equal: a check and its reservation never disagree).
//!
//! Run: `cargo bench --bench permit_checks` (`CITES_BENCH_SECS=N` seconds per cell, default 5,
//! after a 1 s warm-up; `CITES_BENCH_BACKENDS=sqlite|postgres` runs one).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

/// The `cites` binary's allocator (`src/main.rs`): the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cites::app::keys::{self, Role};
use cites::http::{AppState, app};
use db::{Backend, TestDb};
use domain::{Clock, ManualClock};
use serde_json::{Value, json};
use sync::{NoProgress, RunKind, SyncSettings, Synchroniser};

const SECS_DEFAULT: f64 = 5.0;
const WARMUP: Duration = Duration::from_secs(1);
const CLIENTS: [usize; 3] = [1, 16, 64];

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    ))
}

fn application(reserve: Option<String>) -> Value {
    let mut a = json!({
        "transaction": "export", "taxon": "Amazilia versicolor", "exporter": "BR",
        "importer": "DE", "source": "W", "purpose": "T", "term": "LIV", "quantity": "1",
        "date_issue": "2026-11-27", "date_trade": "2026-12-01",
        "documents": {"ndf_reference": "NDF-BR-2026-7", "laf_reference": "LAF-BR-2026-88"}
    });
    if let Some(key) = reserve {
        a["reserve"] = json!(true);
        a["client_key"] = json!(key);
    }
    a
}

#[derive(Default)]
struct Tally {
    ok: u64,
    latencies_us: Vec<u64>,
    errors: u64,
    allowed: u64,
    reserved: u64,
    sample: Option<String>,
}

struct Cell {
    backend: &'static str,
    reserve: bool,
    clients: usize,
    tally: Tally,
    window: Duration,
}

impl Cell {
    fn rate(&self) -> f64 {
        self.tally.ok as f64 / self.window.as_secs_f64()
    }

    fn pct(&self, p: f64) -> f64 {
        let l = &self.tally.latencies_us;
        if l.is_empty() {
            return f64::NAN;
        }
        l[((l.len() as f64 * p) as usize).min(l.len() - 1)] as f64 / 1000.0
    }

    fn row(&self) -> String {
        format!(
            "{:<8} {:<8} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>6} {:>8} {:>8}",
            self.backend,
            if self.reserve { "reserve" } else { "check" },
            self.clients,
            self.rate(),
            self.pct(0.5),
            self.pct(0.99),
            self.tally.errors,
            self.tally.allowed,
            self.tally.reserved
        )
    }
}

async fn run_cell(
    base: &str,
    key: &str,
    reserve: bool,
    clients: usize,
    window: Duration,
    tag: &str,
) -> Tally {
    let from = Instant::now() + WARMUP;
    let until = from + window;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let url = format!("{base}/v1/permit-checks");
        let key = key.to_owned();
        let tag = format!("{tag}-{c}");
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut t = Tally::default();
            let mut i = 0u64;
            loop {
                let started = Instant::now();
                if started >= until {
                    break;
                }
                i += 1;
                let body = application(reserve.then(|| format!("{tag}-{i}")));
                let res = http.post(&url).bearer_auth(&key).json(&body).send().await;
                let done = Instant::now();
                let answer = match res {
                    Ok(r) if r.status().is_success() => r.json::<Value>().await.ok(),
                    Ok(r) => {
                        t.sample.get_or_insert(format!("status {}", r.status()));
                        None
                    }
                    Err(e) => {
                        t.sample.get_or_insert(e.to_string());
                        None
                    }
                };
                let Some(answer) = answer else {
                    t.errors += 1;
                    continue;
                };
                if answer["decision"] == "ALLOW" {
                    t.allowed += 1;
                }
                if answer["reservation"]["outcome"] == "done" {
                    t.reserved += 1;
                }
                if done >= from && done <= until {
                    t.ok += 1;
                    t.latencies_us
                        .push(done.duration_since(started).as_micros() as u64);
                }
            }
            t
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        let t = task.await.unwrap();
        total.ok += t.ok;
        total.latencies_us.extend(t.latencies_us);
        total.errors += t.errors;
        total.allowed += t.allowed;
        total.reserved += t.reserved;
        if total.sample.is_none() {
            total.sample = t.sample;
        }
    }
    total.latencies_us.sort_unstable();
    total
}

async fn bench_backend(backend: Backend, window: Duration) -> Vec<Cell> {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let t = TestDb::create(backend).await.unwrap();
    let sample = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sample/catalogue.ndjson");
    Synchroniser::new(
        t.db.clone(),
        None,
        clock(),
        SyncSettings {
            fetch_concurrency: 1,
            fetch_distributions: false,
        },
    )
    .run_once(RunKind::Dump(sample), &NoProgress)
    .await
    .unwrap();
    let (officer, _) = keys::create(&t.db, "bench officer", Role::PermitOfficer, clock().now())
        .await
        .unwrap();
    let (sa, _) = keys::create(&t.db, "bench sa", Role::ScientificAuthority, clock().now())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let db = t.db.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app(AppState::new(db, clock())))
            .await
            .unwrap();
    });
    let declared = reqwest::Client::new()
        .post(format!("{base}/v1/quotas"))
        .bearer_auth(&sa)
        .json(
            &json!({"client_key": "bench-quota", "exporter": "BR", "taxon_id": 3210,
            "year": 2026, "limit": "1000000000", "unit": ""}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status().as_u16(), 201);
    let mut cells = Vec::new();
    for clients in CLIENTS {
        for reserve in [false, true] {
            let tag = format!("{name}-{clients}-{reserve}");
            let tally = run_cell(&base, &officer, reserve, clients, window, &tag).await;
            let cell = Cell {
                backend: name,
                reserve,
                clients,
                tally,
                window,
            };
            eprintln!("{}", cell.row());
            if let Some(s) = &cell.tally.sample {
                eprintln!("    error: {s}");
            }
            cells.push(cell);
        }
    }
    server.abort();
    let _ = server.await;
    t.drop_db().await.unwrap();
    cells
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("permit_checks bench: run with `cargo bench --bench permit_checks`");
        return;
    }
    let secs: f64 = std::env::var("CITES_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(SECS_DEFAULT);
    let window = Duration::from_secs_f64(secs);
    let backends = match std::env::var("CITES_BENCH_BACKENDS").as_deref() {
        Ok("sqlite") => vec![Backend::Sqlite],
        Ok("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    sync::client::install_tls_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let header = "backend  mode     clients  checks/s   p50 ms   p99 ms errors  allowed reserved";
    eprintln!("{header}");
    let mut all = Vec::new();
    for b in backends {
        all.extend(rt.block_on(bench_backend(b, window)));
    }
    println!();
    println!(
        "POST /v1/permit-checks, {secs} s per cell after a {} s warm-up; the service and its clients share the machine's cores. \"reserve\" checks reserve 1 unit each (a new client key per check): allowed must equal reserved.",
        WARMUP.as_secs()
    );
    println!("{header}");
    for c in &all {
        println!("{}", c.row());
    }
}
