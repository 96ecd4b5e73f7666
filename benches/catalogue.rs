//! Catalogue benchmarks (a harness, not criterion: each measurement is one long run).
//!
//! 1. A full sync of a generated catalogue served by the fake Species+ on loopback with no
//!    pacing, into SQLite and PostgreSQL: taxa per second (target: the whole catalogue in under
//!    20 s on SQLite on the 2-core machine). Measured three ways side by side in the same run:
//!    the page walk with two per-taxon requests (legislation, distributions), the weekly bulk
//!    dump downloaded through the API, and the same dump loaded from a local file.
//! 2. The listing of a taxon at a date on that catalogue: median and p99 latency
//!    (target p99 under 1 ms).
//!
//! Run: `cargo bench --bench catalogue` (`CITES_BENCH_TAXA=90000` by default; set it lower
//! for a quick look). Figures are machine-dependent: compare them with each other, within
//! one run, not across machines.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

/// The `cites` binary's allocator (`src/main.rs`): the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use db::{Backend, TestDb};
use domain::{CountryCode, ManualClock};
use rand::{Rng, SeedableRng};
use speciesplus_fake::{Catalogue, FakeConfig, FakeSpeciesPlus};
use sync::{Client, ClientConfig, NoProgress, RunKind, SyncSettings, Synchroniser, Token};

const TOKEN: &str = "bench-token-000000000tt";
/// Taxa generated unless `CITES_BENCH_TAXA` says otherwise (Species+ had 89,616 in 2025).
const TAXA_DEFAULT: usize = 90_000;
/// Listing queries timed per backend.
const LISTING_QUERIES: usize = 20_000;
/// Concurrent legislation fetches during the walk (no pacing on loopback).
const FETCH_CONCURRENCY: usize = 8;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    ))
}

fn synchroniser(db: db::Db, fake: Option<&FakeSpeciesPlus>) -> Synchroniser {
    let client = fake.map(|f| {
        let mut c = ClientConfig::new(&f.base_url(), Token::new(TOKEN).unwrap()).unwrap();
        c.pace = Duration::ZERO;
        Client::new(c).unwrap()
    });
    Synchroniser::new(
        db,
        client,
        clock(),
        SyncSettings {
            fetch_concurrency: FETCH_CONCURRENCY,
            fetch_distributions: true,
        },
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

async fn bench_backend(
    backend: Backend,
    catalogue: &Catalogue,
    fake: &FakeSpeciesPlus,
    dump: &std::path::Path,
) {
    let n = catalogue.len() as f64;
    let name = format!("{backend:?}").to_lowercase();

    let mut walked = None;
    if std::env::var("CITES_BENCH_SKIP_WALK").is_err() {
        let t = TestDb::create(backend).await.unwrap();
        let start = Instant::now();
        let report = synchroniser(t.db.clone(), Some(fake))
            .run_once(RunKind::Full, &NoProgress)
            .await
            .unwrap();
        let walk = start.elapsed();
        println!(
            "{name:<8} full walk  {:>8.1} s  {:>8.0} taxa/s  ({} requests, {} listing changes, {} quotas, {} suspensions)",
            walk.as_secs_f64(),
            n / walk.as_secs_f64(),
            report.requests,
            report.listing_changes,
            report.quotas,
            report.suspensions
        );
        walked = Some(sync::store::fingerprint(&t.db).await.unwrap());
        t.drop_db().await.unwrap();
    }

    // The weekly bulk dump, downloaded from the fake through the API and applied.
    let t = TestDb::create(backend).await.unwrap();
    let start = Instant::now();
    synchroniser(t.db.clone(), Some(fake))
        .run_once(RunKind::LatestDump, &NoProgress)
        .await
        .unwrap();
    let api_dump = start.elapsed();
    println!(
        "{name:<8} API dump   {:>8.1} s  {:>8.0} taxa/s  (download + apply; same catalogue as the walk: {})",
        api_dump.as_secs_f64(),
        n / api_dump.as_secs_f64(),
        match &walked {
            Some(w) => (&sync::store::fingerprint(&t.db).await.unwrap() == w).to_string(),
            None => "walk skipped".to_owned(),
        }
    );
    t.drop_db().await.unwrap();

    let t = TestDb::create(backend).await.unwrap();
    let start = Instant::now();
    synchroniser(t.db.clone(), None)
        .run_once(RunKind::Dump(dump.to_path_buf()), &NoProgress)
        .await
        .unwrap();
    let load = start.elapsed();
    println!(
        "{name:<8} dump load  {:>8.1} s  {:>8.0} taxa/s  (same catalogue as the walk: {})",
        load.as_secs_f64(),
        n / load.as_secs_f64(),
        match &walked {
            Some(w) => (&sync::store::fingerprint(&t.db).await.unwrap() == w).to_string(),
            None => "walk skipped".to_owned(),
        }
    );

    // Listing at a date: random accepted taxa, dates from 1975 to 2026, half with a country.
    let ids: Vec<i64> = catalogue
        .lines()
        .filter(|l| l.is_accepted())
        .map(|l| l.id)
        .collect();
    let countries: Vec<CountryCode> = ["NA", "KE", "ZA", "BR", "ID", "FR", "US", "CN"]
        .iter()
        .map(|c| CountryCode::parse(c).unwrap())
        .collect();
    let cat = sync::Catalogue::new(t.db.clone());
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let base = chrono::NaiveDate::from_ymd_opt(1975, 7, 1).unwrap();
    let mut times = Vec::with_capacity(LISTING_QUERIES);
    for i in 0..(LISTING_QUERIES + 500) {
        let id = ids[rng.random_range(0..ids.len())];
        let date = base + chrono::Duration::days(rng.random_range(0..18_800));
        let country =
            (rng.random_bool(0.5)).then(|| countries[rng.random_range(0..countries.len())]);
        let q = Instant::now();
        let l = cat.listing(&id.to_string(), date, country).await.unwrap();
        let took = q.elapsed();
        std::hint::black_box(l);
        if i >= 500 {
            times.push(took);
        }
    }
    times.sort();
    println!(
        "{name:<8} listing    median {:>6.0} us  p99 {:>6.0} us  max {:>6.0} us  ({LISTING_QUERIES} queries)",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        times.last().unwrap().as_secs_f64() * 1e6
    );
    t.drop_db().await.unwrap();
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and only wants a build.
    if !std::env::args().any(|a| a == "--bench") {
        println!("catalogue bench: run with `cargo bench --bench catalogue`");
        return;
    }
    let n: usize = std::env::var("CITES_BENCH_TAXA")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TAXA_DEFAULT);
    sync::client::install_tls_provider();
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let catalogue = Catalogue::generate(n, 42);
        let accepted = catalogue.lines().filter(|l| l.is_accepted()).count();
        let listings: usize = catalogue.lines().map(|l| l.cites_listings.len()).sum();
        let quotas: usize = catalogue.lines().map(|l| l.cites_quotas.len()).sum();
        let suspensions: usize = catalogue.lines().map(|l| l.cites_suspensions.len()).sum();
        println!(
            "catalogue: {} taxon concepts ({accepted} accepted), {listings} listing rows, {quotas} quota rows, {suspensions} suspension rows; generated in {:.1} s",
            catalogue.len(), start.elapsed().as_secs_f64()
        );
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("catalogue.ndjson");
        std::fs::write(&dump, catalogue.to_ndjson()).unwrap();
        let fake = FakeSpeciesPlus::start(catalogue.clone(), FakeConfig::new(vec![TOKEN.to_owned()])).await;
        let backends: Vec<Backend> = match std::env::var("CITES_BENCH_BACKENDS").as_deref() {
            Ok("sqlite") => vec![Backend::Sqlite],
            Ok("postgres") => vec![Backend::Postgres],
            _ => vec![Backend::Sqlite, Backend::Postgres],
        };
        for backend in backends {
            bench_backend(backend, &catalogue, &fake, &dump).await;
        }
        fake.shutdown().await;
    });
}
