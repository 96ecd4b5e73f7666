//! kill -9 in the middle of a sync run, then run again: the catalogue ends exactly as after an
//! uninterrupted run.

use std::process::{Command, Stdio};
use std::time::Duration;

use db::{Backend, TestDb, with_db};
use speciesplus_fake::{Catalogue, FakeConfig, FakeSpeciesPlus};

use crate::support::stderr;

const TOKEN: &str = "crash-test-token-0000tt";

fn sync_command(url: &str, fake: &FakeSpeciesPlus) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cites"));
    c.env(crate::support::TEST_ONLY_NOW_ENV, crate::support::NOW);
    c.args(["sync", "--full"])
        .env("DATABASE_URL", url)
        .env("CITES_SPECIESPLUS_TOKEN", TOKEN)
        .env("CITES_SPECIESPLUS_URL", fake.base_url())
        .env("CITES_SPECIESPLUS_PACE_MS", "0")
        .env("CITES_SPECIESPLUS_CONCURRENCY", "2")
        .env("RUST_LOG", "warn");
    c
}

async fn staged_rows(t: &TestDb) -> i64 {
    with_db!(&t.db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sync_stage")
        .fetch_one(pool).await)
    .unwrap_or(0)
}

async fn killed_sync_rerun_ends_with_the_clean_catalogue(backend: Backend) {
    let catalogue = Catalogue::generate(600, 7);
    let config = FakeConfig::new(vec![TOKEN.to_owned()]).with_latency(Duration::from_millis(2));
    let fake = FakeSpeciesPlus::start(catalogue, config).await;

    let clean = TestDb::create(backend).await.unwrap();
    let out = sync_command(&clean.url, &fake).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let want = sync::store::fingerprint(&clean.db).await.unwrap();
    assert!(sync::store::counts(&clean.db).await.unwrap().taxa > 500);

    let crashed = TestDb::create(backend).await.unwrap();
    for kill_after_staged in [5_i64, 150] {
        let mut child = sync_command(&crashed.url, &fake)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while staged_rows(&crashed).await < kill_after_staged {
            assert!(
                std::time::Instant::now() < deadline,
                "the run staged nothing in 60 s"
            );
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let partial = sync::store::counts(&crashed.db).await.unwrap();
    assert_eq!(
        partial.taxa, 0,
        "a killed run must not have applied anything"
    );

    let out = sync_command(&crashed.url, &fake).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("resumed"),
        "the rerun should resume"
    );
    let got = sync::store::fingerprint(&crashed.db).await.unwrap();
    assert!(
        got == want,
        "the catalogue after kill -9 and rerun differs from a clean run"
    );
    assert_eq!(
        staged_rows(&crashed).await,
        0,
        "staging is emptied by the successful run"
    );

    clean.drop_db().await.unwrap();
    crashed.drop_db().await.unwrap();
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_sync_rerun_ends_with_the_clean_catalogue() {
    killed_sync_rerun_ends_with_the_clean_catalogue(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_sync_rerun_ends_with_the_clean_catalogue() {
    killed_sync_rerun_ends_with_the_clean_catalogue(Backend::Postgres).await;
}
