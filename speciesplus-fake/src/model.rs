//! Typed rows of the Species+ data model, in the key order the real API emits them.
//!
//! Every struct derives `Serialize` with its fields in the order of the recorded bodies, so the
//! fake's JSON looks like the real one byte-for-byte in key order (serde_json's `Value` would sort
//! keys alphabetically). Deserialisation is tolerant: missing keys and `null` arrays become
//! defaults, unknown keys are ignored.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Deserialises `null` or a missing key as an empty vector.
pub(crate) fn null_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Formats a timestamp like Species+ does: `2022-10-25T10:29:30.033Z`.
pub fn fmt_ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn ser_ts<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_ts(t))
}

fn ser_opt_ts<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&fmt_ts(t)),
        None => s.serialize_none(),
    }
}

/// `{iso_code2, name, type}`: a country or territory (also used for `party`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct GeoEntity {
    #[serde(default)]
    pub iso_code2: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// `{name, date, url}`: a notification or event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Event {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `higher_taxa` of an accepted name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
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

/// An element of `synonyms[]` or `accepted_names[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NameRef {
    pub id: i64,
    pub full_name: String,
    #[serde(default)]
    pub author_year: Option<String>,
    #[serde(default)]
    pub rank: Option<String>,
}

/// An element of `common_names[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommonName {
    pub name: String,
    pub language: String,
}

/// A listing change in the `/cites_legislation` shape: `party` and `hash_annotation`
/// are omitted when null, `annotation` is always present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListingRow {
    pub id: i64,
    #[serde(default)]
    pub taxon_concept_id: i64,
    #[serde(default)]
    pub is_current: bool,
    pub appendix: String,
    #[serde(default = "plus")]
    pub change_type: String,
    #[serde(default)]
    pub effective_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<GeoEntity>,
    #[serde(default)]
    pub annotation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_annotation: Option<serde_json::Value>,
}

fn plus() -> String {
    "+".to_string()
}

impl ListingRow {
    /// The view forces `is_current = false` for `-` and `R-` rows.
    pub(crate) fn normalise(&mut self) {
        if self.change_type == "-" || self.change_type == "R-" {
            self.is_current = false;
        }
    }
}

/// An element of `cites_quotas[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaRow {
    pub id: i64,
    #[serde(default)]
    pub taxon_concept_id: Option<i64>,
    #[serde(default)]
    pub quota: Option<f64>,
    #[serde(default)]
    pub publication_date: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "yes")]
    pub public_display: bool,
    #[serde(default)]
    pub is_current: bool,
    #[serde(default)]
    pub unit: Option<serde_json::Value>,
    #[serde(default)]
    pub geo_entity: Option<GeoEntity>,
}

fn yes() -> bool {
    true
}

/// An element of `cites_suspensions[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuspensionRow {
    pub id: i64,
    #[serde(default)]
    pub taxon_concept_id: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub is_current: bool,
    #[serde(default)]
    pub applies_to_import: bool,
    #[serde(default)]
    pub geo_entity: Option<GeoEntity>,
    #[serde(default)]
    pub start_notification: Option<Event>,
}

/// An element of the `/distributions` array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistributionRow {
    pub id: i64,
    #[serde(default)]
    pub iso_code2: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_vec")]
    pub tags: Vec<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "null_vec")]
    pub references: Vec<String>,
}

/// An element of the `/references` array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceRow {
    pub id: i64,
    #[serde(default)]
    pub citation: Option<String>,
    #[serde(default)]
    pub is_standard: bool,
}

/// One taxon concept in the bulk-dump shape (one NDJSON line).
///
/// Two keys are fake-only extensions, never served by the API and only written by
/// [`crate::Catalogue::to_ndjson`] when set: `dependents_updated_at` (SAPI's column; the served
/// `updated_at` is `COALESCE(dependents_updated_at, updated_at)`) and `taxonomy` (`"CMS"` puts the
/// row in the CMS tree, anything else or absent means CITES).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaxonLine {
    pub id: i64,
    pub full_name: String,
    #[serde(default)]
    pub author_year: Option<String>,
    #[serde(default)]
    pub rank: String,
    #[serde(default = "accepted")]
    pub name_status: String,
    /// The `updated_at` the API shows (already `COALESCE(dependents_updated_at, updated_at)`).
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: DateTime<Utc>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub cites_listing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eu_listing: Option<String>,
    #[serde(default)]
    pub higher_taxa: Option<HigherTaxa>,
    #[serde(default, deserialize_with = "null_vec")]
    pub synonyms: Vec<NameRef>,
    #[serde(default, deserialize_with = "null_vec")]
    pub common_names: Vec<CommonName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_names: Option<Vec<NameRef>>,
    /// All listing changes visible in `/cites_legislation` (all scopes, inherited ones included).
    #[serde(default, deserialize_with = "null_vec")]
    pub cites_listings: Vec<ListingRow>,
    #[serde(default, deserialize_with = "null_vec")]
    pub cites_quotas: Vec<QuotaRow>,
    #[serde(default, deserialize_with = "null_vec")]
    pub cites_suspensions: Vec<SuspensionRow>,
    #[serde(default, deserialize_with = "null_vec")]
    pub distributions: Vec<DistributionRow>,
    #[serde(default, deserialize_with = "null_vec")]
    pub references: Vec<ReferenceRow>,
    #[serde(default, deserialize_with = "null_vec")]
    pub eu_listings: Vec<serde_json::Value>,
    #[serde(default, deserialize_with = "null_vec")]
    pub eu_decisions: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_ts"
    )]
    pub dependents_updated_at: Option<DateTime<Utc>>,
}

fn accepted() -> String {
    "A".to_string()
}

impl TaxonLine {
    /// Accepted, active and in the CITES tree.
    pub fn is_accepted(&self) -> bool {
        self.active && self.name_status == "A"
    }

    /// True when the fake-only `taxonomy` key says CMS.
    pub fn is_cms(&self) -> bool {
        self.taxonomy
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("cms"))
    }

    /// The genus name (first word of `full_name`) for ranks at or below genus.
    pub fn genus_name(&self) -> Option<&str> {
        match self.rank.as_str() {
            "GENUS" | "SPECIES" | "SUBSPECIES" | "VARIETY" => self.full_name.split(' ').next(),
            _ => None,
        }
    }

    /// Renders the row as a deleted taxon: identity kept, everything else null.
    pub(crate) fn to_deleted(&self, at: DateTime<Utc>) -> TaxonLine {
        TaxonLine {
            id: self.id,
            full_name: self.full_name.clone(),
            author_year: self.author_year.clone(),
            rank: self.rank.clone(),
            name_status: self.name_status.clone(),
            updated_at: at,
            active: false,
            cites_listing: None,
            eu_listing: None,
            higher_taxa: None,
            synonyms: Vec::new(),
            common_names: Vec::new(),
            accepted_names: None,
            cites_listings: Vec::new(),
            cites_quotas: Vec::new(),
            cites_suspensions: Vec::new(),
            distributions: Vec::new(),
            references: Vec::new(),
            eu_listings: Vec::new(),
            eu_decisions: Vec::new(),
            taxonomy: self.taxonomy.clone(),
            dependents_updated_at: None,
        }
    }

    /// The dump line: deleted taxa carry nulls for everything but their identity.
    pub(crate) fn dump_json(&self, with_extensions: bool) -> String {
        if !self.active {
            #[derive(Serialize)]
            struct Deleted<'a> {
                id: i64,
                full_name: &'a str,
                author_year: &'a Option<String>,
                rank: &'a str,
                name_status: &'a str,
                updated_at: String,
                active: bool,
                cites_listing: Option<()>,
                higher_taxa: Option<()>,
                synonyms: Option<()>,
                common_names: Option<()>,
                cites_listings: Option<()>,
                cites_quotas: Option<()>,
                cites_suspensions: Option<()>,
                distributions: Option<()>,
                references: Option<()>,
                eu_listings: Option<()>,
                eu_decisions: Option<()>,
                #[serde(skip_serializing_if = "Option::is_none")]
                taxonomy: Option<&'a str>,
            }
            let d = Deleted {
                id: self.id,
                full_name: &self.full_name,
                author_year: &self.author_year,
                rank: &self.rank,
                name_status: &self.name_status,
                updated_at: fmt_ts(&self.updated_at),
                active: false,
                cites_listing: None,
                higher_taxa: None,
                synonyms: None,
                common_names: None,
                cites_listings: None,
                cites_quotas: None,
                cites_suspensions: None,
                distributions: None,
                references: None,
                eu_listings: None,
                eu_decisions: None,
                taxonomy: if with_extensions {
                    self.taxonomy.as_deref()
                } else {
                    None
                },
            };
            return to_json(&d);
        }
        if with_extensions {
            to_json(self)
        } else {
            let mut plain = self.clone();
            plain.taxonomy = None;
            plain.dependents_updated_at = None;
            to_json(&plain)
        }
    }
}

/// Serialises a value that cannot fail to serialise (no non-string map keys); `null` otherwise.
pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

/// A tiny ordered JSON object writer: keys come out in insertion order.
pub(crate) struct Obj {
    buf: String,
    first: bool,
}

impl Obj {
    pub(crate) fn new() -> Obj {
        Obj {
            buf: String::from("{"),
            first: true,
        }
    }

    pub(crate) fn raw(&mut self, key: &str, raw_json: &str) -> &mut Obj {
        if !self.first {
            self.buf.push(',');
        }
        self.first = false;
        self.buf.push_str(&to_json(key));
        self.buf.push(':');
        self.buf.push_str(raw_json);
        self
    }

    pub(crate) fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> &mut Obj {
        let s = to_json(v);
        self.raw(key, &s)
    }

    pub(crate) fn finish(&mut self) -> String {
        let mut out = std::mem::take(&mut self.buf);
        out.push('}');
        out
    }
}

/// Joins already-serialised JSON values into an array.
pub(crate) fn json_array<I: IntoIterator<Item = String>>(items: I) -> String {
    let mut out = String::from("[");
    for (i, it) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&it);
    }
    out.push(']');
    out
}
