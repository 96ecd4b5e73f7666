//! The permits the ledger has issued, as the application's permit register reads them: one
//! per permit (a linked reservation's first member), committed or closed, never a hold, with
//! the exporter, the taxon and the instants of the commit and the close; page by page.

use db::Backend;
use quota::{LinkedOutcome, ReservationState};

use crate::support::*;

on_both_backends!(issued_permits_are_one_per_permit_with_their_commit_and_close);
async fn issued_permits_are_one_per_permit_with_their_commit_and_close(backend: Backend) {
    let f = fixture(backend).await;
    let genus = declare(&f, "Arctocephalus", Some("5"), "NAR").await;
    let species = declare(&f, "Arctocephalus forsteri", Some("2"), "NAR").await;
    let linked = match f
        .ledger
        .reserve_linked(
            &key("l"),
            &[genus.id, species.id],
            &qty("2", "NAR"),
            None,
            &actor("po"),
        )
        .await
        .unwrap()
    {
        LinkedOutcome::Done { reservations, .. } => reservations,
        other => panic!("held: {other:?}"),
    };
    let single = hold(&f, "s", genus.id).await;
    let held = hold(&f, "h", genus.id).await;
    assert!(
        f.ledger
            .issued_permits(0, 10, None)
            .await
            .unwrap()
            .is_empty()
    );

    // Committed through its second member: the permit is the first member's.
    f.ledger
        .commit(&key("c1"), linked[1].id, None, None, &actor("po"))
        .await
        .unwrap();
    f.clock.advance(chrono::Duration::hours(1));
    f.ledger
        .commit(&key("c2"), single, None, None, &actor("po"))
        .await
        .unwrap();
    f.clock.advance(chrono::Duration::hours(1));
    f.ledger
        .close(&key("x2"), single, &actor("po"))
        .await
        .unwrap();

    let permits = f.ledger.issued_permits(0, 10, None).await.unwrap();
    let seen: Vec<_> = permits
        .iter()
        .map(|p| {
            (
                p.reservation.id,
                p.reservation.state,
                p.committed_at,
                p.closed_at,
            )
        })
        .collect();
    let hour = |h: i64| Some(t0() + chrono::Duration::hours(h));
    assert_eq!(
        seen,
        [
            (linked[0].id, ReservationState::Committed, hour(0), None),
            (single, ReservationState::Closed, hour(1), hour(2)),
        ]
    );
    assert_eq!(
        (
            permits[0].exporter.as_str(),
            permits[0].taxon_id,
            &permits[0].reservation.unit
        ),
        ("NA", genus.taxon_id, &"NAR".to_owned())
    );
    // One permit by any member; a hold is none; pages follow the reservation ids.
    assert_eq!(of(&f, linked[1].id).await, [linked[0].id]);
    assert_eq!(of(&f, single).await, [single]);
    assert_eq!(of(&f, held).await, Vec::<i64>::new());
    let page = f
        .ledger
        .issued_permits(linked[0].id, 1, None)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|p| p.reservation.id).collect::<Vec<_>>(),
        [single]
    );
    f.t.drop_db().await.unwrap();
}

/// A hold of one specimen on quota `quota_id`: its id.
async fn hold(f: &Fixture, k: &str, quota_id: i64) -> i64 {
    let (k, q, a) = (key(k), qty("1", "NAR"), actor("po"));
    let o = f.ledger.reserve(&k, quota_id, &q, None, &a).await.unwrap();
    o.reservation().unwrap().id
}

/// The reservation ids of the permit of reservation `id`.
async fn of(f: &Fixture, id: i64) -> Vec<i64> {
    let p = f.ledger.issued_permits(0, 10, Some(id)).await.unwrap();
    p.iter().map(|p| p.reservation.id).collect()
}
