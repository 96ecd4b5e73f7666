//! The built-in sample catalogue is no mirror of Species+: no incremental run starts from it,
//! and the first complete run (a full walk or the weekly dump) replaces it, never merges into
//! it.

use db::{Backend, Db, TestDb};
use speciesplus_fake::Catalogue;
use sync::run::SAMPLE_REPLACED;
use sync::store::{self, CatalogueOrigin};
use sync::{NoProgress, RunKind};

use crate::support::*;

/// The note the application gives the sample's load (`cites::app::sample`).
const NOTE: &str = "loaded the built-in SAMPLE catalogue (test): not for permit decisions";

async fn load_sample(db: &Db) -> anyhow::Result<()> {
    synchroniser(db, None, &clock())
        .load_sample(
            &fixtures().join("sample/catalogue.ndjson"),
            NOTE,
            &NoProgress,
        )
        .await?;
    Ok(())
}

/// A synthetic taxon of the sample (`fixtures/cop19`) that no generated catalogue holds.
const SAMPLE_ONLY_TAXON: i64 = 900_010;

on_both_backends!(
    multi_thread an_incremental_run_on_the_sample_is_a_full_run_that_replaces_it -> anyhow::Result<()>
);
async fn an_incremental_run_on_the_sample_is_a_full_run_that_replaces_it(
    backend: Backend,
) -> anyhow::Result<()> {
    with_dbs(backend, 2, |dbs| async move {
        let catalogue = Catalogue::generate(80, 21);
        let reference = dump_fingerprint(&dbs[1], &catalogue).await?;
        let fake = start_fake(catalogue, |c| c).await;
        load_sample(&dbs[0]).await?;
        assert_eq!(
            store::catalogue_origin(&dbs[0]).await?,
            CatalogueOrigin::Sample
        );
        assert!(store::taxon(&dbs[0], SAMPLE_ONLY_TAXON).await?.is_some());
        // The sample is no baseline: there is none to start an incremental run from.
        assert_eq!(store::last_success_start(&dbs[0]).await?, None);

        let report = synchroniser(&dbs[0], Some(client(&fake)), &clock())
            .run_once(RunKind::Incremental, &NoProgress)
            .await?;
        assert_eq!(report.kind, "full", "{report:?}");
        assert_eq!(report.updated_since, None);
        assert!(
            fake.requests()
                .iter()
                .all(|r| query_param(r, "updated_since").is_none()),
            "a run on the sample asked for changes only"
        );
        assert!(
            report.warnings.iter().any(|w| w == SAMPLE_REPLACED),
            "{:?}",
            report.warnings
        );
        // Replaced, not merged: exactly the catalogue a fresh load of Species+ gives.
        assert_same_catalogue(
            &store::fingerprint(&dbs[0]).await?,
            &reference,
            "full run over the sample vs a fresh load",
        );
        assert!(store::taxon(&dbs[0], SAMPLE_ONLY_TAXON).await?.is_none());
        assert_eq!(
            store::catalogue_origin(&dbs[0]).await?,
            CatalogueOrigin::Mirror
        );
        // From now on an incremental run is one.
        let next = synchroniser(&dbs[0], Some(client(&fake)), &clock())
            .run_once(RunKind::Incremental, &NoProgress)
            .await?;
        assert_eq!(next.kind, "incremental");
        fake.shutdown().await;
        Ok(())
    })
    .await
}

on_both_backends!(multi_thread the_latest_dump_replaces_the_sample -> anyhow::Result<()>);
async fn the_latest_dump_replaces_the_sample(backend: Backend) -> anyhow::Result<()> {
    with_dbs(backend, 2, |dbs| async move {
        let catalogue = Catalogue::generate(60, 22);
        let reference = dump_fingerprint(&dbs[1], &catalogue).await?;
        let fake = start_fake(catalogue, |c| c).await;
        load_sample(&dbs[0]).await?;
        let report = synchroniser(&dbs[0], Some(client(&fake)), &clock())
            .run_once(RunKind::LatestDump, &NoProgress)
            .await?;
        assert!(
            report.warnings.iter().any(|w| w == SAMPLE_REPLACED),
            "{:?}",
            report.warnings
        );
        assert_same_catalogue(
            &store::fingerprint(&dbs[0]).await?,
            &reference,
            "dump over the sample vs a fresh load",
        );
        assert_eq!(
            store::catalogue_origin(&dbs[0]).await?,
            CatalogueOrigin::Mirror
        );
        fake.shutdown().await;
        Ok(())
    })
    .await
}

on_both_backends!(
    multi_thread a_sample_loaded_before_its_mark_existed_is_marked_by_the_upgrade -> anyhow::Result<()>
);
async fn a_sample_loaded_before_its_mark_existed_is_marked_by_the_upgrade(
    backend: Backend,
) -> anyhow::Result<()> {
    // Two catalogues written by the schema before migration 0010: one whose last complete run
    // is the sample's (an incremental run merged into it since), one a real dump after it.
    for real_dump_after in [false, true] {
        let t = TestDb::create_migrated_to(backend, Some(9)).await?;
        let result = async {
            let s = synchroniser(&t.db, None, &clock());
            s.load_sample(
                &fixtures().join("sample/catalogue.ndjson"),
                NOTE,
                &NoProgress,
            )
            .await?;
            if real_dump_after {
                load_dump(&t.db, &Catalogue::generate(20, 23)).await?;
            }
            // What the old schema's load left: a baseline, and no mark.
            db::with_db!(&t.db, pool => sqlx::query(
                "INSERT INTO sync_state (key, value) VALUES ('last_success_start', '2026-01-01T00:00:00+00:00') \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .execute(pool).await.map(|r| r.rows_affected()))?;
            db::with_db!(&t.db, pool => sqlx::query(
                "DELETE FROM sync_state WHERE key = 'catalogue_is_sample'").execute(pool).await.map(|r| r.rows_affected()))?;
            t.db.migrate().await?;
            let expected = if real_dump_after {
                CatalogueOrigin::Mirror
            } else {
                CatalogueOrigin::Sample
            };
            assert_eq!(store::catalogue_origin(&t.db).await?, expected);
            assert_eq!(
                store::last_success_start(&t.db).await?.is_some(),
                real_dump_after,
                "the sample's baseline must go, a real one stay"
            );
            anyhow::Ok(())
        }
        .await;
        t.drop_db().await?;
        result?;
    }
    Ok(())
}
