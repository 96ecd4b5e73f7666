//! Cases of annotations: parts and derivatives covered or not, annotations in French and Spanish,
//! sentences the rules cannot read, zero quotas set in an annotation.

use super::*;

pub(super) fn annotations() -> Vec<Case> {
    vec![
        Case {
            name: "african_afzelia_furniture_is_not_covered_by_annotation_17",
            input: |a| afzelia(a, "2023-03-01", "FRN"),
            facts: afzelia_facts,
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "orchid_seeds_are_not_covered_by_annotation_4",
            input: |a| {
                plant_export(a);
                a.term = s("SEE");
            },
            facts: orchid,
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "cactus_seeds_exported_from_mexico_stay_covered_by_annotation_4",
            input: |a| {
                plant_export(a);
                a.taxon = s("Ariocarpus fissuratus");
                a.exporter = s("MX");
                a.term = s("SEE");
            },
            facts: |f| {
                set_taxon(
                    f,
                    8_101,
                    "Ariocarpus fissuratus",
                    Kingdom::Plantae,
                    &["Ariocarpus", "Cactaceae"],
                );
                set_hash(
                    f,
                    "CoP16 #4",
                    "All parts and derivatives, except: a) seeds ...",
                );
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "cut_flowers_of_artificially_propagated_orchids_are_not_covered_by_annotation_4",
            input: |a| {
                plant_export(a);
                a.term = s("FLO");
            },
            facts: orchid,
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "cut_flowers_of_wild_orchids_are_covered_by_annotation_4",
            input: |a| {
                plant_export(a);
                a.source = s("W");
                a.term = s("FLO");
            },
            facts: orchid,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "euphorbia_antisyphilitica_medicine_needs_review_of_retail_packaging",
            input: |a| {
                plant_export(a);
                a.taxon = s("Euphorbia antisyphilitica");
                a.term = s("MED");
                a.unit = s("KGM");
            },
            facts: |f| {
                set_taxon(
                    f,
                    8_201,
                    "Euphorbia antisyphilitica",
                    Kingdom::Plantae,
                    &["Euphorbia", "Euphorbiaceae"],
                );
                set_hash(
                    f,
                    "CoP16 #4",
                    "All parts and derivatives, except: ... f) finished products ...",
                );
            },
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "mahogany_furniture_is_not_covered_by_annotation_6",
            input: |a| {
                a.taxon = s("Swietenia macrophylla");
                a.source = s("W");
                a.term = s("FRN");
            },
            facts: |f| {
                set_taxon(
                    f,
                    12_301,
                    "Swietenia macrophylla",
                    Kingdom::Plantae,
                    &["Swietenia", "Meliaceae"],
                );
                set_hash(f, "#6", "Logs, sawn wood, veneer sheets and plywood");
            },
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "namibian_raw_ivory_for_trade_in_2018_under_the_french_annotation_2_needs_review",
            input: |a| namibian_elephant_2018(a, "TUS"),
            facts: elephant_na,
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "namibian_elephant_hides_for_trade_in_2018_stay_in_appendix_ii_under_the_french_annotation_2",
            input: |a| namibian_elephant_2018(a, "SKI"),
            facts: elephant_na,
            decision: Allow,
            codes: &[],
        },
        Case {
            // Trophies are in the annotation for non-commercial trade only; its last items
            // (h: no further proposals) name no specimen, so the rest is not read as referred to
            // Appendix I for certain: a person decides, never an ALLOW.
            name: "namibian_elephant_trophies_for_trade_in_2018_under_the_french_annotation_2_need_review",
            input: |a| namibian_elephant_2018(a, "TRO"),
            facts: elephant_na,
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "namibian_white_rhino_horn_for_trade_is_referred_to_appendix_i_by_the_spanish_annotation",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.term = s("HOR");
                a.purpose = s("T");
                a.documents.import_permit = None;
            },
            facts: rhino_na_es,
            decision: Refuse,
            codes: &[
                ReferredToAppIByAnnotation,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            name: "an_appendix_ii_annotation_sentence_the_rules_cannot_read_needs_review",
            input: no_change,
            facts: |f| {
                annotated(
                    f,
                    "Included in Appendix II. Only specimens bearing the tag of a registered ranching operation may be exported.",
                )
            },
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "appendix_ii_annotation_notes_on_names_and_populations_change_nothing",
            input: no_change,
            facts: |f| {
                annotated(
                    f,
                    "[FAMILY listing Pythonidae spp.] Except the species included in Appendix I. Formerly listed as Python regius regius, which became a synonym of Python regius in 2019.",
                )
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_annotation_the_rules_do_not_know_needs_review",
            input: plant_export,
            facts: |f| {
                orchid(f);
                set_hash(f, "#99", "An annotation from the future");
            },
            decision: NeedsReview,
            codes: &[AnnotationNeedsReview],
        },
        Case {
            name: "wild_brazilian_caiman_skins_for_trade_hit_the_zero_quota_in_the_cop19_annotation",
            input: |a| caiman_skins(a, "W"),
            facts: caiman_facts,
            decision: Refuse,
            codes: &[ZeroQuota],
        },
        Case {
            name: "ranched_brazilian_caiman_skins_are_outside_the_zero_quota_annotation",
            input: |a| caiman_skins(a, "R"),
            facts: caiman_facts,
            decision: Allow,
            codes: &[],
        },
    ]
}
