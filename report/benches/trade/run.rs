//! The bench's protocol: the correctness check, one child process per contender (so each
//! one's peak memory is its own), and the side-by-side table.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use report::trade::{self, NoProgress, ScanFilter};

use super::{
    Groups, PEAK_RSS_TARGET_KIB, engine, generate, lazy, peak_rss_kib, rowwise, thousandths,
};

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

/// Separates the `rows` contender's two summaries: the per-quota totals (compared with
/// `polars`, the engine's comparison) and the groups (compared with `polars-plain`).
const GROUPS_PART: &str = " | ";

/// Runs one contender in this process and prints its result line (the child's side).
pub fn child(name: &str, dir: &Path, seed: u64) {
    let files = generate::files_in(dir);
    // What the application has at hand before it compares: the resolved names and the quotas.
    let inputs = engine::inputs(seed);
    let started = Instant::now();
    let stop = || (started.elapsed().as_secs_f64(), peak_rss_kib());
    let ((secs, kib), summary) = match name {
        "rows" => {
            let (sums, rows) = rowwise::compare(&files);
            let measured = stop();
            let quotas = engine::summary(rows, &engine::rowwise_totals(&sums, &inputs));
            let groups = rowwise::groups(&sums, false).summary();
            (measured, format!("{quotas}{GROUPS_PART}{groups}"))
        }
        "polars" => {
            let (compared, steps) = engine::compare(&files, &inputs);
            let measured = stop();
            eprintln!(
                "polars: scan {:.2} s ({} pass(es); {} groups, peak RSS {:.0} MiB after it), \
                 compare_scan {:.2} s",
                steps.scan_secs,
                steps.passes,
                steps.scan_groups,
                steps.scan_peak_kib as f64 / 1024.0,
                steps.compare_secs
            );
            let (rows, totals) = engine::engine_totals(&compared);
            (measured, engine::summary(rows, &totals))
        }
        "polars-plain" => {
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

/// A summary without the per-year counts or the `rows` contender's groups part.
fn short(summary: &str) -> &str {
    let first = summary.split(GROUPS_PART).next().unwrap_or("");
    first.split(" per_year=").next().unwrap_or("")
}

/// Runs one contender in a child process of this binary.
pub fn run_child(name: &str, dir: &Path, seed: u64) -> Outcome {
    if name == "parquet-by-year" && !parquet_path(dir).exists() {
        println!("no Parquet cache yet: writing it first");
        run_child("parquet-write", dir, seed);
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .arg("--contender")
        .arg(name)
        .arg(dir)
        .arg(seed.to_string())
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
        short(&outcome.summary)
    );
    outcome
}

/// Panics at the first group in which two sorted group lists differ.
fn same_groups(what: &str, a: &Groups, b: &Groups) {
    let mut a_rows = a.rows.clone().unwrap();
    let mut b_rows = b.rows.clone().unwrap();
    a_rows.sort();
    b_rows.sort();
    if let Some(i) = (0..a_rows.len().max(b_rows.len())).find(|i| a_rows.get(*i) != b_rows.get(*i))
    {
        panic!(
            "check: {what} differ at group {i}: {:?} / {:?} ({} / {} groups)",
            a_rows.get(i),
            b_rows.get(i),
            a_rows.len(),
            b_rows.len()
        );
    }
    assert_eq!(a.summary(), b.summary());
}

/// On a small database of `n` rows cut into many files in `dir`: the engine's scan, summed by
/// the bench's groups, and the plain polars query give the row-by-row reader's groups row for
/// row; the engine's comparison gives every quota the totals the row-by-row groups give it,
/// some quotas have trade counted and some trade not compared, a name is unresolved; the
/// exclusions leave some rows out; both per-year queries count every generated row. Returns
/// the number of groups.
pub fn check(dir: &Path, n: u64, rows_per_file: u64, seed: u64) -> u64 {
    let files = generate::generate(dir, n, seed, rows_per_file);
    assert!(files.len() > 1, "the check's database spans several files");
    let (sums, rows_read) = rowwise::compare(&files);
    assert_eq!(rows_read, n, "the row-by-row reader reads every row");
    let rows = rowwise::groups(&sums, true);
    let plain = lazy::groups(&lazy::compare(&files).unwrap(), true).unwrap();
    same_groups("rows and polars-plain", &rows, &plain);

    let inputs = engine::inputs(seed);
    let scanned = trade::scan(&files, &ScanFilter::default(), &NoProgress).unwrap();
    same_groups(
        "rows and the engine's scan",
        &rows,
        &engine::scan_groups(&scanned, true),
    );
    let compared = trade::compare_scan(scanned, &inputs.names, &inputs.quotas, None);
    let (engine_rows, totals) = engine::engine_totals(&compared);
    assert_eq!(engine_rows, n, "the engine reads every row");
    assert_eq!(
        compared.malformed_total,
        0,
        "{:?}",
        compared.malformed.first()
    );
    let expected = engine::rowwise_totals(&sums, &inputs);
    if let Some(k) = (0..totals.len()).find(|k| totals[*k] != expected[*k]) {
        panic!(
            "check: quota {k} ({:?}): the engine gives {:?}, the row-by-row groups {:?}",
            inputs.quotas[k], totals[k], expected[k]
        );
    }
    let counted = totals.iter().filter(|t| !t.exporter.is_zero()).count();
    let not_compared = totals
        .iter()
        .filter(|t| t.exporter_not_compared + t.importer_not_compared > 0)
        .count();
    assert!(
        counted > 0 && not_compared > 0 && !compared.unresolved.is_empty(),
        "the quotas see trade ({counted}), trade not compared ({not_compared}), and a name \
         is unresolved ({})",
        compared.unresolved.len()
    );

    let expected: Vec<(i64, u64)> = generate::rows_per_year(n);
    let csv = lazy::year_rows(&lazy::by_year_csv(&files).unwrap()).unwrap();
    write_parquet(&files, dir);
    let parquet = lazy::year_rows(&lazy::by_year_parquet(&parquet_path(dir)).unwrap()).unwrap();
    let counted_rows = |r: &[(i64, u64, f64)]| r.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>();
    assert_eq!(
        counted_rows(&csv),
        expected,
        "per-year records over the CSV files"
    );
    assert_eq!(
        counted_rows(&parquet),
        expected,
        "per-year records over the Parquet cache"
    );
    let all: i64 = csv.iter().map(|r| thousandths(r.2)).sum();
    let in_groups = rows.exporter_total + rows.importer_total;
    assert!(
        in_groups > 0 && in_groups < all,
        "re-exports and confiscations are left out: {in_groups} of {all} thousandths compared"
    );
    println!(
        "check: {n} rows in {} files: {} groups identical in the row-by-row reader, the \
         engine's scan and the plain polars query ({:.1} % of the quantity; the rest \
         re-exports and confiscations); {} quotas with the same totals from the engine and the \
         row-by-row groups ({counted} with exporter-reported trade, {not_compared} with trade \
         not compared; {} names unresolved); per-year records equal over CSV and Parquet",
        files.len(),
        rows.count,
        100.0 * in_groups as f64 / all as f64,
        totals.len(),
        compared.unresolved.len(),
    );
    rows.count
}

fn outcome<'a>(results: &'a [Outcome], name: &str) -> Option<&'a Outcome> {
    results.iter().find(|r| r.name == name)
}

/// The median of some figures (the mean of the middle two of an even number).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The side-by-side table of every round (each contender's median time, every time, its
/// highest peak RSS), the agreement of the results and the targets.
pub fn report(rows: u64, rounds: &[Vec<Outcome>]) {
    let first = &rounds[0];
    for round in &rounds[1..] {
        for (a, b) in first.iter().zip(round) {
            assert_eq!(
                a.summary, b.summary,
                "{}: rounds give different results",
                a.name
            );
        }
    }
    let times = |name: &str| -> Vec<f64> {
        rounds
            .iter()
            .filter_map(|r| outcome(r, name))
            .map(|o| o.secs)
            .collect()
    };
    let results: Vec<Outcome> = first
        .iter()
        .map(|o| Outcome {
            name: o.name.clone(),
            secs: median(times(&o.name)),
            peak_kib: rounds
                .iter()
                .filter_map(|r| outcome(r, &o.name))
                .map(|r| r.peak_kib)
                .max()
                .unwrap_or(0),
            summary: o.summary.clone(),
        })
        .collect();
    let results = &results[..];
    println!();
    println!(
        "| contender | time (s, median of {}) | every round (s) | peak RSS (MiB) | rows/s |",
        rounds.len()
    );
    println!("| --- | --- | --- | --- | --- |");
    for r in results {
        let every: Vec<String> = times(&r.name).iter().map(|t| format!("{t:.2}")).collect();
        println!(
            "| {} | {:.2} | {} | {:.0} | {:.0} |",
            r.name,
            r.secs,
            every.join(", "),
            r.peak_kib as f64 / 1024.0,
            rows as f64 / r.secs
        );
    }
    let rows_parts = outcome(results, "rows").map(|r| {
        let (quotas, groups) = r.summary.split_once(GROUPS_PART).unwrap();
        (r, quotas, groups)
    });
    if let (Some((_, _, groups)), Some(plain)) = (rows_parts, outcome(results, "polars-plain")) {
        assert_eq!(groups, plain.summary, "rows and polars-plain disagree");
        println!("rows and polars-plain agree: {groups}");
    }
    if let (Some((_, quotas, _)), Some(b)) = (rows_parts, outcome(results, "polars")) {
        assert_eq!(
            quotas, b.summary,
            "rows and the engine's comparison disagree"
        );
        println!("rows and polars (the engine's comparison) agree: {quotas}");
        // Each round's ratio, of two runs minutes apart at most; their median.
        let ratios: Vec<f64> = times("rows")
            .iter()
            .zip(times("polars"))
            .map(|(rows, polars)| rows / polars)
            .collect();
        let every: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        let ratio = median(ratios);
        println!(
            "polars: peak RSS {:.0} MiB (target under {:.0} MiB: {}); {:.2}x the row-by-row \
             reader's speed, the median of the rounds' {} (target above 1: {})",
            b.peak_kib as f64 / 1024.0,
            PEAK_RSS_TARGET_KIB as f64 / 1024.0,
            if b.peak_kib < PEAK_RSS_TARGET_KIB {
                "met"
            } else {
                "MISSED"
            },
            ratio,
            every.join(", "),
            if ratio > 1.0 { "met" } else { "MISSED" }
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
