//! The generated register: supply chains drawn from a seeded generator and handed out batch by
//! batch (never more than one batch in memory), each batch both as the rows the register would
//! store (for the bare INSERT baseline) and as the project's JSON (for `Register::ingest`).
//!
//! A **primary chain** is one legal acquisition and what follows it: the acquired specimen (a
//! harvested sturgeon, a ranched crocodile's skins, logs, a clutch of parrots bred from two
//! parents of the breeding operation's stock, propagated orchids, a pre-Convention carving),
//! for some profiles a transform with a yield into a lot, a split of the lot into labelled
//! items, their export under an export permit and their import under an import permit that
//! cites it. Each item then enters the **pool** of its profile in the country it was imported
//! into with probability [`P_POOL`]; whenever a pool holds [`POOL_TRIGGER`] items, a
//! **repackaging chain** in that country merges 2 to 4 of them into a lot, splits it into 2 to
//! 4 newly labelled items, re-exports them under a re-export certificate and imports them
//! into another country under an import permit that cites it; each of those enters the pool
//! there with probability [`P_REPOOL`]. The repackaging is subcritical (3 inputs on average,
//! 0.75 outputs back), so an item's ancestry stays finite but merges link chains into a DAG.
//!
//! A breeding operation (a trader) names two parents for each captive birth, drawn from its
//! stock of [`STOCK_PARENTS`] founders; until the stock is full, each birth's parents are a
//! new pair, caught under a licence (wild-caught founders: their age is not known, so the
//! sweep does not check it). Across a year an operation's births stay within its parents'
//! capacity (see [`STOCK_PARENTS`]).
//!
//! Quantities are exact and conserved (a split's items add up to its lot, a merge's lot to its
//! inputs, a transform's output is its input times its yield), times increase, identifiers are
//! used once, every item is consumed at most once and re-exported only from the country it was
//! imported into: ingest should find nothing, nor should the sweep find an error.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Chance that an item of a primary chain is later repackaged with others.
pub const P_POOL: f64 = 0.2;
/// Chance that an item of a repackaging is repackaged again.
pub const P_REPOOL: f64 = 0.25;
/// Items a pool gathers before a repackaging draws from it (so inputs come from several chains).
pub const POOL_TRIGGER: usize = 8;
/// Founders a breeding operation keeps. Its yearly young must stay within the breeding
/// table's capacity of its parents (Psittaciformes: 8 a clutch, 3 clutches a year, per female,
/// a female per two parents named): a trader breeds in about 1 primary chain in 270 (15 % of
/// chains, 40 traders), about 320 births of 3.5 young a year (a chain takes 6.2 events, one a
/// minute), 1,100 young against 12 per parent: 100 parents would do; 200 leave room for the
/// seed's fluctuations.
pub const STOCK_PARENTS: usize = 200;
/// Agents registered in the first batch: authorities of every country, traders and plants.
const TRADERS: usize = 40;
/// The countries chains run between.
const COUNTRIES: [&str; 12] = [
    "RU", "IT", "FR", "DE", "ZA", "ZW", "BR", "ID", "US", "CN", "JP", "CH",
];
/// The first event's time; every event after it is a minute later than the one before.
const EPOCH_YEAR: i32 = 2000;

/// What a kind of chain acquires and makes.
struct Profile {
    name: &'static str,
    /// Weight among primary chains, in percent.
    weight: u32,
    acquisition: &'static str,
    acquisition_doc: &'static str,
    source: &'static str,
    taxon: i64,
    /// What the catalogue would know of `taxon`: its name, then its higher taxa nearest first
    /// up to the kingdom (as `cites trace check` builds `trace::TaxonFacts`).
    lineage: [&'static str; 7],
    unit: &'static str,
    raw_term: &'static str,
    raw_scheme: Option<&'static str>,
    /// Transform into a lot with this yield (output over input), in tenths; `None`: the
    /// acquired specimen is the lot.
    yield_tenths: Option<i64>,
    lot_term: &'static str,
    item_term: &'static str,
    item_scheme: &'static str,
    /// Items per lot, and each item's quantity in millionths of `unit`.
    items: (usize, usize),
    item_micro: i64,
}

static PROFILES: [Profile; 6] = [
    Profile {
        name: "caviar",
        weight: 35,
        acquisition: "wild_harvest",
        acquisition_doc: "licence",
        source: "W",
        taxon: 10001,
        lineage: [
            "Acipenser gueldenstaedtii",
            "Acipenser",
            "Acipenseridae",
            "Acipenseriformes",
            "Actinopteri",
            "Chordata",
            "Animalia",
        ],
        unit: "KGM",
        raw_term: "BOD",
        raw_scheme: None,
        yield_tenths: Some(1),
        lot_term: "CAV",
        item_term: "CAV",
        item_scheme: "caviar_label",
        items: (4, 12),
        item_micro: 1_000_000,
    },
    Profile {
        name: "crocodile",
        weight: 20,
        acquisition: "ranching",
        acquisition_doc: "legal_acquisition_finding",
        source: "R",
        taxon: 10002,
        lineage: [
            "Crocodylus niloticus",
            "Crocodylus",
            "Crocodylidae",
            "Crocodylia",
            "Reptilia",
            "Chordata",
            "Animalia",
        ],
        unit: "NAR",
        raw_term: "SKI",
        raw_scheme: None,
        yield_tenths: None,
        lot_term: "SKI",
        item_term: "SKI",
        item_scheme: "crocodilian_tag",
        items: (2, 10),
        item_micro: 1_000_000,
    },
    Profile {
        name: "timber",
        weight: 23,
        acquisition: "wild_harvest",
        acquisition_doc: "licence",
        source: "W",
        taxon: 10003,
        lineage: [
            "Swietenia macrophylla",
            "Swietenia",
            "Meliaceae",
            "Sapindales",
            "Magnoliopsida",
            "Tracheophyta",
            "Plantae",
        ],
        unit: "MTQ",
        raw_term: "LOG",
        raw_scheme: Some("log"),
        yield_tenths: Some(5),
        lot_term: "SAW",
        item_term: "SAW",
        item_scheme: "lot",
        items: (2, 6),
        item_micro: 2_500_000,
    },
    Profile {
        name: "parrots",
        weight: 15,
        acquisition: "captive_birth",
        acquisition_doc: "captive_breeding_certificate",
        source: "C",
        taxon: 10004,
        lineage: [
            "Psittacus erithacus",
            "Psittacus",
            "Psittacidae",
            "Psittaciformes",
            "Aves",
            "Chordata",
            "Animalia",
        ],
        unit: "NAR",
        raw_term: "LIV",
        raw_scheme: None,
        yield_tenths: None,
        lot_term: "LIV",
        item_term: "LIV",
        item_scheme: "ring",
        items: (2, 5),
        item_micro: 1_000_000,
    },
    Profile {
        name: "orchids",
        weight: 5,
        acquisition: "artificial_propagation",
        acquisition_doc: "captive_breeding_certificate",
        source: "A",
        taxon: 10005,
        lineage: [
            "Phalaenopsis amabilis",
            "Phalaenopsis",
            "Orchidaceae",
            "Asparagales",
            "Liliopsida",
            "Tracheophyta",
            "Plantae",
        ],
        unit: "NAR",
        raw_term: "LIV",
        raw_scheme: None,
        yield_tenths: None,
        lot_term: "LIV",
        item_term: "LIV",
        item_scheme: "lot",
        items: (5, 20),
        item_micro: 1_000_000,
    },
    Profile {
        name: "pre-Convention ivory",
        weight: 2,
        acquisition: "pre_convention",
        acquisition_doc: "pre_convention_certificate",
        source: "O",
        taxon: 10006,
        lineage: [
            "Loxodonta africana",
            "Loxodonta",
            "Elephantidae",
            "Proboscidea",
            "Mammalia",
            "Chordata",
            "Animalia",
        ],
        unit: "NAR",
        raw_term: "IVC",
        raw_scheme: None,
        yield_tenths: None,
        lot_term: "IVC",
        item_term: "IVC",
        item_scheme: "other",
        items: (1, 3),
        item_micro: 1_000_000,
    },
];

/// Rows exactly as `trace::store` writes them (the baseline inserts these).
pub struct SpecimenRow {
    pub key: String,
    pub taxon: i64,
    pub term: &'static str,
    pub quantity_micro: i64,
    pub unit: &'static str,
    pub source: &'static str,
}

pub struct DocumentRow {
    pub country: &'static str,
    pub doc_type: &'static str,
    pub number: String,
    pub status: &'static str,
    pub issued_on: NaiveDate,
    pub valid_until: NaiveDate,
    pub taxon: i64,
    pub unit: &'static str,
    pub permitted_micro: i64,
    pub issuer: String,
}

pub struct EventRow {
    pub key: String,
    pub kind: &'static str,
    pub at: DateTime<Utc>,
    pub country: &'static str,
    pub agent: Option<String>,
    pub yield_micro: Option<i64>,
    /// `(specimen key, direction, quantity)`: in and out flows take the whole specimen.
    pub flows: Vec<(String, &'static str, Option<i64>)>,
    pub documents: Vec<(&'static str, &'static str, String)>,
}

pub struct AgentRow {
    pub key: String,
    pub kind: &'static str,
    pub name: String,
    pub country: &'static str,
}

/// One batch: at most `trace::BATCH_RECORDS_MAX` records.
#[derive(Default)]
pub struct GenBatch {
    pub agents: Vec<AgentRow>,
    pub specimens: Vec<SpecimenRow>,
    pub identifiers: Vec<(&'static str, String, String)>,
    pub documents: Vec<DocumentRow>,
    pub events: Vec<EventRow>,
}

impl GenBatch {
    pub fn records(&self) -> usize {
        self.agents.len() + self.specimens.len() + self.documents.len() + self.events.len()
    }

    /// Specimens, events and documents: the nodes of the provenance graph.
    pub fn nodes(&self) -> usize {
        self.specimens.len() + self.documents.len() + self.events.len()
    }

    pub fn flows(&self) -> usize {
        self.events.iter().map(|e| e.flows.len()).sum()
    }

    /// The batch in the project's JSON (`trace::parse_batch`).
    pub fn to_json(&self) -> Value {
        let agents: Vec<Value> = self
            .agents
            .iter()
            .map(|a| json!({"key": a.key, "kind": a.kind, "name": a.name, "country": a.country}))
            .collect();
        let mut ids: std::collections::HashMap<&str, Vec<Value>> = Default::default();
        for (scheme, value, specimen) in &self.identifiers {
            ids.entry(specimen.as_str())
                .or_default()
                .push(json!({"scheme": scheme, "value": value}));
        }
        let specimens: Vec<Value> = self
            .specimens
            .iter()
            .map(|s| {
                let mut v = json!({"key": s.key, "taxon": s.taxon, "term": s.term,
                    "quantity": {"amount": amount(s.quantity_micro), "unit": s.unit},
                    "source": s.source});
                if let Some(i) = ids.remove(s.key.as_str()) {
                    v["identifiers"] = Value::from(i);
                }
                v
            })
            .collect();
        let documents: Vec<Value> = self
            .documents
            .iter()
            .map(|d| {
                json!({"country": d.country, "type": d.doc_type, "number": d.number,
                    "status": d.status, "issued_on": d.issued_on.to_string(),
                    "valid_from": d.issued_on.to_string(), "valid_until": d.valid_until.to_string(),
                    "taxon": d.taxon, "permitted": {"amount": amount(d.permitted_micro), "unit": d.unit},
                    "issuer": d.issuer})
            })
            .collect();
        let events: Vec<Value> = self.events.iter().map(event_json).collect();
        json!({"agents": agents, "documents": documents, "specimens": specimens, "events": events})
    }
}

fn event_json(e: &EventRow) -> Value {
    let part = |dir: &str| -> Vec<Value> {
        e.flows
            .iter()
            .filter(|f| f.1 == dir)
            .map(|f| Value::from(f.0.clone()))
            .collect()
    };
    let mut v = json!({"key": e.key, "kind": e.kind,
        "at": e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "country": e.country});
    if let Some(a) = &e.agent {
        v["agent"] = Value::from(a.clone());
    }
    for (field, dir) in [
        ("inputs", "in"),
        ("outputs", "out"),
        ("subjects", "subject"),
    ] {
        let flows = part(dir);
        if !flows.is_empty() {
            v[field] = Value::from(flows);
        }
    }
    if !e.documents.is_empty() {
        v["documents"] = e
            .documents
            .iter()
            .map(|(c, t, n)| json!({"country": c, "type": t, "number": n}))
            .collect();
    }
    if let Some(y) = e.yield_micro {
        v["yield"] = Value::from(amount(y));
    }
    v
}

/// Millionths as a decimal amount in the one grammar of amounts ("12", "2.5").
pub fn amount(micro: i64) -> String {
    let (whole, frac) = (micro / 1_000_000, micro % 1_000_000);
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:06}")
            .trim_end_matches('0')
            .to_owned()
    }
}

/// An item waiting in a pool: its key and quantity.
struct Item {
    key: String,
    micro: i64,
}

/// What the generator made so far, by kind: the proportions the bench reports.
#[derive(Default, Clone, Debug)]
pub struct Counts {
    pub events: std::collections::BTreeMap<&'static str, u64>,
    pub specimens: u64,
    pub documents: u64,
    pub identifiers: u64,
    pub flows: u64,
    pub primary_chains: u64,
    pub repackagings: u64,
}

impl Counts {
    pub fn nodes(&self) -> u64 {
        self.specimens + self.documents + self.events.values().sum::<u64>()
    }
}

/// The generator: deterministic for a seed; call [`Generator::next_batch`] until `None`.
pub struct Generator {
    rng: StdRng,
    target_nodes: u64,
    batch_records: usize,
    pub counts: Counts,
    /// Items waiting to be repackaged, by profile and by the country they are in.
    pools: Vec<Vec<Vec<Item>>>,
    /// Each trader's breeding stock (specimen keys), as its births name them.
    stock: Vec<Vec<String>>,
    minute: i64,
    started: bool,
}

impl Generator {
    pub fn new(seed: u64, target_nodes: u64, batch_records: usize) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            target_nodes,
            batch_records,
            counts: Counts::default(),
            pools: PROFILES
                .iter()
                .map(|_| COUNTRIES.iter().map(|_| Vec::new()).collect())
                .collect(),
            stock: vec![Vec::new(); TRADERS],
            minute: 0,
            started: false,
        }
    }

    /// The next batch, `None` once the target number of nodes is reached. A batch ends on a
    /// chain's boundary, leaving room for the largest chain under the batch's record limit.
    pub fn next_batch(&mut self) -> Option<GenBatch> {
        if self.counts.nodes() >= self.target_nodes {
            return None;
        }
        let mut b = GenBatch::default();
        if !self.started {
            self.started = true;
            agents(&mut b);
        }
        // Records of the largest step: a primary chain of 20 items (30 records), a founder pair
        // (4) and a repackaging in every country of its profile after it (13 records each).
        let room = 30 + 4 + 13 * COUNTRIES.len();
        // Events are counted as they are made, specimens and documents when the batch is done.
        let made = |g: &Generator, b: &GenBatch| {
            g.counts.nodes() + (b.specimens.len() + b.documents.len()) as u64
        };
        while b.records() + room <= self.batch_records && made(self, &b) < self.target_nodes {
            let p = self.primary(&mut b);
            for c in 0..COUNTRIES.len() {
                if self.pools[p][c].len() >= POOL_TRIGGER {
                    self.repackage(&mut b, p, c);
                }
            }
        }
        self.counts.specimens += b.specimens.len() as u64;
        self.counts.documents += b.documents.len() as u64;
        self.counts.identifiers += b.identifiers.len() as u64;
        self.counts.flows += b.flows() as u64;
        Some(b)
    }

    fn tick(&mut self) -> DateTime<Utc> {
        self.minute += 1;
        Utc.with_ymd_and_hms(EPOCH_YEAR, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::minutes(self.minute)
    }

    /// The current event's minute: unique per event, so it numbers its key and its document.
    fn n(&self) -> i64 {
        self.minute
    }

    fn pick_profile(&mut self) -> usize {
        let total: u32 = PROFILES.iter().map(|p| p.weight).sum();
        let mut r = self.rng.random_range(0..total);
        for (i, p) in PROFILES.iter().enumerate() {
            if r < p.weight {
                return i;
            }
            r -= p.weight;
        }
        0
    }

    fn country(&mut self) -> &'static str {
        COUNTRIES[self.rng.random_range(0..COUNTRIES.len())]
    }

    fn event(&mut self, b: &mut GenBatch, kind: &'static str, country: &'static str) -> usize {
        let at = self.tick();
        *self.counts.events.entry(kind).or_default() += 1;
        b.events.push(EventRow {
            key: format!("ev:{}", self.n()),
            kind,
            at,
            country,
            agent: None,
            yield_micro: None,
            flows: Vec::new(),
            documents: Vec::new(),
        });
        b.events.len() - 1
    }

    #[allow(clippy::too_many_arguments)]
    fn document(
        &mut self,
        b: &mut GenBatch,
        doc_type: &'static str,
        country: &'static str,
        p: &Profile,
        permitted_micro: i64,
        at: DateTime<Utc>,
    ) -> (&'static str, &'static str, String) {
        let issued_on = at.date_naive();
        let number = format!("{}{}", &doc_type[..2].to_uppercase(), self.n());
        b.documents.push(DocumentRow {
            country,
            doc_type,
            number: number.clone(),
            status: "issued",
            issued_on,
            valid_until: issued_on + Duration::days(180),
            taxon: p.taxon,
            unit: p.unit,
            permitted_micro,
            issuer: format!("agent:ma:{country}"),
        });
        (country, doc_type, number)
    }

    fn specimen(
        &mut self,
        b: &mut GenBatch,
        p: &Profile,
        term: &'static str,
        micro: i64,
        scheme: Option<&'static str>,
    ) -> String {
        self.specimen_from(b, p, term, micro, scheme, p.source)
    }

    fn specimen_from(
        &mut self,
        b: &mut GenBatch,
        p: &Profile,
        term: &'static str,
        micro: i64,
        scheme: Option<&'static str>,
        source: &'static str,
    ) -> String {
        let key = format!("sp:{}", self.counts.specimens + b.specimens.len() as u64);
        b.specimens.push(SpecimenRow {
            key: key.clone(),
            taxon: p.taxon,
            term,
            quantity_micro: micro,
            unit: p.unit,
            source,
        });
        if let Some(s) = scheme {
            b.identifiers.push((s, format!("ID-{key}"), key.clone()));
        }
        key
    }

    /// Two parents for a captive birth by `trader`: a new pair of wild-caught founders (an
    /// acquisition under a licence) until its stock is full, then two of its stock.
    fn parents(
        &mut self,
        b: &mut GenBatch,
        p: &Profile,
        trader: usize,
        from: &'static str,
    ) -> Vec<String> {
        if self.stock[trader].len() < STOCK_PARENTS {
            let caught = self.event(b, "wild_harvest", from);
            b.events[caught].agent = Some(format!("agent:trader:{trader}"));
            let at = b.events[caught].at;
            let licence = self.document(b, "licence", from, p, 2 * p.item_micro, at);
            b.events[caught].documents.push(licence);
            let mut pair = Vec::with_capacity(2);
            for _ in 0..2 {
                let k = self.specimen_from(b, p, p.raw_term, p.item_micro, None, "W");
                b.events[caught]
                    .flows
                    .push((k.clone(), "out", Some(p.item_micro)));
                self.stock[trader].push(k.clone());
                pair.push(k);
            }
            pair
        } else {
            let n = self.stock[trader].len();
            let first = self.rng.random_range(0..n);
            let second = (first + self.rng.random_range(1..n)) % n;
            vec![
                self.stock[trader][first].clone(),
                self.stock[trader][second].clone(),
            ]
        }
    }

    /// One acquisition and what follows it, up to the import of its items; answers the
    /// profile.
    fn primary(&mut self, b: &mut GenBatch) -> usize {
        self.counts.primary_chains += 1;
        let pi = self.pick_profile();
        let p = &PROFILES[pi];
        let from = self.country();
        let items = self.rng.random_range(p.items.0..=p.items.1);
        let lot_micro = p.item_micro * items as i64;
        let raw_micro = p.yield_tenths.map_or(lot_micro, |y| lot_micro * 10 / y);

        let trader = self.rng.random_range(0..TRADERS);
        let parents = if p.acquisition == "captive_birth" {
            self.parents(b, p, trader, from)
        } else {
            Vec::new()
        };
        let acq = self.event(b, p.acquisition, from);
        b.events[acq].agent = Some(format!("agent:trader:{trader}"));
        for k in parents {
            b.events[acq].flows.push((k, "subject", None));
        }
        let at = b.events[acq].at;
        let doc = self.document(b, p.acquisition_doc, from, p, raw_micro, at);
        b.events[acq].documents.push(doc);
        let raw = self.specimen(b, p, p.raw_term, raw_micro, p.raw_scheme);
        b.events[acq]
            .flows
            .push((raw.clone(), "out", Some(raw_micro)));

        let lot = match p.yield_tenths {
            Some(y) => {
                let t = self.event(b, "transform", from);
                b.events[t].agent = Some(format!("agent:plant:{from}"));
                b.events[t].yield_micro = Some(y * 100_000);
                let lot = self.specimen(b, p, p.lot_term, lot_micro, Some("lot"));
                b.events[t].flows.push((raw, "in", Some(raw_micro)));
                b.events[t]
                    .flows
                    .push((lot.clone(), "out", Some(lot_micro)));
                lot
            }
            None => raw,
        };
        let split = self.event(b, "split", from);
        b.events[split].flows.push((lot, "in", Some(lot_micro)));
        let mut keys = Vec::with_capacity(items);
        for _ in 0..items {
            let k = self.specimen(b, p, p.item_term, p.item_micro, Some(p.item_scheme));
            b.events[split]
                .flows
                .push((k.clone(), "out", Some(p.item_micro)));
            keys.push(k);
        }
        let to = self.other_country(from);
        let export = self.event(b, "export", from);
        let at = b.events[export].at;
        let permit = self.document(b, "export_permit", from, p, lot_micro, at);
        b.events[export].documents.push(permit.clone());
        let import = self.event(b, "import", to);
        let import_permit = self.document(b, "import_permit", to, p, lot_micro, at);
        b.events[import].documents.push(permit);
        b.events[import].documents.push(import_permit);
        for k in &keys {
            b.events[export].flows.push((k.clone(), "subject", None));
            b.events[import].flows.push((k.clone(), "subject", None));
        }
        let pool = country_index(to);
        for k in keys {
            if self.rng.random_bool(P_POOL) {
                self.pools[pi][pool].push(Item {
                    key: k,
                    micro: p.item_micro,
                });
            }
        }
        pi
    }

    /// A country other than `from`, drawn uniformly.
    fn other_country(&mut self, from: &'static str) -> &'static str {
        let skip = self.rng.random_range(1..COUNTRIES.len());
        COUNTRIES[(country_index(from) + skip) % COUNTRIES.len()]
    }

    /// Merges 2 to 4 items pooled in country `ci`, splits the lot into 2 to 4 new items,
    /// re-exports them and imports them into another country.
    fn repackage(&mut self, b: &mut GenBatch, pi: usize, ci: usize) {
        self.counts.repackagings += 1;
        let p = &PROFILES[pi];
        let country = COUNTRIES[ci];
        let n_in = self.rng.random_range(2..=4usize);
        let merge = self.event(b, "merge", country);
        b.events[merge].agent = Some(format!("agent:plant:{country}"));
        let mut total = 0;
        for _ in 0..n_in {
            let i = self.rng.random_range(0..self.pools[pi][ci].len());
            let item = self.pools[pi][ci].swap_remove(i);
            total += item.micro;
            b.events[merge]
                .flows
                .push((item.key, "in", Some(item.micro)));
        }
        let lot = self.specimen(b, p, p.lot_term, total, Some("lot"));
        b.events[merge]
            .flows
            .push((lot.clone(), "out", Some(total)));
        let n_out = self.rng.random_range(2..=4i64);
        let split = self.event(b, "split", country);
        b.events[split].flows.push((lot, "in", Some(total)));
        let mut made = Vec::new();
        for j in 0..n_out {
            // The last item takes the remainder: the items add up to the lot exactly.
            let share = if j == n_out - 1 {
                total - (total / n_out) * (n_out - 1)
            } else {
                total / n_out
            };
            let k = self.specimen(b, p, p.item_term, share, Some(p.item_scheme));
            b.events[split].flows.push((k.clone(), "out", Some(share)));
            made.push((k, share));
        }
        let re_export = self.event(b, "re_export", country);
        let at = b.events[re_export].at;
        let cert = self.document(b, "re_export_certificate", country, p, total, at);
        b.events[re_export].documents.push(cert.clone());
        let to = self.other_country(country);
        let import = self.event(b, "import", to);
        let import_permit = self.document(b, "import_permit", to, p, total, at);
        b.events[import].documents.push(cert);
        b.events[import].documents.push(import_permit);
        let pool = country_index(to);
        for (k, micro) in made {
            b.events[re_export].flows.push((k.clone(), "subject", None));
            b.events[import].flows.push((k.clone(), "subject", None));
            if self.rng.random_bool(P_REPOOL) {
                self.pools[pi][pool].push(Item { key: k, micro });
            }
        }
    }
}

fn country_index(c: &str) -> usize {
    COUNTRIES.iter().position(|x| *x == c).unwrap_or(0)
}

/// Authorities of every country, traders and a processing plant per country.
fn agents(b: &mut GenBatch) {
    for c in COUNTRIES {
        b.agents.push(AgentRow {
            key: format!("agent:ma:{c}"),
            kind: "authority",
            name: format!("Management Authority of {c}"),
            country: c,
        });
        b.agents.push(AgentRow {
            key: format!("agent:plant:{c}"),
            kind: "processing_plant",
            name: format!("Processing plant in {c}"),
            country: c,
        });
    }
    for i in 0..TRADERS {
        let c = COUNTRIES[i % COUNTRIES.len()];
        b.agents.push(AgentRow {
            key: format!("agent:trader:{i}"),
            kind: "trader",
            name: format!("Trader {i}"),
            country: c,
        });
    }
}

/// The profiles' names and weights, for the bench's header.
pub fn profiles() -> String {
    PROFILES
        .iter()
        .map(|p| format!("{} {}%", p.name, p.weight))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the catalogue knows of the generated register's taxa, as `cites trace check` hands it
/// to `Register::sweep`: each profile's lineage, its kingdom the lineage's last name.
pub fn taxon_facts() -> std::collections::HashMap<i64, trace::TaxonFacts> {
    PROFILES
        .iter()
        .map(|p| {
            let facts = trace::TaxonFacts {
                lineage: p.lineage.iter().map(|n| (*n).to_owned()).collect(),
                kingdom: p
                    .lineage
                    .last()
                    .and_then(|k| domain::Kingdom::parse(k).ok()),
            };
            (p.taxon, facts)
        })
        .collect()
}
