//! PostgreSQL backends terminated under load (workload W5 of the quota notes: "on PG, backends
//! are also killed"). A connection can break before a request reaches the server, while it
//! runs, or after its commit but before its answer comes back. The engine retries each request
//! with its key, so no caller sees the break, nothing is applied twice, and the last units are
//! still sold once. The retries end at `quota::WRITE_DEADLINE`: on a machine loaded enough that
//! every connection a request gets is terminated before it finishes, for that long, the caller
//! is told `Busy` (a 503) and sends the request again with its key, as the contract says; it
//! never sees the broken connection itself. SQLite has no server connection to lose: the test
//! is PostgreSQL's alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use db::Backend;
use quota::{GroupCommit, Outcome};
use rust_decimal::Decimal;

use crate::support::*;

const CLIENTS: usize = 12;
/// Reservations each client asks for, of one unit each.
const REQUESTS_PER_CLIENT: usize = 40;
const LIMIT: &str = "60";
/// How often every connection of the engine's database is terminated.
const TERMINATE_EVERY: Duration = Duration::from_millis(200);
/// Times a request answered `Busy` is sent again with its key, at most.
const BUSY_RESENDS_MAX: usize = 5;

/// `op` (one request under its key) until it answers other than `Busy`, counting in `busy` the
/// answers it did not.
async fn until_definite<T, F, Fut>(busy: &AtomicUsize, mut op: F) -> quota::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = quota::Result<T>>,
{
    for _ in 0..BUSY_RESENDS_MAX {
        match op().await {
            Err(quota::Error::Busy(_)) => {
                busy.fetch_add(1, Ordering::Relaxed);
            }
            other => return other,
        }
    }
    op().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_terminated_connections_never_reach_a_caller_and_nothing_is_sold_twice() {
    let f = fixture(Backend::Postgres).await;
    let q = declare(&f, "terminated", Some(LIMIT), "").await;
    let group = GroupCommit::start(f.ledger.clone());

    // Terminates every other connection to the test database, again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let terminator = tokio::spawn({
        let (stop, url) = (stop.clone(), f.t.url.clone());
        async move {
            let mut terminated = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                terminated += db::TestDb::terminate_connections_to(&url).await.unwrap();
                tokio::time::sleep(TERMINATE_EVERY).await;
            }
            terminated
        }
    });

    let busy = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (ledger, group, busy) = (f.ledger.clone(), group.clone(), busy.clone());
        let quota_id = q.id;
        clients.push(tokio::spawn(async move {
            let po = actor("po");
            let mut answers = Vec::new();
            for i in 0..REQUESTS_PER_CLIENT {
                let k = key(&format!("t{c}-{i}"));
                let one = qty("1", "");
                let answer = until_definite(&busy, || async {
                    if i % 2 == 0 {
                        ledger.reserve(&k, quota_id, &one, None, &actor("po")).await
                    } else {
                        group.reserve(&k, quota_id, &one, None, &actor("po")).await
                    }
                })
                .await;
                let answer = answer.unwrap_or_else(|e| panic!("client {c} request {i}: {e:?}"));
                // Every other grant is released again, so the quota keeps moving both ways.
                if let (Outcome::Done { reservation, .. }, true) = (&answer, i % 4 == 0) {
                    let rk = key(&format!("t{c}-{i}-release"));
                    let released =
                        until_definite(&busy, || ledger.release(&rk, reservation.id, &po))
                            .await
                            .unwrap_or_else(|e| panic!("client {c} release {i}: {e:?}"));
                    assert!(matches!(released, Outcome::Done { .. }), "{released:?}");
                }
                // Others are committed, and the commit sent again (as after a lost answer)
                // must answer as the first time.
                if let (Outcome::Done { reservation, .. }, 2) = (&answer, i % 4) {
                    let ck = key(&format!("t{c}-{i}-commit"));
                    let mut commits = Vec::new();
                    for _ in 0..2 {
                        commits.push(
                            until_definite(&busy, || {
                                ledger.commit(&ck, reservation.id, None, None, &po)
                            })
                            .await
                            .unwrap_or_else(|e| panic!("client {c} commit {i}: {e:?}")),
                        );
                    }
                    assert!(matches!(commits[0], Outcome::Done { .. }), "{commits:?}");
                    assert_eq!(commits[0], commits[1], "client {c} commit {i}");
                }
                answers.push((k, answer));
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for c in clients {
        answers.extend(c.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let terminated = terminator.await.unwrap();
    assert!(
        terminated > 0,
        "no connection was terminated: the test proves nothing"
    );

    // Every request answered once, and the same again now.
    let mut granted = 0;
    for (k, first) in &answers {
        let again = f.ledger.reserved_under(k).await.unwrap();
        assert_eq!(again.as_ref(), Some(first), "{k:?}");
        if matches!(first, Outcome::Done { .. }) {
            granted += 1;
        }
    }
    let v = f.ledger.quota(q.id).await.unwrap();
    assert!(v.held <= dec(LIMIT), "{v:?}");
    assert_eq!(
        v.available,
        Decimal::ZERO,
        "demand exceeds the quota: it ends full"
    );
    assert!(
        granted > 0 && v.held < Decimal::from(granted),
        "{granted} granted, {v:?}"
    );
    let broken = f.ledger.verify(q.id).await.unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    println!(
        "{terminated} connections terminated; {} requests, {granted} granted, all answered; \
         {} busy answers sent again",
        answers.len(),
        busy.load(Ordering::Relaxed)
    );
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}
