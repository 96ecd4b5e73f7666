//! The Trade Database bench's own check, small enough for every test run: the generator writes
//! the download's layout over several files; the row-by-row reader, the plain polars query and
//! the engine's scan give the same groups row for row; the engine's comparison gives every quota
//! of the generated list the totals the row-by-row groups give it; re-exports and confiscations
//! are left out; the per-year query counts every row over the CSV files and the Parquet cache.

// The bench's harness (its `main`, the child processes, the table) is not used here.
#[allow(dead_code)]
#[path = "../../benches/trade/main.rs"]
mod bench;

#[test]
fn the_row_reader_and_polars_agree_on_a_generated_download() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("download");
    let groups = bench::check(&data, 20_000, 3_000, 7);
    assert!(groups > 1_000, "a realistic spread of groups: {groups}");
    let files = std::fs::read_dir(&data).unwrap().count();
    // trade_db_1.csv .. trade_db_7.csv and the completion mark.
    assert_eq!(files, 8, "20,000 rows cut every 3,000");
}
