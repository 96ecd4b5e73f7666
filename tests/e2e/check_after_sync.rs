//! Permit checks straight after a sync, on the recorded Species+ data of the sample catalogue
//! (the African elephant's history, quotas, suspensions and reservations, 2021-2022): what
//! Species+ publishes counts from the moment it is synced, and what the engine cannot read
//! goes to a person, never to an ALLOW.

use db::{Backend, TestDb};
use serde_json::{Value, json};

use crate::support::{cites, on_both_backends, repo_path, stderr, stdout};

fn check(url: &str, dir: &std::path::Path, application: &Value) -> Value {
    let input = dir.join("application.json");
    std::fs::write(&input, application.to_string()).unwrap();
    let o = cites(
        url,
        &["check", "--json", "--input", input.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn codes(answer: &Value) -> Vec<&str> {
    answer["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect()
}

/// A hunting-trophy export of `quantity` tusks from `exporter` in 2022, with every document.
fn tusks(exporter: &str, quantity: u32) -> Value {
    json!({
        "transaction": "export", "taxon": "Loxodonta africana", "exporter": exporter,
        "importer": "US", "source": "W", "purpose": "H", "term": "TUS", "quantity": quantity,
        "date_issue": "2022-06-01", "date_trade": "2022-06-15",
        "documents": {"ndf_reference": "N", "laf_reference": "L",
            "import_permit": {"number": "US-22-1", "issued_on": "2022-05-01", "quantity": quantity}}
    })
}

async fn published_quotas_and_measures_count_straight_after_a_sync(backend: Backend) {
    let t = TestDb::create(backend).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_path("fixtures/sample/catalogue.ndjson");
    let o = cites(&t.url, &["sync", "--from-dump", sample.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Species+ quotas into the ledger:"),
        "{}",
        stdout(&o)
    );

    // Cameroon's published zero quota for 2022 (Species+ quota 27025).
    let answer = check(&t.url, dir.path(), &tusks("CM", 2));
    assert_eq!(answer["decision"], "REFUSE", "{answer}");
    assert!(codes(&answer).contains(&"ZERO_QUOTA"), "{answer}");

    // South Africa's published 300 tusks for 2022: 301 exceed it, with box 11a's figures.
    let answer = check(&t.url, dir.path(), &tusks("ZA", 301));
    assert_eq!(answer["decision"], "REFUSE", "{answer}");
    assert!(codes(&answer).contains(&"QUOTA_EXCEEDED"), "{answer}");
    assert_eq!(answer["box_11a"]["quota"], "300", "{answer}");

    // The French annotation 2 in 2018: commercial raw ivory from Namibia is no ALLOW.
    let answer = check(
        &t.url,
        dir.path(),
        &json!({
            "transaction": "export", "taxon": "Loxodonta africana", "exporter": "NA",
            "importer": "JP", "source": "W", "purpose": "T", "term": "TUS", "quantity": 2,
            "date_issue": "2018-06-01", "date_trade": "2018-06-15",
            "documents": {"ndf_reference": "N", "laf_reference": "L"}
        }),
    );
    assert_ne!(answer["decision"], "ALLOW", "{answer}");
    assert!(
        codes(&answer).contains(&"ANNOTATION_NEEDS_REVIEW"),
        "{answer}"
    );

    // Chad's suspension of all trade from 2022-05-13, no longer current and with no end date
    // in Species+: a shipment of 2022-06-01 may have fallen inside it.
    let answer = check(
        &t.url,
        dir.path(),
        &json!({
            "transaction": "import", "taxon": "Loxodonta africana", "exporter": "TD",
            "importer": "US", "source": "W", "purpose": "T", "term": "SKI", "quantity": 2,
            "date_issue": "2022-05-20", "date_trade": "2022-06-01",
            "documents": {
                "import_permit": {"number": "US-22-2", "issued_on": "2022-05-10", "quantity": 2},
                "export_permit": {"number": "TD-22-1", "country": "TD", "issued_on": "2022-05-16"}}
        }),
    );
    assert_ne!(answer["decision"], "ALLOW", "{answer}");
    assert!(
        codes(&answer).contains(&"MEASURE_POSSIBLY_IN_FORCE"),
        "{answer}"
    );

    // A synonym Species+ lists only under its accepted taxon (no concept of its own) is
    // resolved to it, and the answer says through which name.
    let mut forest = tusks("CM", 2);
    forest["taxon"] = json!("Loxodonta cyclotis");
    let answer = check(&t.url, dir.path(), &forest);
    assert_eq!(answer["taxon"]["id"], 4521, "{answer}");
    assert_eq!(
        answer["taxon"]["via_synonym"], "Loxodonta cyclotis",
        "{answer}"
    );
    assert!(codes(&answer).contains(&"ZERO_QUOTA"), "{answer}");

    t.drop_db().await.unwrap();
}

on_both_backends!(published_quotas_and_measures_count_straight_after_a_sync);
