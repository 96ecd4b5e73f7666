//! Conversion from the wire format into catalogue rows.

use super::*;

fn legislation(name: &str) -> wire::CitesLegislation {
    let path = format!(
        "{}/../fixtures/speciesplus/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("parses")
}

#[test]
fn the_auto_note_of_an_inherited_row_is_split_from_the_annotation() {
    assert_eq!(
        split_auto_note(Some("[FAMILY listing Trochilidae spp.] ")),
        (
            Some("FAMILY listing Trochilidae spp.".to_owned()),
            String::new()
        )
    );
    assert_eq!(
        split_auto_note(Some("[GENUS listing Dalbergia spp.] Except D. x")),
        (
            Some("GENUS listing Dalbergia spp.".to_owned()),
            "Except D. x".to_owned()
        )
    );
    assert_eq!(
        split_auto_note(Some("[see note] text")),
        (None, "[see note] text".to_owned())
    );
}

#[test]
fn elephant_quotas_convert_to_exact_decimals_and_null_stays_in_preparation() {
    let leg = legislation("cites_legislation_4521_lang-fr_scope-all.json");
    let mut warnings = Vec::new();
    let l = Legislation::from_wire(
        4521,
        &leg.cites_listings,
        &leg.cites_quotas,
        &leg.cites_suspensions,
        &mut warnings,
    );
    assert_eq!(l.quotas.len(), 713);
    let q = l.quotas.iter().find(|q| q.id == 130).expect("quota 130");
    assert_eq!(q.quota.as_deref(), Some("160"));
    assert_eq!(q.country, "CM");
    assert_eq!(q.publication_date, NaiveDate::from_ymd_opt(2007, 12, 18));
    assert!(
        l.quotas.iter().all(|q| q.url.as_deref() != Some("")),
        "empty urls become None"
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn deletions_are_never_current_even_if_the_server_says_so() {
    let mut w = Vec::new();
    let row: wire::ListingChange = serde_json::from_str(
        r#"{"id":1,"is_current":true,"appendix":"II","change_type":"-","effective_at":"2023-02-23"}"#,
    )
    .expect("parses");
    let r = ListingRow::from_wire(5, &row, &mut w).expect("converts");
    assert!(!r.is_current);
    assert_eq!(r.change_type, ChangeType::Deletion);
}

#[test]
fn a_listing_row_with_an_unknown_change_type_is_skipped_with_a_warning_naming_it() {
    let mut w = Vec::new();
    let row: wire::ListingChange = serde_json::from_str(
        r#"{"id":77,"appendix":"II","change_type":"","effective_at":"2023-02-23"}"#,
    )
    .expect("parses");
    assert!(ListingRow::from_wire(5, &row, &mut w).is_none());
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("listing change 77") && w[0].contains("change_type"),
        "{}",
        w[0]
    );
}

#[test]
fn a_listing_row_without_a_date_is_skipped_with_a_warning_naming_the_field() {
    let mut w = Vec::new();
    let row: wire::ListingChange =
        serde_json::from_str(r#"{"id":78,"appendix":"I","change_type":"+"}"#).expect("parses");
    assert!(ListingRow::from_wire(5, &row, &mut w).is_none());
    assert!(w[0].contains("effective_at"), "{}", w[0]);
}

#[test]
fn shuffled_arrays_give_the_same_taxon_record_and_hash() {
    let a: wire::TaxonConcept = serde_json::from_str(
        r#"{"id":1,"full_name":"A b","rank":"SPECIES","name_status":"A","updated_at":"x",
        "common_names":[{"name":"One","language":"EN"},{"name":"Deux","language":"FR"}],
        "synonyms":[{"id":3,"full_name":"C d"},{"id":2,"full_name":"E f"}]}"#,
    )
    .expect("parses");
    let b: wire::TaxonConcept = serde_json::from_str(
        r#"{"id":1,"full_name":"A b","rank":"SPECIES","name_status":"A","updated_at":"y",
        "common_names":[{"name":"Deux","language":"FR"},{"name":"One","language":"EN"}],
        "synonyms":[{"id":2,"full_name":"E f"},{"id":3,"full_name":"C d"}]}"#,
    )
    .expect("parses");
    let mut w = Vec::new();
    let ra = TaxonRecord::from_wire(&a, &mut w).expect("converts");
    let rb = TaxonRecord::from_wire(&b, &mut w).expect("converts");
    assert_eq!(
        ra.content_hash, rb.content_hash,
        "updated_at and order do not count"
    );
    assert_eq!(ra.genus.as_deref(), Some("A"));
}
