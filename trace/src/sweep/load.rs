//! Loading the whole register for the sweep: every table read in pages by key (keyset
//! pagination, [`PAGE_ROWS`] rows a statement), as of the last batch stored when the sweep
//! began (a batch stored meanwhile is left for the next sweep, so the pages agree). Keys go
//! into one arena of text per kind, sorted, and are found by binary search: no String per
//! node, no hash map of keys.

use db::{Db, read_db};
use domain::{CountryCode, SourceCode, TermCode, Timestamp, UnitCode};
use petgraph::graph::{DiGraph, NodeIndex};
use sqlx::Row;

use crate::error::{Error, Result};
use crate::model::{DocStatus, DocType, EventKind};
use crate::store::{DOCUMENT_COLUMNS, DocumentRow, document_row};

/// Rows a page of the sweep's reads holds: large enough that the round trips do not count,
/// small enough that a page's rows are a few megabytes.
pub const PAGE_ROWS: i64 = 20_000;

/// Keys in one text arena; sorted by bytes once loaded, found by binary search.
#[derive(Default)]
pub(crate) struct Keys {
    text: String,
    ends: Vec<usize>,
}

impl Keys {
    fn push(&mut self, key: &str) {
        self.text.push_str(key);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    pub fn find(&self, key: &str) -> Option<u32> {
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid as u32).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }

    /// Sorts the keys by bytes (the database's collation may order them otherwise), the items
    /// that go with them alike.
    fn sorted<T>(self, items: Vec<T>) -> (Keys, Vec<T>) {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_by(|a, b| self.get(*a).cmp(self.get(*b)));
        let mut keys = Keys {
            text: String::with_capacity(self.text.len()),
            ends: Vec::with_capacity(self.len()),
        };
        let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(slots.len());
        for i in order {
            keys.push(self.get(i));
            if let Some(item) = slots[i as usize].take() {
                out.push(item);
            }
        }
        (keys, out)
    }
}

#[derive(Clone, Copy)]
pub(crate) struct SpecimenW {
    pub taxon: i64,
    pub term: TermCode,
    pub unit: UnitCode,
    pub source: SourceCode,
    pub quantity: i64,
}

#[derive(Clone, Copy)]
pub(crate) struct EventW {
    pub kind: EventKind,
    pub at: Timestamp,
    pub country: Option<CountryCode>,
    pub agent: Option<u32>,
    pub yield_micro: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dir {
    In,
    Out,
    Subject,
}

/// A flow: its direction and quantity in millionths of the specimen's unit. 16 bytes: one of
/// the sweep's petgraph edges (32 bytes with its indices) per flow, 14 million at 10 million
/// nodes; an `Option<i64>` would make it 24.
#[derive(Clone, Copy)]
pub(crate) struct FlowW {
    pub dir: Dir,
    /// The quantity, 0 for none (a subject given whole): the schema allows only quantities
    /// above 0, and [`load_flows`] refuses any other.
    micro: i64,
}

impl FlowW {
    /// The quantity in millionths of the specimen's unit, `None` for a subject given whole.
    pub fn quantity(&self) -> Option<i64> {
        (self.micro > 0).then_some(self.micro)
    }
}

/// A document at its latest revision.
pub(crate) struct DocW {
    /// Two bytes where a `String` took 24 and a heap block (about 100 MiB at 2 million
    /// documents).
    pub country: CountryCode,
    pub doc_type: DocType,
    pub number: String,
    pub status: DocStatus,
    pub valid_from: Option<chrono::NaiveDate>,
    pub valid_until: Option<chrono::NaiveDate>,
    pub taxon: Option<i64>,
    pub unit: Option<UnitCode>,
    pub permitted: Option<i64>,
    pub actual: Option<i64>,
}

impl DocW {
    pub fn key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.country.as_str(),
            self.doc_type.as_str(),
            self.number
        )
    }
}

/// The whole register as the sweep reads it. Node `i < specimens.len()` of `g` is specimen
/// `i`; node `specimens.len() + j` is event `j`. Events declared erroneous are left out, with
/// their flows.
pub(crate) struct Loaded {
    pub specimens: Keys,
    pub spec: Vec<SpecimenW>,
    pub events: Keys,
    pub ev: Vec<EventW>,
    pub agents: Vec<String>,
    pub g: DiGraph<(), FlowW>,
    pub docs: Vec<DocW>,
    /// `(event, document)`, sorted.
    pub event_docs: Vec<(u32, u32)>,
    /// `(scheme, value, specimens)` of every identifier carried by more than one specimen.
    pub reused: Vec<(String, String, Vec<String>)>,
    pub flows: u64,
}

impl Loaded {
    pub fn spec_node(&self, i: u32) -> NodeIndex {
        NodeIndex::new(i as usize)
    }

    pub fn event_node(&self, j: u32) -> NodeIndex {
        NodeIndex::new(self.specimens.len() + j as usize)
    }

    /// The specimen a node is, if it is one.
    pub fn specimen_of(&self, n: NodeIndex) -> Option<u32> {
        (n.index() < self.specimens.len()).then_some(n.index() as u32)
    }

    pub fn event_of(&self, n: NodeIndex) -> Option<u32> {
        n.index()
            .checked_sub(self.specimens.len())
            .map(|j| j as u32)
    }

    /// The documents an event cites.
    pub fn docs_of(&self, j: u32) -> &[(u32, u32)] {
        let start = self.event_docs.partition_point(|(e, _)| *e < j);
        let end = self.event_docs.partition_point(|(e, _)| *e <= j);
        &self.event_docs[start..end]
    }
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Corrupt(what.to_string())
}

/// Reads the whole register, reporting the rows read per table to `progress`.
pub(crate) async fn load(
    db: &Db,
    progress: &(dyn Fn(&'static str, u64) + Send + Sync),
) -> Result<Loaded> {
    let last: i64 = read_db!(db, pool => {
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM trace_batches")
            .fetch_one(pool)
            .await
    })?
    .unwrap_or(0);
    let (specimens, spec) = load_specimens(db, last, progress).await?;
    let (events, ev, agents) = load_events(db, last, progress).await?;
    let mut g: DiGraph<(), FlowW> =
        DiGraph::with_capacity(specimens.len() + events.len(), specimens.len() * 2);
    for _ in 0..specimens.len() + events.len() {
        g.add_node(());
    }
    let mut loaded = Loaded {
        specimens,
        spec,
        events,
        ev,
        agents,
        g,
        docs: Vec::new(),
        event_docs: Vec::new(),
        reused: Vec::new(),
        flows: 0,
    };
    load_flows(db, &mut loaded, progress).await?;
    load_documents(db, last, &mut loaded, progress).await?;
    loaded.reused = reused_identifiers(db, last).await?;
    Ok(loaded)
}

async fn load_specimens(
    db: &Db,
    last: i64,
    progress: &(dyn Fn(&'static str, u64) + Send + Sync),
) -> Result<(Keys, Vec<SpecimenW>)> {
    let mut keys = Keys::default();
    let mut items = Vec::new();
    let mut after = String::new();
    loop {
        let rows = read_db!(db, pool => {
            sqlx::query(
                "SELECT key, taxon_id, term, quantity_micro, unit, source FROM trace_specimens \
                 WHERE key > $1 AND batch_id <= $2 ORDER BY key LIMIT $3",
            )
            .bind(&after)
            .bind(last)
            .bind(PAGE_ROWS)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((
                r.try_get::<String, _>(0)?,
                r.try_get::<i64, _>(1)?,
                r.try_get::<String, _>(2)?,
                r.try_get::<i64, _>(3)?,
                r.try_get::<String, _>(4)?,
                r.try_get::<String, _>(5)?,
            )))
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        let Some(end) = rows.last().map(|r| r.0.clone()) else {
            break;
        };
        for (key, taxon, term, quantity, unit, source) in rows {
            items.push(SpecimenW {
                taxon,
                term: TermCode::parse(&term).map_err(|_| corrupt(format!("term of {key}")))?,
                unit: UnitCode::parse(&unit).map_err(|_| corrupt(format!("unit of {key}")))?,
                source: SourceCode::parse(&source)
                    .map_err(|_| corrupt(format!("source of {key}")))?,
                quantity,
            });
            keys.push(&key);
        }
        progress("specimens", items.len() as u64);
        after = end;
    }
    Ok(keys.sorted(items))
}

async fn load_events(
    db: &Db,
    last: i64,
    progress: &(dyn Fn(&'static str, u64) + Send + Sync),
) -> Result<(Keys, Vec<EventW>, Vec<String>)> {
    let mut keys = Keys::default();
    let mut items = Vec::new();
    let mut agents: Vec<String> = Vec::new();
    let mut agent_ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut after = String::new();
    loop {
        let rows = read_db!(db, pool => {
            sqlx::query(
                "SELECT e.key, e.kind, e.occurred_at, e.country, e.agent_key, e.yield_micro, \
                 EXISTS (SELECT 1 FROM trace_corrections c WHERE c.event_key = e.key \
                 AND c.batch_id <= $2) \
                 FROM trace_events e WHERE e.key > $1 AND e.batch_id <= $2 ORDER BY e.key LIMIT $3",
            )
            .bind(&after)
            .bind(last)
            .bind(PAGE_ROWS)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((
                r.try_get::<String, _>(0)?,
                r.try_get::<String, _>(1)?,
                r.try_get::<Timestamp, _>(2)?,
                r.try_get::<Option<String>, _>(3)?,
                r.try_get::<Option<String>, _>(4)?,
                r.try_get::<Option<i64>, _>(5)?,
                r.try_get::<bool, _>(6)?,
            )))
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        let Some(end) = rows.last().map(|r| r.0.clone()) else {
            break;
        };
        for (key, kind, at, country, agent, yield_micro, corrected) in rows {
            if corrected {
                continue;
            }
            let agent = agent.map(|a| {
                let next = agents.len() as u32;
                *agent_ids.entry(a.clone()).or_insert_with(|| {
                    agents.push(a);
                    next
                })
            });
            items.push(EventW {
                kind: EventKind::parse(&kind).ok_or_else(|| corrupt(format!("kind of {key}")))?,
                at,
                country: country
                    .map(|c| CountryCode::parse(&c))
                    .transpose()
                    .map_err(|_| corrupt(format!("country of {key}")))?,
                agent,
                yield_micro,
            });
            keys.push(&key);
        }
        progress("events", items.len() as u64);
        after = end;
    }
    let (keys, items) = keys.sorted(items);
    Ok((keys, items, agents))
}

async fn load_flows(
    db: &Db,
    loaded: &mut Loaded,
    progress: &(dyn Fn(&'static str, u64) + Send + Sync),
) -> Result<()> {
    let mut after = (String::new(), String::new(), String::new());
    loop {
        let rows = read_db!(db, pool => {
            sqlx::query(
                "SELECT event_key, direction, specimen_key, quantity_micro FROM trace_flows \
                 WHERE (event_key, direction, specimen_key) > ($1, $2, $3) \
                 ORDER BY event_key, direction, specimen_key LIMIT $4",
            )
            .bind(&after.0)
            .bind(&after.1)
            .bind(&after.2)
            .bind(PAGE_ROWS)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((
                r.try_get::<String, _>(0)?,
                r.try_get::<String, _>(1)?,
                r.try_get::<String, _>(2)?,
                r.try_get::<Option<i64>, _>(3)?,
            )))
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        let Some(end) = rows.last().map(|r| (r.0.clone(), r.1.clone(), r.2.clone())) else {
            break;
        };
        for (event, direction, specimen, quantity) in rows {
            // An event declared erroneous, or stored after the sweep began: not read.
            let Some(j) = loaded.events.find(&event) else {
                continue;
            };
            let i = loaded
                .specimens
                .find(&specimen)
                .ok_or_else(|| corrupt(format!("flow of {event} to unknown {specimen}")))?;
            let (s, e) = (loaded.spec_node(i), loaded.event_node(j));
            let dir = match direction.as_str() {
                "in" => Dir::In,
                "out" => Dir::Out,
                "subject" => Dir::Subject,
                _ => return Err(corrupt(format!("direction of a flow of {event}"))),
            };
            let micro = match quantity {
                None => 0,
                Some(q) if q > 0 => q,
                Some(_) => return Err(corrupt(format!("quantity of a flow of {event}"))),
            };
            let (from, to) = if dir == Dir::Out { (e, s) } else { (s, e) };
            loaded.g.add_edge(from, to, FlowW { dir, micro });
            loaded.flows += 1;
        }
        progress("flows", loaded.flows);
        after = end;
    }
    Ok(())
}

async fn load_documents(
    db: &Db,
    last: i64,
    loaded: &mut Loaded,
    progress: &(dyn Fn(&'static str, u64) + Send + Sync),
) -> Result<()> {
    let mut after = (String::new(), String::new(), String::new());
    // Each page is made compact as it is read: a stored row's six strings (status, unit,
    // issuer...) took some 400 bytes a document, 0.7 GiB at 1.8 million documents.
    let mut docs: Vec<DocW> = Vec::new();
    loop {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM trace_documents d \
             WHERE (d.country, d.doc_type, d.number) > ($1, $2, $3) AND d.batch_id <= $4 \
             AND d.revision = (SELECT MAX(l.revision) FROM trace_documents l \
             WHERE l.country = d.country AND l.doc_type = d.doc_type AND l.number = d.number \
             AND l.batch_id <= $4) \
             ORDER BY d.country, d.doc_type, d.number LIMIT $5"
        );
        let rows = read_db!(db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&after.0)
                .bind(&after.1)
                .bind(&after.2)
                .bind(last)
                .bind(PAGE_ROWS)
                .fetch_all(pool)
                .await?
                .iter()
                .map(document_row)
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        let Some(end) = rows
            .last()
            .map(|r| (r.country.clone(), r.doc_type.clone(), r.number.clone()))
        else {
            break;
        };
        for d in rows {
            docs.push(doc_w(d)?);
        }
        progress("documents", docs.len() as u64);
        after = end;
    }
    docs.sort_by(|a, b| {
        (a.country.as_str(), a.doc_type.as_str(), a.number.as_str()).cmp(&(
            b.country.as_str(),
            b.doc_type.as_str(),
            b.number.as_str(),
        ))
    });
    loaded.event_docs = load_links(db, loaded, &docs).await?;
    loaded.docs = docs;
    Ok(())
}

fn doc_w(d: DocumentRow) -> Result<DocW> {
    let bad = |f: &str| corrupt(format!("{f} of document {}", d.number));
    Ok(DocW {
        doc_type: DocType::parse(&d.doc_type).ok_or_else(|| bad("type"))?,
        status: DocStatus::parse(&d.status).ok_or_else(|| bad("status"))?,
        unit: d
            .unit
            .as_deref()
            .map(UnitCode::parse)
            .transpose()
            .map_err(|_| bad("unit"))?,
        country: CountryCode::parse(&d.country).map_err(|_| bad("country"))?,
        number: d.number,
        valid_from: d.valid_from,
        valid_until: d.valid_until,
        taxon: d.taxon,
        permitted: d.permitted_micro,
        actual: d.actual_micro,
    })
}

async fn reused_identifiers(db: &Db, last: i64) -> Result<Vec<(String, String, Vec<String>)>> {
    let rows = read_db!(db, pool => {
        sqlx::query(
            "SELECT scheme, value, specimen_key FROM trace_identifiers \
             WHERE batch_id <= $1 AND (scheme, value) IN (SELECT scheme, value \
             FROM trace_identifiers WHERE batch_id <= $1 GROUP BY scheme, value \
             HAVING COUNT(*) > 1) ORDER BY scheme, value, specimen_key",
        )
        .bind(last)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((
            r.try_get::<String, _>(0)?,
            r.try_get::<String, _>(1)?,
            r.try_get::<String, _>(2)?,
        )))
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
    })?;
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    for (scheme, value, specimen) in rows {
        match out.last_mut() {
            Some((s, v, specimens)) if *s == scheme && *v == value => specimens.push(specimen),
            _ => out.push((scheme, value, vec![specimen])),
        }
    }
    Ok(out)
}

/// Which document each event cites, as `(event, document)` pairs, sorted.
async fn load_links(db: &Db, loaded: &Loaded, docs: &[DocW]) -> Result<Vec<(u32, u32)>> {
    let find_doc = |c: &str, t: &str, n: &str| {
        docs.binary_search_by(|d| {
            (d.country.as_str(), d.doc_type.as_str(), d.number.as_str()).cmp(&(c, t, n))
        })
        .ok()
        .map(|i| i as u32)
    };
    let mut links = Vec::new();
    let mut after = (String::new(), String::new(), String::new(), String::new());
    loop {
        let rows = read_db!(db, pool => {
            sqlx::query(
                "SELECT event_key, country, doc_type, number FROM trace_event_documents \
                 WHERE (event_key, country, doc_type, number) > ($1, $2, $3, $4) \
                 ORDER BY event_key, country, doc_type, number LIMIT $5",
            )
            .bind(&after.0)
            .bind(&after.1)
            .bind(&after.2)
            .bind(&after.3)
            .bind(PAGE_ROWS)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((
                r.try_get::<String, _>(0)?,
                r.try_get::<String, _>(1)?,
                r.try_get::<String, _>(2)?,
                r.try_get::<String, _>(3)?,
            )))
            .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        let Some(end) = rows.last().cloned() else {
            break;
        };
        for (event, country, doc_type, number) in rows {
            let Some(j) = loaded.events.find(&event) else {
                continue;
            };
            let d = find_doc(&country, &doc_type, &number)
                .ok_or_else(|| corrupt(format!("document {number} cited by {event}")))?;
            links.push((j, d));
        }
        after = end;
    }
    links.sort_unstable();
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_bytes_with_their_items_and_are_found_by_search() {
        let mut keys = Keys::default();
        // A database collation may give this order (punctuation and case ignored).
        for k in ["ev:b", "Ev:a", "ev-c", "urn:x", "ev:a"] {
            keys.push(k);
        }
        let (keys, items) = keys.sorted(vec![1, 2, 3, 4, 5]);
        let sorted: Vec<&str> = (0..keys.len() as u32).map(|i| keys.get(i)).collect();
        assert_eq!(sorted, ["Ev:a", "ev-c", "ev:a", "ev:b", "urn:x"]);
        assert_eq!(items, [2, 3, 5, 1, 4]);
        for (i, k) in sorted.iter().enumerate() {
            assert_eq!(keys.find(k), Some(i as u32));
        }
        assert_eq!(keys.find("ev:"), None);
        assert_eq!(keys.find("zzz"), None);
        assert_eq!(Keys::default().find("a"), None);
    }
}
