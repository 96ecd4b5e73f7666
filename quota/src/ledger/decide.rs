//! The pure decisions of the ledger: periods, holds, permits, limits and refusals.

use chrono::Datelike;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use domain::{Period, Quantity, UnitCode};

use super::{
    HOLD_DEFAULT, HOLD_MAX, PERMIT_VALIDITY_MONTHS,
    rows::{QuotaRow, ReservationRow},
};
use crate::amount::{from_micro, to_micro};
use crate::error::{Error, Result};
use crate::model::{Outcome, Refusal, check_whole};

/// Why nothing can be reserved or issued against a quota of this period at `now` (the day, in
/// UTC, outside it): a permit counts against the quota of the 12 months it is issued in
/// (not the months it is used in).
pub(super) fn period_refusal(
    period_start: NaiveDate,
    period_end: NaiveDate,
    now: DateTime<Utc>,
) -> Option<Refusal> {
    let today = now.date_naive();
    (today < period_start || today >= period_end).then(|| Refusal::OutsidePeriod {
        period_start,
        period_last_day: crate::model::last_day(period_end),
    })
}

/// Midnight UTC at the start of `day`: where a period whose end (exclusive) is `day` ends.
pub(super) fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// A limit in millionths as people read it (`None`: in preparation).
pub(super) fn shown_limit(limit_micro: Option<i64>) -> String {
    limit_micro.map_or_else(
        || "in preparation".to_owned(),
        |l| from_micro(l).to_string(),
    )
}

/// The answer to a new reservation: done when held, refused (and why) when rejected.
pub(crate) fn reservation_outcome(quota_after: &QuotaRow, r: &ReservationRow) -> Outcome {
    if r.state == "rejected" {
        Outcome::Refused {
            refusal: refusal_for(quota_after, r.quantity_micro),
            reservation: Some(r.view(&quota_after.unit)),
            quota: quota_after.view(),
        }
    } else {
        Outcome::Done {
            reservation: r.view(&quota_after.unit),
            quota: quota_after.view(),
        }
    }
}

/// Why `quota` cannot hold `requested` more.
pub(crate) fn refusal_for(quota: &QuotaRow, requested: i64) -> Refusal {
    match quota.limit_micro {
        None => Refusal::QuotaInPreparation,
        Some(0) => Refusal::ZeroQuota,
        Some(_) => Refusal::QuotaExhausted {
            requested: from_micro(requested),
            available: from_micro(quota.available_micro().max(0)),
            unit: Some(quota.unit.clone()),
        },
    }
}

/// A limit in millionths of the quota's `unit`: a count quota's limit is whole specimens, as
/// everything reserved against it is (half a specimen of limit could never be used).
pub(super) fn whole_limit_micro(limit: &Quantity, unit: UnitCode) -> Result<i64> {
    let limit = limit.convert_to(unit).map_err(|e| match e {
        // The unit's fault, which the answer names.
        domain::Error::IncompatibleUnits { .. } => Error::Domain(e),
        // Inexact or too large once converted: the limit's.
        _ => Error::Invalid {
            field: "limit",
            message: e.to_string(),
        },
    })?;
    check_whole("limit", &limit)?;
    to_micro("limit", limit.amount())
}

/// Checks a requested hold expiry, defaulting it.
pub(crate) fn hold_until(
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>> {
    // To the microsecond, as both databases keep it: an answer built from what was written
    // then equals one rebuilt later from what was read back.
    let expires_at = expires_at.unwrap_or(now + HOLD_DEFAULT).trunc_subsecs(6);
    if expires_at <= now {
        return Err(Error::Invalid {
            field: "expires_at",
            message: format!(
                "{expires_at} is not in the future; accepted an instant after now and at most {} days away",
                HOLD_MAX.num_days()
            ),
        });
    }
    if expires_at > now + HOLD_MAX {
        return Err(Error::Invalid {
            field: "expires_at",
            message: format!(
                "{expires_at} is more than {} days away; accepted an instant after now and at most that",
                HOLD_MAX.num_days()
            ),
        });
    }
    Ok(expires_at)
}

/// The first and last quota years accepted, as for a calendar-year quota (`year`).
pub const QUOTA_YEARS: std::ops::RangeInclusive<i32> = 1975..=2200;

/// A quota covers a 12-month period (Res. Conf. 14.7): the calendar year by default, or any 12
/// months from a first day, starting within [`QUOTA_YEARS`].
pub(super) fn check_period(period: &Period) -> Result<()> {
    let twelve_months = period.start.checked_add_months(chrono::Months::new(12));
    if !QUOTA_YEARS.contains(&period.start.year()) || twelve_months != Some(period.end) {
        let last_day = crate::model::last_day(period.end);
        return Err(Error::Invalid {
            field: "period",
            message: format!(
                "{} to {last_day} is not a quota period: accepted 12 months from a first day in {} to {} (from {} the last day is {})",
                period.start,
                QUOTA_YEARS.start(),
                QUOTA_YEARS.end(),
                period.start,
                twelve_months
                    .and_then(|end| end.pred_opt())
                    .map_or_else(|| "out of range".to_owned(), |d| d.to_string())
            ),
        });
    }
    Ok(())
}

/// The latest validity of an export permit issued at `issued`: six calendar months later
/// (Art. VI(2)), to the microsecond as both databases keep it.
pub fn permit_valid_until(issued: DateTime<Utc>) -> DateTime<Utc> {
    issued
        .checked_add_months(chrono::Months::new(PERMIT_VALIDITY_MONTHS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .trunc_subsecs(6)
}

/// A permit's validity: as asked (to the microsecond, as both databases keep it, so an answer
/// built from what was written equals one rebuilt later from what was read back), or the
/// longest allowed; in the future and at most [`PERMIT_VALIDITY_MONTHS`] after `now`.
pub(crate) fn permit_until(
    now: DateTime<Utc>,
    permit_expires_at: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>> {
    let latest = permit_valid_until(now);
    let until = permit_expires_at.map_or(latest, |at| at.trunc_subsecs(6));
    // Which bound it broke, and the range either way.
    let broken = if until <= now {
        format!("{until} is not in the future")
    } else if until > latest {
        format!(
            "{until} is later than {latest}: an export permit is valid at most {PERMIT_VALIDITY_MONTHS} months from issue (Art. VI(2))"
        )
    } else {
        return Ok(until);
    };
    Err(Error::Invalid {
        field: "permit_expires_at",
        message: format!("{broken}; accepted after {now} and at most {latest}"),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::str::FromStr;

    use chrono::TimeZone;
    use rust_decimal::Decimal;

    use super::*;

    pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    pub(crate) fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    pub(crate) fn qty(amount: &str, unit: &str) -> Quantity {
        Quantity::new(
            Decimal::from_str(amount).unwrap(),
            UnitCode::parse(unit).unwrap(),
        )
        .unwrap()
    }

    /// A 2026 calendar-year quota of specimens with these counters (millionths).
    pub(crate) fn quota(limit: Option<i64>, held: i64, committed: i64, exported: i64) -> QuotaRow {
        QuotaRow {
            id: 7,
            exporter: "ZA".into(),
            taxon_id: 42,
            period_start: day(2026, 1, 1),
            period_end: day(2027, 1, 1),
            unit: "NAR".into(),
            limit_micro: limit,
            held_micro: held,
            committed_micro: committed,
            exported_micro: exported,
            term: None,
            source: None,
            purpose: None,
            origin: "national".into(),
            speciesplus_id: None,
            notes: None,
        }
    }

    #[test]
    fn a_period_holds_its_first_day_and_not_the_day_it_ends() {
        let (start, end) = (day(2026, 1, 1), day(2027, 1, 1));
        assert_eq!(period_refusal(start, end, at(2026, 1, 1, 0)), None);
        assert_eq!(period_refusal(start, end, at(2026, 12, 31, 23)), None);
        let refused = Some(Refusal::OutsidePeriod {
            period_start: start,
            period_last_day: day(2026, 12, 31),
        });
        assert_eq!(period_refusal(start, end, at(2027, 1, 1, 0)), refused);
        assert_eq!(period_refusal(start, end, at(2025, 12, 31, 23)), refused);
        assert_eq!(start_of_day(end), at(2027, 1, 1, 0));
    }

    #[test]
    fn a_limit_is_shown_in_units_or_as_in_preparation() {
        assert_eq!(shown_limit(None), "in preparation");
        assert_eq!(shown_limit(Some(2_500_000)), "2.5");
        assert_eq!(shown_limit(Some(0)), "0");
    }

    #[test]
    fn a_refusal_names_why_the_quota_cannot_hold_more() {
        assert_eq!(
            refusal_for(&quota(None, 0, 0, 0), 1),
            Refusal::QuotaInPreparation
        );
        assert_eq!(refusal_for(&quota(Some(0), 0, 0, 0), 1), Refusal::ZeroQuota);
        assert_eq!(
            refusal_for(
                &quota(Some(5_000_000), 2_000_000, 1_000_000, 1_000_000),
                3_000_000
            ),
            Refusal::QuotaExhausted {
                requested: Decimal::from(3),
                available: Decimal::from(1),
                unit: Some("NAR".into()),
            }
        );
        // Over-used (a limit revised below use is refused, but the figure never shows < 0).
        let over = refusal_for(&quota(Some(1_000_000), 2_000_000, 0, 0), 1_000_000);
        assert!(matches!(over, Refusal::QuotaExhausted { available, .. } if available.is_zero()));
    }

    #[test]
    fn a_new_reservation_answers_done_when_held_and_refused_when_rejected() {
        let q = quota(Some(5_000_000), 2_000_000, 0, 0);
        let mut r = crate::ledger::held_row(3, 7, 2_000_000, at(2026, 3, 1, 0));
        let Outcome::Done { reservation, quota } = reservation_outcome(&q, &r) else {
            panic!("a held reservation is done");
        };
        assert_eq!(
            (reservation.id, reservation.quantity),
            (3, Decimal::from(2))
        );
        assert_eq!(
            (quota.held, quota.available),
            (Decimal::from(2), Decimal::from(3))
        );
        r.state = "rejected".into();
        r.quantity_micro = 4_000_000;
        let Outcome::Refused { refusal, .. } = reservation_outcome(&q, &r) else {
            panic!("a rejected reservation is refused");
        };
        assert_eq!(
            refusal,
            Refusal::QuotaExhausted {
                requested: Decimal::from(4),
                available: Decimal::from(3),
                unit: Some("NAR".into()),
            }
        );
    }

    #[test]
    fn a_limit_converts_to_the_quota_unit_and_must_be_whole_for_counts() {
        let kgm = UnitCode::parse("KGM").unwrap();
        assert_eq!(
            whole_limit_micro(&qty("1500", "GRM"), kgm).unwrap(),
            1_500_000
        );
        let nar = UnitCode::parse("NAR").unwrap();
        assert_eq!(whole_limit_micro(&qty("5", "NAR"), nar).unwrap(), 5_000_000);
        let half = whole_limit_micro(&qty("2.5", "NAR"), nar).unwrap_err();
        assert_eq!(half.field(), Some("limit"));
        // A count against a mass is the unit's fault.
        assert!(matches!(
            whole_limit_micro(&qty("5", "NAR"), kgm),
            Err(Error::Domain(_))
        ));
    }

    #[test]
    fn a_hold_defaults_to_fourteen_days_and_is_bounded() {
        let now = at(2026, 3, 1, 12) + chrono::Duration::nanoseconds(1_234_567_891);
        let held = hold_until(now, None).unwrap();
        assert_eq!(held, (now + HOLD_DEFAULT).trunc_subsecs(6));
        assert_eq!(held.timestamp_subsec_nanos() % 1_000, 0);
        assert!(hold_until(now, Some(now)).is_err());
        assert!(hold_until(now, Some(now - chrono::Duration::seconds(1))).is_err());
        let longest = now + HOLD_MAX;
        assert!(hold_until(now, Some(longest.trunc_subsecs(6))).is_ok());
        let too_far = hold_until(now, Some(longest + chrono::Duration::seconds(1)));
        assert_eq!(too_far.unwrap_err().field(), Some("expires_at"));
    }

    #[test]
    fn a_period_is_twelve_months_from_a_first_day_in_the_accepted_years() {
        let period = |s: NaiveDate, e: NaiveDate| Period { start: s, end: e };
        assert!(check_period(&period(day(2026, 1, 1), day(2027, 1, 1))).is_ok());
        assert!(check_period(&period(day(2026, 4, 1), day(2027, 4, 1))).is_ok());
        assert!(check_period(&period(day(2026, 1, 1), day(2026, 12, 31))).is_err());
        assert!(check_period(&period(day(1974, 1, 1), day(1975, 1, 1))).is_err());
        assert!(check_period(&period(day(1975, 1, 1), day(1976, 1, 1))).is_ok());
        assert!(check_period(&period(day(2200, 1, 1), day(2201, 1, 1))).is_ok());
        let late = check_period(&period(day(2201, 1, 1), day(2202, 1, 1))).unwrap_err();
        assert!(late.to_string().contains("1975 to 2200"), "{late}");
    }

    #[test]
    fn a_permit_is_valid_six_calendar_months_at_most() {
        let issued = at(2026, 8, 31, 9);
        assert_eq!(permit_valid_until(issued), at(2027, 2, 28, 9));
        assert_eq!(permit_until(issued, None).unwrap(), at(2027, 2, 28, 9));
        let asked = at(2026, 12, 1, 0);
        assert_eq!(permit_until(issued, Some(asked)).unwrap(), asked);
        assert!(permit_until(issued, Some(issued)).is_err());
        let late = permit_until(issued, Some(at(2027, 3, 1, 0))).unwrap_err();
        assert_eq!(late.field(), Some("permit_expires_at"));
        assert!(late.to_string().contains("Art. VI(2)"), "{late}");
    }
}
