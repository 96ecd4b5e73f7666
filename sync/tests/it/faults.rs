//! Runs against a misbehaving Species+: transient faults are retried to the same catalogue;
//! fatal ones (401, a malformed page) stop the run and leave the catalogue as it was.

use std::time::Duration;

use db::{Backend, Db};
use speciesplus_fake::{Catalogue, Faults};
use sync::store;
use sync::{Client, NoProgress, RunKind};

use crate::support::*;

on_both_backends!(
    multi_thread a_full_sync_through_injected_faults_ends_with_the_same_catalogue_as_a_clean_one -> anyhow::Result<()>
);
async fn a_full_sync_through_injected_faults_ends_with_the_same_catalogue_as_a_clean_one(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 2, |dbs| async move {
        let (synced, reference) = (&dbs[0], &dbs[1]);
        let catalogue = Catalogue::generate(200, 5);
        let fake = start_fake(catalogue.clone(), |c| {
            c.with_faults(Faults {
                error_rate: 0.2,
                reset_rate: 0.05,
                slow_rate: 0.05,
                slow_by: Duration::from_millis(100),
                // Edge throttling answering 404 after a burst...
                throttle_after: Some(150),
                throttle_status: 404,
                retry_after_429: Some(97),
                retry_after_secs: 1,
                // ...and 403 then 404 to the first requests, i.e. on the list route (page 1),
                // where a 404 cannot mean "no such taxon".
                fail_paths: vec![
                    ("/taxon_concepts".into(), 403, 2),
                    ("/taxon_concepts".into(), 404, 2),
                    ("/distributions".into(), 403, 2),
                ],
                malformed_page: None,
                seed: 3,
            })
        })
        .await;
        let mut config = client_config(&fake, TOKEN);
        // A throttling window lasts a second: allow enough attempts to outlive it.
        config.attempts_max = 40;
        config.backoff_max = Duration::from_millis(100);
        let s = synchroniser(synced, Some(Client::new(config)?), &clock());

        let report = s.run_once(RunKind::Full, &NoProgress).await?;

        let requests = fake.requests();
        for status in [403, 404, 429, 0] {
            assert!(
                requests.iter().any(|r| r.status == status),
                "the fake injected no {status} (0 = connection reset)"
            );
        }
        assert!(
            requests
                .iter()
                .any(|r| [500, 502, 520, 524].contains(&r.status))
        );
        let page_one: Vec<u16> = requests
            .iter()
            .filter(|r| r.path.ends_with("/taxon_concepts"))
            .take(5)
            .map(|r| r.status)
            .collect();
        assert_eq!(
            page_one,
            [403, 403, 404, 404, 200],
            "page 1 is retried until it comes"
        );
        assert!(report.retries > 0);
        assert!(report.requests > report.retries);
        assert_eq!(report.taxa_added, catalogue.len() as u64);
        assert_same_catalogue(
            &store::fingerprint(synced).await?,
            &dump_fingerprint(reference, &catalogue).await?,
            "faulty vs clean",
        );
        Ok(())
    })
    .await
}

/// A catalogue in `db` that differs from what the fake will serve: the dump of `older`.
async fn baseline(db: &Db, older: &Catalogue) -> anyhow::Result<(String, Option<String>)> {
    load_dump(db, older).await?;
    let since = store::last_success_start(db).await?.map(|t| t.to_rfc3339());
    Ok((store::fingerprint(db).await?, since))
}

on_both_backends!(
    multi_thread a_refused_token_stops_the_run_with_a_clear_error_and_changes_nothing -> anyhow::Result<()>
);
async fn a_refused_token_stops_the_run_with_a_clear_error_and_changes_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        let (before, since_before) = baseline(db, &Catalogue::generate(120, 1)).await?;
        assert!(since_before.is_some());
        let served = Catalogue::generate(120, 2);
        let fake = start_fake(served, |c| c).await;
        let clock = clock();
        clock.advance(chrono::Duration::days(1));

        // A wrong token: refused on the first request.
        let wrong = "wrong-tok-Hq83Zr";
        let s = synchroniser(db, Some(Client::new(client_config(&fake, wrong))?), &clock);
        let err = s
            .run_once(RunKind::Full, &NoProgress)
            .await
            .expect_err("a wrong token must fail the run");
        assert!(matches!(err, sync::Error::Unauthorized { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("401") && message.contains("CITES_SPECIESPLUS_TOKEN"));
        assert!(message.contains("taxon_concepts"), "{message}");
        assert!(!message.contains(wrong) && !format!("{err:?}").contains(wrong));
        assert_eq!(fake.requests().len(), 1, "a 401 is never retried");

        // The right token, revoked in the middle of the legislation phase.
        let s = synchroniser(db, Some(client(&fake)), &clock);
        let watch = async {
            for _ in 0..10_000 {
                if requests_to(&fake.requests(), "/cites_legislation") >= 20 {
                    fake.revoke_token(TOKEN);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        let (outcome, ()) = tokio::join!(s.run_once(RunKind::Full, &NoProgress), watch);
        let err = outcome.expect_err("a revoked token must fail the run");
        assert!(matches!(err, sync::Error::Unauthorized { .. }), "{err:?}");
        assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains(TOKEN));

        assert_same_catalogue(&store::fingerprint(db).await?, &before, "after 401");
        assert_eq!(
            store::last_success_start(db).await?.map(|t| t.to_rfc3339()),
            since_before,
            "the watermark must not move"
        );
        let runs = store::recent_runs(db, 3).await?;
        assert_eq!(
            runs.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
            ["failed", "failed", "succeeded"]
        );
        assert!(runs[0].error.as_deref().is_some_and(|e| e.contains("401")));
        assert!(store::unfinished_run(db).await?.is_none());
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread a_malformed_page_fails_the_run_naming_the_url_and_applies_nothing -> anyhow::Result<()>
);
async fn a_malformed_page_fails_the_run_naming_the_url_and_applies_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        let (before, since_before) = baseline(db, &Catalogue::generate(120, 1)).await?;
        let fake = start_fake(Catalogue::generate(120, 2), |c| {
            c.with_faults(Faults {
                malformed_page: Some(2),
                ..Faults::default()
            })
        })
        .await;
        let clock = clock();
        clock.advance(chrono::Duration::days(1));

        let err = full_sync(db, &fake, &clock)
            .await
            .expect_err("a malformed page must fail the run");

        let err = err.downcast::<sync::Error>()?;
        assert!(matches!(err, sync::Error::Malformed { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("taxon_concepts") && message.contains("page=2"),
            "{message}"
        );
        assert_same_catalogue(&store::fingerprint(db).await?, &before, "after malformed");
        assert_eq!(
            store::last_success_start(db).await?.map(|t| t.to_rfc3339()),
            since_before
        );
        let runs = store::recent_runs(db, 1).await?;
        assert_eq!(runs[0].status, "failed");
        assert!(
            runs[0]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("page=2"))
        );
        Ok(())
    })
    .await
}
