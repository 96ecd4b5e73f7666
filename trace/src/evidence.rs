//! The legal-acquisition report of a specimen (Res. Conf. 18.7): for every acquisition its
//! origin reaches, along the explaining path, the evidence present (the documents the
//! acquisition and each trade event on the way cite, usable on the event's date) and the
//! evidence missing, requirement by requirement. For a specimen bred in captivity or
//! artificially propagated, the parental stock must itself be shown legally acquired: the
//! parents' origins are reported as further paths (iteratively, at most
//! [`PARENT_ORIGINS_MAX`] of them).

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::NaiveDate;
use db::read_db;
use domain::Timestamp;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use crate::error::Result;
use crate::ingest::Register;
use crate::model::{DocType, EventKind};
use crate::query::{DocumentView, Limits, Node};

/// Origins of parental stock a report follows at most: a few generations of a breeding
/// operation's founders; beyond it the report says `truncated`.
pub const PARENT_ORIGINS_MAX: usize = 64;

/// What an acquisition of a kind must be shown by, and the document types that show it.
pub(crate) fn acquisition_documents(kind: EventKind) -> (&'static str, &'static [DocType]) {
    use DocType::*;
    match kind {
        EventKind::WildHarvest => (
            "harvest or hunting licence",
            &[Licence, LegalAcquisitionFinding],
        ),
        EventKind::Ranching => ("ranching licence", &[Licence, LegalAcquisitionFinding]),
        EventKind::CaptiveBirth => (
            "registration of the breeding operation or captive-breeding certificate",
            &[CaptiveBreedingCertificate, Licence, LegalAcquisitionFinding],
        ),
        EventKind::ArtificialPropagation => (
            "nursery registration or certificate of artificial propagation",
            &[CaptiveBreedingCertificate, Licence, LegalAcquisitionFinding],
        ),
        EventKind::PreConvention => (
            "proof of the acquisition date (pre-Convention certificate)",
            &[PreConventionCertificate, LegalAcquisitionFinding],
        ),
        _ => (
            "proof of lawful disposal of the confiscated specimen",
            &[LegalAcquisitionFinding, Other],
        ),
    }
}

/// What a custody or trade event must be shown by, if anything.
pub(crate) fn trade_documents(kind: EventKind) -> Option<(&'static str, &'static [DocType])> {
    use DocType::*;
    match kind {
        EventKind::Export => Some(("export permit", &[ExportPermit])),
        EventKind::ReExport => Some(("re-export certificate", &[ReExportCertificate])),
        EventKind::Import => Some((
            "import permit or the exporting country's permit",
            &[ImportPermit, ExportPermit, ReExportCertificate],
        )),
        EventKind::Transfer => Some((
            "invoice or purchase receipt",
            &[Invoice, LegalAcquisitionFinding, Other],
        )),
        _ => None,
    }
}

/// A document that shows a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidencePresent {
    pub requirement: String,
    pub event: String,
    /// `country:type:number`.
    pub document: String,
    pub status: String,
}

/// A requirement no usable document shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceMissing {
    pub requirement: String,
    pub event: String,
    /// The document types that would show it.
    pub accepted: Vec<&'static str>,
    pub reason: String,
}

/// One acquisition path with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcquisitionPath {
    pub acquisition: String,
    pub kind: EventKind,
    pub at: Timestamp,
    /// The share of the specimen (of the parent, for parental stock) from this acquisition.
    pub share: Decimal,
    /// For parental stock: the captive birth or propagation whose parent this path explains,
    /// and the parent.
    pub parent_of: Option<String>,
    pub parent: Option<String>,
    /// From the acquisition to the specimen (or the parent), events and specimens alternating.
    pub path: Vec<String>,
    pub present: Vec<EvidencePresent>,
    pub missing: Vec<EvidenceMissing>,
}

/// A specimen whose quantity reaches no acquisition in part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unrooted {
    pub specimen: String,
    pub unaccounted_share: Decimal,
}

/// The legal-acquisition report of a specimen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalAcquisition {
    pub specimen: String,
    /// Every path shows every requirement, every share reaches an acquisition, nothing cut.
    pub complete: bool,
    pub paths: Vec<AcquisitionPath>,
    /// The specimen, or a parent, part of whose quantity reaches no acquisition.
    pub unrooted: Vec<Unrooted>,
    pub truncated: bool,
}

/// What a requirement is checked against: the event and the documents it cites.
struct Check<'a> {
    requirement: &'static str,
    accepted: &'static [DocType],
    event: &'a str,
    on: NaiveDate,
    cited: &'a [&'a DocumentView],
}

fn check(c: &Check<'_>, path: &mut AcquisitionPath) {
    let mut reasons = Vec::new();
    let before = path.present.len();
    for d in c.cited {
        if !c.accepted.iter().any(|t| t.as_str() == d.doc_type) {
            continue;
        }
        let key = format!("{}:{}:{}", d.country, d.doc_type, d.number);
        if matches!(d.status.as_str(), "cancelled" | "lost") {
            reasons.push(format!("{key} is {}", d.status));
        } else if d.valid_from.is_some_and(|f| c.on < f) || d.valid_until.is_some_and(|u| c.on > u)
        {
            reasons.push(format!("{key} was not valid on {}", c.on));
        } else {
            path.present.push(EvidencePresent {
                requirement: c.requirement.to_owned(),
                event: c.event.to_owned(),
                document: key,
                status: d.status.clone(),
            });
        }
    }
    if path.present.len() == before {
        path.missing.push(EvidenceMissing {
            requirement: c.requirement.to_owned(),
            event: c.event.to_owned(),
            accepted: c.accepted.iter().map(|t| t.as_str()).collect(),
            reason: if reasons.is_empty() {
                "no such document cited".to_owned()
            } else {
                reasons.join("; ")
            },
        });
    }
}

impl Register {
    /// The parents a captive birth or a propagation names (its subjects), by key.
    async fn parents(&self, event: &str) -> Result<Vec<String>> {
        Ok(read_db!(&self.db, pool => {
            sqlx::query(
                "SELECT specimen_key FROM trace_flows WHERE event_key = $1 \
                 AND direction = 'subject' ORDER BY specimen_key",
            )
            .bind(event)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?)
    }

    /// The legal-acquisition report of `specimen`, each origin within `limits`.
    pub async fn legal_acquisition(
        &self,
        specimen: &str,
        limits: Limits,
    ) -> Result<LegalAcquisition> {
        let mut report = LegalAcquisition {
            specimen: specimen.to_owned(),
            complete: false,
            paths: Vec::new(),
            unrooted: Vec::new(),
            truncated: false,
        };
        let mut queue: VecDeque<(String, Option<(String, String)>)> =
            VecDeque::from([(specimen.to_owned(), None)]);
        let mut seen: HashSet<String> = HashSet::new();
        while let Some((s, via)) = queue.pop_front() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if seen.len() > PARENT_ORIGINS_MAX + 1 {
                report.truncated = true;
                break;
            }
            let o = self.origin(&s, limits).await?;
            report.truncated |= o.truncated;
            if !o.unaccounted_share.is_zero() {
                report.unrooted.push(Unrooted {
                    specimen: s.clone(),
                    unaccounted_share: o.unaccounted_share,
                });
            }
            let index = Index::of(&o);
            for a in &o.acquisitions {
                let mut path = index.path(a, via.as_ref());
                if matches!(
                    a.kind,
                    EventKind::CaptiveBirth | EventKind::ArtificialPropagation
                ) {
                    let parents = self.parents(&a.event).await?;
                    if parents.is_empty() {
                        path.missing.push(EvidenceMissing {
                            requirement: "parental stock legally acquired".to_owned(),
                            event: a.event.clone(),
                            accepted: Vec::new(),
                            reason: "no parents recorded".to_owned(),
                        });
                    }
                    for p in parents {
                        queue.push_back((p.clone(), Some((a.event.clone(), p))));
                    }
                }
                report.paths.push(path);
            }
        }
        report.complete = !report.truncated
            && report.unrooted.is_empty()
            && !report.paths.is_empty()
            && report.paths.iter().all(|p| p.missing.is_empty());
        Ok(report)
    }
}

/// An origin's events, the documents each cites and the custody events on each specimen.
struct Index<'a> {
    events: HashMap<&'a str, (EventKind, Timestamp)>,
    cited: HashMap<&'a str, Vec<&'a DocumentView>>,
    concerning: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Index<'a> {
    fn of(o: &'a crate::query::Origin) -> Index<'a> {
        let mut events: HashMap<&str, (EventKind, Timestamp)> = HashMap::new();
        for n in &o.nodes {
            if let Node::Event { key, event, at, .. } = n
                && let Some(kind) = EventKind::parse(event)
            {
                events.insert(key.as_str(), (kind, *at));
            }
        }
        let mut cited: HashMap<&str, Vec<&DocumentView>> = HashMap::new();
        for d in &o.documents {
            for e in &d.events {
                cited.entry(e.as_str()).or_default().push(d);
            }
        }
        let mut concerning: HashMap<&str, Vec<&str>> = HashMap::new();
        for e in o.edges.iter().filter(|e| e.kind == "subject") {
            concerning
                .entry(e.from.as_str())
                .or_default()
                .push(e.to.as_str());
        }
        Index {
            events,
            cited,
            concerning,
        }
    }

    /// One acquisition's path with its evidence: the acquisition's own, then each custody or
    /// trade event on the path's specimens, in time order.
    fn path(&self, a: &crate::query::Reached, via: Option<&(String, String)>) -> AcquisitionPath {
        let none: Vec<&DocumentView> = Vec::new();
        let mut path = AcquisitionPath {
            acquisition: a.event.clone(),
            kind: a.kind,
            at: a.at,
            share: a.share,
            parent_of: via.map(|v| v.0.clone()),
            parent: via.map(|v| v.1.clone()),
            path: a.path.clone(),
            present: Vec::new(),
            missing: Vec::new(),
        };
        let (requirement, accepted) = acquisition_documents(a.kind);
        check(
            &Check {
                requirement,
                accepted,
                event: &a.event,
                on: a.at.date_naive(),
                cited: self.cited.get(a.event.as_str()).unwrap_or(&none),
            },
            &mut path,
        );
        // Custody and trade events on the specimens of the path, in time order.
        let mut trade: Vec<(Timestamp, &str, EventKind)> = a
            .path
            .iter()
            .skip(1)
            .step_by(2)
            .flat_map(|s| self.concerning.get(s.as_str()).into_iter().flatten())
            .filter_map(|e| self.events.get(e).map(|(k, at)| (*at, *e, *k)))
            .collect();
        trade.sort();
        trade.dedup();
        for (at, e, kind) in trade {
            if let Some((requirement, accepted)) = trade_documents(kind) {
                check(
                    &Check {
                        requirement,
                        accepted,
                        event: e,
                        on: at.date_naive(),
                        cited: self.cited.get(e).unwrap_or(&none),
                    },
                    &mut path,
                );
            }
        }
        path
    }
}
