//! Unit tests of the risk configuration.

use super::*;

#[test]
fn the_documented_default_file_is_exactly_the_default_configuration() {
    let parsed = RiskConfig::from_toml_str(crate::RISK_DEFAULT_TOML).unwrap();
    assert_eq!(parsed, RiskConfig::default());
}

#[test]
fn an_empty_configuration_keeps_every_default() {
    assert_eq!(
        RiskConfig::from_toml_str("").unwrap(),
        RiskConfig::default()
    );
}

#[test]
fn a_partial_configuration_overrides_only_what_it_names() {
    let config = RiskConfig::from_toml_str("[appendix_i]\nweight = 40\n").unwrap();
    assert_eq!(config.appendix_i.weight, 40);
    assert_eq!(config.levels, Levels::default());
}

#[test]
fn unknown_keys_are_rejected_with_the_key_named() {
    let err =
        RiskConfig::from_toml_str("[recent_listing_amendment]\nwindow_dayz = 30\n").unwrap_err();
    assert_eq!(err.field(), "window_dayz");
    assert!(err.to_string().contains("window_dayz"), "{err}");
    let err = RiskConfig::from_toml_str("[appendix_ii]\nweight = 3\n").unwrap_err();
    assert_eq!(err.field(), "appendix_ii");
}

#[test]
fn out_of_range_values_are_rejected_with_the_key_named() {
    let err =
        RiskConfig::from_toml_str("[quota_nearly_used]\nused_percent_min = 120\n").unwrap_err();
    assert_eq!(err.field(), "quota_nearly_used.used_percent_min");
    let err =
        RiskConfig::from_toml_str("[levels]\nmedium_from = 60\nhigh_from = 50\n").unwrap_err();
    assert_eq!(err.field(), "levels.high_from");
    let err = RiskConfig::from_toml_str("[appendix_i]\nweight = 5000\n").unwrap_err();
    assert_eq!(err.field(), "appendix_i.weight");
}

#[test]
fn values_of_the_wrong_type_are_rejected() {
    let err = RiskConfig::from_toml_str("[appendix_i]\nweight = \"high\"\n").unwrap_err();
    assert!(err.to_string().contains("risk configuration"), "{err}");
}

#[test]
fn the_median_of_an_even_history_is_the_mean_of_the_middle_two() {
    let unit = domain::UnitCode::number_of_specimens();
    let history: Vec<Quantity> = [10, 30, 20, 40]
        .iter()
        .map(|n| Quantity::new(Decimal::from(*n), unit).unwrap())
        .collect();
    let request = Quantity::new(Decimal::from(1), unit).unwrap();
    let median = median_in(&history, request).unwrap();
    assert_eq!(median.value, Decimal::from(25));
    assert_eq!(median.n_used, 4);
}
