//! The full sweep over batches that each pass ingest: what only the whole register shows
//! (a permit drawn on by two batches beyond its quantity, a document used outside its
//! validity, source codes an ancestry or a kingdom does not allow, a parent bred before it
//! could), and the tables' configuration.

use std::collections::HashMap;

use db::Backend;
use serde_json::json;
use trace::{Severity, TraceConfig};

use crate::scenarios::taxa;
use crate::support::{fixture, on_both_backends};

fn rules(sweep: &trace::Sweep) -> Vec<(String, Severity)> {
    sweep
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.severity))
        .collect()
}

async fn the_sweep_finds_what_spans_batches(backend: Backend) {
    let f = fixture(backend).await;
    let croc = |k: &str, source: &str| json!({"key": k, "taxon": "10002", "term": "SKI", "quantity": {"amount": "1"}, "source": source});
    let first = json!({
        "documents": [{"country": "ZW", "type": "export_permit", "number": "P1", "status": "issued",
            "valid_from": "2024-01-01", "valid_until": "2024-06-30", "taxon": "10002",
            "permitted": {"amount": "1", "unit": "NAR"}},
            {"country": "ZW", "type": "licence", "number": "L1", "status": "issued"}],
        "specimens": [croc("s1", "W"), croc("s2", "W"), croc("s3", "C")],
        "events": [
            {"key": "h1", "kind": "wild_harvest", "at": "2024-01-10T00:00:00Z", "outputs": ["s1", "s2"],
             "documents": [{"country": "ZW", "type": "licence", "number": "L1"}]},
            {"key": "x1", "kind": "export", "at": "2024-02-01T00:00:00Z", "country": "ZW", "subjects": ["s1"],
             "documents": [{"country": "ZW", "type": "export_permit", "number": "P1"}]},
            {"key": "t1", "kind": "transform", "at": "2024-02-02T00:00:00Z", "inputs": ["s2"], "outputs": ["s3"]}
        ]
    });
    let done = f.register.ingest(&first, "first").await.unwrap();
    assert_eq!(done.findings, vec![]);
    // A second shipment under the same permit, after it expired.
    let second = json!({
        "events": [{"key": "x2", "kind": "export", "at": "2024-07-15T00:00:00Z", "country": "ZW",
            "subjects": ["s3"], "documents": [{"country": "ZW", "type": "export_permit", "number": "P1"}]}]
    });
    let done = f.register.ingest(&second, "second").await.unwrap();
    assert_eq!(done.findings, vec![]);
    let sweep = f
        .register
        .sweep(&TraceConfig::default(), &taxa(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!((sweep.specimens, sweep.events, sweep.documents), (3, 4, 2));
    assert!(sweep.has_errors());
    assert_eq!(
        rules(&sweep),
        [
            ("document_outside_validity".to_owned(), Severity::Error),
            ("document_quantity".to_owned(), Severity::Error),
            ("source_code".to_owned(), Severity::Error),
        ]
    );
    let quantity = &sweep.findings[1];
    assert_eq!(quantity.nodes, ["ZW:export_permit:P1", "x1", "x2"]);
    assert_eq!(
        (
            quantity.numbers["shipped"].as_str(),
            quantity.numbers["permitted"].as_str()
        ),
        ("2", "1")
    );
    assert_eq!(sweep.findings[2].nodes, ["t1", "s3"]);
    assert_eq!(sweep.findings[2].numbers["accepted"], "W");
    // Without the catalogue's facts, the kingdom cannot be checked: said, not passed.
    let blind = f
        .register
        .sweep(&TraceConfig::default(), &HashMap::new(), &|_, _| {})
        .await
        .unwrap();
    assert!(
        blind
            .findings
            .iter()
            .any(|f| f.rule == "taxon_unknown" && f.severity == Severity::Info)
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(the_sweep_finds_what_spans_batches);

async fn breeding_is_checked_against_the_table_and_the_parents_age(backend: Backend) {
    let f = fixture(backend).await;
    let bird = |k: &str, source: &str| json!({"key": k, "taxon": "10003", "term": "LIV", "quantity": {"amount": "1"}, "source": source});
    let batch = json!({
        "documents": [{"country": "ZA", "type": "captive_breeding_certificate", "number": "CB1", "status": "issued"}],
        "specimens": [bird("p1", "C"), bird("p2", "C"), bird("y1", "C"), bird("y2", "A")],
        "events": [
            {"key": "b0", "kind": "captive_birth", "at": "2020-01-01T00:00:00Z", "outputs": ["p1", "p2"],
             "documents": [{"country": "ZA", "type": "captive_breeding_certificate", "number": "CB1"}]},
            {"key": "b1", "kind": "captive_birth", "at": "2021-01-01T00:00:00Z", "outputs": ["y1", "y2"],
             "subjects": ["p1", "p2"],
             "documents": [{"country": "ZA", "type": "captive_breeding_certificate", "number": "CB1"}]}
        ]
    });
    f.register.ingest(&batch, "birds").await.unwrap();
    let sweep = f
        .register
        .sweep(&TraceConfig::default(), &taxa(), &|_, _| {})
        .await
        .unwrap();
    let found: Vec<(String, Vec<String>)> = sweep
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.nodes.clone()))
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        found,
        [
            ("breeding_parent_immature".to_owned(), s(&["b1", "p1"])),
            ("breeding_parent_immature".to_owned(), s(&["b1", "p2"])),
            ("source_code".to_owned(), s(&["b1", "y2"])),
            ("source_code_taxon".to_owned(), s(&["y2"])),
            ("breeding_founders_unknown".to_owned(), s(&["b0"])),
        ]
    );
    assert_eq!(sweep.findings[0].numbers["age_days"], "366");
    assert_eq!(sweep.findings[0].numbers["first_breeding_age_days"], "1095");
    // A table that knows macaws breed at a year old finds nothing of the kind.
    let config = TraceConfig::from_toml_str(
        "[[breeding]]\ntaxon = \"Ara\"\nclutch_size_max = 4\nclutches_per_year_max = 2\nfirst_breeding_age_days = 300\n",
    )
    .unwrap();
    let sweep = f
        .register
        .sweep(&config, &taxa(), &|_, _| {})
        .await
        .unwrap();
    assert!(
        !sweep
            .findings
            .iter()
            .any(|f| f.rule == "breeding_parent_immature")
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(breeding_is_checked_against_the_table_and_the_parents_age);
