//! The full sweep: the whole register loaded into petgraph (streamed from SQL in pages,
//! compact: integer node ids, keys in sorted arenas) and every invariant of the register
//! checked across batches, with the anomaly scans an enforcement officer asks for:
//!
//! - `invariants`: material flow acyclic (an iterative topological sort), conservation
//!   through splits, merges and transforms within the yield table's tolerance, consumption
//!   within a specimen's quantity, time order, every specimen produced once and rooted,
//!   acquisitions with their evidence, documents used inside their validity, status and
//!   quantity, identifiers used once;
//! - `scans`: breeding plausibility per operation and taxon (clutch sizes, clutches per year,
//!   age at first breeding, founders), re-exports exceeding imports per origin document, source
//!   codes implausible for the event, the ancestry or the taxon's kingdom.
//!
//! Only iterative algorithms: a chain 100,000 events deep is swept on a runtime worker
//! thread's stack. What the catalogue knows of a taxon (its names up to the kingdom) is handed
//! in by the application ([`TaxonFacts`]): `trace` never reads the catalogue.

mod invariants;
mod load;
mod scans;

use std::collections::HashMap;

use domain::{Dimension, Kingdom, UnitCode};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::config::TraceConfig;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::ingest::Register;

pub use load::PAGE_ROWS;

/// What the catalogue knows of a taxon, handed in by the application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxonFacts {
    /// The taxon's scientific name, then its higher taxa nearest first (genus, family, order,
    /// class, phylum, kingdom).
    pub lineage: Vec<String>,
    pub kingdom: Option<Kingdom>,
}

/// The sweep's answer: every finding, most severe first, then by rule and nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sweep {
    pub specimens: u64,
    pub events: u64,
    pub flows: u64,
    pub documents: u64,
    pub findings: Vec<Finding>,
}

impl Sweep {
    /// Whether a finding of error severity exists.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// What a sweep reports as it goes: the phase (`specimens`, `events`, `flows`, `documents`
/// with the rows read so far, then `checks`).
pub type Progress<'a> = &'a (dyn Fn(&'static str, u64) + Send + Sync);

impl Register {
    /// Every taxon id the register's specimens name, for the application to gather their
    /// [`TaxonFacts`].
    pub async fn taxa(&self) -> Result<Vec<i64>> {
        Ok(db::read_db!(&self.db, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT DISTINCT taxon_id FROM trace_specimens ORDER BY taxon_id",
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// Sweeps the whole register. `taxa` holds what the catalogue knows of the register's
    /// taxa; a taxon it lacks is reported as such (its source codes and breeding figures are
    /// then unverifiable), never passed silently.
    pub async fn sweep(
        &self,
        config: &TraceConfig,
        taxa: &HashMap<i64, TaxonFacts>,
        progress: Progress<'_>,
    ) -> Result<Sweep> {
        let loaded = load::load(&self.db, progress).await?;
        progress("checks", 0);
        let mut out = Vec::new();
        invariants::check(&loaded, config, &mut out);
        scans::scan(&loaded, config, taxa, &mut out);
        out.sort_by(|a, b| {
            rank(b.severity)
                .cmp(&rank(a.severity))
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.nodes.cmp(&b.nodes))
                .then_with(|| a.message.cmp(&b.message))
        });
        out.dedup();
        Ok(Sweep {
            specimens: loaded.specimens.len() as u64,
            events: loaded.events.len() as u64,
            flows: loaded.flows,
            documents: loaded.docs.len() as u64,
            findings: out,
        })
    }
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Error => 2,
    }
}

/// A quantity in millionths of `unit`, in its dimension's base unit.
pub(crate) fn in_base(micro: i64, unit: UnitCode) -> (Dimension, Decimal) {
    (
        unit.dimension(),
        Decimal::new(micro, 6) * unit.unit().factor_to_base(),
    )
}

/// A decimal as the findings print it.
pub(crate) fn text(d: Decimal) -> String {
    d.normalize().to_string()
}
