//! Group commit: the same guarantees as one transaction per reservation.

use std::sync::Arc;

use db::Backend;
use quota::{Error, GroupCommit, Outcome};
use rust_decimal::Decimal;

use crate::support::*;

on_both_backends!(
    multi_thread group_commit_never_sells_the_last_units_twice_with_64_concurrent_reservers
);
async fn group_commit_never_sells_the_last_units_twice_with_64_concurrent_reservers(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "group-race", Some("20"), "KGM").await;
    let group = GroupCommit::start(f.ledger.clone());
    let mut tasks = Vec::new();
    for r in 0..64 {
        let group = group.clone();
        tasks.push(tokio::spawn(async move {
            let mut granted = Decimal::ZERO;
            for i in 0..3 {
                let n = Decimal::new(25 + ((r * 7 + i * 13) % 100) as i64, 2);
                let out = group
                    .reserve(
                        &key(&format!("g-{r}-{i}")),
                        q.id,
                        &qty(&n.to_string(), "KGM"),
                        None,
                        &actor("po"),
                    )
                    .await
                    .unwrap();
                if let Outcome::Done { .. } = out {
                    granted += n;
                }
            }
            granted
        }));
    }
    let mut granted = Decimal::ZERO;
    for t in tasks {
        granted += t.await.unwrap();
    }
    let after = f.ledger.quota(q.id).await.unwrap();
    assert!(granted <= dec("20"), "granted {granted}");
    assert_eq!(after.held, granted);
    assert!(after.available < dec("1.25"), "{after:?}");
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    // Batches really formed: fewer transactions than reservations is what the ledger cannot
    // show, but every request got its own outcome and the audit has one entry per request.
    assert_eq!(f.ledger.history(q.id).await.unwrap().len(), 1 + 64 * 3);
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread group_commit_answers_each_caller_alone_even_when_one_request_in_the_batch_is_bad
);
async fn group_commit_answers_each_caller_alone_even_when_one_request_in_the_batch_is_bad(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "group-mixed", Some("100"), "").await;
    let group = Arc::new(GroupCommit::start(f.ledger.clone()));
    let mut tasks = Vec::new();
    for i in 0..30 {
        let group = group.clone();
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                // The same key three times.
                0 => {
                    group
                        .reserve(&key("dup"), q.id, &qty("2", ""), None, &actor("po"))
                        .await
                }
                // A mass against a count quota.
                1 => {
                    group
                        .reserve(
                            &key(&format!("bad-{i}")),
                            q.id,
                            &qty("1", "KGM"),
                            None,
                            &actor("po"),
                        )
                        .await
                }
                _ => {
                    group
                        .reserve(
                            &key(&format!("ok-{i}")),
                            q.id,
                            &qty("1", ""),
                            None,
                            &actor("po"),
                        )
                        .await
                }
            }
        }));
    }
    let mut dup_ids = std::collections::BTreeSet::new();
    let (mut bad, mut ok) = (0, 0);
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await.unwrap();
        match i % 3 {
            0 => {
                dup_ids.insert(r.unwrap().reservation().unwrap().id);
            }
            1 => {
                assert!(matches!(r, Err(Error::Domain(_))), "{r:?}");
                bad += 1;
            }
            _ => {
                assert!(matches!(r, Ok(Outcome::Done { .. })), "{r:?}");
                ok += 1;
            }
        }
    }
    assert_eq!((dup_ids.len(), bad, ok), (1, 10, 10));
    let after = f.ledger.quota(q.id).await.unwrap();
    assert_eq!(
        after.held,
        dec("12"),
        "one duplicate reservation of 2 and ten of 1"
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread a_batched_refusal_replays_as_the_same_refusal_through_every_path);
async fn a_batched_refusal_replays_as_the_same_refusal_through_every_path(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "horns", Some("3"), "").await;
    let group = GroupCommit::start(f.ledger.clone());
    let granted = group
        .reserve(&key("g1"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(granted, Outcome::Done { .. }), "{granted:?}");
    let refused = group
        .reserve(&key("g2"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(refused, Outcome::Refused { .. }), "{refused:?}");
    for (what, again) in [
        (
            "group",
            group
                .reserve(&key("g2"), q.id, &qty("2", ""), None, &actor("po"))
                .await
                .unwrap(),
        ),
        (
            "ledger",
            f.ledger
                .reserve(&key("g2"), q.id, &qty("2", ""), None, &actor("po"))
                .await
                .unwrap(),
        ),
    ] {
        assert_eq!(again, refused, "replay through the {what}");
    }
    let again = f
        .ledger
        .reserve(&key("g1"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(
        again, granted,
        "a granted batch reservation replays identically"
    );
    group.shutdown().await;
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_batch_decided_on_counters_someone_else_moved_is_decided_again_under_lock
);
async fn a_batch_decided_on_counters_someone_else_moved_is_decided_again_under_lock(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "moved", Some("10"), "").await;
    let group = GroupCommit::start(f.ledger.clone());
    let first = group
        .reserve(&key("w1"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Done { .. }), "{first:?}");
    // Behind the writer's back (another instance, or the ledger directly): 5 more held.
    let other = f
        .ledger
        .reserve(&key("o1"), q.id, &qty("5", ""), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Done { reservation, .. } = other else {
        panic!("refused: {other:?}")
    };
    // On the writer's last counters 2 would fit (6 available); in truth 1 is left.
    let refused = group
        .reserve(&key("w2"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Refused {
        refusal: quota::Refusal::QuotaExhausted { available, .. },
        quota,
        ..
    } = &refused
    else {
        panic!("not refused for lack of quota: {refused:?}")
    };
    assert_eq!((*available, quota.held), (dec("1"), dec("9")));
    // Released behind its back again: the writer sees the units come back.
    f.ledger
        .release(&key("o1-release"), reservation.id, &actor("po"))
        .await
        .unwrap();
    let granted = group
        .reserve(&key("w3"), q.id, &qty("6", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(granted, Outcome::Done { .. }), "{granted:?}");
    assert_eq!(granted.quota().held, dec("10"));
    // And the replay of the refusal is still the refusal.
    let again = group
        .reserve(&key("w2"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(again, refused);
    group.shutdown().await;
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread two_writers_on_one_quota_never_sell_the_last_units_twice);
async fn two_writers_on_one_quota_never_sell_the_last_units_twice(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "two-writers", Some("25"), "").await;
    // Two instances of the service: two writers over two ledgers on the same database.
    let groups = [
        GroupCommit::start(f.ledger.clone()),
        GroupCommit::start(quota::Ledger::new(f.ledger.db().clone(), f.clock.clone())),
    ];
    let mut tasks = Vec::new();
    for r in 0..48 {
        let group = groups[r % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut granted = 0u32;
            for i in 0..2 {
                let out = group
                    .reserve(
                        &key(&format!("t-{r}-{i}")),
                        q.id,
                        &qty("1", ""),
                        None,
                        &actor("po"),
                    )
                    .await
                    .unwrap();
                if let Outcome::Done { .. } = out {
                    granted += 1;
                }
            }
            granted
        }));
    }
    let mut granted = 0;
    for t in tasks {
        granted += t.await.unwrap();
    }
    assert_eq!(granted, 25);
    assert_eq!(f.ledger.quota(q.id).await.unwrap().held, dec("25"));
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    for g in groups {
        g.shutdown().await;
    }
    f.t.drop_db().await.unwrap();
}

/// SQLite's group writer keeps a connection of its own and sends a batch's writes and its
/// COMMIT in one call: each answer must come from a committed transaction, and between
/// batches the writer must hold no lock that would keep another writer waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_every_answered_batch_is_committed_and_the_writer_holds_no_lock_between_batches()
{
    use sqlx::ConnectOptions;
    let f = fixture(Backend::Sqlite).await;
    let q = declare(&f, "group-own-connection", Some("1000"), "").await;
    let group = Arc::new(GroupCommit::start(f.ledger.clone()));
    // Waits for no lock: BEGIN IMMEDIATE fails at once if anyone holds the write lock.
    let options = std::str::FromStr::from_str(&f.t.url)
        .map(|o: sqlx::sqlite::SqliteConnectOptions| o.busy_timeout(std::time::Duration::ZERO))
        .unwrap();
    for round in 1..=3_i64 {
        let tasks = reserve_one_unit_each(&group, q.id, &format!("own-{round}"), 8);
        // A retry of the round before: its key was used, so its batch takes the general path.
        if round > 1 {
            let again = group
                .reserve(
                    &key(&format!("own-{}-0", round - 1)),
                    q.id,
                    &qty("1", ""),
                    None,
                    &actor("po"),
                )
                .await
                .unwrap();
            assert!(matches!(again, Outcome::Done { .. }), "{again:?}");
        }
        for t in tasks {
            let r = t.await.unwrap().unwrap();
            assert!(matches!(r, Outcome::Done { .. }), "{r:?}");
        }
        let mut other = options.connect().await.unwrap();
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .expect("the group writer holds the write lock between batches");
        let held: i64 = sqlx::query_scalar("SELECT held_micro FROM export_quotas WHERE id = $1")
            .bind(q.id)
            .fetch_one(&mut other)
            .await
            .unwrap();
        assert_eq!(
            held,
            round * 8 * 1_000_000,
            "round {round}: every answered reservation is committed"
        );
        sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    }
    Arc::try_unwrap(group).ok().unwrap().shutdown().await;
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_key_used_before_is_a_conflict_through_group_commit_even_against_an_unknown_quota
);
async fn a_key_used_before_is_a_conflict_through_group_commit_even_against_an_unknown_quota(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "group-unknown", Some("10"), "").await;
    let group = GroupCommit::start(f.ledger.clone());
    let first = group
        .reserve(&key("used"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Done { .. }), "{first:?}");
    let unknown = q.id + 1_000;
    let again = group
        .reserve(&key("used"), unknown, &qty("1", ""), None, &actor("po"))
        .await;
    assert!(matches!(again, Err(Error::KeyConflict { .. })), "{again:?}");
    let fresh = group
        .reserve(&key("fresh"), unknown, &qty("1", ""), None, &actor("po"))
        .await;
    assert!(
        matches!(fresh, Err(Error::QuotaNotFound(id)) if id == unknown),
        "{fresh:?}"
    );
    group.shutdown().await;
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

/// An in-memory SQLite database lives in its pool's one connection, which group commit shares
/// with everyone else: what it writes, the ledger reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_in_memory_sqlite_database_group_commit_and_the_ledger_see_one_database() {
    let db = db::Db::connect("sqlite::memory:").await.unwrap();
    let clock = Arc::new(domain::ManualClock::new(t0()));
    let ledger = quota::Ledger::new(db, clock);
    let q = declare_on(&ledger, "in-memory", Some("10"), "").await;
    let group = Arc::new(GroupCommit::start(ledger.clone()));
    let tasks = reserve_one_unit_each(&group, q.id, "mem", 12);
    let mut granted = 0;
    for t in tasks {
        if matches!(t.await.unwrap().unwrap(), Outcome::Done { .. }) {
            granted += 1;
        }
    }
    assert_eq!(granted, 10, "ten units, twelve asking");
    // The ledger, through the pool, sees the same database the group wrote to.
    let after = ledger.quota(q.id).await.unwrap();
    assert_eq!((after.held, after.available), (dec("10"), dec("0")));
    assert!(ledger.verify(q.id).await.unwrap().is_empty());
    Arc::try_unwrap(group).ok().unwrap().shutdown().await;
}

/// `n` concurrent reservations of one unit through `group`, keyed `{prefix}-{i}`.
fn reserve_one_unit_each(
    group: &Arc<GroupCommit>,
    quota_id: i64,
    prefix: &str,
    n: usize,
) -> Vec<tokio::task::JoinHandle<quota::Result<Outcome>>> {
    (0..n)
        .map(|i| {
            let (group, k) = (group.clone(), key(&format!("{prefix}-{i}")));
            tokio::spawn(async move {
                group
                    .reserve(&k, quota_id, &qty("1", ""), None, &actor("po"))
                    .await
            })
        })
        .collect()
}
