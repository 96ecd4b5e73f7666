//! Releases and commits retried or raced under their client keys answer as the first time.

use db::Backend;
use quota::{Error, Outcome, Refusal, ReservationState};

use crate::support::*;

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
