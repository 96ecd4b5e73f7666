//! The bench's protocol: the correctness check, one child process per contender (so each
//! one's peak memory is its own), and the side-by-side table.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{PEAK_RSS_TARGET_KIB, generate, lazy, peak_rss_kib, rowwise, thousandths};

/// The line a child prints last: `RESULT <tab> name <tab> seconds <tab> KiB <tab> summary`.
const RESULT: &str = "RESULT";

/// The Parquet cache of a generated database: a file beside its directory.
fn parquet_path(dir: &Path) -> PathBuf {
    dir.with_extension("parquet")
}

/// Writes the cache under a temporary name, renamed when complete.
fn write_parquet(files: &[PathBuf], dir: &Path) {
    let target = parquet_path(dir);
    let partial = target.with_extension("parquet.partial");
    lazy::write_parquet(files, &partial).unwrap();
    std::fs::rename(&partial, &target).unwrap();
}

fn year_summary(rows: &[(i64, u64, f64)]) -> String {
    let records: u64 = rows.iter().map(|r| r.1).sum();
    let quantity: f64 = rows.iter().map(|r| r.2).sum();
    let per_year: Vec<String> = rows.iter().map(|r| format!("{}:{}", r.0, r.1)).collect();
    format!(
        "years={} records={records} quantity={quantity:.0} per_year={}",
        rows.len(),
        per_year.join(",")
    )
}

/// Runs one contender in this process and prints its result line (the child's side).
pub fn child(name: &str, dir: &Path) {
    let files = generate::files_in(dir);
    let started = Instant::now();
    let stop = || (started.elapsed().as_secs_f64(), peak_rss_kib());
    let ((secs, kib), summary) = match name {
        "rows" => {
            let sums = rowwise::compare(&files);
            let measured = stop();
            (measured, rowwise::groups(sums, false).summary())
        }
        "polars" => {
            let frame = lazy::compare(&files).unwrap();
            let measured = stop();
            (measured, lazy::groups(&frame, false).unwrap().summary())
        }
        "parquet-write" => {
            write_parquet(&files, dir);
            let measured = stop();
            let bytes = parquet_path(dir).metadata().unwrap().len();
            (measured, format!("parquet_bytes={bytes}"))
        }
        "parquet-by-year" => {
            let frame = lazy::by_year_parquet(&parquet_path(dir)).unwrap();
            let measured = stop();
            (measured, year_summary(&lazy::year_rows(&frame).unwrap()))
        }
        "csv-by-year" => {
            let frame = lazy::by_year_csv(&files).unwrap();
            let measured = stop();
            (measured, year_summary(&lazy::year_rows(&frame).unwrap()))
        }
        other => panic!("unknown contender {other}"),
    };
    println!("{RESULT}\t{name}\t{secs}\t{kib}\t{summary}");
}

/// One contender's figures, as its child reported them.
pub struct Outcome {
    pub name: String,
    pub secs: f64,
    pub peak_kib: u64,
    pub summary: String,
}

/// Runs one contender in a child process of this binary.
pub fn run_child(name: &str, dir: &Path) -> Outcome {
    if name == "parquet-by-year" && !parquet_path(dir).exists() {
        println!("no Parquet cache yet: writing it first");
        run_child("parquet-write", dir);
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .arg("--contender")
        .arg(name)
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "contender {name} failed: {}\n{stdout}",
        output.status
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with(RESULT))
        .unwrap_or_else(|| panic!("contender {name} printed no result:\n{stdout}"));
    let parts: Vec<&str> = line.splitn(5, '\t').collect();
    let outcome = Outcome {
        name: parts[1].to_owned(),
        secs: parts[2].parse().unwrap(),
        peak_kib: parts[3].parse().unwrap(),
        summary: parts[4].to_owned(),
    };
    println!(
        "{:<16} {:>8.2} s {:>8.0} MiB  {}",
        outcome.name,
        outcome.secs,
        outcome.peak_kib as f64 / 1024.0,
        outcome.summary.split(" per_year=").next().unwrap_or("")
    );
    outcome
}

/// Both comparisons give the same groups row for row on a small database of `n` rows cut into
/// many files in `dir`, the exclusions leave some rows out, and both per-year queries count
/// every generated row. Returns the number of groups.
pub fn check(dir: &Path, n: u64, rows_per_file: u64, seed: u64) -> u64 {
    let files = generate::generate(dir, n, seed, rows_per_file);
    assert!(files.len() > 1, "the check's database spans several files");
    let rows = rowwise::groups(rowwise::compare(&files), true);
    let polars = lazy::groups(&lazy::compare(&files).unwrap(), true).unwrap();
    let mut a = rows.rows.clone().unwrap();
    let mut b = polars.rows.clone().unwrap();
    a.sort();
    b.sort();
    if let Some(i) = (0..a.len().max(b.len())).find(|i| a.get(*i) != b.get(*i)) {
        panic!(
            "check: the comparisons differ at group {i}: rows {:?} polars {:?} ({} / {} groups)",
            a.get(i),
            b.get(i),
            a.len(),
            b.len()
        );
    }
    assert_eq!(rows.summary(), polars.summary());

    let expected: Vec<(i64, u64)> = generate::rows_per_year(n);
    let csv = lazy::year_rows(&lazy::by_year_csv(&files).unwrap()).unwrap();
    write_parquet(&files, dir);
    let parquet = lazy::year_rows(&lazy::by_year_parquet(&parquet_path(dir)).unwrap()).unwrap();
    let counted = |r: &[(i64, u64, f64)]| r.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>();
    assert_eq!(
        counted(&csv),
        expected,
        "per-year records over the CSV files"
    );
    assert_eq!(
        counted(&parquet),
        expected,
        "per-year records over the Parquet cache"
    );
    let all: i64 = csv.iter().map(|r| thousandths(r.2)).sum();
    let compared = rows.exporter_total + rows.importer_total;
    assert!(
        compared > 0 && compared < all,
        "re-exports and confiscations are left out: {compared} of {all} thousandths compared"
    );
    println!(
        "check: {n} rows in {} files: {} groups identical in both comparisons \
         ({:.1} % of the quantity compared); per-year records equal over CSV and Parquet",
        files.len(),
        rows.count,
        100.0 * compared as f64 / all as f64
    );
    rows.count
}

fn outcome<'a>(results: &'a [Outcome], name: &str) -> Option<&'a Outcome> {
    results.iter().find(|r| r.name == name)
}

/// The side-by-side table, the agreement of the results and the targets.
pub fn report(rows: u64, results: &[Outcome]) {
    println!();
    println!("| contender | time (s) | peak RSS (MiB) | rows/s |");
    println!("| --- | --- | --- | --- |");
    for r in results {
        println!(
            "| {} | {:.2} | {:.0} | {:.0} |",
            r.name,
            r.secs,
            r.peak_kib as f64 / 1024.0,
            rows as f64 / r.secs
        );
    }
    if let (Some(a), Some(b)) = (outcome(results, "rows"), outcome(results, "polars")) {
        assert_eq!(a.summary, b.summary, "the two comparisons disagree");
        println!("rows and polars agree: {}", a.summary);
        println!(
            "polars: peak RSS {:.0} MiB (target under {:.0} MiB: {}); {:.2}x the row-by-row \
             reader's speed (target above 1: {})",
            b.peak_kib as f64 / 1024.0,
            PEAK_RSS_TARGET_KIB as f64 / 1024.0,
            if b.peak_kib < PEAK_RSS_TARGET_KIB {
                "met"
            } else {
                "MISSED"
            },
            a.secs / b.secs,
            if b.secs < a.secs { "met" } else { "MISSED" }
        );
    }
    // Quantities are float sums in another order: the records per year must be equal.
    let records = |o: &Outcome| {
        let tokens = o.summary.split(' ').filter(|t| !t.starts_with("quantity="));
        tokens.collect::<Vec<_>>().join(" ")
    };
    if let (Some(a), Some(b)) = (
        outcome(results, "csv-by-year"),
        outcome(results, "parquet-by-year"),
    ) {
        assert_eq!(
            records(a),
            records(b),
            "per-year records differ between CSV and Parquet"
        );
        println!("per year over CSV and Parquet agree: {}", records(b));
    }
}
