//! Checklist rules 6 to 9: purpose, source, suspensions and quotas.

use domain::{Appendix, Kingdom};
use rust_decimal::Decimal;

use super::Ctx;
use crate::annotation;
use crate::decision::{Box11a, Evidence, ReasonCode, Role};
use crate::facts::{QuotaFact, SuspensionFact, SuspensionKind};
use crate::input::Transaction;

/// Words in a suspension's notes that signal a condition the structured fields do not encode
/// ("except specimens from ranching operations", "under an export quota agreed with the
/// Secretariat"). Such suspensions go to a person instead of refusing outright.
pub const SUSPENSION_CONDITION_WORDS: [&str; 12] = [
    "except",
    "unless",
    "provided",
    "subject to",
    "only if",
    "quota",
    "other than",
    "excluding",
    "exception",
    "ranch",
    "agreed",
    "condition",
];

/// Rule 6: purpose. Appendix I specimens may not be traded for primarily commercial purposes;
/// unusual term/purpose and term/unit pairs are noted.
pub(super) fn purpose(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let source = app.source().code();
    let commercial = app.purpose().code() == "T";
    let exempt =
        source == "D" || (source == "O" && app.documents().pre_convention_certificate().is_some());
    if ctx.appendix == Some(Appendix::I) && commercial && !exempt && !ctx.non_party {
        let legal_reference = match (source, app.transaction()) {
            ("C" | "A", _) => "Art. VII(4); Art. VII(5); Res. Conf. 5.10 (Rev. CoP15)",
            (_, Transaction::Export) => {
                "Art. III(2)(d); Art. III(3)(c); Res. Conf. 5.10 (Rev. CoP15)"
            }
            (_, Transaction::ReExport) => {
                "Art. III(4)(c); Art. III(3)(c); Res. Conf. 5.10 (Rev. CoP15)"
            }
            (_, Transaction::Import) => "Art. III(3)(c); Res. Conf. 5.10 (Rev. CoP15)",
            (_, Transaction::IntroductionFromTheSea) => {
                "Art. III(5)(c); Res. Conf. 5.10 (Rev. CoP15)"
            }
        };
        let why_not_exempt = match source {
            "C" | "A" => {
                " Captive-bred or artificially propagated Appendix I specimens are traded commercially only from registered operations (source D)."
            }
            _ => "",
        };
        ctx.push(
            ReasonCode::AppIPrimarilyCommercial,
            format!(
                "{} is treated as Appendix I, and Appendix I specimens may not be traded for primarily commercial purposes (purpose T).{why_not_exempt}",
                ctx.facts.taxon.accepted_name
            ),
            legal_reference,
            Evidence::Purpose {
                purpose: app.purpose(),
                term: app.term(),
                appendix: ctx.appendix,
                usual: None,
            },
        );
    }

    let notes = app.term().notes();
    if let Some(purposes) = notes_list(notes, "SAPI-accepted purposes:")
        && !purposes.contains(app.purpose().code())
    {
        ctx.push(
            ReasonCode::TermPurposeUnusual,
            format!(
                "{} ({}) is not usually traded for purpose {} ({}); the usual purposes are {purposes}",
                app.term().code(),
                app.term().description(),
                app.purpose().code(),
                app.purpose().description()
            ),
            "CITES annual report guidelines (term/purpose pairs)",
            Evidence::Purpose {
                purpose: app.purpose(),
                term: app.term(),
                appendix: ctx.appendix,
                usual: Some(purposes.to_owned()),
            },
        );
    }
    if let Some(units) = notes_list(notes, "SAPI-accepted units:") {
        let unit = app.quantity().unit();
        let usual = units
            .split_whitespace()
            .any(|u| u == unit.code() || (unit.is_count() && u.starts_with("blank")));
        if !usual {
            ctx.push(
                ReasonCode::TermUnitUnusual,
                format!(
                    "{} ({}) is not usually reported in {} ({}); the usual units are {units}",
                    app.term().code(),
                    app.term().description(),
                    unit.code(),
                    unit.description()
                ),
                "CITES annual report guidelines (term/unit pairs)",
                Evidence::Purpose {
                    purpose: app.purpose(),
                    term: app.term(),
                    appendix: ctx.appendix,
                    usual: Some(units.to_owned()),
                },
            );
        }
    }
}

/// The value after `label` in a code list's notes, up to the next `;`.
fn notes_list<'n>(notes: &'n str, label: &str) -> Option<&'n str> {
    let start = notes.find(label)? + label.len();
    let rest = &notes[start..];
    let end = rest.find(';').unwrap_or(rest.len());
    let value = rest[..end].trim();
    (!value.is_empty()).then_some(value)
}

/// Rule 7: the source code against the kingdom, the Appendix, the transaction and the
/// documents it needs.
pub(super) fn source(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let facts = ctx.facts;
    let source = app.source();
    let kingdom = facts.taxon.kingdom;
    let docs = app.documents();
    let evidence = |appendix: Option<Appendix>| Evidence::Source {
        source,
        kingdom,
        appendix,
        first_listing_date: None,
        pre_convention_date: None,
    };

    if !source.valid_for(kingdom) {
        ctx.push(
            ReasonCode::SourceInvalidForKingdom,
            format!(
                "source {} ({}) cannot be used for {}",
                source.code(),
                source.description(),
                match kingdom {
                    Kingdom::Animalia => "animals",
                    Kingdom::Plantae => "plants",
                }
            ),
            "Res. Conf. 12.3 (Rev. CoP19), source codes",
            evidence(ctx.appendix),
        );
    }
    if app.transaction() == Transaction::IntroductionFromTheSea && source.code() != "X" {
        ctx.push(
            ReasonCode::SourceInvalidForTransaction,
            format!(
                "an introduction from the sea is of specimens taken in the marine environment not under any State's jurisdiction (source X), not source {}",
                source.code()
            ),
            "Art. I(e); Res. Conf. 14.6 (Rev. CoP16)",
            evidence(ctx.appendix),
        );
    }

    match source.code() {
        "D" => {
            if ctx.listed.is_some()
                && ctx.listed != Some(Appendix::I)
                && ctx.appendix != Some(Appendix::I)
            {
                ctx.push(
                    ReasonCode::SourceDRequiresAppI,
                    format!(
                        "source D is for Appendix I specimens bred in captivity or artificially propagated for commercial purposes; {} is in Appendix {}",
                        facts.taxon.accepted_name,
                        ctx.listed.map_or("?", Appendix::as_str)
                    ),
                    "Art. VII(4); Res. Conf. 12.10 (Rev. CoP15)",
                    evidence(ctx.appendix),
                );
            } else if docs.captive_breeding_registration().is_none() {
                ctx.push(
                    ReasonCode::SourceDRequiresRegistration,
                    "source D requires an operation (animals) or nursery (plants) on the Secretariat's register; no registration number was given".to_owned(),
                    "Art. VII(4); Res. Conf. 12.10 (Rev. CoP15); Res. Conf. 9.19 (Rev. CoP15)",
                    evidence(ctx.appendix),
                );
            } else if ctx.appendix == Some(Appendix::I) {
                ctx.push(
                    ReasonCode::DeemedAppII,
                    format!(
                        "Appendix I specimens from registered operation {} are deemed Appendix II: commercial trade is allowed and no import permit is needed",
                        docs.captive_breeding_registration().unwrap_or("")
                    ),
                    "Art. VII(4); Res. Conf. 12.10 (Rev. CoP15)",
                    evidence(ctx.appendix),
                );
            }
        }
        "O" => {
            let pre_convention_date = docs.pre_convention_date();
            let first = facts.first_listing_date;
            let evidence = Evidence::Source {
                source,
                kingdom,
                appendix: ctx.appendix,
                first_listing_date: first,
                pre_convention_date,
            };
            if docs.pre_convention_certificate().is_none() {
                ctx.push(
                    ReasonCode::MissingPreConventionCertificate,
                    "pre-Convention specimens (source O) travel on a pre-Convention certificate; none was given".to_owned(),
                    "Art. VII(2); Res. Conf. 13.6 (Rev. CoP18)",
                    evidence.clone(),
                );
            }
            match (pre_convention_date, first) {
                (Some(acquired), Some(first)) if acquired >= first => ctx.push(
                    ReasonCode::SourceONotPreConvention,
                    format!(
                        "the specimen was acquired on {acquired}, on or after {first}, when the Convention first applied to the taxon"
                    ),
                    "Art. VII(2); Res. Conf. 13.6 (Rev. CoP18)",
                    evidence,
                ),
                (None, Some(first)) => ctx.push(
                    ReasonCode::SourceONotPreConvention,
                    format!(
                        "no acquisition date was given, so acquisition before {first} (when the Convention first applied to the taxon) is not shown"
                    ),
                    "Art. VII(2); Res. Conf. 13.6 (Rev. CoP18)",
                    evidence,
                ),
                (_, None) => ctx.push(
                    ReasonCode::PreConventionDateUnverified,
                    "the date the Convention first applied to the taxon is not known, so the pre-Convention claim cannot be verified".to_owned(),
                    "Art. VII(2); Res. Conf. 13.6 (Rev. CoP18)",
                    evidence,
                ),
                (Some(_), Some(_)) => {}
            }
        }
        "I" if docs.lawful_disposal_reference().is_none() => {
            ctx.push(
                ReasonCode::SourceIRequiresDisposalEvidence,
                "confiscated or seized specimens (source I) may be traded only after lawful disposal by the authorities; no disposal decision was referenced".to_owned(),
                "Art. VIII(4); Res. Conf. 17.8",
                evidence(ctx.appendix),
            );
        }
        "U" => {
            ctx.push(
                ReasonCode::SourceUNeedsJustification,
                "source unknown (U) must be justified by the Management Authority before a document is issued".to_owned(),
                "Res. Conf. 12.3 (Rev. CoP19), source codes",
                evidence(ctx.appendix),
            );
        }
        _ => {}
    }
}

/// Rule 8: suspensions (CITES recommendations, national bans, notices).
pub(super) fn suspensions(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let facts = ctx.facts;
    let date = app.date_trade();
    // One line per notification: Species+ lists a notification once per record it covers.
    let mut told: Vec<(String, ReasonCode)> = Vec::new();
    for suspension in &facts.suspensions {
        let in_window =
            suspension.start_date <= date && suspension.end_date.is_none_or(|end| date < end);
        if !in_window || !taxon_matches(ctx, suspension) || !scope_matches(ctx, suspension) {
            continue;
        }
        // No longer current, its end unknown: withdrawn before today, but a past trade date
        // may still fall inside it.
        let withdrawn_at_unknown_date =
            suspension.end_date.is_none() && suspension.is_current == Some(false);
        if withdrawn_at_unknown_date && date >= facts.today {
            continue;
        }
        let role = if suspension.country == app.exporter() {
            Role::Exporter
        } else if suspension.country == app.importer() && suspension.applies_to_import {
            Role::Importer
        } else if app.transaction() == Transaction::ReExport
            && app.origin() == Some(suspension.country)
        {
            Role::Origin
        } else {
            continue;
        };
        let evidence = Evidence::Suspension {
            suspension_id: suspension.id,
            measure: suspension.kind,
            notification: suspension.notification.clone(),
            start_date: suspension.start_date,
            taxon_id: suspension.taxon_id,
            country: suspension.country,
            role,
            applies_to_import: suspension.applies_to_import,
            notes: suspension.notes.clone(),
        };
        let notification = suspension.notification.as_deref().map_or_else(
            || format!("suspension {}", suspension.id),
            |n| format!("Notification {n}"),
        );
        let scope = match role {
            Role::Exporter => format!("trade from {}", suspension.country),
            Role::Importer => format!("imports into {}", suspension.country),
            Role::Origin => format!("specimens originating in {}", suspension.country),
        };
        let mut push = |ctx: &mut Ctx<'_>,
                        code: ReasonCode,
                        message: String,
                        legal_reference: &'static str| {
            let key = (notification.clone(), code);
            if !told.contains(&key) {
                told.push(key);
                ctx.push(code, message, legal_reference, evidence.clone());
            }
        };
        let quoted = suspension
            .notes
            .as_deref()
            .map_or_else(String::new, |n| format!(": \"{n}\""));
        if withdrawn_at_unknown_date {
            push(
                ctx,
                ReasonCode::MeasurePossiblyInForce,
                format!(
                    "{notification} concerns {scope} from {}; Species+ no longer lists it as current but gives no end date, so it may have been in force on the trade date {date}{quoted}",
                    suspension.start_date
                ),
                "Art. XIII; Res. Conf. 14.3 (Rev. CoP18)",
            );
            continue;
        }
        if let Some(why) = &suspension.scope_unread {
            push(
                ctx,
                ReasonCode::MeasureScopeUnknown,
                format!(
                    "{notification} concerns {scope} in this taxon, but {why}: a person must decide whether it covers this trade{quoted}"
                ),
                "Art. XIII; Art. XIV(1); Res. Conf. 14.3 (Rev. CoP18)",
            );
            continue;
        }
        match suspension.kind {
            SuspensionKind::Cites if role == Role::Origin => push(
                ctx,
                ReasonCode::SuspensionAffectsOrigin,
                format!(
                    "{notification} recommends suspending trade in this taxon from {}, the country of origin of this re-export; a person must decide whether it reaches re-exports",
                    suspension.country
                ),
                "Art. XIII; Res. Conf. 14.3 (Rev. CoP18)",
            ),
            SuspensionKind::Cites if suspension.notes.as_deref().is_some_and(has_conditions) => {
                ctx.conditional_suspensions.push(suspension.id);
                push(
                    ctx,
                    ReasonCode::SuspensionConditions,
                    format!(
                        "{notification} recommends suspending {scope}, with conditions in its notes that a person must check: {}",
                        suspension.notes.as_deref().unwrap_or("")
                    ),
                    "Art. XIII; Res. Conf. 14.3 (Rev. CoP18); Res. Conf. 12.8 (Rev. CoP18)",
                );
            }
            SuspensionKind::Cites => push(
                ctx,
                ReasonCode::Suspended,
                format!(
                    "{notification} recommends suspending {scope} in this taxon, and it is in force on the trade date {date}"
                ),
                "Art. XIII; Res. Conf. 14.3 (Rev. CoP18); Res. Conf. 12.8 (Rev. CoP18)",
            ),
            // A Party's own stricter measure binds that Party's decisions (Art. XIV(1)); for
            // anyone else it is worth knowing, never binding.
            SuspensionKind::NationalBan if suspension.country == app.issuing_party() => push(
                ctx,
                ReasonCode::Suspended,
                format!(
                    "{} has a national measure banning {scope} in this taxon ({notification}); as the issuing Party's own measure it binds this document",
                    suspension.country
                ),
                "Art. XIV(1)",
            ),
            SuspensionKind::NationalBan | SuspensionKind::InformationNotice => push(
                ctx,
                ReasonCode::TradeMeasureNote,
                format!(
                    "{notification} of {} concerns {scope}; it is {}'s own measure, which does not bind this document but is worth knowing{quoted}",
                    suspension.country, suspension.country
                ),
                "Art. XIV(1)",
            ),
        }
    }
}

fn has_conditions(notes: &str) -> bool {
    let lower = notes.to_lowercase();
    SUSPENSION_CONDITION_WORDS
        .iter()
        .any(|word| lower.contains(word))
}

/// The suspension names the taxon, one of its ancestors, or no taxon (country-wide), and does
/// not exclude the taxon or an ancestor.
fn taxon_matches(ctx: &Ctx<'_>, suspension: &SuspensionFact) -> bool {
    let taxon = &ctx.facts.taxon;
    let in_lineage = |id| id == taxon.id || taxon.ancestor_ids.contains(&id);
    suspension.taxon_id.is_none_or(in_lineage)
        && !suspension
            .excluded_taxon_ids
            .iter()
            .any(|id| in_lineage(*id))
}

fn scope_matches(ctx: &Ctx<'_>, suspension: &SuspensionFact) -> bool {
    let app = ctx.app;
    (suspension.sources.is_empty() || suspension.sources.contains(&app.source()))
        && (suspension.purposes.is_empty() || suspension.purposes.contains(&app.purpose()))
        && (suspension.terms.is_empty() || suspension.terms.contains(&app.term()))
}

/// Rule 9: export quotas, including zero quotas written into listing annotations. Re-exports
/// and confiscated specimens (source I) do not count against the exporter's quota.
pub(super) fn quotas(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let facts = ctx.facts;
    if app.transaction() != Transaction::Export || app.source().code() == "I" {
        return;
    }
    annotation_zero_quota(ctx);

    let requested = app.quantity();
    let mut candidates: Vec<(&QuotaFact, Decimal, Decimal)> = Vec::new(); // (quota, limit, requested in its unit)
    let applicable: Vec<&QuotaFact> = facts
        .quotas
        .iter()
        .filter(|quota| quota_applies(ctx, quota))
        .collect();
    for quota in applicable {
        let evidence = |requested_in_unit: Option<Decimal>| Evidence::Quota {
            quota_id: quota.id,
            speciesplus_id: quota.speciesplus_id,
            limit: quota.limit,
            held: quota.held,
            committed: quota.committed,
            exported: quota.exported,
            requested: requested.amount(),
            requested_unit: requested.unit(),
            requested_in_quota_unit: requested_in_unit,
            remaining: quota.limit.map(|limit| remaining(quota, limit)),
            unit: quota.unit,
            scope: scope_unverified(quota),
            basis: quota.basis.clone(),
            notes: quota.notes.clone(),
        };
        let legal_reference = quota_reference(quota);
        let Some(limit) = quota.limit else {
            ctx.push(
                ReasonCode::QuotaInPreparation,
                format!(
                    "{}'s export quota {} for this taxon in {} is in preparation; no amount has been published to count this export against",
                    quota.exporter, quota.id, quota.period
                ),
                legal_reference,
                evidence(None),
            );
            continue;
        };
        if limit.is_zero() {
            ctx.push(
                ReasonCode::ZeroQuota,
                format!(
                    "{}'s export quota {} for this taxon and specimen type is zero for {}",
                    quota.exporter, quota.id, quota.period
                ),
                legal_reference,
                evidence(None),
            );
            continue;
        }
        let Ok(in_unit) = requested.convert_to(quota.unit) else {
            ctx.push(
                ReasonCode::UnitMismatch,
                format!(
                    "quota {} is in {} ({}) and the request in {} ({}); they cannot be compared exactly",
                    quota.id,
                    quota.unit,
                    quota.unit.dimension(),
                    requested.unit(),
                    requested.unit().dimension()
                ),
                legal_reference,
                evidence(None),
            );
            continue;
        };
        let amount = in_unit.amount();
        if used(quota).saturating_add(amount) > limit {
            // Every figure with its own unit: the request as sent, and in the quota's unit.
            let asked = if requested.unit() == quota.unit {
                format!("{amount} {}", quota.unit)
            } else {
                format!(
                    "{amount} {} ({} {} as requested)",
                    quota.unit,
                    requested.amount(),
                    requested.unit()
                )
            };
            ctx.push(
                ReasonCode::QuotaExceeded,
                format!(
                    "quota {} is {limit} {unit}: {} {unit} held, {} {unit} committed and {} {unit} exported leave {} {unit}, less than the {asked} requested",
                    quota.id,
                    quota.held,
                    quota.committed,
                    quota.exported,
                    remaining(quota, limit),
                    unit = quota.unit,
                ),
                legal_reference,
                evidence(Some(amount)),
            );
        } else if ctx.quota_as_ndf.is_none() {
            ctx.quota_as_ndf = Some(quota.id);
        }
        candidates.push((quota, limit, amount));
    }

    ctx.quotas_counted = candidates
        .iter()
        .map(|(quota, limit, amount)| box_11a(quota, *limit, *amount))
        .collect();
    // Box 11a shows the quota that binds most tightly: the least left after this application.
    ctx.box_11a = candidates
        .into_iter()
        .min_by_key(|(quota, limit, amount)| {
            limit.saturating_sub(used(quota)).saturating_sub(*amount)
        })
        .map(|(quota, limit, amount)| box_11a(quota, limit, amount));
}

/// A quota's box 11a figures for a request of `amount` in its unit.
fn box_11a(quota: &QuotaFact, limit: Decimal, amount: Decimal) -> Box11a {
    let already_used = quota.committed.saturating_add(quota.exported);
    Box11a {
        quota_id: quota.id,
        quota: limit,
        already_used,
        this_application: amount,
        total_after: already_used.saturating_add(amount),
        unit: quota.unit,
        period_start: quota.period.start(),
        period_end_inclusive: quota.period.last_day().unwrap_or(quota.period.end()),
    }
}

/// Held, committed and exported: everything the quota already accounts for. Saturating, so
/// absurd ledger figures refuse rather than panic.
fn used(quota: &QuotaFact) -> Decimal {
    quota
        .held
        .saturating_add(quota.committed)
        .saturating_add(quota.exported)
}

fn remaining(quota: &QuotaFact, limit: Decimal) -> Decimal {
    limit.saturating_sub(used(quota)).max(Decimal::ZERO)
}

fn quota_reference(quota: &QuotaFact) -> &'static str {
    match quota.basis.as_deref() {
        Some(basis) if basis.contains("10.14") => {
            "Res. Conf. 10.14 (Rev. CoP19); Res. Conf. 14.7 (Rev. CoP15)"
        }
        Some(basis) if basis.contains("10.15") => {
            "Res. Conf. 10.15 (Rev. CoP14); Res. Conf. 14.7 (Rev. CoP15)"
        }
        Some(basis) if basis.contains("13.5") => {
            "Res. Conf. 13.5 (Rev. CoP18); Res. Conf. 14.7 (Rev. CoP15)"
        }
        Some(basis) if basis.contains("10.10") => {
            "Res. Conf. 10.10 (Rev. CoP19); Res. Conf. 14.7 (Rev. CoP15)"
        }
        _ => "Art. IV(3); Res. Conf. 14.7 (Rev. CoP15)",
    }
}

fn quota_applies(ctx: &Ctx<'_>, quota: &QuotaFact) -> bool {
    let app = ctx.app;
    let taxon = &ctx.facts.taxon;
    (quota.taxon_id == taxon.id
        || taxon.ancestor_ids.contains(&quota.taxon_id)
        || taxon.merged_ids.contains(&quota.taxon_id))
        && quota.exporter == app.exporter()
        && quota.period.contains(app.date_issue())
        && (quota.terms.is_empty() || quota.terms.contains(&app.term()))
        && (quota.sources.is_empty() || quota.sources.contains(&app.source()))
        && (quota.purposes.is_empty() || quota.purposes.contains(&app.purpose()))
}

/// A Species+ quota whose restriction the ledger does not hold (no term, source or purpose):
/// what its notes say it covers is not verified, and it is counted against every specimen.
fn scope_unverified(quota: &QuotaFact) -> Option<String> {
    let unrestricted =
        quota.terms.is_empty() && quota.sources.is_empty() && quota.purposes.is_empty();
    (quota.speciesplus_id.is_some() && unrestricted).then(|| match quota.notes.as_deref() {
        Some(notes) if !notes.trim().is_empty() => format!(
            "from the notes, unverified: Species+ gives this quota's scope only as \"{}\"; it is counted against every term, source and purpose",
            notes.trim()
        ),
        _ => "unrestricted as published: Species+ gives no term, source or purpose for this quota".to_owned(),
    })
}

/// Zero export quotas written into the deciding listing annotation, e.g. "zero annual export
/// quota for wild specimens traded for commercial purposes".
fn annotation_zero_quota(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let facts = ctx.facts;
    let Some(appendix) = ctx.listed else {
        return;
    };
    for row in facts
        .listing_at_trade
        .deciding
        .iter()
        .filter(|row| row.appendix == appendix)
    {
        let Some(text) = row.annotation.as_deref() else {
            continue;
        };
        let Some((wild_only, commercial_only)) = annotation::zero_quota(text) else {
            continue;
        };
        if (wild_only && app.source().code() != "W")
            || (commercial_only && app.purpose().code() != "T")
        {
            continue;
        }
        ctx.push(
            ReasonCode::ZeroQuota,
            format!(
                "the Appendix {appendix} listing of {} sets a zero export quota that covers this export: {text}",
                facts.taxon.accepted_name
            ),
            "Appendices annotation; Res. Conf. 14.7 (Rev. CoP15)",
            Evidence::Annotation {
                listing_id: row.listing_id,
                symbol: None,
                version: format!("in force from {}", row.effective_at),
                text: Some(text.to_owned()),
                term: app.term(),
                clause: "zero export quota".to_owned(),
            },
        );
        return;
    }
}
