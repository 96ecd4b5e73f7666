//! A seeded model-based test: random operations on the engine and on an in-memory model of
//! the same rules; every outcome and every counter must agree.

use std::collections::HashMap;

use db::Backend;
use quota::{Outcome, Refusal};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::support::*;

/// Operations per seed.
const OPS: usize = 300;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum St {
    Held,
    Committed,
    Done,
}

struct ModelRes {
    qty: Decimal,
    committed: Decimal,
    exported: Decimal,
    st: St,
}

on_both_backends!(the_engine_agrees_with_an_in_memory_model_over_seeded_random_operations);
async fn the_engine_agrees_with_an_in_memory_model_over_seeded_random_operations(backend: Backend) {
    let f = fixture(backend).await;
    for seed in [1u64, 2, 3] {
        let q = declare(&f, &format!("model-{seed}"), Some("50"), "").await;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let limit = dec("50");
        let (mut held, mut committed, mut exported) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        let mut res: HashMap<i64, ModelRes> = HashMap::new();
        let mut ids: Vec<i64> = Vec::new();
        for op in 0..OPS {
            let k = key(&format!("m{seed}-{op}"));
            let pick = rng.random_range(0..100);
            let target = (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())]);
            if pick < 45 || target.is_none() {
                let n = Decimal::new(rng.random_range(1..=800), 2);
                let out = f
                    .ledger
                    .reserve(&k, q.id, &qty(&n.to_string(), ""), None, &actor("po"))
                    .await
                    .unwrap();
                let fits = limit - held - committed - exported >= n;
                match out {
                    Outcome::Done { reservation, .. } => {
                        assert!(
                            fits,
                            "seed {seed} op {op}: engine granted {n} the model refuses"
                        );
                        held += n;
                        ids.push(reservation.id);
                        res.insert(
                            reservation.id,
                            ModelRes {
                                qty: n,
                                committed: Decimal::ZERO,
                                exported: Decimal::ZERO,
                                st: St::Held,
                            },
                        );
                    }
                    Outcome::Refused { refusal, .. } => {
                        assert!(
                            !fits,
                            "seed {seed} op {op}: engine refused {n} the model grants"
                        );
                        assert!(matches!(refusal, Refusal::QuotaExhausted { .. }));
                    }
                }
            } else {
                let id = target.unwrap_or_default();
                let m = res.get_mut(&id).unwrap();
                match pick {
                    45..=64 => {
                        let c = Decimal::new(rng.random_range(1..=800), 2);
                        let out = f
                            .ledger
                            .commit(&k, id, Some(&qty(&c.to_string(), "")), None, &actor("po"))
                            .await
                            .unwrap();
                        let ok = m.st == St::Held && c <= m.qty;
                        assert_eq!(
                            matches!(out, Outcome::Done { .. }),
                            ok,
                            "seed {seed} op {op} commit"
                        );
                        if ok {
                            held -= m.qty;
                            committed += c;
                            m.committed = c;
                            m.st = St::Committed;
                        }
                    }
                    65..=79 => {
                        let out = f.ledger.release(&k, id, &actor("po")).await.unwrap();
                        let ok = m.st == St::Held;
                        assert_eq!(
                            matches!(out, Outcome::Done { .. }),
                            ok,
                            "seed {seed} op {op} release"
                        );
                        if ok {
                            held -= m.qty;
                            m.st = St::Done;
                        }
                    }
                    80..=92 => {
                        let e = Decimal::new(rng.random_range(1..=400), 2);
                        let out = f
                            .ledger
                            .record_export(&k, id, &qty(&e.to_string(), ""), &actor("customs"))
                            .await
                            .unwrap();
                        let ok = m.st == St::Committed && e <= m.committed - m.exported;
                        assert_eq!(
                            matches!(out, Outcome::Done { .. }),
                            ok,
                            "seed {seed} op {op} export"
                        );
                        if ok {
                            committed -= e;
                            exported += e;
                            m.exported += e;
                        }
                    }
                    _ => {
                        let out = f.ledger.close(&k, id, &actor("po")).await.unwrap();
                        let ok = m.st == St::Committed;
                        assert_eq!(
                            matches!(out, Outcome::Done { .. }),
                            ok,
                            "seed {seed} op {op} close"
                        );
                        if ok {
                            committed -= m.committed - m.exported;
                            m.st = St::Done;
                        }
                    }
                }
            }
            let v = f.ledger.quota(q.id).await.unwrap();
            assert_eq!(
                (v.held, v.committed, v.exported),
                (held, committed, exported),
                "seed {seed} op {op}"
            );
        }
        assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    }
    f.t.drop_db().await.unwrap();
}
