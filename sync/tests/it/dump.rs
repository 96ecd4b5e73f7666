//! Bulk-dump loads: all or nothing, and a watermark for the next incremental run.

use db::Backend;
use speciesplus_fake::Catalogue;
use sync::store;
use sync::{NoProgress, RunKind};

use crate::support::*;

on_both_backends!(a_dump_with_a_malformed_line_fails_naming_the_line_and_applies_nothing);
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
    an_incremental_run_after_a_dump_load_asks_for_changes_since_the_dump_minus_the_overlap
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

on_both_backends!(an_incremental_run_with_no_successful_run_before_it_is_a_full_run);
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
