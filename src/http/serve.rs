//! `cites serve`: the service with its schedule and its quota sweeper, from settings the
//! command line has read (`main` hands them over).

use std::sync::Arc;

use anyhow::Context;
use db::Db;
use domain::Clock;

use crate::app::settings::ServeSettings;

/// Runs the service until Ctrl-C or SIGTERM: the sample catalogue or the first mirror, the
/// sync schedule, the quota sweeper and the HTTP service on `settings.listen`.
pub async fn serve(db: Db, clock: Arc<dyn Clock>, settings: ServeSettings) -> anyhow::Result<()> {
    let listen = settings.listen;
    // Read before anything starts: a bad file stops the service with the key at fault.
    let trace_config = crate::app::trace::trace_config(settings.trace_config.as_deref())
        .map_err(|e| anyhow::anyhow!("invalid --trace-config: {e}"))?;
    let synchroniser = Arc::new(settings.synchroniser);
    let mirrors = synchroniser.has_client();
    let origin = sync::store::catalogue_origin(&db).await?;
    // With a token the sample is never loaded: the first mirror fills the catalogue.
    if !mirrors && !settings.no_sample {
        crate::app::sample::load_if_empty(&db, clock.clone()).await?;
    }
    let schedule = if mirrors {
        let mirror_first = origin != sync::store::CatalogueOrigin::Mirror;
        if mirror_first {
            tracing::warn!(
                catalogue = origin.as_str(),
                "the catalogue is no mirror of Species+ yet: mirroring it now; until that has \
                 succeeded it is loading and permit checks answer 503"
            );
        }
        tracing::info!(cron = %settings.sync_cron, "scheduled sync enabled");
        let quotas = crate::app::schedule::QuotaImport {
            db: db.clone(),
            clock: clock.clone(),
        };
        Some(
            crate::app::schedule::Schedule::start(
                &settings.sync_cron,
                synchroniser.clone(),
                mirror_first,
                Some(quotas),
            )
            .await?,
        )
    } else {
        tracing::warn!(
            "no Species+ token (CITES_SPECIESPLUS_TOKEN): scheduled sync disabled, serving the local catalogue"
        );
        None
    };
    let slots = crate::http::listen::connection_slots()?;
    let listener =
        crate::http::listen::bind(listen).with_context(|| format!("listening on {listen}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, connections = slots, "cites serving");
    // Printed on stdout so scripts (and tests) can find the port when asked for port 0.
    #[allow(clippy::print_stdout)]
    {
        println!("listening on http://{bound}");
    }
    let mut state = crate::http::AppState::new(db.clone(), clock);
    state.check_settings = Arc::new(crate::app::settings::check_settings(
        settings.check_config.as_deref(),
    )?);
    state.trace_config = Arc::new(trace_config);
    state.mirrors_speciesplus = mirrors;
    let (stop_sweeper, sweeper) = spawn_sweeper(
        state.ledger.clone(),
        crate::app::permits::Permits::new(state.db.clone(), state.ledger.clone()),
    );
    let app = crate::http::app(state);
    crate::http::listen::serve(listener, app, slots, shutdown_signal()).await;
    tracing::info!("shutting down");
    let _ = stop_sweeper.send(true);
    if let Err(e) = sweeper.await {
        tracing::warn!(error = %e, "the quota sweeper ended abnormally");
    }
    if let Some(s) = schedule {
        s.shutdown().await;
    }
    Ok(())
}

/// How often `cites serve` expires holds and closes permits whose time has passed.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the quota sweeper until told to stop; the caller owns the handle and awaits it.
fn spawn_sweeper(
    ledger: quota::Ledger,
    permits: crate::app::permits::Permits,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(async move {
        let actor = quota::Actor {
            name: "sweeper".into(),
            reason: Some("expiry".into()),
        };
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    match ledger.sweep_due(&actor).await {
                        Ok(r) if r.expired + r.closed > 0 => {
                            tracing::info!(expired = r.expired, closed = r.closed, "quota sweep");
                            // The permits closed are ended in the register too (a failure is
                            // repaired at the next sweep that closes one, or by the back-fill).
                            if r.closed > 0 && let Err(e) = permits.backfill(&sync::NoProgress).await {
                                tracing::error!(error = %e, "permit register update after the sweep failed");
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "quota sweep failed"),
                    }
                }
                _ = rx.changed() => break,
            }
        }
    });
    (tx, handle)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
