//! The Trade Database comparison at the database's scale: 20 million shipment rows
//! in the bulk download's layout and file split (`generate`), and side by side:
//! - `rows`: a plain row-by-row reader (the csv crate, one thread, a `HashMap`) doing the
//!   comparison's aggregation (`rowwise`);
//! - `polars`: the engine's comparison, `report::trade::compare` as `cites report trade` runs
//!   it over every file (its streaming polars scan, then every quota against the trade of its
//!   exporter, year and taxon), handed a name map and a quota list built from the generated
//!   catalogue (`engine`);
//! - `polars-plain`: the row-by-row reader's aggregation as one plain lazy polars query on the
//!   streaming engine (`lazy`): what polars itself costs, beside the engine's comparison;
//! - `parquet-write`: the Parquet cache written once from the CSV files by a streaming sink;
//! - `parquet-by-year`: records and quantity per year over that cache (citesdb's example
//!   query, 0.84 s over 20 million rows in MonetDB on a desktop);
//! - `csv-by-year`: the same query over the CSV files, for scale.
//!
//! The aggregation: per (year, exporter, importer, taxon, term, unit, source, purpose), the
//! exporter-reported and importer-reported quantity sums, re-exports (a non-blank Origin) and
//! source I (confiscated) left out, as Species+'s compliance tool compares them. Quantities are
//! summed as integer thousandths, so the sums are exact and comparable with the engine's exact
//! decimals.
//!
//! The engine's result is per quota, so `rows` and `polars` are compared on what both give:
//! every quota's exporter-reported and importer-reported totals, and its trade not compared,
//! computed on the `rows` side from its groups (`engine::rowwise_totals`); `rows` and
//! `polars-plain` on the groups themselves (counts, totals, an order-free digest of every
//! group). First, on a small generated database (`CHECK_ROWS`, cut into many files), the
//! groups of the row-by-row reader, of the plain query and of the engine's own scan must be
//! identical row for row, every quota's totals equal, and both per-year queries must count
//! every row; the bench stops otherwise. Then each contender runs in a child process of this
//! binary, so its peak memory (VmHWM) is its own; the table prints time, peak RSS and rows per
//! second, and the results must agree. Targets: the engine's comparison under 2 GiB peak RSS
//! and faster than the row-by-row reader.
//!
//! Run: `nice cargo bench -p report --bench trade`. Options: `CITES_BENCH_TRADE_ROWS` (default
//! 20,000,000), `CITES_BENCH_TRADE_SEED` (default 22), `CITES_BENCH_TRADE_CONTENDERS` (a comma
//! list, default all). Generated files are kept under `target/trade-bench/`, keyed by rows,
//! seed and generator version, and reused by later runs (about 110 bytes a row: 2.2 GB at 20
//! million rows).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

/// The `cites` binary's allocator (`src/main.rs`): the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod engine;
mod generate;
mod lazy;
mod rowwise;
mod run;

pub use run::check;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use run::{child, report, run_child};

/// The comparison's grouping columns.
pub const KEY_COLUMNS: [&str; 8] = [
    "Year", "Exporter", "Importer", "Taxon", "Term", "Unit", "Source", "Purpose",
];
/// Rows generated unless `CITES_BENCH_TRADE_ROWS` says otherwise: the database's size.
const ROWS_DEFAULT: u64 = 20_000_000;
const SEED_DEFAULT: u64 = 22;
/// The correctness check's database: big enough for every year and many shared groups, small
/// enough to be checked row for row in a few seconds.
pub const CHECK_ROWS: u64 = 120_000;
/// The check's files are cut smaller than the real ones, so a group spans several files.
pub const CHECK_ROWS_PER_FILE: u64 = 7_000;
/// The memory target for the polars comparison.
pub const PEAK_RSS_TARGET_KIB: u64 = 2 * 1024 * 1024;
const CONTENDERS: [&str; 6] = [
    "rows",
    "polars",
    "polars-plain",
    "parquet-write",
    "parquet-by-year",
    "csv-by-year",
];

/// A quantity in thousandths, rounded half up (quantities are never negative).
pub fn thousandths(quantity: f64) -> i64 {
    (quantity * 1000.0 + 0.5) as i64
}

/// One group: year, the key's text columns, exporter-reported, importer-reported.
pub type GroupRow = (i64, Vec<String>, i64, i64);

/// The comparison's groups: counts, totals and an order-free digest; every row when kept.
pub struct Groups {
    pub count: u64,
    pub exporter_total: i64,
    pub importer_total: i64,
    pub digest: u64,
    pub rows: Option<Vec<GroupRow>>,
}

impl Groups {
    pub fn new(keep_rows: bool) -> Self {
        Groups {
            count: 0,
            exporter_total: 0,
            importer_total: 0,
            digest: 0,
            rows: keep_rows.then(Vec::new),
        }
    }

    /// One group; `fields` are the key's text columns (a blank one as "").
    pub fn add(&mut self, year: i64, fields: &[&str], exporter: i64, importer: i64) {
        self.count += 1;
        self.exporter_total += exporter;
        self.importer_total += importer;
        // The same fixed-key hasher in every process of this binary.
        let mut h = DefaultHasher::new();
        (year, fields, exporter, importer).hash(&mut h);
        self.digest = self.digest.wrapping_add(h.finish());
        if let Some(rows) = self.rows.as_mut() {
            let fields = fields.iter().map(|f| (*f).to_owned()).collect();
            rows.push((year, fields, exporter, importer));
        }
    }

    fn summary(&self) -> String {
        format!(
            "groups={} exporter_reported={} importer_reported={} digest={:016x}",
            self.count, self.exporter_total, self.importer_total, self.digest
        )
    }
}

/// The process's peak resident set (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .replace(['_', ','], "")
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v}: expected a positive whole number")),
        Err(_) => default,
    }
}

/// `target/trade-bench/`: beside the bench binary's profile directory.
fn cache_root() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<bench>");
    target.join("trade-bench")
}

pub fn data_dir(rows: u64, seed: u64, rows_per_file: u64) -> PathBuf {
    let v = generate::GENERATOR_VERSION;
    cache_root().join(format!("rows{rows}-seed{seed}-per{rows_per_file}-v{v}"))
}

pub fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--contender") {
        let seed = args[i + 3].parse().expect("the seed");
        child(&args[i + 1], Path::new(&args[i + 2]), seed);
        return;
    }
    let rows = env_u64("CITES_BENCH_TRADE_ROWS", ROWS_DEFAULT);
    let seed = env_u64("CITES_BENCH_TRADE_SEED", SEED_DEFAULT);
    let contenders: Vec<String> = match std::env::var("CITES_BENCH_TRADE_CONTENDERS") {
        Ok(list) => list.split(',').map(|c| c.trim().to_owned()).collect(),
        Err(_) => CONTENDERS.iter().map(|c| (*c).to_owned()).collect(),
    };
    for c in &contenders {
        assert!(
            CONTENDERS.contains(&c.as_str()),
            "unknown contender {c}: one of {CONTENDERS:?}"
        );
    }
    println!("trade bench: {rows} rows, seed {seed}, contenders {contenders:?}");
    check(
        &data_dir(CHECK_ROWS, seed, CHECK_ROWS_PER_FILE),
        CHECK_ROWS,
        CHECK_ROWS_PER_FILE,
        seed,
    );
    let dir = data_dir(rows, seed, generate::ROWS_PER_FILE);
    let files = generate::generate(&dir, rows, seed, generate::ROWS_PER_FILE);
    let bytes: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    println!(
        "data: {} files of at most {} rows, {:.2} GB, in {}",
        files.len(),
        generate::ROWS_PER_FILE,
        bytes as f64 / 1e9,
        dir.display()
    );
    // Each round runs every contender once, in turn, the order reversed every other round so
    // that a drift of the machine's speed weighs on both sides of a ratio alike.
    let rounds = env_u64("CITES_BENCH_TRADE_ROUNDS", 1);
    let mut all: Vec<Vec<run::Outcome>> = Vec::new();
    for round in 0..rounds {
        println!("round {} of {rounds}", round + 1);
        let mut order: Vec<&String> = contenders.iter().collect();
        if round % 2 == 1 {
            order.reverse();
        }
        let mut results: Vec<run::Outcome> =
            order.iter().map(|c| run_child(c, &dir, seed)).collect();
        results.sort_by_key(|r| contenders.iter().position(|c| *c == r.name));
        all.push(results);
    }
    report(rows, &all);
}
