//! Cases of permit validity periods and of the re-export chain back to its origin permit.

use super::*;

pub(super) fn validity_and_reexport() -> Vec<Case> {
    vec![
        Case {
            name: "an_export_permit_valid_for_more_than_six_months_is_refused",
            input: |a| a.documents.valid_until = s("2024-09-02"),
            facts: no_change,
            decision: Refuse,
            codes: &[ValidityTooLong],
        },
        Case {
            name: "a_trade_after_the_permit_expires_is_refused",
            input: |a| a.documents.valid_until = s("2024-03-10"),
            facts: no_change,
            decision: Refuse,
            codes: &[Expired],
        },
        Case {
            name: "a_trade_more_than_six_months_after_issue_is_refused",
            input: |a| {
                a.documents.valid_until = None;
                a.date_trade = s("2024-09-02");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[Expired],
        },
        Case {
            name: "an_import_permit_may_be_valid_for_twelve_months",
            input: |a| {
                import_into_us(a);
                a.documents.valid_until = s("2025-02-28");
            },
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_trade_date_before_the_date_of_issue_is_refused",
            input: |a| a.date_trade = s("2024-02-15"),
            facts: no_change,
            decision: Refuse,
            codes: &[TradeBeforeIssue],
        },
        Case {
            name: "a_re_export_with_a_consistent_origin_permit_and_balance_is_allowed",
            input: reexport,
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_re_export_without_an_origin_permit_is_refused",
            input: |a| {
                reexport(a);
                a.documents.origin_permit = None;
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportOriginMissing],
        },
        Case {
            name: "a_re_export_without_a_country_of_origin_is_refused",
            input: |a| {
                reexport(a);
                a.origin = None;
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportOriginMissing],
        },
        Case {
            name: "a_re_export_whose_origin_permit_comes_from_another_country_is_refused",
            input: |a| {
                reexport(a);
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.country = s("GH");
                }
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportOriginInconsistent],
        },
        Case {
            name: "a_re_export_that_changes_the_source_of_its_origin_permit_is_refused",
            input: |a| {
                reexport(a);
                a.source = s("C");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportOriginInconsistent],
        },
        Case {
            name: "a_re_export_above_the_balance_of_its_origin_permit_is_refused",
            input: |a| {
                reexport(a);
                a.quantity = Some(serde_json::json!(151));
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportNoBalance],
        },
        Case {
            name: "a_re_export_whose_origin_balance_is_unknown_needs_review",
            input: |a| {
                reexport(a);
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.quantity_remaining = None;
                }
            },
            facts: no_change,
            decision: NeedsReview,
            codes: &[ReexportBalanceUnknown],
        },
        Case {
            name: "a_re_export_whose_origin_permit_was_issued_under_another_appendix_needs_review",
            input: |a| {
                reexport(a);
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.appendix = s("I");
                }
            },
            facts: no_change,
            decision: NeedsReview,
            codes: &[ReexportAppendixChanged],
        },
        Case {
            name: "a_re_export_whose_origin_permit_was_cancelled_needs_review",
            input: reexport,
            facts: |f| f.origin_permit_status = Some(PriorDocumentStatus::Cancelled),
            decision: NeedsReview,
            codes: &[ReexportOriginInvalid],
        },
        Case {
            name: "an_application_that_passes_every_rule_on_the_sample_catalogue_needs_review",
            input: |_| {},
            facts: |f| f.catalogue_is_sample = true,
            decision: NeedsReview,
            codes: &[SampleCatalogue],
        },
        Case {
            name: "a_re_export_through_a_third_country_is_limited_by_the_last_re_export_certificate",
            input: |a| {
                reexport(a);
                a.quantity = Some(serde_json::json!(120));
                let mut last = prior("GH-RE-2024-0008", "GH", "2024-01-15");
                last.source = s("R");
                last.quantity_remaining = Some(serde_json::json!(100));
                a.documents.last_reexport = Some(last);
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ReexportNoBalance],
        },
    ]
}
