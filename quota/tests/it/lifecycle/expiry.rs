//! Holds that expire, swept in the order they fell due a thousand at a time, and permits whose
//! validity ends unexported.

use db::Backend;
use quota::{Outcome, Refusal, ReservationState};

use crate::support::*;

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
