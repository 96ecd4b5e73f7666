//! Snapshots of whole decisions (reasons, evidence, precedence, box 11a, risk, listing) for a
//! handful of table cases. Review changes with `cargo insta review` or by reading the diff of
//! `rules/tests/snapshots/*.snap`; regenerate with `INSTA_UPDATE=always`.

use crate::support;
use crate::table;

/// Runs the table case `name` and snapshots its decision as JSON.
#[track_caller]
fn check(name: &str) {
    let case = table::cases()
        .into_iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("no table case named {name}"));
    let decision = support::check(&case).unwrap();
    let mut settings = insta::Settings::clone_current();
    // One folder for the crate's snapshots, named after the case alone.
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_description(name);
    settings.bind(|| insta::assert_json_snapshot!(name, decision));
}

#[test]
fn an_allowed_export_explains_its_listing_and_box_11a() {
    check("a_ranched_appendix_ii_export_with_findings_inside_its_quota_is_allowed");
}

#[test]
fn the_bulbul_transfer_explains_the_listing_change_and_both_refusals() {
    check(
        "pycnonotus_zeylanicus_issued_before_but_traded_on_the_day_of_transfer_is_flagged_and_refused",
    );
}

#[test]
fn rhino_horn_explains_the_exclusive_purpose_annotation() {
    check("namibian_white_rhino_horn_for_trade_is_referred_to_appendix_i_by_the_annotation");
}

#[test]
fn a_conditional_suspension_explains_its_notes_and_risk() {
    check("a_suspension_whose_notes_carry_conditions_needs_review");
}

#[test]
fn orchid_seeds_explain_the_annotation_version_and_clause() {
    check("orchid_seeds_are_not_covered_by_annotation_4");
}

#[test]
fn a_leopard_trophy_beyond_its_quota_explains_the_ledger() {
    check("an_ethiopian_leopard_trophy_beyond_the_cop_quota_of_twenty_is_refused");
}
