//! Cases of export quotas: zero, in preparation, units, what counts against one, which quota
//! applies, and the leopard trophy quota of the CoP.

use super::*;

pub(super) fn quotas() -> Vec<Case> {
    vec![
        Case {
            name: "an_export_under_a_zero_quota_is_refused",
            input: no_change,
            facts: |f| quota_limit(f, Some(Decimal::ZERO)),
            decision: Refuse,
            codes: &[ZeroQuota],
        },
        Case {
            name: "an_export_under_a_quota_in_preparation_needs_review",
            input: no_change,
            facts: |f| quota_limit(f, None),
            decision: NeedsReview,
            codes: &[QuotaInPreparation],
        },
        Case {
            name: "a_count_cannot_be_compared_with_a_quota_in_kilograms",
            input: no_change,
            facts: |f| f.quotas[0].unit = unit("KGM"),
            decision: NeedsReview,
            codes: &[UnitMismatch],
        },
        Case {
            name: "an_export_that_would_exceed_the_quota_counting_held_committed_and_exported_is_refused",
            input: no_change,
            facts: |f| {
                f.quotas[0].held = Decimal::from(1000);
                f.quotas[0].exported = Decimal::from(650);
            },
            decision: Refuse,
            codes: &[QuotaExceeded],
        },
        Case {
            name: "an_export_that_uses_the_quota_exactly_is_allowed",
            input: no_change,
            facts: |f| {
                f.quotas[0].committed = Decimal::from(1400);
                f.quotas[0].exported = Decimal::from(500);
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "grams_are_converted_exactly_into_a_kilogram_quota",
            input: |a| {
                a.unit = s("GRM");
                a.quantity = Some(serde_json::json!("2500"));
            },
            facts: |f| {
                f.quotas[0].unit = unit("KGM");
                f.quotas[0].limit = Some(dec("500"));
                f.quotas[0].committed = dec("497.5");
                f.quotas[0].exported = Decimal::ZERO;
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_re_export_does_not_count_against_the_quota",
            input: reexport,
            facts: |f| quota_limit(f, Some(Decimal::ZERO)),
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_quota_restricted_to_another_term_does_not_apply",
            input: no_change,
            facts: |f| {
                f.quotas[0].terms = vec![term("SKI")];
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            // Issued on 30 December, used on 10 January: it counts against the year of issue
            // (not the year it is used in), so the 2024 quota's zero refuses it.
            name: "a_permit_counts_against_the_quota_of_the_year_it_is_issued_in",
            input: |a| {
                a.date_issue = s("2024-12-30");
                a.date_trade = s("2025-01-10");
                a.documents.valid_until = None;
            },
            facts: |f| quota_limit(f, Some(Decimal::ZERO)),
            decision: Refuse,
            codes: &[ZeroQuota],
        },
        Case {
            name: "a_quota_of_another_year_does_not_apply",
            input: no_change,
            facts: |f| {
                f.quotas[0].period = Period::calendar_year(2023);
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            // Declared against a concept Species+ has since lumped into this one.
            name: "a_quota_on_a_concept_merged_into_the_taxon_still_applies",
            input: no_change,
            facts: |f| {
                f.quotas[0].taxon_id = TaxonId::new(MERGED);
                f.taxon.merged_ids = vec![TaxonId::new(MERGED)];
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Refuse,
            codes: &[ZeroQuota],
        },
        Case {
            name: "a_quota_on_an_unrelated_concept_does_not_apply",
            input: no_change,
            facts: |f| {
                f.quotas[0].taxon_id = TaxonId::new(MERGED);
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_ethiopian_leopard_trophy_beyond_the_cop_quota_of_twenty_is_refused",
            input: leopard_trophy,
            facts: leopard_facts,
            decision: Refuse,
            codes: &[QuotaExceeded],
        },
        Case {
            name: "an_ethiopian_leopard_trophy_within_the_cop_quota_is_allowed",
            input: leopard_trophy,
            facts: |f| {
                leopard_facts(f);
                f.quotas[0].exported = Decimal::from(10);
            },
            decision: Allow,
            codes: &[],
        },
    ]
}
