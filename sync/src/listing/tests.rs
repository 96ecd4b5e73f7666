//! The listing at a date: the elephant's real history and the CoP19 cases.

use std::collections::BTreeSet;

use super::*;
use crate::model::Legislation;
use crate::wire;

fn rows_of(path: &str, taxon_id: i64) -> Vec<ListingRow> {
    let full = format!("{}/../fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let leg: wire::CitesLegislation =
        serde_json::from_str(&std::fs::read_to_string(&full).expect("fixture")).expect("parses");
    let mut w = Vec::new();
    Legislation::from_wire(taxon_id, &leg.cites_listings, &[], &[], &mut w).listings
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn elephant() -> Vec<ListingRow> {
    rows_of(
        "speciesplus/cites_legislation_4521_lang-fr_scope-all.json",
        4521,
    )
}

#[test]
fn elephant_derivation_on_the_recording_day_reproduces_exactly_the_current_flags() {
    let rows = elephant();
    let at = listing_at(&rows, date("2022-11-27"), None, &resolve_iso_name);
    let derived: BTreeSet<i64> = at
        .deciding
        .iter()
        .map(|f| f.listing_id)
        .chain(at.reservations.iter().map(|r| r.listing_id))
        .collect();
    let flagged: BTreeSet<i64> = rows
        .iter()
        .filter(|r| r.is_current)
        .map(|r| r.listing_id)
        .collect();
    assert_eq!(derived, flagged);
    assert!(flagged.contains(&30344) && flagged.contains(&30115));
    assert_eq!(at.reservations.len(), 8);
}

#[test]
fn elephant_of_kenya_is_appendix_i_and_of_namibia_appendix_ii_in_2022() {
    let rows = elephant();
    let ke = listing_at(&rows, date("2022-11-27"), Some("KE"), &resolve_iso_name);
    assert_eq!(
        ke.status,
        Status::Listed {
            appendix: Appendix::I
        }
    );
    assert_eq!(
        ke.deciding.iter().map(|f| f.listing_id).collect::<Vec<_>>(),
        vec![30344]
    );
    let na = listing_at(&rows, date("2022-11-27"), Some("NA"), &resolve_iso_name);
    assert_eq!(
        na.status,
        Status::Listed {
            appendix: Appendix::II
        }
    );
    assert_eq!(
        na.deciding.iter().map(|f| f.listing_id).collect::<Vec<_>>(),
        vec![30115]
    );
    // Namibia's reservation on the CoP18 annotation update is in force on the II listing.
    assert!(na.reservations.iter().any(|r| r.party == "NA"));
}

#[test]
fn elephant_without_a_country_depends_on_the_population() {
    let at = listing_at(&elephant(), date("2022-11-27"), None, &resolve_iso_name);
    assert_eq!(
        at.status,
        Status::DependsOnPopulation {
            appendices: vec![Appendix::I, Appendix::II]
        }
    );
    assert_eq!(at.summary(), "I/II");
}

#[test]
fn elephant_was_appendix_iii_for_ghana_in_1976_and_ii_for_everyone_in_1989() {
    let rows = elephant();
    let y1976 = listing_at(&rows, date("1976-06-01"), Some("KE"), &resolve_iso_name);
    assert_eq!(
        y1976.status,
        Status::Listed {
            appendix: Appendix::III
        }
    );
    assert_eq!(y1976.app_iii_parties, vec!["GH".to_owned()]);
    let y1989 = listing_at(&rows, date("1989-06-01"), Some("ZW"), &resolve_iso_name);
    assert_eq!(
        y1989.status,
        Status::Listed {
            appendix: Appendix::II
        }
    );
    let y1991 = listing_at(&rows, date("1991-06-01"), Some("ZW"), &resolve_iso_name);
    assert_eq!(
        y1991.status,
        Status::Listed {
            appendix: Appendix::I
        }
    );
}

#[test]
fn before_the_first_listing_a_taxon_is_not_listed() {
    let at = listing_at(&elephant(), date("1975-01-01"), None, &resolve_iso_name);
    assert_eq!(at.status, Status::NotListed);
    assert!(at.deciding.is_empty());
}

#[test]
fn french_population_clauses_resolve_to_iso_codes() {
    let p = parse_populations(
        Some(
            "Sauf les populations de l'Afrique du Sud, du Botswana, de la Namibie et du Zimbabwe, qui sont inscrites à l'Annexe II.",
        ),
        &resolve_iso_name,
    );
    let want: BTreeSet<String> = ["ZA", "BW", "NA", "ZW"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(p, Populations::Except(want));
}

#[test]
fn english_population_clauses_resolve_to_iso_codes() {
    let only = parse_populations(
        Some(
            "Only the population of Mexico is included in Appendix I. No other population is included in the Appendices.",
        ),
        &resolve_iso_name,
    );
    assert_eq!(
        only,
        Populations::Only(["MX".to_owned()].into_iter().collect())
    );
    let pops = parse_populations(
        Some(
            "The populations of Botswana, Namibia, South Africa and Zimbabwe are listed in Appendix II for the exclusive purpose of allowing: ...",
        ),
        &resolve_iso_name,
    );
    assert_eq!(
        pops,
        Populations::Only(
            ["BW", "NA", "ZA", "ZW"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        )
    );
}

#[test]
fn an_unreadable_population_clause_is_never_guessed() {
    let p = parse_populations(
        Some("Populations of Atlantis and Namibia: whatever"),
        &resolve_iso_name,
    );
    assert!(matches!(p, Populations::Unparsed(_)), "{p:?}");
    let row = ListingRow {
        taxon_id: 1,
        listing_id: 1,
        appendix: Appendix::II,
        change_type: ChangeType::Addition,
        effective_at: date("2000-01-01"),
        is_current: true,
        party: None,
        party_name: None,
        annotation: Some("Populations of Atlantis: x".into()),
        hash_symbol: None,
        hash_note: None,
        inherited_from: None,
    };
    let at = listing_at(&[row], date("2001-01-01"), Some("NA"), &resolve_iso_name);
    assert!(at.needs_review);
    assert!(matches!(at.status, Status::DependsOnPopulation { .. }));
}

#[test]
fn an_annotation_without_a_population_clause_covers_the_whole_taxon() {
    assert_eq!(
        parse_populations(Some("#4"), &resolve_iso_name),
        Populations::All
    );
    assert_eq!(parse_populations(None, &resolve_iso_name), Populations::All);
}

/// One row of `fixtures/cop19/expected.json`.
#[derive(serde::Deserialize, Debug)]
struct Expected {
    taxon_id: i64,
    name: String,
    date: String,
    country: Option<String>,
    appendix: Option<String>,
    reservations: Vec<String>,
    deciding_listing_ids: Vec<i64>,
}

fn cop19_rows(taxon_id: i64) -> Vec<ListingRow> {
    let dir = format!("{}/../fixtures/cop19", env!("CARGO_MANIFEST_DIR"));
    let suffix = format!("_cites_legislation_{taxon_id}.json");
    let file = std::fs::read_dir(&dir)
        .expect("cop19 dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n.ends_with(&suffix));
    match file {
        Some(f) => rows_of(&format!("cop19/{f}"), taxon_id),
        None => Vec::new(),
    }
}

#[test]
fn cop19_cases_give_the_expected_listing_the_day_before_and_the_day_of_entry_into_force() {
    let path = format!(
        "{}/../fixtures/cop19/expected.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let expected: Vec<Expected> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("expected.json"))
            .expect("parses");
    assert!(expected.len() >= 20);
    for e in &expected {
        let rows = cop19_rows(e.taxon_id);
        let at = listing_at(
            &rows,
            date(&e.date),
            e.country.as_deref(),
            &resolve_iso_name,
        );
        let want = match e.appendix.as_deref() {
            None => Status::NotListed,
            Some(a) => Status::Listed {
                appendix: Appendix::parse(a).expect("appendix"),
            },
        };
        assert_eq!(at.status, want, "{} {} {:?}", e.name, e.date, e.country);
        let deciding: Vec<i64> = at.deciding.iter().map(|f| f.listing_id).collect();
        assert_eq!(
            deciding, e.deciding_listing_ids,
            "{} {} {:?}",
            e.name, e.date, e.country
        );
        let parties: Vec<String> = at.reservations.iter().map(|r| r.party.clone()).collect();
        assert_eq!(parties, e.reservations, "{} {}", e.name, e.date);
    }
}

#[test]
fn namibian_white_rhino_moves_from_i_to_ii_on_23_february_2023_while_kenya_stays_i() {
    let rows = cop19_rows(900020);
    let before = listing_at(&rows, date("2023-02-22"), Some("NA"), &resolve_iso_name);
    let after = listing_at(&rows, date("2023-02-23"), Some("NA"), &resolve_iso_name);
    assert_eq!(
        before.status,
        Status::Listed {
            appendix: Appendix::I
        }
    );
    assert_eq!(
        after.status,
        Status::Listed {
            appendix: Appendix::II
        }
    );
    let kenya = listing_at(&rows, date("2023-02-23"), Some("KE"), &resolve_iso_name);
    assert_eq!(
        kenya.status,
        Status::Listed {
            appendix: Appendix::I
        }
    );
}
