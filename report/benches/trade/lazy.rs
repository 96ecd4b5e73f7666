//! The bench's own polars queries: a lazy scan of every CSV file run by the streaming engine
//! (the files are read in morsels, never whole), typed as the download is; the Parquet cache
//! written from that scan by a streaming sink, and the group-by-year over the cache and over
//! the CSV files. `compare` is the comparison's aggregation written as one plain query (the
//! `polars-plain` contender): what polars itself costs, beside the engine's comparison
//! (`engine`), which reads every column as text, checks and parses it in the query, and keeps
//! more keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::generate::COLUMNS;
use super::{Groups, KEY_COLUMNS};

/// The download's columns as typed here: Year an integer, Quantity a float, the rest text.
fn schema() -> Schema {
    COLUMNS
        .iter()
        .map(|c| {
            let dtype = match *c {
                "Year" => DataType::Int64,
                "Quantity" => DataType::Float64,
                _ => DataType::String,
            };
            Field::new((*c).into(), dtype)
        })
        .collect()
}

/// A lazy scan of the files, in order; a blank field is null.
fn scan(files: &[PathBuf]) -> PolarsResult<LazyFrame> {
    let paths = files
        .iter()
        .map(|p| PlRefPath::try_from_path(p))
        .collect::<PolarsResult<Vec<_>>>()?;
    LazyCsvReader::new_paths(paths.into())
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema())))
        .finish()
}

/// The quantity in thousandths, rounded half up (quantities are never negative): the same
/// arithmetic as `super::thousandths`, so both contenders sum the same integers.
fn thousandths() -> Expr {
    (col("Quantity") * lit(1000.0) + lit(0.5)).cast(DataType::Int64)
}

fn reported_by(reporter: &str) -> Expr {
    when(col("Reporter.type").eq(lit(reporter)))
        .then(thousandths())
        .otherwise(lit(0i64))
}

/// Exporter-reported and importer-reported sums per (year, exporter, importer, taxon, term,
/// unit, source, purpose), re-exports (an Origin) and source I left out; streaming.
pub fn compare(files: &[PathBuf]) -> PolarsResult<DataFrame> {
    let not_confiscated = col("Source").is_null().or(col("Source").neq(lit("I")));
    scan(files)?
        .filter(col("Origin").is_null().and(not_confiscated))
        .group_by(KEY_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .agg([
            reported_by("E").sum().alias("exporter_reported"),
            reported_by("I").sum().alias("importer_reported"),
        ])
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

/// The comparison's frame as groups (a null key field is a blank one).
pub fn groups(frame: &DataFrame, keep_rows: bool) -> PolarsResult<Groups> {
    let year = frame.column("Year")?.i64()?;
    let keys = KEY_COLUMNS[1..]
        .iter()
        .map(|c| frame.column(c)?.str().cloned())
        .collect::<PolarsResult<Vec<_>>>()?;
    let exporter = frame.column("exporter_reported")?.i64()?;
    let importer = frame.column("importer_reported")?.i64()?;
    let mut groups = Groups::new(keep_rows);
    let mut fields: Vec<&str> = Vec::with_capacity(keys.len());
    for row in 0..frame.height() {
        fields.clear();
        fields.extend(keys.iter().map(|k| k.get(row).unwrap_or("")));
        groups.add(
            year.get(row).unwrap_or(0),
            &fields,
            exporter.get(row).unwrap_or(0),
            importer.get(row).unwrap_or(0),
        );
    }
    Ok(groups)
}

/// Writes every row of the files to one Parquet file, streaming (typed as `schema`).
pub fn write_parquet(files: &[PathBuf], target: &Path) -> PolarsResult<()> {
    let target = PlRefPath::try_from_path(target)?;
    scan(files)?
        .sink(
            SinkDestination::File {
                target: SinkTarget::Path(target),
            },
            FileWriteFormat::Parquet(Arc::new(ParquetWriteOptions::default())),
            UnifiedSinkArgs::default(),
        )?
        .collect_with_engine(Engine::Streaming)?;
    Ok(())
}

/// Records and quantity per year: citesdb's example query (records per year), plus a sum.
fn by_year(frame: LazyFrame) -> PolarsResult<DataFrame> {
    frame
        .group_by([col("Year")])
        .agg([
            len().alias("records"),
            col("Quantity").sum().alias("quantity"),
        ])
        .sort(["Year"], SortMultipleOptions::default())
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

pub fn by_year_parquet(path: &Path) -> PolarsResult<DataFrame> {
    by_year(LazyFrame::scan_parquet(
        PlRefPath::try_from_path(path)?,
        ScanArgsParquet::default(),
    )?)
}

pub fn by_year_csv(files: &[PathBuf]) -> PolarsResult<DataFrame> {
    by_year(scan(files)?)
}

/// The per-year table as (year, records, quantity) rows.
pub fn year_rows(frame: &DataFrame) -> PolarsResult<Vec<(i64, u64, f64)>> {
    let year = frame.column("Year")?.i64()?;
    let records = frame.column("records")?.cast(&DataType::UInt64)?;
    let records = records.u64()?;
    let quantity = frame.column("quantity")?.f64()?;
    Ok((0..frame.height())
        .map(|i| {
            (
                year.get(i).unwrap_or(0),
                records.get(i).unwrap_or(0),
                quantity.get(i).unwrap_or(0.0),
            )
        })
        .collect())
}
