//! A seeded model-based test (workload W6 of the quota notes): random operations on the engine
//! and on an in-memory model of the same rules. Holds expire and permits end on an injected
//! clock, the sweeper runs, reservations go through the ledger or through group commit, earlier
//! requests are sent again and earlier keys are reused for other requests. Every answer, every
//! sweep and every counter must agree with the model; a failure names its seed and operation.
//!
//! CI runs [`OPS_DEFAULT`] operations per backend. The engine's correctness gate (10^6
//! operations per backend) is the same test with more:
//! `CITES_MODEL_OPS=1000000 cargo test -p quota --test it model`.
//! Seeds are independent, so a long run can be split over processes: `CITES_MODEL_FIRST_SEED`
//! (default 1) says where each one starts.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use db::Backend;
use domain::Clock;
use quota::{Error, GroupCommit, HOLD_DEFAULT, Outcome, Refusal, ReservationState};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::support::*;

/// Operations per seed: each seed has its own quota, long enough for holds to expire and
/// permits to end, short enough that its reservations stay a small set to pick from.
const OPS_PER_SEED: usize = 300;
/// Operations per backend unless `CITES_MODEL_OPS` says otherwise.
const OPS_DEFAULT: usize = 1_200;
const LIMIT: &str = "50";
/// The longest hold or permit validity asked for explicitly, in minutes. The clock moves by at
/// most [`STEP_MINUTES_MAX`] at a time, so within a seed some expire and some do not.
const VALIDITY_MINUTES_MAX: i64 = 240;
const STEP_MINUTES_MAX: i64 = 90;
/// Earlier requests kept to be sent again or to have their key reused.
const SENT_KEPT_MAX: usize = 64;

/// A positive whole number from `name`, or `default` when it is not set.
fn positive_env(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v:?}: accepted a positive whole number")),
    }
}

/// A request as a client sends it.
#[derive(Clone, Debug)]
enum Request {
    Reserve {
        quantity: Decimal,
        expires_at: Option<DateTime<Utc>>,
        grouped: bool,
    },
    Commit {
        id: i64,
        quantity: Option<Decimal>,
        permit_expires_at: Option<DateTime<Utc>>,
    },
    Release {
        id: i64,
    },
    Export {
        id: i64,
        quantity: Decimal,
    },
    Close {
        id: i64,
    },
}

/// One reservation as the model sees it.
#[derive(Clone, Debug)]
struct Res {
    state: ReservationState,
    quantity: Decimal,
    committed: Decimal,
    exported: Decimal,
    expires_at: DateTime<Utc>,
    permit_expires_at: Option<DateTime<Utc>>,
}

/// One quota as the model sees it.
struct Model {
    limit: Decimal,
    held: Decimal,
    committed: Decimal,
    exported: Decimal,
    res: BTreeMap<i64, Res>,
}

impl Model {
    fn available(&self) -> Decimal {
        self.limit - self.held - self.committed - self.exported
    }

    /// What the engine must answer to `req` at `now`, applied to the model. `None` for a
    /// granted reservation, whose id only the engine can tell ([`Model::granted`] records it).
    fn apply(&mut self, req: &Request, now: DateTime<Utc>) -> Option<Result<Res, Refusal>> {
        let wrong = |r: &Res, expected| Refusal::WrongState {
            state: r.state,
            expected,
        };
        match *req {
            Request::Reserve { quantity, .. } => {
                if quantity <= self.available() {
                    self.held += quantity;
                    None
                } else {
                    Some(Err(Refusal::QuotaExhausted {
                        requested: quantity,
                        available: self.available(),
                        unit: Some("KGM".into()),
                    }))
                }
            }
            Request::Commit {
                id,
                quantity,
                permit_expires_at,
            } => {
                let r = self.res.get_mut(&id).unwrap();
                let c = quantity.unwrap_or(r.quantity);
                let answer = if r.state != ReservationState::Held {
                    Err(wrong(r, ReservationState::Held))
                } else if r.expires_at <= now {
                    Err(Refusal::ReservationExpired {
                        expired_at: r.expires_at,
                    })
                } else if c > r.quantity {
                    Err(Refusal::ExceedsReservation {
                        requested: c,
                        allowed: r.quantity,
                        unit: Some("KGM".into()),
                    })
                } else {
                    self.held -= r.quantity;
                    self.committed += c;
                    r.state = ReservationState::Committed;
                    r.committed = c;
                    r.permit_expires_at =
                        Some(permit_expires_at.unwrap_or(quota::permit_valid_until(now)));
                    Ok(r.clone())
                };
                Some(answer)
            }
            Request::Release { id } => {
                let r = self.res.get_mut(&id).unwrap();
                let answer = if r.state != ReservationState::Held {
                    Err(wrong(r, ReservationState::Held))
                } else {
                    self.held -= r.quantity;
                    r.state = ReservationState::Released;
                    Ok(r.clone())
                };
                Some(answer)
            }
            Request::Export { id, quantity } => {
                let r = self.res.get_mut(&id).unwrap();
                let open = r.committed - r.exported;
                let answer = if r.state != ReservationState::Committed {
                    Err(wrong(r, ReservationState::Committed))
                } else if let Some(expired_at) = r.permit_expires_at.filter(|p| *p <= now) {
                    Err(Refusal::PermitExpired { expired_at })
                } else if quantity > open {
                    Err(Refusal::ExceedsReservation {
                        requested: quantity,
                        allowed: open,
                        unit: Some("KGM".into()),
                    })
                } else {
                    self.committed -= quantity;
                    self.exported += quantity;
                    r.exported += quantity;
                    Ok(r.clone())
                };
                Some(answer)
            }
            Request::Close { id } => {
                let r = self.res.get_mut(&id).unwrap();
                let answer = if r.state != ReservationState::Committed {
                    Err(wrong(r, ReservationState::Committed))
                } else {
                    self.committed -= r.committed - r.exported;
                    r.state = ReservationState::Closed;
                    Ok(r.clone())
                };
                Some(answer)
            }
        }
    }

    /// Records the reservation the engine granted or rejected for `req`.
    fn record(&mut self, id: i64, req: &Request, granted: bool, now: DateTime<Utc>) -> Res {
        let Request::Reserve {
            quantity,
            expires_at,
            ..
        } = *req
        else {
            unreachable!("only a reservation creates one")
        };
        let r = Res {
            state: if granted {
                ReservationState::Held
            } else {
                ReservationState::Rejected
            },
            quantity,
            committed: Decimal::ZERO,
            exported: Decimal::ZERO,
            expires_at: expires_at.unwrap_or(now + HOLD_DEFAULT),
            permit_expires_at: None,
        };
        let first = self.res.insert(id, r.clone());
        assert!(first.is_none(), "reservation {id} was handed out twice");
        r
    }

    /// What a sweep at `now` expires and closes, applied to the model.
    fn sweep(&mut self, now: DateTime<Utc>) -> (u64, u64) {
        let (mut expired, mut closed) = (0, 0);
        for r in self.res.values_mut() {
            if r.state == ReservationState::Held && r.expires_at <= now {
                self.held -= r.quantity;
                r.state = ReservationState::Expired;
                expired += 1;
            } else if r.state == ReservationState::Committed
                && r.permit_expires_at.is_some_and(|p| p <= now)
            {
                self.committed -= r.committed - r.exported;
                r.state = ReservationState::Closed;
                closed += 1;
            }
        }
        (expired, closed)
    }
}

/// How often each case happened over a run.
type Seen = BTreeMap<&'static str, u64>;

const EVERY_CASE: [&str; 14] = [
    "granted directly",
    "granted through group commit",
    "refused: quota exhausted",
    "committed",
    "released",
    "exported",
    "closed",
    "refused: wrong state",
    "refused: reservation expired",
    "refused: permit expired",
    "refused: exceeds reservation",
    "swept: expired and closed",
    "retry answered as the first time",
    "reused key refused",
];

fn case(req: &Request, answer: &Outcome) -> &'static str {
    match (req, answer) {
        (Request::Reserve { grouped: false, .. }, Outcome::Done { .. }) => "granted directly",
        (Request::Reserve { grouped: true, .. }, Outcome::Done { .. }) => {
            "granted through group commit"
        }
        (Request::Commit { .. }, Outcome::Done { .. }) => "committed",
        (Request::Release { .. }, Outcome::Done { .. }) => "released",
        (Request::Export { .. }, Outcome::Done { .. }) => "exported",
        (Request::Close { .. }, Outcome::Done { .. }) => "closed",
        (_, Outcome::Refused { refusal, .. }) => match refusal {
            Refusal::QuotaExhausted { .. } => "refused: quota exhausted",
            Refusal::WrongState { .. } => "refused: wrong state",
            Refusal::ReservationExpired { .. } => "refused: reservation expired",
            Refusal::ExceedsReservation { .. } => "refused: exceeds reservation",
            Refusal::PermitExpired { .. } => "refused: permit expired",
            Refusal::ZeroQuota | Refusal::QuotaInPreparation | Refusal::OutsidePeriod { .. } => {
                "refused: no quota"
            }
        },
    }
}

/// Sends `req` under `key`, through group commit when the request asks for it.
async fn send(
    f: &Fixture,
    group: &GroupCommit,
    quota_id: i64,
    key: &quota::ClientKey,
    req: &Request,
) -> quota::Result<Outcome> {
    let po = actor("po");
    let q = |d: Decimal| qty(&d.to_string(), "KGM");
    match *req {
        Request::Reserve {
            quantity,
            expires_at,
            grouped: true,
        } => {
            group
                .reserve(key, quota_id, &q(quantity), expires_at, &po)
                .await
        }
        Request::Reserve {
            quantity,
            expires_at,
            grouped: false,
        } => {
            f.ledger
                .reserve(key, quota_id, &q(quantity), expires_at, &po)
                .await
        }
        Request::Commit {
            id,
            quantity,
            permit_expires_at,
        } => {
            let quantity = quantity.map(q);
            f.ledger
                .commit(key, id, quantity.as_ref(), permit_expires_at, &po)
                .await
        }
        Request::Release { id } => f.ledger.release(key, id, &po).await,
        Request::Export { id, quantity } => {
            f.ledger
                .record_export(key, id, &q(quantity), &actor("customs"))
                .await
        }
        Request::Close { id } => f.ledger.close(key, id, &po).await,
    }
}

/// The same request under another key's name: a reused key must be refused for it.
fn altered(req: &Request) -> Request {
    match req.clone() {
        Request::Reserve {
            quantity,
            expires_at,
            grouped,
        } => Request::Reserve {
            quantity: quantity + Decimal::new(1, 2),
            expires_at,
            grouped: !grouped,
        },
        Request::Commit { id, .. } | Request::Export { id, .. } => Request::Release { id },
        Request::Release { id } | Request::Close { id } => Request::Export {
            id,
            quantity: Decimal::ONE,
        },
    }
}

fn quantity(rng: &mut StdRng, hundredths_max: i64) -> Decimal {
    Decimal::new(rng.random_range(1..=hundredths_max), 2)
}

/// Now or later by up to [`VALIDITY_MINUTES_MAX`], or the default (`None`).
fn validity(rng: &mut StdRng, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    rng.random_bool(0.5)
        .then(|| now + Duration::minutes(rng.random_range(1..=VALIDITY_MINUTES_MAX)))
}

on_both_backends!(
    multi_thread the_engine_agrees_with_an_in_memory_model_over_seeded_random_operations
);
async fn the_engine_agrees_with_an_in_memory_model_over_seeded_random_operations(backend: Backend) {
    let f = fixture(backend).await;
    let group = GroupCommit::start(f.ledger.clone());
    let total = positive_env("CITES_MODEL_OPS", OPS_DEFAULT as u64) as usize;
    let first = positive_env("CITES_MODEL_FIRST_SEED", 1);
    let seeds = total.div_ceil(OPS_PER_SEED) as u64;
    let mut done = 0;
    let mut seen = Seen::new();
    for seed in first..first + seeds {
        let ops = OPS_PER_SEED.min(total - done);
        run_seed(&f, &group, seed, ops, &mut seen).await;
        done += ops;
    }
    assert_eq!(done, total);
    eprintln!(
        "{backend:?}: {total} operations over seeds {first} to {} agree with the model: {seen:?}",
        first + seeds - 1
    );
    // The random mix reached every rule, or agreeing would prove little.
    for what in EVERY_CASE {
        assert!(
            seen.get(what).is_some_and(|n| *n > 0),
            "{what} never happened: {seen:?}"
        );
    }
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}

/// One seed: `ops` random operations on a quota of its own, then every reservation still open
/// is released or closed, so that the next seed's sweeps see only its own.
async fn run_seed(f: &Fixture, group: &GroupCommit, seed: u64, ops: usize, seen: &mut Seen) {
    f.clock.set(t0());
    let q = declare(f, &format!("model-{seed}"), Some(LIMIT), "KGM").await;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut m = Model {
        limit: dec(LIMIT),
        held: Decimal::ZERO,
        committed: Decimal::ZERO,
        exported: Decimal::ZERO,
        res: BTreeMap::new(),
    };
    let mut sent: Vec<(quota::ClientKey, Request, Outcome)> = Vec::new();
    let mut keys = 0u64;
    let mut new_key = || {
        keys += 1;
        key(&format!("m{seed}-{keys}"))
    };
    for op in 0..ops {
        let at = format!("seed {seed} op {op}");
        let now = f.clock.now();
        let pick = rng.random_range(0..100);
        // Mostly a reservation the operation applies to; sometimes any, for wrong states.
        let wanted = match pick {
            40..63 => Some(ReservationState::Held),
            63..80 => Some(ReservationState::Committed),
            _ => None,
        }
        .filter(|_| rng.random_bool(0.85));
        let ids: Vec<i64> = (m.res.iter())
            .filter(|(_, r)| wanted.is_none_or(|w| r.state == w))
            .map(|(id, _)| *id)
            .collect();
        let target = (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())]);
        let req = match (pick, target) {
            (0..40, _) | (40..80, None) => Request::Reserve {
                quantity: quantity(&mut rng, 800),
                expires_at: validity(&mut rng, now),
                grouped: rng.random_bool(0.5),
            },
            (40..55, Some(id)) => Request::Commit {
                id,
                quantity: rng.random_bool(0.8).then(|| quantity(&mut rng, 800)),
                permit_expires_at: validity(&mut rng, now),
            },
            (55..63, Some(id)) => Request::Release { id },
            (63..75, Some(id)) => Request::Export {
                id,
                quantity: quantity(&mut rng, 400),
            },
            (75..80, Some(id)) => Request::Close { id },
            (80..84, _) => {
                // Time passes; until the next sweep, holds past their expiry are still held.
                f.clock
                    .advance(Duration::minutes(rng.random_range(1..=STEP_MINUTES_MAX)));
                continue;
            }
            (84..88, _) => {
                let report = f.ledger.sweep(&actor("sweeper")).await.unwrap();
                let expected = m.sweep(now);
                assert_eq!((report.expired, report.closed), expected, "{at}: sweep");
                if expected.0 > 0 && expected.1 > 0 {
                    *seen.entry("swept: expired and closed").or_default() += 1;
                }
                check_counters(f, q.id, &m, &at).await;
                continue;
            }
            (88..96, _) if !sent.is_empty() => {
                // A retry: the first answer again, and nothing changes.
                let (k, req, first) = &sent[rng.random_range(0..sent.len())];
                let again = send(f, group, q.id, k, req).await;
                assert_eq!(again.as_ref().ok(), Some(first), "{at}: retry of {req:?}");
                *seen.entry("retry answered as the first time").or_default() += 1;
                check_counters(f, q.id, &m, &at).await;
                continue;
            }
            (_, _) if !sent.is_empty() => {
                // A key used before, for another request: refused, and nothing changes.
                let (k, req, _) = &sent[rng.random_range(0..sent.len())];
                let other = altered(req);
                let answer = send(f, group, q.id, k, &other).await;
                assert!(
                    matches!(answer, Err(Error::KeyConflict { .. })),
                    "{at}: {other:?} under the key of {req:?} gave {answer:?}"
                );
                *seen.entry("reused key refused").or_default() += 1;
                check_counters(f, q.id, &m, &at).await;
                continue;
            }
            // Nothing sent yet to retry or reuse.
            (_, _) => Request::Reserve {
                quantity: quantity(&mut rng, 800),
                expires_at: validity(&mut rng, now),
                grouped: rng.random_bool(0.5),
            },
        };
        let k = new_key();
        let out = send(f, group, q.id, &k, &req).await.unwrap();
        *seen.entry(case(&req, &out)).or_default() += 1;
        match m.apply(&req, now) {
            None => {
                let Outcome::Done { reservation, .. } = &out else {
                    panic!("{at}: the model grants {req:?}, the engine answered {out:?}");
                };
                let r = m.record(reservation.id, &req, true, now);
                assert_same(&r, reservation, &at);
            }
            Some(Ok(r)) => {
                let Outcome::Done { reservation, .. } = &out else {
                    panic!("{at}: the model does {req:?}, the engine answered {out:?}");
                };
                assert_same(&r, reservation, &at);
            }
            Some(Err(refusal)) => {
                let Outcome::Refused {
                    refusal: given,
                    reservation,
                    ..
                } = &out
                else {
                    panic!(
                        "{at}: the model refuses {req:?} ({refusal:?}), the engine answered {out:?}"
                    );
                };
                assert_eq!(given, &refusal, "{at}: {req:?}");
                if let Request::Reserve { .. } = req {
                    let rejected = reservation.as_ref().expect("a refusal is recorded");
                    let r = m.record(rejected.id, &req, false, now);
                    assert_same(&r, rejected, &at);
                }
            }
        }
        let counters = out.quota();
        assert_eq!(
            (counters.held, counters.committed, counters.exported),
            (m.held, m.committed, m.exported),
            "{at}: the counters {req:?} answered with"
        );
        check_counters(f, q.id, &m, &at).await;
        if sent.len() == SENT_KEPT_MAX {
            sent.swap_remove(rng.random_range(0..SENT_KEPT_MAX));
        }
        sent.push((k, req, out));
    }
    // Nothing left open for the next seed's sweeps.
    let open: Vec<(i64, ReservationState)> = m.res.iter().map(|(id, r)| (*id, r.state)).collect();
    for (id, state) in open {
        let req = match state {
            ReservationState::Held => Request::Release { id },
            ReservationState::Committed => Request::Close { id },
            _ => continue,
        };
        let out = send(f, group, q.id, &new_key(), &req).await.unwrap();
        let expected = m.apply(&req, f.clock.now()).unwrap().unwrap();
        let Outcome::Done { reservation, .. } = &out else {
            panic!("seed {seed} end: {req:?} answered {out:?}");
        };
        assert_same(&expected, reservation, &format!("seed {seed} end"));
    }
    assert_eq!((m.held, m.committed), (Decimal::ZERO, Decimal::ZERO));
    check_counters(f, q.id, &m, &format!("seed {seed} end")).await;
    let broken = f.ledger.verify(q.id).await.unwrap();
    assert!(broken.is_empty(), "seed {seed}: {broken:?}");
}

fn assert_same(model: &Res, engine: &quota::ReservationView, at: &str) {
    assert_eq!(
        (
            engine.state,
            engine.quantity,
            engine.committed,
            engine.exported,
            engine.expires_at,
            engine.permit_expires_at
        ),
        (
            model.state,
            model.quantity,
            model.committed,
            model.exported,
            model.expires_at,
            model.permit_expires_at
        ),
        "{at}: reservation {}",
        engine.id
    );
}

async fn check_counters(f: &Fixture, quota_id: i64, m: &Model, at: &str) {
    let v = f.ledger.quota(quota_id).await.unwrap();
    assert_eq!(
        (v.held, v.committed, v.exported, v.available),
        (m.held, m.committed, m.exported, m.available()),
        "{at}"
    );
}
