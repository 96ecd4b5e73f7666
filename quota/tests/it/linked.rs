//! Reservations that hold several quotas at once (a permit under nested quotas: a species quota
//! inside its genus's): held or refused whole, moved together, never beyond either limit.

use std::sync::Arc;

use db::Backend;
use quota::{Ledger, LinkedOutcome, Outcome, Refusal, ReservationState};
use rust_decimal::Decimal;

use crate::support::*;

/// The genus quota (5 specimens) and the species quota inside it (2), as the review's
/// *Arctocephalus* case: their ids, genus first.
async fn nested(f: &Fixture) -> (i64, i64) {
    let genus = declare(f, "Arctocephalus", Some("5"), "NAR").await;
    let species = declare(f, "Arctocephalus forsteri", Some("2"), "NAR").await;
    (genus.id, species.id)
}

async fn reserve_both(f: &Fixture, k: &str, ids: &[i64], amount: &str) -> LinkedOutcome {
    f.ledger
        .reserve_linked(&key(k), ids, &qty(amount, "NAR"), None, &actor("po"))
        .await
        .unwrap()
}

/// (held, committed, exported) of a quota.
async fn counters(f: &Fixture, id: i64) -> (Decimal, Decimal, Decimal) {
    let q = f.ledger.quota(id).await.unwrap();
    (q.held, q.committed, q.exported)
}

async fn verified(f: &Fixture, ids: &[i64]) {
    for id in ids {
        assert_eq!(f.ledger.verify(*id).await.unwrap(), Vec::<String>::new());
    }
}

fn done(outcome: LinkedOutcome) -> Vec<quota::ReservationView> {
    match outcome {
        LinkedOutcome::Done { reservations, .. } => reservations,
        other => panic!("expected the reservation held: {other:?}"),
    }
}

on_both_backends!(a_linked_reservation_holds_every_quota_and_answers_each_quota_after_it);
async fn a_linked_reservation_holds_every_quota_and_answers_each_quota_after_it(backend: Backend) {
    let f = fixture(backend).await;
    let (genus, species) = nested(&f).await;
    // In any order: answered in quota id order.
    let first = reserve_both(&f, "k1", &[species, genus], "2").await;
    let LinkedOutcome::Done {
        reservations,
        quotas,
    } = first.clone()
    else {
        panic!("held: {first:?}");
    };
    assert_eq!(
        reservations.iter().map(|r| r.quota_id).collect::<Vec<_>>(),
        [genus, species]
    );
    assert!(
        (reservations.iter()).all(|r| r.state == ReservationState::Held && r.quantity == dec("2"))
    );
    // Box 11a of each quota: what it holds now and has left.
    let figures: Vec<(i64, Decimal, Decimal)> = (quotas.iter())
        .map(|q| (q.id, q.held, q.available))
        .collect();
    assert_eq!(
        figures,
        [(genus, dec("2"), dec("3")), (species, dec("2"), dec("0"))]
    );
    assert_eq!(counters(&f, genus).await, (dec("2"), dec("0"), dec("0")));
    assert_eq!(counters(&f, species).await, (dec("2"), dec("0"), dec("0")));
    assert_eq!(events(&f, genus).await, ["declare", "reserve"]);
    assert_eq!(events(&f, species).await, ["declare", "reserve"]);
    // A retry answers the first outcome and holds nothing more; other parameters conflict.
    assert_eq!(reserve_both(&f, "k1", &[genus, species], "2").await, first);
    assert_eq!(counters(&f, genus).await, (dec("2"), dec("0"), dec("0")));
    let other = f
        .ledger
        .reserve_linked(&key("k1"), &[genus], &qty("2", "NAR"), None, &actor("po"))
        .await;
    assert!(
        matches!(other, Err(quota::Error::KeyConflict { .. })),
        "{other:?}"
    );
    // The members know each other.
    let linked = f
        .ledger
        .linked_reservations(reservations[1].id)
        .await
        .unwrap();
    assert_eq!(linked, reservations);
    assert_eq!(
        f.ledger.reserved_linked_under(&key("k1")).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        f.ledger.reserved_linked_under(&key("none")).await.unwrap(),
        None
    );
    // One quota: exactly a reservation.
    let one = reserve_both(&f, "k2", &[genus], "1").await;
    let plain = f.ledger.reserved_under(&key("k2")).await.unwrap().unwrap();
    assert_eq!(one, LinkedOutcome::from(plain));
    assert_eq!(
        f.ledger.reserved_linked_under(&key("k2")).await.unwrap(),
        Some(one)
    );
    let bad = f
        .ledger
        .reserve_linked(
            &key("k3"),
            &[genus, genus],
            &qty("1", "NAR"),
            None,
            &actor("po"),
        )
        .await;
    assert_eq!(bad.unwrap_err().field(), Some("quota_ids"));
    verified(&f, &[genus, species]).await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    a_linked_reservation_is_refused_whole_when_the_inner_or_the_outer_quota_lacks_room
);
async fn a_linked_reservation_is_refused_whole_when_the_inner_or_the_outer_quota_lacks_room(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let (genus, species) = nested(&f).await;
    // The species quota holds 2: 3 is refused, and the genus holds nothing either.
    let inner = reserve_both(&f, "inner", &[genus, species], "3").await;
    let LinkedOutcome::Refused {
        quota_id,
        refusal,
        reservation,
        quotas,
    } = inner
    else {
        panic!("refused: {inner:?}");
    };
    assert_eq!(quota_id, species);
    assert_eq!(
        refusal,
        Refusal::QuotaExhausted {
            requested: dec("3"),
            available: dec("2"),
            unit: Some("NAR".into()),
        }
    );
    assert_eq!(reservation.unwrap().state, ReservationState::Rejected);
    assert_eq!(quotas.len(), 2);
    assert_eq!(counters(&f, genus).await, (dec("0"), dec("0"), dec("0")));
    assert_eq!(counters(&f, species).await, (dec("0"), dec("0"), dec("0")));
    assert_eq!(events(&f, species).await, ["declare", "reject"]);
    assert_eq!(events(&f, genus).await, ["declare"]);
    // The genus has 1 left after another species' permit: 2 is refused by the genus quota.
    let pusillus = f
        .ledger
        .reserve(
            &key("pusillus"),
            genus,
            &qty("4", "NAR"),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    assert!(matches!(pusillus, Outcome::Done { .. }));
    let outer = reserve_both(&f, "outer", &[genus, species], "2").await;
    let LinkedOutcome::Refused {
        quota_id, refusal, ..
    } = outer
    else {
        panic!("refused: {outer:?}");
    };
    assert_eq!(quota_id, genus);
    assert!(matches!(refusal, Refusal::QuotaExhausted { available, .. } if available == dec("1")));
    assert_eq!(counters(&f, genus).await, (dec("4"), dec("0"), dec("0")));
    assert_eq!(counters(&f, species).await, (dec("0"), dec("0"), dec("0")));
    // Outside a period: refused the same way, nothing held.
    f.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 1, 2, 0, 0, 0).unwrap());
    let late = reserve_both(&f, "late", &[genus, species], "1").await;
    assert!(matches!(
        late,
        LinkedOutcome::Refused { quota_id, refusal: Refusal::OutsidePeriod { .. }, .. }
            if quota_id == genus
    ));
    verified(&f, &[genus, species]).await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(a_commit_an_export_and_a_close_of_one_member_move_every_member);
async fn a_commit_an_export_and_a_close_of_one_member_move_every_member(backend: Backend) {
    let f = fixture(backend).await;
    let (genus, species) = nested(&f).await;
    let held = done(reserve_both(&f, "r", &[genus, species], "2").await);
    let (g, s) = (held[0].id, held[1].id);
    let po = actor("po");
    // Committed through the species' member, for less than held: the rest returns to both.
    let committed = f
        .ledger
        .commit(&key("c"), s, Some(&qty("1", "NAR")), None, &po)
        .await
        .unwrap();
    let Outcome::Done { reservation, quota } = &committed else {
        panic!("committed: {committed:?}");
    };
    assert_eq!((reservation.id, quota.id), (s, species));
    assert_eq!(counters(&f, genus).await, (dec("0"), dec("1"), dec("0")));
    assert_eq!(counters(&f, species).await, (dec("0"), dec("1"), dec("0")));
    // Retried: the first answer, nothing moves again.
    let again = f
        .ledger
        .commit(&key("c"), s, Some(&qty("1", "NAR")), None, &po)
        .await
        .unwrap();
    assert_eq!(again, committed);
    // An export through the genus's member counts against both.
    f.ledger
        .record_export(&key("e"), g, &qty("1", "NAR"), &po)
        .await
        .unwrap();
    assert_eq!(counters(&f, genus).await, (dec("0"), dec("0"), dec("1")));
    assert_eq!(counters(&f, species).await, (dec("0"), dec("0"), dec("1")));
    // A second export is refused whole, audited on both quotas.
    let refused = f
        .ledger
        .record_export(&key("e2"), s, &qty("1", "NAR"), &po)
        .await
        .unwrap();
    assert!(matches!(
        refused,
        Outcome::Refused {
            refusal: Refusal::ExceedsReservation { .. },
            ..
        }
    ));
    f.ledger.close(&key("x"), g, &po).await.unwrap();
    for id in [g, s] {
        let r = f.ledger.reservation(id).await.unwrap();
        assert_eq!((r.state, r.exported), (ReservationState::Closed, dec("1")));
    }
    for quota_id in [genus, species] {
        assert_eq!(
            events(&f, quota_id).await,
            [
                "declare",
                "reserve",
                "commit",
                "export",
                "export_refused",
                "close"
            ]
        );
    }
    verified(&f, &[genus, species]).await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(a_release_and_the_sweeper_s_expiry_and_close_move_every_member);
async fn a_release_and_the_sweeper_s_expiry_and_close_move_every_member(backend: Backend) {
    let f = fixture(backend).await;
    let (genus, species) = nested(&f).await;
    let po = actor("po");
    let first = done(reserve_both(&f, "r1", &[genus, species], "1").await);
    let released = f
        .ledger
        .release(&key("rel"), first[0].id, &po)
        .await
        .unwrap();
    assert!(matches!(released, Outcome::Done { .. }));
    for r in &first {
        let r = f.ledger.reservation(r.id).await.unwrap();
        assert_eq!(r.state, ReservationState::Released);
    }
    // Refused on any member now: nothing is held any more.
    let twice = f
        .ledger
        .release(&key("rel2"), first[1].id, &po)
        .await
        .unwrap();
    assert!(matches!(
        twice,
        Outcome::Refused {
            refusal: Refusal::WrongState { .. },
            ..
        }
    ));
    assert_eq!(counters(&f, genus).await, (dec("0"), dec("0"), dec("0")));
    // A hold of both, expired by the sweeper at its end, never before.
    let until = t0() + chrono::Duration::days(3);
    let second = f
        .ledger
        .reserve_linked(
            &key("r2"),
            &[genus, species],
            &qty("2", "NAR"),
            Some(until),
            &po,
        )
        .await
        .unwrap();
    let second = done(second);
    f.clock.set(until - chrono::Duration::seconds(1));
    assert_eq!(f.ledger.sweep(&actor("sweeper")).await.unwrap().expired, 0);
    f.clock.set(until);
    assert_eq!(f.ledger.sweep(&actor("sweeper")).await.unwrap().expired, 2);
    for r in &second {
        let r = f.ledger.reservation(r.id).await.unwrap();
        assert_eq!(r.state, ReservationState::Expired);
    }
    assert_eq!(counters(&f, genus).await, (dec("0"), dec("0"), dec("0")));
    assert_eq!(counters(&f, species).await, (dec("0"), dec("0"), dec("0")));
    assert_eq!(
        events(&f, species).await,
        [
            "declare",
            "reserve",
            "release",
            "release_refused",
            "reserve",
            "expire"
        ]
    );
    // A permit of both, closed by the sweeper when its validity ends: both return.
    let third = done(reserve_both(&f, "r3", &[genus, species], "2").await);
    let valid = until + chrono::Duration::days(30);
    f.ledger
        .commit(&key("c3"), third[1].id, None, Some(valid), &po)
        .await
        .unwrap();
    assert_eq!(counters(&f, genus).await, (dec("0"), dec("2"), dec("0")));
    f.clock.set(valid);
    assert_eq!(f.ledger.sweep(&actor("sweeper")).await.unwrap().closed, 2);
    for r in &third {
        let r = f.ledger.reservation(r.id).await.unwrap();
        assert_eq!(r.state, ReservationState::Closed);
    }
    assert_eq!(counters(&f, genus).await, (dec("0"), dec("0"), dec("0")));
    assert_eq!(counters(&f, species).await, (dec("0"), dec("0"), dec("0")));
    verified(&f, &[genus, species]).await;
    f.t.drop_db().await.unwrap();
}

/// Species limit and genus limit of the race.
const RACE_SPECIES: i64 = 8;
const RACE_GENUS: i64 = 20;

on_both_backends!(
    multi_thread linked_and_plain_reservations_racing_never_exceed_either_limit
);
async fn linked_and_plain_reservations_racing_never_exceed_either_limit(backend: Backend) {
    let f = fixture(backend).await;
    let genus = declare(
        &f,
        "Arctocephalus race",
        Some(&RACE_GENUS.to_string()),
        "NAR",
    )
    .await;
    let species = declare(
        &f,
        "A. forsteri race",
        Some(&RACE_SPECIES.to_string()),
        "NAR",
    )
    .await;
    let ledger = Arc::new(f.ledger.clone());
    let mut tasks = Vec::new();
    // 8 tasks reserve the species (linked with the genus), 8 others the genus alone, 1
    // specimen at a time, until each has asked 3: 24 linked against 8, 48 in all against 20.
    for t in 0..16usize {
        let ledger: Arc<Ledger> = ledger.clone();
        let ids = if t % 2 == 0 {
            vec![species.id, genus.id]
        } else {
            vec![genus.id]
        };
        tasks.push(tokio::spawn(async move {
            let mut granted = 0i64;
            for i in 0..3 {
                let k = key(&format!("race-{t}-{i}"));
                let out = ledger
                    .reserve_linked(&k, &ids, &qty("1", "NAR"), None, &actor("po"))
                    .await
                    .unwrap();
                if let LinkedOutcome::Done { .. } = out {
                    granted += 1;
                }
            }
            (ids.len() == 2, granted)
        }));
    }
    let (mut linked, mut plain) = (0i64, 0i64);
    for t in tasks {
        let (is_linked, granted) = t.await.unwrap();
        if is_linked {
            linked += granted;
        } else {
            plain += granted;
        }
    }
    let g = f.ledger.quota(genus.id).await.unwrap();
    let s = f.ledger.quota(species.id).await.unwrap();
    assert!(s.held + s.committed <= Decimal::from(RACE_SPECIES), "{s:?}");
    assert!(g.held + g.committed <= Decimal::from(RACE_GENUS), "{g:?}");
    assert_eq!(s.held, Decimal::from(linked));
    assert_eq!(g.held, Decimal::from(linked + plain));
    // Demand exceeded both: the genus is used up.
    assert_eq!(g.available, Decimal::ZERO, "{g:?}");
    verified(&f, &[genus.id, species.id]).await;
    f.t.drop_db().await.unwrap();
}
