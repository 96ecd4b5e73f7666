//! Cases of trade suspensions, domestic measures, national bans and notices as Species+ publishes
//! them.

use super::*;

pub(super) fn suspensions() -> Vec<Case> {
    vec![
        Case {
            name: "personal_trade_from_a_country_under_a_commercial_only_suspension_is_allowed",
            input: |a| a.purpose = s("P"),
            facts: |f| published(f, "TG", "2015-03-19", true, false, ALL_COMMERCIAL_TRADE),
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "commercial_trade_from_a_country_under_a_commercial_only_suspension_is_refused",
            input: no_change,
            facts: |f| published(f, "TG", "2015-03-19", true, false, ALL_COMMERCIAL_TRADE),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_notification_on_short_export_permits_for_carvings_leaves_live_animals_alone",
            input: no_change,
            facts: |f| published(f, "TG", "2010-08-16", true, true, SHORT_EXPORT_PERMITS),
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "ivory_carvings_under_a_notification_on_short_export_permits_need_review",
            input: |a| a.term = s("IVC"),
            facts: |f| published(f, "TG", "2010-08-16", true, true, SHORT_EXPORT_PERMITS),
            decision: NeedsReview,
            codes: &[MeasureScopeUnknown],
        },
        Case {
            name: "the_importing_partys_domestic_ivory_measure_is_a_warning_for_the_exporter",
            input: |a| a.term = s("TUS"),
            facts: |f| published(f, "US", "2014-10-10", true, true, US_IVORY),
            decision: Allow,
            codes: &[TradeMeasureNote],
        },
        Case {
            name: "the_issuing_partys_own_domestic_ivory_measure_binds_it",
            input: |a| a.term = s("TUS"),
            facts: |f| published(f, "TG", "2014-10-10", true, false, US_IVORY),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_domestic_measure_whose_notes_give_its_window_binds_inside_it",
            input: |a| {
                a.term = s("TUS");
                a.date_issue = s("2018-03-01");
                a.date_trade = s("2018-03-15");
                a.documents.valid_until = s("2018-08-31");
            },
            facts: |f| published(f, "TG", "2016-04-01", false, true, CN_IVORY_2016_2019),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_domestic_measure_whose_notes_give_its_window_is_gone_after_it",
            input: |a| a.term = s("TUS"),
            facts: |f| published(f, "TG", "2016-04-01", false, true, CN_IVORY_2016_2019),
            decision: Allow,
            codes: &[],
        },
        Case {
            // Species+ lists the suspension of all trade with one Party from 2022-05-13 as no
            // longer current, without the date it was withdrawn: a trade in June 2022, checked
            // in 2026, may have fallen inside it.
            name: "a_suspension_withdrawn_at_an_unknown_date_may_cover_a_past_trade_date",
            input: |a| {
                import_into_us(a);
                a.date_issue = s("2022-05-20");
                a.date_trade = s("2022-06-01");
                a.documents.valid_until = s("2022-10-31");
                if let Some(p) = a.documents.export_permit.as_mut() {
                    p.issued_on = s("2022-05-16");
                }
            },
            facts: |f| {
                f.today = d("2026-11-27");
                published(f, "TG", "2022-05-13", false, false, ALL_TRADE);
            },
            decision: NeedsReview,
            codes: &[MeasurePossiblyInForce],
        },
        Case {
            name: "a_suspension_withdrawn_before_today_does_not_cover_a_trade_after_today",
            input: no_change,
            facts: |f| published(f, "TG", "2022-05-13", false, false, ALL_TRADE),
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_suspension_of_the_taxon_from_the_exporter_is_refused",
            input: no_change,
            facts: |f| suspended(f, None),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_of_an_ancestor_taxon_applies_to_the_species",
            input: no_change,
            facts: |f| f.suspensions.push(suspension(32, "TG", Some(SERPENTES))),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_of_the_importer_without_applies_to_import_does_not_apply",
            input: no_change,
            facts: |f| {
                f.suspensions
                    .push(suspension(33, "US", Some(PYTHON_REGIUS)))
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_suspension_of_the_importer_with_applies_to_import_is_refused",
            input: no_change,
            facts: |f| {
                let mut suspension = suspension(34, "US", Some(PYTHON_REGIUS));
                suspension.applies_to_import = true;
                f.suspensions.push(suspension);
            },
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_of_wild_specimens_does_not_apply_to_ranched_ones",
            input: no_change,
            facts: |f| {
                let mut suspension = suspension(35, "TG", Some(PYTHON_REGIUS));
                suspension.sources = vec![source("W")];
                f.suspensions.push(suspension);
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_suspension_of_commercial_trade_applies_to_commercial_trade",
            input: no_change,
            facts: |f| {
                let mut suspension = suspension(36, "TG", Some(PYTHON_REGIUS));
                suspension.purposes = vec![purpose("T")];
                f.suspensions.push(suspension);
            },
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_whose_notes_carry_conditions_needs_review",
            input: no_change,
            facts: |f| {
                suspended(
                    f,
                    Some(
                        "All commercial trade, except specimens from ranching operations agreed with the Secretariat.",
                    ),
                )
            },
            decision: NeedsReview,
            codes: &[SuspensionConditions],
        },
        Case {
            name: "a_suspension_withdrawn_before_the_trade_date_does_not_apply",
            input: no_change,
            facts: |f| {
                suspended(f, None);
                f.suspensions[0].end_date = Some(d("2024-01-01"));
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_suspension_starting_after_the_trade_date_does_not_apply",
            input: no_change,
            facts: |f| {
                suspended(f, None);
                f.suspensions[0].start_date = d("2024-04-01");
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_higher_taxon_suspension_that_excludes_the_species_does_not_apply",
            input: no_change,
            facts: |f| {
                let mut suspension = suspension(37, "TG", Some(SERPENTES));
                suspension.excluded_taxon_ids = vec![TaxonId::new(PYTHON_REGIUS)];
                f.suspensions.push(suspension);
            },
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_country_wide_suspension_applies_to_every_taxon",
            input: no_change,
            facts: |f| f.suspensions.push(suspension(38, "TG", None)),
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "a_suspension_of_the_country_of_origin_of_a_re_export_needs_review",
            input: reexport,
            facts: |f| {
                f.suspensions
                    .push(suspension(39, "TG", Some(PYTHON_REGIUS)))
            },
            decision: NeedsReview,
            codes: &[SuspensionAffectsOrigin],
        },
        Case {
            name: "another_countrys_national_ban_is_noted_but_does_not_bind_an_import_permit",
            input: import_into_us,
            facts: |f| {
                let mut ban = suspension(40, "TG", Some(PYTHON_REGIUS));
                ban.kind = SuspensionKind::NationalBan;
                f.suspensions.push(ban);
            },
            decision: Allow,
            codes: &[TradeMeasureNote],
        },
        Case {
            name: "the_issuing_partys_own_national_ban_is_refused",
            input: no_change,
            facts: |f| {
                let mut ban = suspension(41, "TG", Some(PYTHON_REGIUS));
                ban.kind = SuspensionKind::NationalBan;
                f.suspensions.push(ban);
            },
            decision: Refuse,
            codes: &[Suspended],
        },
        Case {
            name: "an_information_notice_is_noted_only",
            input: no_change,
            facts: |f| {
                let mut notice = suspension(42, "TG", Some(PYTHON_REGIUS));
                notice.kind = SuspensionKind::InformationNotice;
                f.suspensions.push(notice);
            },
            decision: Allow,
            codes: &[TradeMeasureNote],
        },
    ]
}
