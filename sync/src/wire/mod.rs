//! The Species+ API v1 wire format, parsed tolerantly.
//!
//! Every field is optional except `id`: the 2022 and 2025 deployments differ in which keys they
//! send (`party` and `hash_annotation` absent instead of null, `eu_listing` added, the shape of
//! `cites_listings` inside taxon concepts changed), and a parser that insists on a key breaks on
//! the next deployment (rcites #70). Unknown keys are ignored for the same reason. Only this
//! module knows JSON; `apply` turns these types into catalogue rows.

use serde::Deserialize;

/// A page of `GET /taxon_concepts`.
#[derive(Debug, Clone, Deserialize)]
pub struct TaxonConceptsPage {
    #[serde(default)]
    pub pagination: Option<Pagination>,
    #[serde(default)]
    pub taxon_concepts: Vec<TaxonConcept>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct Pagination {
    #[serde(default)]
    pub current_page: Option<u64>,
    #[serde(default)]
    pub per_page: Option<u64>,
    #[serde(default)]
    pub total_entries: Option<u64>,
}

/// One taxon concept: an accepted name, a synonym or a deleted concept. In a bulk dump line the
/// same object also carries the taxon's legislation and distributions.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TaxonConcept {
    pub id: i64,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub author_year: Option<String>,
    #[serde(default)]
    pub rank: Option<String>,
    #[serde(default)]
    pub name_status: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub cites_listing: Option<String>,
    #[serde(default)]
    pub higher_taxa: Option<HigherTaxa>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub synonyms: Vec<NameRef>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub accepted_names: Vec<NameRef>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub common_names: Vec<CommonName>,
    /// In `/taxon_concepts`: current additions only (2022 or 2025 shape). In a dump line: every
    /// listing change of the taxon, all scopes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cites_listings: Vec<ListingChange>,
    /// Present in dump lines only.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cites_quotas: Vec<Quota>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cites_suspensions: Vec<Suspension>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub distributions: Vec<Distribution>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct HigherTaxa {
    #[serde(default)]
    pub kingdom: Option<String>,
    #[serde(default)]
    pub phylum: Option<String>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub family: Option<String>,
}

/// A reference to another name (`synonyms[]`, `accepted_names[]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct NameRef {
    pub id: i64,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub author_year: Option<String>,
    #[serde(default)]
    pub rank: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct CommonName {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
}

/// The body of `GET /taxon_concepts/:id/cites_legislation`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct CitesLegislation {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cites_listings: Vec<ListingChange>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cites_quotas: Vec<Quota>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cites_suspensions: Vec<Suspension>,
}

/// A listing change (`cites_listings[]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ListingChange {
    pub id: i64,
    #[serde(default)]
    pub taxon_concept_id: Option<i64>,
    #[serde(default)]
    pub is_current: Option<bool>,
    #[serde(default)]
    pub appendix: Option<String>,
    #[serde(default)]
    pub change_type: Option<String>,
    #[serde(default)]
    pub effective_at: Option<String>,
    #[serde(default)]
    pub party: Option<GeoEntity>,
    #[serde(default)]
    pub annotation: Option<String>,
    #[serde(default)]
    pub hash_annotation: Option<HashAnnotation>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct GeoEntity {
    #[serde(default)]
    pub iso_code2: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub geo_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct HashAnnotation {
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// An export quota (`cites_quotas[]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Quota {
    pub id: i64,
    #[serde(default)]
    pub taxon_concept_id: Option<i64>,
    /// A JSON number (`180.0`) or null ("in preparation"). Kept as the number's text so that
    /// it converts to an exact decimal without passing through arithmetic.
    #[serde(default)]
    pub quota: Option<serde_json::Number>,
    #[serde(default)]
    pub publication_date: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub public_display: Option<bool>,
    #[serde(default)]
    pub is_current: Option<bool>,
    #[serde(default)]
    pub unit: Option<TradeCode>,
    #[serde(default)]
    pub geo_entity: Option<GeoEntity>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TradeCode {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A trade suspension (`cites_suspensions[]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Suspension {
    pub id: i64,
    #[serde(default)]
    pub taxon_concept_id: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub is_current: Option<bool>,
    #[serde(default)]
    pub applies_to_import: Option<bool>,
    #[serde(default)]
    pub geo_entity: Option<GeoEntity>,
    #[serde(default)]
    pub start_notification: Option<Event>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Event {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// One element of `GET /taxon_concepts/:id/distributions`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Distribution {
    pub id: i64,
    #[serde(default)]
    pub iso_code2: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
    #[serde(default, rename = "type")]
    pub geo_type: Option<String>,
}

/// One element of `GET /downloads` (since April 2025).
#[derive(Debug, Clone, Deserialize)]
pub struct DumpMeta {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub download_url: Option<String>,
    #[serde(default)]
    pub success_message: Option<DumpSuccess>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DumpSuccess {
    #[serde(default)]
    pub stats: Option<DumpStats>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DumpStats {
    #[serde(default)]
    pub record_count: Option<u64>,
    #[serde(default)]
    pub compressed_bytes: Option<u64>,
}

/// The error body Species+ sends with 4xx/5xx (except 401, whose body is empty).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorMessage,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorMessage {
    #[serde(default)]
    pub message: Option<String>,
}

/// `null` and an absent key both mean "no elements".
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests;
