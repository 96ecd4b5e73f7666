//! The sync schedule of `cites serve`: tokio-cron-scheduler calls `Synchroniser::run_once`,
//! never twice at once; and the first mirror of a service whose catalogue is none yet, run at
//! start-up and retried until it succeeds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

use db::Db;
use domain::Clock;
use sync::{RunKind, Synchroniser};

/// Where a successful run's Species+ quotas go: the ledger of this database, on this clock
/// ([`crate::app::quota_import::import_after_sync`]).
#[derive(Clone)]
pub struct QuotaImport {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
}

impl QuotaImport {
    async fn run(&self) {
        crate::app::quota_import::import_after_sync(&self.db, self.clock.clone()).await;
    }
}

/// Default schedule (UTC, with seconds): Sundays 06:00, after Species+'s Saturday rebuild
/// (02:42) and its Saturday-night dump (22:21).
pub const SYNC_CRON_DEFAULT: &str = "0 0 6 * * Sun";

/// Pause after the first failed attempt at the first mirror; it doubles after each failure.
/// Species+ throttles bursts and its outages last minutes, so one attempt a few seconds after
/// another only adds load.
pub const FIRST_MIRROR_RETRY_FIRST: Duration = Duration::from_secs(30);
/// Longest pause between two attempts at the first mirror: the service decides nothing on an
/// empty catalogue, so it keeps trying at least twice an hour.
pub const FIRST_MIRROR_RETRY_MAX: Duration = Duration::from_secs(30 * 60);

/// Checks a cron expression the way the scheduler will read it.
pub fn validate_cron(expr: &str) -> Result<(), String> {
    Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| {
            format!(
                "invalid cron expression {expr:?} for --sync-cron: {e}; accepted: 6 fields with seconds, e.g. \"0 0 6 * * Sun\" (UTC)"
            )
        })
}

/// A running schedule; dropping it does not stop it, [`Schedule::shutdown`] does.
pub struct Schedule {
    scheduler: JobScheduler,
    first_mirror: Option<tokio::task::JoinHandle<()>>,
}

impl Schedule {
    /// Starts running an incremental sync on `cron`. A tick that finds the previous run still
    /// going is skipped (and the database lock also stops a run from another process).
    ///
    /// With `mirror_first`, a first complete run starts at once ([`first_mirror`]), and the
    /// cron's ticks are skipped until it has succeeded.
    pub async fn start(
        cron: &str,
        synchroniser: Arc<Synchroniser>,
        mirror_first: bool,
        quotas: Option<QuotaImport>,
    ) -> anyhow::Result<Schedule> {
        validate_cron(cron).map_err(anyhow::Error::msg)?;
        let running = Arc::new(Mutex::new(()));
        // Taken here, before the scheduler can tick, and held until the first mirror is done.
        let first_mirror = if mirror_first {
            let guard = running.clone().lock_owned().await;
            let synchroniser = synchroniser.clone();
            let quotas = quotas.clone();
            Some(tokio::spawn(async move {
                first_mirror(&synchroniser).await;
                if let Some(q) = &quotas {
                    q.run().await;
                }
                drop(guard);
            }))
        } else {
            None
        };
        let scheduler = JobScheduler::new().await?;
        let job = Job::new_async(cron, move |_, _| {
            let synchroniser = synchroniser.clone();
            let running = running.clone();
            let quotas = quotas.clone();
            Box::pin(async move {
                let Ok(_guard) = running.try_lock() else {
                    tracing::warn!(
                        "scheduled sync skipped: the previous run (or the first mirror) is still going"
                    );
                    return;
                };
                tracing::info!("scheduled sync starting");
                let progress = crate::app::progress::ConsoleProgress::new();
                let result = synchroniser.run_once(RunKind::Incremental, &progress).await;
                progress.finish();
                match result {
                    Ok(report) => {
                        tracing::info!(report = %report, "scheduled sync succeeded");
                        if let Some(q) = &quotas {
                            q.run().await;
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "scheduled sync failed"),
                }
            })
        })?;
        scheduler.add(job).await?;
        scheduler.start().await?;
        Ok(Schedule {
            scheduler,
            first_mirror,
        })
    }

    pub async fn shutdown(mut self) {
        if let Some(task) = self.first_mirror.take() {
            // A run cut here resumes from its staged pages at the next start.
            task.abort();
        }
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::warn!(error = %e, "scheduler shutdown failed");
        }
    }
}

/// The first mirror of Species+: the latest weekly bulk dump (one download) or, when Species+
/// offers none, a full walk; retried with growing pauses ([`FIRST_MIRROR_RETRY_FIRST`] to
/// [`FIRST_MIRROR_RETRY_MAX`]) until one succeeds. A catalogue holding the sample is replaced
/// by it. Until then the catalogue is "loading" (`/health`, `/v1/sync/status`).
pub async fn first_mirror(synchroniser: &Synchroniser) {
    let mut pause = FIRST_MIRROR_RETRY_FIRST;
    loop {
        tracing::info!("first mirror of Species+ starting: the latest bulk dump");
        let progress = crate::app::progress::ConsoleProgress::new();
        let mut result = synchroniser.run_once(RunKind::LatestDump, &progress).await;
        if matches!(result, Err(sync::Error::NoDump)) {
            tracing::info!("Species+ offers no bulk dump: the first mirror walks every page");
            result = synchroniser.run_once(RunKind::Full, &progress).await;
        }
        progress.finish();
        match result {
            Ok(report) => {
                tracing::info!(report = %report, "first mirror of Species+ succeeded");
                return;
            }
            Err(e) => tracing::error!(
                error = %e,
                retry_in_s = pause.as_secs(),
                "first mirror of Species+ failed: the catalogue stays loading"
            ),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(FIRST_MIRROR_RETRY_MAX);
    }
}
