//! The review on hand-checked ledgers: a calendar quota used at a known pace, a zero quota with
//! activity, a quota in preparation, a non-calendar period, and exactness at the limit.

use chrono::{NaiveDate, TimeZone, Utc};
use domain::{CountryCode, Period, TaxonId, UnitCode};
use rust_decimal::Decimal;

use super::*;
use crate::input::{HistoryEntry, PublishedLimit, QuotaInput, QuotaUseInput, RefusalRecord};

fn d(s: &str) -> Date {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn at(s: &str) -> domain::Timestamp {
    Utc.from_utc_datetime(&d(s).and_hms_opt(10, 30, 0).unwrap())
}

fn entry(day: &str, held: &str, committed: &str, exported: &str) -> HistoryEntry {
    HistoryEntry {
        at: at(day),
        delta_held: dec(held),
        delta_committed: dec(committed),
        delta_exported: dec(exported),
    }
}

fn refusal(day: &str, requested: Option<&str>) -> RefusalRecord {
    RefusalRecord {
        at: at(day),
        requested: requested.map(dec),
        reason: "refused".to_owned(),
    }
}

fn quota(id: i64, exporter: &str, name: &str, period: Period, unit: &str) -> QuotaInput {
    QuotaInput {
        id,
        exporter: CountryCode::parse(exporter).unwrap(),
        taxon_id: TaxonId::parse(&id.to_string()).unwrap(),
        taxon_name: name.to_owned(),
        period,
        unit: UnitCode::parse(unit).unwrap(),
        limit: None,
        held: Decimal::ZERO,
        committed: Decimal::ZERO,
        exported: Decimal::ZERO,
        term: None,
        source: None,
        purpose: None,
        published: None,
    }
}

/// 2026, limit 100 specimens; on 31 March (day 90): held 10, committed 30, exported 15.
fn calendar_quota() -> QuotaUseInput {
    let mut q = quota(
        1,
        "NA",
        "Panthera pardus",
        Period::calendar_year(2026),
        "NAR",
    );
    q.limit = Some(dec("100"));
    q.held = dec("10");
    q.committed = dec("30");
    q.exported = dec("15");
    q.published = Some(PublishedLimit::Value {
        amount: dec("100"),
        unit: UnitCode::parse("NAR").unwrap(),
    });
    QuotaUseInput {
        quota: q,
        history: vec![
            entry("2026-03-28", "10", "0", "0"),
            entry("2026-01-09", "20", "0", "0"),
            entry("2026-01-10", "-20", "20", "0"),
            entry("2026-02-15", "0", "25", "0"),
            entry("2026-03-20", "0", "-15", "15"),
        ],
        refusals: vec![refusal("2026-03-30", Some("60"))],
    }
}

#[test]
fn a_calendar_quota_gives_its_figures_months_and_run_out_day() {
    let review = review(d("2026-03-31"), &[calendar_quota()]);
    let r = &review.rows[0];
    assert_eq!(r.used, dec("45"));
    assert_eq!(r.available, Some(dec("45")));
    assert_eq!(r.used_share, Some(0.45));
    assert_eq!(r.period_elapsed_share, 90.0 / 365.0);
    // 45 in 90 days: the limit of 100 is reached on day ceil(100 * 90 / 45) = 200, 19 July.
    assert_eq!(r.runs_out_on, Some(d("2026-07-19")));
    assert_eq!(r.refused_requests, 1);
    assert_eq!(r.refused_quantity, dec("60"));
    assert!(r.flags.is_empty(), "{:?}", r.flags);
    assert_eq!(r.published.as_deref(), Some("100 NAR"));
    let months: Vec<(&str, Decimal, Decimal, u32)> = r
        .months
        .iter()
        .map(|m| (m.month.as_str(), m.used, m.cumulative, m.refused_requests))
        .collect();
    assert_eq!(
        months,
        vec![
            ("2026-01", dec("20"), dec("20"), 0),
            ("2026-02", dec("25"), dec("45"), 0),
            // An export moves committed to exported: no change in use.
            ("2026-03", dec("0"), dec("45"), 1),
        ]
    );
}

#[test]
fn a_zero_quota_with_refused_requests_is_activity_and_differs_from_species_plus() {
    let mut q = quota(
        2,
        "TZ",
        "Cuora amboinensis",
        Period::calendar_year(2026),
        "NAR",
    );
    q.limit = Some(Decimal::ZERO);
    q.published = Some(PublishedLimit::Value {
        amount: dec("10"),
        unit: UnitCode::parse("NAR").unwrap(),
    });
    let input = QuotaUseInput {
        quota: q,
        history: vec![],
        refusals: vec![
            refusal("2026-02-01", Some("5")),
            refusal("2026-02-03", None),
        ],
    };
    let review = review(d("2026-03-31"), &[input]);
    let r = &review.rows[0];
    assert_eq!(
        r.flags,
        vec![Flag::ActivityUnderZeroQuota, Flag::DiffersFromSpeciesPlus]
    );
    assert_eq!(r.used_share, None);
    assert_eq!(r.runs_out_on, None);
    assert_eq!(r.available, Some(Decimal::ZERO));
    assert_eq!(r.refused_requests, 2);
    assert_eq!(r.refused_quantity, dec("5"));
    assert_eq!(r.months.len(), 3);
    assert_eq!(r.months[1].refused_requests, 2);
}

#[test]
fn a_quiet_zero_quota_is_not_flagged_as_activity() {
    let mut q = quota(
        3,
        "TZ",
        "Cuora galbinifrons",
        Period::calendar_year(2026),
        "NAR",
    );
    q.limit = Some(Decimal::ZERO);
    let input = QuotaUseInput {
        quota: q,
        history: vec![entry("2026-01-02", "0", "0", "0")],
        refusals: vec![],
    };
    let review = review(d("2026-03-31"), &[input]);
    assert!(review.rows[0].flags.is_empty());
}

#[test]
fn a_quota_in_preparation_has_no_limit_share_or_run_out_day() {
    let mut q = quota(
        4,
        "MZ",
        "Crocodylus niloticus",
        Period::calendar_year(2026),
        "NAR",
    );
    q.published = Some(PublishedLimit::InPreparation);
    let input = QuotaUseInput {
        quota: q,
        history: vec![],
        refusals: vec![refusal("2026-03-02", Some("3"))],
    };
    let review = review(d("2026-03-31"), &[input]);
    let r = &review.rows[0];
    // Species+ also shows it in preparation: no difference.
    assert_eq!(r.flags, vec![Flag::InPreparation]);
    assert_eq!(r.limit, None);
    assert_eq!(r.available, None);
    assert_eq!(r.used_share, None);
    assert_eq!(r.runs_out_on, None);
    assert_eq!(r.published.as_deref(), Some("in preparation"));
}

/// April 2026 to March 2027, 1000 kg (legacy KIL); on 15 May (day 45) 850 used.
#[test]
fn a_non_calendar_period_counts_its_own_days_and_months() {
    let period = Period::twelve_months_from(d("2026-04-01")).unwrap();
    let mut q = quota(5, "ZA", "Aloe ferox", period, "KIL");
    q.limit = Some(dec("1000"));
    q.committed = dec("750");
    q.exported = dec("100");
    // One tonne is 1000 kg: the same limit.
    q.published = Some(PublishedLimit::Value {
        amount: dec("1"),
        unit: UnitCode::parse("TON").unwrap(),
    });
    let input = QuotaUseInput {
        quota: q,
        history: vec![
            entry("2026-04-10", "0", "600", "0"),
            entry("2026-05-02", "0", "300", "0"),
            entry("2026-05-10", "0", "-50", "0"),
            entry("2026-05-12", "0", "-100", "100"),
        ],
        refusals: vec![],
    };
    let review = review(d("2026-05-15"), &[input]);
    let r = &review.rows[0];
    assert_eq!(r.period_start, d("2026-04-01"));
    assert_eq!(r.period_last_day, d("2027-03-31"));
    assert_eq!(r.used, dec("850"));
    assert_eq!(r.period_elapsed_share, 45.0 / 365.0);
    // 850 in 45 days: 1000 on day ceil(1000 * 45 / 850) = ceil(52.94) = 53, 23 May.
    assert_eq!(r.runs_out_on, Some(d("2026-05-23")));
    assert_eq!(r.flags, vec![Flag::Over80Percent]);
    let months: Vec<(&str, Decimal, Decimal)> = r
        .months
        .iter()
        .map(|m| (m.month.as_str(), m.used, m.cumulative))
        .collect();
    assert_eq!(
        months,
        vec![
            ("2026-04", dec("600"), dec("600")),
            ("2026-05", dec("250"), dec("850")),
        ]
    );
}

#[test]
fn exceeded_is_decided_on_exact_amounts_and_dated_from_the_history() {
    // 0.1 + 0.2 is exactly 0.3: at the limit, not over it (a float sum would say over).
    let mut q = quota(
        6,
        "BW",
        "Acinonyx jubatus",
        Period::calendar_year(2026),
        "NAR",
    );
    q.unit = UnitCode::parse("KIL").unwrap();
    q.limit = Some(dec("0.3"));
    q.committed = dec("0.3");
    let input = QuotaUseInput {
        quota: q,
        history: vec![
            entry("2026-01-05", "0", "0.1", "0"),
            entry("2026-01-20", "0", "0.2", "0"),
        ],
        refusals: vec![],
    };
    let at_limit = review(d("2026-03-31"), std::slice::from_ref(&input));
    assert_eq!(at_limit.rows[0].flags, vec![Flag::Over80Percent]);
    assert_eq!(at_limit.rows[0].available, Some(Decimal::ZERO));
    assert_eq!(at_limit.rows[0].runs_out_on, Some(d("2026-01-20")));

    // The limit revised down under what was already committed.
    let mut revised = calendar_quota();
    revised.quota.limit = Some(dec("40"));
    revised.quota.published = None;
    let over = review(d("2026-03-31"), &[revised]);
    let r = &over.rows[0];
    assert_eq!(r.flags, vec![Flag::Exceeded]);
    assert_eq!(r.available, Some(dec("-15")));
    // Cumulative use passed 40 with the commit of 15 February (20 + 25).
    assert_eq!(r.runs_out_on, Some(d("2026-02-15")));
}

#[test]
fn a_pace_that_lasts_the_period_gives_no_run_out_day_and_rows_are_sorted() {
    let mut slow = calendar_quota();
    slow.quota.limit = Some(dec("1000"));
    slow.quota.published = None;
    let mut other = calendar_quota();
    other.quota.id = 9;
    other.quota.exporter = CountryCode::parse("BW").unwrap();
    let review = review(d("2026-03-31"), &[slow, other]);
    assert_eq!(review.rows[0].quota_id, 9, "BW before NA");
    // 45 in 90 days reaches 1000 on day 2000: after the period.
    assert_eq!(review.rows[1].runs_out_on, None);
    assert!(review.rows[1].flags.is_empty());
}

#[test]
fn before_its_period_a_quota_has_no_elapsed_days_and_one_month() {
    let mut q = quota(
        7,
        "NA",
        "Panthera pardus",
        Period::calendar_year(2027),
        "NAR",
    );
    q.limit = Some(dec("10"));
    let input = QuotaUseInput {
        quota: q,
        history: vec![],
        refusals: vec![],
    };
    let review = review(d("2026-12-01"), &[input]);
    let r = &review.rows[0];
    assert_eq!(r.period_elapsed_share, 0.0);
    assert_eq!(r.runs_out_on, None);
    assert_eq!(r.months.len(), 1);
    assert_eq!(r.months[0].month, "2027-01");
}
