//! What the Convention and the two databases allow the ledger to accept: the quota's period, a
//! permit's validity, whole specimens, quantities in another unit, text the audit can record.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use db::Backend;
use domain::{CountryCode, Period, TaxonId, UnitCode};
use quota::{
    Error, GroupCommit, Outcome, QuotaSpec, QuotaView, Refusal, ReservationState, ReservationView,
};
use rust_decimal::Decimal;

use crate::support::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn spec(period: Period) -> QuotaSpec {
    QuotaSpec {
        exporter: CountryCode::parse("NA").unwrap(),
        taxon_id: TaxonId::new(4521),
        period,
        limit: Some(qty("10", "")),
        unit: UnitCode::parse("").unwrap(),
        term: None,
        source: None,
        purpose: None,
        notes: None,
        speciesplus_id: None,
    }
}

/// What a refusal for a day outside the 2026 calendar-year quota left: the reservation and
/// the quota.
fn outside_2026(answer: &Outcome) -> (Option<&ReservationView>, &QuotaView) {
    let Outcome::Refused {
        refusal,
        reservation,
        quota,
    } = answer
    else {
        panic!("{answer:?}");
    };
    assert_eq!(
        *refusal,
        Refusal::OutsidePeriod {
            period_start: day(2026, 1, 1),
            period_last_day: day(2026, 12, 31)
        }
    );
    (reservation.as_ref(), quota)
}

fn field_of(e: &Error) -> Option<&'static str> {
    e.field()
}

on_both_backends!(
    multi_thread a_reservation_outside_the_quota_period_is_refused_on_every_path_and_stays_refused
);
async fn a_reservation_outside_the_quota_period_is_refused_on_every_path_and_stays_refused(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "year-2026", Some("10"), "").await;
    let group = GroupCommit::start(f.ledger.clone());
    // The first minute of 2027 (UTC): the 2026 quota is over.
    f.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().unwrap());
    let direct = f
        .ledger
        .reserve(&key("late"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    let grouped = group
        .reserve(&key("late-g"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    for answer in [&direct, &grouped] {
        let (reservation, quota) = outside_2026(answer);
        let reservation = reservation.expect("the refused reservation is written");
        assert_eq!(
            reservation.state,
            ReservationState::Rejected,
            "nothing is held"
        );
        assert_eq!(reservation.quantity, dec("1"));
        assert_eq!(quota.available, dec("10"));
    }
    // Audited as any refused reservation: what was asked and why, no counter moved.
    let refusals: Vec<_> = f
        .ledger
        .history(q.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "reject")
        .map(|e| (e.requested, e.refusal_message, e.delta_held))
        .collect();
    let why = Refusal::OutsidePeriod {
        period_start: day(2026, 1, 1),
        period_last_day: day(2026, 12, 31),
    }
    .message();
    assert_eq!(
        refusals,
        vec![(Some(dec("1")), Some(why), dec("0")); 2],
        "one entry for each refused reservation"
    );
    // Retried through the other path: the first answer, nothing more.
    let again = group
        .reserve(&key("late"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(again, direct);
    let conflict = f
        .ledger
        .reserve(&key("late"), q.id, &qty("2", ""), None, &actor("po"))
        .await;
    assert!(
        matches!(conflict, Err(Error::KeyConflict { .. })),
        "{conflict:?}"
    );
    // A quota whose period has not begun refuses as well.
    f.clock.set(t0());
    let next_year = f
        .ledger
        .declare(
            &key("declare-2027"),
            &spec(Period::calendar_year(2027)),
            &actor("sa"),
        )
        .await
        .unwrap();
    let early = f
        .ledger
        .reserve(
            &key("early"),
            next_year.id,
            &qty("1", ""),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            early,
            Outcome::Refused {
                refusal: Refusal::OutsidePeriod { .. },
                ..
            }
        ),
        "{early:?}"
    );
    // The last day of the period is in it.
    f.clock.set(
        Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0)
            .single()
            .unwrap(),
    );
    let last_day = f
        .ledger
        .reserve(&key("last-day"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(last_day, Outcome::Done { .. }), "{last_day:?}");
    group.shutdown().await;
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    assert_eq!(
        f.ledger.history(q.id).await.unwrap().len(),
        4,
        "declare, the two refusals and one reserve"
    );
    f.t.drop_db().await.unwrap();
}

/// A clock on which time passes as it is read: a millisecond at every reading, as on a busy
/// machine where a request waits for a retry or in the group-commit queue.
struct Ticking(std::sync::Mutex<chrono::DateTime<Utc>>);

impl domain::Clock for Ticking {
    fn now(&self) -> chrono::DateTime<Utc> {
        let mut t = self.0.lock().unwrap();
        let now = *t;
        *t += chrono::Duration::milliseconds(1);
        now
    }
}

on_both_backends!(
    multi_thread a_reservation_that_arrives_before_its_period_ends_but_is_written_after_is_refused_on_every_path
);
async fn a_reservation_that_arrives_before_its_period_ends_but_is_written_after_is_refused_on_every_path(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "year-2026", Some("10"), "").await;
    // The period is read when the request arrives (two readings of the clock), before
    // midnight; the write comes a millisecond or more after it.
    let just_before = Utc
        .with_ymd_and_hms(2026, 12, 31, 23, 59, 59)
        .single()
        .unwrap()
        + chrono::Duration::milliseconds(998);
    let ticking = Arc::new(Ticking(std::sync::Mutex::new(just_before)));
    let ledger = quota::Ledger::new(f.t.db.clone(), ticking.clone());
    let direct = ledger
        .reserve(&key("direct"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    *ticking.0.lock().unwrap() = just_before;
    let group = GroupCommit::start(ledger.clone());
    let grouped = group
        .reserve(&key("grouped"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    // Refused at the write, a request the ledger cannot take under a key used for another is
    // a conflict, as on every path.
    *ticking.0.lock().unwrap() = just_before;
    let reused = group
        .reserve(&key("direct"), q.id, &qty("1", "KGM"), None, &actor("po"))
        .await;
    assert!(
        matches!(reused, Err(quota::Error::KeyConflict { .. })),
        "{reused:?}"
    );
    group.shutdown().await;
    for answer in [&direct, &grouped] {
        let (reservation, quota) = outside_2026(answer);
        assert_eq!(
            reservation.map(|r| r.state),
            Some(ReservationState::Rejected),
            "nothing is held"
        );
        assert_eq!(quota.available, dec("10"));
    }
    // Nothing dated after the period was held, and the refusals are audited.
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    let events = events(&f, q.id).await;
    assert_eq!(events, ["declare", "reject", "reject"]);
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_permit_issued_after_its_quota_period_is_refused_and_its_hold_can_be_released
);
async fn a_permit_issued_after_its_quota_period_is_refused_and_its_hold_can_be_released(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "issued-late", Some("10"), "").await;
    f.clock.set(
        Utc.with_ymd_and_hms(2026, 12, 30, 12, 0, 0)
            .single()
            .unwrap(),
    );
    let mut ids = Vec::new();
    for (k, n) in [("r-all", "2"), ("r-part", "3"), ("r-in-time", "1")] {
        let r = f
            .ledger
            .reserve(&key(k), q.id, &qty(n, ""), None, &actor("po"))
            .await
            .unwrap();
        ids.push(r.reservation().unwrap().id);
    }
    // Issued on the period's last day: it counts against this quota, and a retry on the next
    // day still gets that answer.
    f.clock.set(
        Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0)
            .single()
            .unwrap(),
    );
    let in_time = f
        .ledger
        .commit(&key("c-in-time"), ids[2], None, None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(in_time, Outcome::Done { .. }), "{in_time:?}");
    // The first minute of 2027: a permit issued now counts against the 2027 quota, so the 2026
    // holds cannot become permits, whether all of the hold is asked for or part of it.
    f.clock
        .set(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().unwrap());
    let all = f
        .ledger
        .commit(&key("c-all"), ids[0], None, None, &actor("po"))
        .await
        .unwrap();
    let part = f
        .ledger
        .commit(
            &key("c-part"),
            ids[1],
            Some(&qty("1", "")),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    for answer in [&all, &part] {
        let (reservation, quota) = outside_2026(answer);
        assert_eq!(
            reservation.map(|r| r.state),
            Some(ReservationState::Held),
            "the hold stays until it is released or expires"
        );
        assert_eq!((quota.held, quota.committed), (dec("5"), dec("1")));
    }
    // Each key keeps its answer: the refusal stays a refusal, the commit made in time replays.
    let again = f
        .ledger
        .commit(&key("c-all"), ids[0], None, None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(again, all);
    let replayed = f
        .ledger
        .commit(&key("c-in-time"), ids[2], None, None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(replayed, in_time);
    // The hold is given back at once rather than at its expiry.
    let released = f
        .ledger
        .release(&key("rel"), ids[0], &actor("po"))
        .await
        .unwrap();
    assert!(matches!(released, Outcome::Done { .. }), "{released:?}");
    let after = f.ledger.quota(q.id).await.unwrap();
    assert_eq!((after.held, after.committed), (dec("3"), dec("1")));
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread a_hold_ends_with_its_quota_period_on_every_path_and_is_then_swept);
async fn a_hold_ends_with_its_quota_period_on_every_path_and_is_then_swept(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "year-end", Some("10"), "").await;
    let group = GroupCommit::start(f.ledger.clone());
    f.clock.set(
        Utc.with_ymd_and_hms(2026, 12, 30, 12, 0, 0)
            .single()
            .unwrap(),
    );
    let period_end = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().unwrap();
    let asked_early = Utc
        .with_ymd_and_hms(2026, 12, 31, 12, 0, 0)
        .single()
        .unwrap();
    let asked_late = Utc.with_ymd_and_hms(2027, 1, 5, 0, 0, 0).single().unwrap();
    let mut held = Vec::new();
    for (k, asked, grouped, until) in [
        ("default", None, false, period_end),
        ("default-g", None, true, period_end),
        ("late", Some(asked_late), false, period_end),
        ("late-g", Some(asked_late), true, period_end),
        ("early", Some(asked_early), false, asked_early),
        ("early-g", Some(asked_early), true, asked_early),
    ] {
        let answer = if grouped {
            group
                .reserve(&key(k), q.id, &qty("1", ""), asked, &actor("po"))
                .await
        } else {
            f.ledger
                .reserve(&key(k), q.id, &qty("1", ""), asked, &actor("po"))
                .await
        }
        .unwrap();
        let r = answer.reservation().unwrap_or_else(|| panic!("{answer:?}"));
        assert_eq!((k, r.expires_at), (k, until), "{answer:?}");
        held.push((k, asked, answer.clone()));
    }
    // A retry replays the answer, with the expiry it gave.
    for (k, asked, first) in &held {
        let again = f
            .ledger
            .reserve(&key(k), q.id, &qty("1", ""), *asked, &actor("po"))
            .await
            .unwrap();
        assert_eq!(&again, first);
    }
    // The period over, the sweep gives every hold back to last year's quota.
    f.clock.set(period_end);
    let swept = f.ledger.sweep(&actor("sweeper")).await.unwrap();
    assert_eq!(swept.expired, 6);
    let after = f.ledger.quota(q.id).await.unwrap();
    assert_eq!((after.held, after.available), (dec("0"), dec("10")));
    group.shutdown().await;
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_quota_period_is_twelve_months_from_a_first_day_within_the_accepted_years
);
async fn a_quota_period_is_twelve_months_from_a_first_day_within_the_accepted_years(
    backend: Backend,
) {
    let f = fixture(backend).await;
    for (i, (start, last_day)) in [
        (day(2026, 4, 1), day(2027, 3, 30)),
        (day(2026, 4, 1), day(2027, 4, 1)),
        (day(2026, 7, 1), day(2031, 6, 30)),
        (day(1800, 1, 1), day(1800, 12, 31)),
    ]
    .into_iter()
    .enumerate()
    {
        let period = Period::from_inclusive(start, last_day).unwrap();
        let refused = f
            .ledger
            .declare(&key(&format!("odd-{i}")), &spec(period), &actor("sa"))
            .await;
        let e = refused.expect_err("not a quota period");
        assert_eq!(field_of(&e), Some("period"), "{e}");
        assert!(e.to_string().contains("12 months"), "{e}");
    }
    let fiscal = Period::from_inclusive(day(2026, 4, 1), day(2027, 3, 31)).unwrap();
    f.ledger
        .declare(&key("fiscal"), &spec(fiscal), &actor("sa"))
        .await
        .unwrap();
    let leap = Period::twelve_months_from(day(2028, 2, 29)).unwrap();
    f.ledger
        .declare(&key("leap"), &spec(leap), &actor("sa"))
        .await
        .unwrap();
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread a_permit_is_valid_six_months_at_most_and_by_default);
async fn a_permit_is_valid_six_months_at_most_and_by_default(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "permits", Some("10"), "").await;
    let mut ids = Vec::new();
    for k in ["r1", "r2"] {
        let r = f
            .ledger
            .reserve(&key(k), q.id, &qty("1", ""), None, &actor("po"))
            .await
            .unwrap();
        ids.push(r.reservation().unwrap().id);
    }
    // t0 is 1 March: six calendar months is 1 September, not 183 days (31 August).
    let six_months = Utc.with_ymd_and_hms(2026, 9, 1, 9, 0, 0).single().unwrap();
    let too_long = f
        .ledger
        .commit(
            &key("c-long"),
            ids[0],
            None,
            Some(six_months + chrono::Duration::seconds(1)),
            &actor("po"),
        )
        .await
        .expect_err("beyond Art. VI(2)");
    assert_eq!(too_long.field(), Some("permit_expires_at"), "{too_long}");
    assert!(too_long.to_string().contains("6 months"), "{too_long}");
    // Each bound is named as the one broken.
    let yesterday = domain::Clock::now(&*f.clock) - chrono::Duration::days(1);
    let past = f
        .ledger
        .commit(&key("c-past"), ids[0], None, Some(yesterday), &actor("po"))
        .await
        .expect_err("a validity that has ended");
    assert!(
        past.to_string()
            .contains("is not in the future; accepted after"),
        "{past}"
    );
    assert!(
        !too_long.to_string().contains("not in the future"),
        "{too_long}"
    );
    let at_most = f
        .ledger
        .commit(&key("c-max"), ids[0], None, Some(six_months), &actor("po"))
        .await
        .unwrap();
    let by_default = f
        .ledger
        .commit(&key("c-default"), ids[1], None, None, &actor("po"))
        .await
        .unwrap();
    for answer in [at_most, by_default] {
        assert_eq!(
            answer.reservation().unwrap().permit_expires_at,
            Some(six_months)
        );
    }
    assert_eq!(quota::permit_valid_until(t0()), six_months);
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread an_export_on_an_expired_permit_is_refused_even_before_the_sweep_closes_it
);
async fn an_export_on_an_expired_permit_is_refused_even_before_the_sweep_closes_it(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "void", Some("10"), "").await;
    let r = f
        .ledger
        .reserve(&key("r"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    let id = r.reservation().unwrap().id;
    let valid_until = t0() + chrono::Duration::hours(1);
    f.ledger
        .commit(&key("c"), id, None, Some(valid_until), &actor("po"))
        .await
        .unwrap();
    f.clock.set(valid_until);
    let refused = f
        .ledger
        .record_export(&key("e"), id, &qty("1", ""), &actor("customs"))
        .await
        .unwrap();
    assert!(
        matches!(
            &refused,
            Outcome::Refused { refusal: Refusal::PermitExpired { expired_at }, .. }
                if *expired_at == valid_until
        ),
        "{refused:?}"
    );
    assert_eq!(f.ledger.quota(q.id).await.unwrap().exported, Decimal::ZERO);
    // The sweep then closes it and returns all 3; the refusal replays unchanged.
    assert_eq!(f.ledger.sweep(&actor("sweeper")).await.unwrap().closed, 1);
    assert_eq!(f.ledger.quota(q.id).await.unwrap().available, dec("10"));
    let again = f
        .ledger
        .record_export(&key("e"), id, &qty("1", ""), &actor("customs"))
        .await
        .unwrap();
    assert_eq!(again, refused);
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_quantity_exact_only_once_converted_is_reserved_alike_on_every_path
);
async fn a_quantity_exact_only_once_converted_is_reserved_alike_on_every_path(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "grams", Some("10"), "GRM").await;
    let group = GroupCommit::start(f.ledger.clone());
    // 0.0012345 kg has 7 decimals in kilograms, but is exactly 1.2345 g.
    let direct = f
        .ledger
        .reserve(
            &key("direct"),
            q.id,
            &qty("0.0012345", "KGM"),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    let grouped = group
        .reserve(
            &key("grouped"),
            q.id,
            &qty("0.0012345", "KGM"),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    for answer in [&direct, &grouped] {
        assert_eq!(
            answer.reservation().map(|r| r.quantity),
            Some(dec("1.2345")),
            "{answer:?}"
        );
    }
    // Each replayed through the other path answers as the first time.
    let direct_again = group
        .reserve(
            &key("direct"),
            q.id,
            &qty("0.0012345", "KGM"),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    let grouped_again = f
        .ledger
        .reserve(
            &key("grouped"),
            q.id,
            &qty("0.0012345", "KGM"),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    assert_eq!((direct_again, grouped_again), (direct, grouped));
    group.shutdown().await;
    assert_eq!(f.ledger.quota(q.id).await.unwrap().held, dec("2.469"));
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread a_fraction_of_a_specimen_is_refused_naming_the_quantity);
async fn a_fraction_of_a_specimen_is_refused_naming_the_quantity(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "live", Some("10"), "").await;
    let group = GroupCommit::start(f.ledger.clone());
    let direct = f
        .ledger
        .reserve(&key("half"), q.id, &qty("2.5", ""), None, &actor("po"))
        .await;
    let grouped = group
        .reserve(&key("half-g"), q.id, &qty("0.5", "NAR"), None, &actor("po"))
        .await;
    let r = f
        .ledger
        .reserve(&key("two"), q.id, &qty("2", "NAR"), None, &actor("po"))
        .await
        .unwrap();
    let id = r.reservation().unwrap().id;
    let commit = f
        .ledger
        .commit(&key("c"), id, Some(&qty("1.5", "")), None, &actor("po"))
        .await;
    for refused in [direct, grouped, commit] {
        let e = refused.expect_err("a fraction of a specimen");
        assert_eq!(e.field(), Some("quantity"), "{e}");
        assert!(e.to_string().contains("whole number"), "{e}");
    }
    f.ledger
        .commit(&key("c1"), id, None, None, &actor("po"))
        .await
        .unwrap();
    let export = f
        .ledger
        .record_export(&key("e"), id, &qty("0.5", ""), &actor("customs"))
        .await
        .expect_err("a fraction of a specimen");
    assert_eq!(export.field(), Some("quantity"), "{export}");
    group.shutdown().await;
    assert_eq!(f.ledger.quota(q.id).await.unwrap().committed, dec("2"));
    // Nor can a count quota's limit hold half a specimen, declared or revised: nothing could
    // ever be reserved against the half.
    let mut half_limit = spec(Period::calendar_year(2027));
    half_limit.limit = Some(qty("2.5", ""));
    let declared = f
        .ledger
        .declare(&key("d-half"), &half_limit, &actor("sa"))
        .await;
    let revised = f
        .ledger
        .revise(
            &key("r-half"),
            q.id,
            Some(&qty("10.5", "NAR")),
            &actor("sa"),
        )
        .await;
    for refused in [declared.map(|_| ()), revised.map(|_| ())] {
        let e = refused.expect_err("a fraction of a specimen");
        assert_eq!(e.field(), Some("limit"), "{e}");
        assert!(e.to_string().contains("whole number"), "{e}");
    }
    assert_eq!(f.ledger.quota(q.id).await.unwrap().limit, Some(dec("10")));
    assert_eq!(f.ledger.quotas(None, None, None).await.unwrap().len(), 1);
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread text_the_audit_cannot_record_is_refused_and_fails_no_one_else_in_a_batch
);
async fn text_the_audit_cannot_record_is_refused_and_fails_no_one_else_in_a_batch(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "text", Some("100"), "").await;
    let group = GroupCommit::start(f.ledger.clone());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let group = group.clone();
        let reason = if i == 3 { "a\0b" } else { "approved" };
        let actor = quota::Actor {
            name: "po".into(),
            reason: Some(reason.into()),
        };
        tasks.push(tokio::spawn(async move {
            group
                .reserve(&key(&format!("t{i}")), q.id, &qty("1", ""), None, &actor)
                .await
        }));
    }
    let mut done = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(Outcome::Done { .. }) => done += 1,
            Err(e) if i == 3 => assert_eq!(e.field(), Some("reason"), "{e}"),
            other => panic!("request {i}: {other:?}"),
        }
    }
    assert_eq!(done, 7, "the others are reserved");
    let nameless = quota::Actor {
        name: " ".into(),
        reason: None,
    };
    let e = f
        .ledger
        .reserve(&key("nameless"), q.id, &qty("1", ""), None, &nameless)
        .await
        .expect_err("no one to record");
    assert_eq!(e.field(), Some("actor"), "{e}");
    let two_lines = quota::Actor {
        name: "po".into(),
        reason: Some("line one\nline two".into()),
    };
    let e = f
        .ledger
        .reserve(&key("two-lines"), q.id, &qty("1", ""), None, &two_lines)
        .await
        .expect_err("a reason on two lines");
    assert_eq!(e.field(), Some("reason"), "{e}");
    let mut with_nul = spec(Period::calendar_year(2026));
    with_nul.notes = Some("skins\0only".into());
    let e = f
        .ledger
        .declare(&key("nul-notes"), &with_nul, &actor("sa"))
        .await
        .expect_err("PostgreSQL cannot store NUL");
    assert_eq!(e.field(), Some("notes"), "{e}");
    group.shutdown().await;
    assert_eq!(f.ledger.quota(q.id).await.unwrap().held, dec("7"));
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread every_refusal_for_lack_of_quota_shows_less_available_than_requested);
async fn every_refusal_for_lack_of_quota_shows_less_available_than_requested(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "churn", Some("5"), "").await;
    let ledger = Arc::new(f.ledger.clone());
    let mut tasks = Vec::new();
    for t in 0..8 {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            let mut refusals = Vec::new();
            for i in 0..40 {
                let n = 1 + (t + i) % 3;
                let out = ledger
                    .reserve(
                        &key(&format!("c-{t}-{i}")),
                        q.id,
                        &qty(&n.to_string(), ""),
                        None,
                        &actor("po"),
                    )
                    .await
                    .unwrap();
                match out {
                    Outcome::Done { reservation, .. } => {
                        ledger
                            .release(&key(&format!("x-{t}-{i}")), reservation.id, &actor("po"))
                            .await
                            .unwrap();
                    }
                    Outcome::Refused { refusal, .. } => refusals.push(refusal),
                }
            }
            refusals
        }));
    }
    for t in tasks {
        for refusal in t.await.unwrap() {
            let Refusal::QuotaExhausted {
                requested,
                available,
                ..
            } = refusal
            else {
                panic!("{refusal:?}");
            };
            assert!(
                available < requested,
                "a refusal must show why: {requested} requested, {available} available"
            );
        }
    }
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_national_quota_is_declared_once_per_scope_and_period_even_by_racing_requests
);
async fn a_national_quota_is_declared_once_per_scope_and_period_even_by_racing_requests(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let first = f
        .ledger
        .declare(
            &key("y2026"),
            &spec(Period::calendar_year(2026)),
            &actor("sa"),
        )
        .await
        .unwrap();
    let fiscal = Period::from_inclusive(day(2026, 4, 1), day(2027, 3, 31)).unwrap();
    for (k, s) in [
        ("again", spec(Period::calendar_year(2026))),
        ("fiscal", spec(fiscal)),
    ] {
        let e = f
            .ledger
            .declare(&key(k), &s, &actor("sa"))
            .await
            .expect_err("an overlapping quota of the same scope");
        assert!(
            matches!(e, Error::QuotaExists { existing, .. } if existing == first.id),
            "{e}"
        );
        // The answer gives the existing quota's period, and the one asked when it differs.
        let message = e.to_string();
        assert!(
            message.contains("from 2026-01-01 to 2026-12-31")
                && (k == "again")
                    != message.contains("(overlapping the period asked, 2026-04-01 to 2027-03-31)"),
            "{message}"
        );
    }
    // Another term, another unit or another year is another quota.
    let mut skins = spec(Period::calendar_year(2026));
    skins.term = Some(domain::TermCode::parse("SKI").unwrap());
    let mut kilograms = spec(Period::calendar_year(2026));
    kilograms.unit = UnitCode::parse("KGM").unwrap();
    kilograms.limit = Some(qty("10", "KGM"));
    for (k, s) in [
        ("skins", skins),
        ("kilograms", kilograms),
        ("y2027", spec(Period::calendar_year(2027))),
    ] {
        f.ledger.declare(&key(k), &s, &actor("sa")).await.unwrap();
    }
    // Eight declarations of one new scope at once: one is declared, the others told so.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let ledger = f.ledger.clone();
        tasks.push(tokio::spawn(async move {
            ledger
                .declare(
                    &key(&format!("race-{i}")),
                    &spec(Period::calendar_year(2028)),
                    &actor("sa"),
                )
                .await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::QuotaExists { .. }))),
        "{results:?}"
    );
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_quota_on_a_concept_merged_into_the_taxon_is_a_quota_of_the_same_scope
);
async fn a_quota_on_a_concept_merged_into_the_taxon_is_a_quota_of_the_same_scope(backend: Backend) {
    let f = fixture(backend).await;
    // 4521 was declared on before Species+ merged it into 3210 (the caller, which reads the
    // catalogue, passes the merged concepts).
    let merged = [TaxonId::new(4521)];
    let on_taxon = |period: Period| QuotaSpec {
        taxon_id: TaxonId::new(3210),
        ..spec(period)
    };
    let old = f
        .ledger
        .declare(
            &key("old"),
            &spec(Period::calendar_year(2026)),
            &actor("sa"),
        )
        .await
        .unwrap();
    // A 2026 quota on the taxon, declared knowing the concept merged into it.
    let with_merged = |k: &'static str| {
        let ledger = f.ledger.clone();
        async move {
            ledger
                .declare_with_merged(
                    &key(k),
                    &on_taxon(Period::calendar_year(2026)),
                    &merged,
                    &actor("sa"),
                )
                .await
        }
    };
    let e = with_merged("new")
        .await
        .expect_err("a second allowance for the same specimens");
    assert!(
        matches!(&e, Error::QuotaExists { existing, .. } if *existing == old.id)
            && e.to_string()
                .contains("NA 3210 (declared on taxon 4521, which Species+ has merged into it)"),
        "{e}"
    );
    // Another scope through the merged concept is another quota; without the merged concepts
    // the taxon's own quota is declared, and is the one named from then on.
    let mut skins = on_taxon(Period::calendar_year(2026));
    skins.term = Some(domain::TermCode::parse("SKI").unwrap());
    f.ledger
        .declare_with_merged(&key("skins"), &skins, &merged, &actor("sa"))
        .await
        .unwrap();
    let own = f
        .ledger
        .declare(
            &key("own"),
            &on_taxon(Period::calendar_year(2026)),
            &actor("sa"),
        )
        .await
        .unwrap();
    let e = with_merged("third")
        .await
        .expect_err("the taxon's own quota");
    assert!(
        matches!(&e, Error::QuotaExists { existing, .. } if *existing == own.id)
            && !e.to_string().contains("merged"),
        "{e}"
    );
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_revised_limit_applies_at_once_on_every_path_and_never_below_what_is_used
);
async fn a_revised_limit_applies_at_once_on_every_path_and_never_below_what_is_used(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "published-later", None, "").await;
    let group = GroupCommit::start(f.ledger.clone());
    let reserve = |k: &'static str, n: &'static str| {
        let group = group.clone();
        async move {
            group
                .reserve(&key(k), q.id, &qty(n, ""), None, &actor("po"))
                .await
                .unwrap()
        }
    };
    let refused = reserve("before", "1").await;
    assert!(
        matches!(
            refused,
            Outcome::Refused {
                refusal: Refusal::QuotaInPreparation,
                ..
            }
        ),
        "{refused:?}"
    );
    // Published: 5.
    let five = f
        .ledger
        .revise(&key("rev-5"), q.id, Some(&qty("5", "")), &actor("sa"))
        .await
        .unwrap();
    assert_eq!(five.limit, Some(dec("5")));
    assert!(matches!(reserve("r1", "3").await, Outcome::Done { .. }));
    // Lowered to what is held and one more: the group writer, which knew the quota at 5,
    // must not grant 2 more on what it knew.
    f.ledger
        .revise(&key("rev-4"), q.id, Some(&qty("4", "")), &actor("sa"))
        .await
        .unwrap();
    let over = reserve("r2", "2").await;
    assert!(
        matches!(
            &over,
            Outcome::Refused { refusal: Refusal::QuotaExhausted { available, .. }, .. }
                if *available == dec("1")
        ),
        "{over:?}"
    );
    assert!(matches!(reserve("r3", "1").await, Outcome::Done { .. }));
    // Raised: granted at once.
    f.ledger
        .revise(&key("rev-10"), q.id, Some(&qty("10", "")), &actor("sa"))
        .await
        .unwrap();
    assert!(matches!(reserve("r4", "6").await, Outcome::Done { .. }));
    // Below what is used (10 held): refused, nothing written; a retry answers the first time.
    let e = f
        .ledger
        .revise(&key("rev-9"), q.id, Some(&qty("9", "")), &actor("sa"))
        .await
        .expect_err("below what is held");
    assert_eq!(e.field(), Some("limit"), "{e}");
    let again = f
        .ledger
        .revise(&key("rev-10"), q.id, Some(&qty("10", "")), &actor("sa"))
        .await
        .unwrap();
    assert_eq!(again.limit, Some(dec("10")));
    let limits: Vec<(String, Option<Decimal>)> = f
        .ledger
        .history(q.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "declare" || e.event == "revise")
        .map(|e| (e.event, e.limit))
        .collect();
    assert_eq!(
        limits,
        vec![
            ("declare".to_owned(), None),
            ("revise".to_owned(), Some(dec("5"))),
            ("revise".to_owned(), Some(dec("4"))),
            ("revise".to_owned(), Some(dec("10")))
        ],
        "each revision audited once, as a revision, with its limit"
    );
    group.shutdown().await;
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}
