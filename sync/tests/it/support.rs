//! Shared set-up: throw-away databases on either backend, the fake Species+ server, a client and
//! a synchroniser tuned for tests (no pacing, millisecond backoffs), and dump files.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use db::{Backend, Db, TestDb};
use domain::ManualClock;
use speciesplus_fake::{Catalogue, FakeConfig, FakeSpeciesPlus, RecordedRequest};
use sync::{Client, ClientConfig, NoProgress, RunKind, SyncReport, SyncSettings, Synchroniser};

/// The token the fake accepts. Long and unusual, so a leak into a message is easy to spot.
pub const TOKEN: &str = "tok-7Qm2x9LpZ4";

/// `db`'s, shared by every test binary.
pub(crate) use db::on_both_backends;

/// Creates `n` fresh databases on `backend`, runs `body` on them and drops them again, also
/// when `body` fails or panics (the panic is re-raised afterwards). An unreachable PostgreSQL
/// server is an error: the test fails, it is never skipped.
pub async fn with_dbs<F, Fut>(backend: Backend, n: usize, body: F) -> anyhow::Result<()>
where
    F: FnOnce(Vec<Db>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut created = Vec::with_capacity(n);
    for _ in 0..n {
        match TestDb::create(backend).await {
            Ok(t) => created.push(t),
            Err(e) => {
                for t in created {
                    let _ = t.drop_db().await;
                }
                return Err(e)
                    .with_context(|| format!("cannot create a {backend:?} test database"));
            }
        }
    }
    let dbs = created.iter().map(|t| t.db.clone()).collect();
    let outcome = tokio::spawn(body(dbs)).await;
    for t in created {
        t.drop_db().await?;
    }
    match outcome {
        Ok(result) => result,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Err(e.into()),
        },
    }
}

/// 2024-01-01T00:00:00Z: after every `updated_at` of the sample catalogue.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid instant")
}

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a valid date")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The 570-line sample catalogue (`fixtures/sample/catalogue.ndjson`).
pub fn sample() -> Catalogue {
    let text = std::fs::read_to_string(fixtures().join("sample/catalogue.ndjson"))
        .expect("the sample catalogue is readable");
    Catalogue::from_ndjson(&text).expect("the sample catalogue parses")
}

/// Starts the fake serving `catalogue`, accepting [`TOKEN`].
pub async fn start_fake(
    catalogue: Catalogue,
    configure: impl FnOnce(FakeConfig) -> FakeConfig,
) -> FakeSpeciesPlus {
    FakeSpeciesPlus::start(
        catalogue,
        configure(FakeConfig::new(vec![TOKEN.to_owned()])),
    )
    .await
}

/// Test settings: no pacing, pages of 50, millisecond backoffs.
pub fn client_config(fake: &FakeSpeciesPlus, token: &str) -> ClientConfig {
    let mut c = ClientConfig::new(
        &fake.base_url(),
        sync::Token::new(token).expect("a valid token"),
    )
    .expect("a valid base URL");
    c.pace = Duration::ZERO;
    c.page_size = 50;
    c.backoff_base = Duration::from_millis(5);
    c.backoff_max = Duration::from_millis(50);
    c.request_timeout = Duration::from_secs(20);
    c
}

pub fn client(fake: &FakeSpeciesPlus) -> Client {
    Client::new(client_config(fake, TOKEN)).expect("a client")
}

pub fn settings() -> SyncSettings {
    SyncSettings {
        fetch_concurrency: 4,
        fetch_distributions: true,
    }
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(t0()))
}

pub fn synchroniser(db: &Db, client: Option<Client>, clock: &Arc<ManualClock>) -> Synchroniser {
    Synchroniser::new(db.clone(), client, clock.clone(), settings())
}

/// Writes `catalogue` as an NDJSON dump into `dir`, gzipped or not.
pub fn write_dump(dir: &Path, catalogue: &Catalogue, gz: bool) -> anyhow::Result<PathBuf> {
    let text = catalogue.to_ndjson();
    if gz {
        let path = dir.join("catalogue.ndjson.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&path)?,
            flate2::Compression::default(),
        );
        enc.write_all(text.as_bytes())?;
        enc.finish()?;
        Ok(path)
    } else {
        let path = dir.join("catalogue.ndjson");
        std::fs::write(&path, text)?;
        Ok(path)
    }
}

/// Loads `catalogue` into `db` as a dump file (the reference a synced catalogue must equal).
pub async fn load_dump(db: &Db, catalogue: &Catalogue) -> anyhow::Result<SyncReport> {
    let dir = tempfile::tempdir()?;
    let path = write_dump(dir.path(), catalogue, false)?;
    let s = synchroniser(db, None, &clock());
    Ok(s.run_once(RunKind::Dump(path), &NoProgress).await?)
}

/// The fingerprint of `catalogue` loaded as a dump into the fresh database `db`.
pub async fn dump_fingerprint(db: &Db, catalogue: &Catalogue) -> anyhow::Result<String> {
    load_dump(db, catalogue).await?;
    Ok(sync::store::fingerprint(db).await?)
}

/// A full run against `fake` with the test client.
pub async fn full_sync(
    db: &Db,
    fake: &FakeSpeciesPlus,
    clock: &Arc<ManualClock>,
) -> anyhow::Result<SyncReport> {
    let s = synchroniser(db, Some(client(fake)), clock);
    Ok(s.run_once(RunKind::Full, &NoProgress).await?)
}

/// The first line of two fingerprints that differ, for a readable assertion message.
pub fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  left:  {x}\n  right: {y}", i + 1);
        }
    }
    format!(
        "one is a prefix of the other ({} vs {} lines)",
        a.lines().count(),
        b.lines().count()
    )
}

/// Asserts two fingerprints are equal, showing the first differing line otherwise.
#[track_caller]
pub fn assert_same_catalogue(actual: &str, expected: &str, what: &str) {
    assert!(
        actual == expected,
        "{what}: catalogues differ at {}",
        first_difference(actual, expected)
    );
}

/// Requests whose path contains `needle`.
pub fn requests_to(requests: &[RecordedRequest], needle: &str) -> usize {
    requests.iter().filter(|r| r.path.contains(needle)).count()
}

/// The value of query parameter `name` in a recorded request, percent-decoded.
pub fn query_param(r: &RecordedRequest, name: &str) -> Option<String> {
    let q = r.query.as_deref()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
