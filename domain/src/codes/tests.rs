//! Tests for the source, purpose and term code lists.

use super::*;

/// Data rows of an embedded CSV, parsed independently of `CodeList`.
fn csv_codes(text: &str) -> Vec<String> {
    csv::parse(text)
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|row| row[0].clone())
        .collect()
}

#[test]
fn every_source_csv_row_parses_to_itself_with_its_description() {
    let codes = csv_codes(include_str!("../../../fixtures/codes/sources.csv"));
    assert_eq!(
        codes,
        ["W", "X", "R", "D", "A", "C", "F", "Y", "U", "I", "O"]
    );
    for code in &codes {
        let source = SourceCode::parse(code).unwrap();
        assert_eq!(source.code(), code);
        assert!(
            !source.description().is_empty(),
            "{code} has no description"
        );
    }
    assert_eq!(SourceCode::all().count(), codes.len());
}

#[test]
fn every_purpose_csv_row_parses_to_itself() {
    let codes = csv_codes(include_str!("../../../fixtures/codes/purposes.csv"));
    assert_eq!(
        codes,
        ["T", "Z", "G", "Q", "S", "H", "P", "M", "E", "N", "B", "L"]
    );
    for code in &codes {
        assert_eq!(PurposeCode::parse(code).unwrap().code(), code);
    }
    assert_eq!(PurposeCode::all().count(), codes.len());
}

#[test]
fn every_term_csv_row_parses_to_itself() {
    let codes = csv_codes(include_str!("../../../fixtures/codes/terms.csv"));
    assert_eq!(codes.len(), 125);
    for code in &codes {
        let term = TermCode::parse(code).unwrap();
        assert_eq!(term.code(), code);
        assert!(!term.description().is_empty(), "{code} has no description");
    }
    assert_eq!(TermCode::all().count(), 125);
}

#[test]
fn code_parse_trims_and_ignores_case() {
    assert_eq!(SourceCode::parse(" w ").unwrap().code(), "W");
    assert_eq!(PurposeCode::parse("t").unwrap().code(), "T");
    assert_eq!(TermCode::parse("\tliv\n").unwrap().code(), "LIV");
}

#[test]
fn quoted_csv_fields_keep_their_commas() {
    let ranched = SourceCode::parse("R").unwrap();
    assert!(
        ranched
            .description()
            .starts_with("Ranched specimens: animals reared")
    );
    assert!(
        ranched
            .description()
            .contains(", taken as eggs or juveniles")
    );
    let belts = TermCode::parse("BEL").unwrap();
    assert!(
        belts
            .notes()
            .contains(r#"Trade Plus notes BEL "no longer exists""#)
    );
}

#[test]
fn source_code_parse_rejects_unknown_code_and_lists_accepted_ones() {
    let err = SourceCode::parse("Q").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid source code "Q" for field "source": accepted W, X, R, D, A, C, F, Y, U, I, O"#
    );
}

#[test]
fn purpose_code_parse_rejects_unknown_code_and_lists_accepted_ones() {
    let err = PurposeCode::parse("X").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid purpose code "X" for field "purpose": accepted T, Z, G, Q, S, H, P, M, E, N, B, L"#
    );
}

#[test]
fn term_code_parse_error_summarises_the_long_list_and_points_at_the_csv() {
    let err = TermCode::parse("XYZ").unwrap_err();
    let message = err.to_string();
    assert_eq!(
        message,
        r#"invalid term code "XYZ" for field "term": accepted one of 125 codes, e.g. BAL, BAR, BEL, BOC, BOD, BON, BOP, BPR, BUL, CAL, CAP, CAR, ... (see terms.csv)"#
    );
    assert!(message.len() < 400);
}

#[test]
fn code_parse_rejects_the_empty_string() {
    assert!(SourceCode::parse("").is_err());
    assert!(PurposeCode::parse("  ").is_err());
    assert!(TermCode::parse("").is_err());
}

#[test]
fn code_parse_error_field_can_be_renamed_by_the_caller() {
    use crate::error::ResultExt;
    let err = SourceCode::parse("Q")
        .for_field("second_source")
        .unwrap_err();
    assert!(
        err.to_string().contains(r#"for field "second_source""#),
        "{err}"
    );
}

#[test]
fn source_kingdom_validity_follows_sapi_rules() {
    let check = |code: &str, animals: bool, plants: bool| {
        let source = SourceCode::parse(code).unwrap();
        assert_eq!(
            source.valid_for(Kingdom::Animalia),
            animals,
            "{code} for animals"
        );
        assert_eq!(
            source.valid_for(Kingdom::Plantae),
            plants,
            "{code} for plants"
        );
    };
    check("A", false, true);
    check("Y", false, true);
    check("C", true, false);
    check("R", true, false);
    check("F", true, false);
    for code in ["W", "X", "D", "U", "I", "O"] {
        check(code, true, true);
    }
}

#[test]
fn only_i_and_o_combine_with_a_second_source() {
    let combining: Vec<&str> = SourceCode::all()
        .filter(|s| s.combines_with_other_source())
        .map(|s| s.code())
        .collect();
    assert_eq!(combining, ["I", "O"]);
}

#[test]
fn kingdom_parse_accepts_species_plus_names_and_rejects_others() {
    assert_eq!(Kingdom::parse("Animalia").unwrap(), Kingdom::Animalia);
    assert_eq!(Kingdom::parse(" plantae ").unwrap(), Kingdom::Plantae);
    assert_eq!(
        Kingdom::parse("Fungi").unwrap_err().to_string(),
        r#"invalid kingdom "Fungi" for field "kingdom": accepted Animalia, Plantae"#
    );
    assert_eq!(Kingdom::Plantae.to_string(), "Plantae");
}

#[test]
fn codes_serialise_as_their_code_string_and_deserialise_through_parse() {
    let source = SourceCode::parse("W").unwrap();
    assert_eq!(serde_json::to_string(&source).unwrap(), r#""W""#);
    assert_eq!(
        serde_json::from_str::<SourceCode>(r#""w""#).unwrap(),
        source
    );
    let term = TermCode::parse("TUS").unwrap();
    assert_eq!(serde_json::to_string(&term).unwrap(), r#""TUS""#);
    let err = serde_json::from_str::<PurposeCode>(r#""X""#).unwrap_err();
    assert!(
        err.to_string().contains(r#"invalid purpose code "X""#),
        "{err}"
    );
}

#[test]
fn codes_compare_hash_and_display_by_code() {
    use std::collections::HashSet;
    let a = TermCode::parse("LIV").unwrap();
    let b = TermCode::parse("liv").unwrap();
    assert_eq!(a, b);
    assert_eq!(HashSet::from([a, b]).len(), 1);
    assert_eq!(a.to_string(), "LIV");
    assert_eq!(format!("{a:?}"), r#"TermCode("LIV")"#);
    assert!(TermCode::parse("BAL").unwrap() < a);
}

#[test]
fn legacy_terms_are_accepted_and_flagged() {
    assert!(TermCode::parse("BEL").unwrap().is_legacy());
    assert!(TermCode::parse("IVS").unwrap().is_legacy());
    assert!(!TermCode::parse("IVP").unwrap().is_legacy());
}

#[test]
fn accepted_list_is_spelled_out_when_short() {
    assert_eq!(accepted_list(&["A", "B"], "x.csv"), "A, B");
}
