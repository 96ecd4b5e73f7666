//! `cites report quota-use`: the quota-use review of an exporter's quotas for a year, as a
//! table on the terminal, or as JSON, CSV, Parquet or a self-contained HTML report; `cites
//! report trade`: the quotas against the CITES Trade Database's shipment-level files, with a
//! progress bar of files and bytes read when stdout is a terminal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use db::Db;
use domain::Clock;
use report::table::Table;

use crate::app::progress::TradeScanProgress;
use crate::app::report::trade::{parse_trade_query, trade};
use crate::app::report::trends::quota_use_trends;
use crate::app::report::{ReportError, parse_query, quota_use};

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// The quota-use review (Art. IV(3)): per quota in force during part of the year, held,
    /// committed, exported, used (box 11a) and its share of the limit, use by month, the day it
    /// runs out at the current pace, refused demand and flags; a table unless told otherwise.
    QuotaUse(QuotaUseArgs),
    /// The quotas against the CITES Trade Database (its shipment-level CSV files, read in a
    /// streaming scan): exporter- and importer-reported trade per quota, re-exports and
    /// confiscated specimens left out; trade above quota, under a zero quota; rows that cannot
    /// be compared, names not in the catalogue, malformed rows with file and line; with
    /// --taxon, the comparative tabulation of that taxon.
    Trade(TradeArgs),
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("trade_output").args(["json", "csv", "html"])))]
pub struct TradeArgs {
    /// The shipment-level CSV files (trade_db_1.csv ...).
    #[arg(long, num_args = 1.., required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only shipments from this exporting country, ISO 3166-1 alpha-2 (e.g. NA).
    #[arg(long)]
    pub exporter: Option<String>,
    /// Only shipments of this year (1975 to 2200).
    #[arg(long, allow_hyphen_values = true)]
    pub year: Option<String>,
    /// A Species+ taxon id: its quotas only, and the comparative tabulation of its trade.
    #[arg(long)]
    pub taxon: Option<String>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write one row per quota as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write a self-contained HTML report (tables and trend charts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write every chart as a PNG and an SVG file into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub charts: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("output").args(["json", "csv", "parquet", "html"])))]
pub struct QuotaUseArgs {
    /// Exporting country, ISO 3166-1 alpha-2 (e.g. NA).
    #[arg(long)]
    pub exporter: String,
    /// Quotas in force during part of this calendar year (1975 to 2200).
    #[arg(long, allow_hyphen_values = true)]
    pub year: String,
    /// A Species+ taxon id: the quotas declared on it, on concepts Species+ has merged into it
    /// and, for a synonym, on its accepted taxon (as `cites quota list --taxon`).
    #[arg(long)]
    pub taxon: Option<String>,
    /// Print the review as JSON (the body of GET /v1/reports/quota-use).
    #[arg(long)]
    pub json: bool,
    /// Write one row per quota as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write one row per quota as Parquet to FILE.
    #[arg(long, value_name = "FILE")]
    pub parquet: Option<PathBuf>,
    /// Write a self-contained HTML report (tables and charts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write every chart as a PNG and an SVG file into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub charts: Option<PathBuf>,
}

/// Runs `cites report …`.
pub async fn run(db: Db, clock: Arc<dyn Clock>, command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::QuotaUse(args) => quota_use_command(&db, clock, args).await,
        ReportCommand::Trade(args) => trade_command(&db, clock, args).await,
    }
}

#[allow(clippy::print_stdout)]
async fn trade_command(db: &Db, clock: Arc<dyn Clock>, args: TradeArgs) -> anyhow::Result<()> {
    let query = parse_trade_query(
        args.files.clone(),
        args.exporter.as_deref(),
        args.year.as_deref(),
        args.taxon.as_deref(),
    )
    .map_err(|(field, message)| anyhow::anyhow!("invalid --{field}: {message}"))?;
    let ledger = quota::Ledger::new(db.clone(), clock);
    let progress = Arc::new(TradeScanProgress::new());
    let compared = trade(db, &ledger, &query, progress.clone()).await;
    progress.finish();
    let compared = compared?;
    if args.json {
        println!("{}", compared.to_json()?);
    } else if let Some(path) = &args.csv {
        write(path, |f| report::trade::render::write_csv(&compared, f))?;
    } else if let Some(path) = &args.html {
        let html = report::trade::html::trade_report(&compared)?;
        std::fs::write(path, html).with_context(|| format!("writing {}", path.display()))?;
    } else {
        print!("{}", report::trade::render::text(&compared));
    }
    if args.csv.is_some() || args.html.is_some() {
        println!(
            "{} quotas compared, {} malformed rows",
            compared.quotas.len(),
            compared.malformed_total
        );
    }
    if let Some(dir) = &args.charts {
        let series = report::trade::render::trends(&compared);
        let written = write_charts(dir, |format| report::chart::trend_charts(&series, format))?;
        if !args.json {
            println!("{written} chart files written to {}", dir.display());
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn quota_use_command(
    db: &Db,
    clock: Arc<dyn Clock>,
    args: QuotaUseArgs,
) -> anyhow::Result<()> {
    let query = parse_query(
        Some(&args.exporter),
        Some(&args.year),
        args.taxon.as_deref(),
    )
    .map_err(|(field, message)| anyhow::anyhow!("invalid --{field}: {message}"))?;
    let ledger = quota::Ledger::new(db.clone(), clock.clone());
    let review = quota_use(db, &ledger, clock.today(), &query)
        .await
        .map_err(|e| match e {
            ReportError::UnknownTaxon(why) => anyhow::anyhow!(
                "invalid --taxon: {}",
                why.replace(
                    "GET /v1/taxa?name= finds it",
                    "cites listing NAME --json gives it"
                )
            ),
            e => e.into(),
        })?;
    // The trends are drawn only: the tables stay one row per quota of the year asked for.
    let trends = if args.html.is_some() || args.charts.is_some() {
        quota_use_trends(db, &ledger, &query, &review).await?
    } else {
        Vec::new()
    };
    if args.json {
        println!("{}", review.to_json()?);
    } else if let Some(path) = &args.csv {
        write(path, |f| {
            report::table::write_csv(&review, Table::Quotas, f)
        })?;
    } else if let Some(path) = &args.parquet {
        write(path, |f| {
            report::table::write_parquet(&review, Table::Quotas, f)
        })?;
    } else if let Some(path) = &args.html {
        let html = report::html::quota_use_report(&review, &trends)?;
        std::fs::write(path, html).with_context(|| format!("writing {}", path.display()))?;
    } else {
        print!("{}", report::table::text_table(&review));
    }
    if args.csv.is_some() || args.parquet.is_some() || args.html.is_some() {
        println!("{} quotas reviewed", review.rows.len());
    }
    if let Some(dir) = &args.charts {
        let written = write_charts(dir, |format| {
            report::chart::quota_use_charts(&review, &trends, format)
        })?;
        if !args.json {
            println!("{written} chart files written to {}", dir.display());
        }
    }
    Ok(())
}

/// Writes every chart `charts` draws into `dir`, once as PNG and once as SVG; the number of
/// files written.
fn write_charts(
    dir: &Path,
    charts: impl Fn(report::chart::ImageFormat) -> report::Result<Vec<report::chart::NamedChart>>,
) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = 0;
    for format in [
        report::chart::ImageFormat::Png,
        report::chart::ImageFormat::Svg,
    ] {
        for chart in charts(format)? {
            let path = dir.join(format!("{}.{}", chart.name, format.extension()));
            std::fs::write(&path, &chart.bytes)
                .with_context(|| format!("writing {}", path.display()))?;
            written += 1;
        }
    }
    Ok(written)
}

/// Creates `path` and writes it with `write`, naming the file in an error.
fn write(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> report::Result<()>,
) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out).with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::flush(&mut out).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
