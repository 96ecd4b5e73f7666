//! One reservation held, committed for less, exported and closed; exact unit conversion; quotas
//! at zero or in preparation that refuse every reservation.

use db::Backend;
use quota::{Error, Outcome, Refusal, ReservationState};

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
