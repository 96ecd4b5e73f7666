//! Cases of the taxon and its listing: unlisted, excluded forms, synonyms, hybrids, split listings
//! and listing facts derived for another date or population.

use super::*;

pub(super) fn taxon_and_listing() -> Vec<Case> {
    vec![
        Case {
            name: "a_ranched_appendix_ii_export_with_findings_inside_its_quota_is_allowed",
            input: no_change,
            facts: no_change,
            decision: Allow,
            codes: &[],
        },
        Case {
            name: "a_taxon_in_no_appendix_on_the_trade_date_is_not_cites",
            input: no_change,
            facts: |f| {
                for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
                    listing.status = ListingStatus::NotListed;
                    listing.deciding.clear();
                }
            },
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "a_domesticated_form_excluded_by_name_is_not_cites",
            input: |a| a.taxon = s("Bos frontalis"),
            facts: |f| {
                set_taxon(
                    f,
                    6_001,
                    "Bos gaurus",
                    Kingdom::Animalia,
                    &["Bos", "Bovidae"],
                );
                f.taxon.submitted_name = Some("Bos frontalis".to_owned());
                f.taxon.excluded_form = Some(
                    "Bos frontalis, the domesticated form, is excluded from Bos gaurus".to_owned(),
                );
                app_i(f);
            },
            decision: NotCites,
            codes: &[ExcludedForm],
        },
        Case {
            name: "a_synonym_is_checked_as_its_accepted_taxon_and_recorded",
            input: |a| a.taxon = s("Boa regia"),
            facts: |f| {
                f.taxon.submitted_name = Some("Boa regia".to_owned());
                f.taxon.via_synonym = true;
            },
            decision: Allow,
            codes: &[SynonymResolved],
        },
        Case {
            name: "a_split_listing_whose_population_cannot_be_decided_needs_review",
            input: no_change,
            facts: |f| {
                for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
                    listing.status = ListingStatus::DependsOnPopulation {
                        appendices: vec![Appendix::I, Appendix::II],
                    };
                    let mut app_i_row = listing.deciding[0].clone();
                    app_i_row.listing_id = 101;
                    app_i_row.appendix = Appendix::I;
                    listing.deciding.push(app_i_row);
                }
            },
            decision: NeedsReview,
            codes: &[ListingNeedsReview],
        },
        Case {
            name: "an_unreadable_population_clause_needs_review",
            input: no_change,
            facts: |f| f.listing_at_trade.needs_review = true,
            decision: NeedsReview,
            codes: &[ListingNeedsReview],
        },
        Case {
            name: "an_animal_hybrid_is_treated_as_its_listed_parent",
            input: no_change,
            facts: |f| f.taxon.is_hybrid = true,
            decision: Allow,
            codes: &[HybridTreatedAsListed],
        },
        Case {
            name: "a_listing_derived_for_another_trade_date_is_flagged_as_inconsistent_facts",
            input: no_change,
            facts: |f| f.listing_at_trade.date = d("2024-03-14"),
            decision: NeedsReview,
            codes: &[FactsInconsistent],
        },
        Case {
            name: "a_deciding_listing_change_that_takes_effect_after_the_trade_date_is_flagged",
            input: no_change,
            facts: |f| f.listing_at_trade.deciding[0].effective_at = d("2024-06-01"),
            decision: NeedsReview,
            codes: &[FactsInconsistent],
        },
        Case {
            name: "a_listing_derived_for_another_population_than_the_origin_is_flagged",
            input: no_change,
            facts: |f| {
                f.listing_at_trade.population_country = Some(c("GH"));
                f.listing_at_issue.population_country = Some(c("GH"));
            },
            decision: NeedsReview,
            codes: &[FactsInconsistent],
        },
        Case {
            name: "a_taxon_inherits_its_family_listing",
            input: |a| shark_fins(a, "2024-01-10", "2024-01-20"),
            facts: shark_facts,
            decision: Allow,
            codes: &[],
        },
    ]
}
