//! The connection's socket as hyper sees it: hyper's own answers to a head it cannot read (400,
//! 414, 431, sent with an empty body) are rewritten into the service's JSON error format, and a
//! write that makes no progress for the stall deadline ends the connection.
//!
//! hyper writes those answers itself, before any route runs, and closes the connection after
//! them; they are recognised as an error status whose head has no `content-type` and an empty
//! body, which no answer of the router has (all of its answers are JSON).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// After a rewritten error answer, the rest of the client's request is read and dropped for
/// at most this long before closing, so that the client reads the answer rather than a reset.
const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// ... and at most this many bytes of it (a client sending more gets the reset).
const LINGER_BYTES_MAX: usize = 4 * 1024 * 1024;

pub struct Guarded {
    inner: TcpStream,
    stall_timeout: Duration,
    stall: Option<Pin<Box<Sleep>>>,
    /// The rewritten answer and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
    linger: Option<(Pin<Box<Sleep>>, usize)>,
}

impl Guarded {
    pub fn new(inner: TcpStream, stall_timeout: Duration) -> Guarded {
        Guarded {
            inner,
            stall_timeout,
            stall: None,
            replacement: None,
            linger: None,
        }
    }

    /// `polled` as is, or an error once it has been pending for the stall deadline.
    fn within_stall<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stall = None;
            return polled;
        }
        let timeout = self.stall_timeout;
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read its answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes what is left of the rewritten answer.
    fn write_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let polled = match &self.replacement {
                Some((bytes, written)) if *written < bytes.len() => {
                    Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..])
                }
                _ => return Poll::Ready(Ok(())),
            };
            let n = ready!(self.within_stall(cx, polled))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if let Some((_, written)) = &mut self.replacement {
                *written += n;
            }
        }
    }

    /// Reads and drops what the client still sends, within the linger bounds.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let (sleep, drained) = self
            .linger
            .get_or_insert_with(|| (Box::pin(tokio::time::sleep(LINGER_TIMEOUT)), 0));
        let mut scratch = [0_u8; 8192];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    *drained += buf.filled().len();
                    if *drained > LINGER_BYTES_MAX {
                        return Poll::Ready(());
                    }
                }
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => return sleep.as_mut().poll(cx),
            }
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacement.is_some() {
            // hyper closes the connection after its error answer: nothing follows it.
            ready!(self.write_replacement(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        if let Some(answer) = rewritten(buf) {
            self.replacement = Some((answer, 0));
            return Poll::Ready(Ok(buf.len()));
        }
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.within_stall(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.write_replacement(cx))?;
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.within_stall(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.write_replacement(cx))?;
        if self.linger.is_none() {
            let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
            ready!(self.within_stall(cx, polled))?;
        }
        if self.replacement.is_some() {
            ready!(self.drain(cx));
        }
        Poll::Ready(Ok(()))
    }
}

/// The service's answer in place of hyper's error answer `written`, if it is one.
fn rewritten(written: &[u8]) -> Option<Vec<u8>> {
    let end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&written[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let headers: Vec<&str> = lines.collect();
    let named = |name: &str| {
        headers.iter().find(|h| {
            h.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
    };
    let empty = named("content-length")
        .and_then(|h| h.split_once(':'))
        .is_some_and(|(_, v)| v.trim() == "0");
    if !empty || named("content-type").is_some() || written.len() != end + 4 {
        return None;
    }
    let (code, field, message) = match status {
        431 => (
            "header_too_large",
            "headers",
            format!(
                "the request head (request line and headers) is larger than the {} bytes \
                 accepted, or has more than 100 headers",
                super::HEAD_BYTES_MAX
            ),
        ),
        414 => (
            "uri_too_long",
            "uri",
            "the request's URI is too long".to_owned(),
        ),
        400 => (
            "bad_request",
            "request",
            "the request could not be read as HTTP/1.1: check its request line and headers"
                .to_owned(),
        ),
        _ => return None,
    };
    // The service's error format (`http::ApiError`), written out here below the router.
    let body = json!({"error": {"code": code, "message": message, "field": field}}).to_string();
    let mut answer = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(date) = named("date") {
        answer.push_str(date);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    answer.push_str(&body);
    Some(answer.into_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::rewritten;

    #[test]
    fn hyper_s_empty_431_becomes_the_json_error_and_the_router_s_answers_are_untouched() {
        let hyper_s = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\
                        content-length: 0\r\ndate: Mon, 07 Dec 2026 00:59:46 GMT\r\n\r\n";
        let answer = String::from_utf8(rewritten(hyper_s).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\ncontent-type: application/json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(head.contains("\r\ndate: Mon, 07 Dec 2026 00:59:46 GMT"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "header_too_large");
        assert_eq!(body["error"]["field"], "headers");

        for untouched in [
            // The router's answers are JSON, with a content type.
            &b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"[..],
            // An empty success (a HEAD's answer) or an error with a body.
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\nno",
            // A status hyper does not answer by itself, and a head cut short.
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
        ] {
            assert_eq!(rewritten(untouched), None, "{}", String::from_utf8_lossy(untouched));
        }
    }
}
