//! Permit-check latency with every fact in memory (a harness, not criterion: each check is
//! timed on its own with `Instant`, so the tail is measured, not averaged away).
//!
//! Builds a realistic mix of applications and facts once: an allowed Appendix II export under
//! a quota with box 11a, a CoP19 Appendix I transfer that is refused, an orchid part under
//! annotation #4, a rhino horn referred to Appendix I by an "exclusive purpose" annotation, a
//! re-export chain, and a heavy case with forty suspensions, twenty quotas and two hundred
//! earlier permits. Then it runs the checks round-robin and prints the median, p99 and maximum
//! per check in microseconds, per case and overall. The target is p99 under 100 µs.
//!
//! Run: `cargo bench --bench rules` (`CITES_BENCH_CHECKS=N` checks, default 200,000, after a
//! warm-up of 10,000 that is not counted).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

/// The `cites` binary's allocator (`src/main.rs`): the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::time::{Duration, Instant};

use rules::{Application, ApplicationInput, Facts, RiskConfig};
use serde_json::{Value, json};

/// Checks measured unless `CITES_BENCH_CHECKS` says otherwise.
const CHECKS_DEFAULT: usize = 200_000;
/// Checks run first and not measured, so caches and branch predictors are warm.
const WARMUP_CHECKS: usize = 10_000;
/// The latency target for one check, at the 99th percentile.
const P99_TARGET: Duration = Duration::from_micros(100);

fn main() {
    let n_checks = std::env::var("CITES_BENCH_CHECKS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(CHECKS_DEFAULT);
    let config = RiskConfig::from_toml_str(rules::RISK_DEFAULT_TOML).unwrap();
    let cases: Vec<(&str, Application, Facts)> = cases()
        .into_iter()
        .map(|(name, input, facts)| {
            let input: ApplicationInput = serde_json::from_value(input).unwrap();
            let facts: Facts = serde_json::from_value(facts).unwrap();
            (name, Application::parse(input).unwrap(), facts)
        })
        .collect();
    for (name, application, facts) in &cases {
        let decision = rules::check(application, facts, &config);
        println!(
            "case {name:<28} -> {:?} {:?}",
            decision.decision,
            decision
                .codes()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
        );
    }

    for idx in 0..WARMUP_CHECKS {
        let (_, application, facts) = &cases[idx % cases.len()];
        black_box(rules::check(
            black_box(application),
            black_box(facts),
            &config,
        ));
    }

    let mut per_case: Vec<Vec<u64>> =
        vec![Vec::with_capacity(n_checks / cases.len() + 1); cases.len()];
    let started = Instant::now();
    for idx in 0..n_checks {
        let case_idx = idx % cases.len();
        let (_, application, facts) = &cases[case_idx];
        let start = Instant::now();
        let decision = rules::check(black_box(application), black_box(facts), &config);
        let elapsed = start.elapsed();
        black_box(decision);
        per_case[case_idx].push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
    let wall = started.elapsed();

    println!();
    println!(
        "{:<28} {:>9} {:>11} {:>11} {:>11}",
        "case", "checks", "median µs", "p99 µs", "max µs"
    );
    let mut all: Vec<u64> = Vec::with_capacity(n_checks);
    for ((name, _, _), samples) in cases.iter().zip(per_case.iter_mut()) {
        samples.sort_unstable();
        print_row(name, samples);
        all.extend_from_slice(samples);
    }
    all.sort_unstable();
    print_row("all", &all);
    let p99 = Duration::from_nanos(percentile(&all, 99.0));
    println!();
    println!(
        "{n_checks} checks in {:.2} s ({:.0} checks/s including timing overhead); p99 {:.1} µs, target < {} µs: {}",
        wall.as_secs_f64(),
        n_checks as f64 / wall.as_secs_f64(),
        p99.as_secs_f64() * 1e6,
        P99_TARGET.as_micros(),
        if p99 < P99_TARGET { "met" } else { "MISSED" }
    );
}

fn print_row(name: &str, sorted: &[u64]) {
    let us = |nanos: u64| nanos as f64 / 1000.0;
    println!(
        "{name:<28} {:>9} {:>11.2} {:>11.2} {:>11.2}",
        sorted.len(),
        us(percentile(sorted, 50.0)),
        us(percentile(sorted, 99.0)),
        us(sorted.last().copied().unwrap_or(0)),
    );
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u64], pct: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn listing(date: &str, appendix: &str, rows: Value) -> Value {
    json!({
        "date": date,
        "status": {"status": "listed", "appendix": appendix},
        "deciding": rows,
    })
}

fn row(listing_id: i64, taxon_id: u32, appendix: &str, effective_at: &str) -> Value {
    json!({
        "listing_id": listing_id,
        "taxon_id": taxon_id,
        "appendix": appendix,
        "effective_at": effective_at,
    })
}

fn taxon(id: u32, name: &str, kingdom: &str, ancestors: &[(u32, &str)]) -> Value {
    json!({
        "id": id,
        "accepted_name": name,
        "submitted_name": name,
        "kingdom": kingdom,
        "rank": "SPECIES",
        "ancestor_ids": ancestors.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        "ancestor_names": ancestors.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
    })
}

fn python_quota(id: i64, limit: &str) -> Value {
    json!({
        "id": id,
        "taxon_id": 4521,
        "exporter": "TG",
        "period": {"start": "2024-01-01", "end": "2025-01-01"},
        "unit": "NAR",
        "limit": limit,
        "held": "0",
        "committed": "300",
        "exported": "200",
        "terms": ["LIV"],
        "sources": ["R"],
    })
}

fn python_input() -> Value {
    json!({
        "transaction": "export",
        "taxon": "Python regius",
        "exporter": "TG",
        "importer": "US",
        "source": "R",
        "purpose": "T",
        "term": "LIV",
        "quantity": 100,
        "date_issue": "2024-03-01",
        "date_trade": "2024-03-15",
        "documents": {
            "ndf_reference": "TG-SA-2024-07",
            "laf_reference": "TG-MA-LAF-2024-112",
            "valid_until": "2024-08-31"
        }
    })
}

fn python_facts() -> Value {
    let rows = json!([row(100, 4500, "II", "1977-02-04")]);
    json!({
        "today": "2024-03-01",
        "taxon": taxon(4521, "Python regius", "Animalia", &[(4500, "Pythonidae"), (4000, "Serpentes")]),
        "listing_at_trade": listing("2024-03-15", "II", rows.clone()),
        "listing_at_issue": listing("2024-03-01", "II", rows),
        "first_listing_date": "1977-02-04",
        "last_amendment": "1977-02-04",
        "quotas": [python_quota(7, "2000")],
        "distribution": ["BJ", "GH", "TG", "CI", "NG"],
        "exporter_history": [{"amount": "80", "unit": "NAR"}, {"amount": "120", "unit": "NAR"}, {"amount": "90", "unit": "NAR"}],
    })
}

/// The benchmark mix: name, application JSON, facts JSON.
fn cases() -> Vec<(&'static str, Value, Value)> {
    let mut cases = Vec::new();

    cases.push(("allowed_app_ii_with_quota", python_input(), python_facts()));

    let mut bulbul_input = python_input();
    bulbul_input["taxon"] = json!("Pycnonotus zeylanicus");
    bulbul_input["exporter"] = json!("ID");
    bulbul_input["importer"] = json!("SG");
    bulbul_input["source"] = json!("W");
    bulbul_input["date_issue"] = json!("2023-11-24");
    bulbul_input["date_trade"] = json!("2023-11-25");
    bulbul_input["documents"]["valid_until"] = Value::Null;
    let mut bulbul_facts = python_facts();
    bulbul_facts["taxon"] = taxon(
        3310,
        "Pycnonotus zeylanicus",
        "Animalia",
        &[(3300, "Pycnonotidae")],
    );
    bulbul_facts["listing_at_trade"] = listing(
        "2023-11-25",
        "I",
        json!([row(2002, 3310, "I", "2023-11-25")]),
    );
    bulbul_facts["listing_at_issue"] = listing(
        "2023-11-24",
        "II",
        json!([row(2001, 3310, "II", "1997-09-18")]),
    );
    bulbul_facts["quotas"] = json!([]);
    cases.push(("cop19_transfer_refused", bulbul_input, bulbul_facts));

    let mut orchid_input = python_input();
    orchid_input["taxon"] = json!("Dendrobium nobile");
    orchid_input["source"] = json!("A");
    orchid_input["term"] = json!("FLO");
    let mut orchid_facts = python_facts();
    let mut orchid_row = row(300, 8800, "II", "1975-07-01");
    orchid_row["hash_annotation"] =
        json!({"symbol": "CoP16 #4", "note": "All parts and derivatives, except: ..."});
    orchid_row["inherited_from"] = json!("Orchidaceae");
    orchid_facts["taxon"] = taxon(
        8870,
        "Dendrobium nobile",
        "Plantae",
        &[(8860, "Dendrobium"), (8800, "Orchidaceae")],
    );
    orchid_facts["listing_at_trade"] = listing("2024-03-15", "II", json!([orchid_row.clone()]));
    orchid_facts["listing_at_issue"] = listing("2024-03-01", "II", json!([orchid_row]));
    orchid_facts["quotas"] = json!([]);
    cases.push(("orchid_annotation_4", orchid_input, orchid_facts));

    let mut rhino_input = python_input();
    rhino_input["taxon"] = json!("Ceratotherium simum simum");
    rhino_input["exporter"] = json!("NA");
    rhino_input["source"] = json!("W");
    rhino_input["term"] = json!("HOR");
    let mut rhino_facts = python_facts();
    let mut rhino_row = row(2203, 9001, "II", "2023-02-23");
    rhino_row["annotation"] = json!(
        "For the exclusive purpose of allowing international trade in a) live animals for in-situ conservation only; and b) hunting trophies. All other specimens shall be deemed to be specimens of species included in Appendix I and the trade in them shall be regulated accordingly."
    );
    rhino_facts["taxon"] = taxon(
        9001,
        "Ceratotherium simum simum",
        "Animalia",
        &[(9000, "Ceratotherium")],
    );
    rhino_facts["listing_at_trade"] = listing("2024-03-15", "II", json!([rhino_row.clone()]));
    rhino_facts["listing_at_issue"] = listing("2024-03-01", "II", json!([rhino_row]));
    rhino_facts["quotas"] = json!([]);
    cases.push(("rhino_exclusive_purpose", rhino_input, rhino_facts));

    let mut reexport_input = python_input();
    reexport_input["transaction"] = json!("re-export");
    reexport_input["exporter"] = json!("US");
    reexport_input["importer"] = json!("JP");
    reexport_input["origin"] = json!("TG");
    reexport_input["documents"]["origin_permit"] = json!({
        "number": "TG-EX-2023-0456", "country": "TG", "issued_on": "2023-12-01",
        "appendix": "II", "source": "R", "quantity_remaining": 150
    });
    reexport_input["documents"]["last_reexport"] = json!({
        "number": "GH-RE-2024-0008", "country": "GH", "issued_on": "2024-01-15",
        "source": "R", "quantity_remaining": "120"
    });
    let mut reexport_facts = python_facts();
    reexport_facts["origin_permit_status"] = json!("valid");
    cases.push(("reexport_chain", reexport_input, reexport_facts));

    // A heavy check: many suspensions (mostly for other countries or sources), many quotas
    // (other periods and terms) and a long history.
    let mut heavy_facts = python_facts();
    let countries = ["GH", "BJ", "NG", "CM", "CI", "SN", "ML", "BF", "NE", "TD"];
    let suspensions: Vec<Value> = (0..40)
        .map(|i| {
            json!({
                "id": 1000 + i,
                "notification": format!("No. 2023/{i:03}"),
                "start_date": "2023-06-01",
                "taxon_id": if i % 3 == 0 { json!(4000) } else { json!(4521) },
                "country": if i == 39 { "TG" } else { countries[i as usize % countries.len()] },
                "sources": if i == 39 { json!(["W"]) } else { json!([]) },
                "notes": "Commercial trade only.",
            })
        })
        .collect();
    heavy_facts["suspensions"] = Value::Array(suspensions);
    let quotas: Vec<Value> = (0..20)
        .map(|i| {
            let mut quota = python_quota(100 + i, "2000");
            if i % 2 == 0 {
                quota["period"] = json!({"start": "2023-01-01", "end": "2024-01-01"});
            } else {
                quota["terms"] = json!(["SKI"]);
            }
            quota
        })
        .chain(std::iter::once(python_quota(7, "2000")))
        .collect();
    heavy_facts["quotas"] = Value::Array(quotas);
    heavy_facts["exporter_history"] = Value::Array(
        (0..200)
            .map(|i| json!({"amount": format!("{}", 50 + i % 70), "unit": "NAR"}))
            .collect(),
    );
    heavy_facts["non_parties"] = json!(["SS"]);
    cases.push(("heavy_facts", python_input(), heavy_facts));

    cases
}
