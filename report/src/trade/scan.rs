//! The streaming scan of the Trade Database's shipment-level files: one lazy polars query per
//! file, run on the streaming engine, which reads the file in morsels and never holds it
//! whole. Every column is read as text; the year, the quantity and the reporter type are
//! checked and parsed in the query, and the rows are summed by everything a comparison or a
//! comparative tabulation keys on. Given a [`Keep`], the rows no comparison reads are counted
//! in one group of their own rather than summed by their keys. A row that does not parse is kept apart by its own key (its
//! row index), so it comes out of the same single pass as one group of one row, with its file
//! and line, while every other row is summed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use polars::prelude::{
    DataFrame, DataType, Engine, Expr, LazyCsvReader, LazyFileListReader, LazyFrame, NULL,
    NamedFrom, PlRefPath, RowIndex, Series, col, len, lit, when,
};
use rust_decimal::Decimal;

use super::problems::{self, QUANTITY_SCALE, QUANTITY_WHOLE_DIGITS_MAX, TRADE_YEARS};
use super::{Keep, NameRows, Reporter, ScanFilter, Shipments};

/// The columns of the shipment-level download (section 9 of the domain reference) this scan
/// reads; the others (`Id`, `Appendix`, the higher taxa, the permit ids) may be present and are
/// not read.
pub const COLUMNS: [&str; 11] = [
    "Year",
    "Taxon",
    "Term",
    "Quantity",
    "Unit",
    "Importer",
    "Exporter",
    "Origin",
    "Purpose",
    "Source",
    "Reporter.type",
];

/// What a quantity must look like: digits, and at most one decimal point followed by digits
/// (no sign, no exponent, no thousands separator).
fn quantity_pattern() -> String {
    format!("^[0-9]{{1,{QUANTITY_WHOLE_DIGITS_MAX}}}(\\.[0-9]{{1,{QUANTITY_SCALE}}})?$")
}

/// A row of a file that could not be read as a shipment, reported rather than dropped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MalformedRow {
    pub file: PathBuf,
    /// The row's line in the file, the header being line 1 (one line per row: a quoted field
    /// holding a line break would shift the count of the rows after it).
    pub line: u64,
    /// Each problem, naming the column and the value.
    pub problems: Vec<String>,
}

/// What one file gave.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRead {
    pub file: PathBuf,
    pub bytes: u64,
    /// Rows summed (malformed rows not counted).
    pub rows: u64,
    pub malformed_rows: u64,
}

/// The scan of one file: its groups and its malformed rows.
pub(super) struct FileScan {
    pub groups: Vec<Shipments>,
    pub set_apart: Vec<NameRows>,
    pub malformed: Vec<MalformedRow>,
    pub read: FileRead,
}

fn polars_error(file: &Path, e: impl std::fmt::Display) -> crate::Error {
    crate::Error::TradeFile {
        file: file.to_path_buf(),
        message: e.to_string(),
    }
}

/// Reads the header line and checks every column the scan needs is there, so a file of
/// another layout is refused by name before it is scanned.
fn check_header(file: &Path) -> crate::Result<()> {
    let f = std::fs::File::open(file).map_err(|e| polars_error(file, e))?;
    let mut first = String::new();
    BufReader::new(f)
        .read_line(&mut first)
        .map_err(|e| polars_error(file, e))?;
    let names: Vec<String> = first
        .trim_end_matches(['\r', '\n'])
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_owned())
        .collect();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !names.iter().any(|n| n == c))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(polars_error(
            file,
            format!(
                "not the Trade Database's shipment-level layout: no column {} (its header is {:?})",
                missing.join(", "),
                first.trim_end()
            ),
        ))
    }
}

/// The lazy query over one file: every column text, the checks, the filter, the sums.
fn query(file: &Path, filter: &ScanFilter, keep: Option<&Keep>) -> crate::Result<LazyFrame> {
    let path = PlRefPath::try_from_path(file).map_err(|e| polars_error(file, e))?;
    let scan = LazyCsvReader::new(path)
        .with_has_header(true)
        // No inference: every column is text, parsed below where a bad value is caught.
        .with_infer_schema_length(Some(0))
        .with_row_index(Some(RowIndex {
            name: "row".into(),
            offset: 0,
        }))
        .finish()
        .map_err(|e| polars_error(file, e))?;
    // Parsed once, as a column: an expression is evaluated wherever it is written.
    let scan = scan.with_column(col("Year").cast(DataType::Int32).alias("year_parsed"));
    let year = col("year_parsed");
    let year_ok = year
        .clone()
        .gt_eq(lit(*TRADE_YEARS.start()))
        .and(year.clone().lt_eq(lit(*TRADE_YEARS.end())))
        .fill_null(lit(false));
    let quantity_ok = col("Quantity")
        .str()
        .contains(lit(quantity_pattern()), true)
        .fill_null(lit(false));
    let reporter_ok = col("Reporter.type")
        .eq(lit("E"))
        .or(col("Reporter.type").eq(lit("I")))
        .fill_null(lit(false));
    let present = ["Taxon", "Term", "Importer", "Exporter"]
        .into_iter()
        .map(|c| {
            col(c)
                .is_not_null()
                .and(col(c).neq(lit("")))
                .fill_null(lit(false))
        })
        .reduce(|a, b| a.and(b))
        .unwrap_or(lit(true));
    let good = year_ok.and(quantity_ok).and(reporter_ok).and(present);
    let mut lf = scan.with_column(good.alias("good"));
    if let Some(exporter) = filter.exporter {
        lf = lf.filter(
            col("Exporter")
                .eq(lit(exporter.as_str()))
                .or(col("Exporter").is_null()),
        );
    }
    if let Some(y) = filter.year {
        lf = lf.filter(year.clone().eq(lit(y)).or(col("good").not()));
    }
    let bad = col("good").not();
    let only_bad = |e: Expr, name: &str| when(bad.clone()).then(e).otherwise(lit(NULL)).alias(name);
    // With `keep`, a row no comparison reads keeps only its name and year: all such rows of a
    // name and year make one group (no exporter, which no summed row lacks), counted and never
    // summed, so the group-by holds only the groups kept. A row kept for the quotas alone
    // keeps every key but the importer, and a re-export only its name, year, exporter and
    // origin (a quota counts its rows, nothing else). The tests are computed once, as columns.
    if let Some(k) = keep {
        let (full, quotas) = kept_rows(k);
        let own_origin = col("Origin")
            .str()
            .strip_chars(lit(NULL))
            .eq(lit(""))
            .fill_null(lit(true));
        lf = lf
            .with_column(bad.clone().or(full).alias("full"))
            .with_column(col("full").or(quotas).alias("kept"))
            .with_column(col("full").or(col("kept").and(own_origin)).alias("detail"));
    }
    let key = |e: Expr, name: &str, tier: &str| match keep {
        Some(_) => when(col(tier)).then(e).otherwise(lit(NULL)).alias(name),
        None => e.alias(name),
    };
    let mut keys = vec![year.alias("year"), col("Taxon")];
    keys.extend(
        COLUMNS
            .iter()
            .filter(|c| !matches!(**c, "Year" | "Quantity" | "Taxon"))
            .map(|c| {
                let tier = match *c {
                    "Importer" => "full",
                    "Exporter" | "Origin" => "kept",
                    _ => "detail",
                };
                key(col(*c), c, tier)
            }),
    );
    keys.push(only_bad(col("row"), "bad_row"));
    keys.push(only_bad(col("Year"), "bad_year"));
    keys.push(only_bad(col("Quantity"), "bad_quantity"));
    let summed = match keep {
        Some(_) => col("good").and(col("detail")),
        None => col("good"),
    };
    let quantity = when(summed)
        .then(col("Quantity").cast(DataType::Decimal(38, QUANTITY_SCALE)))
        .otherwise(lit(NULL).cast(DataType::Decimal(38, QUANTITY_SCALE)));
    Ok(lf
        .group_by(keys)
        .agg([quantity.sum().alias("quantity"), len().alias("rows")]))
}

/// Whether a row's trimmed name is one whose every group `keep` keeps, and whether its name and
/// exporter may be kept for a quota: a superset of [`Keep::keeps`] (the year is left to it),
/// cheap enough to test on every row.
fn kept_rows(keep: &Keep) -> (Expr, Expr) {
    let set = |name: &str, values: Vec<&str>| lit(Series::new(name.into(), values)).implode(false);
    let taxon = col("Taxon").str().strip_chars(lit(NULL));
    let exporter = col("Exporter").str().strip_chars(lit(NULL));
    let every = set("every", keep.names.iter().map(String::as_str).collect());
    let counted = set(
        "counted",
        keep.counts_for.keys().map(String::as_str).collect(),
    );
    let exporters = set(
        "exporters",
        keep.quotas.keys().map(String::as_str).collect(),
    );
    let full = taxon.clone().is_in(every, false).fill_null(lit(false));
    let quotas = exporter
        .is_in(exporters, false)
        .and(taxon.is_in(counted, false))
        .fill_null(lit(false));
    (full, quotas)
}

/// Scans one file on the streaming engine, keeping the groups `keep` names (all without it).
pub(super) fn scan_file(
    file: &Path,
    filter: &ScanFilter,
    keep: Option<&Keep>,
) -> crate::Result<FileScan> {
    let bytes = std::fs::metadata(file)
        .map_err(|e| polars_error(file, e))?
        .len();
    check_header(file)?;
    let df = query(file, filter, keep)?
        .collect_with_engine(Engine::Streaming)
        .map_err(|e| polars_error(file, e))?
        .unwrap_single();
    let mut out = FileScan {
        groups: Vec::new(),
        set_apart: Vec::new(),
        malformed: Vec::new(),
        read: FileRead {
            file: file.to_path_buf(),
            bytes,
            rows: 0,
            malformed_rows: 0,
        },
    };
    read_groups(file, &df, keep, &mut out).map_err(|e| match e {
        crate::Error::Table(e) => polars_error(file, e),
        e => e,
    })?;
    out.malformed.sort_by_key(|m| m.line);
    Ok(out)
}

/// Turns the summed frame into groups and malformed rows.
fn read_groups(
    file: &Path,
    df: &DataFrame,
    keep: Option<&Keep>,
    out: &mut FileScan,
) -> crate::Result<()> {
    let text = |name: &str| df.column(name).and_then(|c| c.str().cloned());
    let year = df.column("year")?.i32()?.clone();
    let [
        taxon,
        term,
        unit,
        importer,
        exporter,
        origin,
        purpose,
        source,
        reporter,
    ] = [
        "Taxon",
        "Term",
        "Unit",
        "Importer",
        "Exporter",
        "Origin",
        "Purpose",
        "Source",
        "Reporter.type",
    ]
    .map(text);
    let (taxon, term, unit, importer, exporter) = (taxon?, term?, unit?, importer?, exporter?);
    let (origin, purpose, source, reporter) = (origin?, purpose?, source?, reporter?);
    let bad_row = df.column("bad_row")?.cast(&DataType::UInt64)?;
    let bad_row = bad_row.u64()?;
    let bad_year = text("bad_year")?;
    let bad_quantity = text("bad_quantity")?;
    let quantity = df.column("quantity")?.decimal()?.clone();
    let scale = quantity.scale();
    let rows = df.column("rows")?.cast(&DataType::UInt64)?;
    let rows = rows.u64()?;
    let s = |v: Option<&str>| compact_str::CompactString::from(v.unwrap_or("").trim());
    let mut set_apart: std::collections::HashMap<(&str, i32), u64> = Default::default();
    for i in 0..df.height() {
        let count = rows.get(i).unwrap_or(0);
        if let Some(row) = bad_row.get(i) {
            out.read.malformed_rows += 1;
            out.malformed.push(MalformedRow {
                file: file.to_path_buf(),
                line: row + 2,
                problems: problems::of_row(
                    bad_year.get(i),
                    bad_quantity.get(i),
                    reporter.get(i),
                    [
                        ("Taxon", taxon.get(i)),
                        ("Term", term.get(i)),
                        ("Importer", importer.get(i)),
                        ("Exporter", exporter.get(i)),
                    ],
                ),
            });
            continue;
        }
        out.read.rows += count;
        let year = year.get(i).unwrap_or(0);
        // The rows the query set apart (no exporter) and those of a kept name and exporter in
        // a year no quota reads are counted by name and year.
        if let Some(k) = keep {
            let name = taxon.get(i).unwrap_or("").trim();
            if !k.keeps(exporter.get(i).unwrap_or("").trim(), year, name) {
                *set_apart.entry((name, year)).or_insert(0) += count;
                continue;
            }
        }
        let raw = quantity.physical().get(i).unwrap_or(0);
        let amount = Decimal::try_from_i128_with_scale(raw, u32::try_from(scale).unwrap_or(28))
            .map_err(|_| {
                polars_error(
                    file,
                    "a sum of quantities is beyond what an exact decimal holds (28 digits)",
                )
            })?;
        out.groups.push(Shipments {
            year,
            taxon: s(taxon.get(i)),
            term: s(term.get(i)),
            unit: s(unit.get(i)),
            importer: s(importer.get(i)),
            exporter: s(exporter.get(i)),
            origin: s(origin.get(i)),
            purpose: s(purpose.get(i)),
            source: s(source.get(i)),
            reporter: if reporter.get(i) == Some("I") {
                Reporter::Importer
            } else {
                Reporter::Exporter
            },
            quantity: amount.normalize(),
            rows: count,
        });
    }
    let mut set_apart: Vec<NameRows> = set_apart
        .into_iter()
        .map(|((name, year), rows)| NameRows {
            taxon: name.into(),
            year,
            rows,
        })
        .collect();
    set_apart.sort_unstable_by(|a, b| (&a.taxon, a.year).cmp(&(&b.taxon, b.year)));
    out.set_apart = set_apart;
    Ok(())
}
