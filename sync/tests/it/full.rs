//! Full runs against the fake: they give exactly the catalogue a dump of the same data gives.

use db::Backend;
use speciesplus_fake::Shape;
use sync::store;
use sync::{NoProgress, RunKind, SyncReport};

use crate::support::*;

on_both_backends!(
    multi_thread a_full_sync_gives_the_same_catalogue_as_loading_the_same_data_as_a_dump -> anyhow::Result<()>
);
async fn a_full_sync_gives_the_same_catalogue_as_loading_the_same_data_as_a_dump(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 3, |dbs| async move {
        let (synced, from_dump, from_gz) = (&dbs[0], &dbs[1], &dbs[2]);
        let catalogue = sample();
        let fake = start_fake(catalogue.clone(), |c| c).await;
        let clock = clock();

        let report = full_sync(synced, &fake, &clock).await?;

        assert_eq!(report.kind, "full");
        assert!(!report.resumed);
        assert_eq!(report.taxa_seen, 570);
        assert_eq!(report.taxa_added, 570);
        assert_eq!(
            report.taxa_changed + report.taxa_deleted + report.taxa_unchanged,
            0
        );
        // Every accepted taxon (569 of 570: one synonym) has its legislation fetched.
        assert_eq!(report.legislation_fetched, 569);
        // 12 pages of 50, then legislation and distributions of each accepted taxon.
        assert_eq!(report.requests, 12 + 2 * 569);
        assert_eq!(report.retries, 0);
        let requests = fake.requests();
        assert_eq!(requests.len() as u64, report.requests);
        assert!(requests.iter().all(|r| r.has_token && r.status == 200));
        for r in requests
            .iter()
            .filter(|r| r.path.ends_with("/taxon_concepts"))
        {
            assert!(query_param(r, "page").is_some(), "{r:?}");
            assert_eq!(query_param(r, "per_page").as_deref(), Some("50"), "{r:?}");
        }
        assert!(report.listing_changes > 0 && report.quotas >= 713 && report.suspensions > 0);

        // The report is stored with the run, and the watermark is the run's start.
        let runs = store::recent_runs(synced, 5).await?;
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, "succeeded");
        assert_eq!(runs[0].kind, "full");
        let stored: SyncReport =
            serde_json::from_str(runs[0].report.as_deref().expect("a stored report"))?;
        assert_eq!(stored, report);
        assert_eq!(store::last_success_start(synced).await?, Some(t0()));

        let dir = tempfile::tempdir()?;
        let plain = write_dump(dir.path(), &catalogue, false)?;
        let gz = write_dump(dir.path(), &catalogue, true)?;
        let dump_report = synchroniser(from_dump, None, &clock)
            .run_once(RunKind::Dump(plain), &NoProgress)
            .await?;
        assert_eq!(dump_report.kind, "dump");
        assert_eq!(dump_report.taxa_added, 570);
        assert_eq!(dump_report.legislation_fetched, 569);
        assert_eq!(dump_report.requests, 0);
        synchroniser(from_gz, None, &clock)
            .run_once(RunKind::Dump(gz), &NoProgress)
            .await?;

        let fp = store::fingerprint(synced).await?;
        assert_same_catalogue(&fp, &store::fingerprint(from_dump).await?, "full vs dump");
        assert_same_catalogue(
            &fp,
            &store::fingerprint(from_gz).await?,
            "full vs gzipped dump",
        );
        let counts = store::counts(synced).await?;
        assert_eq!(counts.taxa, 570);
        assert!(counts.distributions > 0 && counts.listing_changes > 0);
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread a_second_full_sync_of_unchanged_data_changes_nothing_and_counts_every_taxon_unchanged -> anyhow::Result<()>
);
async fn a_second_full_sync_of_unchanged_data_changes_nothing_and_counts_every_taxon_unchanged(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 1, |dbs| async move {
        let db = &dbs[0];
        let fake = start_fake(speciesplus_fake::Catalogue::generate(150, 7), |c| c).await;
        let clock = clock();
        let first = full_sync(db, &fake, &clock).await?;
        let before = store::fingerprint(db).await?;
        clock.advance(chrono::Duration::days(1));
        let second = full_sync(db, &fake, &clock).await?;

        assert_eq!(second.taxa_unchanged, first.taxa_seen);
        assert_eq!(
            second.taxa_added + second.taxa_changed + second.taxa_deleted,
            0
        );
        assert_eq!(second.listing_changes, 0);
        assert_same_catalogue(&store::fingerprint(db).await?, &before, "second full run");
        assert_eq!(
            store::last_success_start(db).await?,
            Some(t0() + chrono::Duration::days(1))
        );
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread shuffled_arrays_and_the_2025_response_shape_give_the_same_catalogue_as_clean_responses -> anyhow::Result<()>
);
async fn shuffled_arrays_and_the_2025_response_shape_give_the_same_catalogue_as_clean_responses(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 2, |dbs| async move {
        let (synced, reference) = (&dbs[0], &dbs[1]);
        // Generated data has many synonyms, common names, listings and quotas to shuffle.
        let catalogue = speciesplus_fake::Catalogue::generate(300, 11);
        let fake = start_fake(catalogue.clone(), |c| {
            c.with_shuffle_arrays(true)
                .with_shape(Shape::V2025)
                .with_seed(42)
        })
        .await;

        let report = full_sync(synced, &fake, &clock()).await?;

        assert_eq!(report.taxa_added, catalogue.len() as u64);
        // Synonyms and deleted rows come last in a new order on every call: after two whole
        // walks, only that tail is walked again until every row has been seen.
        let first_pages = fake
            .requests()
            .iter()
            .filter(|r| {
                r.path.ends_with("/taxon_concepts")
                    && query_param(r, "page").as_deref() == Some("1")
            })
            .count();
        assert!(first_pages <= 2, "page 1 fetched {first_pages} times");
        assert!(
            report.warnings.is_empty(),
            "no row may be skipped: {:?}",
            report.warnings
        );
        assert_same_catalogue(
            &store::fingerprint(synced).await?,
            &dump_fingerprint(reference, &catalogue).await?,
            "shuffled 2025 responses vs dump",
        );
        Ok(())
    })
    .await
}
