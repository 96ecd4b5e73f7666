//! HTTP plumbing independent of the API logic: query-string parsing and encoding, ETags,
//! canned error responses, and a TCP listener whose connections can be reset on demand.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The generic Rails 500 message.
pub(crate) const GENERIC_500: &str = "We are sorry but an error occurred processing your request";

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
pub(crate) fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a raw query string into decoded `(key, value)` pairs, in order.
pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// Encodes like Ruby's `CGI.escape` (what Rails' `to_param` uses): space becomes `+`.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' | b'~' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

/// A weak ETag from a 128-bit FNV-1a hash of the body.
pub(crate) fn etag(body: &[u8]) -> String {
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for &b in body {
        h1 = (h1 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        h2 = (h2 ^ u64::from(b.rotate_left(3))).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("W/\"{h1:016x}{h2:016x}\"")
}

fn build(status: u16, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A JSON response (`application/json; charset=utf-8`).
pub(crate) fn json(status: u16, body: impl Into<Body>) -> Response<Body> {
    build(status, "application/json; charset=utf-8", body)
}

/// `{"error":{"message":...}}` with the given status.
pub(crate) fn json_error(status: u16, message: &str) -> Response<Body> {
    let body = format!(
        "{{\"error\":{{\"message\":{}}}}}",
        crate::model::to_json(message)
    );
    json(status, body)
}

/// 401: empty body, `text/html` (as recorded).
pub(crate) fn unauthorized() -> Response<Body> {
    build(401, "text/html", Body::empty())
}

/// An edge/proxy style HTML error page (Cloudflare 502/520/524, throttling 403/404, ...).
pub(crate) fn html_error(status: u16) -> Response<Body> {
    let title = match status {
        502 => "502 Bad gateway",
        520 => "Web server is returning an unknown error",
        524 => "A timeout occurred",
        403 => "Access denied",
        404 => "The page you were looking for doesn't exist (404)",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let body = format!(
        "<!DOCTYPE html>\n<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<p>Error code {status}</p>\n</body>\n</html>\n"
    );
    build(status, "text/html; charset=UTF-8", body)
}

/// The response for an injected fault status: 500 is the Rails JSON error, 401 the empty
/// 401, 429 carries `Retry-After`, anything else is an HTML page.
pub(crate) fn fault_response(status: u16, retry_after: u64) -> Response<Body> {
    match status {
        500 => json_error(500, GENERIC_500),
        401 => unauthorized(),
        429 => {
            let mut r = html_error(429);
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        s => html_error(s),
    }
}

/// Identity of one accepted connection; setting `kill` makes its next write fail, so the
/// connection is closed with an RST (zero linger) and no response bytes.
#[derive(Clone, Debug)]
pub(crate) struct ConnHandle {
    pub(crate) peer: SocketAddr,
    pub(crate) kill: Arc<AtomicBool>,
}

impl Connected<IncomingStream<'_, KillListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener handing out [`KillableStream`]s.
pub(crate) struct KillListener {
    pub(crate) inner: TcpListener,
}

impl Listener for KillListener {
    type Io = KillableStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    let io = KillableStream {
                        inner: stream,
                        kill: kill.clone(),
                    };
                    return (io, ConnHandle { peer, kill });
                }
                Err(e) => {
                    tracing::debug!("accept error: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle {
            peer: self.inner.local_addr()?,
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A TCP stream whose writes fail once its kill flag is set.
pub(crate) struct KillableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl KillableStream {
    fn killed(&self) -> bool {
        if self.kill.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            true
        } else {
            false
        }
    }
}

fn reset_err() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "fault injection: reset")
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset_err()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset_err()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset_err()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
