//! Unit tests of the field parsers behind `Application::parse`.

use super::*;

#[test]
fn transactions_accept_their_usual_spellings() {
    for (text, expected) in [
        ("export", Transaction::Export),
        ("Re-Export", Transaction::ReExport),
        ("reexport", Transaction::ReExport),
        ("re_export", Transaction::ReExport),
        (" import ", Transaction::Import),
        ("IFS", Transaction::IntroductionFromTheSea),
        (
            "introduction-from-the-sea",
            Transaction::IntroductionFromTheSea,
        ),
    ] {
        assert_eq!(Transaction::parse(text).unwrap(), expected, "{text}");
    }
    let err = Transaction::parse("transit").unwrap_err();
    assert_eq!(err.field(), "transaction");
}

#[test]
fn quantities_are_read_exactly_from_strings_and_numbers() {
    let amount = |v: serde_json::Value| quantity_amount("quantity", Some(&v), true);
    assert_eq!(
        amount(serde_json::json!("2.50")).unwrap(),
        Decimal::new(25, 1)
    );
    assert_eq!(amount(serde_json::json!(12)).unwrap(), Decimal::from(12));
    assert_eq!(amount(serde_json::json!(0.1)).unwrap(), Decimal::new(1, 1));
    // A string is read in the ledger's one grammar; a JSON number as JSON reads it.
    assert!(amount(serde_json::json!("1e3")).is_err());
    assert_eq!(amount(serde_json::json!(1e3)).unwrap(), Decimal::from(1000));
    assert!(amount(serde_json::json!("-0")).is_err());
    assert!(amount(serde_json::json!(true)).is_err());
    assert!(amount(serde_json::json!("1000000000001")).is_err());
    assert_eq!(
        amount(serde_json::json!("1000000000000")).unwrap(),
        QUANTITY_MAX
    );
}

#[test]
fn a_used_up_balance_of_zero_is_accepted_where_zero_is_allowed() {
    let zero = serde_json::json!("0");
    assert_eq!(
        quantity_amount("q", Some(&zero), false).unwrap(),
        Decimal::ZERO
    );
}

#[test]
fn pre_convention_dates_may_predate_the_convention() {
    let date = pre_convention_date("documents.pre_convention_date", "1950-06-01").unwrap();
    assert_eq!(date.to_string(), "1950-06-01");
    let err = pre_convention_date("documents.pre_convention_date", "1499-12-31").unwrap_err();
    assert_eq!(err.field(), "documents.pre_convention_date");
    assert!(pre_convention_date("documents.pre_convention_date", "1950-6-1").is_err());
    assert!(pre_convention_date("documents.pre_convention_date", "1950-02-30").is_err());
}

#[test]
fn text_fields_are_trimmed_bounded_and_free_of_control_characters() {
    assert_eq!(
        text("f", Some("  ab ".to_owned()), 5).unwrap(),
        Some("ab".to_owned())
    );
    assert_eq!(text("f", Some("   ".to_owned()), 5).unwrap(), None);
    assert!(text("f", Some("abcdef".to_owned()), 5).is_err());
    assert!(text("f", Some("a\u{0}b".to_owned()), 5).is_err());
}
