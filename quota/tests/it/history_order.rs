//! A quota's history grows only at its end, whatever runs at once (quota-notes 5.2, invariant
//! 7: what clients observe must not contradict `seq`). A reader that has seen entry `s` has
//! seen every entry of that quota before `s`, so an auditor can page through the history by
//! sequence number, or keep a copy up to date, without ever missing an entry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use db::Backend;
use quota::{GroupCommit, Outcome};

use crate::support::*;

const WRITERS: usize = 6;
/// Requests each writer makes.
const REQUESTS_PER_WRITER: usize = 60;
/// Small, so that most requests near the end are refused (and write their refusal).
const LIMIT: &str = "8";

async fn a_reader_sees_a_quota_s_history_grow_only_at_its_end_while_writers_race(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "growing", Some(LIMIT), "").await;
    let group = GroupCommit::start(f.ledger.clone());
    let done = Arc::new(AtomicBool::new(false));

    let reader = tokio::spawn({
        let (ledger, done) = (f.ledger.clone(), done.clone());
        async move {
            let mut seen: Vec<i64> = Vec::new();
            let (mut reads, mut late) = (0, Vec::new());
            loop {
                let last = done.load(Ordering::Acquire);
                let now: Vec<i64> = ledger
                    .history(q.id)
                    .await
                    .unwrap()
                    .iter()
                    .map(|e| e.seq)
                    .collect();
                reads += 1;
                // Everything up to the last entry seen before must be exactly what was seen.
                let upto = seen.last().copied().unwrap_or(0);
                let prefix: Vec<i64> = now.iter().copied().filter(|s| *s <= upto).collect();
                if prefix != seen {
                    late.extend(prefix.iter().filter(|s| !seen.contains(s)).copied());
                }
                seen = now;
                if last {
                    return (reads, late, seen.len());
                }
                tokio::task::yield_now().await;
            }
        }
    });

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (ledger, group) = (f.ledger.clone(), group.clone());
        writers.push(tokio::spawn(async move {
            let mut refused = 0;
            for i in 0..REQUESTS_PER_WRITER {
                let k = key(&format!("w{w}-{i}"));
                let one = qty("1", "");
                let answer = if i % 2 == 0 {
                    ledger.reserve(&k, q.id, &one, None, &actor("po")).await
                } else {
                    group.reserve(&k, q.id, &one, None, &actor("po")).await
                }
                .unwrap();
                let Outcome::Done { reservation, .. } = answer else {
                    refused += 1;
                    continue;
                };
                // Give most of it back, so the quota keeps moving both ways; commit the rest.
                let k = key(&format!("w{w}-{i}-next"));
                let next = if i % 3 == 0 {
                    ledger
                        .commit(&k, reservation.id, None, None, &actor("po"))
                        .await
                } else {
                    ledger.release(&k, reservation.id, &actor("po")).await
                };
                assert!(matches!(next.unwrap(), Outcome::Done { .. }));
            }
            refused
        }));
    }
    let mut refused = 0;
    for w in writers {
        refused += w.await.unwrap();
    }
    done.store(true, Ordering::Release);
    let (reads, late, entries) = reader.await.unwrap();
    let history = f.ledger.history(q.id).await.unwrap();
    let late: Vec<String> = (history.iter())
        .filter(|e| late.contains(&e.seq))
        .map(|e| format!("{} {}", e.seq, e.event))
        .collect();
    assert!(
        late.is_empty(),
        "entries appeared behind ones already read ({late:?}): a reader paging by seq would \
         miss them"
    );
    assert!(
        refused > 0,
        "the race must refuse, so that refusals are in the history"
    );
    assert!(
        reads > 10,
        "the reader must read while the writers write: {reads} reads"
    );
    assert!(entries > WRITERS * REQUESTS_PER_WRITER, "{entries} entries");
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_reader_sees_a_quota_s_history_grow_only_at_its_end_while_writers_race);
