//! Slow, idle and oversized clients against `cites serve` as a child process: under a lowered
//! open-file limit, sockets that never finish their request
//! head are closed by the head deadline, an idle keep-alive connection is closed, a body sent
//! too slowly gets the JSON 408, a fresh client is still answered, and a head over the limit
//! gets a JSON 431.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cites::http::listen::{BODY_TIMEOUT, HEAD_TIMEOUT, slots_for_file_limit};
use db::{Backend, TestDb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use crate::support::{cites, stdout};

/// The open-file limit the server runs under: the slow sockets below are more than it.
const FILE_LIMIT: u64 = 256;
/// Sockets sending only `GET /health HTTP/1.1\r\n`, more than the server has descriptors.
const SLOW_SOCKETS: usize = 300;
/// Added to every deadline-derived bound: the machine is shared and noisy.
const MARGIN: Duration = Duration::from_secs(10);
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `cites serve` as a child process, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
    log: tempfile::NamedTempFile,
}

impl Served {
    /// Starts the server on `url`, under `file_limit` open files if given (through the shell's
    /// `ulimit`, the workspace forbidding `unsafe`).
    async fn start(url: &str, file_limit: Option<u64>) -> Served {
        sync::client::install_tls_provider();
        let log = tempfile::NamedTempFile::new().unwrap();
        let limit = file_limit.map_or(String::new(), |n| format!("ulimit -n {n} && "));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{limit}exec \"$0\" serve --listen 127.0.0.1:0 --no-sample"
            ))
            .arg(env!("CARGO_BIN_EXE_cites"))
            .env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW)
            .env("DATABASE_URL", url)
            .env_remove("CITES_SPECIESPLUS_TOKEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.reopen().unwrap()))
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let read = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(out).read_line(&mut line).map(|_| line)
        });
        let line = timeout(START_TIMEOUT, read).await;
        let mut served = Served {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            log,
        };
        let line = line
            .unwrap_or_else(|_| panic!("serve did not start: {}", served.log_text()))
            .unwrap()
            .unwrap();
        served.addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("serve did not start ({line:?}): {}", served.log_text()))
            .parse()
            .unwrap();
        served
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// SIGTERM; the server must shut down cleanly within its drain bound.
    async fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let bound = cites::http::listen::SHUTDOWN_DRAIN_TIMEOUT + MARGIN;
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < bound,
                "serve still running {bound:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let exit = self.child.wait().unwrap();
        assert!(
            exit.success(),
            "serve did not shut down cleanly: {exit:?}\n{}",
            self.log_text()
        );
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A key of `role` created with the command line; the secret is its output's second line.
fn new_key(url: &str, role: &str) -> String {
    let out = cites(url, &["keys", "create", "--role", role, "--name", role]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out).lines().nth(1).unwrap().trim().to_owned()
}

/// Everything the server sends until it closes the connection (or resets it), read until
/// `deadline`; `None` if the connection is still open then.
async fn read_until_closed(
    stream: &mut (impl AsyncReadExt + Unpin),
    deadline: Instant,
) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        match timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The JSON body of an answer read off the wire.
fn json_body(answer: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(answer);
    let (_, body) = text.split_once("\r\n\r\n").unwrap_or(("", ""));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not a JSON answer ({e}): {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_and_health_answers_under_a_lowered_file_limit() {
    let t = TestDb::create(Backend::Sqlite).await.unwrap();
    let key = new_key(&t.url, "permit-officer");
    let server = Served::start(&t.url, Some(FILE_LIMIT)).await;
    let addr = server.addr;

    // An idle keep-alive connection: one request answered, then nothing.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: cites\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0_u8; 12];
    timeout(MARGIN, idle.read_exact(&mut first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let idle_since = Instant::now();

    // A permit check whose 100-byte body comes one byte a second.
    let (mut body_read, mut body_write) = TcpStream::connect(addr).await.unwrap().into_split();
    let head = format!(
        "POST /v1/permit-checks HTTP/1.1\r\nHost: cites\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    body_write.write_all(head.as_bytes()).await.unwrap();
    let body_since = Instant::now();
    let drip = tokio::spawn(async move {
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if body_write.write_all(b" ").await.is_err() {
                break;
            }
        }
    });

    // More sockets than the server has descriptors, none finishing its head.
    let opened = Instant::now();
    let mut slow = Vec::new();
    for i in 0..SLOW_SOCKETS {
        let mut s = timeout(MARGIN, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("slow socket {i} could not connect"))
            .unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
        slow.push(s);
    }

    // A fresh client is answered once the head deadline has freed enough slots: the server
    // serves `slots` connections at once, the rest wait in the backlog in order.
    let slots = slots_for_file_limit(FILE_LIMIT);
    let waves = u32::try_from((SLOW_SOCKETS + 3).div_ceil(slots)).unwrap();
    let bound = HEAD_TIMEOUT * waves + MARGIN;
    let asked = Instant::now();
    let health = timeout(
        bound,
        reqwest::Client::new()
            .get(format!("http://{addr}/health"))
            .send(),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "GET /health unanswered after {bound:?}\n{}",
            server.log_text()
        )
    })
    .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let health_took = asked.elapsed();

    // Every slow socket is closed by the server (no answer, or a 408) within the same bound.
    let deadline = opened + bound;
    let closers: Vec<_> = slow
        .into_iter()
        .map(|mut s| tokio::spawn(async move { read_until_closed(&mut s, deadline).await }))
        .collect();
    for (i, closer) in closers.into_iter().enumerate() {
        let got = closer.await.unwrap();
        let got = got.unwrap_or_else(|| panic!("slow socket {i} still open after {bound:?}"));
        assert!(
            got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
            "slow socket {i}: {}",
            String::from_utf8_lossy(&got)
        );
    }

    // The idle connection was closed by the head deadline.
    let rest = read_until_closed(&mut idle, idle_since + HEAD_TIMEOUT + MARGIN)
        .await
        .unwrap_or_else(|| panic!("the idle connection is still open"));
    assert!(
        !String::from_utf8_lossy(&rest).contains("HTTP/1.1"),
        "{rest:?}"
    );

    // The slow body got the JSON 408.
    let answer = read_until_closed(&mut body_read, body_since + BODY_TIMEOUT + MARGIN)
        .await
        .unwrap_or_else(|| panic!("the slow body's connection is still open"));
    drip.abort();
    assert!(
        answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let body = json_body(&answer);
    assert_eq!(body["error"]["code"], "body_timeout", "{body}");
    assert_eq!(body["error"]["field"], "body", "{body}");

    let log = server.log_text();
    assert!(
        log.matches("accept error").count() <= 1,
        "accept errors logged in a loop:\n{log}"
    );
    eprintln!("fresh GET /health answered in {health_took:?} (bound {bound:?}, {slots} slots)");
    server.stop().await;
    t.drop_db().await.unwrap();
}

/// Sends `head` (in pieces, while reading) and returns the whole answer.
async fn exchange(addr: SocketAddr, head: Vec<u8>) -> Vec<u8> {
    let (mut read, mut write) = TcpStream::connect(addr).await.unwrap().into_split();
    let writer = tokio::spawn(async move {
        for chunk in head.chunks(64 * 1024) {
            if write.write_all(chunk).await.is_err() {
                break;
            }
        }
        write
    });
    let answer = read_until_closed(&mut read, Instant::now() + MARGIN * 2)
        .await
        .unwrap_or_else(|| panic!("connection still open after {:?}", MARGIN * 2));
    drop(writer.await);
    answer
}

#[tokio::test]
async fn a_head_too_large_gets_431_and_an_unreadable_one_400_in_the_error_format() {
    let t = TestDb::create(Backend::Sqlite).await.unwrap();
    let server = Served::start(&t.url, None).await;
    let big = format!(
        "GET /health HTTP/1.1\r\nHost: cites\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let many: String = (0..200).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let many = format!("GET /health HTTP/1.1\r\nHost: cites\r\n{many}\r\n");
    for (name, head, status, code) in [
        ("1 MB header", big, "431", "header_too_large"),
        ("200 headers", many, "431", "header_too_large"),
        (
            "a header without a colon",
            "GET /health HTTP/1.1\r\nHost cites\r\n\r\n".to_owned(),
            "400",
            "bad_request",
        ),
    ] {
        let answer = exchange(server.addr, head.into_bytes()).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: {text:?}"
        );
        assert!(
            text.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{name}: {text:?}"
        );
        let body = json_body(&answer);
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }
    // The service still answers, and its own answers are untouched.
    let health = reqwest::get(format!("http://{}/health", server.addr))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let missing = reqwest::get(format!("http://{}/nowhere", server.addr))
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let http = reqwest::Client::new();
    let head = http
        .head(format!("http://{}/health", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    let delete = http
        .delete(format!("http://{}/health", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status().as_u16(), 405);
    // A body over the limit is still a 413 in the error format, through the body deadline.
    let key = new_key(&t.url, "permit-officer");
    let large = http
        .post(format!("http://{}/v1/permit-checks", server.addr))
        .bearer_auth(&key)
        .header("Content-Type", "application/json")
        .body(vec![b' '; cites::http::BODY_BYTES_MAX + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(large.status().as_u16(), 413);
    let body: serde_json::Value = large.json().await.unwrap();
    assert_eq!(body["error"]["code"], "body_too_large", "{body}");
    server.stop().await;
    t.drop_db().await.unwrap();
}
