//! Tests for `CountryCode`: the table, parsing, names and name lookup.

use super::*;

fn code(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}

#[track_caller]
fn check_name(name: &str, expect: &str) {
    assert_eq!(
        CountryCode::from_name(name),
        Some(code(expect)),
        "name {name:?}"
    );
}

#[test]
fn table_has_all_249_iso_codes_sorted_with_two_upper_case_letters() {
    assert_eq!(table::ISO_COUNTRIES.len(), 249);
    for pair in table::ISO_COUNTRIES.windows(2) {
        assert!(
            pair[0].code < pair[1].code,
            "{} before {}",
            pair[0].code,
            pair[1].code
        );
    }
    for entry in table::ISO_COUNTRIES {
        assert_eq!(entry.code.len(), 2);
        assert!(
            entry.code.bytes().all(|b| b.is_ascii_uppercase()),
            "{}",
            entry.code
        );
    }
    assert!(find_entry(CountryCode(*b"XK")).is_some());
    assert_eq!(CountryCode::all().count(), 250);
}

#[test]
fn every_code_round_trips_through_parse_as_str_display_and_serde() {
    for country in CountryCode::all() {
        let s = country.as_str();
        assert_eq!(code(s), country);
        assert_eq!(code(&s.to_ascii_lowercase()), country);
        assert_eq!(country.to_string(), s);
        let json = serde_json::to_string(&country).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<CountryCode>(&json).unwrap(), country);
        assert!(!country.name().is_empty());
    }
}

#[test]
fn every_english_short_name_and_alias_finds_its_own_code() {
    for country in CountryCode::all() {
        check_name(country.name(), country.as_str());
        for alias in find_entry(country).unwrap().aliases {
            check_name(alias, country.as_str());
        }
    }
    for (c, aliases) in EXTRA_ALIASES {
        for alias in *aliases {
            check_name(alias, c);
        }
    }
}

#[test]
fn no_name_points_at_two_countries() {
    assert_eq!(NAME_INDEX.conflicts, Vec::new());
}

#[test]
fn extra_aliases_refer_to_known_codes() {
    for (c, _) in EXTRA_ALIASES {
        assert!(CountryCode::parse(c).is_ok(), "{c}");
    }
}

#[test]
fn country_code_parse_trims_and_upper_cases() {
    assert_eq!(code(" na ").as_str(), "NA");
    assert_eq!(code("Za").as_str(), "ZA");
    assert_eq!(code("xk").as_str(), "XK");
    assert!(code("XK").is_user_assigned());
    assert!(!code("NA").is_user_assigned());
}

#[test]
fn country_code_parse_rejects_unassigned_and_malformed_codes() {
    for bad in ["ZZ", "EU", "UK", "", "N", "NAM", "N1", "É1"] {
        let err = CountryCode::parse(bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                r#"invalid country code {bad:?} for field "country": accepted an officially assigned ISO 3166-1 alpha-2 code such as NA or ZA, or XK for Kosovo"#
            )
        );
    }
}

#[test]
fn names_are_the_iso_english_short_names() {
    assert_eq!(code("NA").name(), "Namibia");
    assert_eq!(code("ZA").name(), "South Africa");
    assert_eq!(code("TZ").name(), "Tanzania, United Republic of");
    assert_eq!(code("XK").name(), "Kosovo");
    assert_eq!(format!("{:?}", code("NA")), r#"CountryCode("NA")"#);
}

#[test]
fn from_name_accepts_un_and_cites_spellings() {
    let cases = [
        ("United Republic of Tanzania", "TZ"),
        ("Tanzania", "TZ"),
        ("Democratic Republic of the Congo", "CD"),
        ("Congo, Democratic Republic of the", "CD"),
        ("Congo (Democratic Republic of the)", "CD"),
        ("Congo", "CG"),
        ("Republic of the Congo", "CG"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d'Ivoire", "CI"),
        ("Côte d’Ivoire", "CI"),
        ("Eswatini", "SZ"),
        ("Swaziland", "SZ"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("Bolivia (Plurinational State of)", "BO"),
        ("Bolivia", "BO"),
        ("Iran (Islamic Republic of)", "IR"),
        ("Russian Federation", "RU"),
        ("Republic of Korea", "KR"),
        ("Democratic People's Republic of Korea", "KP"),
        ("United States of America", "US"),
        ("United States", "US"),
        ("United Kingdom of Great Britain and Northern Ireland", "GB"),
        ("United Kingdom", "GB"),
        ("Lao People's Democratic Republic", "LA"),
        ("Venezuela (Bolivarian Republic of)", "VE"),
        ("Micronesia (Federated States of)", "FM"),
        ("Republic of Moldova", "MD"),
        ("State of Palestine", "PS"),
        ("Netherlands (Kingdom of the)", "NL"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Czechia", "CZ"),
        ("North Macedonia", "MK"),
        ("Syrian Arab Republic", "SY"),
        ("Holy See", "VA"),
        ("Cabo Verde", "CV"),
        ("The Gambia", "GM"),
        ("Gambia", "GM"),
        ("Guinea-Bissau", "GW"),
        ("Timor-Leste", "TL"),
        ("St. Lucia", "LC"),
        ("Saint Kitts & Nevis", "KN"),
        ("Falkland Islands (Malvinas)", "FK"),
        ("Hong Kong, SAR", "HK"),
        ("China", "CN"),
        ("Kosovo", "XK"),
        ("Namibia", "NA"),
        ("Niger", "NE"),
        ("Nigeria", "NG"),
    ];
    for (name, expect) in cases {
        check_name(name, expect);
    }
}

#[test]
fn from_name_ignores_case_and_extra_whitespace() {
    check_name("  SOUTH   AFRICA ", "ZA");
    check_name("united republic of tanzania", "TZ");
}

#[test]
fn from_name_accepts_french_names_of_african_elephant_range_states() {
    let cases = [
        ("Afrique du Sud", "ZA"),
        ("Botswana", "BW"),
        ("Namibie", "NA"),
        ("Zimbabwe", "ZW"),
        ("Cameroun", "CM"),
        ("Tchad", "TD"),
        ("Congo", "CG"),
        ("République démocratique du Congo", "CD"),
        ("République-Unie de Tanzanie", "TZ"),
        ("Zambie", "ZM"),
        ("Éthiopie", "ET"),
        ("Kenya", "KE"),
        ("Malawi", "MW"),
        ("Mozambique", "MZ"),
        ("Ouganda", "UG"),
        ("Eswatini", "SZ"),
        ("Angola", "AO"),
        ("Gabon", "GA"),
        ("Ghana", "GH"),
        ("Guinée", "GN"),
        ("Côte d'Ivoire", "CI"),
        ("Bénin", "BJ"),
        ("Burkina Faso", "BF"),
        ("Niger", "NE"),
        ("Nigéria", "NG"),
        ("Mali", "ML"),
        ("Sénégal", "SN"),
        ("Soudan du Sud", "SS"),
        ("Soudan", "SD"),
        ("Libéria", "LR"),
        ("Sierra Leone", "SL"),
        ("Togo", "TG"),
        ("Rwanda", "RW"),
        ("Érythrée", "ER"),
        ("Somalie", "SO"),
        ("Guinée-Bissau", "GW"),
        ("Gambie", "GM"),
        ("République centrafricaine", "CF"),
        ("Guinée équatoriale", "GQ"),
        ("Mauritanie", "MR"),
    ];
    for (name, expect) in cases {
        check_name(name, expect);
    }
}

#[test]
fn from_name_accepts_spanish_names() {
    let cases = [
        ("Sudáfrica", "ZA"),
        ("Estados Unidos", "US"),
        ("Reino Unido", "GB"),
        ("Costa de Marfil", "CI"),
        ("República Centroafricana", "CF"),
        ("México", "MX"),
        ("Perú", "PE"),
        ("Brasil", "BR"),
    ];
    for (name, expect) in cases {
        check_name(name, expect);
    }
}

#[test]
fn from_name_returns_none_for_unknown_or_ambiguous_names() {
    for unknown in ["", "Atlantis", "Korea", "Europe", "NA"] {
        assert_eq!(CountryCode::from_name(unknown), None, "{unknown:?}");
    }
}

#[test]
fn country_code_deserialise_rejects_unassigned_codes() {
    let err = serde_json::from_str::<CountryCode>(r#""ZZ""#).unwrap_err();
    assert!(
        err.to_string().contains(r#"invalid country code "ZZ""#),
        "{err}"
    );
}

#[test]
fn name_key_folds_accents_punctuation_and_the() {
    assert_eq!(
        name_key("Congo, The Democratic Republic of the"),
        "congo democratic republic of"
    );
    assert_eq!(name_key("Côte d’Ivoire"), "cote divoire");
    assert_eq!(name_key("St. Helena"), "saint helena");
}
