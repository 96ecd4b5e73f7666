//! Unit tests of `parse_amount`: what is read, what is refused, and the messages.

use super::*;

#[test]
fn an_amount_is_read_only_as_written_out_digits() {
    for (text, read) in [
        ("12", "12"),
        (" 2.50 ", "2.50"),
        (".5", "0.5"),
        ("0.5", "0.5"),
        ("1000", "1000"),
        ("-1", "-1"),
        ("+3", "3"),
    ] {
        assert_eq!(
            parse_amount("quantity", text),
            Ok(read.parse().unwrap()),
            "{text}"
        );
    }
    for text in [
        "1e3", "1_000", ".5e1", "2.", "1e0", "1E3", "abc", "", " ", ".", "5.", "1.2.3", "0x10",
        "--1", "+-1", "1 000", "١٢",
    ] {
        let e = parse_amount("quantity", text).unwrap_err();
        assert_eq!(e.field(), Some("quantity"), "{text}");
        assert_eq!(
            e.to_string(),
            format!("invalid amount {text:?} for field \"quantity\": accepted {AMOUNT_ACCEPTED}"),
        );
    }
}

#[test]
fn an_amount_with_more_digits_than_a_decimal_holds_says_so() {
    assert!(parse_amount("limit", &"9".repeat(AMOUNT_DIGITS_MAX)).is_ok());
    assert!(parse_amount("limit", &format!("0.{}", "1".repeat(AMOUNT_DIGITS_MAX))).is_ok());
    let e = parse_amount("limit", &"9".repeat(AMOUNT_DIGITS_MAX + 4)).unwrap_err();
    assert_eq!(e.field(), Some("limit"));
    assert!(
        e.to_string().ends_with(
            "is out of range: accepted at most 28 significant digits, what an exact decimal holds"
        ),
        "{e}"
    );
}

#[test]
fn the_field_of_an_amount_is_the_callers() {
    let e = parse_amount("quantity", "1e3")
        .unwrap_err()
        .for_field("--quantity");
    assert!(e.to_string().contains("field \"--quantity\""), "{e}");
}
