//! Bulk-dump loads: all or nothing, and a watermark for the next incremental run.

use db::Backend;
use speciesplus_fake::Catalogue;
use sync::store;
use sync::{NoProgress, RunKind};

use crate::support::*;

on_both_backends!(
    multi_thread a_dump_with_a_malformed_line_fails_naming_the_line_and_applies_nothing -> anyhow::Result<()>
);
async fn a_dump_with_a_malformed_line_fails_naming_the_line_and_applies_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        load_dump(db, &Catalogue::generate(60, 1)).await?;
        let before = store::fingerprint(db).await?;
        let since = store::last_success_start(db).await?;

        let dir = tempfile::tempdir()?;
        let mut text = Catalogue::generate(60, 2).to_ndjson();
        text.push_str("{\"id\": 77, \"full_name\": \"Truncated\n");
        let path = dir.path().join("broken.ndjson");
        std::fs::write(&path, text)?;
        let err = synchroniser(db, None, &clock())
            .run_once(RunKind::Dump(path), &NoProgress)
            .await
            .expect_err("a malformed line fails the load");

        assert!(
            matches!(&err, sync::Error::MalformedDump { line: 61, path, .. } if path.ends_with("broken.ndjson")),
            "{err:?}"
        );
        assert_same_catalogue(&store::fingerprint(db).await?, &before, "after a broken dump");
        assert_eq!(store::last_success_start(db).await?, since);
        let runs = store::recent_runs(db, 1).await?;
        assert_eq!((runs[0].kind.as_str(), runs[0].status.as_str()), ("dump", "failed"));

        let missing = synchroniser(db, None, &clock())
            .run_once(RunKind::Dump(dir.path().join("absent.ndjson")), &NoProgress)
            .await
            .expect_err("a missing file fails the load");
        assert!(matches!(missing, sync::Error::DumpIo { .. }), "{missing:?}");
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread an_incremental_run_after_a_dump_load_asks_for_changes_since_the_dump_minus_the_overlap -> anyhow::Result<()>
);
async fn an_incremental_run_after_a_dump_load_asks_for_changes_since_the_dump_minus_the_overlap(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        let catalogue = Catalogue::generate(80, 3);
        load_dump(db, &catalogue).await?;
        // The file was written after t0, so the watermark is the load's start, t0.
        assert_eq!(store::last_success_start(db).await?, Some(t0()));
        let fake = start_fake(catalogue, |c| c).await;
        let clock = clock();
        clock.advance(chrono::Duration::days(3));

        let report = synchroniser(db, Some(client(&fake)), &clock)
            .run_once(RunKind::Incremental, &NoProgress)
            .await?;

        assert_eq!(report.kind, "incremental");
        assert_eq!(report.updated_since.as_deref(), Some("2023-12-24T00:00:00"));
        assert_eq!(
            report.taxa_added + report.taxa_changed + report.taxa_deleted,
            0
        );
        let pages = fake
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/taxon_concepts"))
            .collect::<Vec<_>>();
        assert!(
            pages
                .iter()
                .all(|r| query_param(r, "updated_since").as_deref() == Some("2023-12-24T00:00:00"))
        );
        assert_eq!(
            store::last_success_start(db).await?,
            Some(t0() + chrono::Duration::days(3))
        );
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread an_incremental_run_with_no_successful_run_before_it_is_a_full_run -> anyhow::Result<()>
);
async fn an_incremental_run_with_no_successful_run_before_it_is_a_full_run(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        let catalogue = Catalogue::generate(60, 4);
        let fake = start_fake(catalogue.clone(), |c| c).await;

        let report = synchroniser(db, Some(client(&fake)), &clock())
            .run_once(RunKind::Incremental, &NoProgress)
            .await?;

        assert_eq!(report.kind, "full");
        assert_eq!(report.updated_since, None);
        assert_eq!(report.taxa_added, catalogue.len() as u64);
        assert!(
            fake.requests()
                .iter()
                .all(|r| query_param(r, "updated_since").is_none())
        );
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread the_latest_dump_downloaded_through_the_api_gives_the_same_catalogue_as_a_walk -> anyhow::Result<()>
);
async fn the_latest_dump_downloaded_through_the_api_gives_the_same_catalogue_as_a_walk(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 2, |dbs| async move {
        let catalogue = Catalogue::generate(150, 11);
        let fake = start_fake(catalogue, |c| c).await;
        let clock = clock();
        full_sync(&dbs[0], &fake, &clock).await?;
        let walked = store::fingerprint(&dbs[0]).await?;

        fake.clear_requests();
        let report = synchroniser(&dbs[1], Some(client(&fake)), &clock)
            .run_once(RunKind::LatestDump, &NoProgress)
            .await?;
        assert_eq!(report.taxa_seen, 150);
        assert_same_catalogue(&store::fingerprint(&dbs[1]).await?, &walked, "dump vs walk");
        let requests = fake.requests();
        let api: Vec<_> = requests
            .iter()
            .filter(|r| r.path.contains("/api/v1/"))
            .collect();
        let files: Vec<_> = requests
            .iter()
            .filter(|r| r.path.starts_with("/files/"))
            .collect();
        assert_eq!(api.len(), 1, "one metadata request: {requests:?}");
        assert!(api[0].has_token);
        assert_eq!(files.len(), 1, "one download: {requests:?}");
        assert!(
            !files[0].has_token,
            "the token must not be sent to the storage URL"
        );
        // The dump's creation time (the fake's clock) becomes the watermark, not the load time.
        assert_eq!(
            store::last_success_start(&dbs[1]).await?,
            Some(fake.now().min(t0()))
        );
        fake.shutdown().await;
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread an_expired_dump_link_fails_clearly_and_changes_nothing -> anyhow::Result<()>
);
async fn an_expired_dump_link_fails_clearly_and_changes_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let fake = start_fake(Catalogue::generate(40, 12), |c| {
            c.with_download_ttl(std::time::Duration::ZERO)
        })
        .await;
        // The link expires the instant it is issued; move the fake's clock past it.
        let c = client(&fake);
        let info = c.latest_dump().await?.expect("the fake offers a dump");
        fake.set_now(fake.now() + chrono::Duration::seconds(5));
        let path = tempfile::NamedTempFile::new()?;
        let err = c
            .download_dump(&info.download_url, path.path())
            .await
            .expect_err("an expired link is refused");
        assert!(
            matches!(&err, sync::Error::Rejected { status: 403, .. }),
            "{err:?}"
        );
        assert!(
            !err.to_string().contains("expires="),
            "the signature is not shown: {err}"
        );
        assert_eq!(store::counts(&dbs[0]).await?.taxa, 0);
        fake.shutdown().await;
        Ok(())
    })
    .await
}
