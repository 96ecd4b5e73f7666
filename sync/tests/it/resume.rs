//! Interrupted runs: a run that failed starts over, a run whose future was dropped (a killed
//! task, a crash) is resumed from what it staged, and either way the catalogue ends as an
//! uninterrupted run leaves it.

use std::time::Duration;

use db::{Backend, Db};
use speciesplus_fake::{Catalogue, FakeSpeciesPlus, Faults};
use sync::store;
use sync::{NoProgress, RunKind, Synchroniser};

use crate::support::*;

fn accepted_ids(catalogue: &Catalogue) -> Vec<i64> {
    let mut ids: Vec<i64> = catalogue
        .lines()
        .filter(|l| l.is_accepted())
        .map(|l| l.id)
        .collect();
    ids.sort_unstable();
    ids
}

/// A fake whose every answer takes 10 ms, so that a run is still fetching when it is dropped.
async fn slow_fake(catalogue: &Catalogue) -> FakeSpeciesPlus {
    start_fake(catalogue.clone(), |c| {
        c.with_faults(Faults {
            slow_rate: 1.0,
            slow_by: Duration::from_millis(10),
            ..Faults::default()
        })
    })
    .await
}

/// Runs a full sync and drops it (as a killed task would be) as soon as it has staged the
/// legislation of some taxa, then lets the requests it had in flight finish.
async fn run_and_drop_mid_fetch(s: &Synchroniser, db: &Db) -> anyhow::Result<()> {
    let staged_some = async {
        loop {
            if let Ok(Some(run)) = store::unfinished_run(db).await
                && !store::staged_keys(db, run.id, "legislation")
                    .await
                    .unwrap_or_default()
                    .is_empty()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::select! {
        outcome = s.run_once(RunKind::Full, &NoProgress) => {
            anyhow::bail!("the run ended before it could be interrupted: {outcome:?}")
        }
        () = staged_some => {}
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

on_both_backends!(
    multi_thread a_run_failed_by_a_fatal_answer_mid_way_and_run_again_ends_with_the_uninterrupted_catalogue -> anyhow::Result<()>
);
async fn a_run_failed_by_a_fatal_answer_mid_way_and_run_again_ends_with_the_uninterrupted_catalogue(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 2, |dbs| async move {
        let (synced, reference) = (&dbs[0], &dbs[1]);
        let catalogue = Catalogue::generate(200, 8);
        let ids = accepted_ids(&catalogue);
        let middle = ids[ids.len() / 2];
        let fake = start_fake(catalogue.clone(), |c| {
            c.with_faults(Faults {
                fail_paths: vec![(format!("/taxon_concepts/{middle}/cites_legislation"), 422, 1)],
                ..Faults::default()
            })
        })
        .await;
        let clock = clock();

        let err = full_sync(synced, &fake, &clock)
            .await
            .expect_err("a 422 is fatal")
            .downcast::<sync::Error>()?;
        assert!(
            matches!(&err, sync::Error::Rejected { status: 422, url, .. } if url.contains(&middle.to_string())),
            "{err:?}"
        );
        assert!(requests_to(&fake.requests(), "/cites_legislation") > 1);
        assert_eq!(store::counts(synced).await?.taxa, 0, "nothing applied");
        assert!(store::last_success_start(synced).await?.is_none());
        assert!(store::unfinished_run(synced).await?.is_none());

        let report = full_sync(synced, &fake, &clock).await?;

        assert!(!report.resumed, "a failed run is not resumed but started over");
        assert_eq!(report.taxa_added, catalogue.len() as u64);
        assert_same_catalogue(
            &store::fingerprint(synced).await?,
            &dump_fingerprint(reference, &catalogue).await?,
            "after a failed run and a new one",
        );
        let runs = store::recent_runs(synced, 2).await?;
        assert_eq!(runs[0].status, "succeeded");
        assert_eq!(runs[1].status, "failed");
        assert!(runs[1].error.as_deref().is_some_and(|e| e.contains("422")));
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread a_run_dropped_mid_fetch_is_resumed_by_the_next_run_and_ends_with_the_uninterrupted_catalogue -> anyhow::Result<()>
);
async fn a_run_dropped_mid_fetch_is_resumed_by_the_next_run_and_ends_with_the_uninterrupted_catalogue(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 2, |dbs| async move {
        let (synced, reference) = (&dbs[0], &dbs[1]);
        let catalogue = Catalogue::generate(300, 8);
        let accepted = accepted_ids(&catalogue).len();
        let fake = slow_fake(&catalogue).await;
        let clock = clock();
        let s = synchroniser(synced, Some(client(&fake)), &clock);

        run_and_drop_mid_fetch(&s, synced).await?;

        let left = store::unfinished_run(synced)
            .await?
            .expect("the dropped run is left running");
        assert_eq!(left.kind, "full");
        assert_eq!(store::counts(synced).await?.taxa, 0, "nothing applied yet");
        let staged = store::staged_keys(synced, left.id, "legislation")
            .await?
            .len();
        assert!(
            0 < staged && staged < accepted,
            "{staged} of {accepted} staged"
        );
        fake.clear_requests();

        // The same synchroniser retakes its own lock at once and resumes.
        let report = s.run_once(RunKind::Full, &NoProgress).await?;

        assert!(report.resumed);
        assert_eq!(report.run_id, left.id);
        let requests = fake.requests();
        assert_eq!(
            requests
                .iter()
                .filter(|r| r.path.ends_with("/taxon_concepts"))
                .count(),
            0,
            "the walk was finished before the interruption: no page is fetched again"
        );
        assert_eq!(
            requests_to(&requests, "/cites_legislation"),
            accepted - staged,
            "only the legislation not staged yet is fetched"
        );
        assert_eq!(report.taxa_added, catalogue.len() as u64);
        assert_same_catalogue(
            &store::fingerprint(synced).await?,
            &dump_fingerprint(reference, &catalogue).await?,
            "after a resumed run",
        );
        assert!(store::unfinished_run(synced).await?.is_none());
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread another_synchroniser_waits_for_the_lock_of_a_dropped_run_to_go_stale_and_then_resumes_it -> anyhow::Result<()>
);
async fn another_synchroniser_waits_for_the_lock_of_a_dropped_run_to_go_stale_and_then_resumes_it(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 2, |dbs| async move {
        let (synced, reference) = (&dbs[0], &dbs[1]);
        let catalogue = Catalogue::generate(300, 4);
        let fake = slow_fake(&catalogue).await;
        let clock = clock();
        let first = synchroniser(synced, Some(client(&fake)), &clock);
        run_and_drop_mid_fetch(&first, synced).await?;
        drop(first);
        let seen = fake.requests().len();

        // In the same process the dropped run may still be alive (its task not yet cancelled):
        // a second synchroniser must not run alongside it...
        let second = synchroniser(synced, Some(client(&fake)), &clock);
        let err = second
            .run_once(RunKind::Full, &NoProgress)
            .await
            .expect_err("the lock is still held");
        assert!(matches!(err, sync::Error::AlreadyRunning { .. }), "{err:?}");
        assert!(err.to_string().contains("another sync run is in progress"));
        assert_eq!(fake.requests().len(), seen, "no request while locked out");

        // ...until the lock has gone without a heartbeat for the stale limit.
        clock.advance(
            chrono::Duration::from_std(sync::run::LOCK_STALE_AFTER)? + chrono::Duration::minutes(1),
        );
        let report = second.run_once(RunKind::Full, &NoProgress).await?;

        assert!(report.resumed);
        assert_same_catalogue(
            &store::fingerprint(synced).await?,
            &dump_fingerprint(reference, &catalogue).await?,
            "after a takeover",
        );
        Ok(())
    })
    .await
}

fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

on_both_backends!(
    multi_thread a_lock_left_by_an_earlier_process_with_the_same_pid_is_taken_over_at_once_but_a_live_holder_is_respected -> anyhow::Result<()>
);
async fn a_lock_left_by_an_earlier_process_with_the_same_pid_is_taken_over_at_once_but_a_live_holder_is_respected(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        let clock = clock();
        let dir = tempfile::tempdir()?;
        let dump = write_dump(dir.path(), &Catalogue::generate(40, 1), false)?;
        let s = synchroniser(db, None, &clock);

        // A process on another machine, alive as far as anyone here can tell.
        let remote = "some-other-host:4242:0badcafe:00000001";
        assert!(store::try_lock(db, remote, t0(), t0()).await?.is_none());
        let err = s
            .run_once(RunKind::Dump(dump.clone()), &NoProgress)
            .await
            .expect_err("a live holder keeps the lock");
        assert!(
            matches!(&err, sync::Error::AlreadyRunning { holder, .. } if holder == remote),
            "{err:?}"
        );
        store::unlock(db, remote).await?;

        // A restarted container: same host, same pid, but another process.
        let predecessor = format!("{}:{}:0badcafe:00000001", this_host(), std::process::id());
        assert!(
            store::try_lock(db, &predecessor, t0(), t0())
                .await?
                .is_none()
        );
        let report = s.run_once(RunKind::Dump(dump), &NoProgress).await?;
        assert_eq!(report.taxa_added, 40);
        Ok(())
    })
    .await
}
