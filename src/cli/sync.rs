//! `cites sync`: a run now (incremental, full or from a dump), then the import of the
//! catalogue's Species+ quotas; or with `--status`, the last runs.

use std::sync::Arc;

use db::Db;
use domain::Clock;
use serde_json::json;

use crate::app::views::run_json;
use crate::cli::{SyncArgs, synchroniser};

/// Warnings of a run's report that `cites sync --status` prints under it.
const STATUS_WARNINGS_SHOWN: usize = 3;

#[allow(clippy::print_stdout)]
pub(crate) async fn sync_command(
    db: Db,
    clock: Arc<dyn Clock>,
    args: SyncArgs,
) -> anyhow::Result<()> {
    if args.status {
        let runs = sync::store::recent_runs(&db, 10).await?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"runs": runs.iter().map(run_json).collect::<Vec<_>>()})
                )?
            );
        } else if runs.is_empty() {
            println!("no sync run yet");
        } else {
            for r in &runs {
                // The report's warnings, the first few: a sample load says it is one here.
                let warnings: Vec<String> = r
                    .report
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<sync::SyncReport>(c).ok())
                    .map(|report| report.warnings)
                    .unwrap_or_default();
                let shown: String = warnings
                    .iter()
                    .take(STATUS_WARNINGS_SHOWN)
                    .map(|w| format!("\n           warning: {w}"))
                    .chain((warnings.len() > STATUS_WARNINGS_SHOWN).then(|| {
                        format!(
                            "\n           ({} more warnings: --json shows them all)",
                            warnings.len() - STATUS_WARNINGS_SHOWN
                        )
                    }))
                    .collect();
                println!(
                    "run {:>4}  {:<11} {:<9} started {}  finished {}{}{shown}",
                    r.id,
                    r.kind,
                    r.status,
                    r.started_at.format("%Y-%m-%d %H:%M:%S"),
                    r.finished_at
                        .map(|f| f.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.error
                        .as_deref()
                        .map(|e| format!("\n           error: {e}"))
                        .unwrap_or_default()
                );
            }
        }
        return Ok(());
    }
    let kind = match (&args.from_dump, args.full, args.latest_dump) {
        (Some(path), _, _) => sync::RunKind::Dump(path.clone()),
        (None, _, true) => sync::RunKind::LatestDump,
        (None, true, false) => sync::RunKind::Full,
        (None, false, false) => sync::RunKind::Incremental,
    };
    let synchroniser = synchroniser(db.clone(), clock.clone(), &args.speciesplus)?;
    let progress = crate::app::progress::ConsoleProgress::new();
    let result = synchroniser.run_once(kind, &progress).await;
    progress.finish();
    let report = result?;
    // What Species+ publishes as quotas limits permits from now on.
    let imported = crate::app::quota_import::import_after_sync(&db, clock).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
        if let Some(i) = imported {
            for line in &i.not_applied {
                println!("{line}");
            }
            println!("Species+ quotas into the ledger: {}", i.summary());
        }
    }
    Ok(())
}
