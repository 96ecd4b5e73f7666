//! One reservation through its life, idempotency, units, expiry, audit.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use db::Backend;
use domain::ManualClock;
use quota::{Error, GroupCommit, Ledger, Outcome, Refusal, ReservationState};

use crate::support::*;

on_both_backends!(
    multi_thread a_reservation_is_committed_for_less_exported_and_closed_and_the_ledger_replays
);
async fn a_reservation_is_committed_for_less_exported_and_closed_and_the_ledger_replays(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "tusks", Some("100"), "").await;
    assert_eq!(q.available, dec("100"));
    let r = f
        .ledger
        .reserve(&key("r1"), q.id, &qty("30", ""), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Done { reservation, quota } = r else {
        panic!("refused: {r:?}")
    };
    assert_eq!(quota.held, dec("30"));
    assert_eq!(quota.available, dec("70"));
    let c = f
        .ledger
        .commit(
            &key("c1"),
            reservation.id,
            Some(&qty("20", "")),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    let Outcome::Done { quota, reservation } = c else {
        panic!("refused: {c:?}")
    };
    assert_eq!(
        (quota.held, quota.committed, quota.available),
        (dec("0"), dec("20"), dec("80"))
    );
    assert_eq!(quota.box_11a_used, dec("20"));
    assert_eq!(reservation.state, ReservationState::Committed);
    let e = f
        .ledger
        .record_export(
            &key("e1"),
            reservation.id,
            &qty("15", ""),
            &actor("customs"),
        )
        .await
        .unwrap();
    assert_eq!(
        (e.quota().committed, e.quota().exported),
        (dec("5"), dec("15"))
    );
    let too_much = f
        .ledger
        .record_export(&key("e2"), reservation.id, &qty("6", ""), &actor("customs"))
        .await
        .unwrap();
    assert!(
        matches!(
            too_much,
            Outcome::Refused {
                refusal: Refusal::ExceedsReservation { .. },
                ..
            }
        ),
        "{too_much:?}"
    );
    let closed = f
        .ledger
        .close(&key("x1"), reservation.id, &actor("po"))
        .await
        .unwrap();
    assert_eq!(
        (
            closed.quota().committed,
            closed.quota().exported,
            closed.quota().available
        ),
        (dec("0"), dec("15"), dec("85"))
    );
    assert_eq!(closed.quota().box_11a_used, dec("15"));

    let history = f.ledger.history(q.id).await.unwrap();
    let events: Vec<&str> = history.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "declare",
            "reserve",
            "commit",
            "export",
            "export_refused",
            "close"
        ]
    );
    assert!(history.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(history[3].actor, "customs");
    assert_eq!(
        (history[4].requested, history[4].committed_after),
        (Some(dec("6")), dec("5")),
        "the refused export is audited with what it asked, moving nothing"
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread every_refused_commit_release_export_and_close_is_audited_once_with_what_it_asked_and_why
);
async fn every_refused_commit_release_export_and_close_is_audited_once_with_what_it_asked_and_why(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "skins", Some("10"), "").await;
    let held = |o: Outcome| o.reservation().unwrap().id;
    let a = held(
        f.ledger
            .reserve(&key("ra"), q.id, &qty("4", ""), None, &actor("po"))
            .await
            .unwrap(),
    );
    let b = held(
        f.ledger
            .reserve(&key("rb"), q.id, &qty("2", ""), None, &actor("po"))
            .await
            .unwrap(),
    );
    // A commit beyond the hold; an export and a close of a permit not issued yet.
    let refused = [
        f.ledger
            .commit(&key("c-over"), a, Some(&qty("5", "")), None, &actor("po"))
            .await,
        f.ledger
            .record_export(&key("e-early"), a, &qty("1", ""), &actor("customs"))
            .await,
        f.ledger.close(&key("x-early"), a, &actor("po")).await,
    ];
    f.ledger
        .commit(&key("c-a"), a, None, None, &actor("po"))
        .await
        .unwrap();
    f.ledger
        .release(&key("rel-b"), b, &actor("po"))
        .await
        .unwrap();
    // A permit used twice: released and committed again, exported beyond what it allows.
    let twice = [
        f.ledger.release(&key("rel-b2"), b, &actor("po")).await,
        f.ledger
            .commit(&key("c-b"), b, None, None, &actor("po"))
            .await,
        f.ledger
            .record_export(&key("e-over"), a, &qty("7", ""), &actor("customs"))
            .await,
    ];
    for outcome in refused.iter().chain(&twice) {
        assert!(
            matches!(outcome, Ok(Outcome::Refused { .. })),
            "{outcome:?}"
        );
    }
    // A retry of a refused request answers as before and writes nothing more.
    let again = f
        .ledger
        .record_export(&key("e-over"), a, &qty("7", ""), &actor("customs"))
        .await;
    assert_eq!(again.ok(), twice[2].as_ref().ok().cloned());

    let history = f.ledger.history(q.id).await.unwrap();
    let refusals: Vec<_> = history
        .iter()
        .filter(|e| e.event.ends_with("_refused"))
        .map(|e| {
            (
                e.event.as_str(),
                e.reservation_id,
                e.requested,
                e.refusal_message.clone(),
                e.actor.as_str(),
            )
        })
        .collect();
    let why = |o: &quota::Result<Outcome>| match o {
        Ok(Outcome::Refused { refusal, .. }) => Some(refusal.message()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refusals,
        [
            (
                "commit_refused",
                Some(a),
                Some(dec("5")),
                why(&refused[0]),
                "po"
            ),
            (
                "export_refused",
                Some(a),
                Some(dec("1")),
                why(&refused[1]),
                "customs"
            ),
            ("close_refused", Some(a), None, why(&refused[2]), "po"),
            ("release_refused", Some(b), None, why(&twice[0]), "po"),
            ("commit_refused", Some(b), None, why(&twice[1]), "po"),
            (
                "export_refused",
                Some(a),
                Some(dec("7")),
                why(&twice[2]),
                "customs"
            ),
        ]
    );
    assert!(
        history
            .iter()
            .filter(|e| e.event.ends_with("_refused"))
            .all(|e| e.delta_held.is_zero()
                && e.delta_committed.is_zero()
                && e.delta_exported.is_zero()),
        "a refusal moves no counter"
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread the_same_key_returns_the_first_outcome_and_other_parameters_are_a_conflict
);
async fn the_same_key_returns_the_first_outcome_and_other_parameters_are_a_conflict(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "skins", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("k"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    let again = f
        .ledger
        .reserve(&key("k"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        f.ledger.quota(q.id).await.unwrap().held,
        dec("4"),
        "a replay changes nothing"
    );
    let err = f
        .ledger
        .reserve(&key("k"), q.id, &qty("5", ""), None, &actor("po"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::KeyConflict { .. }), "{err:?}");
    // Other parameters the ledger could not take at all (a mass against this count, half a
    // specimen, another quota that does not exist) are a conflict as well, on every path:
    // the key is what identifies the request.
    let group = GroupCommit::start(f.ledger.clone());
    for (quota_id, quantity) in [
        (q.id, qty("4", "KGM")),
        (q.id, qty("0.5", "")),
        (999, qty("4", "")),
    ] {
        let direct = f
            .ledger
            .reserve(&key("k"), quota_id, &quantity, None, &actor("po"))
            .await;
        let grouped = group
            .reserve(&key("k"), quota_id, &quantity, None, &actor("po"))
            .await;
        for answer in [direct, grouped] {
            assert!(
                matches!(answer, Err(Error::KeyConflict { .. })),
                "{quantity:?} on {quota_id}: {answer:?}"
            );
        }
    }
    group.shutdown().await;
    // A key refused for lack of quota stays refused, even once quota is free again.
    let big = f
        .ledger
        .reserve(&key("big"), q.id, &qty("7", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(
        big,
        Outcome::Refused {
            refusal: Refusal::QuotaExhausted { .. },
            ..
        }
    ));
    let id = first.reservation().unwrap().id;
    f.ledger
        .release(&key("rel"), id, &actor("po"))
        .await
        .unwrap();
    let big_again = f
        .ledger
        .reserve(&key("big"), q.id, &qty("7", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(big, big_again);
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread quantities_convert_exactly_within_a_dimension_and_a_count_against_a_mass_is_refused
);
async fn quantities_convert_exactly_within_a_dimension_and_a_count_against_a_mass_is_refused(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "caviar", Some("2.5"), "KGM").await;
    let r = f
        .ledger
        .reserve(&key("g"), q.id, &qty("1250", "GRM"), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(r.quota().held, dec("1.25"));
    assert_eq!(r.quota().available, dec("1.25"));
    let err = f
        .ledger
        .reserve(&key("n"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Domain(_)), "{err:?}");
    let err = f
        .ledger
        .reserve(
            &key("tiny"),
            q.id,
            &qty("0.0001", "MGM"),
            None,
            &actor("po"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("quantity"), "{err}");
    // A refusal gives its figures in the quota's unit, and says so: 1300 g asked is 1.3 kg.
    let refused = f
        .ledger
        .reserve(&key("more"), q.id, &qty("1300", "GRM"), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Refused { refusal, .. } = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        refusal.message(),
        "not enough quota: 1.3 KGM requested, 1.25 KGM available"
    );
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread a_zero_quota_and_a_quota_in_preparation_refuse_every_reservation);
async fn a_zero_quota_and_a_quota_in_preparation_refuse_every_reservation(backend: Backend) {
    let f = fixture(backend).await;
    let zero = declare(&f, "zero", Some("0"), "").await;
    let r = f
        .ledger
        .reserve(&key("z"), zero.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            Outcome::Refused {
                refusal: Refusal::ZeroQuota,
                ..
            }
        ),
        "{r:?}"
    );
    let prep = declare(&f, "prep", None, "").await;
    let r = f
        .ledger
        .reserve(&key("p"), prep.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            Outcome::Refused {
                refusal: Refusal::QuotaInPreparation,
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(
        f.ledger
            .history(zero.id)
            .await
            .unwrap()
            .last()
            .unwrap()
            .event,
        "reject"
    );
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_hold_expires_at_its_expiry_and_never_before_and_cannot_be_committed_after
);
async fn a_hold_expires_at_its_expiry_and_never_before_and_cannot_be_committed_after(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "live", Some("10"), "").await;
    let expiry = t0() + chrono::Duration::seconds(10);
    let r = f
        .ledger
        .reserve(&key("r"), q.id, &qty("6", ""), Some(expiry), &actor("po"))
        .await
        .unwrap();
    let id = r.reservation().unwrap().id;
    f.clock.set(expiry - chrono::Duration::milliseconds(1));
    assert_eq!(
        f.ledger.sweep(&actor("sweeper")).await.unwrap().expired,
        0,
        "never before its expiry"
    );
    f.clock.set(expiry);
    let late = f
        .ledger
        .commit(&key("c"), id, None, None, &actor("po"))
        .await
        .unwrap();
    assert!(
        matches!(
            late,
            Outcome::Refused {
                refusal: Refusal::ReservationExpired { .. },
                ..
            }
        ),
        "{late:?}"
    );
    assert_eq!(f.ledger.sweep(&actor("sweeper")).await.unwrap().expired, 1);
    let q = f.ledger.quota(q.id).await.unwrap();
    assert_eq!((q.held, q.available), (dec("0"), dec("10")));
    assert_eq!(
        f.ledger.reservation(id).await.unwrap().state,
        ReservationState::Expired
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

/// `holds` holds of 1 unit on `quota_id` through group commit, from 8 concurrent lanes (so that
/// batches form), the `i`th under key `{prefix}{i}` expiring at `expiry(i)`; each hold's expiry
/// and reservation id, in no particular order.
async fn hold_through_group_commit(
    group: &quota::GroupCommit,
    quota_id: i64,
    holds: i64,
    prefix: &'static str,
    expiry: fn(i64) -> chrono::DateTime<chrono::Utc>,
) -> Vec<(chrono::DateTime<chrono::Utc>, i64)> {
    let mut tasks = Vec::new();
    for lane in 0..8 {
        let group = group.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (lane..holds).step_by(8) {
                let expires_at = expiry(i);
                let r = group
                    .reserve(
                        &key(&format!("{prefix}{i}")),
                        quota_id,
                        &qty("1", ""),
                        Some(expires_at),
                        &actor("po"),
                    )
                    .await
                    .unwrap();
                ids.push((expires_at, r.reservation().unwrap().id));
            }
            ids
        }));
    }
    let mut held = Vec::new();
    for t in tasks {
        held.extend(t.await.unwrap());
    }
    held
}

on_both_backends!(
    multi_thread a_burst_of_due_holds_is_swept_a_thousand_at_a_time_in_the_order_they_fell_due
);
async fn a_burst_of_due_holds_is_swept_a_thousand_at_a_time_in_the_order_they_fell_due(
    backend: Backend,
) {
    const HOLDS: i64 = 1_003;
    let f = fixture(backend).await;
    let q = declare(&f, "burst", Some("5000"), "").await;
    let group = quota::GroupCommit::start(f.ledger.clone());
    // Later keys fall due earlier, so expiry order is not reservation order.
    let mut held = hold_through_group_commit(&group, q.id, HOLDS, "b", |i| {
        t0() + chrono::Duration::seconds(10 + HOLDS - i)
    })
    .await;
    held.sort();
    // A commit takes one of them out of the burst first.
    let (_, committed) = held.remove(500);
    f.ledger
        .commit(&key("c"), committed, None, None, &actor("po"))
        .await
        .unwrap();
    f.clock.set(t0() + chrono::Duration::seconds(10 + HOLDS));
    let first = f.ledger.sweep(&actor("sweeper")).await.unwrap();
    assert_eq!((first.expired, first.closed), (1_000, 0));
    let second = f.ledger.sweep(&actor("sweeper")).await.unwrap();
    assert_eq!((second.expired, second.closed), (2, 0));
    let expired: Vec<i64> = (f.ledger.history(q.id).await.unwrap().into_iter())
        .filter(|e| e.event == "expire")
        .map(|e| e.reservation_id.unwrap())
        .collect();
    let in_order: Vec<i64> = held.iter().map(|(_, id)| *id).collect();
    assert_eq!(
        expired, in_order,
        "audit entries in the order the holds fell due"
    );
    let v = f.ledger.quota(q.id).await.unwrap();
    assert_eq!((v.held, v.committed), (dec("0"), dec("1")));
    assert_eq!(
        f.ledger.reservation(committed).await.unwrap().state,
        ReservationState::Committed
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_backlog_of_due_holds_is_swept_in_one_call_a_thousand_per_transaction
);
async fn a_backlog_of_due_holds_is_swept_in_one_call_a_thousand_per_transaction(backend: Backend) {
    const HOLDS: i64 = 2_005;
    let f = fixture(backend).await;
    let q = declare(&f, "backlog", Some("5000"), "").await;
    let group = quota::GroupCommit::start(f.ledger.clone());
    hold_through_group_commit(&group, q.id, HOLDS, "h", |_| {
        t0() + chrono::Duration::minutes(1)
    })
    .await;
    f.clock.set(t0() + chrono::Duration::hours(1));
    let report = f.ledger.sweep_due(&actor("sweeper")).await.unwrap();
    assert_eq!(report.expired, HOLDS as u64);
    assert_eq!(f.ledger.quota(q.id).await.unwrap().held, dec("0"));
    let nothing = f.ledger.sweep_due(&actor("sweeper")).await.unwrap();
    assert_eq!((nothing.expired, nothing.closed), (0, 0));
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread an_unexported_permit_returns_its_quantity_when_its_validity_ends);
async fn an_unexported_permit_returns_its_quantity_when_its_validity_ends(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "trophies", Some("10"), "").await;
    let r = f
        .ledger
        .reserve(&key("r"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    let id = r.reservation().unwrap().id;
    let valid_until = t0() + chrono::Duration::days(30);
    f.ledger
        .commit(&key("c"), id, None, Some(valid_until), &actor("po"))
        .await
        .unwrap();
    f.ledger
        .record_export(&key("e"), id, &qty("1", ""), &actor("customs"))
        .await
        .unwrap();
    f.clock.set(valid_until);
    assert_eq!(f.ledger.sweep(&actor("sweeper")).await.unwrap().closed, 1);
    let q = f.ledger.quota(q.id).await.unwrap();
    assert_eq!(
        (q.committed, q.exported, q.available),
        (dec("0"), dec("1"), dec("9"))
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread a_retried_reservation_without_an_expiry_is_the_same_request);
async fn a_retried_reservation_without_an_expiry_is_the_same_request(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "retry", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("no-expiry"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    // Time passes between the request and its retry: the default expiry would differ.
    f.clock.advance(chrono::Duration::seconds(30));
    let again = f
        .ledger
        .reserve(&key("no-expiry"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again);
    let group = quota::GroupCommit::start(f.ledger.clone());
    let through_group = group
        .reserve(&key("no-expiry"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, through_group);
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_retry_after_the_requested_expiry_has_passed_still_gets_the_first_answer
);
async fn a_retry_after_the_requested_expiry_has_passed_still_gets_the_first_answer(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "late-retry", Some("10"), "").await;
    let expiry = t0() + chrono::Duration::hours(1);
    let first = f
        .ledger
        .reserve(
            &key("late"),
            q.id,
            &qty("2", ""),
            Some(expiry),
            &actor("po"),
        )
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Done { .. }));
    // The answer was lost; the client retries after the hold it asked for has ended.
    f.clock.advance(chrono::Duration::hours(2));
    let group = quota::GroupCommit::start(f.ledger.clone());
    for (path, again) in [
        (
            "ledger",
            f.ledger
                .reserve(
                    &key("late"),
                    q.id,
                    &qty("2", ""),
                    Some(expiry),
                    &actor("po"),
                )
                .await,
        ),
        (
            "group commit",
            group
                .reserve(
                    &key("late"),
                    q.id,
                    &qty("2", ""),
                    Some(expiry),
                    &actor("po"),
                )
                .await,
        ),
    ] {
        assert_eq!(again.unwrap(), first, "{path}");
    }
    // Under the same key another request is still a conflict, and a new request with that
    // expiry is still refused, naming the field.
    let other = f
        .ledger
        .reserve(
            &key("late"),
            q.id,
            &qty("3", ""),
            Some(expiry),
            &actor("po"),
        )
        .await;
    assert!(matches!(other, Err(Error::KeyConflict { .. })), "{other:?}");
    let new = group
        .reserve(
            &key("late-new"),
            q.id,
            &qty("2", ""),
            Some(expiry),
            &actor("po"),
        )
        .await;
    assert!(
        matches!(
            new,
            Err(Error::Invalid {
                field: "expires_at",
                ..
            })
        ),
        "{new:?}"
    );
    assert_eq!(f.ledger.quota(q.id).await.unwrap().held, dec("2"));
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_reservation_taken_in_one_statement_replays_identically_through_every_path
);
async fn a_reservation_taken_in_one_statement_replays_identically_through_every_path(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "scales", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("fast"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Done { .. }), "{first:?}");
    // Both store a reference to the reservation with the counters after it, not the answer.
    let stored: String = db::with_db!(f.ledger.db(), pool => sqlx::query_scalar(
        "SELECT outcome FROM quota_requests WHERE client_key = 'fast'")
        .fetch_one(pool).await)
    .unwrap();
    assert!(stored.starts_with("{\"ref\":{\"reservation\":"), "{stored}");
    assert!(
        stored.ends_with("\"held\":3000000,\"committed\":0,\"exported\":0,\"limit\":10000000}}"),
        "{stored}"
    );
    let again = f
        .ledger
        .reserve(&key("fast"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again, "replay through the ledger");
    let group = quota::GroupCommit::start(f.ledger.clone());
    let batched = group
        .reserve(&key("fast"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, batched, "replay through group commit");
    group.shutdown().await;
    // A quantity in another unit takes the general path and converts.
    let mass = declare(&f, "meat", Some("2"), "KIL").await;
    let grams = f
        .ledger
        .reserve(&key("g"), mass.id, &qty("1500", "GRM"), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(grams.quota().held, dec("1.5"));
    assert_eq!(f.ledger.quota(q.id).await.unwrap().held, dec("3"));
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    assert!(f.ledger.verify(mass.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_replay_after_the_reservation_moved_on_still_answers_as_the_first_time
);
async fn a_replay_after_the_reservation_moved_on_still_answers_as_the_first_time(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "hides", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("first"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Done { reservation, .. } = &first else {
        panic!("refused: {first:?}")
    };
    // Afterwards: another hold, then the first one committed for less and partly exported.
    f.ledger
        .reserve(&key("second"), q.id, &qty("5", ""), None, &actor("po"))
        .await
        .unwrap();
    f.ledger
        .commit(
            &key("c"),
            reservation.id,
            Some(&qty("3", "")),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    f.ledger
        .record_export(&key("x"), reservation.id, &qty("1", ""), &actor("po"))
        .await
        .unwrap();
    let now = f.ledger.quota(q.id).await.unwrap();
    assert_eq!(
        (now.held, now.committed, now.exported),
        (dec("5"), dec("2"), dec("1"))
    );
    // The replay answers with the hold as it was written and the counters of that moment.
    let again = f
        .ledger
        .reserve(&key("first"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(first.quota().held, dec("4"));
    let group = quota::GroupCommit::start(f.ledger.clone());
    let batched = group
        .reserve(&key("first"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    group.shutdown().await;
    assert_eq!(first, batched);
    assert_eq!(
        f.ledger.reserved_under(&key("first")).await.unwrap(),
        Some(first.clone())
    );
    // Nothing moved.
    assert_eq!(f.ledger.quota(q.id).await.unwrap(), now);
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread outcomes_stored_by_earlier_versions_still_replay);
async fn outcomes_stored_by_earlier_versions_still_replay(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "shells", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("old"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Done { reservation, quota } = &first else {
        panic!("refused: {first:?}")
    };
    // The whole answer, serialised (the first form, whose quota had no period_last_day
    // then), then the rows (the second form).
    let mut whole = serde_json::to_value(&first).unwrap();
    assert_eq!(whole["quota"]["period_last_day"], "2026-12-31");
    whole["quota"]
        .as_object_mut()
        .unwrap()
        .remove("period_last_day");
    let whole = whole.to_string();
    let rows = serde_json::json!({"rows": {
        "quota": {
            "id": quota.id, "exporter": quota.exporter, "taxon_id": quota.taxon_id,
            "period_start": quota.period_start, "period_end": quota.period_end,
            "unit": quota.unit, "limit_micro": 10_000_000, "held_micro": 2_000_000,
            "committed_micro": 0, "exported_micro": 0, "term": null, "source": null,
            "purpose": null, "origin": quota.origin, "speciesplus_id": null, "notes": quota.notes,
        },
        "reservation": {
            "id": reservation.id, "quota_id": q.id, "state": "held",
            "quantity_micro": 2_000_000, "committed_micro": 0, "exported_micro": 0,
            "expires_at": reservation.expires_at, "permit_expires_at": null,
            "reject_reason": null,
        },
    }})
    .to_string();
    for stored in [whole, rows] {
        db::with_db!(f.ledger.db(), pool => sqlx::query(
            "UPDATE quota_requests SET outcome = $1 WHERE client_key = 'old'")
            .bind(&stored).execute(pool).await.map(|r| r.rows_affected()))
        .unwrap();
        let again = f
            .ledger
            .reserve(&key("old"), q.id, &qty("2", ""), None, &actor("po"))
            .await
            .unwrap();
        assert_eq!(first, again, "{stored}");
    }
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_release_retried_after_the_quota_moved_on_answers_as_the_first_time
);
async fn a_release_retried_after_the_quota_moved_on_answers_as_the_first_time(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "shells", Some("10"), "").await;
    let mut held = Vec::new();
    for (k, n) in [("a", "3"), ("b", "2")] {
        let o = f
            .ledger
            .reserve(&key(k), q.id, &qty(n, ""), None, &actor("po"))
            .await
            .unwrap();
        let Outcome::Done { reservation, .. } = o else {
            panic!("refused: {o:?}")
        };
        held.push(reservation.id);
    }
    let first = f
        .ledger
        .release(&key("rel-a"), held[0], &actor("po"))
        .await
        .unwrap();
    let Outcome::Done { reservation, quota } = &first else {
        panic!("refused: {first:?}")
    };
    assert_eq!(reservation.state, ReservationState::Released);
    assert_eq!((quota.held, quota.available), (dec("2"), dec("8")));
    // PostgreSQL releases in one statement and stores a reference; SQLite the whole answer.
    let stored: String = db::with_db!(&f.t.db, pool => sqlx::query_scalar(
        "SELECT outcome FROM quota_requests WHERE client_key = 'rel-a'")
        .fetch_one(pool).await)
    .unwrap();
    let compact = stored.starts_with("{\"released\":");
    assert_eq!(compact, backend == Backend::Postgres, "{stored}");

    // The quota moves on; the retry answers with the counters of the release's moment.
    f.ledger
        .reserve(&key("c"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    let again = f
        .ledger
        .release(&key("rel-a"), held[0], &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again);
    // The key names that release, not another; the released hold cannot be released again.
    assert!(matches!(
        f.ledger.release(&key("rel-a"), held[1], &actor("po")).await,
        Err(Error::KeyConflict { .. })
    ));
    let twice = f
        .ledger
        .release(&key("rel-a-2"), held[0], &actor("po"))
        .await
        .unwrap();
    assert!(
        matches!(
            &twice,
            Outcome::Refused {
                refusal: Refusal::WrongState {
                    state: ReservationState::Released,
                    ..
                },
                ..
            }
        ),
        "{twice:?}"
    );
    let now = f.ledger.quota(q.id).await.unwrap();
    assert_eq!(now.held, dec("6"));
    let releases = (f.ledger.history(q.id).await.unwrap().into_iter())
        .filter(|e| e.event == "release")
        .count();
    assert_eq!(releases, 1);
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread racing_releases_of_one_hold_release_it_once);
async fn racing_releases_of_one_hold_release_it_once(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "raced", Some("10"), "").await;
    for round in 0..10 {
        let o = f
            .ledger
            .reserve(
                &key(&format!("h{round}")),
                q.id,
                &qty("2", ""),
                None,
                &actor("po"),
            )
            .await
            .unwrap();
        let id = o.reservation().unwrap().id;
        let mut racers = Vec::new();
        for r in 0..8 {
            let ledger = f.ledger.clone();
            let k = key(&format!("h{round}-rel{r}"));
            racers.push(tokio::spawn(async move {
                // Half of them commit instead: one of all of them wins.
                if r % 2 == 0 {
                    ledger.release(&k, id, &actor("po")).await.unwrap()
                } else {
                    ledger
                        .commit(&k, id, None, None, &actor("po"))
                        .await
                        .unwrap()
                }
            }));
        }
        let mut done = 0;
        for racer in racers {
            if matches!(racer.await.unwrap(), Outcome::Done { .. }) {
                done += 1;
            }
        }
        assert_eq!(done, 1, "round {round}: one release or commit wins");
        let now = f.ledger.quota(q.id).await.unwrap();
        assert_eq!(now.held, dec("0"), "round {round}");
        assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
        // Committed ones stay committed: give them back for the next round.
        if now.committed > dec("0") {
            let c = f
                .ledger
                .close(&key(&format!("h{round}-close")), id, &actor("po"))
                .await
                .unwrap();
            assert!(matches!(c, Outcome::Done { .. }), "{c:?}");
        }
    }
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_refused_transition_on_a_quota_in_preparation_replays_as_the_first_time
);
async fn a_refused_transition_on_a_quota_in_preparation_replays_as_the_first_time(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "preparing", None, "").await;
    let refused = f
        .ledger
        .reserve(&key("r"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    let rejected = refused.reservation().unwrap().id;
    // Its answer is stored whole, with the quota's limit as null.
    let first = f
        .ledger
        .release(&key("rel"), rejected, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Refused { .. }), "{first:?}");
    assert_eq!(first.quota().limit, None);
    let again = f
        .ledger
        .release(&key("rel"), rejected, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again);
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_commit_retried_after_its_permit_was_exported_and_closed_answers_as_the_first_time
);
async fn a_commit_retried_after_its_permit_was_exported_and_closed_answers_as_the_first_time(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "skins", Some("10"), "").await;
    let mut held = Vec::new();
    for (k, n) in [("a", "3"), ("b", "2")] {
        let o = f
            .ledger
            .reserve(&key(k), q.id, &qty(n, ""), None, &actor("po"))
            .await
            .unwrap();
        held.push(o.reservation().unwrap().id);
    }
    // Less than reserved (the rest returns), and a validity finer than a microsecond, which
    // the engine keeps to the microsecond on both backends.
    let valid_until =
        t0() + chrono::Duration::days(90) + chrono::Duration::nanoseconds(123_456_789);
    let first = f
        .ledger
        .commit(
            &key("com-a"),
            held[0],
            Some(&qty("2", "")),
            Some(valid_until),
            &actor("po"),
        )
        .await
        .unwrap();
    let Outcome::Done { reservation, quota } = &first else {
        panic!("refused: {first:?}")
    };
    assert_eq!(reservation.state, ReservationState::Committed);
    assert_eq!(reservation.committed, dec("2"));
    assert_eq!(
        reservation.permit_expires_at,
        Some(t0() + chrono::Duration::days(90) + chrono::Duration::microseconds(123_456))
    );
    assert_eq!(
        (quota.held, quota.committed, quota.available),
        (dec("2"), dec("2"), dec("6"))
    );
    // PostgreSQL commits in one statement and stores a reference; SQLite the whole answer.
    let stored: String = db::with_db!(&f.t.db, pool => sqlx::query_scalar(
        "SELECT outcome FROM quota_requests WHERE client_key = 'com-a'")
        .fetch_one(pool).await)
    .unwrap();
    let compact = stored.starts_with("{\"committed\":");
    assert_eq!(compact, backend == Backend::Postgres, "{stored}");

    // The permit is used and closed and the quota moves on; the retry answers as the first
    // time, with the permit as it was just committed.
    f.ledger
        .record_export(&key("exp-a"), held[0], &qty("1", ""), &actor("po"))
        .await
        .unwrap();
    f.ledger
        .close(&key("close-a"), held[0], &actor("po"))
        .await
        .unwrap();
    f.ledger
        .reserve(&key("c"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    let again = f
        .ledger
        .commit(
            &key("com-a"),
            held[0],
            Some(&qty("2", "")),
            Some(valid_until),
            &actor("po"),
        )
        .await
        .unwrap();
    assert_eq!(first, again);
    // The key names that commit, not another; the closed permit cannot be committed again.
    assert!(matches!(
        f.ledger
            .commit(&key("com-a"), held[1], None, None, &actor("po"))
            .await,
        Err(Error::KeyConflict { .. })
    ));
    let twice = f
        .ledger
        .commit(&key("com-a-2"), held[0], None, None, &actor("po"))
        .await
        .unwrap();
    assert!(
        matches!(
            &twice,
            Outcome::Refused {
                refusal: Refusal::WrongState {
                    state: ReservationState::Closed,
                    ..
                },
                ..
            }
        ),
        "{twice:?}"
    );
    // The whole hold, by default: no quantity given.
    let whole = f
        .ledger
        .commit(&key("com-b"), held[1], None, None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(whole.reservation().unwrap().committed, dec("2"));
    let commits = (f.ledger.history(q.id).await.unwrap().into_iter())
        .filter(|e| e.event == "commit")
        .count();
    assert_eq!(commits, 2);
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_commit_in_another_unit_or_beyond_the_hold_gets_the_same_answer_on_every_path
);
async fn a_commit_in_another_unit_or_beyond_the_hold_gets_the_same_answer_on_every_path(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "caviar-commit", Some("2.5"), "KGM").await;
    let r = f
        .ledger
        .reserve(&key("g"), q.id, &qty("2", "KGM"), None, &actor("po"))
        .await
        .unwrap();
    let id = r.reservation().unwrap().id;
    // More than held: refused, nothing changes.
    let over = f
        .ledger
        .commit(
            &key("over"),
            id,
            Some(&qty("2001", "GRM")),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    // More than held in the quota's own unit (the path PostgreSQL commits in one statement):
    // the same refusal.
    let over_own = f
        .ledger
        .commit(
            &key("over-own"),
            id,
            Some(&qty("2.001", "KGM")),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    assert_eq!(
        over_own.quota(),
        over.quota(),
        "a refusal changes nothing: {over_own:?}"
    );
    for refused in [&over, &over_own] {
        assert!(
            matches!(
                refused,
                Outcome::Refused {
                    refusal: Refusal::ExceedsReservation { .. },
                    ..
                }
            ),
            "{refused:?}"
        );
    }
    // Zero: an error naming the field.
    let zero = f
        .ledger
        .commit(&key("zero"), id, Some(&qty("0", "KGM")), None, &actor("po"))
        .await
        .unwrap_err();
    assert_eq!(zero.field(), Some("quantity"), "{zero}");
    // In grams against a quota in kilograms: converted exactly; the rest returns.
    let grams = f
        .ledger
        .commit(
            &key("grams"),
            id,
            Some(&qty("1250", "GRM")),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    assert_eq!(grams.reservation().unwrap().committed, dec("1.25"));
    assert_eq!(
        (
            grams.quota().held,
            grams.quota().committed,
            grams.quota().available
        ),
        (dec("0"), dec("1.25"), dec("1.25"))
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread quotas_are_listed_by_exporter_whatever_the_case_of_its_code);
async fn quotas_are_listed_by_exporter_whatever_the_case_of_its_code(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "listed", Some("5"), "").await;
    for exporter in ["NA", "na", " Na "] {
        let found = f
            .ledger
            .quotas(Some(exporter), None, Some(2026))
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|v| v.id).collect::<Vec<_>>(),
            vec![q.id],
            "{exporter:?}"
        );
    }
    assert!(
        f.ledger
            .quotas(Some("BW"), None, None)
            .await
            .unwrap()
            .is_empty()
    );
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread verify_names_every_broken_invariant_of_a_quota);
async fn verify_names_every_broken_invariant_of_a_quota(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "tampered", Some("10"), "").await;
    f.ledger
        .reserve(&key("r"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    // What no path of the engine writes: a counter moved without an entry or a reservation, a
    // hold outliving the 2026 period, and a reservation entry dated in 2027.
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap();
    for (sql, when) in [
        (
            "UPDATE export_quotas SET held_micro = held_micro + 1000000 WHERE id = $1 AND $2 IS NOT NULL",
            at(2026, 3, 1),
        ),
        (
            "UPDATE quota_reservations SET expires_at = $2 WHERE quota_id = $1",
            at(2027, 2, 1),
        ),
        (
            "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
             delta_committed, delta_exported, limit_micro, actor, reason, at) \
             VALUES ($1, NULL, 'reserve', 0, 0, 0, 10000000, 'po', NULL, $2)",
            at(2027, 1, 5),
        ),
    ] {
        db::with_db!(f.ledger.db(), pool => sqlx::query(sql).bind(q.id).bind(when)
            .execute(pool).await.map(|_| ()))
        .unwrap();
    }
    let broken = f.ledger.verify(q.id).await.unwrap();
    for says in [
        "ledger replay gives",
        "reservations sum to",
        "outlive the period",
        "(reserve) is dated 2027-01-05",
    ] {
        assert!(
            broken.iter().filter(|v| v.contains(says)).count() == 1,
            "{says}: {broken:?}"
        );
    }
    assert_eq!(broken.len(), 4, "{broken:?}");
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread the_database_refuses_to_change_or_delete_an_audit_entry);
async fn the_database_refuses_to_change_or_delete_an_audit_entry(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "audited", Some("10"), "").await;
    f.ledger
        .reserve(&key("r"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    let before = f.ledger.history(q.id).await.unwrap();
    assert_eq!(before.len(), 2, "declare and reserve");
    let mut statements = vec![
        "UPDATE quota_ledger SET delta_held = 0 WHERE quota_id = $1",
        "UPDATE quota_ledger SET actor = 'someone else' WHERE quota_id = $1",
        "DELETE FROM quota_ledger WHERE quota_id = $1",
    ];
    if backend == Backend::Postgres {
        statements.push("TRUNCATE quota_ledger CASCADE");
    }
    for sql in statements {
        let refused = if sql.starts_with("TRUNCATE") {
            db::with_db!(f.ledger.db(), pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
        } else {
            db::with_db!(f.ledger.db(), pool => sqlx::query(sql).bind(q.id)
                .execute(pool).await.map(|_| ()))
        };
        let e = refused.expect_err(sql).to_string();
        assert!(e.contains("quota_ledger is append-only"), "{sql}: {e}");
    }
    assert_eq!(f.ledger.history(q.id).await.unwrap(), before);
    // Appending is what the ledger does, and still works.
    f.ledger
        .reserve(&key("r2"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(f.ledger.history(q.id).await.unwrap().len(), 3);
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread upgrading_the_ledger_keeps_every_audit_entry_its_number_and_its_guard
);
async fn upgrading_the_ledger_keeps_every_audit_entry_its_number_and_its_guard(backend: Backend) {
    // A database as migration 0006 left it, with a history written then: a national quota
    // and an imported one, declared as the code of then did (today's writes columns added
    // since), then a reservation committed.
    let t = db::TestDb::create_migrated_to(backend, Some(6))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let f = Fixture {
        ledger: Ledger::new(t.db.clone(), clock.clone()),
        clock,
        t,
    };
    let mut declared = Vec::new();
    for (origin, speciesplus_id) in [("national", None), ("speciesplus", Some(27_017_i64))] {
        let id: i64 = db::with_db!(f.ledger.db(), pool => sqlx::query_scalar(
            "INSERT INTO export_quotas (exporter, taxon_id, period_start, period_end, unit, \
             limit_micro, origin, speciesplus_id, created_at, created_by) VALUES ('NA', $1, \
             $2, $3, 'NAR', 10000000, $4, $5, $6, 'sa') RETURNING id")
            .bind(4521 + i64::from(speciesplus_id.is_some()))
            .bind(chrono::NaiveDate::from_ymd_opt(2026, 1, 1))
            .bind(chrono::NaiveDate::from_ymd_opt(2027, 1, 1))
            .bind(origin).bind(speciesplus_id).bind(t0()).fetch_one(pool).await)
        .unwrap();
        db::with_db!(f.ledger.db(), pool => sqlx::query(
            "INSERT INTO quota_ledger (quota_id, event, delta_held, delta_committed, \
             delta_exported, limit_micro, actor, reason, at) VALUES ($1, 'declare', 0, 0, 0, \
             10000000, 'sa', 'test', $2)")
            .bind(id).bind(t0()).execute(pool).await.map(|_| ()))
        .unwrap();
        declared.push(id);
    }
    let q = f.ledger.quota(declared[0]).await.unwrap();
    let r = f
        .ledger
        .reserve(&key("r"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    // Committed as the code of then did: today's commit reads which reservations are linked
    // (a column added since, migration 0012).
    let reservation_id = r.reservation().unwrap().id;
    db::with_db!(f.ledger.db(), pool => sqlx::query(
        "UPDATE quota_reservations SET state = 'committed', committed_micro = quantity_micro, \
         permit_expires_at = $2 WHERE id = $1")
        .bind(reservation_id).bind(quota::permit_valid_until(t0())).execute(pool).await
        .map(|_| ()))
    .unwrap();
    db::with_db!(f.ledger.db(), pool => sqlx::query(
        "UPDATE export_quotas SET held_micro = held_micro - 3000000, \
         committed_micro = committed_micro + 3000000 WHERE id = $1")
        .bind(q.id).execute(pool).await.map(|_| ()))
    .unwrap();
    db::with_db!(f.ledger.db(), pool => sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, delta_committed, \
         delta_exported, limit_micro, actor, reason, at) VALUES ($1, $2, 'commit', -3000000, \
         3000000, 0, 10000000, 'po', 'test', $3)")
        .bind(q.id).bind(reservation_id).bind(t0()).execute(pool).await.map(|_| ()))
    .unwrap();
    // Read as stored: today's history reads columns added since.
    type Stored = (
        i64,
        String,
        i64,
        i64,
        i64,
        Option<i64>,
        String,
        Option<String>,
    );
    let stored = || async {
        db::with_db!(f.ledger.db(), pool => sqlx::query_as::<_, Stored>(
            "SELECT seq, event, delta_held, delta_committed, delta_exported, limit_micro, actor, \
             reason FROM quota_ledger WHERE quota_id = $1 ORDER BY seq")
            .bind(q.id).fetch_all(pool).await)
        .unwrap()
    };
    let before = stored().await;
    assert_eq!(before.len(), 3);
    // The counter may be past the last entry (numbers taken by entries never kept): it is
    // never set back, so no number is given twice.
    let skip_to = before[2].0 + 100;
    let sql = match backend {
        Backend::Sqlite => "UPDATE sqlite_sequence SET seq = $1 WHERE name = 'quota_ledger'",
        Backend::Postgres => "SELECT setval(pg_get_serial_sequence('quota_ledger', 'seq'), $1)",
    };
    db::with_db!(f.ledger.db(), pool => sqlx::query(sql).bind(skip_to).execute(pool).await
        .map(|_| ()))
    .unwrap();
    f.t.db.migrate().await.unwrap();
    assert_eq!(stored().await, before);
    let history = f.ledger.history(q.id).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|e| (e.event.as_str(), e.held_after, e.committed_after))
            .collect::<Vec<_>>(),
        [
            ("declare", dec("0"), dec("0")),
            ("reserve", dec("3"), dec("0")),
            ("commit", dec("0"), dec("3"))
        ]
    );
    // The imported quota's limit is taken as the value Species+ published (migration 0008).
    let imported = f.ledger.imported_quotas().await.unwrap();
    assert_eq!(
        imported
            .iter()
            .map(|(q, value)| (q.id, *value))
            .collect::<Vec<_>>(),
        [(declared[1], Some(dec("10")))]
    );
    // Numbers go on after the last one, a revision is audited as one, and the ledger is still
    // append-only.
    f.ledger
        .revise(&key("rev"), q.id, Some(&qty("12", "")), &actor("sa"))
        .await
        .unwrap();
    let after = f.ledger.history(q.id).await.unwrap();
    let last = after.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.seq > skip_to, last.limit),
        ("revise", true, Some(dec("12")))
    );
    // A refused transition is audited on the upgraded table (migration 0009), and a refusal
    // that moved a counter is refused by the database.
    let again = f
        .ledger
        .commit(
            &key("c-again"),
            r.reservation().unwrap().id,
            None,
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    assert!(matches!(again, Outcome::Refused { .. }), "{again:?}");
    let last = f.ledger.history(q.id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.event.as_str(), last.requested, last.refusal_message),
        (
            "commit_refused",
            None,
            Some("the reservation is committed, not held".to_owned())
        )
    );
    let moving = db::with_db!(f.ledger.db(), pool => sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, delta_committed, \
         delta_exported, actor, at, refusal) VALUES ($1, $2, 'release_refused', -1, 0, 0, 'x', \
         $3, 'why')")
        .bind(q.id).bind(r.reservation().unwrap().id).bind(t0()).execute(pool).await
        .map(|_| ()));
    assert!(
        moving
            .expect_err("a refusal moves nothing")
            .to_string()
            .contains("quota_ledger_refusal_valid"),
    );
    let refused = db::with_db!(f.ledger.db(), pool => sqlx::query(
        "DELETE FROM quota_ledger WHERE quota_id = $1").bind(q.id).execute(pool).await.map(|_| ()));
    assert!(
        refused
            .expect_err("append-only")
            .to_string()
            .contains("append-only")
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread an_import_revises_a_quota_only_while_its_limit_is_the_value_species_plus_published
);
async fn an_import_revises_a_quota_only_while_its_limit_is_the_value_species_plus_published(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let mut spec = spec_of("imported", Some("100"), "KGM");
    spec.speciesplus_id = Some(27_017);
    let q = f
        .ledger
        .declare(&key("speciesplus-27017"), &spec, &actor("import"))
        .await
        .unwrap();
    let imported = || async { f.ledger.imported_quotas().await.unwrap() };
    assert_eq!(imported().await, vec![(q.clone(), Some(dec("100")))]);
    // Followed while the limit is the value imported: the new value is recorded with it.
    let followed = f
        .ledger
        .revise_to_speciesplus(
            &key("sp-1"),
            q.id,
            Some(&qty("120", "KGM")),
            &actor("import"),
        )
        .await
        .unwrap();
    assert_eq!(followed.limit, Some(dec("120")));
    assert_eq!(imported().await[0].1, Some(dec("120")));
    // A national revision: the next value from Species+ is refused, with nothing written.
    f.ledger
        .revise(
            &key("national"),
            q.id,
            Some(&qty("60", "KGM")),
            &actor("sa"),
        )
        .await
        .unwrap();
    let refused = f
        .ledger
        .revise_to_speciesplus(
            &key("sp-2"),
            q.id,
            Some(&qty("150", "KGM")),
            &actor("import"),
        )
        .await;
    match refused {
        Err(Error::Invalid { field, message }) => {
            assert_eq!(field, "limit");
            assert!(
                message.contains("revised nationally (limit 60)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let (now, value) = imported().await.remove(0);
    assert_eq!((now.limit, value), (Some(dec("60")), Some(dec("120"))));
    assert!(!f.ledger.key_used(&key("sp-2")).await.unwrap());
    // Noted without changing the limit, and not audited; only while the quota stands as the
    // import read it.
    for (seen, noted) in [(dec("70"), false), (dec("60"), true)] {
        let answer = f
            .ledger
            .note_speciesplus_value(q.id, Some(seen), Some(dec("120")), Some(dec("150")))
            .await
            .unwrap();
        assert_eq!(answer, noted, "limit seen {seen}");
    }
    let (now, value) = imported().await.remove(0);
    assert_eq!((now.limit, value), (Some(dec("60")), Some(dec("150"))));
    assert_eq!(
        f.ledger.quota_with_speciesplus_value(q.id).await.unwrap().1,
        Some(Some(dec("150")))
    );
    let events = events(&f, q.id).await;
    assert_eq!(events, ["declare", "revise", "revise"]);
    // A national quota has no Species+ value.
    let national = declare(&f, "national", Some("5"), "KGM").await;
    assert_eq!(imported().await.len(), 1);
    assert_eq!(
        f.ledger
            .quota_with_speciesplus_value(national.id)
            .await
            .unwrap()
            .1,
        None
    );
    f.t.drop_db().await.unwrap();
}
