//! A seeded review shared by the report's tests: four quotas whose figures the unit tests of
//! `quota_use` check by hand, and a trend of five years with a gap.

use chrono::{NaiveDate, TimeZone, Utc};
use domain::{CountryCode, Date, Period, TaxonId, UnitCode};
use report::{
    HistoryEntry, PublishedLimit, QuotaInput, QuotaUseInput, QuotaUseReview, RefusalRecord,
    TrendPoint, TrendSeries,
};
use rust_decimal::Decimal;

pub fn d(s: &str) -> Date {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn entry(day: &str, held: &str, committed: &str, exported: &str) -> HistoryEntry {
    HistoryEntry {
        at: Utc.from_utc_datetime(&d(day).and_hms_opt(9, 0, 0).unwrap()),
        delta_held: dec(held),
        delta_committed: dec(committed),
        delta_exported: dec(exported),
    }
}

fn refusal(day: &str, requested: &str) -> RefusalRecord {
    RefusalRecord {
        at: Utc.from_utc_datetime(&d(day).and_hms_opt(9, 0, 0).unwrap()),
        requested: Some(dec(requested)),
        reason: "quota_exhausted".to_owned(),
    }
}

#[allow(clippy::too_many_arguments)] // A row of the seeded table, positional on purpose.
fn quota(
    id: i64,
    exporter: &str,
    name: &str,
    period: Period,
    unit: &str,
    limit: Option<&str>,
    committed: &str,
    exported: &str,
) -> QuotaInput {
    QuotaInput {
        id,
        exporter: CountryCode::parse(exporter).unwrap(),
        taxon_id: TaxonId::parse(&(1000 + id).to_string()).unwrap(),
        taxon_name: name.to_owned(),
        period,
        unit: UnitCode::parse(unit).unwrap(),
        limit: limit.map(dec),
        held: Decimal::ZERO,
        committed: dec(committed),
        exported: dec(exported),
        term: None,
        source: None,
        purpose: None,
        published: None,
    }
}

pub const TODAY: &str = "2026-05-15";

/// Leopard (NA, 2026, 100): 45 used. Tortoise (TZ, zero quota) with two refusals. Crocodile (MZ)
/// in preparation. Aloe (ZA, April to March, 1000 KIL): 850 used.
pub fn inputs() -> Vec<QuotaUseInput> {
    let mut leopard = quota(
        1,
        "NA",
        "Panthera pardus",
        Period::calendar_year(2026),
        "NAR",
        Some("100"),
        "30",
        "15",
    );
    leopard.published = Some(PublishedLimit::Value {
        amount: dec("100"),
        unit: UnitCode::parse("NAR").unwrap(),
    });
    let tortoise = quota(
        2,
        "TZ",
        "Cuora amboinensis",
        Period::calendar_year(2026),
        "NAR",
        Some("0"),
        "0",
        "0",
    );
    let crocodile = quota(
        3,
        "MZ",
        "Crocodylus niloticus",
        Period::calendar_year(2026),
        "NAR",
        None,
        "0",
        "0",
    );
    let aloe = quota(
        4,
        "ZA",
        "Aloe ferox",
        Period::twelve_months_from(d("2026-04-01")).unwrap(),
        "KIL",
        Some("1000"),
        "750",
        "100",
    );
    vec![
        QuotaUseInput {
            quota: leopard,
            history: vec![
                entry("2026-01-10", "0", "20", "0"),
                entry("2026-02-15", "0", "25", "0"),
                entry("2026-03-20", "0", "-15", "15"),
            ],
            refusals: vec![],
        },
        QuotaUseInput {
            quota: tortoise,
            history: vec![],
            refusals: vec![refusal("2026-02-01", "5"), refusal("2026-04-03", "2")],
        },
        QuotaUseInput {
            quota: crocodile,
            history: vec![],
            refusals: vec![],
        },
        QuotaUseInput {
            quota: aloe,
            history: vec![
                entry("2026-04-10", "0", "600", "0"),
                entry("2026-05-02", "0", "300", "0"),
                entry("2026-05-10", "0", "-50", "0"),
                entry("2026-05-12", "0", "-100", "100"),
            ],
            refusals: vec![],
        },
    ]
}

pub fn seeded() -> QuotaUseReview {
    report::review(d(TODAY), &inputs())
}

/// Five years of leopard exports from NA; no importer figure for 2025.
pub fn trend() -> TrendSeries {
    let point = |year, quota: &str, exp: &str, imp: Option<&str>| TrendPoint {
        year,
        quota: Some(dec(quota)),
        used: None,
        exporter_reported: Some(dec(exp)),
        importer_reported: imp.map(dec),
    };
    TrendSeries {
        taxon_name: "Panthera pardus".to_owned(),
        exporter: CountryCode::parse("NA").unwrap(),
        unit: UnitCode::parse("NAR").unwrap(),
        points: vec![
            point(2021, "250", "180", Some("170")),
            point(2022, "250", "210", Some("205")),
            point(2023, "250", "240", Some("238")),
            point(2024, "250", "190", Some("200")),
            point(2025, "250", "120", None),
        ],
    }
}
