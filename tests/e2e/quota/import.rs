//! Importing Species+ quotas: once, from an empty catalogue, changed since their import, on a
//! synonym or unknown taxon, over a national quota of their scope.

use db::Backend;
use serde_json::{Value, json};

use super::quota;
use crate::support::{cites, on_both_backends, sample_db, stderr, stdout};

#[tokio::test]
async fn species_plus_quotas_are_imported_once_and_usable_from_the_command_line() {
    let t = crate::support::sample_db(Backend::Sqlite).await;
    let out = cites(&t.url, &["quota", "import"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let imported = imported_count(&stdout(&out));
    assert!(imported >= 10, "{}", stdout(&out));
    let again = cites(&t.url, &["quota", "import"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains(&format!(
            "0 imported, 0 revised, {imported} unchanged, 0 not applied"
        )),
        "a second import changes nothing: {}",
        stdout(&again)
    );
    let again = cites(&t.url, &["quota", "import", "--json"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let report: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(
        (
            &report["imported"],
            &report["unchanged"],
            &report["not_applied"]
        ),
        (&json!(0), &json!(imported), &json!([])),
        "{report}"
    );
    let out = cites(&t.url, &["quota", "list", "--taxon", "4521", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 10, "{}", list.len());
    assert!(list.iter().all(|q| q["origin"] == "speciesplus"));
    // A quota with a value: the sample's are of 2021-2022, so a permit issued today cannot
    // count against them.
    let q = list
        .iter()
        .find(|q| q["limit"].as_str().is_some_and(|l| l != "0"))
        .unwrap();
    let past = q["id"].as_i64().unwrap().to_string();
    let unit = q["unit"].as_str().unwrap();
    let out = cites(
        &t.url,
        &[
            "quota",
            "reserve",
            &past,
            "--quantity",
            "1",
            "--unit",
            unit,
            "--key",
            "k0",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("today is outside it"),
        "{}",
        stdout(&out)
    );
    // This year's national quota for the same taxon: reserve one unit against it.
    let year = chrono::Datelike::year(&crate::support::today()).to_string();
    let out = cites(
        &t.url,
        &[
            "quota",
            "set",
            "--exporter",
            "NA",
            "--taxon",
            "4521",
            "--year",
            &year,
            "--limit",
            "10",
            "--unit",
            "",
            "--key",
            "national",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cites(
        &t.url,
        &[
            "quota", "list", "--taxon", "4521", "--year", &year, "--json",
        ],
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = list[0]["id"].as_i64().unwrap().to_string();
    let out = cites(
        &t.url,
        &["quota", "reserve", &id, "--quantity", "1", "--key", "k1"],
    );
    assert!(
        stdout(&out).starts_with("done"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    let out = cites(
        &t.url,
        &["quota", "revise", &id, "--limit", "12", "--key", "rev"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cites(&t.url, &["quota", "history", &id]);
    let history = stdout(&out);
    assert!(history.contains("reserve"), "{history}");
    // Each entry shows the limit it left: the revision's is the new one.
    let last = history.lines().last().unwrap_or_default();
    assert!(
        last.contains(" revise ") && last.contains("-> 1 / 0 / 0 of 12 "),
        "{history}"
    );
    let out = cites(&t.url, &["quota", "history", &id, "--limit", "1"]);
    let page = stdout(&out);
    assert!(
        page.contains("declare") && !page.contains("reserve"),
        "{page}"
    );
    assert!(
        page.starts_with("#seq "),
        "a page has the header too: {page}"
    );
    let next = page
        .lines()
        .find_map(|l| l.strip_prefix("more: --after "))
        .unwrap_or_else(|| panic!("no next page in {page}"));
    let out = cites(
        &t.url,
        &["quota", "history", &id, "--after", next, "--json"],
    );
    let rest: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rest[0]["event"], "reserve", "{rest}");
    let out = cites(&t.url, &["quota", "history", &id, "--limit", "0"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("invalid --limit: 0 entries per page"),
        "{}",
        stderr(&out)
    );
    let out = cites(
        &t.url,
        &["quota", "reserve", &id, "--quantity", "abc", "--key", "k2"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("quantity"), "{}", stderr(&out));
    t.drop_db().await.unwrap();
}

/// The count of quotas an import's summary says it imported.
fn imported_count(out: &str) -> usize {
    out.lines()
        .find_map(|l| l.strip_prefix("Species+ quotas: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no import summary in {out}"))
}

async fn importing_from_an_empty_catalogue_says_how_to_fill_it(backend: Backend) {
    let t = db::TestDb::create(backend).await.unwrap();
    // An import keys each Species+ quota by its own id: a key of the command's would be ignored.
    let (rc, _, err) = quota(&t.url, &["import", "--key", "k"]);
    assert_eq!(rc, Some(2), "{err}");
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(1), "{out} {err}");
    assert!(!out.contains("imported"), "{out}");
    for said in [
        "catalogue is empty",
        "cites sync --latest-dump",
        "cites serve",
        "sample",
    ] {
        assert!(err.contains(said), "{said}: {err}");
    }
    t.drop_db().await.unwrap();
}

on_both_backends!(importing_from_an_empty_catalogue_says_how_to_fill_it);

async fn a_species_plus_quota_changed_since_its_import_is_reported_and_the_others_still_import(
    backend: Backend,
) {
    let t = crate::support::sample_db(backend).await;
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let imported = imported_count(&out);
    // In the catalogue, the first quota imported (lowest Species+ id) gets a new value, the
    // second another unit (another quota, which the ledger does not apply), and a new one
    // appears after them.
    let (_, list, _) = quota(&t.url, &["list", "--json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    let mut imported_rows: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["speciesplus_id"].is_i64())
        .cloned()
        .collect();
    imported_rows.sort_by_key(|q| q["speciesplus_id"].as_i64());
    let (first, second) = (imported_rows[0].clone(), imported_rows[1].clone());
    let sid = first["speciesplus_id"].as_i64().unwrap();
    let other = second["speciesplus_id"].as_i64().unwrap();
    let old: rust_decimal::Decimal = first["limit"].as_str().unwrap_or("0").parse().unwrap();
    let new = old + rust_decimal::Decimal::from(7);
    let old_shown = first["limit"]
        .as_str()
        .unwrap_or("in preparation")
        .to_owned();
    let added = sid + 1_000_000_000;
    db::with_db!(&t.db, pool => sqlx::query("UPDATE quotas SET quota = $1 WHERE id = $2")
        .bind(new.to_string()).bind(sid).execute(pool).await.map(|_| ()))
    .unwrap();
    db::with_db!(&t.db, pool => sqlx::query(
        "UPDATE quotas SET unit_code = CASE WHEN unit_code = 'KGM' THEN 'GRM' ELSE 'KGM' END \
         WHERE id = $1")
        .bind(other).execute(pool).await.map(|_| ()))
    .unwrap();
    db::with_db!(&t.db, pool => sqlx::query(
        "INSERT INTO quotas (id, taxon_concept_id, quota, unit_code, unit_name, country, \
         country_name, publication_date, notes, url, public_display, is_current) \
         SELECT $1, taxon_concept_id, '5', unit_code, unit_name, country, country_name, \
         publication_date, notes, url, public_display, is_current FROM quotas WHERE id = $2")
        .bind(added).bind(sid).execute(pool).await.map(|_| ()))
    .unwrap();
    for run in ["after the change", "again"] {
        let (rc, out, err) = quota(&t.url, &["import"]);
        assert_eq!(rc, Some(3), "{run}: one quota not applied: {out} {err}");
        let line_of = |id: i64| {
            out.lines()
                .find(|l| l.contains(&format!("Species+ quota {id} ")))
                .map(str::to_owned)
        };
        let not_applied = line_of(other)
            .unwrap_or_else(|| panic!("{run}: no line names Species+ quota {other}: {out}"));
        assert!(
            not_applied.starts_with("not applied") && not_applied.contains("unit"),
            "{run}: {not_applied}"
        );
        let summary = if run == "again" {
            format!("0 imported, 0 revised, {imported} unchanged, 1 not applied")
        } else {
            let revised = line_of(sid)
                .unwrap_or_else(|| panic!("{run}: no line names Species+ quota {sid}: {out}"));
            assert!(
                revised.starts_with("revised")
                    && revised.contains(&format!("value {old_shown} -> {new}")),
                "{run}: {revised}"
            );
            format!(
                "1 imported, 1 revised, {} unchanged, 1 not applied",
                imported - 2
            )
        };
        assert!(out.contains(&summary), "{run}: {summary}: {out}");
    }
    let (_, list, _) = quota(&t.url, &["list", "--json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    let by_sid = |id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|q| q["speciesplus_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        by_sid(sid)["limit"],
        new.to_string(),
        "the new value applies"
    );
    assert_eq!(
        by_sid(other)["unit"],
        second["unit"],
        "the first values stay"
    );
    assert_eq!(
        by_sid(added)["limit"],
        "5",
        "the row after them was imported"
    );
    let id = by_sid(sid)["id"].as_i64().unwrap().to_string();
    let (_, history, _) = quota(&t.url, &["history", &id, "--json"]);
    let history: Value = serde_json::from_str(&history).unwrap();
    let events: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        events,
        ["declare", "revise"],
        "the import and the revision, audited: {history}"
    );
    // The value comes back to the first one imported: that is a revision too.
    db::with_db!(&t.db, pool => sqlx::query("UPDATE quotas SET quota = $1 WHERE id = $2")
        .bind(first["limit"].as_str()).bind(sid).execute(pool).await.map(|_| ()))
    .unwrap();
    let (_, out, _) = quota(&t.url, &["import"]);
    assert!(
        out.contains(&format!(
            "Species+ quota {sid} (quota {id}): value {new} -> {old_shown}"
        )),
        "{out}"
    );
    let (_, shown, _) = quota(&t.url, &["show", &id, "--json"]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["limit"], first["limit"], "{shown}");
    t.drop_db().await.unwrap();
}

on_both_backends!(
    a_species_plus_quota_changed_since_its_import_is_reported_and_the_others_still_import
);

async fn a_species_plus_quota_on_a_synonym_or_an_unknown_taxon_is_reported_not_imported(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(0), "{out} {err}");
    let imported = imported_count(&out);
    // Two more Species+ rows, copies of one already imported: one on a synonym's id, one on
    // an id the catalogue lacks.
    let sid: i64 = db::with_db!(&t.db, pool => sqlx::query_scalar(
        "SELECT MIN(id) FROM quotas WHERE is_current = $1 AND publication_date IS NOT NULL")
        .bind(true).fetch_one(pool).await)
    .unwrap();
    let taxon: i64 = db::with_db!(&t.db, pool => sqlx::query_scalar(
        "SELECT taxon_concept_id FROM quotas WHERE id = $1").bind(sid).fetch_one(pool).await)
    .unwrap();
    for (added, taxon, value) in [
        (sid + 1_000_000_000, 900_004_i64, "5"),
        (sid + 1_000_000_001, 99_999_999, "5"),
        // And one whose value no quota can have: that row alone is not applied.
        (sid + 1_000_000_002, taxon, "-1"),
    ] {
        db::with_db!(&t.db, pool => sqlx::query(
            "INSERT INTO quotas (id, taxon_concept_id, quota, unit_code, unit_name, country, \
             country_name, publication_date, notes, url, public_display, is_current) \
             SELECT $1, $2, $4, unit_code, unit_name, country, country_name, \
             publication_date, notes, url, public_display, is_current FROM quotas WHERE id = $3")
            .bind(added).bind(taxon).bind(sid).bind(value).execute(pool).await.map(|_| ()))
        .unwrap();
    }
    let (rc, out, err) = quota(&t.url, &["import"]);
    assert_eq!(rc, Some(3), "three quotas not applied: {out} {err}");
    for (added, says) in [
        (
            sid + 1_000_000_000,
            "taxon 900004 (Carcharias obscurus) is a synonym",
        ),
        (sid + 1_000_000_001, "no taxon 99999999 in the catalogue"),
        (sid + 1_000_000_002, "its value \"-1\""),
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(&format!("Species+ quota {added} ")))
            .unwrap_or_else(|| panic!("no line names Species+ quota {added}: {out}"));
        assert!(
            line.starts_with("not applied") && line.contains(says),
            "{line}"
        );
    }
    assert!(
        out.contains(&format!(
            "0 imported, 0 revised, {imported} unchanged, 3 not applied"
        )),
        "{out}"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(a_species_plus_quota_on_a_synonym_or_an_unknown_taxon_is_reported_not_imported);

async fn a_species_plus_quota_over_a_national_quota_of_its_scope_is_reported_not_imported(
    backend: Backend,
) {
    let t = sample_db(backend).await;
    // A Species+ quota of the sample, and a national quota declared first on its scope.
    let (sid, taxon, country, unit, published, value): (
        i64,
        i64,
        String,
        Option<String>,
        chrono::NaiveDate,
        Option<String>,
    ) = db::with_db!(&t.db, pool => sqlx::query_as(
        "SELECT id, taxon_concept_id, country, unit_code, publication_date, quota FROM quotas \
         WHERE is_current = $1 AND publication_date IS NOT NULL AND quota IS NOT NULL \
         AND taxon_concept_id IS NOT NULL ORDER BY id LIMIT 1")
        .bind(true).fetch_one(pool).await)
    .unwrap();
    let year = chrono::Datelike::year(&published).to_string();
    let unit = unit.unwrap_or_default();
    let taxon = taxon.to_string();
    let (rc, out, err) = quota(
        &t.url,
        &[
            "set",
            "--exporter",
            &country,
            "--taxon",
            &taxon,
            "--year",
            &year,
            "--limit",
            "7",
            "--unit",
            &unit,
        ],
    );
    assert_eq!(rc, Some(0), "{out} {err}");
    let national = out.split_whitespace().nth(1).unwrap().to_owned();
    // Imported twice: the Species+ quota is reported each time, never declared beside it.
    for _ in 0..2 {
        let (rc, out, err) = quota(&t.url, &["import"]);
        assert_eq!(rc, Some(3), "{out} {err}");
        let line = out
            .lines()
            .find(|l| l.contains(&format!("Species+ quota {sid} ")))
            .unwrap_or_else(|| panic!("no line names Species+ quota {sid}: {out}"));
        let value = value.as_deref().unwrap();
        assert!(
            line.starts_with("not applied")
                && line.contains(&format!("national quota {national} already covers"))
                && line.ends_with(&format!("cites quota revise {national} --limit {value}")),
            "{line}"
        );
    }
    let (rc, listed, err) = quota(
        &t.url,
        &[
            "list",
            "--exporter",
            &country,
            "--taxon",
            &taxon,
            "--year",
            &year,
            "--json",
        ],
    );
    assert_eq!(rc, Some(0), "{err}");
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|q| q["id"].to_string())
            .collect::<Vec<_>>(),
        [national],
        "one quota for the scope"
    );
    t.drop_db().await.unwrap();
}

on_both_backends!(a_species_plus_quota_over_a_national_quota_of_its_scope_is_reported_not_imported);
