//! The application as submitted ([`ApplicationInput`]: raw strings and numbers, as JSON carries
//! them) and as checked ([`Application`]: every field parsed into a domain type).
//!
//! Parsing is the only place input can be rejected. Each error names the field, quotes the value
//! and says what is accepted; nothing here panics on any input.

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};
use domain::{
    Appendix, CountryCode, DATE_YEAR_MAX, Date, PurposeCode, Quantity, SourceCode, TaxonId,
    TermCode, UnitCode,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest quantity accepted, in the request's unit: one trillion. Larger figures are typing
/// mistakes, and the bound keeps quota arithmetic far from `Decimal`'s limits.
pub const QUANTITY_MAX: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// Longest document number or reference accepted, in characters.
pub const REFERENCE_CHARS_MAX: usize = 100;

/// Longest taxon name accepted, in characters (Species+ full names are far shorter).
pub const TAXON_NAME_CHARS_MAX: usize = 200;

/// Longest client key accepted, in characters (the same bound as the quota ledger's).
pub const CLIENT_KEY_CHARS_MAX: usize = 200;

/// Earliest year accepted for a pre-Convention acquisition date. Antiques (old ivory, musical
/// instruments) predate 1973 by centuries, so `domain::parse_date`'s 1973 floor does not apply.
pub const PRE_CONVENTION_YEAR_MIN: i32 = 1500;

const ACCEPT_QUANTITY: &str =
    "a decimal number above 0 and at most 1000000000000, e.g. 12 or \"2.5\"";
const ACCEPT_BALANCE: &str = "a decimal number from 0 to 1000000000000, e.g. 0 or \"12.5\"";
const ACCEPT_DATE: &str = "a date YYYY-MM-DD";
const ACCEPT_REFERENCE: &str = "a document number or reference of 1 to 100 printable characters";
const ACCEPT_COUNTRY: &str = "an ISO 3166-1 alpha-2 code such as NA";
const ACCEPT_TRANSACTION: &str = "export, re-export, import or introduction_from_the_sea";

/// The application exactly as a client sends it: strings and numbers, nothing validated yet.
///
/// Unknown fields are rejected so that a misspelt optional field (`valid_untill`) is an error
/// rather than a silently missing document. Turn it into an [`Application`] with
/// [`Application::parse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationInput {
    /// `export`, `re-export`, `import` or `introduction_from_the_sea` (also `ifs`).
    pub transaction: Option<String>,
    /// The taxon name as submitted (a synonym or trade name is fine: the application resolves it).
    pub taxon: Option<String>,
    /// The Species+ taxon concept id, as a number or a string of digits.
    pub taxon_id: Option<serde_json::Value>,
    /// Exporting (or re-exporting) country, ISO alpha-2.
    pub exporter: Option<String>,
    /// Importing country, ISO alpha-2 (for an introduction from the sea: the State of
    /// introduction).
    pub importer: Option<String>,
    /// Country of origin (box 12); required for a re-export.
    pub origin: Option<String>,
    /// Source code (W, C, D, ...).
    pub source: Option<String>,
    /// Purpose code (T, H, Z, ...).
    pub purpose: Option<String>,
    /// Term code (LIV, SKI, LOG, ...).
    pub term: Option<String>,
    /// Quantity, as a decimal string or a JSON number.
    pub quantity: Option<serde_json::Value>,
    /// Unit code; blank or absent means number of specimens.
    pub unit: Option<String>,
    /// Date the permit is (to be) issued, YYYY-MM-DD.
    pub date_issue: Option<String>,
    /// Planned trade date, YYYY-MM-DD. The listing is decided at this date.
    pub date_trade: Option<String>,
    /// The documents presented with the application.
    pub documents: DocumentsInput,
    /// Whether the application asks the quota ledger for a reservation. Ignored by the rules.
    pub reserve: bool,
    /// The client's idempotency key. Ignored by the rules; kept for the application.
    pub client_key: Option<String>,
}

/// The documents presented with an application, as submitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentsInput {
    /// The import permit an Appendix I export (or a live Appendix I re-export) needs.
    pub import_permit: Option<ImportPermitInput>,
    /// For an import: the export permit or re-export certificate presented.
    pub export_permit: Option<PresentedPermitInput>,
    /// For a re-export: the permit of the country of origin (box 12).
    pub origin_permit: Option<PriorDocumentInput>,
    /// For a re-export: the certificate of the last re-exporting country (box 12a).
    pub last_reexport: Option<PriorDocumentInput>,
    /// Acquisition date of a pre-Convention specimen, YYYY-MM-DD (years from 1500).
    pub pre_convention_date: Option<String>,
    /// Number of the pre-Convention certificate (Art. VII(2)).
    pub pre_convention_certificate: Option<String>,
    /// Number of the introduction-from-the-sea certificate.
    pub ifs_certificate: Option<String>,
    /// Number of the certificate of origin (Appendix III, Art. V(3)).
    pub certificate_of_origin: Option<String>,
    /// Registration number of the captive-breeding operation or nursery (source D).
    pub captive_breeding_registration: Option<String>,
    /// Reference of the Scientific Authority's non-detriment finding.
    pub ndf_reference: Option<String>,
    /// Reference of the Management Authority's legal acquisition finding.
    pub laf_reference: Option<String>,
    /// Reference of the decision disposing of confiscated specimens (source I).
    pub lawful_disposal_reference: Option<String>,
    /// Last day of validity of the document applied for, YYYY-MM-DD.
    pub valid_until: Option<String>,
    /// Security stamp number (box 5b).
    pub security_stamp: Option<String>,
}

/// An import permit as submitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportPermitInput {
    /// Permit number.
    pub number: Option<String>,
    /// Date of issue, YYYY-MM-DD.
    pub issued_on: Option<String>,
    /// Taxon name on the permit.
    pub taxon: Option<String>,
    /// Quantity on the permit, decimal string or number.
    pub quantity: Option<serde_json::Value>,
    /// Unit of that quantity; blank or absent means number of specimens.
    pub unit: Option<String>,
}

/// An export permit or re-export certificate presented at import, as submitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresentedPermitInput {
    /// Document number.
    pub number: Option<String>,
    /// Issuing country, ISO alpha-2.
    pub country: Option<String>,
    /// Date of issue, YYYY-MM-DD.
    pub issued_on: Option<String>,
}

/// A document earlier in a re-export chain (box 12 or 12a), as submitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorDocumentInput {
    /// Document number.
    pub number: Option<String>,
    /// Issuing country, ISO alpha-2.
    pub country: Option<String>,
    /// Date of issue, YYYY-MM-DD.
    pub issued_on: Option<String>,
    /// Appendix on the document.
    pub appendix: Option<String>,
    /// Source code on the document.
    pub source: Option<String>,
    /// Quantity still available under the document for re-export.
    pub quantity_remaining: Option<serde_json::Value>,
    /// Unit of `quantity_remaining`; blank or absent means number of specimens.
    pub unit: Option<String>,
}

/// Which kind of document the application is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transaction {
    /// Export permit (Art. III(2), IV(2), V(2)).
    Export,
    /// Re-export certificate (Art. III(4), IV(5), V(4)).
    ReExport,
    /// Import permit or import clearance (Art. III(3), IV(4), V(3)).
    Import,
    /// Certificate of introduction from the sea (Art. III(5), IV(6)).
    IntroductionFromTheSea,
}

impl Transaction {
    /// Parses `export`, `re-export` (`reexport`, `re_export`), `import` and
    /// `introduction_from_the_sea` (`introduction-from-the-sea`, `ifs`), trimmed, any case.
    pub fn parse(s: &str) -> Result<Transaction> {
        let key = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match key.as_str() {
            "export" => Ok(Transaction::Export),
            "re_export" | "reexport" => Ok(Transaction::ReExport),
            "import" => Ok(Transaction::Import),
            "introduction_from_the_sea" | "ifs" => Ok(Transaction::IntroductionFromTheSea),
            _ => Err(Error::invalid(
                "transaction",
                format!("{s:?} is not a transaction"),
                ACCEPT_TRANSACTION,
            )),
        }
    }

    /// `"export"`, `"re_export"`, `"import"` or `"introduction_from_the_sea"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transaction::Export => "export",
            Transaction::ReExport => "re_export",
            Transaction::Import => "import",
            Transaction::IntroductionFromTheSea => "introduction_from_the_sea",
        }
    }
}

/// A checked application: every field is a domain value, so the rules never see bad input.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    transaction: Transaction,
    taxon_name: Option<String>,
    taxon_id: Option<TaxonId>,
    exporter: CountryCode,
    importer: CountryCode,
    origin: Option<CountryCode>,
    source: SourceCode,
    purpose: PurposeCode,
    term: TermCode,
    quantity: Quantity,
    date_issue: Date,
    date_trade: Date,
    documents: Documents,
    reserve: bool,
    client_key: Option<String>,
}

/// The documents presented, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Documents {
    import_permit: Option<ImportPermit>,
    export_permit: Option<PresentedPermit>,
    origin_permit: Option<PriorDocument>,
    last_reexport: Option<PriorDocument>,
    pre_convention_date: Option<Date>,
    pre_convention_certificate: Option<String>,
    ifs_certificate: Option<String>,
    certificate_of_origin: Option<String>,
    captive_breeding_registration: Option<String>,
    ndf_reference: Option<String>,
    laf_reference: Option<String>,
    lawful_disposal_reference: Option<String>,
    valid_until: Option<Date>,
    security_stamp: Option<String>,
}

/// A checked import permit.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPermit {
    number: String,
    issued_on: Date,
    taxon: Option<String>,
    quantity: Option<Quantity>,
}

/// A checked export permit or re-export certificate presented at import.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentedPermit {
    number: String,
    country: CountryCode,
    issued_on: Date,
}

/// A checked document of a re-export chain.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorDocument {
    number: String,
    country: CountryCode,
    issued_on: Date,
    appendix: Option<Appendix>,
    source: Option<SourceCode>,
    quantity_remaining: Option<Quantity>,
}

impl Application {
    /// Checks every field of `input`. The first problem found is returned, naming its field.
    ///
    /// Cross-field rules checked here (they make the application meaningless, not refusable):
    /// the exporter and importer differ (except for an introduction from the sea, where both
    /// may be the State of introduction); an export's origin, if given, is the exporter; a
    /// re-export's origin, if given, is not the re-exporter; `valid_until` is not before
    /// `date_issue`.
    pub fn parse(input: ApplicationInput) -> Result<Application> {
        let transaction = Transaction::parse(&required(
            "transaction",
            input.transaction,
            ACCEPT_TRANSACTION,
        )?)?;
        let taxon_name = text("taxon", input.taxon, TAXON_NAME_CHARS_MAX)?;
        let taxon_id = input.taxon_id.as_ref().map(parse_taxon_id).transpose()?;
        if taxon_name.is_none() && taxon_id.is_none() {
            return Err(Error::Missing {
                field: "taxon",
                accepted: "a taxon name (synonyms accepted) or a Species+ taxon_id",
            });
        }
        // Both could name two taxa: deciding on one would silently drop the other.
        if let (Some(name), Some(id)) = (&taxon_name, taxon_id) {
            return Err(Error::invalid(
                "taxon_id",
                format!("{id} given with the taxon name {name:?}"),
                "one of taxon (a name) and taxon_id, not both",
            ));
        }
        let exporter = country("exporter", input.exporter)?;
        let importer = country("importer", input.importer)?;
        if exporter == importer && transaction != Transaction::IntroductionFromTheSea {
            return Err(Error::invalid(
                "importer",
                format!("{importer} is also the exporter"),
                "a country other than the exporter",
            ));
        }
        let origin = optional_country("origin", input.origin)?;
        match (transaction, origin) {
            (Transaction::Export, Some(origin)) if origin != exporter => {
                return Err(Error::invalid(
                    "origin",
                    format!("{origin} differs from the exporter {exporter}"),
                    "the exporter itself, or no origin; specimens from another country are re-exported (transaction re-export)",
                ));
            }
            (Transaction::ReExport, Some(origin)) if origin == exporter => {
                return Err(Error::invalid(
                    "origin",
                    format!("{origin} is the re-exporting country"),
                    "the country where the specimens were taken or produced, other than the re-exporter",
                ));
            }
            _ => {}
        }
        let source = code("source", input.source, SourceCode::parse)?;
        let purpose = code("purpose", input.purpose, PurposeCode::parse)?;
        let term = code("term", input.term, TermCode::parse)?;
        let unit = unit("unit", input.unit)?;
        let amount = quantity_amount("quantity", input.quantity.as_ref(), true)?;
        let quantity = Quantity::new(amount, unit).map_err(|e| Error::domain("quantity", e))?;
        // Specimens are counted whole: a quota's ledger refuses half a specimen, and so must a
        // check that would allow it.
        if unit.is_count() && !amount.fract().is_zero() {
            return Err(Error::invalid(
                "quantity",
                format!("{amount} is not a whole number of specimens"),
                "a whole number for a count of specimens (unit NAR or none)",
            ));
        }
        let date_issue = date("date_issue", input.date_issue)?;
        let date_trade = date("date_trade", input.date_trade)?;
        let documents = Documents::parse(input.documents, date_issue)?;
        let client_key = text("client_key", input.client_key, CLIENT_KEY_CHARS_MAX)?;
        Ok(Application {
            transaction,
            taxon_name,
            taxon_id,
            exporter,
            importer,
            origin,
            source,
            purpose,
            term,
            quantity,
            date_issue,
            date_trade,
            documents,
            reserve: input.reserve,
            client_key,
        })
    }

    /// The kind of document applied for.
    pub fn transaction(&self) -> Transaction {
        self.transaction
    }

    /// The taxon name as submitted, kept for the audit trail.
    pub fn taxon_name(&self) -> Option<&str> {
        self.taxon_name.as_deref()
    }

    /// The taxon id as submitted.
    pub fn taxon_id(&self) -> Option<TaxonId> {
        self.taxon_id
    }

    /// Exporting or re-exporting country.
    pub fn exporter(&self) -> CountryCode {
        self.exporter
    }

    /// Importing country (the State of introduction for an introduction from the sea).
    pub fn importer(&self) -> CountryCode {
        self.importer
    }

    /// Country of origin as submitted.
    pub fn origin(&self) -> Option<CountryCode> {
        self.origin
    }

    /// The country whose population the specimen belongs to: the origin, else the exporter.
    pub fn origin_or_exporter(&self) -> CountryCode {
        self.origin.unwrap_or(self.exporter)
    }

    /// The Party whose Management Authority issues the document: the exporter for exports and
    /// re-exports, the importer for imports and introductions from the sea.
    pub fn issuing_party(&self) -> CountryCode {
        match self.transaction {
            Transaction::Export | Transaction::ReExport => self.exporter,
            Transaction::Import | Transaction::IntroductionFromTheSea => self.importer,
        }
    }

    /// Source code.
    pub fn source(&self) -> SourceCode {
        self.source
    }

    /// Purpose code.
    pub fn purpose(&self) -> PurposeCode {
        self.purpose
    }

    /// Term code.
    pub fn term(&self) -> TermCode {
        self.term
    }

    /// Requested quantity (always above zero).
    pub fn quantity(&self) -> Quantity {
        self.quantity
    }

    /// Date of issue.
    pub fn date_issue(&self) -> Date {
        self.date_issue
    }

    /// Planned trade date.
    pub fn date_trade(&self) -> Date {
        self.date_trade
    }

    /// The documents presented.
    pub fn documents(&self) -> &Documents {
        &self.documents
    }

    /// Whether the client asked for a quota reservation (for the application, not the rules).
    pub fn reserve(&self) -> bool {
        self.reserve
    }

    /// The client's idempotency key (for the application, not the rules).
    pub fn client_key(&self) -> Option<&str> {
        self.client_key.as_deref()
    }
}

impl Documents {
    fn parse(input: DocumentsInput, date_issue: Date) -> Result<Documents> {
        let import_permit = input.import_permit.map(ImportPermit::parse).transpose()?;
        let export_permit = input
            .export_permit
            .map(PresentedPermit::parse)
            .transpose()?;
        let origin_permit = input
            .origin_permit
            .map(|doc| PriorDocument::parse(doc, &ORIGIN_PERMIT_FIELDS))
            .transpose()?;
        let last_reexport = input
            .last_reexport
            .map(|doc| PriorDocument::parse(doc, &LAST_REEXPORT_FIELDS))
            .transpose()?;
        let pre_convention_date = input
            .pre_convention_date
            .filter(|s| !s.trim().is_empty())
            .map(|s| pre_convention_date("documents.pre_convention_date", &s))
            .transpose()?;
        let valid_until = input
            .valid_until
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_date("documents.valid_until", &s))
            .transpose()?;
        if let Some(valid_until) = valid_until
            && valid_until < date_issue
        {
            return Err(Error::invalid(
                "documents.valid_until",
                format!("{valid_until} is before date_issue {date_issue}"),
                "a date on or after date_issue",
            ));
        }
        Ok(Documents {
            import_permit,
            export_permit,
            origin_permit,
            last_reexport,
            pre_convention_date,
            pre_convention_certificate: reference(
                "documents.pre_convention_certificate",
                input.pre_convention_certificate,
            )?,
            ifs_certificate: reference("documents.ifs_certificate", input.ifs_certificate)?,
            certificate_of_origin: reference(
                "documents.certificate_of_origin",
                input.certificate_of_origin,
            )?,
            captive_breeding_registration: reference(
                "documents.captive_breeding_registration",
                input.captive_breeding_registration,
            )?,
            ndf_reference: reference("documents.ndf_reference", input.ndf_reference)?,
            laf_reference: reference("documents.laf_reference", input.laf_reference)?,
            lawful_disposal_reference: reference(
                "documents.lawful_disposal_reference",
                input.lawful_disposal_reference,
            )?,
            valid_until,
            security_stamp: reference("documents.security_stamp", input.security_stamp)?,
        })
    }

    /// The import permit presented, if any.
    pub fn import_permit(&self) -> Option<&ImportPermit> {
        self.import_permit.as_ref()
    }

    /// The export permit or re-export certificate presented at import, if any.
    pub fn export_permit(&self) -> Option<&PresentedPermit> {
        self.export_permit.as_ref()
    }

    /// The origin permit of a re-export (box 12), if any.
    pub fn origin_permit(&self) -> Option<&PriorDocument> {
        self.origin_permit.as_ref()
    }

    /// The last re-export certificate (box 12a), if any.
    pub fn last_reexport(&self) -> Option<&PriorDocument> {
        self.last_reexport.as_ref()
    }

    /// Acquisition date of a pre-Convention specimen.
    pub fn pre_convention_date(&self) -> Option<Date> {
        self.pre_convention_date
    }

    /// Pre-Convention certificate number.
    pub fn pre_convention_certificate(&self) -> Option<&str> {
        self.pre_convention_certificate.as_deref()
    }

    /// Introduction-from-the-sea certificate number.
    pub fn ifs_certificate(&self) -> Option<&str> {
        self.ifs_certificate.as_deref()
    }

    /// Certificate of origin number.
    pub fn certificate_of_origin(&self) -> Option<&str> {
        self.certificate_of_origin.as_deref()
    }

    /// Captive-breeding operation or nursery registration number.
    pub fn captive_breeding_registration(&self) -> Option<&str> {
        self.captive_breeding_registration.as_deref()
    }

    /// Non-detriment finding reference.
    pub fn ndf_reference(&self) -> Option<&str> {
        self.ndf_reference.as_deref()
    }

    /// Legal acquisition finding reference.
    pub fn laf_reference(&self) -> Option<&str> {
        self.laf_reference.as_deref()
    }

    /// Lawful disposal decision for confiscated specimens.
    pub fn lawful_disposal_reference(&self) -> Option<&str> {
        self.lawful_disposal_reference.as_deref()
    }

    /// Last day of validity of the document applied for.
    pub fn valid_until(&self) -> Option<Date> {
        self.valid_until
    }

    /// Security stamp number.
    pub fn security_stamp(&self) -> Option<&str> {
        self.security_stamp.as_deref()
    }
}

impl ImportPermit {
    fn parse(input: ImportPermitInput) -> Result<ImportPermit> {
        let number = required_reference("documents.import_permit.number", input.number)?;
        let issued_on = date("documents.import_permit.issued_on", input.issued_on)?;
        let taxon = text(
            "documents.import_permit.taxon",
            input.taxon,
            TAXON_NAME_CHARS_MAX,
        )?;
        let unit = unit("documents.import_permit.unit", input.unit)?;
        let quantity = input
            .quantity
            .as_ref()
            .map(|value| {
                let amount =
                    quantity_amount("documents.import_permit.quantity", Some(value), true)?;
                Quantity::new(amount, unit)
                    .map_err(|e| Error::domain("documents.import_permit.quantity", e))
            })
            .transpose()?;
        Ok(ImportPermit {
            number,
            issued_on,
            taxon,
            quantity,
        })
    }

    /// Permit number.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// Date of issue.
    pub fn issued_on(&self) -> Date {
        self.issued_on
    }

    /// Taxon name on the permit.
    pub fn taxon(&self) -> Option<&str> {
        self.taxon.as_deref()
    }

    /// Quantity on the permit.
    pub fn quantity(&self) -> Option<Quantity> {
        self.quantity
    }
}

impl PresentedPermit {
    fn parse(input: PresentedPermitInput) -> Result<PresentedPermit> {
        Ok(PresentedPermit {
            number: required_reference("documents.export_permit.number", input.number)?,
            country: country("documents.export_permit.country", input.country)?,
            issued_on: date("documents.export_permit.issued_on", input.issued_on)?,
        })
    }

    /// Document number.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// Issuing country.
    pub fn country(&self) -> CountryCode {
        self.country
    }

    /// Date of issue.
    pub fn issued_on(&self) -> Date {
        self.issued_on
    }
}

/// Field names of one prior-document slot, so errors say which document is wrong.
struct PriorFields {
    number: &'static str,
    country: &'static str,
    issued_on: &'static str,
    appendix: &'static str,
    source: &'static str,
    quantity_remaining: &'static str,
    unit: &'static str,
}

const ORIGIN_PERMIT_FIELDS: PriorFields = PriorFields {
    number: "documents.origin_permit.number",
    country: "documents.origin_permit.country",
    issued_on: "documents.origin_permit.issued_on",
    appendix: "documents.origin_permit.appendix",
    source: "documents.origin_permit.source",
    quantity_remaining: "documents.origin_permit.quantity_remaining",
    unit: "documents.origin_permit.unit",
};

const LAST_REEXPORT_FIELDS: PriorFields = PriorFields {
    number: "documents.last_reexport.number",
    country: "documents.last_reexport.country",
    issued_on: "documents.last_reexport.issued_on",
    appendix: "documents.last_reexport.appendix",
    source: "documents.last_reexport.source",
    quantity_remaining: "documents.last_reexport.quantity_remaining",
    unit: "documents.last_reexport.unit",
};

impl PriorDocument {
    fn parse(input: PriorDocumentInput, fields: &PriorFields) -> Result<PriorDocument> {
        let number = required_reference(fields.number, input.number)?;
        let country = country(fields.country, input.country)?;
        let issued_on = date(fields.issued_on, input.issued_on)?;
        let appendix = input
            .appendix
            .filter(|s| !s.trim().is_empty())
            .map(|s| Appendix::parse(&s).map_err(|e| Error::domain(fields.appendix, e)))
            .transpose()?;
        let source = input
            .source
            .filter(|s| !s.trim().is_empty())
            .map(|s| SourceCode::parse(&s).map_err(|e| Error::domain(fields.source, e)))
            .transpose()?;
        let unit = unit(fields.unit, input.unit)?;
        let quantity_remaining = input
            .quantity_remaining
            .as_ref()
            .map(|value| {
                // Zero is a real balance here: the document is used up.
                let amount = quantity_amount(fields.quantity_remaining, Some(value), false)?;
                Quantity::new(amount, unit).map_err(|e| Error::domain(fields.quantity_remaining, e))
            })
            .transpose()?;
        Ok(PriorDocument {
            number,
            country,
            issued_on,
            appendix,
            source,
            quantity_remaining,
        })
    }

    /// Document number.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// Issuing country.
    pub fn country(&self) -> CountryCode {
        self.country
    }

    /// Date of issue.
    pub fn issued_on(&self) -> Date {
        self.issued_on
    }

    /// Appendix on the document.
    pub fn appendix(&self) -> Option<Appendix> {
        self.appendix
    }

    /// Source code on the document.
    pub fn source(&self) -> Option<SourceCode> {
        self.source
    }

    /// Quantity still available for re-export under the document.
    pub fn quantity_remaining(&self) -> Option<Quantity> {
        self.quantity_remaining
    }
}

fn required(field: &'static str, value: Option<String>, accepted: &'static str) -> Result<String> {
    match value {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(Error::Missing { field, accepted }),
    }
}

fn code<T>(
    field: &'static str,
    value: Option<String>,
    parse: fn(&str) -> domain::Result<T>,
) -> Result<T> {
    let accepted = match field {
        "source" => "a source code such as W, C, D, R, A, O, I, U, X",
        "purpose" => "a purpose code such as T, H, Z, S, P",
        _ => "a term code such as LIV, SKI, LOG (see terms.csv)",
    };
    let raw = required(field, value, accepted)?;
    parse(&raw).map_err(|e| Error::domain(field, e))
}

fn country(field: &'static str, value: Option<String>) -> Result<CountryCode> {
    let raw = required(field, value, ACCEPT_COUNTRY)?;
    CountryCode::parse(&raw).map_err(|e| Error::domain(field, e))
}

fn optional_country(field: &'static str, value: Option<String>) -> Result<Option<CountryCode>> {
    value
        .filter(|s| !s.trim().is_empty())
        .map(|s| CountryCode::parse(&s).map_err(|e| Error::domain(field, e)))
        .transpose()
}

fn unit(field: &'static str, value: Option<String>) -> Result<UnitCode> {
    UnitCode::parse(value.as_deref().unwrap_or("")).map_err(|e| Error::domain(field, e))
}

fn date(field: &'static str, value: Option<String>) -> Result<Date> {
    let raw = required(field, value, ACCEPT_DATE)?;
    parse_date(field, &raw)
}

fn parse_date(field: &'static str, raw: &str) -> Result<Date> {
    domain::parse_date(field, raw).map_err(|e| Error::domain(field, e))
}

/// A pre-Convention acquisition date: the same `YYYY-MM-DD` shape as every other date, with
/// years from [`PRE_CONVENTION_YEAR_MIN`].
fn pre_convention_date(field: &'static str, raw: &str) -> Result<Date> {
    let accepted = "a date YYYY-MM-DD from the year 1500 on";
    let trimmed = raw.trim();
    let shape_ok = trimmed.len() == 10
        && trimmed.bytes().enumerate().all(|(idx, b)| match idx {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let date = shape_ok
        .then(|| NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            Error::invalid(field, format!("{raw:?} is not a calendar date"), accepted)
        })?;
    if !(PRE_CONVENTION_YEAR_MIN..=DATE_YEAR_MAX).contains(&date.year()) {
        return Err(Error::invalid(
            field,
            format!("{date} is out of range"),
            accepted,
        ));
    }
    Ok(date)
}

/// An optional free-text value: trimmed, blank means absent, bounded, no control characters.
fn text(field: &'static str, value: Option<String>, chars_max: usize) -> Result<Option<String>> {
    let Some(raw) = value else {
        return Ok(None);
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let accepted: Cow<'static, str> = Cow::Owned(format!("1 to {chars_max} printable characters"));
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "the value contains control characters",
            accepted,
        ));
    }
    let n_chars = trimmed.chars().count();
    if n_chars > chars_max {
        return Err(Error::invalid(
            field,
            format!("the value has {n_chars} characters"),
            accepted,
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

fn reference(field: &'static str, value: Option<String>) -> Result<Option<String>> {
    text(field, value, REFERENCE_CHARS_MAX)
}

fn required_reference(field: &'static str, value: Option<String>) -> Result<String> {
    reference(field, value)?.ok_or(Error::Missing {
        field,
        accepted: ACCEPT_REFERENCE,
    })
}

fn parse_taxon_id(value: &serde_json::Value) -> Result<TaxonId> {
    let raw = match value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => {
            return Err(Error::invalid(
                "taxon_id",
                format!("{other} is neither a number nor a string"),
                "a whole number from 0 to 4294967295",
            ));
        }
    };
    TaxonId::parse(&raw).map_err(|e| Error::domain("taxon_id", e))
}

/// Reads a decimal amount from a JSON string or number. `positive` refuses zero as well as
/// negative amounts (a request for nothing is a mistake; a used-up balance is not).
fn quantity_amount(
    field: &'static str,
    value: Option<&serde_json::Value>,
    positive: bool,
) -> Result<Decimal> {
    let accepted = if positive {
        ACCEPT_QUANTITY
    } else {
        ACCEPT_BALANCE
    };
    let too_large = |text: &str| Error::invalid(field, format!("{text} is too large"), accepted);
    let (text, amount) = match value {
        None | Some(serde_json::Value::Null) => {
            return Err(Error::Missing { field, accepted });
        }
        // The one grammar of amounts, as the quota routes read theirs; digits a decimal cannot
        // hold are a number too large, not something else.
        Some(serde_json::Value::String(s)) => {
            let text = s.trim().to_owned();
            let amount = domain::parse_amount(field, &text).map_err(|e| match e {
                domain::Error::OutOfRange { .. } => too_large(&text),
                other => Error::domain(field, other),
            })?;
            (text, amount)
        }
        // A JSON number was read as JSON reads numbers (a float, printed back in its shortest
        // form, with an exponent when very small or large): that form, not the sender's.
        Some(serde_json::Value::Number(n)) => {
            let text = n.to_string();
            let amount = Decimal::from_str_exact(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map_err(|_| too_large(&text))?;
            (text, amount)
        }
        Some(other) => {
            return Err(Error::invalid(
                field,
                format!("{other} is not a number"),
                accepted,
            ));
        }
    };
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(Error::invalid(
            field,
            format!("{text} is negative"),
            accepted,
        ));
    }
    if positive && amount.is_zero() {
        return Err(Error::invalid(field, format!("{text} is zero"), accepted));
    }
    if amount > QUANTITY_MAX {
        return Err(Error::invalid(
            field,
            format!("{text} is too large"),
            accepted,
        ));
    }
    Ok(amount.normalize())
}
