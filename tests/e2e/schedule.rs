//! The sync schedule of `cites serve`: it fires on its cron, runs the synchroniser, and never
//! starts a run while one is going.

use std::sync::Arc;
use std::time::Duration;

use cites::app::schedule::{Schedule, validate_cron};
use db::{Backend, TestDb};
use speciesplus_fake::{Catalogue, FakeConfig, FakeSpeciesPlus};
use sync::{Client, ClientConfig, SyncSettings, Synchroniser, Token};

const TOKEN: &str = "schedule-test-token-00tt";

#[test]
fn a_five_field_crontab_is_refused_with_the_accepted_form() {
    let err = validate_cron("0 6 * * Sun").expect_err("5 fields lack seconds");
    assert!(
        err.contains("--sync-cron") && err.contains("6 fields"),
        "{err}"
    );
    assert!(validate_cron(cites::app::schedule::SYNC_CRON_DEFAULT).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_runs_a_sync_on_its_cron_and_never_two_at_once() {
    // Every list call takes 1.5 s, so a run lasts several cron ticks (one per second).
    let config = FakeConfig::new(vec![TOKEN.to_owned()]).with_latency(Duration::from_millis(1500));
    let fake = FakeSpeciesPlus::start(Catalogue::generate(120, 5), config).await;
    let t = TestDb::create(Backend::Sqlite).await.unwrap();
    let mut cc = ClientConfig::new(&fake.base_url(), Token::new(TOKEN).unwrap()).unwrap();
    cc.pace = Duration::ZERO;
    cc.page_size = 50;
    let synchroniser = Arc::new(Synchroniser::new(
        t.db.clone(),
        Some(Client::new(cc).unwrap()),
        crate::support::clock(),
        SyncSettings {
            fetch_concurrency: 4,
            fetch_distributions: false,
        },
    ));
    let schedule = Schedule::start("* * * * * *", synchroniser, false, None)
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut max_running = 0;
    let mut succeeded = false;
    while std::time::Instant::now() < deadline {
        let runs = sync::store::recent_runs(&t.db, 50).await.unwrap();
        max_running = max_running.max(runs.iter().filter(|r| r.status == "running").count());
        if runs.iter().any(|r| r.status == "succeeded") {
            // Ticks while it ran were skipped: one run, not one per second.
            assert_eq!(runs.len(), 1, "{runs:?}");
            succeeded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    schedule.shutdown().await;
    assert!(succeeded, "no scheduled run succeeded within 30 s");
    assert!(max_running <= 1, "two runs were going at once");
    assert_eq!(sync::store::counts(&t.db).await.unwrap().taxa, 120);
    t.drop_db().await.unwrap();
    fake.shutdown().await;
}
