//! Tests for `UnitCode`, `Unit` and `Dimension`.

use rust_decimal::Decimal;

use super::*;

fn unit(code: &str) -> UnitCode {
    UnitCode::parse(code).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[track_caller]
fn check(input: &str, code: &str, dimension: Dimension, factor: &str) {
    let parsed = unit(input);
    assert_eq!(parsed.code(), code, "input {input:?}");
    assert_eq!(parsed.dimension(), dimension, "input {input:?}");
    assert_eq!(
        parsed.unit().factor_to_base(),
        dec(factor),
        "input {input:?}"
    );
}

#[test]
fn every_unit_csv_row_parses() {
    let text = include_str!("../../../fixtures/codes/units.csv");
    let rows = crate::codes::csv::parse(text).unwrap();
    assert_eq!(rows.len() - 1, 44);
    assert_eq!(rows[1][0], "", "first data row is the blank unit");
    for row in &rows[1..] {
        let parsed = UnitCode::parse(&row[0]).unwrap();
        assert!(!parsed.description().is_empty());
    }
}

#[test]
fn blank_and_nar_both_mean_number_of_specimens() {
    check("", "NAR", Dimension::Count, "1");
    check("   ", "NAR", Dimension::Count, "1");
    check("NAR", "NAR", Dimension::Count, "1");
    check("nar", "NAR", Dimension::Count, "1");
    assert_eq!(UnitCode::number_of_specimens(), unit(""));
    assert!(unit("").is_count());
}

#[test]
fn legacy_unit_codes_are_normalised_to_un_cefact_codes() {
    check("KIL", "KGM", Dimension::Mass, "1");
    check("cum", "MTQ", Dimension::Volume, "1");
    check("SQM", "MTK", Dimension::Area, "1");
    check("CCM", "CMQ", Dimension::Volume, "0.000001");
    for (legacy, current) in LEGACY_UNIT_CODES {
        assert_eq!(unit(legacy), unit(current));
        assert_eq!(unit(legacy).to_string(), current);
    }
}

#[test]
fn metric_units_have_exact_factors_to_their_base_unit() {
    check("KGM", "KGM", Dimension::Mass, "1");
    check("GRM", "GRM", Dimension::Mass, "0.001");
    check("MGM", "MGM", Dimension::Mass, "0.000001");
    check("MYG", "MYG", Dimension::Mass, "0.000000001");
    check("TON", "TON", Dimension::Mass, "1000");
    check("MTQ", "MTQ", Dimension::Volume, "1");
    check("LTR", "LTR", Dimension::Volume, "0.001");
    check("MLT", "MLT", Dimension::Volume, "0.000001");
    check("CMQ", "CMQ", Dimension::Volume, "0.000001");
    check("MTR", "MTR", Dimension::Length, "1");
    check("CTM", "CTM", Dimension::Length, "0.01");
    check("MTK", "MTK", Dimension::Area, "1");
    check("SQC", "SQC", Dimension::Area, "0.0001");
    check("SQD", "SQD", Dimension::Area, "0.01");
}

#[test]
fn non_metric_units_use_the_exact_international_definitions() {
    check("OUN", "OUN", Dimension::Mass, "0.028349523125");
    check("PND", "PND", Dimension::Mass, "0.45359237");
    check("INC", "INC", Dimension::Length, "0.0254");
    check("FEE", "FEE", Dimension::Length, "0.3048");
    check("YAR", "YAR", Dimension::Length, "0.9144");
    check("SQF", "SQF", Dimension::Area, "0.09290304");
    check("CUF", "CUF", Dimension::Volume, "0.028316846592");
    assert_eq!(dec("0.3048") * dec("0.3048"), dec("0.09290304"));
    assert_eq!(
        dec("0.3048") * dec("0.3048") * dec("0.3048"),
        dec("0.028316846592")
    );
}

#[test]
fn container_and_item_units_are_each_their_own_dimension() {
    for code in [
        "PAI", "BAG", "BOT", "BOX", "CAN", "CAS", "CRT", "FLA", "ITE", "PCS", "SET", "SHP", "SKI",
        "BAK", "BSK", "HRN", "SID",
    ] {
        check(code, code, Dimension::Other(unit(code).code()), "1");
        assert_eq!(unit(code).dimension().base_code(), code);
    }
    assert_ne!(unit("BAG").dimension(), unit("BOX").dimension());
}

#[test]
fn every_current_unit_has_a_dimension_whose_base_unit_parses() {
    let all: Vec<UnitCode> = UnitCode::all().collect();
    assert_eq!(all.len(), 44 - 1 - LEGACY_UNIT_CODES.len());
    for code in all {
        let base = unit(code.dimension().base_code());
        assert_eq!(base.dimension(), code.dimension(), "{code}");
        assert_eq!(base.unit().factor_to_base(), Decimal::ONE, "{code}");
    }
}

#[test]
fn unit_code_parse_rejects_unknown_codes_and_lists_accepted_ones() {
    let err = UnitCode::parse("KG").unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            r#"invalid unit code "KG" for field "unit": accepted blank, NAR, KGM, KIL, GRM,"#
        ),
        "{message}"
    );
    assert!(message.ends_with("BAK, BSK, HRN, SID"), "{message}");
    assert!(message.len() < 400, "{} chars", message.len());
}

#[test]
fn unit_code_serialises_as_the_current_code() {
    assert_eq!(serde_json::to_string(&unit("KIL")).unwrap(), r#""KGM""#);
    assert_eq!(serde_json::to_string(&unit("")).unwrap(), r#""NAR""#);
    assert_eq!(
        serde_json::from_str::<UnitCode>(r#""""#).unwrap(),
        unit("NAR")
    );
    assert_eq!(
        serde_json::from_str::<UnitCode>(r#""sqm""#).unwrap(),
        unit("MTK")
    );
    assert!(serde_json::from_str::<UnitCode>(r#""KG""#).is_err());
}

#[test]
fn dimension_displays_in_words() {
    assert_eq!(Dimension::Mass.to_string(), "mass");
    assert_eq!(Dimension::Count.to_string(), "count");
    assert_eq!(Dimension::Other("BAG").to_string(), "counted in BAG only");
    assert_eq!(format!("{:?}", unit("KGM")), r#"UnitCode("KGM")"#);
}
