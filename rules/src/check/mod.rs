//! `check`: runs the checklist's rules in order over one application and its facts, then derives
//! the verdict by precedence and, for applications that are not refused, the risk score.
//!
//! Each rule module pushes [`Reason`]s into a shared [`Ctx`]; none of them decides the verdict.
//! Once a NOT_CITES-level reason fires, the later rules are skipped: the Convention does not
//! apply, so its documents, quotas and suspensions say nothing about the specimen.

mod documents;
mod listing;
mod trade;

pub use documents::{EXPORT_VALIDITY_MONTHS_MAX, IMPORT_VALIDITY_MONTHS_MAX};
pub use trade::SUSPENSION_CONDITION_WORDS;

use domain::Appendix;

use crate::decision::{
    Box11a, Decision, Effect, Evidence, ListingRef, ListingSummary, Precedence, Reason, ReasonCode,
    Verdict,
};
use crate::facts::{Facts, ListingFacts, ListingStatus};
use crate::input::Application;
use crate::risk::{self, RiskConfig, RiskInputs};

/// Evaluates every rule of the permit-check checklist and explains the outcome.
///
/// Pure and total: no I/O, no clock (the facts carry `today`), no panics. A broken rule is a
/// reason in the decision, not an error.
pub fn check(application: &Application, facts: &Facts, config: &RiskConfig) -> Decision {
    let mut ctx = Ctx::new(application, facts);
    if facts.catalogue_is_sample {
        ctx.push(
            ReasonCode::SampleCatalogue,
            "the catalogue is the built-in SAMPLE (Species+ responses recorded in 2021-2022 and \
             synthetic CoP19 cases), not a mirror of Species+: not for permit decisions; \
             configure a Species+ token and let the first mirror complete"
                .to_owned(),
            "none: an engine safeguard (the facts are not Species+'s)",
            Evidence::Facts {
                detail: "catalogue: built-in sample".to_owned(),
            },
        );
    }
    listing::taxon(&mut ctx);
    if !ctx.outside {
        listing::listing(&mut ctx);
    }
    if !ctx.outside {
        listing::annotation(&mut ctx);
    }
    if !ctx.outside {
        listing::unread_annotation(&mut ctx);
    }
    if !ctx.outside {
        documents::parties(&mut ctx);
        documents::documents(&mut ctx);
        trade::purpose(&mut ctx);
        trade::source(&mut ctx);
        trade::suspensions(&mut ctx);
        trade::quotas(&mut ctx);
        documents::findings(&mut ctx);
        documents::validity(&mut ctx);
        documents::reexport_chain(&mut ctx);
    }
    ctx.finish(config)
}

/// State shared by the rules during one check.
pub(crate) struct Ctx<'a> {
    pub(crate) app: &'a Application,
    pub(crate) facts: &'a Facts,
    reasons: Vec<Reason>,
    /// The Appendix listed on the trade date, before annotations.
    pub(crate) listed: Option<Appendix>,
    /// The Appendix the rules apply: after annotations; `None` when it cannot be decided.
    pub(crate) appendix: Option<Appendix>,
    /// A NOT_CITES-level reason fired.
    pub(crate) outside: bool,
    /// The exporter or importer is a non-Party (Art. X). A reservation does not set it: a
    /// reservation never relaxes an Appendix I requirement on its own.
    pub(crate) non_party: bool,
    /// Ids of matching suspensions whose notes carry conditions.
    pub(crate) conditional_suspensions: Vec<i64>,
    pub(crate) box_11a: Option<Box11a>,
    /// Box 11a figures of every quota the export counts against (`box_11a` is the tightest).
    pub(crate) quotas_counted: Vec<Box11a>,
    /// A matching quota with a positive limit, which stands as the non-detriment finding.
    pub(crate) quota_as_ndf: Option<i64>,
}

impl<'a> Ctx<'a> {
    fn new(app: &'a Application, facts: &'a Facts) -> Ctx<'a> {
        Ctx {
            app,
            facts,
            reasons: Vec::new(),
            listed: None,
            appendix: None,
            outside: false,
            non_party: false,
            conditional_suspensions: Vec::new(),
            box_11a: None,
            quotas_counted: Vec::new(),
            quota_as_ndf: None,
        }
    }

    /// Records a reason. Its effect is fixed by its code.
    pub(crate) fn push(
        &mut self,
        code: ReasonCode,
        message: String,
        legal_reference: &'static str,
        evidence: Evidence,
    ) {
        if matches!(
            code.effect(),
            Effect::NotCites | Effect::NotControlledAnnotation
        ) {
            self.outside = true;
        }
        self.reasons.push(Reason {
            code,
            pushes_toward: code.effect(),
            message,
            legal_reference,
            evidence,
        });
    }

    fn finish(self, config: &RiskConfig) -> Decision {
        let applied = self
            .reasons
            .iter()
            .map(|reason| reason.pushes_toward)
            .min()
            .unwrap_or(Effect::Allow);
        let verdict = applied.verdict();
        let precedence = precedence(&self.reasons, applied);
        let risk = matches!(verdict, Verdict::Allow | Verdict::NeedsReview).then(|| {
            risk::score(
                &RiskInputs {
                    application: self.app,
                    facts: self.facts,
                    appendix: self.appendix,
                    box_11a: self.box_11a.as_ref(),
                    conditional_suspensions: &self.conditional_suspensions,
                },
                config,
            )
        });
        let listing = summary(self.app, self.facts, self.appendix);
        Decision {
            decision: verdict,
            reasons: self.reasons,
            precedence,
            box_11a: self.box_11a,
            quotas_counted: self.quotas_counted,
            risk,
            listing,
        }
    }
}

fn precedence(reasons: &[Reason], applied: Effect) -> Precedence {
    let deciding_codes: Vec<ReasonCode> = reasons
        .iter()
        .filter(|reason| reason.pushes_toward == applied)
        .map(|reason| reason.code)
        .collect();
    let order = "NOT_CITES > NOT_CONTROLLED_ANNOTATION > REFUSE > NEEDS_REVIEW > ALLOW";
    let weaker: Vec<String> = Effect::PRECEDENCE
        .iter()
        .filter(|effect| **effect > applied && **effect != Effect::Allow)
        .filter_map(|effect| {
            let codes: Vec<&str> = reasons
                .iter()
                .filter(|reason| reason.pushes_toward == *effect)
                .map(|reason| reason.code.as_str())
                .collect();
            (!codes.is_empty()).then(|| format!("{} ({})", effect.as_str(), codes.join(", ")))
        })
        .collect();
    let codes = deciding_codes
        .iter()
        .map(|code| code.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let explanation = match applied {
        Effect::Allow if deciding_codes.is_empty() => {
            format!("no rule objected, so ALLOW applies ({order})")
        }
        Effect::Allow => {
            format!("only informational reasons fired ({codes}), so ALLOW applies ({order})")
        }
        Effect::NotCites | Effect::NotControlledAnnotation => format!(
            "{codes} takes precedence over every other outcome: the decision is NOT_CITES, and the rules that presuppose a CITES specimen were not evaluated ({order})"
        ),
        Effect::Refuse | Effect::NeedsReview if weaker.is_empty() => {
            format!("{} ({codes}) applies ({order})", applied.as_str())
        }
        Effect::Refuse | Effect::NeedsReview => format!(
            "{} ({codes}) takes precedence over {} ({order})",
            applied.as_str(),
            weaker.join(" and ")
        ),
    };
    Precedence {
        order: Effect::PRECEDENCE,
        applied,
        deciding_codes,
        explanation,
    }
}

/// A short reference to a listing, for evidence.
pub(crate) fn listing_ref(listing: &ListingFacts) -> ListingRef {
    let symbol = listing
        .deciding
        .iter()
        .filter_map(|row| row.hash_annotation.as_ref())
        .find_map(|hash| hash.symbol.clone());
    ListingRef {
        date: listing.date,
        status: listing.status.clone(),
        listing_ids: listing.deciding.iter().map(|row| row.listing_id).collect(),
        effective_at: listing
            .deciding
            .iter()
            .map(|row| row.effective_at)
            .collect(),
        inherited_from: listing
            .deciding
            .iter()
            .find_map(|row| row.inherited_from.clone()),
        hash_annotation: symbol,
    }
}

fn summary(app: &Application, facts: &Facts, appendix: Option<Appendix>) -> ListingSummary {
    let at_issue =
        (app.date_issue() != app.date_trade()).then(|| listing_ref(&facts.listing_at_issue));
    ListingSummary {
        taxon_id: facts.taxon.id,
        accepted_name: facts.taxon.accepted_name.clone(),
        submitted_name: facts
            .taxon
            .submitted_name
            .clone()
            .or_else(|| app.taxon_name().map(str::to_owned)),
        population_country: facts.listing_at_trade.population_country,
        at_trade: listing_ref(&facts.listing_at_trade),
        at_issue,
        appendix_applied: appendix,
    }
}

/// The listed Appendix of a status, when there is exactly one.
pub(crate) fn listed_appendix(status: &ListingStatus) -> Option<Appendix> {
    match status {
        ListingStatus::Listed { appendix } => Some(*appendix),
        ListingStatus::NotListed | ListingStatus::DependsOnPopulation { .. } => None,
    }
}
