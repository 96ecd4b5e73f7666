//! The plain contender: the csv crate reads every file row by row on one thread, and a
//! `HashMap` sums the comparison's quantities per group. What a developer would write first
//! without a data-frame library; the key is built in one reused buffer, so a row allocates only
//! when it starts a new group.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{Groups, KEY_COLUMNS, thousandths};

/// A key's fields joined by this byte (it never occurs in the download's text).
const SEP: u8 = 0x1f;

/// Sums per group (`KEY_COLUMNS`, joined by `SEP`): exporter-reported and importer-reported.
pub type Sums = HashMap<Vec<u8>, (i64, i64)>;

/// A key's fields, in `KEY_COLUMNS` order.
pub fn fields(key: &[u8]) -> Vec<&str> {
    std::str::from_utf8(key)
        .expect("UTF-8 keys")
        .split(SEP as char)
        .collect()
}

/// Sums per (year, exporter, importer, taxon, term, unit, source, purpose): exporter-reported
/// and importer-reported quantities in thousandths, re-exports (an Origin) and source I left
/// out; and the rows read. Panics on a row that does not parse: the generated files have none.
pub fn compare(files: &[PathBuf]) -> (Sums, u64) {
    let mut sums = Sums::new();
    let mut rows = 0u64;
    let mut key = Vec::with_capacity(128);
    let mut record = csv::ByteRecord::new();
    for path in files {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .buffer_capacity(1 << 20)
            .from_path(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let headers = reader.byte_headers().expect("the header row").clone();
        let at = |name: &str| {
            headers
                .iter()
                .position(|h| h == name.as_bytes())
                .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
        };
        let keys: Vec<usize> = KEY_COLUMNS.iter().map(|c| at(c)).collect();
        let (origin, source, reporter, quantity) = (
            at("Origin"),
            at("Source"),
            at("Reporter.type"),
            at("Quantity"),
        );
        while reader
            .read_byte_record(&mut record)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        {
            rows += 1;
            if !record[origin].is_empty() || &record[source] == b"I" {
                continue;
            }
            key.clear();
            for (i, &column) in keys.iter().enumerate() {
                if i > 0 {
                    key.push(SEP);
                }
                key.extend_from_slice(&record[column]);
            }
            let q = std::str::from_utf8(&record[quantity])
                .ok()
                .and_then(|q| q.parse::<f64>().ok())
                .map(thousandths)
                .unwrap_or_else(|| panic!("{}: a quantity that does not parse", path.display()));
            let sum = match sums.get_mut(key.as_slice()) {
                Some(sum) => sum,
                None => sums.entry(key.clone()).or_default(),
            };
            match &record[reporter] {
                b"E" => sum.0 += q,
                b"I" => sum.1 += q,
                _ => {}
            }
        }
    }
    (sums, rows)
}

/// The sums as groups, for the check and the digest.
pub fn groups(sums: &Sums, keep_rows: bool) -> Groups {
    let mut groups = Groups::new(keep_rows);
    for (key, (exporter, importer)) in sums {
        let fields = fields(key);
        let year = fields[0].parse().expect("a year");
        groups.add(year, &fields[1..], *exporter, *importer);
    }
    groups
}
