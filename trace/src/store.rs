//! Every SQL statement of ingest: what the register already holds about the keys a batch
//! names, and the multi-row INSERTs that store a checked batch (a statement's round trip costs
//! more than its execution on both backends, so rows go in chunks).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use db::{Tx, with_tx};
use domain::Timestamp;
use sqlx::Row;

use crate::error::Result;

/// Keys per `IN (...)` list and rows per multi-row INSERT: far below SQLite's 32,766 bound
/// parameters and PostgreSQL's 65,535 at the widest row (13 columns).
pub const CHUNK_ROWS: usize = 1_000;

/// Not read once an event has a correction: the clause every read of flows and events adds.
pub const NOT_CORRECTED: &str =
    "NOT EXISTS (SELECT 1 FROM trace_corrections c WHERE c.event_key = f.event_key)";

/// A specimen already in the register, with what ingest checks against.
#[derive(Debug, Clone)]
pub struct StoredSpecimen {
    pub unit: String,
    pub quantity_micro: i64,
    /// When its producing event (not declared erroneous) happened; `None`: no producer.
    pub produced_at: Option<Timestamp>,
    /// What events (not declared erroneous) have consumed of it so far.
    pub consumed_micro: i64,
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub corrected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    pub key: String,
    pub kind: String,
    pub name: String,
    pub country: Option<String>,
    pub registration: Option<String>,
}

/// A document's revision as stored; two rows with the same content are the same revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    pub country: String,
    pub doc_type: String,
    pub number: String,
    pub revision: i64,
    pub status: String,
    pub issued_on: Option<NaiveDate>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub taxon: Option<i64>,
    pub unit: Option<String>,
    pub permitted_micro: Option<i64>,
    pub actual_micro: Option<i64>,
    pub issuer: Option<String>,
}

impl DocumentRow {
    /// Equal but for the revision number.
    pub fn same_content(&self, other: &DocumentRow) -> bool {
        DocumentRow {
            revision: other.revision,
            ..self.clone()
        } == *other
    }
}

pub struct SpecimenRow {
    pub key: String,
    pub taxon: i64,
    pub term: String,
    pub quantity_micro: i64,
    pub unit: String,
    pub source: String,
}

pub struct EventRow {
    pub key: String,
    pub kind: String,
    pub at: Timestamp,
    pub country: Option<String>,
    pub agent: Option<String>,
    pub yield_micro: Option<i64>,
}

pub struct FlowRow {
    pub event: String,
    pub specimen: String,
    pub direction: &'static str,
    pub quantity_micro: Option<i64>,
}

pub struct CorrectionRow {
    pub event: String,
    pub declared_at: Timestamp,
    pub reason: String,
    pub corrective_events: String,
}

pub struct FindingRow {
    pub rule: String,
    pub severity: &'static str,
    pub message: String,
    pub nodes: String,
    pub numbers: String,
}

/// Everything a checked batch stores.
#[derive(Default)]
pub struct Rows {
    pub agents: Vec<AgentRow>,
    pub documents: Vec<DocumentRow>,
    pub specimens: Vec<SpecimenRow>,
    pub identifiers: Vec<(String, String, String)>,
    pub events: Vec<EventRow>,
    pub flows: Vec<FlowRow>,
    pub event_documents: Vec<(String, String, String, String)>,
    pub corrections: Vec<CorrectionRow>,
    pub findings: Vec<FindingRow>,
}

/// The batch stored under `client_key`: its id and digest.
pub async fn batch_by_key(db: &db::Db, client_key: &str) -> Result<Option<(i64, String)>> {
    let row = db::read_db!(db, pool => {
        sqlx::query("SELECT id, digest FROM trace_batches WHERE client_key = $1")
            .bind(client_key)
            .fetch_optional(pool)
            .await?
            .map(|r| Ok::<_, sqlx::Error>((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)))
            .transpose()
    })?;
    Ok(row)
}

/// Claims `client_key` for a new batch: its id, or `None` when the key is taken.
pub async fn insert_batch(
    tx: &mut Tx,
    client_key: &str,
    digest: &str,
    format: &str,
    now: Timestamp,
) -> Result<Option<i64>> {
    let id = with_tx!(tx, c => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO trace_batches (client_key, digest, format, received_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (client_key) DO NOTHING RETURNING id",
        )
        .bind(client_key)
        .bind(digest)
        .bind(format)
        .bind(now)
        .fetch_optional(&mut *c)
        .await?
    });
    Ok(id)
}

/// Runs `$sql` followed by `IN ($keys...)` chunk by chunk, collecting the rows.
macro_rules! select_in {
    ($tx:expr, $sql:expr, $tail:expr, $keys:expr, $row:ident => $map:expr) => {{
        let mut out = Vec::new();
        for chunk in $keys.chunks(CHUNK_ROWS) {
            let rows = with_tx!($tx, c => {
                let mut qb = sqlx::QueryBuilder::new($sql);
                qb.push(" IN (");
                let mut sep = qb.separated(", ");
                for k in chunk {
                    sep.push_bind(k.as_str());
                }
                qb.push(")");
                qb.push($tail);
                let rows = qb.build().fetch_all(&mut *c).await?;
                rows.iter()
                    .map(|$row| -> std::result::Result<_, sqlx::Error> { Ok($map) })
                    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?
            });
            out.extend(rows);
        }
        out
    }};
}

pub async fn specimens(tx: &mut Tx, keys: &[String]) -> Result<HashMap<String, StoredSpecimen>> {
    let sql = format!(
        "SELECT s.key, s.unit, s.quantity_micro, \
         (SELECT MIN(e.occurred_at) FROM trace_flows f JOIN trace_events e ON e.key = f.event_key \
          WHERE f.specimen_key = s.key AND f.direction = 'out' AND {NOT_CORRECTED}) AS produced_at, \
         (SELECT CAST(COALESCE(SUM(f.quantity_micro), 0) AS BIGINT) FROM trace_flows f \
          WHERE f.specimen_key = s.key AND f.direction = 'in' AND {NOT_CORRECTED}) AS consumed \
         FROM trace_specimens s WHERE s.key"
    );
    let rows = select_in!(tx, sql.as_str(), "", keys, r => (
        r.try_get::<String, _>(0)?,
        StoredSpecimen {
            unit: r.try_get(1)?,
            quantity_micro: r.try_get(2)?,
            produced_at: r.try_get(3)?,
            consumed_micro: r.try_get(4)?,
        },
    ));
    Ok(rows.into_iter().collect())
}

pub async fn events(tx: &mut Tx, keys: &[String]) -> Result<HashMap<String, StoredEvent>> {
    let rows = select_in!(tx,
        "SELECT e.key, \
         EXISTS (SELECT 1 FROM trace_corrections c WHERE c.event_key = e.key) \
         FROM trace_events e WHERE e.key", "", keys, r => (
        r.try_get::<String, _>(0)?,
        StoredEvent { corrected: r.try_get(1)? },
    ));
    Ok(rows.into_iter().collect())
}

pub async fn agents(tx: &mut Tx, keys: &[String]) -> Result<HashMap<String, AgentRow>> {
    let rows = select_in!(tx,
        "SELECT key, kind, name, country, registration FROM trace_agents WHERE key", "", keys, r => (
        r.try_get::<String, _>(0)?,
        AgentRow {
            key: r.try_get(0)?,
            kind: r.try_get(1)?,
            name: r.try_get(2)?,
            country: r.try_get(3)?,
            registration: r.try_get(4)?,
        },
    ));
    Ok(rows.into_iter().collect())
}

pub const DOCUMENT_COLUMNS: &str = "d.country, d.doc_type, d.number, d.revision, d.status, \
     d.issued_on, d.valid_from, d.valid_until, d.taxon_id, d.unit, d.permitted_micro, \
     d.actual_micro, d.issuer_key";

pub fn document_row(r: &impl DocumentRowSource) -> std::result::Result<DocumentRow, sqlx::Error> {
    r.document_row()
}

/// Reads a [`DocumentRow`] from the first 13 columns of a row ([`DOCUMENT_COLUMNS`]) on
/// either backend.
pub trait DocumentRowSource {
    fn document_row(&self) -> std::result::Result<DocumentRow, sqlx::Error>;
}

macro_rules! document_row_source {
    ($row:ty) => {
        impl DocumentRowSource for $row {
            fn document_row(&self) -> std::result::Result<DocumentRow, sqlx::Error> {
                Ok(DocumentRow {
                    country: self.try_get(0)?,
                    doc_type: self.try_get(1)?,
                    number: self.try_get(2)?,
                    revision: self.try_get(3)?,
                    status: self.try_get(4)?,
                    issued_on: self.try_get(5)?,
                    valid_from: self.try_get(6)?,
                    valid_until: self.try_get(7)?,
                    taxon: self.try_get(8)?,
                    unit: self.try_get(9)?,
                    permitted_micro: self.try_get(10)?,
                    actual_micro: self.try_get(11)?,
                    issuer: self.try_get(12)?,
                })
            }
        }
    };
}
document_row_source!(sqlx::sqlite::SqliteRow);
document_row_source!(sqlx::postgres::PgRow);

/// The latest revision of every document with one of these numbers (any country or type).
pub async fn documents_by_number(tx: &mut Tx, numbers: &[String]) -> Result<Vec<DocumentRow>> {
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM trace_documents d WHERE d.revision = \
         (SELECT MAX(l.revision) FROM trace_documents l WHERE l.country = d.country \
          AND l.doc_type = d.doc_type AND l.number = d.number) AND d.number"
    );
    let rows = select_in!(tx, sql.as_str(), "", numbers, r => document_row(r)?);
    Ok(rows)
}

/// `(scheme, value, specimen)` of every stored identifier with one of these `(scheme, value)`
/// pairs (an identifier is unique within its scheme). One scheme at a time, so that the
/// primary key `(scheme, value, specimen_key)` finds them: a look-up by value alone read the
/// whole table once per chunk, which made ingest slower as the register grew.
pub async fn identifiers(
    tx: &mut Tx,
    ids: &[(String, String)],
) -> Result<Vec<(String, String, String)>> {
    let mut by_scheme: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (scheme, value) in ids {
        by_scheme.entry(scheme).or_default().push(value);
    }
    let mut out = Vec::new();
    for (scheme, values) in by_scheme {
        for chunk in values.chunks(CHUNK_ROWS) {
            let rows = with_tx!(tx, c => {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT scheme, value, specimen_key FROM trace_identifiers WHERE scheme = ",
                );
                qb.push_bind(scheme);
                qb.push(" AND value IN (");
                let mut sep = qb.separated(", ");
                for v in chunk {
                    sep.push_bind(*v);
                }
                qb.push(")");
                qb.build()
                    .fetch_all(&mut *c)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?
            });
            out.extend(rows);
        }
    }
    Ok(out)
}

/// The findings stored with a batch, in the order they were found.
pub async fn findings(db: &db::Db, batch_id: i64) -> Result<Vec<FindingRow>> {
    let rows = db::read_db!(db, pool => {
        let rows = sqlx::query(
            "SELECT rule, severity, message, nodes, numbers FROM trace_findings \
             WHERE batch_id = $1 ORDER BY id",
        )
        .bind(batch_id)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|r| {
                let severity: String = r.try_get(1)?;
                Ok(FindingRow {
                    rule: r.try_get(0)?,
                    severity: crate::findings::Severity::parse(&severity)
                        .map_or("error", |s| s.as_str()),
                    message: r.try_get(2)?,
                    nodes: r.try_get(3)?,
                    numbers: r.try_get(4)?,
                })
            })
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
    })?;
    Ok(rows)
}

/// Runs a multi-row INSERT of `$rows` chunk by chunk.
macro_rules! insert_rows {
    ($tx:expr, $sql:expr, $rows:expr, |$b:ident, $r:ident| $push:expr) => {
        for chunk in $rows.chunks(CHUNK_ROWS) {
            with_tx!($tx, c => {
                let mut qb = sqlx::QueryBuilder::new($sql);
                qb.push_values(chunk, |mut $b, $r| {
                    $push;
                });
                qb.build().execute(&mut *c).await?;
            });
        }
    };
}

/// Stores every row of a checked batch.
pub async fn insert(tx: &mut Tx, batch_id: i64, rows: &Rows) -> Result<()> {
    insert_rows!(
        tx,
        "INSERT INTO trace_agents (key, batch_id, kind, name, country, registration) ",
        rows.agents,
        |b, r| b
            .push_bind(&r.key)
            .push_bind(batch_id)
            .push_bind(&r.kind)
            .push_bind(&r.name)
            .push_bind(&r.country)
            .push_bind(&r.registration)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_specimens (key, batch_id, taxon_id, term, quantity_micro, unit, source) ",
        rows.specimens,
        |b, r| b
            .push_bind(&r.key)
            .push_bind(batch_id)
            .push_bind(r.taxon)
            .push_bind(&r.term)
            .push_bind(r.quantity_micro)
            .push_bind(&r.unit)
            .push_bind(&r.source)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_identifiers (scheme, value, specimen_key, batch_id) ",
        rows.identifiers,
        |b, r| b
            .push_bind(&r.0)
            .push_bind(&r.1)
            .push_bind(&r.2)
            .push_bind(batch_id)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_documents (batch_id, country, doc_type, number, revision, status, \
         issued_on, valid_from, valid_until, taxon_id, unit, permitted_micro, actual_micro, \
         issuer_key) ",
        rows.documents,
        |b, r| b
            .push_bind(batch_id)
            .push_bind(&r.country)
            .push_bind(&r.doc_type)
            .push_bind(&r.number)
            .push_bind(r.revision)
            .push_bind(&r.status)
            .push_bind(r.issued_on)
            .push_bind(r.valid_from)
            .push_bind(r.valid_until)
            .push_bind(r.taxon)
            .push_bind(&r.unit)
            .push_bind(r.permitted_micro)
            .push_bind(r.actual_micro)
            .push_bind(&r.issuer)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_events (key, batch_id, kind, occurred_at, country, agent_key, \
         yield_micro) ",
        rows.events,
        |b, r| b
            .push_bind(&r.key)
            .push_bind(batch_id)
            .push_bind(&r.kind)
            .push_bind(r.at)
            .push_bind(&r.country)
            .push_bind(&r.agent)
            .push_bind(r.yield_micro)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_flows (event_key, specimen_key, direction, quantity_micro) ",
        rows.flows,
        |b, r| b
            .push_bind(&r.event)
            .push_bind(&r.specimen)
            .push_bind(r.direction)
            .push_bind(r.quantity_micro)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_event_documents (event_key, country, doc_type, number) ",
        rows.event_documents,
        |b, r| b
            .push_bind(&r.0)
            .push_bind(&r.1)
            .push_bind(&r.2)
            .push_bind(&r.3)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_corrections (event_key, batch_id, declared_at, reason, \
         corrective_events) ",
        rows.corrections,
        |b, r| b
            .push_bind(&r.event)
            .push_bind(batch_id)
            .push_bind(r.declared_at)
            .push_bind(&r.reason)
            .push_bind(&r.corrective_events)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_findings (batch_id, rule, severity, message, nodes, numbers) ",
        rows.findings,
        |b, r| b
            .push_bind(batch_id)
            .push_bind(&r.rule)
            .push_bind(r.severity)
            .push_bind(&r.message)
            .push_bind(&r.nodes)
            .push_bind(&r.numbers)
    );
    Ok(())
}
