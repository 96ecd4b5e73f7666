//! Bad input: every rejection names the field, and no input makes parsing panic.

use rules::{Application, ApplicationInput};
use serde_json::{Value, json};

use crate::support::base_input;

/// The base application as JSON, with `path` (dotted) replaced by `value` (or removed when
/// `value` is null).
fn input_with(path: &str, value: Value) -> Value {
    let mut json = serde_json::to_value(base_input()).unwrap();
    let mut target = &mut json;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        let object = target.as_object_mut().unwrap();
        target = object.entry(part.to_string()).or_insert(Value::Null);
        if target.is_null() {
            *target = json!({});
        }
    }
    let object = target.as_object_mut().unwrap();
    let last = parts[parts.len() - 1];
    if value.is_null() {
        object.remove(last);
    } else {
        object.insert(last.to_owned(), value);
    }
    json
}

/// Parses `json` as a client would send it and returns the error's field and message.
#[track_caller]
fn reject(json: Value) -> (String, String) {
    let input: ApplicationInput = serde_json::from_value(json).unwrap();
    let err = Application::parse(input).unwrap_err();
    (err.field().to_owned(), err.to_string())
}

#[track_caller]
fn check_rejected(path: &str, value: Value, field: &str, message_part: &str) {
    let (got_field, message) = reject(input_with(path, value));
    assert_eq!(got_field, field, "{message}");
    assert!(
        message.starts_with(field),
        "message should open with the field: {message}"
    );
    assert!(
        message.contains(message_part),
        "{message:?} should contain {message_part:?}"
    );
}

#[test]
fn the_base_application_parses() {
    let application = Application::parse(base_input()).unwrap();
    assert_eq!(application.quantity().to_string(), "100 NAR");
    assert_eq!(application.issuing_party().as_str(), "TG");
}

#[test]
fn a_negative_quantity_is_rejected_naming_the_field() {
    check_rejected("quantity", json!(-3), "quantity", "-3 is negative");
    check_rejected("quantity", json!("-0.5"), "quantity", "negative");
}

#[test]
fn a_zero_or_non_numeric_quantity_is_rejected_naming_the_field() {
    check_rejected("quantity", json!(0), "quantity", "zero");
    check_rejected(
        "quantity",
        json!("twelve"),
        "quantity",
        "invalid amount \"twelve\" for field \"quantity\": accepted a decimal written out",
    );
    check_rejected("quantity", json!([1]), "quantity", "not a number");
    check_rejected("quantity", Value::Null, "quantity", "missing");
}

#[test]
fn a_quantity_too_large_for_any_decimal_says_so_and_what_is_accepted() {
    let digits = "9".repeat(32);
    check_rejected(
        "quantity",
        json!(digits),
        "quantity",
        &format!("{digits} is too large; accepted: a decimal number above 0 and at most"),
    );
    check_rejected(
        "quantity",
        json!("9.9.9"),
        "quantity",
        "invalid amount \"9.9.9\"",
    );
}

/// The amounts the quota ledger refuses, the permit check refuses too.
#[test]
fn a_quantity_not_written_out_in_digits_is_rejected_as_the_ledger_rejects_it() {
    for text in ["1e3", "1_000", ".5e1", "2.", "1e0"] {
        check_rejected(
            "quantity",
            json!(text),
            "quantity",
            &format!(
                "quantity: invalid amount {text:?} for field \"quantity\": accepted {}",
                domain::AMOUNT_ACCEPTED
            ),
        );
    }
    for (text, read) in [("1000", "1000"), ("0.5", "0.5"), (".5", "0.5")] {
        let mut input = base_input();
        input.quantity = Some(json!(text));
        input.unit = Some("KGM".into());
        let application = Application::parse(input).unwrap();
        assert_eq!(
            application.quantity().to_string(),
            format!("{read} KGM"),
            "{text}"
        );
    }
}

#[test]
fn an_unknown_code_is_rejected_naming_the_field() {
    check_rejected("source", json!("Q"), "source", "\"Q\"");
    check_rejected("purpose", json!("COMMERCIAL"), "purpose", "COMMERCIAL");
    check_rejected("term", json!("XYZ"), "term", "XYZ");
    check_rejected("unit", json!("BUSHEL"), "unit", "BUSHEL");
    check_rejected("transaction", json!("transit"), "transaction", "transit");
}

#[test]
fn an_unknown_country_is_rejected_naming_the_field() {
    check_rejected("exporter", json!("ZZ"), "exporter", "ZZ");
    check_rejected("importer", json!("USA"), "importer", "USA");
    check_rejected("origin", json!("Togo"), "origin", "Togo");
}

#[test]
fn a_date_out_of_range_is_rejected_naming_the_field() {
    check_rejected(
        "date_trade",
        json!("1950-01-01"),
        "date_trade",
        "out of range",
    );
    check_rejected(
        "date_issue",
        json!("2301-01-01"),
        "date_issue",
        "out of range",
    );
    check_rejected(
        "date_issue",
        json!("2024-02-30"),
        "date_issue",
        "2024-02-30",
    );
    check_rejected(
        "date_trade",
        json!("15/03/2024"),
        "date_trade",
        "15/03/2024",
    );
}

#[test]
fn missing_required_fields_are_named() {
    for field in [
        "transaction",
        "exporter",
        "importer",
        "source",
        "purpose",
        "term",
        "date_issue",
        "date_trade",
    ] {
        check_rejected(field, Value::Null, field, "missing");
    }
}

#[test]
fn an_application_without_taxon_name_or_id_is_rejected() {
    check_rejected("taxon", Value::Null, "taxon", "missing");
    let with_id = input_with("taxon_id", json!(4521));
    let mut json = with_id;
    json.as_object_mut().unwrap().remove("taxon");
    let input: ApplicationInput = serde_json::from_value(json).unwrap();
    assert_eq!(
        Application::parse(input).unwrap().taxon_id().unwrap().get(),
        4521
    );
    check_rejected("taxon_id", json!("45a"), "taxon_id", "45a");
    check_rejected("taxon_id", json!(-1), "taxon_id", "-1");
}

#[test]
fn an_application_naming_its_taxon_both_by_name_and_by_id_is_rejected() {
    check_rejected("taxon_id", json!(3210), "taxon_id", "not both");
}

#[test]
fn an_export_to_the_exporting_country_is_rejected() {
    check_rejected("importer", json!("TG"), "importer", "also the exporter");
}

#[test]
fn an_export_whose_origin_is_another_country_is_rejected_as_a_re_export() {
    check_rejected("origin", json!("GH"), "origin", "re-export");
}

#[test]
fn document_fields_are_named_with_their_path() {
    check_rejected(
        "documents.import_permit",
        json!({"number": "X1", "issued_on": "2024-13-01"}),
        "documents.import_permit.issued_on",
        "2024-13-01",
    );
    check_rejected(
        "documents.import_permit",
        json!({"issued_on": "2024-01-01"}),
        "documents.import_permit.number",
        "missing",
    );
    check_rejected(
        "documents.origin_permit",
        json!({"number": "O1", "country": "TG", "issued_on": "2024-01-01", "quantity_remaining": -5}),
        "documents.origin_permit.quantity_remaining",
        "negative",
    );
    check_rejected(
        "documents.last_reexport",
        json!({"number": "R1", "country": "GH", "issued_on": "2024-01-01", "source": "Z"}),
        "documents.last_reexport.source",
        "\"Z\"",
    );
    check_rejected(
        "documents.valid_until",
        json!("2024-02-01"),
        "documents.valid_until",
        "before date_issue",
    );
    check_rejected(
        "documents.pre_convention_date",
        json!("1200-01-01"),
        "documents.pre_convention_date",
        "out of range",
    );
    check_rejected(
        "documents.ndf_reference",
        json!("x".repeat(101)),
        "documents.ndf_reference",
        "101 characters",
    );
}

#[test]
fn a_pre_convention_date_before_the_convention_is_accepted() {
    let json = input_with("documents.pre_convention_date", json!("1950-06-01"));
    let input: ApplicationInput = serde_json::from_value(json).unwrap();
    let application = Application::parse(input).unwrap();
    assert_eq!(
        application
            .documents()
            .pre_convention_date()
            .unwrap()
            .to_string(),
        "1950-06-01"
    );
}

#[test]
fn unknown_fields_are_rejected_by_name_when_the_json_is_read() {
    let json = input_with("valid_untill", json!("2024-05-01"));
    let err = serde_json::from_value::<ApplicationInput>(json).unwrap_err();
    assert!(err.to_string().contains("valid_untill"), "{err}");
    let json = input_with("documents.ndf", json!("x"));
    let err = serde_json::from_value::<ApplicationInput>(json).unwrap_err();
    assert!(err.to_string().contains("ndf"), "{err}");
}

#[test]
fn quantities_and_units_accept_what_clients_send() {
    for (quantity, unit, expected) in [
        (json!("2.50"), json!("KIL"), "2.5 KGM"),
        (json!(12), json!(""), "12 NAR"),
        (json!(0.75), json!("kgm"), "0.75 KGM"),
    ] {
        let mut json = input_with("quantity", quantity);
        json["unit"] = unit;
        let input: ApplicationInput = serde_json::from_value(json).unwrap();
        assert_eq!(
            Application::parse(input).unwrap().quantity().to_string(),
            expected
        );
    }
}

#[test]
fn a_count_of_specimens_is_whole() {
    for quantity in [json!("1.5"), json!(0.5), json!("2.000001")] {
        check_rejected(
            "quantity",
            quantity,
            "quantity",
            "is not a whole number of specimens",
        );
    }
    // "2.0" is two specimens; half a kilogram is a quantity.
    let input: ApplicationInput =
        serde_json::from_value(input_with("quantity", json!("2.0"))).unwrap();
    assert_eq!(
        Application::parse(input).unwrap().quantity().to_string(),
        "2 NAR"
    );
    let mut json = input_with("quantity", json!("0.5"));
    json["unit"] = json!("KGM");
    let input: ApplicationInput = serde_json::from_value(json).unwrap();
    assert!(Application::parse(input).is_ok());
}

#[test]
fn no_value_in_any_field_makes_parsing_panic() {
    let values = [
        json!(null),
        json!(""),
        json!(" "),
        json!("\u{0}"),
        json!(-1),
        json!(1e308),
        json!(-1e308),
        json!("NaN"),
        json!("1e400"),
        json!("79228162514264337593543950336"),
        json!(true),
        json!([]),
        json!({}),
        json!("9999-99-99"),
        json!("x".repeat(10_000)),
        json!("ÿ".repeat(70)),
    ];
    let fields = [
        "transaction",
        "taxon",
        "taxon_id",
        "exporter",
        "importer",
        "origin",
        "source",
        "purpose",
        "term",
        "quantity",
        "unit",
        "date_issue",
        "date_trade",
        "client_key",
        "documents.valid_until",
        "documents.pre_convention_date",
        "documents.ndf_reference",
        "documents.import_permit.quantity",
        "documents.origin_permit.quantity_remaining",
    ];
    for field in fields {
        for value in &values {
            let json = input_with(field, value.clone());
            // A type mismatch is serde's to report; everything serde accepts must parse or fail
            // with an error, never panic.
            if let Ok(input) = serde_json::from_value::<ApplicationInput>(json) {
                let _ = Application::parse(input);
            }
        }
    }
}
