//! The sample catalogue built into the binary, so a fresh install answers listing queries
//! with no Species+ token and no network.
//!
//! SAMPLE DATA: built from Species+ responses recorded in 2021-2022 and synthetic CoP19 cases
//! (see `fixtures/sample/README.md`); not a complete or current catalogue, and never to be used
//! for permit decisions. It is loaded only into an empty catalogue, and the run that loads it is
//! recorded as a dump load of `SAMPLE_SOURCE`.

use std::io::Write;
use std::sync::Arc;

use db::Db;
use domain::Clock;
use sync::{NoProgress, SyncReport, SyncSettings, Synchroniser};

/// The sample catalogue (NDJSON in the bulk-dump shape).
pub const SAMPLE_NDJSON: &str = include_str!("../../fixtures/sample/catalogue.ndjson");
/// How the sample is named in logs and sync reports.
pub const SAMPLE_SOURCE: &str =
    "built-in SAMPLE catalogue (recorded 2021-2022 + synthetic CoP19 cases)";

/// Loads the sample into the catalogue through the ordinary dump loader.
pub async fn load(synchroniser: &Synchroniser) -> anyhow::Result<SyncReport> {
    let mut file = tempfile::Builder::new()
        .prefix("cites-sample-")
        .suffix(".ndjson")
        .tempfile()?;
    file.write_all(SAMPLE_NDJSON.as_bytes())?;
    file.flush()?;
    let report = synchroniser
        .load_sample(
            file.path(),
            &format!("loaded the {SAMPLE_SOURCE}: not for permit decisions"),
            &NoProgress,
        )
        .await?;
    Ok(report)
}

/// Loads the sample into a catalogue that has never held anything (no run has succeeded), as
/// `cites serve` does without a token, so the README's tour answers on a fresh install: for
/// `cites listing`, `amendments` and `check`. Says so at WARN, with how to mirror Species+.
/// Returns whether it loaded.
pub async fn load_if_empty(db: &Db, clock: Arc<dyn Clock>) -> anyhow::Result<bool> {
    // Empty: no run ever succeeded, and only a successful run writes taxa.
    if sync::store::catalogue_origin(db).await? != sync::store::CatalogueOrigin::Empty {
        return Ok(false);
    }
    let synchroniser = Synchroniser::new(
        db.clone(),
        None,
        clock,
        SyncSettings {
            fetch_concurrency: 1,
            fetch_distributions: false,
        },
    );
    let report = load(&synchroniser).await?;
    tracing::warn!(
        taxa = report.taxa_added,
        "the catalogue was empty: loaded the {SAMPLE_SOURCE}, not for permit decisions; mirror Species+ with `cites sync --latest-dump` (CITES_SPECIESPLUS_TOKEN) or `cites serve` with a token"
    );
    Ok(true)
}
