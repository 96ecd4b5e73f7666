//! What the application knows about the world when it asks for a check: the resolved taxon, its
//! listing at the issue and trade dates, Parties, suspensions, quotas and history.
//!
//! Plain data with public fields. The application fills it from the catalogue (the listing
//! mirrors `sync::listing::ListingAt`), the quota ledger and its own records; the rules only read
//! it. Nothing here is fetched or computed by this crate, and "today" is a field, never a clock
//! read.

use domain::{
    Appendix, CountryCode, Date, Kingdom, Period, PurposeCode, Quantity, SourceCode, TaxonId,
    TermCode, UnitCode,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Everything the rules need besides the application itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The date the check is made ("as of"), injected by the caller. Used for the
    /// recent-amendment risk indicator.
    pub today: Date,
    /// The submitted taxon, resolved to its accepted concept.
    pub taxon: TaxonFacts,
    /// The listing on the trade date, for the origin's population (the exporter's if no origin).
    pub listing_at_trade: ListingFacts,
    /// The listing on the issue date, same population. Equal to `listing_at_trade` when both
    /// dates are the same.
    pub listing_at_issue: ListingFacts,
    /// The date the Convention first applied to the taxon (its first listing, own or
    /// inherited), for pre-Convention claims. `None` when unknown.
    #[serde(default)]
    pub first_listing_date: Option<Date>,
    /// Effective date of the most recent listing change of the taxon (or of an ancestor that it
    /// inherits from), future ones included.
    #[serde(default)]
    pub last_amendment: Option<Date>,
    /// Countries that are not Parties to the Convention on the trade date.
    #[serde(default)]
    pub non_parties: Vec<CountryCode>,
    /// Suspensions recorded for the taxon or its ancestors, or country-wide, for the exporter,
    /// importer or origin. The rules re-check dates and scope, so passing extra ones is safe.
    #[serde(default)]
    pub suspensions: Vec<SuspensionFact>,
    /// Export quotas for the taxon or its ancestors and the exporter. The rules re-check the
    /// period, taxon, exporter and restrictions, so passing extra ones is safe.
    #[serde(default)]
    pub quotas: Vec<QuotaFact>,
    /// Countries in the taxon's distribution; empty when unknown.
    #[serde(default)]
    pub distribution: Vec<CountryCode>,
    /// Quantities of the applicant's previous permits for this taxon.
    #[serde(default)]
    pub exporter_history: Vec<Quantity>,
    /// How many of the applicant's earlier applications were refused.
    #[serde(default)]
    pub exporter_refused_applications: u32,
    /// Whether the taxon is under review of trade in captive-bred specimens (Res. Conf. 17.7).
    #[serde(default)]
    pub captive_breeding_review: bool,
    /// Whether the issuing Party uses security stamps on its permits (Res. Conf. 12.3, box 5b).
    #[serde(default)]
    pub security_stamp_required: bool,
    /// What the permit register says about the origin permit (or last re-export certificate)
    /// of a re-export; `None` when it was not looked up.
    #[serde(default)]
    pub origin_permit_status: Option<PriorDocumentStatus>,
    /// Whether the catalogue the facts come from is the built-in sample rather than a mirror of
    /// Species+ (its listings are recorded or synthetic): every decision on it needs review.
    #[serde(default)]
    pub catalogue_is_sample: bool,
}

/// The taxon after synonym resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxonFacts {
    /// Accepted Species+ taxon concept id.
    pub id: TaxonId,
    /// Accepted name, e.g. "Ceratotherium simum simum".
    pub accepted_name: String,
    /// The name as submitted, kept for the audit trail.
    #[serde(default)]
    pub submitted_name: Option<String>,
    /// Whether the submitted name was a synonym or trade name of the accepted one.
    #[serde(default)]
    pub via_synonym: bool,
    /// Animalia or Plantae, for source-code validity and annotation rules.
    pub kingdom: Kingdom,
    /// Species+ rank, e.g. "SPECIES", "SUBSPECIES".
    pub rank: String,
    /// Ancestor ids, nearest first (genus, family, ...), for inherited suspensions and quotas.
    #[serde(default)]
    pub ancestor_ids: Vec<TaxonId>,
    /// Ancestor names, nearest first (e.g. "Opuntia", "Cactaceae"), for annotations that name
    /// a genus or family.
    #[serde(default)]
    pub ancestor_names: Vec<String>,
    /// Concepts Species+ has since merged into this one (synonyms pointing to it): a national
    /// quota declared against one still limits this taxon's exports.
    #[serde(default)]
    pub merged_ids: Vec<TaxonId>,
    /// Whether the specimen is a hybrid; its listing is the stricter of its listed parents'
    /// (Res. Conf. 10.17), which the application resolves.
    #[serde(default)]
    pub is_hybrid: bool,
    /// Set when the submitted taxon is a domesticated form the Appendices exclude by name,
    /// e.g. "Bos frontalis (excluded from Bos gaurus)".
    #[serde(default)]
    pub excluded_form: Option<String>,
}

/// The listing of the taxon on one date, for one population.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingFacts {
    /// The date the listing was derived for.
    pub date: Date,
    /// The population (country) the listing was derived for.
    #[serde(default)]
    pub population_country: Option<CountryCode>,
    /// Listed, not listed, or depending on a population that could not be decided.
    pub status: ListingStatus,
    /// The listing changes that decide the status, own or inherited.
    #[serde(default)]
    pub deciding: Vec<ListingChangeFact>,
    /// Appendix III listing Parties in force.
    #[serde(default)]
    pub app_iii_parties: Vec<CountryCode>,
    /// Reservations in force for the deciding Appendices.
    #[serde(default)]
    pub reservations: Vec<ReservationFact>,
    /// Set when a person must read the annotations (an unreadable population clause).
    #[serde(default)]
    pub needs_review: bool,
}

/// The listing status on a date (serialised like `sync::listing::Status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ListingStatus {
    /// In one Appendix.
    Listed {
        /// The Appendix.
        appendix: Appendix,
    },
    /// In no Appendix: the Convention does not apply.
    NotListed,
    /// Different populations are in different Appendices and the population could not be
    /// decided.
    DependsOnPopulation {
        /// The Appendices in play.
        appendices: Vec<Appendix>,
    },
}

/// A listing change (Species+ `listing_change`) that decides the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingChangeFact {
    /// Species+ listing change id.
    pub listing_id: i64,
    /// The taxon the change was made for (an ancestor when inherited).
    pub taxon_id: TaxonId,
    /// Appendix.
    pub appendix: Appendix,
    /// Date the change took effect.
    pub effective_at: Date,
    /// Listing Party (Appendix III).
    #[serde(default)]
    pub party: Option<CountryCode>,
    /// Annotation text (population clauses, "exclusive purpose" clauses).
    #[serde(default)]
    pub annotation: Option<String>,
    /// The # annotation that restricts which plant parts are covered.
    #[serde(default)]
    pub hash_annotation: Option<HashAnnotationFact>,
    /// Name of the ancestor the listing is inherited from, if any.
    #[serde(default)]
    pub inherited_from: Option<String>,
}

/// A # annotation as Species+ publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashAnnotationFact {
    /// The symbol, e.g. "#4" or "CoP19 #17" (the event prefix is the annotation's version).
    #[serde(default)]
    pub symbol: Option<String>,
    /// The annotation text.
    #[serde(default)]
    pub note: Option<String>,
}

/// A reservation in force (`R+` without a later `R-`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationFact {
    /// Species+ listing change id of the `R+`.
    pub listing_id: i64,
    /// The reserving Party.
    pub party: CountryCode,
    /// The Appendix the reservation is entered against.
    pub appendix: Appendix,
    /// Date the reservation took effect.
    pub effective_at: Date,
    /// Its annotation, e.g. a narrowing to parts and derivatives.
    #[serde(default)]
    pub annotation: Option<String>,
}

/// What a suspension record is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspensionKind {
    /// A CITES recommendation to suspend trade (Standing Committee, Review of Significant
    /// Trade, annual reports, national legislation, compliance).
    #[default]
    Cites,
    /// A national trade ban communicated by a Management Authority.
    NationalBan,
    /// An information notice.
    InformationNotice,
}

/// A trade suspension record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionFact {
    /// Species+ id.
    pub id: i64,
    /// What kind of measure it is.
    #[serde(default)]
    pub kind: SuspensionKind,
    /// The start notification, e.g. "No. 2023/037".
    #[serde(default)]
    pub notification: Option<String>,
    /// First day in force.
    pub start_date: Date,
    /// First day no longer in force (the end notification's date); `None` while current.
    #[serde(default)]
    pub end_date: Option<Date>,
    /// The taxon (or ancestor) suspended; `None` for a country-wide suspension.
    #[serde(default)]
    pub taxon_id: Option<TaxonId>,
    /// Taxa excluded from a suspension on a higher taxon.
    #[serde(default)]
    pub excluded_taxon_ids: Vec<TaxonId>,
    /// The country the suspension concerns.
    pub country: CountryCode,
    /// Whether it also applies when that country is the importer.
    #[serde(default)]
    pub applies_to_import: bool,
    /// Sources in scope; empty means all.
    #[serde(default)]
    pub sources: Vec<SourceCode>,
    /// Purposes in scope; empty means all.
    #[serde(default)]
    pub purposes: Vec<PurposeCode>,
    /// Terms in scope; empty means all.
    #[serde(default)]
    pub terms: Vec<TermCode>,
    /// Free-text notes, which may carry conditions the fields do not encode.
    #[serde(default)]
    pub notes: Option<String>,
    /// Species+'s `is_current` as of the last sync, when the measure comes from Species+: a
    /// measure no longer current whose end is unknown may still have been in force on a past
    /// trade date. `None`: the dates say all.
    #[serde(default)]
    pub is_current: Option<bool>,
    /// Why the measure's scope could not be read from what Species+ gives (`measure::read`);
    /// `None` when its fields say it. A measure whose scope is unread goes to review.
    #[serde(default)]
    pub scope_unread: Option<String>,
}

/// An export quota and where its ledger stands, in the quota's unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaFact {
    /// Ledger id.
    pub id: i64,
    /// Species+ quota id, when imported from the catalogue.
    #[serde(default)]
    pub speciesplus_id: Option<i64>,
    /// The taxon (or ancestor) the quota is for.
    pub taxon_id: TaxonId,
    /// The exporting country.
    pub exporter: CountryCode,
    /// The quota period (half-open).
    pub period: Period,
    /// The quota's unit.
    pub unit: UnitCode,
    /// The quota; `None` while "in preparation".
    #[serde(default)]
    pub limit: Option<Decimal>,
    /// Reserved by pending applications (this one excluded).
    #[serde(default)]
    pub held: Decimal,
    /// Committed to issued permits not yet used.
    #[serde(default)]
    pub committed: Decimal,
    /// Exported (permits endorsed).
    #[serde(default)]
    pub exported: Decimal,
    /// Terms the quota is restricted to; empty means all.
    #[serde(default)]
    pub terms: Vec<TermCode>,
    /// Sources the quota is restricted to; empty means all.
    #[serde(default)]
    pub sources: Vec<SourceCode>,
    /// Purposes the quota is restricted to; empty means all.
    #[serde(default)]
    pub purposes: Vec<PurposeCode>,
    /// Notes published with the quota.
    #[serde(default)]
    pub notes: Option<String>,
    /// Legal basis when the quota was set by the Conference of the Parties, e.g.
    /// "Res. Conf. 10.14 (Rev. CoP19)".
    #[serde(default)]
    pub basis: Option<String>,
}

/// What the permit register says about an earlier document of a re-export chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorDocumentStatus {
    /// Known and valid.
    Valid,
    /// Not found in the register.
    NotFound,
    /// Cancelled.
    Cancelled,
    /// Issued under, or affected by, a suspension.
    Suspended,
    /// Known to be invalid (e.g. issued without the required findings).
    Invalid,
}
