//! Retrying what the database refused for a moment.

use std::future::Future;

use super::{LOCK_WAIT, TRANSIENT_RETRIES_MAX, WRITE_DEADLINE};
use crate::error::{Error, Result};

/// The pause before a retry grows by 5 ms per attempt up to this.
pub(super) const RETRY_PAUSE_MAX: std::time::Duration = std::time::Duration::from_millis(100);

/// Runs `op` again while the database reports a transient conflict, until
/// [`WRITE_DEADLINE`] from now.
pub(crate) async fn retry<T, F, Fut>(op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    retry_until(tokio::time::Instant::now() + WRITE_DEADLINE, false, op).await
}

/// [`retry`], also retrying a unique violation (a key recorded by another writer meanwhile).
pub(crate) async fn retry_including_duplicates<T, F, Fut>(op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    retry_until(tokio::time::Instant::now() + WRITE_DEADLINE, true, op).await
}

/// Runs `op` again while it fails transiently (or, with `duplicates`, on a unique violation),
/// answering [`Error::Busy`] at `deadline`. Each statement waits at most [`LOCK_WAIT`] for a
/// lock, so an attempt ends by itself; an attempt still running at the deadline (a connection
/// that hangs) is dropped, which rolls its transaction back (sqlx rolls back a transaction
/// dropped unfinished, and a `BEGIN` whose caller is gone) or, if its COMMIT was already sent,
/// leaves it whole: every operation is keyed, so its retry finds which.
pub(super) async fn retry_until<T, F, Fut>(
    deadline: tokio::time::Instant,
    duplicates: bool,
    mut op: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Ok(outcome) = tokio::time::timeout_at(deadline, op()).await else {
            tracing::debug!(
                attempt,
                "database still busy or out of reach at the deadline"
            );
            return Err(Error::Busy(attempt));
        };
        match outcome {
            Err(e) if is_transient(&e) || (duplicates && is_unique_violation(&e)) => {
                let pause = retry_pause(attempt);
                // An attempt that could not wait out one lock before the deadline is not made.
                let next = tokio::time::Instant::now() + pause;
                if attempt >= TRANSIENT_RETRIES_MAX || next + LOCK_WAIT > deadline {
                    tracing::debug!(attempt, error = %e, "database still busy; giving up");
                    return Err(Error::Busy(attempt));
                }
                tracing::debug!(attempt, error = %e, "transient database conflict; retrying");
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

pub(super) fn retry_pause(attempt: u32) -> std::time::Duration {
    (std::time::Duration::from_millis(5) * attempt).min(RETRY_PAUSE_MAX)
}

pub(crate) fn is_unique_violation(e: &Error) -> bool {
    let sqlx_error = match e {
        Error::Sqlx(s) => s,
        Error::Db(db::Error::Sqlx(s)) => s,
        _ => return false,
    };
    matches!(sqlx_error, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub(crate) fn is_transient(e: &Error) -> bool {
    let sqlx_error = match e {
        Error::Sqlx(s) => s,
        Error::Db(db::Error::Sqlx(s)) => s,
        _ => return false,
    };
    // The connection broke mid-request. Every ledger operation is keyed (or, for the sweeper,
    // conditional on the state it changes), so running it again is safe: if the broken
    // attempt had committed, the retry finds its first outcome.
    // A lock not granted within [`LOCK_WAIT`]: nothing was done.
    if db::is_connection_lost(sqlx_error) || db::is_locked(sqlx_error) {
        return true;
    }
    match sqlx_error {
        // PostgreSQL serialization failure and deadlock.
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|code| ["40001", "40P01"].contains(&code.as_ref())),
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_grows_by_five_ms_up_to_its_maximum() {
        assert_eq!(retry_pause(1), std::time::Duration::from_millis(5));
        assert_eq!(retry_pause(4), std::time::Duration::from_millis(20));
        assert_eq!(retry_pause(20), RETRY_PAUSE_MAX);
        assert_eq!(retry_pause(TRANSIENT_RETRIES_MAX), RETRY_PAUSE_MAX);
    }

    #[test]
    fn only_database_conflicts_and_lost_connections_are_transient() {
        assert!(is_transient(&Error::Sqlx(sqlx::Error::PoolTimedOut)));
        assert!(is_transient(&Error::Db(db::Error::Sqlx(
            sqlx::Error::PoolTimedOut
        ))));
        assert!(!is_transient(&Error::Sqlx(sqlx::Error::RowNotFound)));
        assert!(!is_transient(&Error::QuotaNotFound(1)));
        assert!(!is_transient(&Error::Busy(3)));
        assert!(!is_unique_violation(&Error::Sqlx(
            sqlx::Error::PoolTimedOut
        )));
    }

    #[tokio::test]
    async fn a_retry_runs_again_after_a_transient_failure_and_not_after_another() {
        let mut attempts = 0;
        let answer = retry(|| {
            attempts += 1;
            let n = attempts;
            async move {
                if n < 3 {
                    Err(Error::Sqlx(sqlx::Error::PoolTimedOut))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(answer.unwrap(), 3);
        let mut attempts = 0;
        let refused: Result<()> = retry(|| {
            attempts += 1;
            async { Err(Error::QuotaNotFound(9)) }
        })
        .await;
        assert!(matches!(refused, Err(Error::QuotaNotFound(9))));
        assert_eq!(attempts, 1);
    }
}
