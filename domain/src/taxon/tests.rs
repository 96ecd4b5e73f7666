//! Tests for `TaxonId`.

use super::*;

#[test]
fn taxon_id_parse_accepts_decimal_digits_with_surrounding_whitespace() {
    assert_eq!(TaxonId::parse("4521").unwrap(), TaxonId::new(4521));
    assert_eq!(TaxonId::parse(" 7 ").unwrap().get(), 7);
    assert_eq!(TaxonId::parse("4294967295").unwrap().get(), u32::MAX);
}

#[test]
fn taxon_id_parse_rejects_non_numbers_and_names_the_value() {
    for bad in ["", "abc", "-1", "+5", "1.0", "4294967296", "12 34"] {
        let err = TaxonId::parse(bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                r#"invalid taxon id {bad:?} for field "taxon_id": accepted a whole number from 0 to 4294967295"#
            )
        );
    }
}

#[test]
fn taxon_id_serialises_as_a_bare_number() {
    let id = TaxonId::new(4521);
    assert_eq!(serde_json::to_string(&id).unwrap(), "4521");
    assert_eq!(serde_json::from_str::<TaxonId>("4521").unwrap(), id);
    assert!(serde_json::from_str::<TaxonId>("\"4521\"").is_err());
}

#[test]
fn taxon_id_displays_as_the_number_and_orders_numerically() {
    assert_eq!(TaxonId::new(42).to_string(), "42");
    assert!(TaxonId::new(9) < TaxonId::new(10));
    assert_eq!(u32::from(TaxonId::new(3)), 3);
}
