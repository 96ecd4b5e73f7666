//! Checklist rules 1 to 3: the taxon, its listing on the trade date, and annotation coverage.

use domain::{Appendix, Kingdom};

use super::{Ctx, listed_appendix, listing_ref};
use crate::annotation::{self, Coverage, Specimen};
use crate::decision::{Evidence, ReasonCode};
use crate::facts::{ListingFacts, ListingStatus};

/// Rule 1: excluded domesticated forms, synonyms.
pub(super) fn taxon(ctx: &mut Ctx<'_>) {
    let taxon = &ctx.facts.taxon;
    let evidence = Evidence::Taxon {
        taxon_id: taxon.id,
        accepted_name: taxon.accepted_name.clone(),
        submitted_name: taxon
            .submitted_name
            .clone()
            .or_else(|| ctx.app.taxon_name().map(str::to_owned)),
        excluded_form: taxon.excluded_form.clone(),
    };
    if let Some(excluded) = &taxon.excluded_form {
        ctx.push(
            ReasonCode::ExcludedForm,
            format!(
                "{} is a domesticated form excluded from the Appendices by name ({excluded}); the Convention does not apply",
                taxon.submitted_name.as_deref().unwrap_or(&taxon.accepted_name)
            ),
            "Appendices, Interpretation (excluded domesticated forms)",
            evidence,
        );
        return;
    }
    if taxon.via_synonym {
        ctx.push(
            ReasonCode::SynonymResolved,
            format!(
                "the submitted name {} is a synonym of {}; the accepted taxon {} was checked and the submitted name is kept for the record",
                taxon
                    .submitted_name
                    .as_deref()
                    .or(ctx.app.taxon_name())
                    .unwrap_or("(not given)"),
                taxon.accepted_name,
                taxon.id
            ),
            "Res. Conf. 12.11 (standard nomenclature)",
            evidence,
        );
    }
}

/// Rule 2: the listing on the trade date, its consistency with the application, and whether it
/// changes between the issue date and the trade date.
pub(super) fn listing(ctx: &mut Ctx<'_>) {
    facts_consistency(ctx);
    let at_trade = &ctx.facts.listing_at_trade;
    let at_issue = &ctx.facts.listing_at_issue;
    let changed = listing_key(at_issue) != listing_key(at_trade);
    let change_evidence = || Evidence::ListingChange {
        at_issue: listing_ref(at_issue),
        at_trade: listing_ref(at_trade),
    };

    match &at_trade.status {
        ListingStatus::NotListed => {
            ctx.push(
                ReasonCode::NotListed,
                format!(
                    "{} is in no Appendix on the trade date {}; the Convention does not apply (national law may)",
                    ctx.facts.taxon.accepted_name, at_trade.date
                ),
                "Art. II",
                Evidence::Listing(listing_ref(at_trade)),
            );
        }
        ListingStatus::DependsOnPopulation { appendices } => {
            let names: Vec<&str> = appendices.iter().map(|a| a.as_str()).collect();
            ctx.push(
                ReasonCode::ListingNeedsReview,
                format!(
                    "the populations of {} are split between Appendices {} and the population of this specimen could not be decided from the annotations",
                    ctx.facts.taxon.accepted_name,
                    names.join(" and ")
                ),
                "Art. I(a); Appendices, Interpretation",
                Evidence::Listing(listing_ref(at_trade)),
            );
        }
        ListingStatus::Listed { appendix } => {
            ctx.listed = Some(*appendix);
            ctx.appendix = Some(*appendix);
            if at_trade.needs_review {
                ctx.push(
                    ReasonCode::ListingNeedsReview,
                    format!(
                        "Appendix {appendix} applies, but a population clause in the annotations could not be read; confirm the population of the specimen"
                    ),
                    "Art. I(a); Appendices, Interpretation",
                    Evidence::Listing(listing_ref(at_trade)),
                );
            }
            if ctx.facts.taxon.is_hybrid {
                ctx.push(
                    ReasonCode::HybridTreatedAsListed,
                    format!(
                        "the specimen is a hybrid; it is treated as its listed parent taxon, in Appendix {appendix}"
                    ),
                    "Res. Conf. 10.17 (Rev. CoP14)",
                    Evidence::Listing(listing_ref(at_trade)),
                );
            }
        }
    }

    if changed {
        ctx.push(
            ReasonCode::ListingChangesBeforeTrade,
            format!(
                "the listing changes between the issue date {} ({}) and the trade date {} ({}), e.g. a delayed entry into force; the document must reflect the listing when the trade takes place",
                at_issue.date,
                status_words(&at_issue.status),
                at_trade.date,
                status_words(&at_trade.status)
            ),
            "Art. XV(1)(c); Res. Conf. 12.3 (Rev. CoP19)",
            change_evidence(),
        );
    }
}

fn status_words(status: &ListingStatus) -> String {
    match status {
        ListingStatus::Listed { appendix } => format!("Appendix {appendix}"),
        ListingStatus::NotListed => "not listed".to_owned(),
        ListingStatus::DependsOnPopulation { appendices } => format!(
            "Appendices {} by population",
            appendices
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join("/")
        ),
    }
}

/// What must stay equal between two dates for the listing to count as unchanged: the status and
/// each deciding Appendix with its annotations.
/// A deciding Appendix with its # symbol and annotation text.
type DecidingKey<'l> = (Appendix, Option<&'l str>, Option<&'l str>);

fn listing_key(listing: &ListingFacts) -> (ListingStatus, Vec<DecidingKey<'_>>) {
    let mut rows: Vec<DecidingKey<'_>> = listing
        .deciding
        .iter()
        .map(|row| {
            (
                row.appendix,
                row.hash_annotation
                    .as_ref()
                    .and_then(|hash| hash.symbol.as_deref()),
                row.annotation.as_deref(),
            )
        })
        .collect();
    rows.sort_unstable();
    rows.dedup();
    (listing.status.clone(), rows)
}

fn facts_consistency(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let facts = ctx.facts;
    let mut problems: Vec<String> = Vec::new();
    for (name, listing, date) in [
        ("trade", &facts.listing_at_trade, app.date_trade()),
        ("issue", &facts.listing_at_issue, app.date_issue()),
    ] {
        if listing.date != date {
            problems.push(format!(
                "the listing at {name} date was derived for {} but the application's {name} date is {date}",
                listing.date
            ));
        }
        if let Some(row) = listing
            .deciding
            .iter()
            .find(|row| row.effective_at > listing.date)
        {
            problems.push(format!(
                "listing change {} takes effect on {}, after the {name} date {}",
                row.listing_id, row.effective_at, listing.date
            ));
        }
        if let Some(appendix) = listed_appendix(&listing.status)
            && !listing.deciding.iter().any(|row| row.appendix == appendix)
        {
            problems.push(format!(
                "the listing at {name} date says Appendix {appendix} but no deciding listing change is for that Appendix"
            ));
        }
        if let Some(country) = listing.population_country
            && country != app.origin_or_exporter()
        {
            problems.push(format!(
                "the listing at {name} date is for the population of {country}, but the specimen comes from {}",
                app.origin_or_exporter()
            ));
        }
    }
    if let Some(id) = app.taxon_id()
        && id != facts.taxon.id
        && !facts.taxon.via_synonym
    {
        problems.push(format!(
            "the application names taxon {id} but the facts are for taxon {}",
            facts.taxon.id
        ));
    }
    if !problems.is_empty() {
        ctx.push(
            ReasonCode::FactsInconsistent,
            format!(
                "the facts gathered do not match the application: {}",
                problems.join("; ")
            ),
            "Res. Conf. 12.3 (Rev. CoP19)",
            Evidence::Facts {
                detail: problems.join("; "),
            },
        );
    }
}

/// Rule 3: plant # annotations (part or derivative not covered) and fauna "exclusive purpose"
/// annotations (specimen outside them treated as Appendix I).
pub(super) fn annotation(ctx: &mut Ctx<'_>) {
    let Some(appendix) = ctx.listed else {
        return;
    };
    let facts = ctx.facts;
    let app = ctx.app;
    let specimen = Specimen {
        term: app.term(),
        source: app.source(),
        purpose_is_commercial: app.purpose().code() == "T",
        origin: app.origin_or_exporter(),
        taxon: &facts.taxon,
    };
    let rows = facts
        .listing_at_trade
        .deciding
        .iter()
        .filter(|row| row.appendix == appendix);

    match facts.taxon.kingdom {
        // Appendix I plants are covered in all their parts and derivatives (Art. I(b)(iii)).
        Kingdom::Plantae if appendix != Appendix::I => {
            let Some((row, hash)) = rows
                .filter_map(|row| row.hash_annotation.as_ref().map(|hash| (row, hash)))
                .next()
            else {
                return;
            };
            let symbol = hash.symbol.clone();
            let version = symbol
                .as_deref()
                .and_then(annotation::hash_version)
                .map_or_else(
                    || format!("in force from {}", row.effective_at),
                    str::to_owned,
                );
            let evidence = |clause: String| Evidence::Annotation {
                listing_id: row.listing_id,
                symbol: symbol.clone(),
                version: version.clone(),
                text: hash.note.clone(),
                term: app.term(),
                clause,
            };
            let coverage = symbol
                .as_deref()
                .and_then(annotation::hash_number)
                .and_then(|number| annotation::hash_coverage(number, &specimen));
            match coverage {
                Some(Coverage::Covered(_)) => {}
                Some(Coverage::NotCovered(clause)) => ctx.push(
                    ReasonCode::NotControlledAnnotation,
                    format!(
                        "annotation {} limits the listing of {} to certain parts and derivatives, and {} ({}) is not one of them: {clause}",
                        symbol.as_deref().unwrap_or("#"),
                        facts.taxon.accepted_name,
                        app.term().code(),
                        app.term().description()
                    ),
                    "Art. I(b)(iii); Appendices, Interpretation para. 7",
                    evidence(clause.clone()),
                ),
                Some(Coverage::Review(clause)) => ctx.push(
                    ReasonCode::AnnotationNeedsReview,
                    format!(
                        "annotation {}: {clause}",
                        symbol.as_deref().unwrap_or("#")
                    ),
                    "Art. I(b)(iii); Appendices, Interpretation para. 7",
                    evidence(clause.clone()),
                ),
                None => ctx.push(
                    ReasonCode::AnnotationNeedsReview,
                    format!(
                        "annotation {} is not one the rules know; read its text to decide whether {} is covered",
                        symbol.as_deref().unwrap_or("(no symbol)"),
                        app.term().code()
                    ),
                    "Art. I(b)(iii); Appendices, Interpretation para. 7",
                    evidence("unknown annotation".to_owned()),
                ),
            }
        }
        Kingdom::Animalia if appendix == Appendix::II => {
            let Some((row, parsed)) = rows
                .filter_map(|row| {
                    let text = row.annotation.as_deref()?;
                    annotation::exclusive_purpose(text).map(|parsed| (row, parsed))
                })
                .next()
            else {
                return;
            };
            let evidence = |clause: String| Evidence::Annotation {
                listing_id: row.listing_id,
                symbol: None,
                version: format!("in force from {}", row.effective_at),
                text: row.annotation.clone(),
                term: app.term(),
                clause,
            };
            match parsed.coverage(&specimen) {
                Coverage::Covered(_) => {}
                Coverage::NotCovered(clause) => {
                    ctx.appendix = Some(Appendix::I);
                    ctx.push(
                        ReasonCode::ReferredToAppIByAnnotation,
                        format!(
                            "this population of {} is in Appendix II only for the purposes its annotation lists; {} ({}) is not among them, so the specimen is treated as Appendix I",
                            facts.taxon.accepted_name,
                            app.term().code(),
                            app.term().description()
                        ),
                        "Art. I(b); Appendices, Interpretation (split-listing annotations)",
                        evidence(clause),
                    );
                }
                Coverage::Review(clause) => ctx.push(
                    ReasonCode::AnnotationNeedsReview,
                    format!(
                        "the Appendix II listing of this population of {} is for exclusive purposes: {clause}",
                        facts.taxon.accepted_name
                    ),
                    "Art. I(b); Appendices, Interpretation (split-listing annotations)",
                    evidence(clause.clone()),
                ),
            }
        }
        Kingdom::Plantae | Kingdom::Animalia => {}
    }
}

/// Rule 3, fail closed: an annotation on the deciding Appendix II or III listing whose text
/// holds a sentence the rules cannot account for ([`annotation::unread`]) may restrict this
/// trade; the decision goes to review with the sentences quoted, never to a plain ALLOW. An
/// "exclusive purpose" annotation is read item by item by [`annotation()`] instead.
pub(super) fn unread_annotation(ctx: &mut Ctx<'_>) {
    let Some(appendix) = ctx.listed else {
        return;
    };
    if appendix == Appendix::I {
        // Nothing an annotation says can make Appendix I stricter; populations moved out of
        // it are the listing's to read.
        return;
    }
    let facts = ctx.facts;
    let app = ctx.app;
    for row in facts
        .listing_at_trade
        .deciding
        .iter()
        .filter(|row| row.appendix == appendix)
    {
        let Some(text) = row.annotation.as_deref() else {
            continue;
        };
        // Read item by item by the rule above (an Appendix II fauna listing); anywhere else an
        // exclusive-purpose clause is one more sentence the rules do not read.
        let read_above = facts.taxon.kingdom == Kingdom::Animalia && appendix == Appendix::II;
        if read_above && annotation::exclusive_purpose(text).is_some() {
            continue;
        }
        let unread = annotation::unread(text);
        if unread.is_empty() {
            continue;
        }
        let quoted = unread
            .iter()
            .map(|sentence| format!("\"{sentence}\""))
            .collect::<Vec<_>>()
            .join(" ");
        ctx.push(
            ReasonCode::AnnotationNeedsReview,
            format!(
                "the annotation of the Appendix {appendix} listing of {} says what the rules cannot read: {quoted}; read it to decide whether it restricts this trade",
                facts.taxon.accepted_name
            ),
            "Art. I(b); Appendices, Interpretation",
            Evidence::Annotation {
                listing_id: row.listing_id,
                symbol: row.hash_annotation.as_ref().and_then(|h| h.symbol.clone()),
                version: format!("in force from {}", row.effective_at),
                text: Some(text.to_owned()),
                term: app.term(),
                clause: format!("not read: {quoted}"),
            },
        );
    }
}
