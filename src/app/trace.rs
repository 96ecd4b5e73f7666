//! The provenance register's use cases, shared by `POST /v1/trace/events`, the trace queries
//! and `cites trace`: a batch ingested under its caller's client key, in the project's JSON or
//! as an EPCIS 2.0 document; the origin and forward trace of a specimen within limits read by
//! one function ([`limits`]); look-ups by identifier and document number; the full sweep with
//! the catalogue's facts of the register's taxa ([`Tracing::check`]) under the yield and
//! breeding tables ([`trace_config`]); a specimen's legal-acquisition report. Errors are typed
//! ([`TraceError`]); each interface maps them to its own answer.

use std::sync::Arc;

use db::Db;
use domain::Clock;
use quota::ClientKey;
use serde_json::Value;
use trace::{
    DocumentView, Forward, Ingested, LegalAcquisition, Limits, Origin, Problem, Register, Sweep,
    TaxonFacts, TraceConfig,
};

/// What a batch is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The project's own batch JSON (`agents`, `documents`, `specimens`, `events`,
    /// `corrections`).
    Project,
    /// An EPCIS 2.0 JSON-LD capture document.
    Epcis,
}

impl Format {
    /// The format of `body`: EPCIS when its media type is `application/ld+json` or when it
    /// carries EPCIS's `@context` or `epcisBody`; the project's JSON otherwise.
    pub fn detect(media_type: Option<&str>, body: &Value) -> Format {
        let ld = media_type.is_some_and(|m| m.trim().eq_ignore_ascii_case("application/ld+json"));
        let epcis_members = body
            .as_object()
            .is_some_and(|o| o.contains_key("@context") || o.contains_key("epcisBody"));
        if ld || epcis_members {
            Format::Epcis
        } else {
            Format::Project
        }
    }
}

/// Why a trace use case did not answer.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A parameter (a limit, the client key) that cannot be taken, named.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The batch has structural faults: every one is named with its JSON path; nothing was
    /// stored.
    #[error("batch refused, nothing stored: {} problem(s)", .0.len())]
    Refused(Vec<Problem>),
    /// The client key was first used for another batch.
    #[error(
        "client key {key:?} was first used for another batch ({first}); a key identifies one batch (sent again with the same content, it gets its first answer): use a new key for a new batch"
    )]
    KeyConflict { key: String, first: String },
    /// No such specimen or event in the register.
    #[error("{0}")]
    NotFound(String),
    /// The catalogue could not be read for the facts of the register's taxa.
    #[error("the catalogue could not answer: {0}")]
    Catalogue(String),
    /// The register could not answer (the database, or stored data it cannot read).
    #[error("the provenance register could not answer")]
    Register(#[source] trace::Error),
}

impl TraceError {
    /// The database error under this one, if any (the interfaces answer "unavailable" for a
    /// database out of reach).
    pub fn sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            TraceError::Register(trace::Error::Sqlx(e)) => Some(e),
            TraceError::Register(trace::Error::Db(db::Error::Sqlx(e))) => Some(e),
            _ => None,
        }
    }

    /// The register's error in terms of the caller's key (`client` as the caller sent it).
    fn of(e: trace::Error, client: Option<&str>) -> TraceError {
        match e {
            trace::Error::Refused { problems } => TraceError::Refused(problems),
            trace::Error::KeyConflict { key, first } => TraceError::KeyConflict {
                key: client.map_or(key, str::to_owned),
                first,
            },
            trace::Error::Invalid { field, message } => TraceError::Invalid {
                field: field.to_owned(),
                message: format!("invalid {field}: {message}"),
            },
            trace::Error::Config { key, message } => TraceError::Invalid {
                message: format!("trace configuration: {key}: {message}"),
                field: key,
            },
            e @ (trace::Error::SpecimenNotFound(_) | trace::Error::EventNotFound(_)) => {
                TraceError::NotFound(e.to_string())
            }
            e => TraceError::Register(e),
        }
    }
}

impl From<trace::Error> for TraceError {
    fn from(e: trace::Error) -> TraceError {
        TraceError::of(e, None)
    }
}

/// The limits of a query from the text of its `depth` and `nodes` (absent: the defaults), as
/// both the HTTP query string and `cites trace --depth/--nodes` give them. An error names the
/// parameter and what is accepted.
pub fn limits(depth: Option<&str>, nodes: Option<&str>) -> Result<Limits, TraceError> {
    fn whole(field: &str, text: &str, max: u64) -> Result<u64, TraceError> {
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| TraceError::Invalid {
                field: field.to_owned(),
                message: format!(
                    "invalid {field} {text:?}: accepted a whole number from 1 to {max}"
                ),
            })
    }
    let mut limits = Limits::default();
    if let Some(d) = depth {
        let d = whole("depth", d, u64::from(trace::DEPTH_MAX))?;
        limits.depth = u32::try_from(d).unwrap_or(trace::DEPTH_MAX);
    }
    if let Some(n) = nodes {
        let n = whole("nodes", n, trace::NODES_MAX as u64)?;
        limits.nodes = usize::try_from(n).unwrap_or(trace::NODES_MAX);
    }
    Ok(limits)
}

/// The register's use cases over one database and clock (the ledger's).
#[derive(Clone)]
pub struct Tracing {
    register: Register,
    db: Db,
}

/// The yield and breeding tables from `path` (TOML, `trace/trace.default.toml` documents each
/// key), or the shipped defaults. An error names the file and the key.
pub fn trace_config(path: Option<&std::path::Path>) -> Result<TraceConfig, TraceError> {
    let Some(path) = path else {
        return Ok(TraceConfig::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| TraceError::Invalid {
        field: "config".to_owned(),
        message: format!("trace configuration {}: {e}", path.display()),
    })?;
    TraceConfig::from_toml_str(&text).map_err(|e| match TraceError::from(e) {
        TraceError::Invalid { field, message } => TraceError::Invalid {
            field,
            message: format!("{}: {message}", path.display()),
        },
        e => e,
    })
}

impl Tracing {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Tracing {
        Tracing {
            register: Register::new(db.clone(), clock),
            db,
        }
    }

    /// The full sweep of the register under `config`, with what the catalogue knows of the
    /// register's taxa (their names up to the kingdom); a taxon the catalogue lacks is
    /// reported by the sweep as unverifiable.
    pub async fn check(
        &self,
        config: &TraceConfig,
        progress: trace::Progress<'_>,
    ) -> Result<Sweep, TraceError> {
        let mut taxa = std::collections::HashMap::new();
        for id in self.register.taxa().await? {
            let Some(t) = sync::store::taxon(&self.db, id)
                .await
                .map_err(|e| TraceError::Catalogue(e.to_string()))?
            else {
                continue;
            };
            let lineage: Vec<String> = [
                Some(t.full_name.clone()),
                t.genus.clone(),
                t.family.clone(),
                t.taxon_order.clone(),
                t.class.clone(),
                t.phylum.clone(),
                t.kingdom.clone(),
            ]
            .into_iter()
            .flatten()
            .filter(|n| !n.trim().is_empty())
            .collect();
            let kingdom = t
                .kingdom
                .as_deref()
                .and_then(|k| domain::Kingdom::parse(k).ok());
            taxa.insert(id, TaxonFacts { lineage, kingdom });
        }
        Ok(self.register.sweep(config, &taxa, progress).await?)
    }

    /// The legal-acquisition report of `specimen` (Res. Conf. 18.7).
    pub async fn legal_acquisition(
        &self,
        specimen: &str,
        limits: Limits,
    ) -> Result<LegalAcquisition, TraceError> {
        if !storable(specimen) {
            return Err(trace::Error::SpecimenNotFound(specimen.to_owned()).into());
        }
        Ok(self.register.legal_acquisition(specimen, limits).await?)
    }

    /// Ingests `body` in `format` under `key` (a caller's scoped key over HTTP, the command
    /// line's own otherwise): accepted whole, with its findings, or refused whole. A retried
    /// batch (same key, same content) is stored once and answered as the first time.
    pub async fn ingest(
        &self,
        body: &Value,
        format: Format,
        key: &ClientKey,
    ) -> Result<Ingested, TraceError> {
        let done = match format {
            Format::Project => self.register.ingest(body, key.as_str()).await,
            Format::Epcis => self.register.ingest_epcis(body, key.as_str()).await,
        };
        done.map_err(|e| TraceError::of(e, Some(key.client_part())))
    }

    /// Where `specimen` came from.
    pub async fn origin(&self, specimen: &str, limits: Limits) -> Result<Origin, TraceError> {
        if !storable(specimen) {
            return Err(trace::Error::SpecimenNotFound(specimen.to_owned()).into());
        }
        Ok(self.register.origin(specimen, limits).await?)
    }

    /// Where `specimen` went.
    pub async fn forward(&self, specimen: &str, limits: Limits) -> Result<Forward, TraceError> {
        if !storable(specimen) {
            return Err(trace::Error::SpecimenNotFound(specimen.to_owned()).into());
        }
        Ok(self.register.forward(specimen, limits).await?)
    }

    /// Where what `event` (an acquisition, most often) produced went.
    pub async fn forward_from_event(
        &self,
        event: &str,
        limits: Limits,
    ) -> Result<Forward, TraceError> {
        if !storable(event) {
            return Err(trace::Error::EventNotFound(event.to_owned()).into());
        }
        Ok(self.register.forward_from_event(event, limits).await?)
    }

    /// The specimens an identifier (of any scheme) names.
    pub async fn by_identifier(&self, value: &str) -> Result<Vec<IdentifiedAs>, TraceError> {
        if !storable(value) {
            return Ok(Vec::new());
        }
        Ok(self
            .register
            .by_identifier(None, value)
            .await?
            .into_iter()
            .map(|(scheme, value, specimen)| IdentifiedAs {
                scheme,
                value,
                specimen,
            })
            .collect())
    }

    /// Every document with this number, at its latest revision, with the events citing it.
    pub async fn by_document(&self, number: &str) -> Result<Vec<DocumentView>, TraceError> {
        if !storable(number) {
            return Ok(Vec::new());
        }
        Ok(self.register.by_document(number).await?)
    }
}

/// Whether the register can hold `text` as a key, an identifier or a document number: none
/// holds a control character (PostgreSQL's text cannot even take a NUL), so a query for one
/// finds nothing without asking the database.
fn storable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// A specimen an identifier names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IdentifiedAs {
    pub scheme: String,
    pub value: String,
    pub specimen: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn limits_default_and_name_the_parameter_at_fault() {
        assert_eq!(limits(None, None).unwrap(), Limits::default());
        let l = limits(Some("3"), Some(" 20 ")).unwrap();
        assert_eq!((l.depth, l.nodes), (3, 20));
        for (depth, nodes, field) in [
            (Some("0"), None, "depth"),
            (Some("200001"), None, "depth"),
            (Some("-1"), None, "depth"),
            (None, Some("ten"), "nodes"),
            (None, Some("1000001"), "nodes"),
        ] {
            match limits(depth, nodes) {
                Err(TraceError::Invalid { field: f, message }) => {
                    assert_eq!(f, field);
                    assert!(
                        message.starts_with(&format!("invalid {field} ")),
                        "{message}"
                    );
                }
                other => panic!("{depth:?} {nodes:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_body_is_epcis_by_its_media_type_or_its_members() {
        let project = json!({"events": []});
        assert_eq!(Format::detect(None, &project), Format::Project);
        assert_eq!(
            Format::detect(Some("application/json"), &project),
            Format::Project
        );
        assert_eq!(
            Format::detect(Some("Application/LD+JSON"), &project),
            Format::Epcis
        );
        assert_eq!(
            Format::detect(None, &json!({"@context": [], "type": "EPCISDocument"})),
            Format::Epcis
        );
        assert_eq!(
            Format::detect(None, &json!({"epcisBody": {}})),
            Format::Epcis
        );
    }
}
