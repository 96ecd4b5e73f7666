//! The serving loop of `cites serve`: accepts connections on a bound number of slots, serves
//! each with HTTP/1.1 under deadlines, and drains them on shutdown.
//!
//! What an unauthenticated client can hold is bounded here, before any route runs: a slot (at
//! most [`connection_slots`], well under the file limit, so accepting never hits `EMFILE`), for
//! at most [`HEAD_TIMEOUT`] ([`HEAD_TIMEOUT_BUSY`] when slots are scarce) without sending a
//! request head, [`BODY_TIMEOUT`] sending a body and
//! [`WRITE_STALL_TIMEOUT`] not reading its answer, with at most [`HEAD_BYTES_MAX`] of head.

mod body;
mod head_errors;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// A connection must send a complete request head (request line and headers) within this of
/// being accepted, and the next one within this of its previous answer: it also bounds an idle
/// keep-alive connection. A real client sends its head in one packet; 10 s covers a slow link.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The head deadline instead of [`HEAD_TIMEOUT`] for a connection accepted while fewer than
/// 1 in [`BUSY_FREE_SLOTS_DIVISOR`] slots are free: under a flood of slow connections slots
/// then turn over about three times faster, and a real client sends its head at once (3 s
/// leaves room for a lost packet's retransmission).
pub const HEAD_TIMEOUT_BUSY: Duration = Duration::from_secs(3);

/// Slots count as scarce when fewer than `slots / BUSY_FREE_SLOTS_DIVISOR` are free.
pub const BUSY_FREE_SLOTS_DIVISOR: usize = 8;

/// A request body must be received whole within this of the handler starting to read it:
/// the largest accepted (`http::BODY_BYTES_MAX`, 256 KiB) then needs about 26 KB/s.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A write that makes no progress for this long (the client does not read its answer) ends
/// the connection.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request head, in bytes, and so the largest read buffer a connection holds (hyper
/// answers 431 above it, in the service's error format): real heads are under 8 KiB.
pub const HEAD_BYTES_MAX: usize = 64 * 1024;

/// Most connections served at once whatever the file limit: each holds a task and up to
/// [`HEAD_BYTES_MAX`] of buffer. Further clients wait in the listen backlog.
pub const CONNECTIONS_MAX: usize = 1024;

/// Fewest connection slots `cites serve` starts with: below, the file limit is too low to serve.
pub const CONNECTIONS_MIN: usize = 16;

/// After an accept error (other than the peer's), the loop pauses this long before accepting
/// again; the error is logged once per burst, not once per attempt.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(500);

/// Connections the kernel completes and queues while every slot is taken (`listen`'s backlog;
/// Linux caps it at `net.core.somaxconn`, 4096 by default). Beyond it, clients' connection
/// attempts are dropped and retried after 1, 3, 7 s: the default of 128 would leave a fresh
/// client behind a few hundred slow ones retrying its SYN.
pub const LISTEN_BACKLOG: u32 = 4096;

/// On shutdown, connections get this long to finish the request they are serving.
pub const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The connection slots for a process whose open-file limit is `nofile`: half of it, so that
/// the database pool, the Species+ client, logs and the listener always have descriptors
/// left, and never more than [`CONNECTIONS_MAX`].
pub fn slots_for_file_limit(nofile: u64) -> usize {
    usize::try_from(nofile / 2).map_or(CONNECTIONS_MAX, |half| half.min(CONNECTIONS_MAX))
}

/// The connection slots for this process, from its open-file limit (`RLIMIT_NOFILE`, read
/// from `/proc/self/limits`); [`CONNECTIONS_MAX`] where that cannot be read. An error when the
/// limit leaves fewer than [`CONNECTIONS_MIN`].
pub fn connection_slots() -> anyhow::Result<usize> {
    let Some(nofile) = open_file_limit() else {
        tracing::warn!(
            slots = CONNECTIONS_MAX,
            "the open-file limit could not be read: serving at most {CONNECTIONS_MAX} connections"
        );
        return Ok(CONNECTIONS_MAX);
    };
    let slots = slots_for_file_limit(nofile);
    if slots < CONNECTIONS_MIN {
        anyhow::bail!(
            "the open-file limit (ulimit -n) is {nofile}: cites serve needs at least {} \
             (it serves at most half of it in connections); raise it",
            CONNECTIONS_MIN * 2
        );
    }
    Ok(slots)
}

/// The soft `Max open files` limit of this process; `None` if unknown or unlimited.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A listener on `addr` with the backlog [`LISTEN_BACKLOG`].
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `router` on `listener` with at most `slots` connections at once until `shutdown`
/// completes, then lets open connections finish (at most [`SHUTDOWN_DRAIN_TIMEOUT`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    slots: usize,
    shutdown: impl Future<Output = ()> + Send,
) {
    let router = body::with_deadline(router);
    let total = u32::try_from(slots).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(total as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut errors = AcceptErrors::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot is taken before accepting: a client beyond the slots waits in the backlog
        // and the process never holds more sockets than it has slots.
        let next = async {
            let permit = slots.clone().acquire_owned().await;
            (permit, accept(&listener, &mut errors).await)
        };
        tokio::select! {
            _ = &mut shutdown => break,
            (permit, stream) = next => {
                let Ok(permit) = permit else { break };
                let busy = slots.available_permits() < total as usize / BUSY_FREE_SLOTS_DIVISOR;
                let head_timeout = if busy { HEAD_TIMEOUT_BUSY } else { HEAD_TIMEOUT };
                spawn_connection(stream, router.clone(), permit, head_timeout, stop_rx.clone());
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(SHUTDOWN_DRAIN_TIMEOUT, slots.acquire_many(total))
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open {} s after shutdown began: closing them",
            SHUTDOWN_DRAIN_TIMEOUT.as_secs()
        );
    }
}

/// Serves one connection on its own task, with `head_timeout` for each request head; the slot
/// is freed when it ends.
fn spawn_connection(
    stream: TcpStream,
    router: Router,
    permit: OwnedSemaphorePermit,
    head_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let io = TokioIo::new(head_errors::Guarded::new(stream, WRITE_STALL_TIMEOUT));
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(head_timeout)
            .max_buf_size(HEAD_BYTES_MAX);
        let conn = builder.serve_connection(io, TowerToHyperService::new(router));
        let mut conn = std::pin::pin!(conn);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    break;
                }
                changed = stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_ok() {
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
        drop(permit);
    });
}

/// The current burst of accept errors: how many, so the first is logged and the end noted.
#[derive(Default)]
struct AcceptErrors {
    in_burst: u64,
}

/// The next accepted connection. An error of the peer's (reset before accept) is skipped; any
/// other (`EMFILE`, `ENFILE`, `ENOMEM`) is logged once per burst and waited out.
async fn accept(listener: &TcpListener, errors: &mut AcceptErrors) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if errors.in_burst > 0 {
                    tracing::warn!(
                        errors = errors.in_burst,
                        "accepting connections again after a burst of accept errors"
                    );
                    errors.in_burst = 0;
                }
                return stream;
            }
            Err(e) if is_peer_error(&e) => {}
            Err(e) => {
                if errors.in_burst == 0 {
                    tracing::error!(
                        error = %e,
                        "accept error: pausing {} ms between attempts until it clears",
                        ACCEPT_ERROR_PAUSE.as_millis()
                    );
                }
                errors.in_burst += 1;
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}

fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::{CONNECTIONS_MAX, slots_for_file_limit};

    #[test]
    fn slots_are_half_the_file_limit_up_to_the_maximum() {
        assert_eq!(slots_for_file_limit(256), 128);
        assert_eq!(slots_for_file_limit(1024), 512);
        assert_eq!(slots_for_file_limit(1_048_576), CONNECTIONS_MAX);
        assert_eq!(slots_for_file_limit(0), 0);
    }
}
