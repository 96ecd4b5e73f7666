//! Every recorded Species+ body parses, and the parsed values carry the real facts.

use super::*;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../fixtures/speciesplus/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_names() -> Vec<String> {
    let dir = format!("{}/../fixtures/speciesplus", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json") && n != "index.json")
        .collect();
    names.sort();
    names
}

#[test]
fn every_recorded_body_parses_as_its_endpoint_shape() {
    let names = fixture_names();
    assert!(
        names.len() >= 43,
        "expected every recorded body, found {}",
        names.len()
    );
    for name in names {
        let body = fixture(&name);
        let result: std::result::Result<(), String> = if name.starts_with("error-") {
            serde_json::from_str::<ErrorBody>(&body)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if name.starts_with("taxon_concepts") {
            serde_json::from_str::<TaxonConceptsPage>(&body)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if name.starts_with("cites_legislation") {
            serde_json::from_str::<CitesLegislation>(&body)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if name.starts_with("distributions") {
            serde_json::from_str::<Vec<Distribution>>(&body)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else {
            // eu_legislation and references are not mirrored; they must still be valid JSON.
            serde_json::from_str::<serde_json::Value>(&body)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(result.is_ok(), "{name}: {result:?}");
    }
}

#[test]
fn elephant_taxon_concept_carries_its_split_listing_and_higher_taxa() {
    let page: TaxonConceptsPage = serde_json::from_str(&fixture(
        "taxon_concepts_Loxodonta_africana_page-1_per-500.json",
    ))
    .expect("parses");
    assert_eq!(page.pagination.and_then(|p| p.total_entries), Some(1));
    let elephant = &page.taxon_concepts[0];
    assert_eq!(elephant.id, 4521);
    assert_eq!(elephant.full_name.as_deref(), Some("Loxodonta africana"));
    assert_eq!(elephant.cites_listing.as_deref(), Some("I/II"));
    let higher = elephant.higher_taxa.clone().expect("higher taxa");
    assert_eq!(higher.family.as_deref(), Some("Elephantidae"));
    assert_eq!(higher.order.as_deref(), Some("Proboscidea"));
    // The 2022 shape: current additions only, six keys each.
    let appendices: Vec<_> = elephant
        .cites_listings
        .iter()
        .filter_map(|l| l.appendix.as_deref())
        .collect();
    assert!(
        appendices.contains(&"I") && appendices.contains(&"II"),
        "{appendices:?}"
    );
    assert!(
        elephant
            .cites_listings
            .iter()
            .all(|l| l.change_type.is_none())
    );
}

#[test]
fn elephant_legislation_of_all_scopes_has_history_quotas_and_suspensions() {
    let leg: CitesLegislation =
        serde_json::from_str(&fixture("cites_legislation_4521_lang-fr_scope-all.json"))
            .expect("parses");
    assert!(
        leg.cites_listings.len() >= 40,
        "{}",
        leg.cites_listings.len()
    );
    assert_eq!(leg.cites_quotas.len(), 713);
    let first = leg
        .cites_listings
        .iter()
        .find(|l| l.id == 3635)
        .expect("row 3635");
    assert_eq!(first.appendix.as_deref(), Some("III"));
    assert_eq!(first.effective_at.as_deref(), Some("1976-02-26"));
    assert_eq!(
        first.party.as_ref().and_then(|p| p.iso_code2.as_deref()),
        Some("GH")
    );
    // Quotas are floats in the wire format and can be null ("in preparation").
    let q130 = leg
        .cites_quotas
        .iter()
        .find(|q| q.id == 130)
        .expect("quota 130");
    assert_eq!(
        q130.quota.as_ref().map(|n| n.to_string()).as_deref(),
        Some("160.0")
    );
    assert!(
        leg.cites_suspensions
            .iter()
            .any(|s| s.taxon_concept_id.is_none())
    );
}

#[test]
fn hummingbird_inherits_its_family_listing_with_the_auto_note() {
    let leg: CitesLegislation =
        serde_json::from_str(&fixture("cites_legislation_3210.json")).expect("parses");
    assert_eq!(leg.cites_listings.len(), 1);
    let row = &leg.cites_listings[0];
    assert_eq!(row.id, 4661);
    assert_eq!(
        row.annotation.as_deref(),
        Some("[FAMILY listing Trochilidae spp.] ")
    );
    // The suspension of all Aves (id 32) for Argentina comes through an ancestor.
    assert!(
        leg.cites_suspensions
            .iter()
            .any(|s| s.taxon_concept_id == Some(32))
    );
}

#[test]
fn a_hybrid_leaks_into_the_synonyms_of_an_accepted_name() {
    let page: TaxonConceptsPage = serde_json::from_str(&fixture(
        "taxon_concepts_updated-since-2018-01-01_page-1_per-500.json",
    ))
    .expect("parses");
    let with_hybrid = page.taxon_concepts.iter().find(|t| {
        t.synonyms
            .iter()
            .any(|s| s.full_name.as_deref().is_some_and(|n| n.contains("hybrid")))
    });
    let taxon = with_hybrid.expect("a taxon with a hybrid among its synonyms");
    let hybrid = taxon
        .synonyms
        .iter()
        .find(|s| s.full_name.as_deref().is_some_and(|n| n.contains("hybrid")))
        .expect("hybrid");
    assert_eq!(hybrid.author_year.as_deref(), Some(""));
}

#[test]
fn the_2025_shape_without_party_or_hash_annotation_keys_parses() {
    let body = r#"{"pagination":{"current_page":1,"per_page":500,"total_entries":1},
      "taxon_concepts":[{"id":1,"full_name":"X y","rank":"SPECIES","name_status":"A",
      "updated_at":"2025-03-01T00:00:00.000Z","active":true,"cites_listing":"II","eu_listing":"B",
      "cites_listings":[{"id":7,"taxon_concept_id":1,"is_current":true,"appendix":"II",
      "change_type":"+","effective_at":"2023-02-23","annotation":null}],"new_key":{"a":1}}]}"#;
    let page: TaxonConceptsPage = serde_json::from_str(body).expect("parses");
    let l = &page.taxon_concepts[0].cites_listings[0];
    assert_eq!(l.party, None);
    assert_eq!(l.hash_annotation, None);
    assert_eq!(l.change_type.as_deref(), Some("+"));
}

#[test]
fn a_row_with_only_an_id_parses_and_null_arrays_mean_empty() {
    let page: TaxonConceptsPage = serde_json::from_str(
        r#"{"taxon_concepts":[{"id":5,"synonyms":null,"common_names":null}]}"#,
    )
    .expect("parses");
    assert_eq!(page.taxon_concepts[0].id, 5);
    assert!(page.taxon_concepts[0].synonyms.is_empty());
}

#[test]
fn a_row_without_an_id_is_refused() {
    let r = serde_json::from_str::<TaxonConceptsPage>(r#"{"taxon_concepts":[{"full_name":"X"}]}"#);
    assert!(r.is_err());
}

#[test]
fn a_deleted_taxon_row_has_active_false_and_nulls() {
    let t: TaxonConcept = serde_json::from_str(
        r#"{"id":9,"full_name":"Gone sp.","author_year":null,"rank":"SPECIES","name_status":"A",
        "updated_at":"2022-01-01T00:00:00.000Z","active":false,"cites_listing":null,
        "higher_taxa":null,"synonyms":null,"common_names":null,"cites_listings":null}"#,
    )
    .expect("parses");
    assert_eq!(t.active, Some(false));
    assert!(t.higher_taxa.is_none());
}

#[test]
fn distributions_of_the_toque_macaque_are_one_country() {
    let d: Vec<Distribution> =
        serde_json::from_str(&fixture("distributions_10000.json")).expect("parses");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].iso_code2.as_deref(), Some("LK"));
}
