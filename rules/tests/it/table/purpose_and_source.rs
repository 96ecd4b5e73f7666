//! Cases of purpose and source: commercial use of Appendix I specimens, unusual pairs, each source
//! code's conditions, confiscations, IFS certificates.

use super::*;

pub(super) fn purpose_and_source() -> Vec<Case> {
    vec![
        Case {
            name: "wild_appendix_i_specimens_for_commercial_purposes_are_refused",
            input: |a| {
                a.source = s("W");
                a.documents.import_permit = import_permit("US-IP-24-0091", "2024-02-20", Some(100));
            },
            facts: app_i,
            decision: Refuse,
            codes: &[AppIPrimarilyCommercial],
        },
        Case {
            name: "appendix_i_specimens_from_a_registered_operation_are_deemed_appendix_ii_and_may_be_sold",
            input: |a| {
                a.source = s("D");
                a.documents.captive_breeding_registration = s("A-TG-501");
            },
            facts: app_i,
            decision: Allow,
            codes: &[DeemedAppII],
        },
        Case {
            name: "captive_bred_appendix_i_specimens_outside_a_registered_operation_may_not_be_sold",
            input: |a| a.source = s("C"),
            facts: app_i,
            decision: Refuse,
            codes: &[AppIPrimarilyCommercial],
        },
        Case {
            name: "pre_convention_appendix_i_specimens_with_a_certificate_may_be_sold",
            input: |a| {
                a.source = s("O");
                a.term = s("SKI");
                a.documents.pre_convention_certificate = s("TG-PC-2024-01");
                a.documents.pre_convention_date = s("1960-05-01");
                a.documents.ndf_reference = None;
                a.documents.laf_reference = None;
            },
            facts: app_i,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "trophies_for_a_zoo_are_an_unusual_term_and_purpose_pair",
            input: |a| {
                a.term = s("TRO");
                a.purpose = s("Z");
            },
            facts: no_change,
            decision: Allow,
            codes: &[TermPurposeUnusual],
        },
        Case {
            name: "skins_measured_in_litres_are_an_unusual_term_and_unit_pair",
            input: |a| {
                a.term = s("SKI");
                a.unit = s("LTR");
            },
            facts: no_change,
            decision: Allow,
            codes: &[TermUnitUnusual],
        },
        Case {
            name: "source_c_is_refused_for_plants",
            input: |a| {
                plant_export(a);
                a.source = s("C");
            },
            facts: orchid,
            decision: Refuse,
            codes: &[SourceInvalidForKingdom],
        },
        Case {
            name: "source_a_is_refused_for_animals",
            input: |a| a.source = s("A"),
            facts: no_change,
            decision: Refuse,
            codes: &[SourceInvalidForKingdom],
        },
        Case {
            name: "source_d_is_refused_for_an_appendix_ii_taxon",
            input: |a| {
                a.source = s("D");
                a.documents.captive_breeding_registration = s("A-TG-501");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[SourceDRequiresAppI],
        },
        Case {
            name: "source_d_without_a_registered_operation_is_refused",
            input: |a| a.source = s("D"),
            facts: app_i,
            decision: Refuse,
            codes: &[SourceDRequiresRegistration],
        },
        Case {
            name: "source_o_acquired_after_the_first_listing_is_refused",
            input: |a| {
                a.source = s("O");
                a.term = s("SKI");
                a.documents.pre_convention_certificate = s("TG-PC-2024-02");
                a.documents.pre_convention_date = s("1980-01-01");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[SourceONotPreConvention],
        },
        Case {
            name: "source_o_without_a_pre_convention_certificate_is_refused",
            input: |a| {
                a.source = s("O");
                a.term = s("SKI");
                a.documents.pre_convention_date = s("1960-05-01");
            },
            facts: no_change,
            decision: Refuse,
            codes: &[MissingPreConventionCertificate],
        },
        Case {
            name: "source_o_for_a_taxon_whose_first_listing_is_unknown_needs_review",
            input: |a| {
                a.source = s("O");
                a.term = s("SKI");
                a.documents.pre_convention_certificate = s("TG-PC-2024-03");
                a.documents.pre_convention_date = s("1960-05-01");
            },
            facts: |f| f.first_listing_date = None,
            decision: NeedsReview,
            codes: &[PreConventionDateUnverified],
        },
        Case {
            name: "source_u_needs_justification",
            input: |a| a.source = s("U"),
            facts: no_change,
            decision: NeedsReview,
            codes: &[SourceUNeedsJustification],
        },
        Case {
            name: "confiscated_specimens_without_a_disposal_decision_are_refused",
            input: |a| a.source = s("I"),
            facts: no_change,
            decision: Refuse,
            codes: &[SourceIRequiresDisposalEvidence],
        },
        Case {
            name: "confiscated_specimens_do_not_count_against_a_zero_quota",
            input: |a| {
                a.source = s("I");
                a.documents.lawful_disposal_reference = s("TG-COURT-2023-77");
            },
            facts: |f| {
                f.quotas[0].sources.clear();
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_marine_export_without_an_ifs_certificate_is_refused",
            input: |a| a.source = s("X"),
            facts: shark,
            decision: Refuse,
            codes: &[MissingIfsCertificate],
        },
    ]
}
