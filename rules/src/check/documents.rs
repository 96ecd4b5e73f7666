//! Checklist rules 4, 5, 10, 11 and 12: Party status, the documents each Appendix and
//! transaction require, findings, validity periods and the re-export chain.

use chrono::Months;
use domain::{Appendix, Date, Quantity};

use super::Ctx;
use crate::decision::{Evidence, ReasonCode, Role};
use crate::facts::PriorDocumentStatus;
use crate::input::{PriorDocument, Transaction};

/// Longest validity of an export permit or re-export certificate, in months (Art. VI(2);
/// Res. Conf. 12.3 (Rev. CoP19)).
pub const EXPORT_VALIDITY_MONTHS_MAX: u32 = 6;

/// Longest validity of an import permit, and of an introduction-from-the-sea certificate
/// (Res. Conf. 12.3 (Rev. CoP19); Art. IV(7)), in months.
pub const IMPORT_VALIDITY_MONTHS_MAX: u32 = 12;

/// Rule 4: non-Parties and reservations (Art. X, XV(3), XXIII(3); Res. Conf. 4.25).
pub(super) fn parties(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let facts = ctx.facts;
    for (role, country) in [
        (Role::Exporter, app.exporter()),
        (Role::Importer, app.importer()),
    ] {
        if role == Role::Importer && country == app.exporter() {
            continue; // Introduction from the sea: one State, already checked.
        }
        let non_party = facts.non_parties.contains(&country);
        let reservation = facts
            .listing_at_trade
            .reservations
            .iter()
            .find(|r| r.party == country && Some(r.appendix) == ctx.listed)
            .cloned();
        if !non_party && reservation.is_none() {
            continue;
        }
        ctx.non_party |= non_party;
        let role_name = match role {
            Role::Exporter => "exporter",
            Role::Importer | Role::Origin => "importer",
        };
        let scope = reservation
            .as_ref()
            .and_then(|r| r.annotation.as_deref())
            .map(str::trim)
            .filter(|text| !text.is_empty());
        let status = match (&reservation, scope) {
            (_, _) if non_party => "is not a Party to the Convention".to_owned(),
            // A reservation applies to what its text says, which the rules cannot read: a
            // person decides whether it covers this trade.
            (Some(r), Some(text)) => format!(
                "holds a reservation on the Appendix {} listing (listing change {}, from {}) whose text limits it: \"{text}\"; whether it covers this trade, and so whether the {role_name} counts as a non-Party for it, is for a person to decide",
                r.appendix, r.listing_id, r.effective_at
            ),
            (Some(r), None) => format!(
                "holds a reservation on the Appendix {} listing (listing change {}, from {}) and is treated as a non-Party for this taxon",
                r.appendix, r.listing_id, r.effective_at
            ),
            (None, _) => "is not a Party to the Convention".to_owned(),
        };
        let app_i_note = if ctx.appendix == Some(Appendix::I) && non_party {
            "; for Appendix I, Res. Conf. 4.25 recommends treating the specimen as Appendix II and reporting the trade"
        } else {
            ""
        };
        ctx.push(
            ReasonCode::ReservationOrNonParty,
            format!(
                "the {role_name} {country} {status}{}{app_i_note}",
                if scope.is_some() && !non_party {
                    ""
                } else {
                    "; trade with it needs comparable documentation under Art. X, which a person must assess"
                }
            ),
            "Art. X; Art. XV(3); Art. XXIII(3); Res. Conf. 4.25 (Rev. CoP18)",
            Evidence::Party {
                role,
                country,
                non_party,
                reservation,
            },
        );
    }
}

/// Whether Art. VII lets a certificate replace the Appendix I permits: D (deemed Appendix II),
/// C and A (captive-breeding / artificial-propagation certificate), O with a pre-Convention
/// certificate.
fn art_vii_certificate(ctx: &Ctx<'_>) -> bool {
    match ctx.app.source().code() {
        "D" | "C" | "A" => true,
        "O" => ctx.app.documents().pre_convention_certificate().is_some(),
        _ => false,
    }
}

/// The Appendix the document rules follow: Appendix I is handled as Appendix II where a
/// non-Party is involved (Art. X) and for source D (Art. VII(4)). A reservation relaxes
/// nothing on its own: it goes to review ([`parties`]), the Appendix I requirements stand.
fn documents_appendix(ctx: &Ctx<'_>) -> Option<Appendix> {
    let appendix = ctx.appendix?;
    if appendix == Appendix::I && (ctx.non_party || ctx.app.source().code() == "D") {
        return Some(Appendix::II);
    }
    Some(appendix)
}

/// Rule 5: the documents required by Appendix and transaction.
pub(super) fn documents(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let docs = app.documents();
    let transaction = app.transaction();

    if (transaction == Transaction::IntroductionFromTheSea || app.source().code() == "X")
        && docs.ifs_certificate().is_none()
    {
        ctx.push(
            ReasonCode::MissingIfsCertificate,
            format!(
                "specimens taken in the marine environment not under the jurisdiction of any State need a certificate of introduction from the sea issued by the State of introduction ({}); none was given",
                app.importer()
            ),
            "Art. III(5); Art. IV(6); Res. Conf. 14.6 (Rev. CoP16)",
            Evidence::Document {
                field: "documents.ifs_certificate",
                number: None,
                issued_on: None,
                expected: "the IFS certificate number".to_owned(),
            },
        );
    }

    let Some(appendix) = documents_appendix(ctx) else {
        return;
    };
    let listing_parties = &ctx.facts.listing_at_trade.app_iii_parties;
    match (transaction, appendix) {
        (Transaction::Export, Appendix::I) if !art_vii_certificate(ctx) => {
            import_permit(ctx, "Art. III(2)(d)");
        }
        (Transaction::ReExport, Appendix::I)
            if app.term().code() == "LIV" && !art_vii_certificate(ctx) =>
        {
            import_permit(ctx, "Art. III(4)(c)");
        }
        (Transaction::Export, Appendix::III)
            if !listing_parties.contains(&app.exporter())
                && docs.certificate_of_origin().is_none() =>
        {
            ctx.push(
                ReasonCode::MissingCertificateOfOrigin,
                format!(
                    "{} is not a Party that listed this taxon in Appendix III (listing Parties: {}); its exports need a certificate of origin, and none was given",
                    app.exporter(),
                    country_list(listing_parties)
                ),
                "Art. V(3)",
                Evidence::Document {
                    field: "documents.certificate_of_origin",
                    number: None,
                    issued_on: None,
                    expected: "a certificate of origin".to_owned(),
                },
            );
        }
        (Transaction::Import, Appendix::II) if docs.export_permit().is_none() => {
            ctx.push(
                ReasonCode::MissingExportPermit,
                format!(
                    "an Appendix II import requires prior presentation of an export permit or re-export certificate from {}; none was given",
                    app.exporter()
                ),
                "Art. IV(4)",
                Evidence::Document {
                    field: "documents.export_permit",
                    number: None,
                    issued_on: None,
                    expected: "the export permit or re-export certificate".to_owned(),
                },
            );
        }
        (Transaction::Import, Appendix::III) => {
            let from_listing_party = listing_parties.contains(&app.exporter());
            if from_listing_party && docs.export_permit().is_none() {
                ctx.push(
                    ReasonCode::MissingExportPermit,
                    format!(
                        "{} listed this taxon in Appendix III, so the import requires its export permit; none was given",
                        app.exporter()
                    ),
                    "Art. V(3)",
                    Evidence::Document {
                        field: "documents.export_permit",
                        number: None,
                        issued_on: None,
                        expected: "the export permit of the listing Party".to_owned(),
                    },
                );
            } else if !from_listing_party
                && docs.certificate_of_origin().is_none()
                && docs.export_permit().is_none()
            {
                ctx.push(
                    ReasonCode::MissingCertificateOfOrigin,
                    format!(
                        "the import from {}, which did not list this taxon in Appendix III, requires a certificate of origin (or a re-export certificate); none was given",
                        app.exporter()
                    ),
                    "Art. V(3); Art. V(4)",
                    Evidence::Document {
                        field: "documents.certificate_of_origin",
                        number: None,
                        issued_on: None,
                        expected: "a certificate of origin or re-export certificate".to_owned(),
                    },
                );
            }
        }
        _ => {}
    }
    if transaction == Transaction::Import
        && let Some(permit) = docs.export_permit()
    {
        presented_export_permit(ctx, permit);
    }
}

/// An import's presented export permit or re-export certificate: issued by the country the
/// shipment comes from, before the trade, and used within six months of its issue (Art. VI(2);
/// Res. Conf. 12.3 for re-export certificates). Whatever the Appendix: a document that is
/// presented is checked, even where none is required.
fn presented_export_permit(ctx: &mut Ctx<'_>, permit: &crate::input::PresentedPermit) {
    let app = ctx.app;
    let evidence = |expected: String| Evidence::Document {
        field: "documents.export_permit",
        number: Some(permit.number().to_owned()),
        issued_on: Some(permit.issued_on()),
        expected,
    };
    if permit.country() != app.exporter() {
        ctx.push(
            ReasonCode::ExportPermitMismatch,
            format!(
                "export permit {} was issued by {}, not by {}, the country the shipment is exported from",
                permit.number(),
                permit.country(),
                app.exporter()
            ),
            "Art. IV(4); Art. VI(2)",
            evidence(format!("issued by {}", app.exporter())),
        );
    }
    if permit.issued_on() > app.date_trade() {
        ctx.push(
            ReasonCode::ExportPermitMismatch,
            format!(
                "export permit {} was issued on {}, after the trade date {}: it cannot have covered this shipment",
                permit.number(),
                permit.issued_on(),
                app.date_trade()
            ),
            "Art. IV(4); Art. VI(2)",
            evidence(format!("issued on or before {}", app.date_trade())),
        );
    }
    let latest = add_months(permit.issued_on(), EXPORT_VALIDITY_MONTHS_MAX);
    if app.date_trade() > latest {
        ctx.push(
            ReasonCode::ExportPermitExpired,
            format!(
                "export permit {} was issued on {} and could be used until {latest}; the trade date {} is later",
                permit.number(),
                permit.issued_on(),
                app.date_trade()
            ),
            "Art. VI(2); Res. Conf. 12.3 (Rev. CoP19)",
            evidence(format!("valid on the trade date {}", app.date_trade())),
        );
    }
}

fn import_permit(ctx: &mut Ctx<'_>, legal_reference: &'static str) {
    let app = ctx.app;
    let Some(permit) = app.documents().import_permit() else {
        ctx.push(
            ReasonCode::MissingImportPermit,
            format!(
                "an Appendix I {} needs an import permit already granted by {}; none was presented",
                match app.transaction() {
                    Transaction::ReExport => "re-export of live specimens",
                    _ => "export",
                },
                app.importer()
            ),
            legal_reference,
            Evidence::Document {
                field: "documents.import_permit",
                number: None,
                issued_on: None,
                expected: "an import permit issued on or before the date of issue".to_owned(),
            },
        );
        return;
    };
    let evidence = |expected: String| Evidence::Document {
        field: "documents.import_permit",
        number: Some(permit.number().to_owned()),
        issued_on: Some(permit.issued_on()),
        expected,
    };
    if permit.issued_on() > app.date_issue() {
        ctx.push(
            ReasonCode::ImportPermitMismatch,
            format!(
                "import permit {} was issued on {}, after this document's date of issue {}; it must already have been granted",
                permit.number(),
                permit.issued_on(),
                app.date_issue()
            ),
            legal_reference,
            evidence(format!("issued on or before {}", app.date_issue())),
        );
    }
    if let Some(allowed) = permit.quantity() {
        match app.quantity().convert_to(allowed.unit()) {
            Ok(requested) if requested.amount() > allowed.amount() => ctx.push(
                ReasonCode::ImportPermitMismatch,
                format!(
                    "import permit {} covers {allowed}, less than the {} requested",
                    permit.number(),
                    app.quantity()
                ),
                legal_reference,
                evidence(format!("a quantity of at least {}", app.quantity())),
            ),
            Ok(_) => {}
            Err(_) => unit_mismatch(
                ctx,
                format!(
                    "the request in {} cannot be compared exactly with import permit {} in {}",
                    app.quantity().unit(),
                    permit.number(),
                    allowed.unit()
                ),
                "documents.import_permit.quantity",
                allowed,
            ),
        }
    }
    let latest = add_months(permit.issued_on(), IMPORT_VALIDITY_MONTHS_MAX);
    if app.date_trade() > latest {
        ctx.push(
            ReasonCode::ImportPermitExpired,
            format!(
                "import permit {} was issued on {} and is valid at most until {latest}; the trade date {} is later",
                permit.number(),
                permit.issued_on(),
                app.date_trade()
            ),
            "Res. Conf. 12.3 (Rev. CoP19)",
            evidence(format!("valid on the trade date {}", app.date_trade())),
        );
    }
    if let Some(name) = permit.taxon() {
        let taxon = &ctx.facts.taxon;
        let matches = name.eq_ignore_ascii_case(&taxon.accepted_name)
            || taxon
                .submitted_name
                .as_deref()
                .or(app.taxon_name())
                .is_some_and(|submitted| submitted.eq_ignore_ascii_case(name));
        if !matches {
            ctx.push(
                ReasonCode::ImportPermitTaxonDiffers,
                format!(
                    "import permit {} is for {name}, not {}; confirm that it names the same taxon (a synonym or a higher taxon)",
                    permit.number(),
                    taxon.accepted_name
                ),
                legal_reference,
                evidence(format!("the taxon {}", taxon.accepted_name)),
            );
        }
    }
}

/// Records a UNIT_MISMATCH between the request and a quantity on a document.
fn unit_mismatch(ctx: &mut Ctx<'_>, message: String, field: &'static str, other: Quantity) {
    let requested = ctx.app.quantity();
    ctx.push(
        ReasonCode::UnitMismatch,
        message,
        "Res. Conf. 12.3 (Rev. CoP19)",
        Evidence::Balance {
            field,
            remaining: other,
            requested,
        },
    );
}

/// Rule 10: the findings required before a document is issued.
pub(super) fn findings(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let docs = app.documents();
    let source = app.source().code();
    let vii_certificate = matches!(source, "C" | "A")
        || (source == "O" && docs.pre_convention_certificate().is_some());
    let appendix = if app.source().code() == "D" {
        ctx.appendix.map(|_| Appendix::II)
    } else {
        ctx.appendix
    };
    let ndf = match (app.transaction(), appendix) {
        (Transaction::Export, Some(Appendix::I | Appendix::II)) => {
            Some("Art. III(2)(a); Art. IV(2)(a)")
        }
        (Transaction::IntroductionFromTheSea, Some(Appendix::I | Appendix::II)) => {
            Some("Art. III(5)(a); Art. IV(6)(a)")
        }
        (Transaction::Import, Some(Appendix::I)) => Some("Art. III(3)(a)"),
        _ => None,
    };
    if let Some(legal_reference) = ndf
        && !vii_certificate
        && docs.ndf_reference().is_none()
        && !(app.transaction() == Transaction::Export && ctx.quota_as_ndf.is_some())
    {
        ctx.push(
            ReasonCode::MissingNdf,
            format!(
                "a Scientific Authority must advise that this {} will not be detrimental to the survival of the species; no non-detriment finding was referenced and no export quota stands in for one",
                match app.transaction() {
                    Transaction::Import => "import",
                    Transaction::IntroductionFromTheSea => "introduction from the sea",
                    Transaction::Export | Transaction::ReExport => "export",
                }
            ),
            legal_reference,
            Evidence::Document {
                field: "documents.ndf_reference",
                number: None,
                issued_on: None,
                expected: "a non-detriment finding reference".to_owned(),
            },
        );
    }
    if app.transaction() == Transaction::Export
        && !matches!(source, "O" | "I")
        && docs.laf_reference().is_none()
    {
        ctx.push(
            ReasonCode::MissingLaf,
            "the Management Authority must be satisfied that the specimens were legally obtained; no legal acquisition finding was referenced".to_owned(),
            "Art. III(2)(b); Art. IV(2)(b); Art. V(2)(a); Res. Conf. 18.7",
            Evidence::Document {
                field: "documents.laf_reference",
                number: None,
                issued_on: None,
                expected: "a legal acquisition finding reference".to_owned(),
            },
        );
    }
}

/// Rule 11: validity periods, trade dates and the security stamp.
pub(super) fn validity(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    let date_issue = app.date_issue();
    let date_trade = app.date_trade();
    let months = match app.transaction() {
        Transaction::Export | Transaction::ReExport => EXPORT_VALIDITY_MONTHS_MAX,
        Transaction::Import | Transaction::IntroductionFromTheSea => IMPORT_VALIDITY_MONTHS_MAX,
    };
    let latest = add_months(date_issue, months);
    let valid_until = app.documents().valid_until();
    let evidence = || Evidence::Validity {
        date_issue,
        date_trade,
        valid_until,
        latest_valid_until: latest,
        validity_months_max: months,
    };
    let legal_reference = match app.transaction() {
        Transaction::Export => "Art. VI(2); Res. Conf. 12.3 (Rev. CoP19)",
        Transaction::IntroductionFromTheSea => "Art. IV(7); Res. Conf. 12.3 (Rev. CoP19)",
        Transaction::ReExport | Transaction::Import => "Res. Conf. 12.3 (Rev. CoP19)",
    };
    if date_trade < date_issue {
        ctx.push(
            ReasonCode::TradeBeforeIssue,
            format!(
                "the trade date {date_trade} is before the date of issue {date_issue}; documents are not issued retrospectively"
            ),
            "Res. Conf. 12.3 (Rev. CoP19)",
            evidence(),
        );
    }
    match valid_until {
        Some(until) if until > latest => ctx.push(
            ReasonCode::ValidityTooLong,
            format!(
                "valid until {until} is longer than the {months} months allowed from the date of issue {date_issue} (at most {latest})"
            ),
            legal_reference,
            evidence(),
        ),
        _ => {}
    }
    let last_day = valid_until.map_or(latest, |until| until.min(latest));
    if date_trade > last_day {
        ctx.push(
            ReasonCode::Expired,
            format!(
                "the trade date {date_trade} is after the last day of validity {last_day}; an expired document is void"
            ),
            legal_reference,
            evidence(),
        );
    }
    if ctx.facts.security_stamp_required && app.documents().security_stamp().is_none() {
        ctx.push(
            ReasonCode::MissingSecurityStamp,
            format!(
                "{} uses security stamps on its CITES documents and no stamp number was given (box 5b)",
                app.issuing_party()
            ),
            "Art. VI(3); Res. Conf. 12.3 (Rev. CoP19)",
            Evidence::Document {
                field: "documents.security_stamp",
                number: None,
                issued_on: None,
                expected: "a security stamp number".to_owned(),
            },
        );
    }
}

/// Rule 12: the origin permit and last re-export certificate of a re-export, and the balance.
pub(super) fn reexport_chain(ctx: &mut Ctx<'_>) {
    let app = ctx.app;
    if app.transaction() != Transaction::ReExport {
        return;
    }
    let docs = app.documents();
    let Some(origin_permit) = docs.origin_permit().filter(|_| app.origin().is_some()) else {
        let missing = match (app.origin(), docs.origin_permit()) {
            (None, None) => {
                "neither the country of origin nor the origin permit (box 12) was given"
            }
            (None, Some(_)) => "the country of origin (box 12) was not given",
            (Some(_), _) => "the origin permit (box 12) was not given",
        };
        ctx.push(
            ReasonCode::ReexportOriginMissing,
            format!(
                "a re-export certificate must name the country of origin and its export permit; {missing}"
            ),
            "Art. III(4)(a); Art. IV(5)(a); Res. Conf. 12.3 (Rev. CoP19)",
            Evidence::ReexportChain {
                field: "documents.origin_permit",
                number: docs.origin_permit().map(|d| d.number().to_owned()),
                expected: "the country of origin and the number and date of its export permit".to_owned(),
                register_status: None,
            },
        );
        return;
    };

    for (field, document) in [
        ("documents.origin_permit", Some(origin_permit)),
        ("documents.last_reexport", docs.last_reexport()),
    ] {
        if let Some(document) = document {
            chain_document(ctx, field, document);
        }
    }

    if let Some(status) = ctx.facts.origin_permit_status
        && status != PriorDocumentStatus::Valid
    {
        let words = match status {
            PriorDocumentStatus::NotFound => "is not in the permit register",
            PriorDocumentStatus::Cancelled => "was cancelled",
            PriorDocumentStatus::Suspended => "is affected by a suspension",
            PriorDocumentStatus::Invalid | PriorDocumentStatus::Valid => "is recorded as invalid",
        };
        ctx.push(
            ReasonCode::ReexportOriginInvalid,
            format!(
                "the origin document {} {words}; a person must confirm the specimens were imported in accordance with the Convention",
                origin_permit.number()
            ),
            "Art. III(4)(a); Art. IV(5)(a)",
            Evidence::ReexportChain {
                field: "documents.origin_permit",
                number: Some(origin_permit.number().to_owned()),
                expected: "a valid origin document".to_owned(),
                register_status: Some(status),
            },
        );
    }

    // The balance that limits this re-export is the one of the immediately preceding document.
    let (field, balance_document) = match docs.last_reexport() {
        Some(last) => ("documents.last_reexport.quantity_remaining", last),
        None => ("documents.origin_permit.quantity_remaining", origin_permit),
    };
    let Some(remaining) = balance_document.quantity_remaining() else {
        ctx.push(
            ReasonCode::ReexportBalanceUnknown,
            format!(
                "the quantity still available under {} was not given, so the re-export cannot be checked against it",
                balance_document.number()
            ),
            "Res. Conf. 12.3 (Rev. CoP19)",
            Evidence::ReexportChain {
                field,
                number: Some(balance_document.number().to_owned()),
                expected: "the quantity remaining under the document".to_owned(),
                register_status: None,
            },
        );
        return;
    };
    match app.quantity().convert_to(remaining.unit()) {
        Ok(requested) if requested.amount() > remaining.amount() => ctx.push(
            ReasonCode::ReexportNoBalance,
            format!(
                "only {remaining} remains under {}, less than the {} requested",
                balance_document.number(),
                app.quantity()
            ),
            "Art. III(4)(a); Art. IV(5)(a); Res. Conf. 12.3 (Rev. CoP19)",
            Evidence::Balance {
                field,
                remaining,
                requested: app.quantity(),
            },
        ),
        Ok(_) => {}
        Err(_) => unit_mismatch(
            ctx,
            format!(
                "the request in {} cannot be compared exactly with the balance of {} in {}",
                app.quantity().unit(),
                balance_document.number(),
                remaining.unit()
            ),
            field,
            remaining,
        ),
    }
}

fn chain_document(ctx: &mut Ctx<'_>, field: &'static str, document: &PriorDocument) {
    let app = ctx.app;
    let mut problems: Vec<String> = Vec::new();
    if field == "documents.origin_permit"
        && let Some(origin) = app.origin()
        && document.country() != origin
    {
        problems.push(format!(
            "it was issued by {}, not by the country of origin {origin}",
            document.country()
        ));
    }
    if field == "documents.last_reexport" && document.country() == app.exporter() {
        problems.push(format!(
            "it was issued by the re-exporting country {} itself",
            document.country()
        ));
    }
    if document.issued_on() > app.date_issue() {
        problems.push(format!(
            "it was issued on {}, after this certificate's date of issue {}",
            document.issued_on(),
            app.date_issue()
        ));
    }
    if let Some(source) = document.source()
        && source != app.source()
    {
        problems.push(format!(
            "it gives source {source}, but a re-export keeps the source of the origin document and this one gives {}",
            app.source()
        ));
    }
    if !problems.is_empty() {
        ctx.push(
            ReasonCode::ReexportOriginInconsistent,
            format!(
                "{} {} does not match this re-export: {}",
                if field == "documents.origin_permit" {
                    "origin permit"
                } else {
                    "last re-export certificate"
                },
                document.number(),
                problems.join("; ")
            ),
            "Art. III(4)(a); Art. IV(5)(a); Res. Conf. 12.3 (Rev. CoP19)",
            Evidence::ReexportChain {
                field,
                number: Some(document.number().to_owned()),
                expected: problems.join("; "),
                register_status: None,
            },
        );
    }
    if let (Some(on_document), Some(applied)) = (document.appendix(), ctx.appendix)
        && on_document != applied
    {
        ctx.push(
            ReasonCode::ReexportAppendixChanged,
            format!(
                "{} {} gives Appendix {on_document}, but Appendix {applied} applies on the trade date; the listing has changed since, and a person must decide which rules govern",
                if field == "documents.origin_permit" {
                    "origin permit"
                } else {
                    "last re-export certificate"
                },
                document.number()
            ),
            "Art. XV; Res. Conf. 12.3 (Rev. CoP19)",
            Evidence::ReexportChain {
                field,
                number: Some(document.number().to_owned()),
                expected: format!("Appendix {applied}"),
                register_status: None,
            },
        );
    }
}

/// `date` plus `months`, saturating at the last representable date (dates are bounded by
/// parsing, so the saturation never happens in practice).
pub(crate) fn add_months(date: Date, months: u32) -> Date {
    date.checked_add_months(Months::new(months))
        .unwrap_or(Date::MAX)
}

fn country_list(countries: &[domain::CountryCode]) -> String {
    if countries.is_empty() {
        return "none".to_owned();
    }
    countries
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
