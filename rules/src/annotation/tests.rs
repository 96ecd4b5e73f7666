//! Unit tests of the annotation table and the "exclusive purpose" parser.

use domain::{CountryCode, Kingdom, SourceCode, TaxonId, TermCode};

use super::*;
use crate::facts::TaxonFacts;

const RHINO_NA: &str = "For the exclusive purpose of allowing international trade in a) live animals for in-situ conservation only; and b) hunting trophies. All other specimens shall be deemed to be specimens of species included in Appendix I and the trade in them shall be regulated accordingly.";

const ELEPHANT_2: &str = "For the exclusive purpose of allowing: a) trade in hunting trophies for non-commercial purposes; b) trade in live animals to appropriate and acceptable destinations, as defined in Resolution Conf. 11.20 (Rev. CoP18), for Botswana and Zimbabwe and for in situ conservation programmes for Namibia and South Africa; c) trade in hides; d) trade in hair; e) trade in leather goods for commercial or non-commercial purposes for Botswana, Namibia and South Africa and for non-commercial purposes for Zimbabwe. All other specimens shall be deemed to be specimens of species included in Appendix I and the trade in them shall be regulated accordingly.";

fn taxon(name: &str, ancestors: &[&str]) -> TaxonFacts {
    TaxonFacts {
        id: TaxonId::new(1),
        accepted_name: name.to_owned(),
        submitted_name: None,
        via_synonym: false,
        kingdom: Kingdom::Plantae,
        rank: "SPECIES".to_owned(),
        ancestor_ids: Vec::new(),
        merged_ids: Vec::new(),
        ancestor_names: ancestors.iter().map(|a| (*a).to_owned()).collect(),
        is_hybrid: false,
        excluded_form: None,
    }
}

#[track_caller]
fn check_hash(number: u32, taxon: &TaxonFacts, term: &str, source: &str, origin: &str) -> Coverage {
    let specimen = Specimen {
        term: TermCode::parse(term).unwrap(),
        source: SourceCode::parse(source).unwrap(),
        purpose_is_commercial: true,
        origin: CountryCode::parse(origin).unwrap(),
        taxon,
    };
    hash_coverage(number, &specimen).unwrap()
}

#[track_caller]
fn check_exclusive(text: &str, term: &str, commercial: bool) -> Coverage {
    let taxon = taxon("Ceratotherium simum simum", &[]);
    let specimen = Specimen {
        term: TermCode::parse(term).unwrap(),
        source: SourceCode::parse("W").unwrap(),
        purpose_is_commercial: commercial,
        origin: CountryCode::parse("NA").unwrap(),
        taxon: &taxon,
    };
    exclusive_purpose(text).unwrap().coverage(&specimen)
}

#[test]
fn hash_symbols_give_their_number_and_version() {
    assert_eq!(hash_number("#4"), Some(4));
    assert_eq!(hash_number("CoP19 #17"), Some(17));
    assert_eq!(hash_number("#"), None);
    assert_eq!(hash_number("4"), None);
    assert_eq!(hash_version("CoP19 #17"), Some("CoP19"));
    assert_eq!(hash_version("#17"), None);
}

#[test]
fn unknown_hash_numbers_have_no_coverage() {
    let specimen_taxon = taxon("Anything", &[]);
    let specimen = Specimen {
        term: TermCode::parse("LOG").unwrap(),
        source: SourceCode::parse("W").unwrap(),
        purpose_is_commercial: true,
        origin: CountryCode::parse("BR").unwrap(),
        taxon: &specimen_taxon,
    };
    assert_eq!(hash_coverage(99, &specimen), None);
}

#[test]
fn orchid_seeds_are_outside_annotation_4_but_mexican_cactus_seeds_are_not() {
    let orchid = taxon("Dendrobium nobile", &["Dendrobium", "Orchidaceae"]);
    assert!(matches!(
        check_hash(4, &orchid, "SEE", "W", "TH"),
        Coverage::NotCovered(_)
    ));
    let cactus = taxon("Ariocarpus fissuratus", &["Ariocarpus", "Cactaceae"]);
    assert!(matches!(
        check_hash(4, &cactus, "SEE", "W", "MX"),
        Coverage::Covered(_)
    ));
    assert!(matches!(
        check_hash(4, &cactus, "SEE", "W", "US"),
        Coverage::NotCovered(_)
    ));
}

#[test]
fn cut_flowers_are_outside_annotation_4_only_when_artificially_propagated() {
    let orchid = taxon("Phalaenopsis amabilis", &["Orchidaceae"]);
    assert!(matches!(
        check_hash(4, &orchid, "FLO", "A", "TH"),
        Coverage::NotCovered(_)
    ));
    assert!(matches!(
        check_hash(4, &orchid, "FLO", "W", "TH"),
        Coverage::Covered(_)
    ));
}

#[test]
fn timber_annotations_cover_only_their_listed_terms() {
    let afzelia = taxon("Afzelia africana", &["Afzelia"]);
    for term in ["LOG", "SAW", "VEN", "PLY", "TRW"] {
        assert!(
            matches!(
                check_hash(17, &afzelia, term, "W", "CM"),
                Coverage::Covered(_)
            ),
            "{term}"
        );
    }
    assert!(matches!(
        check_hash(17, &afzelia, "FRN", "W", "CM"),
        Coverage::NotCovered(_)
    ));
    assert!(matches!(
        check_hash(6, &afzelia, "PLY", "W", "CM"),
        Coverage::Covered(_)
    ));
    assert!(matches!(
        check_hash(5, &afzelia, "PLY", "W", "CM"),
        Coverage::NotCovered(_)
    ));
}

#[test]
fn mexican_dalbergia_follows_annotation_6_under_annotation_15() {
    let dalbergia = taxon("Dalbergia stevensonii", &["Dalbergia"]);
    assert!(matches!(
        check_hash(15, &dalbergia, "FRN", "W", "MX"),
        Coverage::NotCovered(_)
    ));
    assert!(matches!(
        check_hash(15, &dalbergia, "FRN", "W", "BZ"),
        Coverage::Covered(_)
    ));
}

#[test]
fn retail_products_of_annotation_14_go_to_review() {
    let agarwood = taxon("Aquilaria malaccensis", &["Aquilaria"]);
    assert!(matches!(
        check_hash(14, &agarwood, "OIL", "W", "ID"),
        Coverage::Review(_)
    ));
    assert!(matches!(
        check_hash(14, &agarwood, "CHP", "W", "ID"),
        Coverage::Covered(_)
    ));
    assert!(matches!(
        check_hash(14, &agarwood, "LVS", "W", "ID"),
        Coverage::NotCovered(_)
    ));
}

#[test]
fn the_namibian_rhino_annotation_is_read_item_by_item() {
    let parsed = exclusive_purpose(RHINO_NA).unwrap();
    assert!(parsed.understood);
    assert_eq!(parsed.items.len(), 2);
    assert_eq!(parsed.items[0].terms, vec!["LIV"]);
    assert!(parsed.items[0].conditional);
    assert_eq!(parsed.items[1].terms, vec!["TRO"]);
    assert!(!parsed.items[1].conditional);
    assert_eq!(parsed.items[1].text, "hunting trophies");
}

#[test]
fn rhino_trophies_stay_in_appendix_ii_and_horns_are_referred_to_appendix_i() {
    assert!(matches!(
        check_exclusive(RHINO_NA, "TRO", false),
        Coverage::Covered(_)
    ));
    assert!(matches!(
        check_exclusive(RHINO_NA, "HOR", true),
        Coverage::NotCovered(_)
    ));
    assert!(matches!(
        check_exclusive(RHINO_NA, "LIV", false),
        Coverage::Review(_)
    ));
}

#[test]
fn elephant_annotation_2_keeps_non_commercial_trophies_and_refers_commercial_ones() {
    assert!(matches!(
        check_exclusive(ELEPHANT_2, "TRO", false),
        Coverage::Covered(_)
    ));
    assert!(matches!(
        check_exclusive(ELEPHANT_2, "TRO", true),
        Coverage::NotCovered(_)
    ));
    assert!(matches!(
        check_exclusive(ELEPHANT_2, "SKI", true),
        Coverage::Covered(_)
    ));
    assert!(matches!(
        check_exclusive(ELEPHANT_2, "LPS", true),
        Coverage::Review(_)
    ));
    assert!(matches!(
        check_exclusive(ELEPHANT_2, "IVC", true),
        Coverage::NotCovered(_)
    ));
}

#[test]
fn an_exclusive_purpose_item_naming_an_unknown_specimen_type_is_not_understood() {
    let text = "For the exclusive purpose of allowing international trade in a) hunting trophies; b) finished widgets. All other specimens shall be deemed to be specimens of species included in Appendix I.";
    let parsed = exclusive_purpose(text).unwrap();
    assert!(!parsed.understood);
    assert!(matches!(
        check_exclusive(text, "HOR", true),
        Coverage::Review(_)
    ));
}

#[test]
fn annotations_without_an_exclusive_purpose_clause_are_not_parsed() {
    assert_eq!(exclusive_purpose("Only the population of Namibia."), None);
}

#[test]
fn zero_quota_annotations_say_whether_they_are_limited_to_wild_and_commercial() {
    assert_eq!(
        zero_quota(
            "Population of Brazil: zero annual export quota for wild specimens traded for commercial purposes."
        ),
        Some((true, true))
    );
    assert_eq!(zero_quota("Population of Brazil."), None);
}
