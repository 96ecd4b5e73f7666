//! Races: the last unit, duplicate storms, commits against the sweeper; and a naive
//! read-then-write implementation run through the same harness, which must be caught.

use std::sync::Arc;

use db::{Backend, with_db};
use domain::Clock;
use quota::{Ledger, Outcome, ReservationState};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::support::*;

/// Quota limit of the races, in kilograms (quantities with decimals are masses).
const RACE_LIMIT: i64 = 20;

/// `reservers` tasks reserve random decimal quantities until their share of twice the limit
/// is asked for; returns the sum granted.
async fn race(ledger: Arc<Ledger>, quota_id: i64, reservers: usize, seed: u64) -> Decimal {
    let demand_each = Decimal::from(2 * RACE_LIMIT) / Decimal::from(reservers as i64);
    let mut tasks = Vec::new();
    for r in 0..reservers {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed + r as u64);
            let mut asked = Decimal::ZERO;
            let mut granted = Decimal::ZERO;
            let mut i = 0;
            while asked < demand_each {
                // 0.25 to 3.00 units, in hundredths.
                let q = Decimal::new(rng.random_range(25..=300), 2);
                asked += q;
                i += 1;
                let out = ledger
                    .reserve(
                        &key(&format!("race-{quota_id}-{r}-{i}")),
                        quota_id,
                        &qty(&q.to_string(), "KGM"),
                        None,
                        &actor("po"),
                    )
                    .await
                    .unwrap();
                if let Outcome::Done { .. } = out {
                    granted += q;
                }
            }
            granted
        }));
    }
    let mut total = Decimal::ZERO;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

on_both_backends!(
    multi_thread the_last_units_are_never_sold_twice_with_2_to_64_concurrent_reservers
);
async fn the_last_units_are_never_sold_twice_with_2_to_64_concurrent_reservers(backend: Backend) {
    let f = fixture(backend).await;
    let ledger = Arc::new(f.ledger.clone());
    for (i, reservers) in [2usize, 4, 8, 16, 32, 64].into_iter().enumerate() {
        let q = declare(
            &f,
            &format!("race-{reservers}"),
            Some(&RACE_LIMIT.to_string()),
            "KGM",
        )
        .await;
        let granted = race(ledger.clone(), q.id, reservers, 100 * i as u64).await;
        let after = f.ledger.quota(q.id).await.unwrap();
        assert!(
            granted <= Decimal::from(RACE_LIMIT),
            "{reservers} reservers: granted {granted}"
        );
        assert_eq!(
            granted,
            Decimal::from(RACE_LIMIT) - after.available,
            "{reservers} reservers"
        );
        assert_eq!(after.held, granted);
        // Twice the limit was asked for: the quota ends (nearly) used up.
        assert!(
            after.available < dec("3"),
            "{reservers} reservers: {after:?}"
        );
        assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    }
    f.t.drop_db().await.unwrap();
}

/// The naive way: read what is available, then write the new counter, in two autocommitted
/// statements. Returns the sum it granted.
async fn naive_race(db: &db::Db, quota_id: i64, reservers: usize) -> i64 {
    let mut tasks = Vec::new();
    for r in 0..reservers {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut granted = 0i64;
            for i in 0..(2 * RACE_LIMIT as usize / reservers + 1) {
                let n: i64 = 1_000_000 * (1 + ((r + i) % 2) as i64);
                let (limit, held): (i64, i64) = with_db!(&db, pool => sqlx::query_as(
                    "SELECT limit_micro, held_micro FROM export_quotas WHERE id = $1")
                    .bind(quota_id).fetch_one(pool).await)
                .unwrap();
                if limit - held < n {
                    continue;
                }
                // Time passes between the read and the write, as it does in an application.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                let ok = with_db!(&db, pool => sqlx::query(
                    "UPDATE export_quotas SET held_micro = $2 WHERE id = $1")
                    .bind(quota_id).bind(held + n).execute(pool).await.map(|r| r.rows_affected()));
                if ok.is_ok() {
                    granted += n;
                }
            }
            granted
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

on_both_backends!(
    multi_thread a_naive_read_then_write_implementation_is_caught_overselling_by_the_same_harness
);
async fn a_naive_read_then_write_implementation_is_caught_overselling_by_the_same_harness(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "naive", Some(&RACE_LIMIT.to_string()), "").await;
    let granted = naive_race(&f.t.db, q.id, 16).await;
    assert!(
        granted > RACE_LIMIT * 1_000_000,
        "the harness failed to catch the naive implementation: granted {granted} micro of {RACE_LIMIT}"
    );
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_storm_of_duplicate_requests_reserves_once_per_key_and_answers_alike
);
async fn a_storm_of_duplicate_requests_reserves_once_per_key_and_answers_alike(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "storm", Some("100"), "").await;
    let ledger = Arc::new(f.ledger.clone());
    let mut tasks = Vec::new();
    for k in 0..8 {
        for _copy in 0..4 {
            let ledger = ledger.clone();
            tasks.push(tokio::spawn(async move {
                let out = ledger
                    .reserve(
                        &key(&format!("storm-{k}")),
                        q.id,
                        &qty("3", ""),
                        None,
                        &actor("po"),
                    )
                    .await
                    .unwrap();
                (k, out)
            }));
        }
    }
    let mut answers: std::collections::BTreeMap<i32, Vec<Outcome>> = Default::default();
    for t in tasks {
        let (k, out) = t.await.unwrap();
        answers.entry(k).or_default().push(out);
    }
    for (k, outs) in &answers {
        let ids: std::collections::BTreeSet<i64> =
            outs.iter().map(|o| o.reservation().unwrap().id).collect();
        assert_eq!(ids.len(), 1, "key {k} made {} reservations", ids.len());
    }
    let after = f.ledger.quota(q.id).await.unwrap();
    assert_eq!(
        after.held,
        dec("24"),
        "8 keys x 3 units, whatever the copies"
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread commits_racing_the_sweeper_at_the_expiry_boundary_each_end_exactly_once
);
async fn commits_racing_the_sweeper_at_the_expiry_boundary_each_end_exactly_once(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "boundary", Some("1000"), "").await;
    let boundary = t0() + chrono::Duration::minutes(5);
    let mut ids = Vec::new();
    for i in 0..40i64 {
        // Expiries straddle the boundary: before it, exactly on it, after it.
        let expiry = boundary + chrono::Duration::milliseconds(i % 5 - 2);
        let r = f
            .ledger
            .reserve(
                &key(&format!("b{i}")),
                q.id,
                &qty("1", ""),
                Some(expiry),
                &actor("po"),
            )
            .await
            .unwrap();
        ids.push((r.reservation().unwrap().id, expiry));
    }
    f.clock.set(boundary);
    let ledger = Arc::new(f.ledger.clone());
    let mut tasks = Vec::new();
    for (i, (id, _)) in ids.iter().enumerate() {
        let committer = ledger.clone();
        let id = *id;
        tasks.push(tokio::spawn(async move {
            committer
                .commit(&key(&format!("c{i}")), id, None, None, &actor("po"))
                .await
                .unwrap();
        }));
        if i % 10 == 0 {
            let ledger = ledger.clone();
            tasks.push(tokio::spawn(async move {
                ledger.sweep(&actor("sweeper")).await.unwrap();
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    f.ledger.sweep(&actor("sweeper")).await.unwrap();
    for (id, expiry) in ids {
        let state = f.ledger.reservation(id).await.unwrap().state;
        let want = if expiry > boundary {
            ReservationState::Committed
        } else {
            ReservationState::Expired
        };
        assert_eq!(state, want, "reservation {id} expiring {expiry}");
    }
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

/// A Zipf-like pick among `n` items: item k with weight 1 / (k + 1)^s.
fn zipf(rng: &mut rand::rngs::StdRng, n: usize, s: f64) -> usize {
    let total: f64 = (0..n).map(|k| 1.0 / ((k + 1) as f64).powf(s)).sum();
    let mut x = rng.random_range(0.0..total);
    for k in 0..n {
        x -= 1.0 / ((k + 1) as f64).powf(s);
        if x <= 0.0 {
            return k;
        }
    }
    n - 1
}

on_both_backends!(multi_thread a_mixed_skewed_load_over_many_quotas_keeps_every_invariant);
async fn a_mixed_skewed_load_over_many_quotas_keeps_every_invariant(backend: Backend) {
    let f = fixture(backend).await;
    let mut quota_ids = Vec::new();
    for i in 0..200 {
        quota_ids.push(declare(&f, &format!("mix-{i}"), Some("8"), "KGM").await.id);
    }
    let quota_ids = Arc::new(quota_ids);
    let ledger = Arc::new(f.ledger.clone());
    let clock = f.clock.clone();
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let (ledger, quota_ids, clock) = (ledger.clone(), quota_ids.clone(), clock.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1_000 + w);
            let mut mine: Vec<i64> = Vec::new();
            for op in 0..60 {
                let k = key(&format!("mix-{w}-{op}"));
                let roll = rng.random_range(0..100);
                if roll < 60 || mine.is_empty() {
                    let q = quota_ids[zipf(&mut rng, quota_ids.len(), 0.99)];
                    // 5% of holds expire within a second of the injected clock.
                    let ttl = if rng.random_range(0..20) == 0 {
                        1
                    } else {
                        3_600
                    };
                    let expires = clock.now() + chrono::Duration::seconds(ttl);
                    let n = Decimal::new(rng.random_range(50..=250), 2);
                    let out = ledger
                        .reserve(
                            &k,
                            q,
                            &qty(&n.to_string(), "KGM"),
                            Some(expires),
                            &actor("po"),
                        )
                        .await
                        .unwrap();
                    if let Outcome::Done { reservation, .. } = out {
                        mine.push(reservation.id);
                    }
                } else {
                    let id = mine[rng.random_range(0..mine.len())];
                    if roll < 85 {
                        ledger
                            .commit(&k, id, None, None, &actor("po"))
                            .await
                            .unwrap();
                    } else if roll < 95 {
                        ledger.release(&k, id, &actor("po")).await.unwrap();
                    } else {
                        ledger.sweep(&actor("sweeper")).await.unwrap();
                    }
                }
            }
        }));
    }
    // The clock moves while the load runs, so short holds expire under it.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        f.clock.advance(chrono::Duration::milliseconds(400));
        f.ledger.sweep(&actor("sweeper")).await.unwrap();
    }
    for t in tasks {
        t.await.unwrap();
    }
    f.clock.advance(chrono::Duration::seconds(2));
    f.ledger.sweep(&actor("sweeper")).await.unwrap();
    let mut touched = 0;
    for id in quota_ids.iter() {
        let violations = f.ledger.verify(*id).await.unwrap();
        assert!(violations.is_empty(), "{violations:?}");
        if f.ledger.history(*id).await.unwrap().len() > 1 {
            touched += 1;
        }
    }
    assert!(
        touched >= 20,
        "the skewed load touched only {touched} quotas"
    );
    f.t.drop_db().await.unwrap();
}
