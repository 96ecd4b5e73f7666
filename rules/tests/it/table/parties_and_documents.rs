//! Cases of Parties and documents: non-Parties, reservations, import and export permits,
//! Appendix III certificates of origin, introduction from the sea, findings, security stamps.

use super::*;

pub(super) fn parties_and_documents() -> Vec<Case> {
    vec![
        Case {
            name: "an_importer_that_is_not_a_party_needs_review_under_article_x",
            input: |a| a.importer = s("SS"),
            facts: |f| f.non_parties = vec![c("SS")],
            decision: NeedsReview,
            codes: &[ReservationOrNonParty],
        },
        Case {
            // A reservation goes to review, and relaxes no Appendix I requirement on its own.
            name: "an_exporter_with_a_reservation_on_an_appendix_i_listing_is_still_held_to_appendix_i",
            input: no_change,
            facts: |f| {
                app_i(f);
                f.listing_at_trade.reservations = vec![ReservationFact {
                    listing_id: 150,
                    party: c("TG"),
                    appendix: Appendix::I,
                    effective_at: d("2023-05-24"),
                    annotation: None,
                }];
            },
            decision: Refuse,
            codes: &[
                ReservationOrNonParty,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            // The 2019 reservations of eight Parties on the elephant's Appendix II listing
            // (Species+, in French): limited to the CoP18 update of annotation 2's references.
            // Namibia is not a non-Party for its rhino horn, which its annotation refers to
            // Appendix I: the commercial bar and the import permit stand.
            name: "a_narrow_reservation_is_reviewed_as_written_and_relaxes_no_appendix_i_requirement",
            input: |a| {
                rhino_trophy(a, "2023-02-23", "2023-02-23");
                a.term = s("HOR");
                a.purpose = s("T");
                a.documents.import_permit = None;
            },
            facts: |f| {
                rhino_na(f);
                f.listing_at_trade.reservations = vec![ReservationFact {
                    listing_id: 32_157,
                    party: c("NA"),
                    appendix: Appendix::II,
                    effective_at: d("2019-11-26"),
                    annotation: Some(ELEPHANT_RESERVATION_FR.to_owned()),
                }];
            },
            decision: Refuse,
            codes: &[
                ReferredToAppIByAnnotation,
                ReservationOrNonParty,
                AppIPrimarilyCommercial,
                MissingImportPermit,
            ],
        },
        Case {
            name: "a_reservation_held_by_a_third_party_does_not_affect_the_trade",
            input: no_change,
            facts: |f| {
                f.listing_at_trade.reservations = vec![ReservationFact {
                    listing_id: 151,
                    party: c("JP"),
                    appendix: Appendix::II,
                    effective_at: d("2023-05-24"),
                    annotation: None,
                }];
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_i_export_without_an_import_permit_is_refused",
            input: zoo_wild,
            facts: app_i,
            decision: Refuse,
            codes: &[MissingImportPermit],
        },
        Case {
            name: "an_appendix_i_export_whose_import_permit_was_issued_after_it_is_refused",
            input: |a| {
                zoo_wild(a);
                a.documents.import_permit = import_permit("US-IP-24-0091", "2024-03-05", Some(100));
            },
            facts: app_i,
            decision: Refuse,
            codes: &[ImportPermitMismatch],
        },
        Case {
            name: "an_appendix_i_export_above_the_quantity_of_its_import_permit_is_refused",
            input: |a| {
                zoo_wild(a);
                a.documents.import_permit = import_permit("US-IP-24-0091", "2024-02-20", Some(60));
            },
            facts: app_i,
            decision: Refuse,
            codes: &[ImportPermitMismatch],
        },
        Case {
            name: "an_appendix_i_export_on_an_import_permit_older_than_twelve_months_is_refused",
            input: |a| {
                zoo_wild(a);
                a.documents.import_permit = import_permit("US-IP-23-0011", "2023-03-01", Some(100));
            },
            facts: app_i,
            decision: Refuse,
            codes: &[ImportPermitExpired],
        },
        Case {
            name: "an_import_permit_naming_another_taxon_needs_review",
            input: |a| {
                zoo_wild_with_import_permit(a);
                if let Some(permit) = a.documents.import_permit.as_mut() {
                    permit.taxon = s("Python sebae");
                }
            },
            facts: app_i,
            decision: NeedsReview,
            codes: &[ImportPermitTaxonDiffers],
        },
        Case {
            name: "an_appendix_i_export_for_a_zoo_with_a_prior_import_permit_is_allowed",
            input: zoo_wild_with_import_permit,
            facts: app_i,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_live_appendix_i_re_export_without_an_import_permit_is_refused",
            input: |a| {
                reexport(a);
                zoo_wild(a);
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.source = s("W");
                    origin.appendix = s("I");
                }
            },
            facts: app_i,
            decision: Refuse,
            codes: &[MissingImportPermit],
        },
        Case {
            name: "an_appendix_i_re_export_of_skins_needs_no_import_permit",
            input: |a| {
                reexport(a);
                zoo_wild(a);
                a.term = s("SKI");
                if let Some(origin) = a.documents.origin_permit.as_mut() {
                    origin.source = s("W");
                    origin.appendix = s("I");
                }
            },
            facts: app_i,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_ii_import_without_the_export_permit_is_refused",
            input: |a| {
                import_into_us(a);
                a.documents.export_permit = None;
            },
            facts: no_change,
            decision: Refuse,
            codes: &[MissingExportPermit],
        },
        Case {
            name: "an_appendix_ii_import_presenting_the_export_permit_is_allowed",
            input: import_into_us,
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_import_presenting_an_export_permit_of_another_country_is_refused",
            input: |a| {
                import_into_us(a);
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.country = s("BR");
                }
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ExportPermitMismatch],
        },
        Case {
            name: "an_import_presenting_an_export_permit_issued_after_the_trade_is_refused",
            input: |a| {
                import_into_us(a);
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.issued_on = s("2024-03-20");
                }
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ExportPermitMismatch],
        },
        Case {
            name: "an_import_presenting_an_export_permit_past_its_six_months_is_refused",
            input: |a| {
                import_into_us(a);
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.issued_on = s("2023-09-14");
                }
            },
            facts: no_change,
            decision: Refuse,
            codes: &[ExportPermitExpired],
        },
        Case {
            name: "an_import_presenting_an_export_permit_on_its_last_valid_day_is_allowed",
            input: |a| {
                import_into_us(a);
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.issued_on = s("2023-09-15");
                }
            },
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_i_import_for_a_zoo_without_a_non_detriment_finding_is_refused",
            input: |a| {
                import_into_us(a);
                a.purpose = s("Z");
            },
            facts: app_i,
            decision: Refuse,
            codes: &[MissingNdf],
        },
        Case {
            name: "an_appendix_i_import_for_a_zoo_with_a_non_detriment_finding_is_allowed",
            input: |a| {
                import_into_us(a);
                a.purpose = s("Z");
                a.documents.ndf_reference = s("US-SA-2024-03");
            },
            facts: app_i,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_iii_export_by_the_listing_party_is_allowed",
            input: no_change,
            facts: app_iii_listed_by_togo,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_iii_export_from_a_non_listing_state_without_certificate_of_origin_is_refused",
            input: no_change,
            facts: app_iii_listed_by_ghana,
            decision: Refuse,
            codes: &[MissingCertificateOfOrigin],
        },
        Case {
            name: "an_appendix_iii_export_from_a_non_listing_state_with_certificate_of_origin_is_allowed",
            input: |a| a.documents.certificate_of_origin = s("TG-CO-2024-0009"),
            facts: app_iii_listed_by_ghana,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_appendix_iii_import_from_a_non_listing_state_without_certificate_of_origin_is_refused",
            input: |a| {
                import_into_us(a);
                a.documents.export_permit = None;
            },
            facts: app_iii_listed_by_ghana,
            decision: Refuse,
            codes: &[MissingCertificateOfOrigin],
        },
        Case {
            name: "an_appendix_iii_import_from_the_listing_party_presenting_its_export_permit_is_allowed",
            input: import_into_us,
            facts: app_iii_listed_by_togo,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_introduction_from_the_sea_without_its_certificate_is_refused",
            input: ifs,
            facts: shark,
            decision: Refuse,
            codes: &[MissingIfsCertificate],
        },
        Case {
            name: "an_introduction_from_the_sea_with_its_certificate_and_finding_is_allowed",
            input: |a| {
                ifs(a);
                a.documents.ifs_certificate = s("US-IFS-2024-004");
            },
            facts: shark,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_introduction_from_the_sea_of_wild_specimens_from_a_state_is_refused",
            input: |a| {
                ifs(a);
                a.source = s("W");
                a.documents.ifs_certificate = s("US-IFS-2024-004");
            },
            facts: shark,
            decision: Refuse,
            codes: &[SourceInvalidForTransaction],
        },
        Case {
            name: "an_export_without_a_non_detriment_finding_is_allowed_when_its_quota_stands_for_one",
            input: |a| a.documents.ndf_reference = None,
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "an_export_without_a_non_detriment_finding_or_quota_is_refused",
            input: |a| a.documents.ndf_reference = None,
            facts: |f| f.quotas.clear(),
            decision: Refuse,
            codes: &[MissingNdf],
        },
        Case {
            name: "an_export_without_a_legal_acquisition_finding_is_refused",
            input: |a| a.documents.laf_reference = None,
            facts: no_change,
            decision: Refuse,
            codes: &[MissingLaf],
        },
        Case {
            name: "a_permit_without_the_security_stamp_its_party_uses_is_refused",
            input: no_change,
            facts: |f| f.security_stamp_required = true,
            decision: Refuse,
            codes: &[MissingSecurityStamp],
        },
        Case {
            name: "a_permit_with_the_security_stamp_its_party_uses_is_allowed",
            input: |a| a.documents.security_stamp = s("TG-00012345"),
            facts: |f| f.security_stamp_required = true,
            decision: Allow,
            codes: &[],
        },
    ]
}
