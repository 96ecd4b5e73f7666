//! The sync schedule of `cites serve`: tokio-cron-scheduler calls `Synchroniser::run_once`,
//! never twice at once.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

use sync::{RunKind, Synchroniser};

/// Default schedule (UTC, with seconds): Sundays 06:00, after Species+'s Saturday rebuild
/// (02:42) and its Saturday-night dump (22:21).
pub const SYNC_CRON_DEFAULT: &str = "0 0 6 * * Sun";

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
}

impl Schedule {
    /// Starts running an incremental sync on `cron`. A tick that finds the previous run still
    /// going is skipped (and the database lock also stops a run from another process).
    pub async fn start(cron: &str, synchroniser: Arc<Synchroniser>) -> anyhow::Result<Schedule> {
        validate_cron(cron).map_err(anyhow::Error::msg)?;
        let running = Arc::new(Mutex::new(()));
        let scheduler = JobScheduler::new().await?;
        let job = Job::new_async(cron, move |_, _| {
            let synchroniser = synchroniser.clone();
            let running = running.clone();
            Box::pin(async move {
                let Ok(_guard) = running.try_lock() else {
                    tracing::warn!("scheduled sync skipped: the previous run is still going");
                    return;
                };
                tracing::info!("scheduled sync starting");
                let progress = crate::progress::ConsoleProgress::new();
                match synchroniser.run_once(RunKind::Incremental, &progress).await {
                    Ok(report) => tracing::info!(report = %report, "scheduled sync succeeded"),
                    Err(e) => tracing::error!(error = %e, "scheduled sync failed"),
                }
                progress.finish();
            })
        })?;
        scheduler.add(job).await?;
        scheduler.start().await?;
        Ok(Schedule { scheduler })
    }

    pub async fn shutdown(mut self) {
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::warn!(error = %e, "scheduler shutdown failed");
        }
    }
}
