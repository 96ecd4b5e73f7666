//! A quota's history grows only at its end, whatever runs at once (what clients observe must
//! not contradict `seq`). A reader that has seen entry `s` has
//! seen every entry of that quota before `s`, so an auditor can page through the history by
//! sequence number, or keep a copy up to date, without ever missing an entry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use db::Backend;
use quota::{Error, GroupCommit, Outcome};

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
on_both_backends!(
    multi_thread a_reader_sees_a_quota_s_history_grow_only_at_its_end_while_writers_race
);

async fn a_history_read_page_by_page_is_the_whole_history_with_the_counters_after_each_entry(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "paged", Some("10"), "KIL").await;
    // Grants, a partial commit, an export, releases and refusals once the quota runs out.
    for i in 0..14 {
        let answer = f
            .ledger
            .reserve(
                &key(&format!("p{i}")),
                q.id,
                &qty("1500", "GRM"),
                None,
                &actor("po"),
            )
            .await
            .unwrap();
        let Outcome::Done { reservation, .. } = answer else {
            continue;
        };
        let k = key(&format!("p{i}-next"));
        if i % 2 == 0 {
            f.ledger
                .commit(
                    &k,
                    reservation.id,
                    Some(&qty("1", "KIL")),
                    None,
                    &actor("po"),
                )
                .await
                .unwrap();
            f.ledger
                .record_export(
                    &key(&format!("p{i}-x")),
                    reservation.id,
                    &qty("0.25", "KIL"),
                    &actor("customs"),
                )
                .await
                .unwrap();
        } else if i % 3 == 0 {
            f.ledger
                .release(&k, reservation.id, &actor("po"))
                .await
                .unwrap();
        }
    }
    let whole = f.ledger.history(q.id).await.unwrap();
    assert!(
        whole.iter().any(|e| e.event == "reject"),
        "the quota must run out"
    );

    let (mut paged, mut after, mut pages) = (Vec::new(), 0, 0);
    loop {
        let page = f.ledger.history_page(q.id, after, 4).await.unwrap();
        assert!(page.entries.len() <= 4);
        assert!(page.entries.iter().all(|e| e.seq > after));
        pages += 1;
        paged.extend(page.entries);
        match page.next_after {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(paged, whole, "the pages, end to end, are the history");
    for page in [1, 3, 4] {
        assert_eq!(f.ledger.history_read_by(q.id, page).await.unwrap(), whole);
    }
    assert_eq!(pages, whole.len().div_ceil(4).max(1));

    // Each entry's counters are the previous ones moved by its deltas, from zero at the
    // declaration to the quota's counters now.
    let (mut held, mut committed, mut exported) = (dec("0"), dec("0"), dec("0"));
    for e in &whole {
        held += e.delta_held;
        committed += e.delta_committed;
        exported += e.delta_exported;
        assert_eq!(
            (e.held_after, e.committed_after, e.exported_after),
            (held, committed, exported),
            "entry {}",
            e.seq
        );
        assert_eq!(e.limit, Some(dec("10")));
    }
    let now = f.ledger.quota(q.id).await.unwrap();
    let last = whole.last().unwrap();
    assert_eq!(
        (last.held_after, last.committed_after, last.exported_after),
        (now.held, now.committed, now.exported)
    );
    assert!(now.exported > dec("0") && now.held > dec("0"), "{now:?}");

    // Bad paging names its field; an unknown quota is not an empty history.
    for (after, limit, field) in [
        (-1, 4, "after"),
        (0, 0, "limit"),
        (0, quota::HISTORY_PAGE_MAX + 1, "limit"),
    ] {
        match f.ledger.history_page(q.id, after, limit).await {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("after {after} limit {limit}: {other:?}"),
        }
    }
    assert!(matches!(
        f.ledger.history_page(q.id + 1000, 0, 4).await,
        Err(Error::QuotaNotFound(_))
    ));
    // `after` must name one of this quota's entries: another quota's entry, or a number past
    // the end, could fall between the entries of a write still in flight.
    let other = declare(&f, "other", Some("1"), "").await;
    let others_entry = f.ledger.history(other.id).await.unwrap()[0].seq;
    let past_the_end = whole.last().unwrap().seq + 1_000;
    for after in [others_entry, past_the_end] {
        match f.ledger.history_page(q.id, after, 4).await {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "after"),
            answer => panic!("after {after}: {answer:?}"),
        }
    }
    f.t.drop_db().await.unwrap();
}
on_both_backends!(
    multi_thread a_history_read_page_by_page_is_the_whole_history_with_the_counters_after_each_entry
);

on_both_backends!(
    multi_thread a_refused_reservation_s_history_entry_shows_the_quantity_asked_and_why
);
async fn a_refused_reservation_s_history_entry_shows_the_quantity_asked_and_why(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "refusals-shown", Some("2"), "KGM").await;
    let group = GroupCommit::start(f.ledger.clone());
    // One refusal on each path a reservation takes: alone, and in a group-commit batch.
    let alone = f
        .ledger
        .reserve(&key("alone"), q.id, &qty("2500", "GRM"), None, &actor("po"))
        .await
        .unwrap();
    let batched = group
        .reserve(&key("batched"), q.id, &qty("3", "KGM"), None, &actor("po"))
        .await
        .unwrap();
    let granted = group
        .reserve(&key("granted"), q.id, &qty("1", "KGM"), None, &actor("po"))
        .await
        .unwrap();
    group.shutdown().await;
    assert!(matches!(alone, Outcome::Refused { .. }), "{alone:?}");
    assert!(matches!(batched, Outcome::Refused { .. }), "{batched:?}");
    assert!(matches!(granted, Outcome::Done { .. }), "{granted:?}");
    let history = f.ledger.history(q.id).await.unwrap();
    let shown: Vec<(&str, Option<String>, bool)> = history
        .iter()
        .map(|e| {
            let why = e.refusal_message.as_deref().unwrap_or_default();
            (
                e.event.as_str(),
                e.requested.map(|r| r.normalize().to_string()),
                why.contains("available"),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            ("declare", None, false),
            // Asked in grams, kept in the quota's unit.
            ("reject", Some("2.5".to_owned()), true),
            ("reject", Some("3".to_owned()), true),
            ("reserve", None, false),
        ]
    );
    // The entries still move no counter, and the page a client reads carries the same.
    assert!(history[1..3].iter().all(|e| e.delta_held.is_zero()));
    let page = f.ledger.history_page(q.id, 0, 10).await.unwrap();
    assert_eq!(page.entries, history);
    f.t.drop_db().await.unwrap();
}

/// On PostgreSQL, where writers run at once: an export that arrives while another instance is
/// committing its permit waits for that commit and is decided on the permit it made, never
/// refused as "held, not committed" in an entry written after the commit's. (SQLite's write
/// transactions run one at a time: nothing to race.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_export_racing_a_commit_is_decided_on_the_committed_permit() {
    use domain::Clock;
    use sqlx::Connection;

    let f = fixture(Backend::Postgres).await;
    let q = declare(&f, "racing-export", Some("10"), "KGM").await;
    let held = f
        .ledger
        .reserve(&key("r"), q.id, &qty("5", "KGM"), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Done { reservation, .. } = held else {
        panic!("{held:?}")
    };
    // Another instance's commit, in flight: its rows written, its transaction still open.
    let mut other = sqlx::PgConnection::connect(&f.t.url).await.unwrap();
    let mut commit = other.begin().await.unwrap();
    for sql in [
        "UPDATE quota_reservations SET state = 'committed', committed_micro = quantity_micro \
         WHERE id = $1",
        "UPDATE export_quotas SET held_micro = held_micro - 5000000, \
         committed_micro = committed_micro + 5000000 \
         WHERE id = (SELECT quota_id FROM quota_reservations WHERE id = $1)",
    ] {
        sqlx::query(sql)
            .bind(reservation.id)
            .execute(&mut *commit)
            .await
            .unwrap();
    }
    // Dated by the test's clock, within the quota's year, as the ledger would date it.
    sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
         delta_committed, delta_exported, limit_micro, actor, at) \
         SELECT quota_id, id, 'commit', -5000000, 5000000, 0, 10000000, 'other', $2 \
         FROM quota_reservations WHERE id = $1",
    )
    .bind(reservation.id)
    .bind(f.clock.now())
    .execute(&mut *commit)
    .await
    .unwrap();
    let export = tokio::spawn({
        let ledger = f.ledger.clone();
        async move {
            ledger
                .record_export(
                    &key("e"),
                    reservation.id,
                    &qty("2", "KGM"),
                    &actor("customs"),
                )
                .await
        }
    });
    // Until the export waits for a lock the commit in flight holds: it has read what it
    // decides on by then, before the commit ends.
    let mut watcher = sqlx::PgConnection::connect(&f.t.url).await.unwrap();
    let mut waited = std::time::Duration::ZERO;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            waited < std::time::Duration::from_secs(30) && !export.is_finished(),
            "the export must wait for the commit in flight"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        waited += std::time::Duration::from_millis(20);
    }
    commit.commit().await.unwrap();
    let exported = export.await.unwrap().unwrap();
    assert!(
        matches!(exported, Outcome::Done { .. }),
        "exported on the committed permit: {exported:?}"
    );
    let events = events(&f, q.id).await;
    assert_eq!(events, ["declare", "reserve", "commit", "export"]);
    assert_eq!(f.ledger.verify(q.id).await.unwrap(), Vec::<String>::new());
    drop((other, watcher));
    f.t.drop_db().await.unwrap();
}
