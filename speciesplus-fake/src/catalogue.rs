//! The fake's data: a set of taxon concepts in the bulk-dump shape, plus the SAPI-side state
//! the API hides (own `updated_at`, pending listing changes waiting for the weekly rebuild,
//! taxonomic positions, and a per-taxon history used to simulate the 1-hour cache lag).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::model::{ListingRow, QuotaRow, SuspensionRow, TaxonLine};

/// A listing change saved in the admin UI but not yet materialised by a rebuild.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) taxon_id: i64,
    pub(crate) row: ListingRow,
    pub(crate) at: DateTime<Utc>,
}

/// One taxon with its hidden state.
#[derive(Clone, Debug)]
pub(crate) struct Taxon {
    /// What the API serves (for `updated_at`: `COALESCE(dependents_updated_at, own)`).
    pub(crate) line: TaxonLine,
    /// SAPI's own `taxon_concepts.updated_at`.
    pub(crate) own_updated_at: DateTime<Utc>,
    /// Taxonomic position among accepted names; `None` until the next rebuild for new taxa.
    pub(crate) position: Option<u64>,
    /// `(change time, state before the change)`; `None` before = did not exist yet.
    pub(crate) history: Vec<(DateTime<Utc>, Option<Box<TaxonLine>>)>,
}

/// The fake's catalogue of taxon concepts (CITES tree, plus optional CMS rows).
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub(crate) taxa: Vec<Taxon>,
    pub(crate) index: HashMap<i64, usize>,
    pub(crate) pending: Vec<Pending>,
    /// Keep per-taxon history (set by the server when a visibility lag is configured).
    pub(crate) record_history: bool,
}

const RANK_DEPTH: [(&str, u8); 10] = [
    ("KINGDOM", 0),
    ("PHYLUM", 1),
    ("CLASS", 2),
    ("ORDER", 3),
    ("FAMILY", 4),
    ("SUBFAMILY", 5),
    ("GENUS", 6),
    ("SPECIES", 7),
    ("SUBSPECIES", 8),
    ("VARIETY", 8),
];

fn rank_depth(rank: &str) -> u8 {
    RANK_DEPTH
        .iter()
        .find(|(r, _)| *r == rank)
        .map(|(_, d)| *d)
        .unwrap_or(8)
}

/// Sort key giving taxonomic order: the path of names from the kingdom down to the taxon.
fn path_key(line: &TaxonLine) -> Vec<String> {
    let h = line.higher_taxa.clone().unwrap_or_default();
    let depth = rank_depth(&line.rank);
    let levels = [h.kingdom, h.phylum, h.class, h.order, h.family];
    let mut p = Vec::with_capacity(8);
    for (i, lvl) in levels.into_iter().enumerate() {
        let i = i as u8;
        if i < depth {
            p.push(lvl.unwrap_or_default());
        } else if i == depth {
            p.push(line.full_name.clone());
        }
    }
    if depth == 5 {
        p.push(line.full_name.clone());
    }
    let words: Vec<&str> = line.full_name.split(' ').collect();
    if depth >= 6 {
        p.push(words.first().copied().unwrap_or_default().to_string());
    }
    if depth >= 7 {
        p.push(words.iter().take(2).copied().collect::<Vec<_>>().join(" "));
    }
    if depth >= 8 {
        p.push(line.full_name.clone());
    }
    p
}

/// Summary such as `I/II` or `NC` from the current `+` rows.
pub(crate) fn listing_summary(rows: &[ListingRow]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for a in ["I", "II", "III"] {
        if rows
            .iter()
            .any(|r| r.is_current && r.change_type == "+" && r.appendix == a)
        {
            parts.push(a);
        }
    }
    if parts.is_empty() {
        "NC".to_string()
    } else {
        parts.join("/")
    }
}

impl Catalogue {
    /// Parses NDJSON dump lines (one taxon concept per non-empty line).
    pub fn from_ndjson(text: &str) -> Result<Catalogue, String> {
        let mut lines = Vec::new();
        for (n, l) in text.lines().enumerate() {
            let l = l.trim();
            if l.is_empty() {
                continue;
            }
            let line: TaxonLine =
                serde_json::from_str(l).map_err(|e| format!("line {}: {e}", n + 1))?;
            lines.push(line);
        }
        Catalogue::from_lines(lines)
    }

    /// Builds a catalogue from parsed lines (ids must be unique).
    pub fn from_lines(lines: Vec<TaxonLine>) -> Result<Catalogue, String> {
        let mut cat = Catalogue::default();
        for line in lines {
            if cat.index.contains_key(&line.id) {
                return Err(format!("duplicate taxon id {}", line.id));
            }
            cat.push(normalise_line(line), None);
        }
        cat.compute_positions();
        Ok(cat)
    }

    /// Writes the catalogue as NDJSON dump lines (with the fake-only extension keys when set).
    pub fn to_ndjson(&self) -> String {
        self.ndjson(true)
    }

    pub(crate) fn ndjson(&self, with_extensions: bool) -> String {
        let mut out = String::new();
        for t in &self.taxa {
            out.push_str(&t.line.dump_json(with_extensions));
            out.push('\n');
        }
        out
    }

    /// Number of taxon concepts (accepted, synonyms and deleted).
    pub fn len(&self) -> usize {
        self.taxa.len()
    }

    /// True when there is no taxon.
    pub fn is_empty(&self) -> bool {
        self.taxa.is_empty()
    }

    /// The current (materialised) state of a taxon.
    pub fn get(&self, id: i64) -> Option<&TaxonLine> {
        self.index.get(&id).map(|&i| &self.taxa[i].line)
    }

    /// All taxa in catalogue (insertion) order.
    pub fn lines(&self) -> impl Iterator<Item = &TaxonLine> {
        self.taxa.iter().map(|t| &t.line)
    }

    /// Listing changes saved but not yet made visible by [`Catalogue::rebuild`].
    pub fn pending_listing_changes(&self) -> usize {
        self.pending.len()
    }

    fn push(&mut self, line: TaxonLine, created_at: Option<DateTime<Utc>>) {
        let own = line.updated_at;
        let mut line = line;
        if let Some(d) = line.dependents_updated_at {
            line.updated_at = d;
        }
        self.index.insert(line.id, self.taxa.len());
        let history = match created_at {
            Some(at) if self.record_history => vec![(at, None)],
            _ => Vec::new(),
        };
        self.taxa.push(Taxon {
            line,
            own_updated_at: own,
            position: None,
            history,
        });
    }

    /// Recomputes taxonomic positions of accepted names (done on load and by the rebuild).
    pub(crate) fn compute_positions(&mut self) {
        let mut keyed: Vec<(Vec<String>, i64, usize)> = self
            .taxa
            .iter()
            .enumerate()
            .filter(|(_, t)| t.line.is_accepted())
            .map(|(i, t)| (path_key(&t.line), t.line.id, i))
            .collect();
        keyed.sort();
        for t in &mut self.taxa {
            t.position = None;
        }
        for (pos, (_, _, i)) in keyed.into_iter().enumerate() {
            self.taxa[i].position = Some(pos as u64);
        }
    }

    fn snapshot(&mut self, i: usize, at: DateTime<Utc>) {
        if self.record_history {
            let before = Box::new(self.taxa[i].line.clone());
            self.taxa[i].history.push((at, Some(before)));
        }
    }

    /// The state of taxon `i` as seen at `view` (None = now): what the 1-hour cache serves.
    pub(crate) fn visible(&self, i: usize, view: Option<DateTime<Utc>>) -> Option<&TaxonLine> {
        let t = &self.taxa[i];
        if let Some(v) = view {
            for (at, before) in &t.history {
                if *at > v {
                    return before.as_deref();
                }
            }
        }
        Some(&t.line)
    }

    fn idx(&self, id: i64) -> Result<usize, String> {
        self.index
            .get(&id)
            .copied()
            .ok_or_else(|| format!("no taxon with id {id}"))
    }

    /// Accepted, active descendants of taxon `i` (by the higher-taxa columns / genus name).
    pub(crate) fn descendants(&self, i: usize) -> Vec<usize> {
        let anc = &self.taxa[i].line;
        let name = anc.full_name.as_str();
        let rank = anc.rank.as_str();
        let cms = anc.is_cms();
        self.taxa
            .iter()
            .enumerate()
            .filter(|(j, t)| {
                let l = &t.line;
                if *j == i || !l.is_accepted() || l.is_cms() != cms {
                    return false;
                }
                let h = l.higher_taxa.clone().unwrap_or_default();
                let eq = |v: &Option<String>| v.as_deref() == Some(name);
                match rank {
                    "KINGDOM" => eq(&h.kingdom),
                    "PHYLUM" => eq(&h.phylum),
                    "CLASS" => eq(&h.class),
                    "ORDER" => eq(&h.order),
                    "FAMILY" => eq(&h.family),
                    "GENUS" => l.rank != "GENUS" && l.genus_name() == Some(name),
                    "SPECIES" => l.full_name.starts_with(&format!("{name} ")),
                    _ => false,
                }
            })
            .map(|(j, _)| j)
            .collect()
    }

    fn set_dependents_updated(&mut self, i: usize, at: DateTime<Utc>) {
        let t = &mut self.taxa[i];
        t.line.dependents_updated_at = Some(at);
        t.line.updated_at = at;
    }

    /// Adds a new taxon (a dump line). It appears at once (out of taxonomic order, before the
    /// positioned accepted names, until the next rebuild), shifting every page after it.
    pub fn insert_taxon(
        &mut self,
        line: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<i64, String> {
        let line: TaxonLine = serde_json::from_value(line).map_err(|e| e.to_string())?;
        if self.index.contains_key(&line.id) {
            return Err(format!("taxon id {} exists already", line.id));
        }
        let id = line.id;
        self.push(normalise_line(line), Some(at));
        Ok(id)
    }

    /// Deletes a taxon: it becomes a row with `active: false`, nulls and `updated_at = at`.
    pub fn delete_taxon(&mut self, id: i64, at: DateTime<Utc>) -> Result<(), String> {
        let i = self.idx(id)?;
        self.snapshot(i, at);
        let t = &mut self.taxa[i];
        t.line = t.line.to_deleted(at);
        t.own_updated_at = at;
        t.position = None;
        self.pending.retain(|p| p.taxon_id != id);
        Ok(())
    }

    /// Saves a listing change on a taxon (the `/cites_legislation` row shape). As in SAPI, the
    /// taxon's own `updated_at` moves at once (dependents bumped), but the row only becomes
    /// visible, and inherited by descendants, at the next [`Catalogue::rebuild`].
    pub fn add_listing_change(
        &mut self,
        taxon_id: i64,
        row: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let i = self.idx(taxon_id)?;
        let mut row: ListingRow = serde_json::from_value(row).map_err(|e| e.to_string())?;
        row.taxon_concept_id = taxon_id;
        row.normalise();
        self.snapshot(i, at);
        self.set_dependents_updated(i, at);
        self.pending.push(Pending { taxon_id, row, at });
        Ok(())
    }

    /// The weekly SAPI rebuild run at `at`: materialises pending listing changes (with the
    /// `[FAMILY listing X spp.] ` style inheritance for order/family/genus listings), recomputes
    /// `cites_listing` of the touched taxa and all taxonomic positions, and backdates
    /// `updated_at` of touched taxa that have no `dependents_updated_at` to the edit time.
    pub fn rebuild(&mut self, at: DateTime<Utc>) {
        let pending = std::mem::take(&mut self.pending);
        let mut touched: HashMap<usize, DateTime<Utc>> = HashMap::new();
        let mut new_rows: HashMap<usize, Vec<ListingRow>> = HashMap::new();
        for p in pending {
            let Some(&i) = self.index.get(&p.taxon_id) else {
                continue;
            };
            let e = touched.entry(i).or_insert(p.at);
            *e = (*e).max(p.at);
            new_rows.entry(i).or_default().push(p.row.clone());
            let line = &self.taxa[i].line;
            let prefix = match line.rank.as_str() {
                r @ ("ORDER" | "FAMILY" | "GENUS") => {
                    Some(format!("[{r} listing {} spp.] ", line.full_name))
                }
                _ => None,
            };
            if let Some(prefix) = prefix {
                for d in self.descendants(i) {
                    let mut r = p.row.clone();
                    r.taxon_concept_id = self.taxa[d].line.id;
                    r.annotation = Some(format!(
                        "{prefix}{}",
                        p.row.annotation.as_deref().unwrap_or("")
                    ));
                    new_rows.entry(d).or_default().push(r);
                    let e = touched.entry(d).or_insert(p.at);
                    *e = (*e).max(p.at);
                }
            }
        }
        let mut changed: Vec<usize> = new_rows.keys().copied().collect();
        changed.sort_unstable();
        for i in changed {
            self.snapshot(i, at);
            let rows = new_rows.remove(&i).unwrap_or_default();
            let t = &mut self.taxa[i];
            for r in rows {
                if let Some(old) = t
                    .line
                    .cites_listings
                    .iter_mut()
                    .find(|o| o.id == r.id && o.taxon_concept_id == r.taxon_concept_id)
                {
                    *old = r;
                } else {
                    t.line.cites_listings.push(r);
                }
            }
            t.line.cites_listing = Some(listing_summary(&t.line.cites_listings));
            if let Some(&edit) = touched.get(&i)
                && t.line.dependents_updated_at.is_none()
                && edit > t.own_updated_at
            {
                t.own_updated_at = edit;
                t.line.updated_at = edit;
            }
        }
        self.compute_positions();
    }

    /// Adds or replaces (by id) a quota on a taxon, or a country-wide one (`taxon_id` None).
    /// Visible at once (live view); bumps the taxon and, per `touch_descendants`, descendants
    /// of a species/genus/subfamily/family/order. Descendants distributed in the quota's
    /// country also show the row. A country-wide quota applies to and bumps every taxon
    /// distributed in that country.
    pub fn set_quota(
        &mut self,
        taxon_id: Option<i64>,
        row: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let mut row: QuotaRow = serde_json::from_value(row).map_err(|e| e.to_string())?;
        if row.taxon_concept_id.is_none() {
            row.taxon_concept_id = taxon_id;
        }
        let iso = row.geo_entity.as_ref().and_then(|g| g.iso_code2.clone());
        let targets = self.trade_restriction_targets(taxon_id)?;
        for (i, bump, own) in targets {
            let applies = own || self.distributed_in(i, iso.as_deref());
            // A country-wide record bumps every taxon distributed in that country.
            let bump = bump || (taxon_id.is_none() && applies);
            if !applies && !bump {
                continue;
            }
            self.snapshot(i, at);
            if applies {
                let list = &mut self.taxa[i].line.cites_quotas;
                match list.iter_mut().find(|q| q.id == row.id) {
                    Some(q) => *q = row.clone(),
                    None => list.push(row.clone()),
                }
            }
            if bump {
                self.set_dependents_updated(i, at);
            }
        }
        Ok(())
    }

    /// Adds or replaces (by id) a suspension; same propagation rules as [`Catalogue::set_quota`],
    /// except that import suspensions and suspensions without a country apply to every
    /// descendant regardless of distribution.
    pub fn set_suspension(
        &mut self,
        taxon_id: Option<i64>,
        row: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let mut row: SuspensionRow = serde_json::from_value(row).map_err(|e| e.to_string())?;
        if row.taxon_concept_id.is_none() {
            row.taxon_concept_id = taxon_id;
        }
        let iso = row.geo_entity.as_ref().and_then(|g| g.iso_code2.clone());
        let everywhere = row.applies_to_import || iso.is_none();
        let targets = self.trade_restriction_targets(taxon_id)?;
        for (i, bump, own) in targets {
            let applies =
                own || (taxon_id.is_some() && everywhere) || self.distributed_in(i, iso.as_deref());
            // A country-wide record bumps every taxon distributed in that country.
            let bump = bump || (taxon_id.is_none() && applies);
            if !applies && !bump {
                continue;
            }
            self.snapshot(i, at);
            if applies {
                let list = &mut self.taxa[i].line.cites_suspensions;
                match list.iter_mut().find(|q| q.id == row.id) {
                    Some(q) => *q = row.clone(),
                    None => list.push(row.clone()),
                }
            }
            if bump {
                self.set_dependents_updated(i, at);
            }
        }
        Ok(())
    }

    fn distributed_in(&self, i: usize, iso: Option<&str>) -> bool {
        let Some(iso) = iso else { return false };
        self.taxa[i]
            .line
            .distributions
            .iter()
            .any(|d| d.iso_code2.as_deref() == Some(iso))
    }

    /// `(index, bump?, is the taxon itself?)` for a quota/suspension on `taxon_id`.
    fn trade_restriction_targets(
        &self,
        taxon_id: Option<i64>,
    ) -> Result<Vec<(usize, bool, bool)>, String> {
        match taxon_id {
            Some(id) => {
                let i = self.idx(id)?;
                let rank = self.taxa[i].line.rank.as_str();
                let bump_desc =
                    matches!(rank, "SPECIES" | "GENUS" | "SUBFAMILY" | "FAMILY" | "ORDER");
                let mut v = vec![(i, true, true)];
                v.extend(
                    self.descendants(i)
                        .into_iter()
                        .map(|d| (d, bump_desc, false)),
                );
                Ok(v)
            }
            None => Ok(self
                .taxa
                .iter()
                .enumerate()
                .filter(|(_, t)| t.line.is_accepted())
                .map(|(i, _)| (i, false, false))
                .collect()),
        }
    }
}

/// Fills defaults a dump line may leave out.
fn normalise_line(mut line: TaxonLine) -> TaxonLine {
    for r in &mut line.cites_listings {
        if r.taxon_concept_id == 0 {
            r.taxon_concept_id = line.id;
        }
        r.normalise();
    }
    if line.name_status == "S" && line.accepted_names.is_none() && line.active {
        line.accepted_names = Some(Vec::new());
    }
    line
}
