//! The Trade Database comparison over a hand-written extract in the real column layout
//! (`tests/fixtures/trade/trade_db_{1,2,3}.csv`, 35 rows), against five quotas, with every
//! figure computed by hand in the comments.

use std::path::PathBuf;

use domain::{CountryCode, Period, PurposeCode, SourceCode, TaxonId, TermCode, UnitCode};
use report::chart::{self, ImageFormat};
use report::trade::{
    self, NameMap, NoProgress, QuotaOrigin, Resolution, Resolve, ScanFilter, TradeComparison,
    TradeFlag, TradeQuota, Verdict,
};
use rust_decimal::Decimal;

use crate::charts::{decode, pixels_of};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trade");
    (1..=3)
        .map(|i| dir.join(format!("trade_db_{i}.csv")))
        .collect()
}

const PYTHON: u32 = 1000;
const ROYAL_PYTHON: u32 = 1001;
const CROCODILE: u32 = 2001;
const LEOPARD: u32 = 3001;

fn resolution(id: u32, name: &str, via_synonym: bool, counts_for: &[u32]) -> Resolution {
    Resolution {
        taxon_id: TaxonId::new(id),
        taxon_name: name.to_owned(),
        via_synonym,
        counts_for: counts_for.iter().copied().map(TaxonId::new).collect(),
    }
}

/// The catalogue's answers: Python regia is a synonym of Python regius; a species counts for
/// its genus; "Testudo unknownii" is in no catalogue.
pub fn names() -> NameMap {
    let mut m = NameMap::default();
    let royal = |syn| resolution(ROYAL_PYTHON, "Python regius", syn, &[ROYAL_PYTHON, PYTHON]);
    m.insert("Python regius", royal(false));
    m.insert("Python  REGIA ", royal(true));
    m.insert(
        "Python spp.",
        resolution(PYTHON, "Python", false, &[PYTHON]),
    );
    m.insert(
        "Crocodylus niloticus",
        resolution(CROCODILE, "Crocodylus niloticus", false, &[CROCODILE]),
    );
    m.insert(
        "Panthera pardus",
        resolution(LEOPARD, "Panthera pardus", false, &[LEOPARD]),
    );
    m
}

#[allow(clippy::too_many_arguments)] // One quota of the seeded list, positional on purpose.
fn quota(
    origin: QuotaOrigin,
    exporter: &str,
    taxon: (u32, &str),
    limit: &str,
    term: Option<&str>,
    source: Option<&str>,
    purpose: Option<&str>,
    scope_known: bool,
) -> TradeQuota {
    TradeQuota {
        origin,
        exporter: CountryCode::parse(exporter).unwrap(),
        taxon_id: TaxonId::new(taxon.0),
        taxon_name: taxon.1.to_owned(),
        period: Period::calendar_year(2023),
        unit: UnitCode::parse("NAR").unwrap(),
        limit: Some(dec(limit)),
        term: term.map(|t| TermCode::parse(t).unwrap()),
        source: source.map(|s| SourceCode::parse(s).unwrap()),
        purpose: purpose.map(|p| PurposeCode::parse(p).unwrap()),
        scope_known,
    }
}

fn ledger(id: i64) -> QuotaOrigin {
    QuotaOrigin::Ledger {
        id,
        speciesplus: false,
    }
}

pub fn quotas() -> Vec<TradeQuota> {
    vec![
        quota(
            ledger(1),
            "GH",
            (ROYAL_PYTHON, "Python regius"),
            "1000",
            Some("LIV"),
            Some("W"),
            Some("T"),
            true,
        ),
        quota(
            ledger(2),
            "TZ",
            (CROCODILE, "Crocodylus niloticus"),
            "1600",
            Some("SKI"),
            Some("W"),
            None,
            true,
        ),
        quota(
            ledger(3),
            "EG",
            (CROCODILE, "Crocodylus niloticus"),
            "0",
            None,
            Some("W"),
            Some("T"),
            true,
        ),
        quota(
            QuotaOrigin::Catalogue {
                speciesplus_id: 9001,
            },
            "NA",
            (LEOPARD, "Panthera pardus"),
            "250",
            None,
            None,
            None,
            false,
        ),
        quota(
            ledger(5),
            "GH",
            (PYTHON, "Python"),
            "100",
            Some("SKI"),
            Some("W"),
            None,
            true,
        ),
    ]
}

pub fn compared() -> TradeComparison {
    trade::compare(
        &files(),
        &ScanFilter::default(),
        &names(),
        &quotas(),
        Some(TaxonId::new(ROYAL_PYTHON)),
        &NoProgress,
    )
    .unwrap()
}

#[test]
fn each_quota_is_compared_by_hand() {
    let c = compared();
    let q = |i: usize| &c.quotas[i];
    // Python regius, GH, LIV W T: exporter 400 + 350 (the synonym, blank unit) + 300; importer
    // 380 + 300 + 200 (the synonym, term written "live"). Left out: a re-export (origin TG),
    // a confiscated shipment (source I), SKI, source C, purpose P, 2022; 12.5 KGM not compared.
    assert_eq!(q(0).exporter_reported, dec("1050"));
    assert_eq!(q(0).importer_reported, dec("880"));
    assert_eq!((q(0).exporter_rows, q(0).importer_rows), (3, 3));
    assert_eq!((q(0).re_export_rows, q(0).confiscated_rows), (1, 1));
    assert_eq!(q(0).not_compared.len(), 1);
    assert_eq!(q(0).not_compared[0].quantity, dec("12.5"));
    assert!(
        q(0).not_compared[0].reason.contains("KGM (mass)"),
        "{:?}",
        q(0).not_compared
    );
    assert_eq!(
        q(0).flags,
        [
            TradeFlag::ExporterReportedAboveQuota,
            TradeFlag::RowsNotCompared
        ]
    );
    assert_eq!(q(0).verdict, Verdict::Exceeded);

    // Crocodile, TZ, SKI W: exporter 900 + 500 (purpose H counts: the quota has none), importer
    // 1000 + 500; source R and LIV left out; the 20x3 row is malformed, 2024 another year.
    assert_eq!(
        (q(1).exporter_reported, q(1).importer_reported),
        (dec("1400"), dec("1500"))
    );
    assert!(q(1).flags.is_empty(), "{:?}", q(1).flags);
    assert_eq!(q(1).verdict, Verdict::Within);

    // Crocodile, EG, zero quota W T: 10 exported (purpose Z left out).
    assert_eq!(
        (q(2).exporter_reported, q(2).importer_reported),
        (dec("10"), dec("0"))
    );
    assert_eq!(
        q(2).flags,
        [
            TradeFlag::TradeUnderZeroQuota,
            TradeFlag::ExporterReportedAboveQuota
        ]
    );
    assert_eq!(q(2).verdict, Verdict::Exceeded);

    // Leopard, NA, Species+ quota of unknown scope: every term, 150 TRO + 120.25 SKI exported,
    // 140 TRO imported; source Q not compared; a re-export and a confiscated import left out.
    assert_eq!(
        (q(3).exporter_reported, q(3).importer_reported),
        (dec("270.25"), dec("140"))
    );
    let terms: Vec<(&str, Decimal, Decimal)> = q(3)
        .by_term
        .iter()
        .map(|t| (t.term.as_str(), t.exporter_reported, t.importer_reported))
        .collect();
    assert_eq!(
        terms,
        [
            ("SKI", dec("120.25"), dec("0")),
            ("TRO", dec("150"), dec("140"))
        ]
    );
    assert_eq!((q(3).re_export_rows, q(3).confiscated_rows), (1, 1));
    assert!(
        q(3).not_compared[0]
            .reason
            .contains("unknown source code \"Q\"")
    );
    assert_eq!(
        q(3).flags,
        [
            TradeFlag::ScopeUnknown,
            TradeFlag::AboveQuotaIfEveryTermCounts,
            TradeFlag::RowsNotCompared
        ]
    );
    assert_eq!(
        q(3).verdict,
        Verdict::NeedsReview,
        "scope unknown is never 'exceeded'"
    );

    // The genus Python, GH, SKI W: Python regius SKI 20 + "Python spp." 30; 5 imported.
    assert_eq!(
        (q(4).exporter_reported, q(4).importer_reported),
        (dec("50"), dec("5"))
    );
    assert_eq!(q(4).verdict, Verdict::Within);
}

#[test]
fn malformed_rows_are_reported_with_file_and_line_and_the_rest_is_summed() {
    let c = compared();
    let found: Vec<(String, u64)> = c
        .malformed
        .iter()
        .map(|m| {
            (
                m.file.file_name().unwrap().to_string_lossy().into_owned(),
                m.line,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("trade_db_1.csv".to_owned(), 17),
            ("trade_db_1.csv".to_owned(), 18),
            ("trade_db_2.csv".to_owned(), 10),
            ("trade_db_3.csv".to_owned(), 7),
        ]
    );
    assert_eq!(c.malformed_total, 4);
    assert!(c.malformed[0].problems[0].contains("Quantity \"12,5\""));
    assert!(c.malformed[1].problems[0].contains("Reporter.type \"X\""));
    assert!(c.malformed[2].problems[0].contains("Year \"20x3\""));
    assert!(c.malformed[3].problems[0].contains("Quantity \"-4\""));
    let summed: Vec<u64> = c.files.iter().map(|f| f.rows).collect();
    assert_eq!(summed, [16, 9, 6]);
    assert_eq!(c.unresolved.len(), 1);
    assert_eq!(
        (c.unresolved[0].name.as_str(), c.unresolved[0].rows),
        ("Testudo unknownii", 1)
    );
}

#[test]
fn the_comparative_tabulation_puts_both_reports_of_a_country_pair_side_by_side() {
    let c = compared();
    let t = c.tabulation.as_ref().unwrap();
    let row = |importer: &str, term: &str, source: &str| {
        t.rows
            .iter()
            .find(|r| {
                r.year == 2023
                    && r.importer == importer
                    && r.term == term
                    && r.source == source
                    && r.origin.is_empty()
                    && r.unit == "NAR"
                    && r.purpose == "T"
            })
            .map(|r| (r.taxon.as_str(), r.exporter_reported, r.importer_reported))
    };
    // GH to US, LIV W T: 400 exported, 380 imported.
    assert_eq!(
        row("US", "LIV", "W"),
        Some(("Python regius", dec("400"), dec("380")))
    );
    // GH to DE: the synonym's 350 (blank unit) and the 300 DE reported, under the accepted name.
    assert_eq!(
        row("DE", "LIV", "W"),
        Some(("Python regius", dec("350"), dec("300")))
    );
    // GH to FR: 300 exported; FR reported 200 as "live" of the synonym.
    assert_eq!(
        row("FR", "LIV", "W"),
        Some(("Python regius", dec("300"), dec("200")))
    );
    // Only the royal python: no crocodile, no genus-level row.
    assert!(t.rows.iter().all(|r| r.taxon == "Python regius"));
}

#[test]
fn a_scan_reads_only_the_exporter_and_year_asked_for() {
    let filter = ScanFilter {
        exporter: Some(CountryCode::parse("TZ").unwrap()),
        year: Some(2023),
    };
    let c = trade::compare(&files(), &filter, &names(), &quotas(), None, &NoProgress).unwrap();
    assert_eq!(c.quotas[0].exporter_reported, dec("0"));
    assert_eq!(c.quotas[1].exporter_reported, dec("1400"));
    // The 20x3 row is TZ's and its year cannot be read: still reported.
    assert_eq!(c.malformed_total, 1);
    assert!(c.tabulation.is_none());
}

#[test]
fn a_file_of_another_layout_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "Year,Taxon,Quantity\n2023,Python regius,1\n").unwrap();
    let err = trade::scan(&[other], &ScanFilter::default(), &NoProgress).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("other.csv"), "{message}");
    assert!(message.contains("no column Term"), "{message}");
}

#[test]
fn the_trend_chart_of_a_comparison_decodes_with_its_lines() {
    let c = compared();
    let series = trade::render::trends(&c);
    let leopard = series
        .iter()
        .find(|s| s.taxon_name.starts_with("Panthera pardus"))
        .unwrap();
    assert_eq!(leopard.points[0].exporter_reported, Some(dec("270.25")));
    let (w, h, pixels) = decode(&chart::trend(leopard, ImageFormat::Png).unwrap());
    assert_eq!((w, h), (chart::WIDTH, chart::HEIGHT));
    for colour in [
        chart::LIMIT_COLOUR,
        chart::EXPORTER_COLOUR,
        chart::IMPORTER_COLOUR,
    ] {
        assert!(pixels_of(&pixels, colour) > 20, "{colour:?} missing");
    }
    let svg = String::from_utf8(chart::trend(leopard, ImageFormat::Svg).unwrap()).unwrap();
    roxmltree::Document::parse(&svg).unwrap();
}

#[test]
fn the_text_csv_json_and_html_hold_the_verdicts() {
    let c = compared();
    let text = trade::render::text(&c);
    assert!(text.contains("scope unknown"), "{text}");
    assert!(text.contains("needs review"), "{text}");
    let mut csv = Vec::new();
    trade::render::write_csv(&c, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.contains("270.25"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&c.to_json().unwrap()).unwrap();
    assert_eq!(json["quotas"][0]["verdict"], "exceeded");
    assert_eq!(json["quotas"][3]["exporter_reported"], "270.25");
    let html = trade::html::trade_report(&c).unwrap();
    assert!(html.contains("<table id=\"trade-quotas\">"));
    assert!(html.contains("trade-trend-0"));
    assert!(html.contains("trade_db_1.csv"));
}

#[test]
fn the_scan_keeps_only_what_the_comparison_reads_and_compares_the_same() {
    let files = files();
    let filter = ScanFilter::default();
    let everything = trade::scan(&files, &filter, &NoProgress).unwrap();
    for tabulate in [None, Some(TaxonId::new(ROYAL_PYTHON))] {
        let keep = trade::Keep::for_comparison(everything.names(), &names(), &quotas(), tabulate);
        let kept = trade::scan_keeping(&files, &filter, Some(&keep), &NoProgress).unwrap();
        assert!(
            kept.groups.len() < everything.groups.len(),
            "{} of {} groups kept",
            kept.groups.len(),
            everything.groups.len()
        );
        assert_eq!(kept.files, everything.files, "every row is still counted");
        assert_eq!(kept.malformed, everything.malformed);
        for g in &kept.groups {
            assert!(keep.keeps(&g.exporter, g.year, &g.taxon), "{g:?}");
            let in_full = keep.names.contains(g.taxon.as_str());
            assert_eq!(!g.importer.is_empty(), in_full, "{g:?}");
        }
        let rows = |groups: &[trade::Shipments]| groups.iter().map(|g| g.rows).sum::<u64>();
        assert_eq!(
            rows(&kept.groups) + kept.set_apart.iter().map(|n| n.rows).sum::<u64>(),
            rows(&everything.groups),
            "a row is either summed or set apart by name and year"
        );
        assert!(everything.set_apart.is_empty());
        assert_eq!(kept.names(), everything.names(), "every name is still seen");
        assert_eq!(
            trade::compare_scan(kept, &names(), &quotas(), tabulate),
            trade::compare_scan(everything.clone(), &names(), &quotas(), tabulate),
        );
    }
}

/// Counts the passes a comparison makes over the files.
#[derive(Default)]
struct Passes(std::sync::atomic::AtomicUsize);

impl trade::ScanProgress for Passes {
    fn start(&self, _files: usize, _bytes: u64) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn one_pass_when_the_names_known_cover_those_reported_and_two_when_a_spelling_differs() {
    let compare = |names: &NameMap, passes: &Passes| {
        let tabulate = Some(TaxonId::new(ROYAL_PYTHON));
        trade::compare(
            &files(),
            &ScanFilter::default(),
            names,
            &quotas(),
            tabulate,
            passes,
        )
        .unwrap()
    };
    // The fixture's map spells the synonym "Python  REGIA "; the files report "Python regia",
    // which resolves (any case, spaces collapsed) but which a scan keeping the map's spellings
    // set apart: the comparison scans again for it.
    let two = Passes::default();
    let respelled = compare(&names(), &two);
    assert_eq!(two.0.into_inner(), 2);
    let mut as_reported = names();
    as_reported.insert(
        "Python regia",
        names().resolve("python regia").unwrap().clone(),
    );
    let one = Passes::default();
    let direct = compare(&as_reported, &one);
    assert_eq!(one.0.into_inner(), 1);
    assert_eq!(direct, respelled);
    assert_eq!(direct, compared());
    // The synonym's trade counts: left out, the comparison differs.
    let mut without = NameMap::default();
    for name in [
        "Python regius",
        "Python spp.",
        "Crocodylus niloticus",
        "Panthera pardus",
    ] {
        without.insert(name, names().resolve(name).unwrap().clone());
    }
    assert_ne!(compare(&without, &Passes::default()).quotas, direct.quotas);
}

#[test]
fn a_keep_covers_another_only_when_it_keeps_every_group_the_other_keeps() {
    let keep = |names: &[&str], counted: &[(&str, u32)], quotas: &[(&str, i32, u32)]| {
        let mut k = trade::Keep {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            ..Default::default()
        };
        for (name, taxon) in counted {
            k.counts_for
                .entry((*name).to_owned())
                .or_default()
                .push(TaxonId::new(*taxon));
        }
        for (exporter, year, taxon) in quotas {
            k.quotas
                .entry((*exporter).to_owned())
                .or_default()
                .insert((*year, TaxonId::new(*taxon)));
        }
        k
    };
    let scanned = keep(
        &["Python regius"],
        &[("Python regius", ROYAL_PYTHON), ("Python spp.", PYTHON)],
        &[
            ("GH", 2023, ROYAL_PYTHON),
            ("GH", 2023, PYTHON),
            ("TG", 2022, PYTHON),
        ],
    );
    assert!(scanned.covers(&scanned));
    assert!(scanned.covers(&keep(
        &[],
        &[("Python spp.", PYTHON)],
        &[("TG", 2022, PYTHON)]
    )));
    assert!(scanned.covers(&trade::Keep::default()));
    // A name kept whole (tabulated) that the scan kept for the quotas only: no importer.
    assert!(!scanned.covers(&keep(&["Python spp."], &[], &[])));
    // Another year, another exporter, another name.
    for (counted, quota) in [
        (("Python spp.", PYTHON), ("TG", 2023, PYTHON)),
        (("Python spp.", PYTHON), ("BJ", 2022, PYTHON)),
        (("Python regia", ROYAL_PYTHON), ("GH", 2023, ROYAL_PYTHON)),
    ] {
        assert!(
            !scanned.covers(&keep(&[], &[counted], &[quota])),
            "{counted:?} {quota:?}"
        );
    }
}
