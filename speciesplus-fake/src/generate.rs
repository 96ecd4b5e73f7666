//! Deterministic synthetic catalogue: a taxonomic tree with realistic listing histories,
//! quotas, suspensions, distributions, synonyms and a few deleted taxa.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::catalogue::{Catalogue, listing_summary};
use crate::model::{
    CommonName, DistributionRow, Event, GeoEntity, HigherTaxa, ListingRow, NameRef, QuotaRow,
    ReferenceRow, SuspensionRow, TaxonLine,
};

const COUNTRIES: [(&str, &str); 30] = [
    ("AR", "Argentina"),
    ("AU", "Australia"),
    ("BR", "Brazil"),
    ("BW", "Botswana"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("EC", "Ecuador"),
    ("ET", "Ethiopia"),
    ("GH", "Ghana"),
    ("ID", "Indonesia"),
    ("IN", "India"),
    ("KE", "Kenya"),
    ("MG", "Madagascar"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("NA", "Namibia"),
    ("NP", "Nepal"),
    ("PE", "Peru"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("TZ", "United Republic of Tanzania"),
    ("US", "United States of America"),
    ("VN", "Viet Nam"),
    ("ZA", "South Africa"),
    ("ZW", "Zimbabwe"),
    ("GF", "French Guiana"),
    ("NC", "New Caledonia"),
    ("HK", "Hong Kong, SAR"),
];

/// Entry-into-force dates of past CoPs (plus the CoP19 dates).
const COP_DATES: [&str; 21] = [
    "1975-07-01",
    "1977-02-04",
    "1979-06-28",
    "1981-06-06",
    "1983-07-29",
    "1985-08-01",
    "1987-10-22",
    "1990-01-18",
    "1992-06-11",
    "1995-02-16",
    "1997-09-18",
    "2000-07-19",
    "2003-02-13",
    "2005-01-12",
    "2007-09-13",
    "2010-06-23",
    "2013-06-12",
    "2017-01-02",
    "2019-11-26",
    "2023-02-23",
    "2023-11-25",
];

const SYLLABLES: [&str; 40] = [
    "ca", "ra", "lo", "mi", "to", "phi", "la", "ne", "ro", "su", "ta", "ba", "cy", "do", "ge",
    "hy", "ma", "no", "pe", "sa", "te", "xi", "ze", "vu", "ri", "mo", "chi", "thu", "spa", "ste",
    "tri", "po", "ly", "or", "an", "el", "ur", "is", "ae", "on",
];

const AUTHORS: [&str; 10] = [
    "Linnaeus",
    "Gray",
    "Cuvier",
    "Lesson",
    "Temminck",
    "Gould",
    "Peters",
    "Boulenger",
    "Thomas",
    "Smith",
];

struct Gen {
    rng: StdRng,
    ids: Vec<i64>,
    names: HashSet<String>,
    listing_id: i64,
    other_id: i64,
}

impl Gen {
    fn id(&mut self) -> i64 {
        self.ids.pop().unwrap_or_else(|| {
            self.other_id += 1;
            self.other_id
        })
    }

    fn row_id(&mut self) -> i64 {
        self.other_id += self.rng.random_range(1..5);
        self.other_id
    }

    fn listing_id(&mut self) -> i64 {
        self.listing_id += self.rng.random_range(1..4);
        self.listing_id
    }

    fn word(&mut self, min: usize, max: usize) -> String {
        let n = self.rng.random_range(min..=max);
        let mut w = String::new();
        for _ in 0..n {
            w.push_str(SYLLABLES[self.rng.random_range(0..SYLLABLES.len())]);
        }
        w
    }

    /// A unique capitalised name with the given suffix.
    fn name(&mut self, suffix: &str, min: usize, max: usize) -> String {
        loop {
            let mut w = self.word(min, max);
            w.push_str(suffix);
            let w = capitalise(&w);
            if self.names.insert(w.clone()) {
                return w;
            }
        }
    }

    /// A unique binomial/trinomial made of `prefix` plus a new epithet.
    fn epithet_name(&mut self, prefix: &str) -> String {
        loop {
            let e = self.word(2, 3);
            let full = format!("{prefix} {e}");
            if self.names.insert(full.clone()) {
                return full;
            }
        }
    }

    fn author(&mut self, parens: bool) -> String {
        let a = AUTHORS[self.rng.random_range(0..AUTHORS.len())];
        let y = self.rng.random_range(1758..2015);
        if parens {
            format!("({a}, {y})")
        } else {
            format!("{a}, {y}")
        }
    }

    fn timestamp(&mut self) -> DateTime<Utc> {
        let start = Utc
            .with_ymd_and_hms(2015, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let secs = self.rng.random_range(0..(9 * 365 * 24 * 3600_i64));
        let ms = self.rng.random_range(0..1000_i64);
        start + chrono::Duration::seconds(secs) + chrono::Duration::milliseconds(ms)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn country(&mut self) -> (&'static str, &'static str) {
        COUNTRIES[self.rng.random_range(0..COUNTRIES.len())]
    }
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn geo(iso: &str, name: &str) -> GeoEntity {
    GeoEntity {
        iso_code2: Some(iso.to_string()),
        name: Some(name.to_string()),
        kind: Some(if iso == "GF" || iso == "NC" || iso == "HK" {
            "TERRITORY".to_string()
        } else {
            "COUNTRY".to_string()
        }),
    }
}

fn new_line(id: i64, name: String, rank: &str, h: HigherTaxa, at: DateTime<Utc>) -> TaxonLine {
    TaxonLine {
        id,
        full_name: name,
        author_year: None,
        rank: rank.to_string(),
        name_status: "A".to_string(),
        updated_at: at,
        active: true,
        cites_listing: Some("NC".to_string()),
        eu_listing: None,
        higher_taxa: Some(h),
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
        taxonomy: None,
        dependents_updated_at: None,
    }
}

/// Counts of each rank for an accepted budget.
fn skeleton(n_acc: usize) -> [usize; 6] {
    let genera = n_acc.div_ceil(12).max(1);
    let families = genera.div_ceil(5);
    let orders = families.div_ceil(4);
    let classes = orders.div_ceil(3);
    let phyla = classes.div_ceil(2);
    let kingdoms = phyla.min(2);
    [kingdoms, phyla, classes, orders, families, genera]
}

pub(crate) fn generate(n_taxa: usize, seed: u64) -> Catalogue {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ids: Vec<i64> = (1..=(n_taxa as i64 * 3 / 2 + 50)).collect();
    ids.shuffle(&mut rng);
    let mut g = Gen {
        rng,
        ids,
        names: HashSet::new(),
        listing_id: 3000,
        other_id: n_taxa as i64 * 2 + 100,
    };
    let n_del = if n_taxa >= 20 {
        (n_taxa / 50).max(1)
    } else {
        0
    };
    let n_syn = n_taxa * 25 / 100;
    let n_acc = n_taxa - n_syn - n_del;

    // 1. The tree, in depth-first (taxonomic) order.
    let mut lines = tree(&mut g, n_acc);

    // 2. Per-taxon details.
    for l in lines.iter_mut() {
        fill_details(&mut g, l);
    }

    // 3. Listings: higher-taxon listings inherited by descendants, then own rows.
    add_listings(&mut g, &mut lines);

    // 4. Quotas and suspensions.
    add_trade_restrictions(&mut g, &mut lines);

    // 5. Synonyms and deleted taxa.
    let mut extra = add_synonyms(&mut g, &mut lines, n_syn);
    extra.extend(deleted(&mut g, n_del));
    lines.extend(extra);
    // Catalogue insertion order is not the taxonomic order (ids and order are decoupled).
    Catalogue::from_lines(lines).unwrap_or_default()
}

/// The accepted taxa as a tree of `n_acc` lines in depth-first (taxonomic) order: kingdoms,
/// phyla, classes, orders, families, genera, species and subspecies.
fn tree(g: &mut Gen, n_acc: usize) -> Vec<TaxonLine> {
    let counts = skeleton(n_acc);
    let higher: usize = counts.iter().sum();
    let n_species_total = n_acc.saturating_sub(higher);
    let n_sub = n_species_total * 12 / 100;
    let n_species = n_species_total - n_sub;
    // parent index (within the previous level) of each node, round-robin.
    let children = |parents: usize, n: usize| -> Vec<Vec<usize>> {
        let mut v = vec![Vec::new(); parents.max(1)];
        for c in 0..n {
            v[c % parents.max(1)].push(c);
        }
        v
    };
    let mut level_children: Vec<Vec<Vec<usize>>> = Vec::new();
    for lvl in 1..6 {
        level_children.push(children(counts[lvl - 1], counts[lvl]));
    }
    let mut species_of_genus: Vec<usize> = vec![0; counts[5]];
    for s in 0..n_species {
        let gi = if s < counts[5] {
            s
        } else {
            g.rng.random_range(0..counts[5])
        };
        species_of_genus[gi] += 1;
    }
    let mut sub_of_species: HashMap<(usize, usize), usize> = HashMap::new();
    for _ in 0..n_sub {
        let gi = g.rng.random_range(0..counts[5]);
        if species_of_genus[gi] == 0 {
            continue;
        }
        let si = g.rng.random_range(0..species_of_genus[gi]);
        *sub_of_species.entry((gi, si)).or_default() += 1;
    }

    let mut lines: Vec<TaxonLine> = Vec::new();
    let kingdom_names = ["Animalia", "Plantae"];
    for k in 0..counts[0] {
        let kname = kingdom_names[k % 2].to_string();
        g.names.insert(kname.clone());
        let plant = k % 2 == 1;
        let h = HigherTaxa {
            kingdom: Some(kname.clone()),
            ..HigherTaxa::default()
        };
        let at = g.timestamp();
        lines.push(new_line(g.id(), kname.clone(), "KINGDOM", h.clone(), at));
        for &p in &level_children[0][k] {
            let pname = g.name(if plant { "phyta" } else { "ata" }, 2, 3);
            let h = HigherTaxa {
                phylum: Some(pname.clone()),
                ..h.clone()
            };
            let at = g.timestamp();
            lines.push(new_line(g.id(), pname, "PHYLUM", h.clone(), at));
            for &c in &level_children[1][p] {
                let cname = g.name(if plant { "opsida" } else { "ia" }, 2, 3);
                let h = HigherTaxa {
                    class: Some(cname.clone()),
                    ..h.clone()
                };
                let at = g.timestamp();
                lines.push(new_line(g.id(), cname, "CLASS", h.clone(), at));
                for &o in &level_children[2][c] {
                    let oname = g.name(if plant { "ales" } else { "iformes" }, 1, 2);
                    let h = HigherTaxa {
                        order: Some(oname.clone()),
                        ..h.clone()
                    };
                    let at = g.timestamp();
                    lines.push(new_line(g.id(), oname, "ORDER", h.clone(), at));
                    for &f in &level_children[3][o] {
                        let fname = g.name(if plant { "aceae" } else { "idae" }, 1, 2);
                        let h = HigherTaxa {
                            family: Some(fname.clone()),
                            ..h.clone()
                        };
                        let at = g.timestamp();
                        let mut fl = new_line(g.id(), fname, "FAMILY", h.clone(), at);
                        fl.author_year = Some(g.author(false));
                        lines.push(fl);
                        for &gi in &level_children[4][f] {
                            let gname = g.name("", 2, 3);
                            let at = g.timestamp();
                            let mut gl = new_line(g.id(), gname.clone(), "GENUS", h.clone(), at);
                            if g.chance(0.6) {
                                gl.author_year = Some(g.author(false));
                            }
                            lines.push(gl);
                            for si in 0..species_of_genus[gi] {
                                let sname = g.epithet_name(&gname);
                                let at = g.timestamp();
                                let mut sl =
                                    new_line(g.id(), sname.clone(), "SPECIES", h.clone(), at);
                                let parens = g.chance(0.4);
                                sl.author_year = Some(g.author(parens));
                                lines.push(sl);
                                for _ in 0..sub_of_species.get(&(gi, si)).copied().unwrap_or(0) {
                                    let ssname = g.epithet_name(&sname);
                                    let at = g.timestamp();
                                    let mut ssl =
                                        new_line(g.id(), ssname, "SUBSPECIES", h.clone(), at);
                                    sl_author(g, &mut ssl);
                                    lines.push(ssl);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    lines.truncate(n_acc);
    lines
}
/// `n_del` deleted species (most accepted, some synonyms when they were deleted).
fn deleted(g: &mut Gen, n_del: usize) -> Vec<TaxonLine> {
    let mut out = Vec::with_capacity(n_del);
    for _ in 0..n_del {
        let status = if g.chance(0.8) { "A" } else { "S" };
        let genus = g.name("", 2, 3);
        let name = g.epithet_name(&genus);
        let at = g.timestamp();
        let mut l = new_line(g.id(), name, "SPECIES", HigherTaxa::default(), at);
        l.name_status = status.to_string();
        l.author_year = Some(g.author(false));
        out.push(l.to_deleted(at));
    }
    out
}

fn sl_author(g: &mut Gen, l: &mut TaxonLine) {
    let parens = g.chance(0.5);
    l.author_year = Some(g.author(parens));
}

fn fill_details(g: &mut Gen, l: &mut TaxonLine) {
    let n_cn = g.rng.random_range(0..4);
    for i in 0..n_cn {
        let lang = ["EN", "FR", "ES", "DE"][i % 4];
        let name = capitalise(&g.word(2, 4));
        l.common_names.push(CommonName {
            name,
            language: lang.to_string(),
        });
    }
    if l.rank == "SPECIES" || l.rank == "SUBSPECIES" {
        let n = g.rng.random_range(1..=5);
        let mut seen = HashSet::new();
        for _ in 0..n {
            let (iso, name) = g.country();
            if !seen.insert(iso) {
                continue;
            }
            let tags = if g.chance(0.05) {
                vec!["extinct".to_string()]
            } else {
                Vec::new()
            };
            let cite = format!(
                "{} 1998. Checklist of <i>{}</i>.",
                g.author(false),
                l.full_name
            );
            l.distributions.push(DistributionRow {
                id: g.row_id(),
                iso_code2: Some(iso.to_string()),
                name: Some(name.to_string()),
                tags,
                kind: geo(iso, name).kind,
                references: vec![cite],
            });
        }
        let n_ref = g.rng.random_range(0..3);
        for _ in 0..n_ref {
            let citation = Some(format!("{} (Ed.) 2005. Checklist.\n", g.author(false)));
            let is_standard = g.chance(0.3);
            l.references.push(ReferenceRow {
                id: g.row_id(),
                citation,
                is_standard,
            });
        }
        l.references.sort_by(|a, b| a.citation.cmp(&b.citation));
    }
}

fn party(g: &mut Gen, l: &TaxonLine) -> GeoEntity {
    match l.distributions.first() {
        Some(d) if g.chance(0.7) => geo(
            d.iso_code2.as_deref().unwrap_or("XX"),
            d.name.as_deref().unwrap_or("Unknown"),
        ),
        _ => {
            let (iso, name) = g.country();
            geo(iso, name)
        }
    }
}

fn annotation(g: &mut Gen, plant: bool) -> (Option<String>, Option<serde_json::Value>) {
    let r: f64 = g.rng.random();
    let ann = if r < 0.7 {
        None
    } else if r < 0.8 {
        Some(String::new())
    } else {
        let (_, c) = g.country();
        Some(format!(
            "Except the populations of {c}, which are included in Appendix\u{a0}I."
        ))
    };
    let hash = if plant && g.chance(0.3) {
        Some(
            serde_json::json!({"symbol": "#4", "note": "All parts and derivatives, except seeds and pollen."}),
        )
    } else {
        None
    };
    (ann, hash)
}

fn row(
    g: &mut Gen,
    taxon: i64,
    appendix: &str,
    change: &str,
    date: &str,
    current: bool,
) -> ListingRow {
    let mut r = ListingRow {
        id: g.listing_id(),
        taxon_concept_id: taxon,
        is_current: current,
        appendix: appendix.to_string(),
        change_type: change.to_string(),
        effective_at: Some(date.to_string()),
        party: None,
        annotation: None,
        hash_annotation: None,
    };
    r.normalise();
    r
}

fn two_dates(g: &mut Gen) -> (&'static str, &'static str) {
    let a = g.rng.random_range(0..COP_DATES.len() - 1);
    let b = g.rng.random_range(a + 1..COP_DATES.len());
    (COP_DATES[a], COP_DATES[b])
}

fn own_rows(g: &mut Gen, l: &TaxonLine, plant: bool) -> Vec<ListingRow> {
    let id = l.id;
    let r: f64 = g.rng.random();
    let mut rows = Vec::new();
    if r < 0.55 {
        let a: f64 = g.rng.random();
        let app = if a < 0.2 {
            "I"
        } else if a < 0.85 {
            "II"
        } else {
            "III"
        };
        let d = COP_DATES[g.rng.random_range(0..COP_DATES.len())];
        let mut x = row(g, id, app, "+", d, true);
        if app == "III" {
            x.party = Some(party(g, l));
        }
        rows.push(x);
    } else if r < 0.75 {
        let (d1, d2) = two_dates(g);
        let (a1, a2) = if g.chance(0.6) {
            ("II", "I")
        } else {
            ("I", "II")
        };
        rows.push(row(g, id, a1, "+", d1, false));
        rows.push(row(g, id, a2, "+", d2, true));
    } else if r < 0.83 {
        let d = COP_DATES[g.rng.random_range(0..COP_DATES.len())];
        let p1 = party(g, l);
        let mut p2 = party(g, l);
        if p2 == p1 {
            let (iso, name) = g.country();
            p2 = geo(iso, name);
        }
        for p in [p1, p2] {
            let mut x = row(g, id, "III", "+", d, true);
            x.party = Some(p);
            rows.push(x);
        }
    } else if r < 0.90 {
        let (d1, d2) = two_dates(g);
        rows.push(row(g, id, "II", "+", d1, false));
        rows.push(row(g, id, "II", "-", d2, false));
    } else {
        let (d1, d2) = two_dates(g);
        rows.push(row(g, id, "II", "+", d1, true));
        let p = party(g, l);
        if g.chance(0.4) {
            let mut a = row(g, id, "II", "R+", d1, false);
            a.party = Some(p.clone());
            let mut b = row(g, id, "II", "R-", d2, false);
            b.party = Some(p);
            rows.push(a);
            rows.push(b);
        } else {
            let mut a = row(g, id, "II", "R+", d2, true);
            a.party = Some(p);
            rows.push(a);
        }
    }
    for x in rows.iter_mut() {
        if x.change_type == "+" {
            let (ann, hash) = annotation(g, plant);
            x.annotation = ann;
            x.hash_annotation = hash;
        }
    }
    rows
}

fn add_listings(g: &mut Gen, lines: &mut [TaxonLine]) {
    // Higher-taxon listings: ~12% of families, ~4% of genera.
    let mut inherited: HashMap<(u8, String), ListingRow> = HashMap::new();
    for l in lines.iter_mut() {
        let p = match l.rank.as_str() {
            "FAMILY" => 0.12,
            "GENUS" => 0.04,
            _ => continue,
        };
        if !g.chance(p) {
            continue;
        }
        let d = COP_DATES[g.rng.random_range(0..COP_DATES.len())];
        let mut r = row(g, l.id, "II", "+", d, true);
        if g.chance(0.5) {
            r.annotation = Some(
                "Except the species included in Appendix\u{a0}I. Specimens of the domesticated form are not subject to the provisions of the Convention."
                    .to_string(),
            );
        }
        l.cites_listings.push(r.clone());
        let level = if l.rank == "FAMILY" { 0 } else { 1 };
        inherited.insert((level, l.full_name.clone()), r);
    }
    for l in lines.iter_mut() {
        let plant = l
            .higher_taxa
            .as_ref()
            .and_then(|h| h.kingdom.as_deref())
            .is_some_and(|k| k == "Plantae");
        let fam = l.higher_taxa.as_ref().and_then(|h| h.family.clone());
        let mut via = Vec::new();
        if l.rank != "FAMILY"
            && let Some(f) = fam
            && let Some(r) = inherited.get(&(0, f.clone()))
        {
            via.push(("FAMILY", f, r.clone()));
        }
        if l.rank != "GENUS"
            && let Some(gn) = l.genus_name()
            && let Some(r) = inherited.get(&(1, gn.to_string()))
        {
            via.push(("GENUS", gn.to_string(), r.clone()));
        }
        let has_inherited = !via.is_empty();
        for (rank, name, r) in via {
            let mut x = r;
            x.taxon_concept_id = l.id;
            x.annotation = Some(format!(
                "[{rank} listing {name} spp.] {}",
                x.annotation.as_deref().unwrap_or("")
            ));
            l.cites_listings.push(x);
        }
        let p_own = match (l.rank.as_str(), has_inherited) {
            ("SPECIES", false) => 0.85,
            ("SUBSPECIES", false) => 0.4,
            ("SPECIES", true) => 0.15,
            _ => 0.0,
        };
        if p_own > 0.0 && g.chance(p_own) {
            let rows = if has_inherited {
                let d = COP_DATES[g.rng.random_range(0..COP_DATES.len())];
                vec![row(g, l.id, "I", "+", d, true)]
            } else {
                own_rows(g, l, plant)
            };
            l.cites_listings.extend(rows);
        }
        l.cites_listing = Some(listing_summary(&l.cites_listings));
    }
    // Higher taxa summarise their descendants (e.g. `I/II/NC`).
    let mut parts: HashMap<String, HashSet<String>> = HashMap::new();
    for l in lines.iter() {
        let Some(h) = &l.higher_taxa else { continue };
        let summary = l.cites_listing.clone().unwrap_or_default();
        let mut anc: Vec<String> = [&h.kingdom, &h.phylum, &h.class, &h.order, &h.family]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let Some(gn) = l.genus_name() {
            anc.push(gn.to_string());
        }
        for a in anc {
            if a == l.full_name {
                continue;
            }
            let e = parts.entry(a).or_default();
            for p in summary.split('/') {
                e.insert(p.to_string());
            }
        }
    }
    for l in lines.iter_mut() {
        if matches!(l.rank.as_str(), "SPECIES" | "SUBSPECIES") {
            continue;
        }
        if let Some(ps) = parts.get(&l.full_name) {
            let order = ["I", "II", "III", "NC"];
            let v: Vec<&str> = order.iter().copied().filter(|o| ps.contains(*o)).collect();
            if !v.is_empty() {
                l.cites_listing = Some(v.join("/"));
            }
        }
    }
}

fn add_trade_restrictions(g: &mut Gen, lines: &mut [TaxonLine]) {
    // Two country-wide suspensions, shown on every taxon distributed there.
    let mut global = Vec::new();
    for (iso, name) in [("PH", "Philippines"), ("IN", "India")] {
        global.push(SuspensionRow {
            id: g.row_id(),
            taxon_concept_id: None,
            notes: Some(format!(
                "The export of wild-caught specimens from {name} for commercial purposes."
            )),
            start_date: Some("2010-11-29".to_string()),
            is_current: true,
            applies_to_import: false,
            geo_entity: Some(geo(iso, name)),
            start_notification: Some(Event {
                name: Some("CITES Notif. No. 2010/038".to_string()),
                date: Some("2010-11-29".to_string()),
                url: Some("https://cites.org/sites/default/files/eng/notif/2010/E038.pdf".into()),
            }),
        });
    }
    for l in lines.iter_mut() {
        if l.rank != "SPECIES" && l.rank != "SUBSPECIES" {
            continue;
        }
        let dist: Vec<(String, String)> = l
            .distributions
            .iter()
            .map(|d| {
                (
                    d.iso_code2.clone().unwrap_or_default(),
                    d.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        if dist.is_empty() {
            continue;
        }
        if g.chance(0.05) {
            let n = g.rng.random_range(1..=3).min(dist.len());
            for (iso, name) in dist.iter().take(n) {
                let year = g.rng.random_range(2015..2024);
                for (y, current) in [(year - 1, false), (year, true)] {
                    let quota = if g.chance(0.1) {
                        None
                    } else {
                        Some(f64::from(g.rng.random_range(0..500_u32)))
                    };
                    let u: f64 = g.rng.random();
                    let url = if u < 0.3 {
                        Some(String::new())
                    } else if u < 0.9 {
                        Some(format!(
                            "https://cites.org/sites/default/files/common/quotas/{y}/ExportQuotas{y}.pdf"
                        ))
                    } else {
                        None
                    };
                    let unit = if g.chance(0.3) {
                        Some(serde_json::json!({"code": "KIL", "name": "kg"}))
                    } else {
                        None
                    };
                    l.cites_quotas.push(QuotaRow {
                        id: g.row_id(),
                        taxon_concept_id: Some(l.id),
                        quota,
                        publication_date: Some(format!("{y}-0{}-1{}", 1 + y % 9, y % 10)),
                        notes: Some("live specimens ".to_string()),
                        url,
                        public_display: true,
                        is_current: current,
                        unit,
                        geo_entity: Some(geo(iso, name)),
                    });
                }
            }
        }
        if g.chance(0.03) {
            let (iso, name) = &dist[g.rng.random_range(0..dist.len())];
            let import = g.chance(0.15);
            let current = g.chance(0.7);
            let y = g.rng.random_range(2004..2024);
            let n = g.rng.random_range(1..100);
            l.cites_suspensions.push(SuspensionRow {
                id: g.row_id(),
                taxon_concept_id: Some(l.id),
                notes: Some(format!(
                    "Recommendation to suspend trade in <i>{}</i>.",
                    l.full_name
                )),
                start_date: Some(format!("{y}-03-1{}", y % 10)),
                is_current: current,
                applies_to_import: import,
                geo_entity: Some(geo(iso, name)),
                start_notification: Some(Event {
                    name: Some(format!("CITES Notif. No. {y}/{n:03}")),
                    date: Some(format!("{y}-03-1{}", y % 10)),
                    url: Some(format!(
                        "https://cites.org/sites/default/files/notif/E-Notif-{y}-{n:03}.pdf"
                    )),
                }),
            });
        }
        for s in &global {
            let iso = s.geo_entity.as_ref().and_then(|e| e.iso_code2.clone());
            if dist.iter().any(|(i, _)| Some(i) == iso.as_ref()) {
                l.cites_suspensions.push(s.clone());
            }
        }
    }
}

fn add_synonyms(g: &mut Gen, lines: &mut [TaxonLine], n_syn: usize) -> Vec<TaxonLine> {
    let targets: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.rank == "SPECIES" || l.rank == "SUBSPECIES")
        .map(|(i, _)| i)
        .collect();
    let genera: Vec<String> = lines
        .iter()
        .filter(|l| l.rank == "GENUS")
        .map(|l| l.full_name.clone())
        .collect();
    let mut out = Vec::new();
    if targets.is_empty() {
        return out;
    }
    // A few hybrids leak into `synonyms[]` of genera without being rows.
    for l in lines.iter_mut() {
        if l.rank == "GENUS" && g.chance(0.01) {
            let id = g.row_id();
            l.synonyms.push(NameRef {
                id,
                full_name: format!("{} hybrid", l.full_name),
                author_year: Some(String::new()),
                rank: Some("SPECIES".to_string()),
            });
        }
    }
    for _ in 0..n_syn {
        let ti = targets[g.rng.random_range(0..targets.len())];
        let acc = &lines[ti];
        let acc_ref = NameRef {
            id: acc.id,
            full_name: acc.full_name.clone(),
            author_year: acc.author_year.clone(),
            rank: Some(acc.rank.clone()),
        };
        // 1% share the accepted name exactly (rcites #6), otherwise another genus.
        let name = if g.chance(0.01) {
            acc.full_name.clone()
        } else {
            let gn = genera
                .get(g.rng.random_range(0..genera.len().max(1)))
                .cloned()
                .unwrap_or_else(|| "Incertus".to_string());
            g.epithet_name(&gn)
        };
        let rank = acc.rank.clone();
        let at = g.timestamp();
        let mut s = new_line(g.id(), name, &rank, HigherTaxa::default(), at);
        s.name_status = "S".to_string();
        s.higher_taxa = None;
        s.cites_listing = None;
        s.author_year = Some(g.author(true));
        s.accepted_names = Some(vec![acc_ref]);
        lines[ti].synonyms.push(NameRef {
            id: s.id,
            full_name: s.full_name.clone(),
            author_year: s.author_year.clone(),
            rank: Some(rank),
        });
        out.push(s);
    }
    out
}
