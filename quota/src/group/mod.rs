//! Group commit: concurrent reservations are queued to one writer task, which applies every
//! request waiting in the queue in one transaction (on PostgreSQL usually one autocommitted
//! statement; on SQLite usually three calls to the writer's own connection: `BEGIN
//! IMMEDIATE`, one read, and the writes with the COMMIT) and answers each caller with its own
//! outcome. Under contention the commit (an fsync on SQLite with `synchronous=FULL`, a WAL
//! flush on PostgreSQL) is paid once per batch instead of once per reservation, while each
//! request is still decided alone, in queue order.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use db::Db;
use domain::{Clock, Quantity};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::ledger::{self, Admitted, Ledger, WRITE_DEADLINE};

mod batch;
mod decide;
use crate::model::{Actor, ClientKey, Outcome};

/// Most reservations applied in one transaction.
pub const GROUP_BATCH_MAX: usize = 256;
/// Times the PostgreSQL writer yields, at most, while the callers of its last batch queue
/// their next requests.
const GATHER_YIELDS_MAX: usize = 16;
/// Requests that may wait for the writer; a caller beyond it waits to enqueue.
pub const GROUP_QUEUE_MAX: usize = 4_096;

struct Request {
    key: ClientKey,
    quota_id: i64,
    quantity: Quantity,
    /// The request's identity for idempotency (its parameters hashed, the expiry as the
    /// client sent it), computed by the caller's task rather than by the one writer.
    params_hash: String,
    /// The parameters themselves, for a refusal written outside the batch.
    params: String,
    expires_at: DateTime<Utc>,
    actor: Actor,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// The handle callers reserve through. Cloning shares the one writer.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Request>,
    /// For the clock, and for the first answer to a retry that can no longer be queued.
    ledger: Ledger,
    writer: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl GroupCommit {
    /// Starts the writer task over `ledger`; it runs until every handle is dropped or
    /// [`GroupCommit::shutdown`] is called.
    pub fn start(ledger: Ledger) -> GroupCommit {
        let (queue, rx) = mpsc::channel(GROUP_QUEUE_MAX);
        let writer = tokio::spawn(write_batches(ledger.clone(), rx));
        GroupCommit {
            queue,
            ledger,
            writer: Arc::new(std::sync::Mutex::new(Some(writer))),
        }
    }

    /// Same contract as [`Ledger::reserve`], answered within [`WRITE_DEADLINE`]: past it,
    /// [`Error::Busy`]. A request its caller stopped waiting for is not written if the writer
    /// has not taken it yet; if it has, the caller's retry with the key finds its outcome.
    pub async fn reserve(
        &self,
        key: &ClientKey,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Outcome> {
        let reserved = self.reserve_queued(key, quota_id, quantity, expires_at, actor);
        match tokio::time::timeout(WRITE_DEADLINE, reserved).await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::debug!("group commit: no answer before the deadline");
                Err(Error::Busy(1))
            }
        }
    }

    async fn reserve_queued(
        &self,
        key: &ClientKey,
        quota_id: i64,
        quantity: &Quantity,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<Outcome> {
        actor.check()?;
        let params = ledger::reserve_params(quota_id, quantity, expires_at);
        let params_hash = ledger::params_hash(&params);
        let admitted = self
            .ledger
            .admit(key, &params, quota_id, quantity, expires_at, actor)
            .await;
        let expires_at = match admitted {
            Ok(Admitted::Queued(at)) => at,
            Ok(Admitted::Answered(outcome)) => return Ok(*outcome),
            // A retry may come after the expiry it asked for has passed: it still gets the
            // first answer; another request under its key, a conflict.
            Err(e) => {
                return self.ledger.or_first_answer(key, &params_hash, Err(e)).await;
            }
        };
        let (reply, answer) = oneshot::channel();
        let request = Request {
            key: key.clone(),
            quota_id,
            quantity: *quantity,
            params_hash,
            params,
            expires_at,
            actor: actor.clone(),
            reply,
        };
        self.queue.send(request).await.map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)?
    }

    /// Stops taking requests and waits for the writer to finish those queued. (A request the
    /// writer found outside its quota's period is refused on a task of its own, which its
    /// caller, not this, waits for.)
    pub async fn shutdown(self) {
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        drop(self.queue);
        if let Some(h) = handle {
            let _ = h.await;
        }
    }
}

async fn write_batches(ledger: Ledger, mut rx: mpsc::Receiver<Request>) {
    // PostgreSQL: the quotas as this writer's last batches left them. A batch on one of them
    // is decided on these counters and written in one statement that checks they still hold
    // ([`batch::reserve_batch_known`]); anyone else's change since only sends the batch
    // through the locked path, which reads them again.
    let mut known = decide::QuotaRows::new();
    // The writer's own connection, kept across batches. SQLite: taken out of the pool, so that
    // its page cache and prepared statements stay warm (the pool hands its connections out in
    // turn, and each finds its cache stale once another has written). PostgreSQL: so that a
    // batch does not wait for the pool's health check of the connection (a round trip, 71 us
    // of a 1.1 ms batch of 16 here). Dropped after any error (SQLite: closing it rolls back
    // whatever it had open); the next batch takes another.
    let mut own = Own::None;
    while let Some(first) = rx.recv().await {
        // The callers answered by the last batch are waking up to send their next request:
        // they need a moment to queue it, or the next batch takes the first one alone and
        // batches alternate between 1 request and all the others. On SQLite that moment is
        // the round trip of the BEGIN IMMEDIATE the batch needs anyway; PostgreSQL's batch
        // usually needs no transaction, so the writer yields.
        let begun = match ledger.db() {
            Db::Sqlite(pool) => begin_own(pool, &mut own).await,
            Db::Postgres(pool) => {
                // Until the queue stops growing: the callers run on other worker threads too.
                let mut queued = rx.len();
                for _ in 0..GATHER_YIELDS_MAX {
                    tokio::task::yield_now().await;
                    if rx.len() == queued {
                        break;
                    }
                    queued = rx.len();
                }
                if !matches!(own, Own::Postgres(_)) {
                    own = pool.acquire().await.map_or(Own::None, Own::Postgres);
                }
                false
            }
        };
        let mut batch = vec![first];
        while batch.len() < GROUP_BATCH_MAX {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        // Callers that stopped waiting (past the deadline, while the database was locked):
        // they were told to send their request again, which then is the one written.
        batch.retain(|r| !r.reply.is_closed());
        // The usual batch on the writer's own connection; `None` when it does not apply and
        // nothing was written.
        let started = std::time::Instant::now();
        let now = ledger.clock().now();
        let batch = refuse_outside_period(&ledger, batch, now);
        if batch.is_empty() {
            if let Own::Sqlite(conn) = &mut own
                && begun
                && let Err(e) = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await
            {
                tracing::debug!(error = %e, "group commit: rollback failed");
                own = Own::None;
            }
            continue;
        }
        let items = items_of(&batch);
        let usual = match &mut own {
            Own::Sqlite(conn) if begun => batch::reserve_batch_sqlite(conn, &items, now).await,
            Own::Postgres(conn) => batch::reserve_batch_known(conn, &items, &known, now).await,
            _ => Ok(None),
        };
        drop(items);
        match usual {
            Ok(Some((outcomes, after))) => {
                tracing::debug!(
                    requests = batch.len(),
                    total_us = started.elapsed().as_micros() as u64,
                    "group commit batch on the writer's connection"
                );
                known.extend(after);
                answer(batch, outcomes);
                continue;
            }
            Ok(None) => {
                // SQLite: a key was used before, or no quota of the batch exists; PostgreSQL:
                // the writer does not know the quota, or someone else moved it. The general
                // path reads what it needs.
                if let Own::Sqlite(conn) = &mut own
                    && begun
                    && let Err(e) = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await
                {
                    tracing::debug!(error = %e, "group commit: rollback failed");
                    own = Own::None;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "group commit batch failed; retried");
                own = Own::None;
            }
        }
        // Another instance may have recorded one of these keys meanwhile (a unique
        // violation on commit): the retry then finds its outcome.
        let applied =
            ledger::retry_including_duplicates(|| apply_batch(&ledger, &batch, now)).await;
        match applied {
            Ok((outcomes, after)) => {
                known.extend(after);
                answer(batch, outcomes);
            }
            Err(e) => {
                // Retried and still failing. Usually nothing of it was applied; if the
                // connection broke after a commit, it was: a retry with the key tells which.
                known.clear();
                let message = e.to_string();
                tracing::error!(error = %message, "group commit failed");
                for request in batch {
                    let _ = request.reply.send(Err(Error::GroupFailed(message.clone())));
                }
            }
        }
    }
}

/// SQLite: `BEGIN IMMEDIATE` on the writer's own connection, taking one from the pool when it
/// has none. False when that failed, or the pool has a single connection; the batch then takes
/// the general path, which retries.
async fn begin_own(pool: &sqlx::SqlitePool, own: &mut Own) -> bool {
    // An in-memory database lives in the pool's one connection: taking it out of the pool
    // would leave the pool a new, empty database. The general path shares it instead.
    if pool.options().get_max_connections() <= 1 {
        return false;
    }
    if !matches!(own, Own::Sqlite(_)) {
        match pool.acquire().await {
            Ok(conn) => *own = Own::Sqlite(conn.detach()),
            Err(e) => {
                tracing::debug!(error = %e, "group commit: no connection of its own");
                return false;
            }
        }
    }
    let Own::Sqlite(conn) = own else {
        return false;
    };
    match sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!(error = %e, "group commit: BEGIN IMMEDIATE failed");
            *own = Own::None;
            false
        }
    }
}

/// The group writer's own connection.
enum Own {
    None,
    /// Detached from the pool: it may be left inside a transaction the writer opened itself.
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

/// Takes out of `batch` the requests whose quota's period no longer covers `now`, the time
/// the batch is written at: a request that arrived on the period's last day may be written
/// after its midnight. Each is refused as [`Ledger::reserve`] would refuse it, on a task of its
/// own (rare: only at a period's end), so the batch does not wait for it.
fn refuse_outside_period(ledger: &Ledger, batch: Vec<Request>, now: DateTime<Utc>) -> Vec<Request> {
    let (late, batch): (Vec<Request>, Vec<Request>) = batch
        .into_iter()
        .partition(|r| ledger.outside_period_at(r.quota_id, now).is_some());
    for r in late {
        let ledger = ledger.clone();
        tokio::spawn(async move {
            let Some(refusal) = ledger.outside_period_at(r.quota_id, now) else {
                return;
            };
            let refused = ledger
                .refuse_reservation(
                    &r.key,
                    &r.params,
                    r.quota_id,
                    &r.quantity,
                    r.expires_at,
                    &r.actor,
                    refusal,
                )
                .await;
            // A key used for another request is a conflict here too, as on every path.
            let outcome = ledger
                .or_first_answer(&r.key, &r.params_hash, refused)
                .await;
            let _ = r.reply.send(outcome);
        });
    }
    batch
}

/// Sends each caller its outcome.
fn answer(batch: Vec<Request>, outcomes: Vec<Result<Outcome>>) {
    for (request, outcome) in batch.into_iter().zip(outcomes) {
        let _ = request.reply.send(outcome);
    }
}

fn items_of(batch: &[Request]) -> Vec<decide::BatchItem<'_>> {
    batch
        .iter()
        .map(|r| decide::BatchItem {
            key: &r.key,
            quota_id: r.quota_id,
            quantity: &r.quantity,
            params_hash: &r.params_hash,
            expires_at: r.expires_at,
            actor: &r.actor,
        })
        .collect()
}

/// Applies the batch when the writer's usual path did not ([`batch::reserve_batch_sqlite`],
/// [`batch::reserve_batch_known`]): in one transaction with a handful of statements
/// ([`batch::reserve_batch`]), on a connection from the pool. A request refused by validation
/// (unknown quota, incompatible unit, reused key) gets its own error and writes nothing; the others
/// go on. Answers with the outcomes and the batch's quotas as it left them.
async fn apply_batch(
    ledger: &Ledger,
    batch: &[Request],
    now: DateTime<Utc>,
) -> Result<(Vec<Result<Outcome>>, decide::QuotaRows)> {
    let items = items_of(batch);
    let started = std::time::Instant::now();
    let mut tx = ledger.db().begin().await?;
    let applied = batch::reserve_batch(&mut tx, &items, now).await?;
    let written = started.elapsed();
    tx.commit().await?;
    tracing::debug!(
        requests = items.len(),
        statements_us = written.as_micros() as u64,
        total_us = started.elapsed().as_micros() as u64,
        "group commit batch"
    );
    Ok(applied)
}
