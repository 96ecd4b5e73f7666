//! The result of a check: the [`Verdict`], every [`Reason`] that fired with its evidence, the
//! precedence applied, box 11a, the listing relied on and the risk score.

use std::fmt;

use domain::{Appendix, CountryCode, Date, Kingdom, PurposeCode, SourceCode, TaxonId, TermCode};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use crate::facts::{ListingStatus, PriorDocumentStatus, ReservationFact, SuspensionKind};

/// The four possible outcomes of a permit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Every rule that applies is satisfied; the document may be issued.
    Allow,
    /// A rule forbids the document as applied for.
    Refuse,
    /// A person must decide: the facts or the law leave the rules unable to.
    NeedsReview,
    /// The specimen is not covered by the Convention (not listed, an excluded form, or a part
    /// or derivative its annotation does not cover). National law may still apply.
    NotCites,
}

/// What a reason pushes the decision toward. Ordered by precedence, strongest first, so the
/// verdict is decided by the smallest effect among the reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Effect {
    /// The Convention does not apply to the taxon.
    NotCites,
    /// The taxon is listed but its annotation leaves this part or derivative out.
    NotControlledAnnotation,
    /// Refusal.
    Refuse,
    /// Review by a person.
    NeedsReview,
    /// Informational: recorded in the explanation, compatible with issuing the document.
    Allow,
}

impl Effect {
    /// Every effect, in precedence order (strongest first).
    pub const PRECEDENCE: [Effect; 5] = [
        Effect::NotCites,
        Effect::NotControlledAnnotation,
        Effect::Refuse,
        Effect::NeedsReview,
        Effect::Allow,
    ];

    /// The verdict this effect produces when it is the strongest one.
    pub fn verdict(self) -> Verdict {
        match self {
            Effect::NotCites | Effect::NotControlledAnnotation => Verdict::NotCites,
            Effect::Refuse => Verdict::Refuse,
            Effect::NeedsReview => Verdict::NeedsReview,
            Effect::Allow => Verdict::Allow,
        }
    }

    /// `"NOT_CITES"`, `"NOT_CONTROLLED_ANNOTATION"`, `"REFUSE"`, `"NEEDS_REVIEW"` or `"ALLOW"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::NotCites => "NOT_CITES",
            Effect::NotControlledAnnotation => "NOT_CONTROLLED_ANNOTATION",
            Effect::Refuse => "REFUSE",
            Effect::NeedsReview => "NEEDS_REVIEW",
            Effect::Allow => "ALLOW",
        }
    }
}

/// Declares the reason codes with their stable strings and effects in one table, so the string,
/// the effect and the list of all codes cannot drift apart.
macro_rules! reason_codes {
    ($( $(#[$doc:meta])* $variant:ident => $effect:ident, )*) => {
        /// A stable, machine-readable reason code. Serialised as its SCREAMING_SNAKE name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ReasonCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ReasonCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            /// What this code pushes the decision toward. Fixed per code.
            pub fn effect(self) -> Effect {
                match self {
                    $(ReasonCode::$variant => Effect::$effect,)*
                }
            }
        }
    };
}

reason_codes! {
    /// The taxon is in no Appendix on the trade date.
    NotListed => NotCites,
    /// The submitted taxon is a domesticated form the Appendices exclude by name.
    ExcludedForm => NotCites,
    /// The plant # annotation does not cover this term (part or derivative).
    NotControlledAnnotation => NotControlledAnnotation,
    /// Informational: the submitted name is a synonym; the accepted taxon was checked.
    SynonymResolved => Allow,
    /// Informational: a hybrid is treated as its listed parent (Res. Conf. 10.17).
    HybridTreatedAsListed => Allow,
    /// Informational: a fauna "exclusive purpose" annotation leaves this specimen out, so it is
    /// treated as Appendix I and the Appendix I rules apply.
    ReferredToAppIByAnnotation => Allow,
    /// Informational: source D, Appendix I bred or propagated for commercial purposes, is
    /// deemed Appendix II (Art. VII(4)).
    DeemedAppII => Allow,
    /// Informational: another country's national measure or an information notice.
    TradeMeasureNote => Allow,
    /// Informational: the term is not usually traded for this purpose (SAPI pairs).
    TermPurposeUnusual => Allow,
    /// Informational: the term is not usually reported in this unit (SAPI pairs).
    TermUnitUnusual => Allow,
    /// Appendix I specimens for primarily commercial purposes.
    AppIPrimarilyCommercial => Refuse,
    /// The source code cannot be used for this kingdom.
    SourceInvalidForKingdom => Refuse,
    /// The source code cannot be used for this transaction.
    SourceInvalidForTransaction => Refuse,
    /// Source D used for a taxon that is not in Appendix I.
    SourceDRequiresAppI => Refuse,
    /// Source D without a registered operation or nursery.
    SourceDRequiresRegistration => Refuse,
    /// Source O for a specimen acquired on or after the taxon's first listing.
    SourceONotPreConvention => Refuse,
    /// Source O without a pre-Convention certificate.
    MissingPreConventionCertificate => Refuse,
    /// Source I without evidence of lawful disposal.
    SourceIRequiresDisposalEvidence => Refuse,
    /// A required import permit is missing.
    MissingImportPermit => Refuse,
    /// The import permit was issued after the export permit or covers less than requested.
    ImportPermitMismatch => Refuse,
    /// The import permit is past its validity on the trade date.
    ImportPermitExpired => Refuse,
    /// An import without the exporting country's permit or certificate.
    MissingExportPermit => Refuse,
    /// The presented export permit or re-export certificate was not issued by the exporting
    /// country, or was issued after the trade date.
    ExportPermitMismatch => Refuse,
    /// The presented export permit or re-export certificate is past its six months on the
    /// trade date.
    ExportPermitExpired => Refuse,
    /// Appendix III trade from a non-listing State without a certificate of origin.
    MissingCertificateOfOrigin => Refuse,
    /// Introduction from the sea (or source X) without an IFS certificate.
    MissingIfsCertificate => Refuse,
    /// No non-detriment finding where one is required.
    MissingNdf => Refuse,
    /// No legal acquisition finding for an export.
    MissingLaf => Refuse,
    /// The issuing Party uses security stamps and none was given.
    MissingSecurityStamp => Refuse,
    /// A CITES recommendation to suspend trade (or the issuing or importing Party's own ban)
    /// covers this trade.
    Suspended => Refuse,
    /// The exporter's quota for this taxon and specimen type is zero.
    ZeroQuota => Refuse,
    /// The quota would be exceeded.
    QuotaExceeded => Refuse,
    /// The document would be valid for longer than allowed.
    ValidityTooLong => Refuse,
    /// The trade date is after the document's validity.
    Expired => Refuse,
    /// The trade date is before the date of issue.
    TradeBeforeIssue => Refuse,
    /// A re-export without country of origin or origin permit.
    ReexportOriginMissing => Refuse,
    /// The re-export does not match its origin permit or last re-export certificate.
    ReexportOriginInconsistent => Refuse,
    /// The re-export exceeds the balance left under its origin document.
    ReexportNoBalance => Refuse,
    /// The listing differs between the issue date and the trade date.
    ListingChangesBeforeTrade => NeedsReview,
    /// The listing depends on a population that could not be decided.
    ListingNeedsReview => NeedsReview,
    /// An annotation's coverage depends on facts the rules cannot see, or cannot be read.
    AnnotationNeedsReview => NeedsReview,
    /// The import permit names another taxon (possibly a synonym).
    ImportPermitTaxonDiffers => NeedsReview,
    /// The exporter or importer is a non-Party or holds a reservation (Art. X, XV(3), XXIII(3)).
    ReservationOrNonParty => NeedsReview,
    /// Source U must be justified.
    SourceUNeedsJustification => NeedsReview,
    /// Source O, but the taxon's first listing date is unknown.
    PreConventionDateUnverified => NeedsReview,
    /// A suspension covers this trade but its notes carry conditions.
    SuspensionConditions => NeedsReview,
    /// The country of origin of a re-export is under a suspension.
    SuspensionAffectsOrigin => NeedsReview,
    /// The quota is "in preparation".
    QuotaInPreparation => NeedsReview,
    /// The request cannot be compared exactly with the quota or balance (count against mass,
    /// or no exact conversion).
    UnitMismatch => NeedsReview,
    /// The re-export's Appendix differs from the origin document's.
    ReexportAppendixChanged => NeedsReview,
    /// The balance left under the origin document is not known.
    ReexportBalanceUnknown => NeedsReview,
    /// The permit register flags the origin document.
    ReexportOriginInvalid => NeedsReview,
    /// The facts do not match the application (wrong dates, contradictory listing).
    FactsInconsistent => NeedsReview,
    /// The catalogue is the built-in sample, not a mirror of Species+: no decision on it stands.
    SampleCatalogue => NeedsReview,
    /// A trade measure covers the taxon and country, but what trade it covers could not be
    /// read from what Species+ gives.
    MeasureScopeUnknown => NeedsReview,
    /// A trade measure no longer current, whose end is unknown, began before the trade date.
    MeasurePossiblyInForce => NeedsReview,
}

impl ReasonCode {
    /// The stable SCREAMING_SNAKE string, e.g. `"MISSING_IMPORT_PERMIT"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::NotListed => "NOT_LISTED",
            ReasonCode::ExcludedForm => "EXCLUDED_FORM",
            ReasonCode::NotControlledAnnotation => "NOT_CONTROLLED_ANNOTATION",
            ReasonCode::SynonymResolved => "SYNONYM_RESOLVED",
            ReasonCode::HybridTreatedAsListed => "HYBRID_TREATED_AS_LISTED",
            ReasonCode::ReferredToAppIByAnnotation => "REFERRED_TO_APP_I_BY_ANNOTATION",
            ReasonCode::DeemedAppII => "DEEMED_APP_II",
            ReasonCode::TradeMeasureNote => "TRADE_MEASURE_NOTE",
            ReasonCode::TermPurposeUnusual => "TERM_PURPOSE_UNUSUAL",
            ReasonCode::TermUnitUnusual => "TERM_UNIT_UNUSUAL",
            ReasonCode::AppIPrimarilyCommercial => "APP_I_PRIMARILY_COMMERCIAL",
            ReasonCode::SourceInvalidForKingdom => "SOURCE_INVALID_FOR_KINGDOM",
            ReasonCode::SourceInvalidForTransaction => "SOURCE_INVALID_FOR_TRANSACTION",
            ReasonCode::SourceDRequiresAppI => "SOURCE_D_REQUIRES_APP_I",
            ReasonCode::SourceDRequiresRegistration => "SOURCE_D_REQUIRES_REGISTRATION",
            ReasonCode::SourceONotPreConvention => "SOURCE_O_NOT_PRE_CONVENTION",
            ReasonCode::MissingPreConventionCertificate => "MISSING_PRE_CONVENTION_CERTIFICATE",
            ReasonCode::SourceIRequiresDisposalEvidence => "SOURCE_I_REQUIRES_DISPOSAL_EVIDENCE",
            ReasonCode::MissingImportPermit => "MISSING_IMPORT_PERMIT",
            ReasonCode::ImportPermitMismatch => "IMPORT_PERMIT_MISMATCH",
            ReasonCode::ImportPermitExpired => "IMPORT_PERMIT_EXPIRED",
            ReasonCode::MissingExportPermit => "MISSING_EXPORT_PERMIT",
            ReasonCode::ExportPermitMismatch => "EXPORT_PERMIT_MISMATCH",
            ReasonCode::ExportPermitExpired => "EXPORT_PERMIT_EXPIRED",
            ReasonCode::MissingCertificateOfOrigin => "MISSING_CERTIFICATE_OF_ORIGIN",
            ReasonCode::MissingIfsCertificate => "MISSING_IFS_CERTIFICATE",
            ReasonCode::MissingNdf => "MISSING_NDF",
            ReasonCode::MissingLaf => "MISSING_LAF",
            ReasonCode::MissingSecurityStamp => "MISSING_SECURITY_STAMP",
            ReasonCode::Suspended => "SUSPENDED",
            ReasonCode::ZeroQuota => "ZERO_QUOTA",
            ReasonCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ReasonCode::ValidityTooLong => "VALIDITY_TOO_LONG",
            ReasonCode::Expired => "EXPIRED",
            ReasonCode::TradeBeforeIssue => "TRADE_BEFORE_ISSUE",
            ReasonCode::ReexportOriginMissing => "REEXPORT_ORIGIN_MISSING",
            ReasonCode::ReexportOriginInconsistent => "REEXPORT_ORIGIN_INCONSISTENT",
            ReasonCode::ReexportNoBalance => "REEXPORT_NO_BALANCE",
            ReasonCode::ListingChangesBeforeTrade => "LISTING_CHANGES_BEFORE_TRADE",
            ReasonCode::ListingNeedsReview => "LISTING_NEEDS_REVIEW",
            ReasonCode::AnnotationNeedsReview => "ANNOTATION_NEEDS_REVIEW",
            ReasonCode::ImportPermitTaxonDiffers => "IMPORT_PERMIT_TAXON_DIFFERS",
            ReasonCode::ReservationOrNonParty => "RESERVATION_OR_NON_PARTY",
            ReasonCode::SourceUNeedsJustification => "SOURCE_U_NEEDS_JUSTIFICATION",
            ReasonCode::PreConventionDateUnverified => "PRE_CONVENTION_DATE_UNVERIFIED",
            ReasonCode::SuspensionConditions => "SUSPENSION_CONDITIONS",
            ReasonCode::SuspensionAffectsOrigin => "SUSPENSION_AFFECTS_ORIGIN",
            ReasonCode::QuotaInPreparation => "QUOTA_IN_PREPARATION",
            ReasonCode::UnitMismatch => "UNIT_MISMATCH",
            ReasonCode::ReexportAppendixChanged => "REEXPORT_APPENDIX_CHANGED",
            ReasonCode::ReexportBalanceUnknown => "REEXPORT_BALANCE_UNKNOWN",
            ReasonCode::ReexportOriginInvalid => "REEXPORT_ORIGIN_INVALID",
            ReasonCode::FactsInconsistent => "FACTS_INCONSISTENT",
            ReasonCode::SampleCatalogue => "SAMPLE_CATALOGUE",
            ReasonCode::MeasureScopeUnknown => "MEASURE_SCOPE_UNKNOWN",
            ReasonCode::MeasurePossiblyInForce => "MEASURE_POSSIBLY_IN_FORCE",
        }
    }

    /// Looks a code up by its string (exact, as serialised).
    pub fn parse(s: &str) -> Option<ReasonCode> {
        ReasonCode::ALL
            .iter()
            .copied()
            .find(|code| code.as_str() == s)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// Stable code.
    pub code: ReasonCode,
    /// What it pushes the decision toward (always `code.effect()`).
    pub pushes_toward: Effect,
    /// Plain-language explanation with the specifics of this application.
    pub message: String,
    /// Where the rule comes from, e.g. "Art. III(2)(d)" or "Res. Conf. 14.7 (Rev. CoP15)".
    pub legal_reference: &'static str,
    /// The facts the rule relied on.
    pub evidence: Evidence,
}

/// Which side of the trade a country is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The exporting or re-exporting country.
    Exporter,
    /// The importing country.
    Importer,
    /// The country of origin of a re-export.
    Origin,
}

/// The facts behind a reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The taxon as resolved.
    Taxon {
        /// Accepted id.
        taxon_id: TaxonId,
        /// Accepted name.
        accepted_name: String,
        /// Name as submitted.
        #[serde(skip_serializing_if = "Option::is_none")]
        submitted_name: Option<String>,
        /// The exclusion, for excluded forms.
        #[serde(skip_serializing_if = "Option::is_none")]
        excluded_form: Option<String>,
    },
    /// The listing on one date.
    Listing(ListingRef),
    /// The listing on the issue date and on the trade date.
    ListingChange {
        /// On the issue date.
        at_issue: ListingRef,
        /// On the trade date.
        at_trade: ListingRef,
    },
    /// An annotation and how it was applied.
    Annotation {
        /// The listing change carrying it.
        listing_id: i64,
        /// The # symbol, for plant annotations.
        #[serde(skip_serializing_if = "Option::is_none")]
        symbol: Option<String>,
        /// The annotation version: the event prefix of the symbol (e.g. "CoP19") or the listing
        /// change's effective date.
        version: String,
        /// The annotation text.
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// The term assessed.
        term: TermCode,
        /// The clause that decided.
        clause: String,
    },
    /// A country's Party status.
    Party {
        /// Its role in the trade.
        role: Role,
        /// The country.
        country: CountryCode,
        /// Whether it is a non-Party.
        non_party: bool,
        /// The reservation it holds, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        reservation: Option<ReservationFact>,
    },
    /// A document required or checked.
    Document {
        /// The application field that holds (or should hold) it.
        field: &'static str,
        /// Its number, if presented.
        #[serde(skip_serializing_if = "Option::is_none")]
        number: Option<String>,
        /// Its date of issue, if relevant.
        #[serde(skip_serializing_if = "Option::is_none")]
        issued_on: Option<Date>,
        /// What was expected of it.
        expected: String,
    },
    /// The source code and what it was checked against.
    Source {
        /// The source code.
        source: SourceCode,
        /// The taxon's kingdom.
        kingdom: Kingdom,
        /// The Appendix applied, if decided.
        #[serde(skip_serializing_if = "Option::is_none")]
        appendix: Option<Appendix>,
        /// The taxon's first listing date, for source O.
        #[serde(skip_serializing_if = "Option::is_none")]
        first_listing_date: Option<Date>,
        /// The claimed acquisition date, for source O.
        #[serde(skip_serializing_if = "Option::is_none")]
        pre_convention_date: Option<Date>,
    },
    /// The purpose and term checked.
    Purpose {
        /// Purpose code.
        purpose: PurposeCode,
        /// Term code.
        term: TermCode,
        /// The Appendix applied.
        #[serde(skip_serializing_if = "Option::is_none")]
        appendix: Option<Appendix>,
        /// What the term usually goes with, from the code list.
        #[serde(skip_serializing_if = "Option::is_none")]
        usual: Option<String>,
    },
    /// A suspension that matched.
    Suspension {
        /// Species+ id.
        suspension_id: i64,
        /// Kind of measure.
        measure: SuspensionKind,
        /// Start notification.
        #[serde(skip_serializing_if = "Option::is_none")]
        notification: Option<String>,
        /// First day in force.
        start_date: Date,
        /// The taxon (or ancestor) it names; absent for country-wide.
        #[serde(skip_serializing_if = "Option::is_none")]
        taxon_id: Option<TaxonId>,
        /// The country it concerns.
        country: CountryCode,
        /// That country's role in this trade.
        role: Role,
        /// Whether it applies to imports into that country.
        applies_to_import: bool,
        /// Notes.
        #[serde(skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
    },
    /// A quota and its ledger, in the quota's unit.
    Quota {
        /// Ledger id.
        quota_id: i64,
        /// Species+ id.
        #[serde(skip_serializing_if = "Option::is_none")]
        speciesplus_id: Option<i64>,
        /// The quota; absent while in preparation.
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<Decimal>,
        /// Held by pending applications.
        held: Decimal,
        /// Committed to permits.
        committed: Decimal,
        /// Exported.
        exported: Decimal,
        /// This application as sent, in `requested_unit`.
        requested: Decimal,
        /// The request's unit.
        requested_unit: domain::UnitCode,
        /// This application in the quota's `unit`, when it converts exactly.
        #[serde(skip_serializing_if = "Option::is_none")]
        requested_in_quota_unit: Option<Decimal>,
        /// Left before this application (`limit - held - committed - exported`, at least 0),
        /// in the quota's `unit`.
        #[serde(skip_serializing_if = "Option::is_none")]
        remaining: Option<Decimal>,
        /// The quota's unit: of `limit`, `held`, `committed`, `exported`, `remaining` and
        /// `requested_in_quota_unit`.
        unit: domain::UnitCode,
        /// How far the quota's scope is known: a Species+ quota keeps its restriction (a
        /// term, a purpose) only in its notes, so it is counted against every specimen type,
        /// which a person should confirm.
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// Legal basis.
        #[serde(skip_serializing_if = "Option::is_none")]
        basis: Option<String>,
        /// Notes.
        #[serde(skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
    },
    /// Dates of validity.
    Validity {
        /// Date of issue.
        date_issue: Date,
        /// Trade date.
        date_trade: Date,
        /// The validity asked for.
        #[serde(skip_serializing_if = "Option::is_none")]
        valid_until: Option<Date>,
        /// The last day the document may be valid.
        latest_valid_until: Date,
        /// The maximum validity, in months.
        validity_months_max: u32,
    },
    /// A document of a re-export chain.
    ReexportChain {
        /// Which slot: `"documents.origin_permit"` or `"documents.last_reexport"`.
        field: &'static str,
        /// Its number.
        #[serde(skip_serializing_if = "Option::is_none")]
        number: Option<String>,
        /// What it says (or lacks).
        expected: String,
        /// What the register says about it.
        #[serde(skip_serializing_if = "Option::is_none")]
        register_status: Option<PriorDocumentStatus>,
    },
    /// A balance and the amount requested against it.
    Balance {
        /// The document field the balance belongs to.
        field: &'static str,
        /// The balance.
        remaining: domain::Quantity,
        /// The request.
        requested: domain::Quantity,
    },
    /// Facts that contradict the application.
    Facts {
        /// What does not match.
        detail: String,
    },
}

/// A short reference to a listing, for evidence and the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingRef {
    /// The date of the listing.
    pub date: Date,
    /// Its status.
    #[serde(flatten)]
    pub status: ListingStatus,
    /// The deciding listing change ids.
    pub listing_ids: Vec<i64>,
    /// Their effective dates.
    pub effective_at: Vec<Date>,
    /// Ancestor the listing is inherited from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherited_from: Option<String>,
    /// The # annotation symbol, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_annotation: Option<String>,
}

/// How the verdict was derived from the reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Precedence {
    /// The precedence order, strongest first.
    pub order: [Effect; 5],
    /// The strongest effect among the reasons (`ALLOW` when none fired).
    pub applied: Effect,
    /// The codes with that effect.
    pub deciding_codes: Vec<ReasonCode>,
    /// One sentence saying what was applied.
    pub explanation: String,
}

/// Box 11a of the permit: the quota and the cumulative total including this permit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Box11a {
    /// Ledger id of the quota.
    pub quota_id: i64,
    /// The quota for the period.
    pub quota: Decimal,
    /// Committed and exported so far this period.
    pub already_used: Decimal,
    /// This permit, in the quota's unit.
    pub this_application: Decimal,
    /// `already_used + this_application`.
    pub total_after: Decimal,
    /// The quota's unit.
    pub unit: domain::UnitCode,
    /// The quota period's first day.
    pub period_start: Date,
    /// The quota period's last day.
    pub period_end_inclusive: Date,
}

/// The listing the decision relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingSummary {
    /// The taxon as resolved.
    pub taxon_id: TaxonId,
    /// Accepted name.
    pub accepted_name: String,
    /// Name as submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_name: Option<String>,
    /// The population (country) whose listing applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population_country: Option<CountryCode>,
    /// The listing on the trade date.
    pub at_trade: ListingRef,
    /// The listing on the issue date, when the dates differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_issue: Option<ListingRef>,
    /// The Appendix the rules applied (after annotations), when one was decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appendix_applied: Option<Appendix>,
}

/// The whole explanation of a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// ALLOW, REFUSE, NEEDS_REVIEW or NOT_CITES.
    pub decision: Verdict,
    /// Every reason that fired, in checklist order.
    pub reasons: Vec<Reason>,
    /// How the verdict follows from the reasons.
    pub precedence: Precedence,
    /// Box 11a, when an export quota applies and the request converts into its unit.
    pub box_11a: Option<Box11a>,
    /// Every export quota the request counts against, each with its own box 11a figures, in
    /// the order of the facts: nested quotas (a species quota inside a genus quota) all apply,
    /// and a reserving check holds every one of them together. `box_11a` is the tightest.
    pub quotas_counted: Vec<Box11a>,
    /// The risk score, for applications that are neither refused nor outside the Convention.
    pub risk: Option<RiskScore>,
    /// The listing relied on.
    pub listing: ListingSummary,
}

impl Decision {
    /// The codes of all reasons, in order.
    pub fn codes(&self) -> Vec<ReasonCode> {
        self.reasons.iter().map(|reason| reason.code).collect()
    }
}

/// A risk indicator's stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskCode {
    /// The quota is nearly used up.
    QuotaNearlyUsed,
    /// The quantity is far above the applicant's history.
    QuantityAboveHistory,
    /// Appendix I.
    AppendixI,
    /// Captive-bred or ranched source for a taxon under captive-breeding review.
    CaptiveBreedingReview,
    /// Wild source from outside the distribution.
    WildOutsideDistribution,
    /// The listing was amended recently.
    RecentListingAmendment,
    /// A suspension's notes carry conditions.
    SuspensionConditions,
    /// The applicant has refused applications.
    RefusedApplications,
}

/// How high the score is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskLevel {
    /// Below `levels.medium_from`.
    Low,
    /// From `levels.medium_from`.
    Medium,
    /// From `levels.high_from`.
    High,
}

/// One indicator that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskIndicator {
    /// Stable code.
    pub code: RiskCode,
    /// Points it adds.
    pub weight: u32,
    /// Why it fired, with the figures.
    pub explanation: String,
}

/// The risk score and what makes it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskScore {
    /// Sum of the weights of the indicators that fired.
    pub score: u32,
    /// The level of that score.
    pub level: RiskLevel,
    /// The indicators that fired, in a fixed order.
    pub indicators: Vec<RiskIndicator>,
}
