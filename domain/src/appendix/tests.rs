//! Tests for `Appendix` and `ChangeType`.

use super::*;

#[track_caller]
fn check_appendix(input: &str, expect: Appendix) {
    assert_eq!(Appendix::parse(input).unwrap(), expect, "input {input:?}");
}

#[test]
fn appendix_parse_accepts_roman_and_arabic_numerals_in_any_case() {
    check_appendix("I", Appendix::I);
    check_appendix("ii", Appendix::II);
    check_appendix(" III ", Appendix::III);
    check_appendix("1", Appendix::I);
    check_appendix("2", Appendix::II);
    check_appendix("3", Appendix::III);
}

#[test]
fn appendix_parse_rejects_unknown_values_and_lists_accepted_ones() {
    for bad in ["IV", "", "I/II", "NC", "0"] {
        let err = Appendix::parse(bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                r#"invalid appendix {bad:?} for field "appendix": accepted I, II, III (or 1, 2, 3)"#
            )
        );
    }
}

#[test]
fn appendix_round_trips_through_as_str_display_and_serde() {
    for appendix in Appendix::ALL {
        assert_eq!(Appendix::parse(appendix.as_str()).unwrap(), appendix);
        assert_eq!(appendix.to_string(), appendix.as_str());
        let json = serde_json::to_string(&appendix).unwrap();
        assert_eq!(json, format!("\"{}\"", appendix.as_str()));
        assert_eq!(serde_json::from_str::<Appendix>(&json).unwrap(), appendix);
    }
}

#[test]
fn appendix_deserialize_rejects_unknown_values_with_the_parse_message() {
    let err = serde_json::from_str::<Appendix>("\"IV\"").unwrap_err();
    assert!(
        err.to_string().contains(r#"invalid appendix "IV""#),
        "{err}"
    );
}

#[test]
fn appendix_order_puts_appendix_i_first() {
    assert!(Appendix::I < Appendix::II);
    assert!(Appendix::II < Appendix::III);
    assert_eq!(Appendix::II.min(Appendix::I), Appendix::I);
}

#[test]
fn change_type_parse_accepts_species_plus_symbols_and_names() {
    let cases = [
        ("+", ChangeType::Addition),
        ("-", ChangeType::Deletion),
        ("R+", ChangeType::ReservationEntered),
        ("r-", ChangeType::ReservationWithdrawn),
        ("ADDITION", ChangeType::Addition),
        ("deletion", ChangeType::Deletion),
        ("RESERVATION", ChangeType::ReservationEntered),
        ("RESERVATION_WITHDRAWAL", ChangeType::ReservationWithdrawn),
    ];
    for (input, expect) in cases {
        assert_eq!(ChangeType::parse(input).unwrap(), expect, "input {input:?}");
    }
}

#[test]
fn change_type_parse_rejects_unknown_values_and_lists_accepted_ones() {
    let err = ChangeType::parse("").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid change type "" for field "change_type": accepted +, -, R+, R-"#
    );
}

#[test]
fn change_type_round_trips_through_symbols_and_serde() {
    for change_type in ChangeType::ALL {
        assert_eq!(
            ChangeType::parse(change_type.as_str()).unwrap(),
            change_type
        );
        assert_eq!(change_type.to_string(), change_type.as_str());
        let json = serde_json::to_string(&change_type).unwrap();
        assert_eq!(json, format!("\"{}\"", change_type.as_str()));
        assert_eq!(
            serde_json::from_str::<ChangeType>(&json).unwrap(),
            change_type
        );
    }
}

#[test]
fn change_type_is_reservation_only_for_r_plus_and_r_minus() {
    assert!(!ChangeType::Addition.is_reservation());
    assert!(!ChangeType::Deletion.is_reservation());
    assert!(ChangeType::ReservationEntered.is_reservation());
    assert!(ChangeType::ReservationWithdrawn.is_reservation());
}
