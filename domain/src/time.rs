//! Dates, timestamps, half-open `Period`s and the injected `Clock`.
//!
//! Nothing in the engine reads the system clock except `SystemClock`; everything else takes a
//! `&dyn Clock` (or a date) so that tests control time.

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{Datelike, Months, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

/// A calendar date without time zone (trade dates, listing `effective_at`, permit issue dates).
pub type Date = chrono::NaiveDate;

/// An instant in UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Earliest year a date may have: CITES was signed on 3 March 1973.
pub const DATE_YEAR_MIN: i32 = 1973;

/// Latest year a date may have; later years are typing mistakes, not plans.
pub const DATE_YEAR_MAX: i32 = 2200;

const DATE_ACCEPTED: &str = "format YYYY-MM-DD with a real calendar day, e.g. 2023-02-23";
const DATE_RANGE_ACCEPTED: &str = "years 1973 to 2200 (CITES was signed in 1973)";

/// Parses a `YYYY-MM-DD` date (trimmed) for `field`.
///
/// Only that exact shape is accepted: no times, no single-digit months, no other separators.
/// The year must lie in `DATE_YEAR_MIN..=DATE_YEAR_MAX`; acquisition dates of pre-Convention
/// specimens that predate 1973 need their own field type.
pub fn parse_date(field: &'static str, s: &str) -> Result<Date> {
    let trimmed = s.trim();
    let bytes = trimmed.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(idx, b)| match idx {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(Error::invalid("date", field, s, DATE_ACCEPTED));
    }
    let number =
        |range: std::ops::Range<usize>| -> Option<u32> { trimmed.get(range)?.parse().ok() };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return Err(Error::invalid("date", field, s, DATE_ACCEPTED));
    };
    let Ok(year) = i32::try_from(year) else {
        return Err(Error::invalid("date", field, s, DATE_ACCEPTED));
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| Error::invalid("date", field, s, DATE_ACCEPTED))?;
    check_date_range(field, date)?;
    Ok(date)
}

/// Parses an RFC 3339 timestamp such as `2024-05-01T12:00:00Z` (any offset, converted to UTC)
/// for `field`, with the same year range as [`parse_date`].
pub fn parse_timestamp(field: &'static str, s: &str) -> Result<Timestamp> {
    let parsed = chrono::DateTime::parse_from_rfc3339(s.trim()).map_err(|_| {
        Error::invalid("timestamp", field, s, "RFC 3339, e.g. 2024-05-01T12:00:00Z")
    })?;
    let timestamp = parsed.with_timezone(&Utc);
    if is_leap_second(&timestamp) {
        return Err(Error::invalid("timestamp", field, s, LEAP_SECOND_REFUSED));
    }
    check_date_range(field, timestamp.date_naive())?;
    Ok(timestamp)
}

/// Why an instant written at second 60 is refused, as error messages say it. chrono reads a
/// leap second on any day and at any minute, but the only real ones were at 23:59:60 UTC on
/// 30 June or 31 December of listed years, none since 2016-12-31: second 60 is a typing
/// mistake far more often than an instant.
pub const LEAP_SECOND_REFUSED: &str = "an RFC 3339 instant whose second is 00 to 59 (second 60, \
     a leap second, is not accepted: none has been inserted since 2016-12-31), e.g. \
     2026-12-31T23:59:59Z";

/// Whether `t` was written at second 60 (a leap second, which chrono keeps as a nanosecond
/// count of a second or more).
pub fn is_leap_second(t: &Timestamp) -> bool {
    t.nanosecond() >= 1_000_000_000
}

/// Serde `deserialize_with` for an optional RFC 3339 instant of a request (`expires_at`):
/// chrono's reading, refusing second 60 ([`LEAP_SECOND_REFUSED`]). Use with `#[serde(default)]`.
pub fn deserialize_instant_option<'de, D>(deserializer: D) -> Result<Option<Timestamp>, D::Error>
where
    D: Deserializer<'de>,
{
    match Option::<Timestamp>::deserialize(deserializer)? {
        Some(t) if is_leap_second(&t) => Err(serde::de::Error::custom(
            "second 60 (a leap second) is not accepted",
        )),
        other => Ok(other),
    }
}

fn check_date_range(field: &'static str, date: Date) -> Result<()> {
    if (DATE_YEAR_MIN..=DATE_YEAR_MAX).contains(&date.year()) {
        Ok(())
    } else {
        Err(Error::out_of_range(
            "date",
            field,
            &date.to_string(),
            DATE_RANGE_ACCEPTED,
        ))
    }
}

/// A half-open range of days: `start` is included, `end` is **excluded**.
///
/// Half-open periods tile without gaps or overlaps: the 2024 quota year is
/// `2024-01-01..2025-01-01`, and the next one starts where it ends. Species+ and most documents
/// give an inclusive last day instead; use [`Period::from_inclusive`] and [`Period::last_day`]
/// at those edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "PeriodRepr")]
pub struct Period {
    /// First day in the period.
    pub start: Date,
    /// First day after the period.
    pub end: Date,
}

#[derive(Deserialize)]
struct PeriodRepr {
    start: Date,
    end: Date,
}

impl Period {
    /// `[start, end)`; `end` must be after `start` (error field `"period"`).
    pub fn new(start: Date, end: Date) -> Result<Period> {
        if end <= start {
            return Err(Error::InvalidPeriod {
                field: "period",
                start,
                end,
            });
        }
        Ok(Period { start, end })
    }

    /// `[start, last_day]`, the form Species+ quotas use (`start_date`, `end_date`).
    pub fn from_inclusive(start: Date, last_day: Date) -> Result<Period> {
        let end = last_day.succ_opt().ok_or_else(|| {
            Error::out_of_range(
                "date",
                "period_last_day",
                &last_day.to_string(),
                DATE_RANGE_ACCEPTED,
            )
        })?;
        // Named as given: the last day, not the exclusive end the period keeps.
        if end <= start {
            return Err(Error::invalid(
                "date",
                "period_last_day",
                &last_day.to_string(),
                format!("the period's last day: its first day, {start}, or later"),
            ));
        }
        Ok(Period { start, end })
    }

    /// 1 January `year` to 1 January `year + 1` (exclusive): the default quota year.
    ///
    /// Years beyond chrono's range (about ±262 000) saturate to its first or last date.
    pub fn calendar_year(year: i32) -> Period {
        Period {
            start: first_of_january(year),
            end: first_of_january(year.saturating_add(1)),
        }
    }

    /// The twelve months starting on `start`, for Parties whose quota year is not the calendar
    /// year (Res. Conf. 14.7: "a 12-month period").
    pub fn twelve_months_from(start: Date) -> Result<Period> {
        let end = start.checked_add_months(Months::new(12)).ok_or_else(|| {
            Error::out_of_range("date", "period", &start.to_string(), DATE_RANGE_ACCEPTED)
        })?;
        Ok(Period { start, end })
    }

    /// First day in the period.
    pub fn start(&self) -> Date {
        self.start
    }

    /// First day after the period (excluded).
    pub fn end(&self) -> Date {
        self.end
    }

    /// Last day in the period, for inclusive displays. `None` for an empty period built by hand
    /// with `end <= start` or ending at chrono's first date.
    pub fn last_day(&self) -> Option<Date> {
        if self.end <= self.start {
            None
        } else {
            self.end.pred_opt()
        }
    }

    /// Whether `date` is in `[start, end)`.
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date < self.end
    }

    /// Number of days in the period (zero if built by hand with `end <= start`).
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days().max(0)
    }
}

fn first_of_january(year: i32) -> Date {
    NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(if year < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

impl TryFrom<PeriodRepr> for Period {
    type Error = Error;

    fn try_from(repr: PeriodRepr) -> Result<Period> {
        Period::new(repr.start, repr.end)
    }
}

impl fmt::Display for Period {
    /// `2024-01-01..2025-01-01` (end excluded, like a Rust range).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// The source of "now". Inject it; never read the system clock directly.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;

    /// The current UTC date.
    fn today(&self) -> Date {
        self.now().date_naive()
    }
}

/// The real clock. Built once, in the binary; tests use [`ManualClock`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one sanctioned read of the system clock in the workspace; clippy.toml's
    // disallowed-methods bans `Utc::now` everywhere else.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        Utc::now()
    }
}

/// A clock that only moves when told to. Shareable across threads.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: Timestamp) -> ManualClock {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    /// A clock stopped at midnight UTC at the start of `date`.
    pub fn at_start_of(date: Date) -> ManualClock {
        ManualClock::new(Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN)))
    }

    /// Moves the clock to `now` (backwards too).
    pub fn set(&self, now: Timestamp) {
        *self.lock() = now;
    }

    /// Moves the clock by `delta` (negative moves back), saturating at chrono's range.
    pub fn advance(&self, delta: chrono::Duration) {
        let mut now = self.lock();
        let saturated = if delta < chrono::Duration::zero() {
            chrono::DateTime::<Utc>::MIN_UTC
        } else {
            chrono::DateTime::<Utc>::MAX_UTC
        };
        *now = now.checked_add_signed(delta).unwrap_or(saturated);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A panic while holding the lock cannot leave a timestamp half-written.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }

    fn today(&self) -> Date {
        (**self).today()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }

    fn today(&self) -> Date {
        (**self).today()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }

    fn today(&self) -> Date {
        (**self).today()
    }
}
