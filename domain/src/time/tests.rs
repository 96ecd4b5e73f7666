//! Tests for dates, periods and clocks.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};

use super::*;

fn date(y: i32, m: u32, d: u32) -> Date {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn parse_date_accepts_yyyy_mm_dd_with_surrounding_whitespace() {
    assert_eq!(
        parse_date("issued_on", "2023-02-23").unwrap(),
        date(2023, 2, 23)
    );
    assert_eq!(
        parse_date("issued_on", " 2024-02-29 ").unwrap(),
        date(2024, 2, 29)
    );
}

#[test]
fn parse_date_rejects_other_formats_and_names_field_and_format() {
    for bad in [
        "2023-2-23",
        "23-02-2023",
        "2023/02/23",
        "2023-02-23T00:00:00",
        "",
        "2023-02-3x",
    ] {
        let err = parse_date("issued_on", bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                r#"invalid date {bad:?} for field "issued_on": accepted format YYYY-MM-DD with a real calendar day, e.g. 2023-02-23"#
            )
        );
    }
}

#[test]
fn parse_date_rejects_days_that_do_not_exist() {
    for bad in ["2023-02-29", "2023-13-01", "2023-00-10", "2023-04-31"] {
        assert!(parse_date("effective_at", bad).is_err(), "{bad}");
    }
}

#[test]
fn parse_date_rejects_years_before_cites_or_after_2200() {
    let err = parse_date("effective_at", "1972-12-31").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"date "1972-12-31" for field "effective_at" is out of range: accepted years 1973 to 2200 (CITES was signed in 1973)"#
    );
    assert!(parse_date("effective_at", "2201-01-01").is_err());
    assert!(parse_date("effective_at", "1973-01-01").is_ok());
    assert!(parse_date("effective_at", "2200-12-31").is_ok());
}

#[test]
fn parse_timestamp_accepts_rfc_3339_and_converts_to_utc() {
    let ts = parse_timestamp("updated_at", "2024-05-01T14:00:00+02:00").unwrap();
    assert_eq!(ts, Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap());
    let err = parse_timestamp("updated_at", "2024-05-01").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid timestamp "2024-05-01" for field "updated_at": accepted RFC 3339, e.g. 2024-05-01T12:00:00Z"#
    );
    assert!(parse_timestamp("updated_at", "1900-01-01T00:00:00Z").is_err());
}

/// chrono reads second 60 on any day; no real leap second has been inserted since 2016-12-31.
#[test]
fn an_instant_at_second_60_is_refused_naming_the_field() {
    for text in [
        "2026-12-10T23:59:60Z",
        "2026-06-30T23:59:60Z",
        "2026-12-10T12:34:60+02:00",
    ] {
        let err = parse_timestamp("expires_at", text).unwrap_err();
        assert_eq!(err.field(), Some("expires_at"));
        assert!(
            err.to_string()
                .contains("second 60, a leap second, is not accepted"),
            "{err}"
        );
    }
    assert!(parse_timestamp("expires_at", "2026-12-31T23:59:59Z").is_ok());

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        #[serde(default, deserialize_with = "crate::deserialize_instant_option")]
        expires_at: Option<Timestamp>,
    }
    let read = |json: &str| serde_json::from_str::<Body>(json).map(|b| b.expires_at);
    let err = read(r#"{"expires_at": "2026-12-10T23:59:60Z"}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("second 60 (a leap second) is not accepted"),
        "{err}"
    );
    assert_eq!(read("{}").unwrap(), None);
    assert_eq!(read(r#"{"expires_at": null}"#).unwrap(), None);
    assert_eq!(
        read(r#"{"expires_at": "2026-12-10T23:59:59Z"}"#).unwrap(),
        Some(Utc.with_ymd_and_hms(2026, 12, 10, 23, 59, 59).unwrap())
    );
}

#[test]
fn calendar_year_is_half_open_and_excludes_the_next_new_year() {
    let year = Period::calendar_year(2024);
    assert_eq!(year.start, date(2024, 1, 1));
    assert_eq!(year.end, date(2025, 1, 1));
    assert!(year.contains(date(2024, 1, 1)));
    assert!(year.contains(date(2024, 12, 31)));
    assert!(!year.contains(date(2025, 1, 1)));
    assert!(!year.contains(date(2023, 12, 31)));
    assert_eq!(year.last_day(), Some(date(2024, 12, 31)));
    assert_eq!(year.days(), 366);
    assert_eq!(year.to_string(), "2024-01-01..2025-01-01");
}

#[test]
fn consecutive_calendar_years_tile_without_gap_or_overlap() {
    assert_eq!(
        Period::calendar_year(2023).end,
        Period::calendar_year(2024).start
    );
}

#[test]
fn calendar_year_saturates_beyond_chrono_range() {
    let far = Period::calendar_year(i32::MAX);
    assert_eq!(far.start, NaiveDate::MAX);
}

#[test]
fn period_new_requires_end_after_start() {
    assert!(Period::new(date(2024, 1, 1), date(2024, 1, 2)).is_ok());
    let err = Period::new(date(2024, 1, 1), date(2024, 1, 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid period for field "period": end 2024-01-01 must be after start 2024-01-01 (periods are half-open, the end date is excluded)"#
    );
}

#[test]
fn period_from_inclusive_matches_species_plus_start_and_end_dates() {
    let period = Period::from_inclusive(date(2024, 1, 1), date(2024, 12, 31)).unwrap();
    assert_eq!(period, Period::calendar_year(2024));
    let single_day = Period::from_inclusive(date(2024, 3, 1), date(2024, 3, 1)).unwrap();
    assert_eq!(single_day.days(), 1);
    assert_eq!(
        Period::from_inclusive(date(2024, 3, 2), date(2024, 3, 1))
            .unwrap_err()
            .to_string(),
        r#"invalid date "2024-03-01" for field "period_last_day": accepted the period's last day: its first day, 2024-03-02, or later"#
    );
}

#[test]
fn twelve_months_from_covers_a_non_calendar_quota_year() {
    let period = Period::twelve_months_from(date(2023, 4, 1)).unwrap();
    assert_eq!(period.end, date(2024, 4, 1));
    assert!(period.contains(date(2024, 3, 31)));
    assert!(!period.contains(date(2024, 4, 1)));
}

#[test]
fn period_serde_round_trips_and_rejects_inverted_periods() {
    let period = Period::calendar_year(2024);
    let json = serde_json::to_string(&period).unwrap();
    assert_eq!(json, r#"{"start":"2024-01-01","end":"2025-01-01"}"#);
    assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), period);
    let inverted = r#"{"start":"2025-01-01","end":"2024-01-01"}"#;
    assert!(serde_json::from_str::<Period>(inverted).is_err());
}

#[test]
fn manual_clock_stays_put_until_set_or_advanced() {
    let start = Utc.with_ymd_and_hms(2023, 2, 23, 0, 0, 0).unwrap();
    let clock = ManualClock::new(start);
    assert_eq!(clock.now(), start);
    assert_eq!(clock.now(), start);
    clock.advance(Duration::days(1));
    assert_eq!(clock.today(), date(2023, 2, 24));
    clock.set(Utc.with_ymd_and_hms(2023, 11, 25, 12, 0, 0).unwrap());
    assert_eq!(clock.today(), date(2023, 11, 25));
    clock.advance(Duration::hours(-13));
    assert_eq!(clock.today(), date(2023, 11, 24));
}

#[test]
fn manual_clock_advance_saturates_instead_of_panicking() {
    let clock = ManualClock::at_start_of(date(2024, 1, 1));
    clock.advance(Duration::MAX);
    assert_eq!(clock.now(), chrono::DateTime::<Utc>::MAX_UTC);
}

#[test]
fn manual_clock_at_start_of_is_midnight_utc() {
    let clock = ManualClock::at_start_of(date(2024, 6, 1));
    assert_eq!(
        clock.now(),
        Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap()
    );
}

#[test]
fn clocks_work_behind_references_arcs_and_trait_objects() {
    fn today_of(clock: &dyn Clock) -> Date {
        clock.today()
    }
    let manual = Arc::new(ManualClock::at_start_of(date(2024, 6, 1)));
    let shared: Arc<dyn Clock> = manual.clone();
    manual.advance(Duration::days(2));
    assert_eq!(today_of(&shared), date(2024, 6, 3));
    assert_eq!(today_of(&&*manual), date(2024, 6, 3));
    let boxed: Box<dyn Clock> = Box::new(ManualClock::at_start_of(date(2025, 1, 1)));
    assert_eq!(boxed.today(), date(2025, 1, 1));
}

#[test]
fn system_clock_reports_a_date_after_cites_was_signed() {
    assert!(SystemClock.today() > date(DATE_YEAR_MIN, 3, 3));
}
