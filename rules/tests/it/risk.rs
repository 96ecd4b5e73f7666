//! The risk score: each indicator fires on its own, with its weight and an explanation; the
//! score is absent for refused and non-CITES applications; the configuration changes weights
//! and levels.

use domain::{Appendix, Quantity};
use rules::{ApplicationInput, Decision, Facts, RiskCode, RiskConfig, RiskLevel, Verdict};
use rust_decimal::Decimal;

use crate::support::{self, PYTHON_REGIUS, c, d, s, set_appendix, suspension, unit};

fn no_change<T>(_: &mut T) {}

#[track_caller]
fn check_with(
    config: &RiskConfig,
    input: fn(&mut ApplicationInput),
    facts: fn(&mut Facts),
) -> Decision {
    let (application, facts) = support::build(input, facts);
    let decision = rules::check(&application, &facts, config);
    support::assert_invariants(&decision);
    decision
}

#[track_caller]
fn check(input: fn(&mut ApplicationInput), facts: fn(&mut Facts)) -> Decision {
    check_with(&RiskConfig::default(), input, facts)
}

/// The codes of the indicators that fired, and the score.
#[track_caller]
fn indicators(decision: &Decision) -> (Vec<RiskCode>, u32, RiskLevel) {
    let risk = decision
        .risk
        .as_ref()
        .expect("a risk score for an application that is not refused");
    for indicator in &risk.indicators {
        assert!(!indicator.explanation.is_empty());
    }
    (
        risk.indicators.iter().map(|i| i.code).collect(),
        risk.score,
        risk.level,
    )
}

#[test]
fn an_ordinary_application_scores_zero() {
    let decision = check(no_change, no_change);
    assert_eq!(indicators(&decision), (vec![], 0, RiskLevel::Low));
}

#[test]
fn a_quota_nearly_used_up_raises_the_score() {
    let decision = check(no_change, |f| {
        f.quotas[0].committed = Decimal::from(1700);
        f.quotas[0].exported = Decimal::from(100);
    });
    assert_eq!(decision.decision, Verdict::Allow);
    assert_eq!(
        indicators(&decision),
        (vec![RiskCode::QuotaNearlyUsed], 20, RiskLevel::Low)
    );
    let explanation = &decision.risk.unwrap().indicators[0].explanation;
    assert!(explanation.contains("95%"), "{explanation}");
}

#[test]
fn a_quantity_far_above_the_applicants_history_raises_the_score() {
    let decision = check(no_change, |f| {
        let nar = unit("NAR");
        f.exporter_history = [20, 25, 30]
            .iter()
            .map(|n| Quantity::new(Decimal::from(*n), nar).unwrap())
            .collect();
    });
    assert_eq!(
        indicators(&decision).0,
        vec![RiskCode::QuantityAboveHistory]
    );
    let explanation = &decision.risk.unwrap().indicators[0].explanation;
    assert!(
        explanation.contains("400%") && explanation.contains("median 25"),
        "{explanation}"
    );
}

#[test]
fn too_short_a_history_says_nothing_about_the_quantity() {
    let decision = check(no_change, |f| {
        let nar = unit("NAR");
        f.exporter_history = vec![Quantity::new(Decimal::from(5), nar).unwrap(); 2];
    });
    assert_eq!(indicators(&decision).0, vec![]);
}

#[test]
fn history_in_units_that_do_not_convert_is_ignored() {
    let decision = check(no_change, |f| {
        let kgm = unit("KGM");
        f.exporter_history = vec![Quantity::new(Decimal::from(1), kgm).unwrap(); 5];
    });
    assert_eq!(indicators(&decision).0, vec![]);
}

#[test]
fn appendix_i_raises_the_score() {
    let decision = check(
        |a| {
            a.source = s("D");
            a.documents.captive_breeding_registration = s("A-TG-501");
        },
        |f| set_appendix(f, Appendix::I),
    );
    assert_eq!(decision.decision, Verdict::Allow);
    assert_eq!(
        indicators(&decision),
        (vec![RiskCode::AppendixI], 15, RiskLevel::Low)
    );
}

#[test]
fn ranched_specimens_of_a_taxon_under_captive_breeding_review_raise_the_score() {
    let decision = check(no_change, |f| f.captive_breeding_review = true);
    assert_eq!(
        indicators(&decision),
        (vec![RiskCode::CaptiveBreedingReview], 25, RiskLevel::Medium)
    );
}

#[test]
fn wild_specimens_from_outside_the_distribution_raise_the_score() {
    let decision = check(
        |a| a.source = s("W"),
        |f| f.distribution = vec![c("GH"), c("BJ")],
    );
    assert_eq!(
        indicators(&decision),
        (
            vec![RiskCode::WildOutsideDistribution],
            30,
            RiskLevel::Medium
        )
    );
}

#[test]
fn wild_specimens_of_a_taxon_with_unknown_distribution_are_not_flagged() {
    let decision = check(|a| a.source = s("W"), |f| f.distribution.clear());
    assert_eq!(indicators(&decision).0, vec![]);
}

#[test]
fn a_listing_amended_in_the_last_ninety_days_raises_the_score() {
    let decision = check(no_change, |f| f.last_amendment = Some(d("2024-01-15")));
    assert_eq!(
        indicators(&decision).0,
        vec![RiskCode::RecentListingAmendment]
    );
    let old = check(no_change, |f| f.last_amendment = Some(d("2023-11-01")));
    assert_eq!(indicators(&old).0, vec![]);
}

#[test]
fn conditions_in_a_suspension_raise_the_score_of_the_review() {
    let decision = check(no_change, |f| {
        let mut suspension = suspension(31, "TG", Some(PYTHON_REGIUS));
        suspension.notes = Some("Suspended unless under the agreed quota.".to_owned());
        f.suspensions.push(suspension);
    });
    assert_eq!(decision.decision, Verdict::NeedsReview);
    assert_eq!(
        indicators(&decision).0,
        vec![RiskCode::SuspensionConditions]
    );
}

#[test]
fn an_applicant_with_refused_applications_raises_the_score() {
    let decision = check(no_change, |f| f.exporter_refused_applications = 2);
    assert_eq!(indicators(&decision).0, vec![RiskCode::RefusedApplications]);
}

#[test]
fn indicators_add_up_to_a_high_level() {
    let decision = check(no_change, |f| {
        f.captive_breeding_review = true;
        f.exporter_refused_applications = 1;
        f.quotas[0].committed = Decimal::from(1650);
    });
    assert_eq!(
        indicators(&decision),
        (
            vec![
                RiskCode::QuotaNearlyUsed,
                RiskCode::CaptiveBreedingReview,
                RiskCode::RefusedApplications
            ],
            60,
            RiskLevel::High
        )
    );
}

#[test]
fn refused_and_non_cites_applications_have_no_risk_score() {
    let refused = check(no_change, |f| {
        f.suspensions
            .push(suspension(31, "TG", Some(PYTHON_REGIUS)))
    });
    assert_eq!(refused.decision, Verdict::Refuse);
    assert!(refused.risk.is_none());
    let not_cites = check(no_change, |f| {
        for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
            listing.status = rules::ListingStatus::NotListed;
            listing.deciding.clear();
        }
    });
    assert_eq!(not_cites.decision, Verdict::NotCites);
    assert!(not_cites.risk.is_none());
}

#[test]
fn the_configuration_sets_weights_and_levels() {
    let config = RiskConfig::from_toml_str(
        "[captive_breeding_review]\nweight = 5\n\n[levels]\nmedium_from = 5\nhigh_from = 10\n",
    )
    .unwrap();
    let decision = check_with(&config, no_change, |f| f.captive_breeding_review = true);
    assert_eq!(
        indicators(&decision),
        (vec![RiskCode::CaptiveBreedingReview], 5, RiskLevel::Medium)
    );
}

#[test]
fn a_zero_weight_turns_an_indicator_off() {
    let config = RiskConfig::from_toml_str("[refused_applications]\nweight = 0\n").unwrap();
    let decision = check_with(&config, no_change, |f| f.exporter_refused_applications = 9);
    assert_eq!(indicators(&decision).0, vec![]);
}

#[test]
fn the_risk_score_never_changes_the_decision() {
    let config = RiskConfig::from_toml_str("[levels]\nmedium_from = 0\nhigh_from = 0\n").unwrap();
    let decision = check_with(&config, no_change, |f| f.exporter_refused_applications = 9);
    assert_eq!(decision.decision, Verdict::Allow);
    assert_eq!(decision.risk.unwrap().level, RiskLevel::High);
}

#[test]
fn box_11a_counts_committed_and_exported_and_this_application_in_the_quota_unit() {
    let decision = check(
        |a| {
            a.unit = s("GRM");
            a.quantity = Some(serde_json::json!("2500"));
        },
        |f| {
            f.quotas[0].unit = unit("KGM");
            f.quotas[0].limit = Some(Decimal::from(500));
            f.quotas[0].held = Decimal::from(7);
            f.quotas[0].committed = Decimal::from(40);
            f.quotas[0].exported = Decimal::from(60);
        },
    );
    let box_11a = decision.box_11a.unwrap();
    assert_eq!(box_11a.quota, Decimal::from(500));
    assert_eq!(box_11a.already_used, Decimal::from(100));
    assert_eq!(box_11a.this_application, "2.5".parse::<Decimal>().unwrap());
    assert_eq!(box_11a.total_after, "102.5".parse::<Decimal>().unwrap());
    assert_eq!(box_11a.unit.code(), "KGM");
    assert_eq!(box_11a.period_end_inclusive, d("2024-12-31"));
}

#[test]
fn box_11a_shows_the_quota_that_binds_most_tightly() {
    let decision = check(no_change, |f| {
        let mut national = f.quotas[0].clone();
        national.id = 8;
        national.taxon_id = domain::TaxonId::new(support::PYTHONIDAE);
        national.limit = Some(Decimal::from(650));
        f.quotas.push(national);
    });
    assert_eq!(decision.box_11a.unwrap().quota_id, 8);
}

#[test]
fn every_nested_quota_is_counted_with_its_own_box_11a() {
    let decision = check(no_change, |f| {
        f.quotas[0].held = Decimal::from(3);
        f.quotas[0].committed = Decimal::ZERO;
        f.quotas[0].exported = Decimal::ZERO;
        let mut genus = f.quotas[0].clone();
        genus.id = 8;
        genus.taxon_id = domain::TaxonId::new(support::PYTHONIDAE);
        genus.limit = Some(Decimal::from(650));
        genus.held = Decimal::ZERO;
        genus.committed = Decimal::from(11);
        genus.exported = Decimal::ZERO;
        f.quotas.push(genus);
    });
    assert_eq!(decision.decision, Verdict::Allow);
    let counted: Vec<(i64, Decimal)> = decision
        .quotas_counted
        .iter()
        .map(|b| (b.quota_id, b.already_used))
        .collect();
    let species = decision.quotas_counted[0].quota_id;
    assert_eq!(
        counted,
        vec![(species, Decimal::ZERO), (8, Decimal::from(11))]
    );
    let tightest = decision.box_11a.unwrap();
    assert!(decision.quotas_counted.contains(&tightest));
}

#[test]
fn quotas_are_not_counted_for_re_exports_or_imports() {
    let decision = check(|a| a.transaction = s("import"), no_change);
    assert!(decision.box_11a.is_none());
}

#[test]
fn extreme_ledger_and_history_figures_never_make_the_check_panic() {
    let huge = check(no_change, |f| {
        f.quotas[0].held = Decimal::MAX;
        f.quotas[0].committed = Decimal::MAX;
    });
    assert_eq!(huge.decision, Verdict::Refuse);
    let tiny = check(no_change, |f| {
        f.quotas[0].limit = Some(Decimal::new(1, 28));
        f.quotas[0].committed = Decimal::ZERO;
        f.quotas[0].exported = Decimal::ZERO;
        let nar = unit("NAR");
        f.exporter_history = vec![Quantity::new(Decimal::new(1, 28), nar).unwrap(); 5];
        f.quotas[0].held = Decimal::new(-5, 0);
    });
    support::assert_invariants(&tiny);
}
