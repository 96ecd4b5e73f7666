//! Cases either side of a CoP19 entry into force: bulbul, requiem sharks, white rhino, Tiliqua,
//! Afzelia.

use super::*;

pub(super) fn cop19_transitions() -> Vec<Case> {
    vec![
        Case {
            name: "pycnonotus_zeylanicus_traded_the_day_before_its_delayed_transfer_is_appendix_ii",
            input: |a| pycnonotus(a, "2023-11-20", "2023-11-24"),
            facts: pycnonotus_facts,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "pycnonotus_zeylanicus_traded_on_the_day_of_its_transfer_is_appendix_i_and_commercial_trade_is_refused",
            input: |a| pycnonotus(a, "2023-11-25", "2023-11-25"),
            facts: pycnonotus_facts,
            decision: Refuse,
            codes: &[AppIPrimarilyCommercial, MissingImportPermit],
        },
        Case {
            name: "pycnonotus_zeylanicus_issued_before_but_traded_on_the_day_of_transfer_is_flagged_and_refused",
            input: |a| pycnonotus(a, "2023-11-24", "2023-11-25"),
            facts: pycnonotus_facts,
            decision: Refuse,
            codes: &[
                ListingChangesBeforeTrade,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            name: "requiem_shark_fins_traded_the_day_before_the_delayed_listing_are_not_cites",
            input: |a| shark_fins(a, "2023-11-20", "2023-11-24"),
            facts: shark_facts,
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "requiem_shark_fins_traded_on_the_day_the_delayed_listing_enters_into_force_are_appendix_ii",
            input: |a| shark_fins(a, "2023-11-25", "2023-11-25"),
            facts: shark_facts,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "requiem_shark_fins_issued_before_and_traded_after_the_delayed_listing_need_review",
            input: |a| shark_fins(a, "2023-11-20", "2023-11-27"),
            facts: shark_facts,
            decision: NeedsReview,
            codes: &[ListingChangesBeforeTrade],
        },
        Case {
            name: "a_namibian_white_rhino_trophy_the_day_before_cop19_is_appendix_i_and_needs_its_import_permit",
            input: |a| rhino_trophy(a, "2023-02-22", "2023-02-22"),
            facts: rhino_na,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_namibian_white_rhino_trophy_on_the_day_of_cop19_entry_into_force_is_appendix_ii",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.documents.import_permit = None;
            },
            facts: rhino_na,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_namibian_white_rhino_trophy_issued_before_cop19_and_traded_after_needs_review",
            input: |a| rhino_trophy(a, "2023-02-20", "2023-02-23"),
            facts: rhino_na,
            decision: NeedsReview,
            codes: &[ListingChangesBeforeTrade],
        },
        Case {
            name: "namibian_white_rhino_horn_for_trade_is_referred_to_appendix_i_by_the_annotation",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.term = s("HOR");
                a.purpose = s("T");
                a.documents.import_permit = None;
            },
            facts: rhino_na,
            decision: Refuse,
            codes: &[
                ReferredToAppIByAnnotation,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            name: "live_namibian_white_rhinos_need_review_of_the_in_situ_conservation_condition",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.term = s("LIV");
                a.purpose = s("N");
                a.documents.import_permit = None;
            },
            facts: rhino_na,
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "kenyan_white_rhinos_stay_in_appendix_i_after_cop19",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.exporter = s("KE");
                a.term = s("HOR");
                a.purpose = s("T");
                a.documents.import_permit = None;
            },
            facts: rhino_ke,
            decision: Refuse,
            codes: &[AppIPrimarilyCommercial, MissingImportPermit],
        },
        Case {
            name: "tiliqua_adelaidensis_the_day_before_its_cop19_inclusion_is_not_cites",
            input: |a| tiliqua_to_zoo(a, "2023-02-22"),
            facts: tiliqua_facts,
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "captive_bred_tiliqua_adelaidensis_for_a_zoo_on_the_day_of_inclusion_needs_no_import_permit",
            input: |a| tiliqua_to_zoo(a, "2023-02-23"),
            facts: tiliqua_facts,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "african_afzelia_logs_the_day_before_cop19_are_not_cites",
            input: |a| afzelia(a, "2023-02-22", "LOG"),
            facts: afzelia_facts,
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "african_afzelia_logs_from_cop19_entry_into_force_are_covered_by_annotation_17",
            input: |a| afzelia(a, "2023-02-23", "LOG"),
            facts: afzelia_facts,
            decision: Allow,
            codes: &[],
        },
    ]
}
