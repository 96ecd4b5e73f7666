//! Cases where several rules fire: which decision wins, and every reason still reported.

use super::*;

pub(super) fn precedence() -> Vec<Case> {
    vec![
        Case {
            name: "not_listed_takes_precedence_over_a_suspension_and_a_zero_quota",
            input: no_change,
            facts: |f| {
                for listing in [&mut f.listing_at_trade, &mut f.listing_at_issue] {
                    listing.status = ListingStatus::NotListed;
                    listing.deciding.clear();
                }
                suspended(f, None);
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: NotCites,
            codes: &[NotListed],
        },
        Case {
            name: "a_part_outside_the_annotation_takes_precedence_over_refusals",
            input: |a| {
                plant_export(a);
                a.source = s("C");
                a.term = s("SEE");
            },
            facts: |f| {
                orchid(f);
                f.suspensions.push(suspension(43, "TG", None));
            },
            decision: NotCites,
            codes: &[NotControlledAnnotation],
        },
        Case {
            name: "a_refusal_takes_precedence_over_a_review",
            input: no_change,
            facts: |f| {
                suspended(f, None);
                quota_limit(f, None);
            },
            decision: Refuse,
            codes: &[Suspended, QuotaInPreparation],
        },
        Case {
            name: "a_review_takes_precedence_over_informational_reasons",
            input: |a| a.source = s("U"),
            facts: |f| {
                f.taxon.via_synonym = true;
                f.taxon.submitted_name = Some("Boa regia".to_owned());
                f.quotas.clear();
            },
            decision: NeedsReview,
            codes: &[SynonymResolved, SourceUNeedsJustification],
        },
        Case {
            name: "every_refusal_that_fires_is_reported_not_only_the_first",
            input: |a| {
                a.source = s("W");
                a.documents.ndf_reference = None;
                a.documents.laf_reference = None;
            },
            facts: |f| {
                app_i(f);
                suspended(f, None);
                f.quotas[0].sources = vec![source("W")];
                quota_limit(f, Some(Decimal::ZERO));
            },
            decision: Refuse,
            codes: &[
                AppIPrimarilyCommercial,
                MissingImportPermit,
                Suspended,
                ZeroQuota,
                MissingNdf,
                MissingLaf,
            ],
        },
        Case {
            name: "a_listing_change_before_trade_is_reported_alongside_not_listed",
            input: |a| {
                a.date_issue = s("2024-03-01");
                a.date_trade = s("2024-03-15");
            },
            facts: |f| {
                f.listing_at_trade.status = ListingStatus::NotListed;
                f.listing_at_trade.deciding.clear();
            },
            decision: NotCites,
            codes: &[NotListed, ListingChangesBeforeTrade],
        },
    ]
}
