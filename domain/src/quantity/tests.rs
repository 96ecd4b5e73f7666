//! Tests for `Quantity` and exact unit conversion.

use rust_decimal::Decimal;

use super::*;
use crate::unit::UnitCode;

fn unit(code: &str) -> UnitCode {
    UnitCode::parse(code).unwrap()
}

fn qty(amount: &str, code: &str) -> Quantity {
    Quantity::new(amount.parse().unwrap(), unit(code)).unwrap()
}

/// Converts `amount from` into `to` and compares the printed result, so that the scale of the
/// result is checked too (`1.5`, not `1.500`).
#[track_caller]
fn check(amount: &str, from: &str, to: &str, expect: &str) {
    let converted = qty(amount, from).convert_to(unit(to)).unwrap();
    assert_eq!(converted.to_string(), expect, "{amount} {from} -> {to}");
}

#[test]
fn gram_and_kilogram_convert_exactly_both_ways() {
    check("1500", "GRM", "KGM", "1.5 KGM");
    check("1.5", "KGM", "GRM", "1500 GRM");
    check("0.001", "GRM", "KGM", "0.000001 KGM");
    check("1", "MYG", "KGM", "0.000000001 KGM");
}

#[test]
fn tonne_converts_to_a_million_grams() {
    check("1", "TON", "GRM", "1000000 GRM");
    check("2500", "KGM", "TON", "2.5 TON");
}

#[test]
fn volume_length_and_area_units_convert_exactly() {
    check("1", "LTR", "MLT", "1000 MLT");
    check("1", "LTR", "CMQ", "1000 CMQ");
    check("2", "MTQ", "LTR", "2000 LTR");
    check("250", "CTM", "MTR", "2.5 MTR");
    check("1", "MTK", "SQC", "10000 SQC");
    check("1", "SQD", "SQC", "100 SQC");
}

#[test]
fn non_metric_units_convert_exactly_into_metric_ones() {
    check("1", "PND", "KGM", "0.45359237 KGM");
    check("1", "PND", "OUN", "16 OUN");
    check("12", "INC", "FEE", "1 FEE");
    check("1", "YAR", "CTM", "91.44 CTM");
    check("1", "SQF", "SQC", "929.0304 SQC");
}

#[test]
fn conversion_without_an_exact_decimal_result_is_refused() {
    let err = qty("1", "KGM").convert_to(unit("PND")).unwrap_err();
    assert_eq!(
        err,
        Error::InexactConversion {
            amount: Decimal::ONE,
            from: unit("KGM"),
            to: unit("PND")
        }
    );
    assert_eq!(
        err.to_string(),
        "conversion of 1 KGM to PND has no exact decimal result; convert to a metric unit instead"
    );
}

#[test]
fn count_cannot_be_converted_to_a_mass() {
    let err = qty("12", "NAR").convert_to(unit("KGM")).unwrap_err();
    assert_eq!(
        err,
        Error::IncompatibleUnits {
            from: unit("NAR"),
            to: unit("KGM")
        }
    );
    assert_eq!(
        err.to_string(),
        "incompatible units: cannot convert NAR (number of specimens, count) to KGM (kilogram, mass)"
    );
}

#[test]
fn container_units_do_not_convert_into_each_other_or_into_counts() {
    assert!(matches!(
        qty("3", "BAG").convert_to(unit("BOX")),
        Err(Error::IncompatibleUnits { .. })
    ));
    assert!(matches!(
        qty("3", "PAI").convert_to(unit("NAR")),
        Err(Error::IncompatibleUnits { .. })
    ));
    check("3", "BAG", "BAG", "3 BAG");
}

#[test]
fn volume_does_not_convert_to_mass_or_area() {
    assert!(qty("1", "LTR").convert_to(unit("KGM")).is_err());
    assert!(qty("1", "MTQ").convert_to(unit("MTK")).is_err());
}

#[test]
fn conversion_to_the_same_unit_keeps_the_amount_as_written() {
    check("1.500", "KGM", "KGM", "1.500 KGM");
    check("1.500", "KGM", "KIL", "1.500 KGM");
}

#[test]
fn conversion_overflow_is_an_error_not_a_panic() {
    let err = Quantity::new(Decimal::MAX, unit("TON"))
        .unwrap()
        .convert_to(unit("MYG"))
        .unwrap_err();
    assert!(matches!(err, Error::QuantityOverflow { .. }), "{err:?}");
}

#[test]
fn conversion_that_would_need_more_than_28_decimal_places_is_refused() {
    let tiny: Decimal = "0.0000000000000000000000001".parse().unwrap();
    let err = Quantity::new(tiny, unit("MYG"))
        .unwrap()
        .convert_to(unit("TON"))
        .unwrap_err();
    assert!(matches!(err, Error::InexactConversion { .. }), "{err:?}");
}

#[test]
fn quantity_new_refuses_negative_amounts_and_names_the_field() {
    let err = Quantity::new("-1.5".parse().unwrap(), unit("KGM")).unwrap_err();
    assert_eq!(err.field(), Some("quantity"));
    assert_eq!(
        err.to_string(),
        r#"invalid amount "-1.5" for field "quantity": accepted zero or a positive decimal number"#
    );
}

#[test]
fn quantity_new_accepts_zero_and_stores_negative_zero_as_zero() {
    let negative_zero = Decimal::ZERO * Decimal::NEGATIVE_ONE;
    let zero = Quantity::new(negative_zero, unit("NAR")).unwrap();
    assert!(zero.is_zero());
    assert!(!zero.amount().is_sign_negative());
    assert_eq!(zero, Quantity::zero(unit("")));
}

#[test]
fn quantity_getters_return_amount_and_current_unit() {
    let q = qty("2.5", "KIL");
    assert_eq!(q.amount(), "2.5".parse::<Decimal>().unwrap());
    assert_eq!(q.unit().code(), "KGM");
}

#[test]
fn checked_add_converts_the_other_quantity_into_this_unit() {
    let total = qty("1", "KGM").checked_add(&qty("250", "GRM")).unwrap();
    assert_eq!(total.to_string(), "1.25 KGM");
    assert!(qty("1", "KGM").checked_add(&qty("1", "NAR")).is_err());
}

#[test]
fn quantity_serialises_amount_as_a_string_and_unit_as_its_code() {
    let q = qty("1.5", "KIL");
    let json = serde_json::to_string(&q).unwrap();
    assert_eq!(json, r#"{"amount":"1.5","unit":"KGM"}"#);
    assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), q);
    let blank_unit: Quantity = serde_json::from_str(r#"{"amount":"3","unit":""}"#).unwrap();
    assert_eq!(blank_unit, qty("3", "NAR"));
}

#[test]
fn quantity_deserialise_refuses_negative_amounts_and_unknown_units() {
    let negative = serde_json::from_str::<Quantity>(r#"{"amount":"-2","unit":"KGM"}"#);
    assert!(
        negative
            .unwrap_err()
            .to_string()
            .contains(r#"for field "quantity""#)
    );
    let unknown = serde_json::from_str::<Quantity>(r#"{"amount":"2","unit":"KG"}"#);
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains(r#"invalid unit code "KG""#)
    );
}
