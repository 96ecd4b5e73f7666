//! Nested quotas (a genus quota with a species quota inside it) through the permit check: a
//! reserving check holds every quota that applies, together, and the permit's lifecycle moves
//! them together, so neither limit is ever exceeded, even under concurrent checks.

use std::sync::Arc;

use cites::app::keys::Role;
use db::Backend;
use serde_json::{Value, json};

use crate::check::post;
use crate::support::{TestApp, cites, on_both_backends, repo_path, stderr, stdout};

/// The sample catalogue's *Arctocephalus* (genus) and *A. forsteri*; *A. pusillus* is 5620.
const GENUS: i64 = 1177;
const FORSTERI: i64 = 3522;

async fn declare(app: &TestApp, key: &str, taxon_id: i64, limit: &str) -> i64 {
    let res = app
        .http
        .post(format!("{}/v1/quotas", app.base))
        .bearer_auth(app.key(Role::ScientificAuthority))
        .json(
            &json!({"client_key": key, "exporter": "ZA", "taxon_id": taxon_id,
            "year": 2026, "limit": limit, "unit": ""}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let body: Value = res.json().await.unwrap();
    body["quota"]["id"].as_i64().unwrap()
}

/// A reserving check for `quantity` skins of `taxon` exported from South Africa today.
fn skins(taxon: &str, quantity: u32, key: &str) -> Value {
    json!({
        "transaction": "export", "taxon": taxon, "exporter": "ZA", "importer": "DE",
        "source": "W", "purpose": "T", "term": "SKI", "quantity": quantity.to_string(),
        "date_issue": "2026-11-27", "date_trade": "2026-12-01",
        "documents": {"ndf_reference": "NDF-ZA-2026-1", "laf_reference": "LAF-ZA-2026-1"},
        "reserve": true, "client_key": key
    })
}

async fn counters(app: &TestApp, quota_id: i64) -> (String, String) {
    let (s, q) = app
        .get(&format!("/v1/quotas/{quota_id}"), Some(Role::Enforcement))
        .await;
    assert_eq!(s, 200, "{q}");
    let field = |name: &str| q["quota"][name].as_str().unwrap().to_owned();
    (field("held"), field("committed"))
}

fn counted(answer: &Value) -> Vec<(i64, String)> {
    answer["quotas_counted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["quota_id"].as_i64().unwrap(),
                b["total_after"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_reserving_check_holds_the_species_and_the_genus_quota_together(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let genus = declare(&app, "q-genus", GENUS, "5").await;
    let species = declare(&app, "q-forsteri", FORSTERI, "2").await;

    let (s, first) = post(
        &app,
        Role::PermitOfficer,
        &skins("Arctocephalus forsteri", 2, "p-1"),
    )
    .await;
    assert_eq!((s, &first["decision"]), (200, &json!("ALLOW")), "{first}");
    let mut seen = counted(&first);
    seen.sort();
    let mut expected = vec![(genus, "2".to_owned()), (species, "2".to_owned())];
    expected.sort();
    assert_eq!(seen, expected, "{first}");
    assert_eq!(first["reservation"]["outcome"], "done", "{first}");
    let linked = first["linked_reservations"].as_array().unwrap();
    let mut held_on: Vec<i64> = linked
        .iter()
        .map(|r| r["quota_id"].as_i64().unwrap())
        .collect();
    held_on.sort();
    assert_eq!(held_on, [genus.min(species), genus.max(species)], "{first}");
    // A retried check answers as it did, holding nothing more.
    let (_, again) = post(
        &app,
        Role::PermitOfficer,
        &skins("Arctocephalus forsteri", 2, "p-1"),
    )
    .await;
    assert_eq!(again["check_id"], first["check_id"], "{again}");
    assert_eq!(
        counters(&app, genus).await.0,
        "2",
        "the genus quota holds it too"
    );
    assert_eq!(counters(&app, species).await.0, "2");

    // Three of another species fill the genus quota, and say so on box 11a.
    let (s, second) = post(
        &app,
        Role::PermitOfficer,
        &skins("Arctocephalus pusillus", 3, "p-2"),
    )
    .await;
    assert_eq!((s, &second["decision"]), (200, &json!("ALLOW")), "{second}");
    assert_eq!(counted(&second), vec![(genus, "3".to_owned())], "{second}");
    assert_eq!(second["quotas_counted"][0]["quota"], "5", "{second}");
    assert_eq!(counters(&app, genus).await.0, "5");

    // The genus is full: one more of either species is refused and nothing is held.
    for (taxon, key) in [
        ("Arctocephalus pusillus", "p-3"),
        ("Arctocephalus forsteri", "p-4"),
    ] {
        let (s, refused) = post(&app, Role::PermitOfficer, &skins(taxon, 1, key)).await;
        assert_eq!(
            (s, &refused["decision"]),
            (200, &json!("REFUSE")),
            "{refused}"
        );
        assert!(refused["reservation"].is_null(), "{refused}");
    }
    assert_eq!(
        counters(&app, genus).await,
        ("5".to_owned(), "0".to_owned())
    );
    assert_eq!(
        counters(&app, species).await,
        ("2".to_owned(), "0".to_owned())
    );

    // Issuing the first permit commits it on both quotas; releasing the second frees the genus.
    let first_id = first["reservation"]["reservation"]["id"].as_i64().unwrap();
    let second_id = second["reservation"]["reservation"]["id"].as_i64().unwrap();
    for (id, action) in [(first_id, "commit"), (second_id, "release")] {
        let res = app
            .http
            .post(format!("{}/v1/reservations/{id}/{action}", app.base))
            .bearer_auth(app.key(Role::PermitOfficer))
            .json(&json!({"client_key": format!("{action}-{id}")}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{action}: {body}");
        assert_eq!(body["outcome"], "done", "{action}: {body}");
    }
    assert_eq!(
        counters(&app, genus).await,
        ("0".to_owned(), "2".to_owned())
    );
    assert_eq!(
        counters(&app, species).await,
        ("0".to_owned(), "2".to_owned())
    );

    // The genus's history shows the linked moves of the species permit beside its own.
    let (_, history) = app
        .get(
            &format!("/v1/quotas/{genus}/history"),
            Some(Role::Enforcement),
        )
        .await;
    let events: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // The two refusals were the rules' (the facts showed the genus full): the ledger was not
    // asked, so the genus's history has no reject.
    assert_eq!(
        events,
        ["declare", "reserve", "reserve", "commit", "release"],
        "{history}"
    );
    app.stop().await;
}

async fn concurrent_checks_never_exceed_the_genus_or_the_species_quota(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let genus = declare(&app, "q-genus", GENUS, "5").await;
    let species = declare(&app, "q-forsteri", FORSTERI, "2").await;

    let mut tasks = Vec::new();
    for i in 0..16 {
        let app = Arc::clone(&app);
        let taxon = if i % 2 == 0 {
            "Arctocephalus forsteri"
        } else {
            "Arctocephalus pusillus"
        };
        tasks.push(tokio::spawn(async move {
            let (s, answer) = post(
                &app,
                Role::PermitOfficer,
                &skins(taxon, 1, &format!("c-{i}")),
            )
            .await;
            assert_eq!(s, 200, "{answer}");
            (taxon, answer["decision"].as_str().unwrap().to_owned())
        }));
    }
    let mut allowed = (0, 0);
    for task in tasks {
        let (taxon, decision) = task.await.unwrap();
        assert!(
            decision == "ALLOW" || decision == "REFUSE",
            "{taxon}: {decision}"
        );
        if decision == "ALLOW" {
            if taxon.ends_with("forsteri") {
                allowed.0 += 1;
            } else {
                allowed.1 += 1;
            }
        }
    }
    // Holds only grow, so demand of 16 fills the genus exactly; the species never passes 2.
    assert_eq!(allowed.0 + allowed.1, 5, "{allowed:?}");
    assert!(allowed.0 <= 2, "{allowed:?}");
    assert_eq!(counters(&app, genus).await.0, "5");
    assert_eq!(counters(&app, species).await.0, allowed.0.to_string());
    Arc::into_inner(app).unwrap().stop().await;
}

on_both_backends!(a_reserving_check_holds_the_species_and_the_genus_quota_together);
on_both_backends!(multi_thread concurrent_checks_never_exceed_the_genus_or_the_species_quota);

/// `cites check` prints box 11a for every quota the permit counts against, as an officer reads
/// it off the terminal.
#[test]
fn the_command_line_shows_box_11a_for_each_nested_quota() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let sample = repo_path("fixtures/sample/catalogue.ndjson");
    let o = cites(&url, &["sync", "--from-dump", sample.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut ids = Vec::new();
    for (taxon, limit) in [(GENUS, "5"), (FORSTERI, "2")] {
        let taxon = taxon.to_string();
        let key = format!("q-{taxon}");
        let o = cites(
            &url,
            &[
                "quota",
                "set",
                "--exporter",
                "ZA",
                "--taxon",
                &taxon,
                "--year",
                "2026",
                "--limit",
                limit,
                "--key",
                &key,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        ids.push(stdout(&o).split_whitespace().nth(1).unwrap().to_owned());
    }
    let input = dir.path().join("app.json");
    std::fs::write(
        &input,
        skins("Arctocephalus forsteri", 2, "cli-1").to_string(),
    )
    .unwrap();
    let o = cites(&url, &["check", "--input", input.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("ALLOW"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("box 11a:")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, (id, limit)) in lines.iter().zip([(&ids[0], "5"), (&ids[1], "2")]) {
        assert_eq!(
            line.trim(),
            format!("box 11a: 0 of {limit} NAR used, 2 after this permit (quota {id})"),
            "{text}"
        );
    }
    let o = cites(&url, &["quota", "show", &ids[0], "--json"]);
    let genus: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(genus["held"], "2", "held with the species quota: {genus}");
}
