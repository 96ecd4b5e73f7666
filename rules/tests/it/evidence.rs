//! What a reason's evidence says, figure by figure: every figure with its own unit, and a
//! Species+ quota's scope said to come from its notes, unverified.

use rules::{Facts, RiskConfig};
use rust_decimal::Decimal;
use serde_json::json;

use crate::support::{build, dec, s, unit};

fn quota_evidence(
    input: fn(&mut rules::ApplicationInput),
    facts: fn(&mut Facts),
) -> serde_json::Value {
    let (application, facts) = build(input, facts);
    let decision = rules::check(&application, &facts, &RiskConfig::default());
    let json = serde_json::to_value(&decision).unwrap();
    json["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["evidence"]["kind"] == "quota")
        .cloned()
        .unwrap_or_else(|| panic!("no quota reason: {json:#}"))
}

#[test]
fn a_refusal_in_grams_against_a_kilogram_quota_gives_each_figure_its_unit() {
    let reason = quota_evidence(
        |a| {
            a.unit = s("GRM");
            a.quantity = Some(json!("20000"));
        },
        |f| {
            f.quotas[0].unit = unit("KGM");
            f.quotas[0].limit = Some(dec("10"));
            f.quotas[0].committed = dec("10");
            f.quotas[0].exported = Decimal::ZERO;
            f.quotas[0].held = Decimal::ZERO;
        },
    );
    assert_eq!(reason["code"], "QUOTA_EXCEEDED", "{reason:#}");
    let e = &reason["evidence"];
    assert_eq!(
        (&e["requested"], &e["requested_unit"]),
        (&json!("20000"), &json!("GRM")),
        "{e:#}"
    );
    assert_eq!(
        (&e["requested_in_quota_unit"], &e["unit"]),
        (&json!("20"), &json!("KGM")),
        "{e:#}"
    );
    let message = reason["message"].as_str().unwrap();
    assert!(
        message.contains("less than the 20 KGM (20000 GRM as requested) requested"),
        "{message}"
    );
}

#[test]
fn a_species_plus_quota_says_its_scope_comes_from_its_notes_unverified() {
    let reason = quota_evidence(
        |a| a.quantity = Some(json!(5000)),
        |f| {
            let q = &mut f.quotas[0];
            q.speciesplus_id = Some(27_249);
            q.terms.clear();
            q.sources.clear();
            q.purposes.clear();
            q.notes = Some("Tusks as part of hunting trophies from 150 elephants".to_owned());
        },
    );
    let scope = reason["evidence"]["scope"].as_str().unwrap_or_default();
    assert!(
        scope.starts_with("from the notes, unverified")
            && scope.contains("Tusks as part of hunting trophies"),
        "{reason:#}"
    );
}
