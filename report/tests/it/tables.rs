//! The review's tables: the text table, JSON with exact amounts, and CSV and Parquet files that
//! read back with the same rows.

use polars::prelude::{CsvReadOptions, DataType, ParquetReader, SerReader};
use report::table::{self, Table};

use crate::support::seeded;

#[test]
fn the_text_table_has_a_line_per_quota_with_exact_figures() {
    let text = table::text_table(&seeded());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Quota use on 2026-05-15");
    assert!(lines[1].starts_with("id  exporter  taxon"));
    assert_eq!(lines.len(), 3 + 4);
    let aloe = lines.iter().find(|l| l.contains("Aloe ferox")).unwrap();
    for cell in [
        "2026-04-01 to 2027-03-31",
        "KGM",
        "1000",
        "850",
        "85.0",
        "2026-05-23",
        "over_80_percent",
    ] {
        assert!(aloe.contains(cell), "{cell} not in {aloe}");
    }
    let tortoise = lines.iter().find(|l| l.contains("Cuora")).unwrap();
    assert!(tortoise.contains("2 (7)"), "{tortoise}");
    assert!(tortoise.contains("activity_under_zero_quota"));
    let crocodile = lines.iter().find(|l| l.contains("Crocodylus")).unwrap();
    assert!(crocodile.contains("in preparation") && crocodile.contains("in_preparation"));
}

#[test]
fn json_gives_amounts_as_exact_strings_and_flags_by_name() {
    let json: serde_json::Value = serde_json::from_str(&seeded().to_json().unwrap()).unwrap();
    assert_eq!(json["today"], "2026-05-15");
    let aloe = &json["rows"][3];
    assert_eq!(aloe["quota_id"], 4);
    assert_eq!(aloe["limit"], "1000");
    assert_eq!(aloe["used"], "850");
    assert_eq!(aloe["available"], "150");
    assert_eq!(aloe["runs_out_on"], "2026-05-23");
    assert_eq!(aloe["flags"], serde_json::json!(["over_80_percent"]));
    assert_eq!(aloe["months"][1]["cumulative"], "850");
    assert_eq!(json["rows"][0]["limit"], serde_json::Value::Null);
}

#[test]
fn csv_reads_back_with_a_row_per_quota_and_a_row_per_month() {
    let review = seeded();
    let dir = tempfile::tempdir().unwrap();
    let quotas = dir.path().join("quotas.csv");
    table::write_csv(
        &review,
        Table::Quotas,
        std::fs::File::create(&quotas).unwrap(),
    )
    .unwrap();
    let text = std::fs::read_to_string(&quotas).unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("quota_id,exporter,taxon_id,taxon_name,period_start")
    );
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(quotas))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(df.height(), 4);
    let ids: Vec<i64> = df
        .column("quota_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(ids, vec![3, 1, 2, 4]);

    let months = dir.path().join("months.csv");
    table::write_csv(
        &review,
        Table::Months,
        std::fs::File::create(&months).unwrap(),
    )
    .unwrap();
    let text = std::fs::read_to_string(&months).unwrap();
    // MZ and NA: January to May; TZ: January to May; ZA: April and May.
    assert_eq!(text.lines().count(), 1 + 5 + 5 + 5 + 2);
    assert!(text.contains("\n4,2026-05,250,850,0\n"), "{text}");
}

#[test]
fn parquet_keeps_dates_as_dates_and_amounts_as_exact_text() {
    let review = seeded();
    let mut bytes = Vec::new();
    table::write_parquet(&review, Table::Quotas, &mut bytes).unwrap();
    let df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .unwrap();
    assert_eq!(df.height(), 4);
    assert_eq!(df.column("period_start").unwrap().dtype(), &DataType::Date);
    assert_eq!(df.column("runs_out_on").unwrap().dtype(), &DataType::Date);
    let used: Vec<Option<&str>> = df.column("used").unwrap().str().unwrap().iter().collect();
    assert_eq!(used, vec![Some("0"), Some("45"), Some("0"), Some("850")]);
    let share = df.column("used_share").unwrap().f64().unwrap().get(3);
    assert_eq!(share, Some(0.85));

    let mut bytes = Vec::new();
    table::write_parquet(&review, Table::Months, &mut bytes).unwrap();
    let months = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .unwrap();
    assert_eq!(months.height(), 17);
}
