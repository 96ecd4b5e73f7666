//! Shared helpers: databases on both backends loaded with the sample catalogue, a server on
//! 127.0.0.1:0, and running the binary.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use cites::app::keys::{self, Role};
use cites::http::{AppState, app};
use db::{Backend, TestDb};
use domain::{Clock, ManualClock};
use sync::{NoProgress, RunKind, SyncSettings, Synchroniser};

/// `db`'s, shared by every test binary.
pub(crate) use db::on_both_backends;

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The instant every test starts at: the in-process service's clock ([`clock`]) and, through
/// [`TEST_ONLY_NOW_ENV`], every run of the binary's, so that HTTP and CLI agree on the date and
/// no test depends on the wall clock's.
pub const NOW: &str = "2026-11-27T12:00:00Z";
pub use cites::cli::TEST_ONLY_NOW_ENV;

pub fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339(NOW)
            .unwrap()
            .with_timezone(&chrono::Utc),
    ))
}

/// The date at [`NOW`], UTC: "today" for every test.
pub fn today() -> chrono::NaiveDate {
    clock().today()
}

/// A fresh database holding the sample catalogue.
pub async fn sample_db(backend: Backend) -> TestDb {
    let t = TestDb::create(backend).await.unwrap();
    load_sample(&t.db).await;
    t
}

/// Loads the sample catalogue into `db`.
pub async fn load_sample(db: &db::Db) {
    let s = Synchroniser::new(
        db.clone(),
        None,
        clock(),
        SyncSettings {
            fetch_concurrency: 1,
            fetch_distributions: false,
        },
    );
    s.run_once(
        RunKind::Dump(repo_path("fixtures/sample/catalogue.ndjson")),
        &NoProgress,
    )
    .await
    .unwrap();
}

/// The service on 127.0.0.1:0 over a sample database, with one key per role.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub keys: Vec<(Role, String)>,
    pub t: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        sync::client::install_tls_provider();
        let t = sample_db(backend).await;
        let mut role_keys = Vec::new();
        for role in Role::ALL {
            let (key, _) = keys::create(&t.db, &format!("test {role}"), role, clock().now())
                .await
                .unwrap();
            role_keys.push((role, key));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = app(AppState::new(t.db.clone(), clock()));
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        TestApp {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            keys: role_keys,
            t,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn key(&self, role: Role) -> &str {
        &self.keys.iter().find(|(r, _)| *r == role).unwrap().1
    }

    /// Creates one more key of `role` named `name` (names are unique), beside the one per role
    /// the service starts with: another caller of the same role. Returns the key.
    pub async fn add_key(&self, name: &str, role: Role) -> String {
        keys::create(&self.t.db, name, role, clock().now())
            .await
            .unwrap()
            .0
    }

    /// GET with the key of `role` (or no key); returns status and JSON body.
    pub async fn get(&self, path: &str, role: Option<Role>) -> (u16, serde_json::Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(r) = role {
            req = req.bearer_auth(self.key(r));
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.t.drop_db().await.unwrap();
    }
}

/// Runs the `cites` binary with `args` against `database_url`, its clock starting at [`NOW`].
pub fn cites(database_url: &str, args: &[&str]) -> Output {
    cites_at(Some(NOW), database_url, args)
}

/// Runs the `cites` binary with its clock starting at `now` (RFC 3339; `None`: the system
/// clock, for the one test of that default).
pub fn cites_at(now: Option<&str>, database_url: &str, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cites"));
    cmd.args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("CITES_SPECIESPLUS_TOKEN")
        .env("RUST_LOG", "warn");
    match now {
        Some(now) => cmd.env(TEST_ONLY_NOW_ENV, now),
        None => cmd.env_remove(TEST_ONLY_NOW_ENV),
    };
    cmd.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// How long `cites serve` may take to say it listens.
const SERVE_START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Starts `cites serve` on 127.0.0.1:0 from `cmd` (the binary with its environment, stderr as
/// the caller wants it) and reads the address it prints: the child and its base URL.
pub fn spawn_serve(mut cmd: Command) -> (Child, String) {
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
        .to_owned();
    (child, base)
}

/// `cites serve` as a child process; killed when dropped (a failing test leaves no server).
pub struct Server {
    pub base: String,
    child: Child,
}

impl Server {
    pub async fn start(url: &str, log: &Path) -> Server {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cites"))
            .env(TEST_ONLY_NOW_ENV, NOW)
            .args(["serve", "--listen", "127.0.0.1:0", "--no-sample"])
            .env("DATABASE_URL", url)
            .env_remove("CITES_SPECIESPLUS_TOKEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let mut server = Server {
            child,
            base: String::new(),
        };
        let read = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(out).read_line(&mut line).map(|_| line)
        });
        let line = tokio::time::timeout(SERVE_START_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "serve did not start in {SERVE_START_TIMEOUT:?}: {}",
                    tail(log)
                )
            })
            .unwrap()
            .unwrap();
        server.base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve did not start ({line:?}): {}", tail(log)))
            .to_owned();
        assert!(server.base.starts_with("http://127.0.0.1:"), "{line}");
        server
    }

    /// SIGKILL, then reaps the process; it must die of the signal, not have ended before.
    pub fn kill(mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -KILL failed");
        let exit = self.child.wait().unwrap();
        assert_eq!(
            exit.signal(),
            Some(9),
            "serve ended before it was killed: {exit:?}"
        );
    }

    /// SIGTERM, then waits for the graceful shutdown.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "serve did not shut down cleanly: {exit:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last part of the server's log, for failure messages.
pub fn tail(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f.read_to_string(&mut text);
    }
    let start = text.len().saturating_sub(3_000);
    let start = (start..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

/// Decodes a PNG file whole (every pixel, as a viewer would) and answers its size.
pub fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut pixels)
        .unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
    assert!(
        pixels[..frame.buffer_size()].iter().any(|&b| b != 0xff),
        "{} is blank",
        path.display()
    );
    (frame.width, frame.height)
}
