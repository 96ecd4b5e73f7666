//! The sweep's configuration: the yield table (the most output a transform may give per unit
//! of input, by the terms of its inputs and outputs, with a tolerance) and the breeding table
//! (clutch or litter size, clutches per year and age at first breeding, per taxon or higher
//! taxon). The documented defaults are `trace/trace.default.toml` ([`TRACE_DEFAULT_TOML`]),
//! kept equal to [`TraceConfig::default`] by a test; a file read by the application replaces
//! them. Unknown keys and out-of-range values are errors naming the key.

use std::sync::LazyLock;

use domain::TermCode;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The documented defaults, as shipped.
pub const TRACE_DEFAULT_TOML: &str = include_str!("../trace.default.toml");

/// The largest yield a table may give: a thousand units out per unit in is no processing the
/// register models (a typo for a ratio, rather).
const YIELD_MAX: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);
/// The largest clutch or litter, clutches per year and age (days) a breeding entry may give:
/// beyond them the entry is a typo, not biology (a sturgeon lays millions of eggs, but the
/// register counts young, not eggs).
const CLUTCH_SIZE_MAX: u32 = 100_000;
const CLUTCHES_PER_YEAR_MAX: u32 = 365;
const FIRST_BREEDING_AGE_DAYS_MAX: u32 = 36_500;

/// The yield and breeding tables, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceConfig {
    pub yield_tolerance: Decimal,
    pub breeding_tolerance: Decimal,
    pub yields: Vec<YieldEntry>,
    pub breeding: Vec<BreedingEntry>,
}

/// The most output per unit of input from one term to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YieldEntry {
    pub from: TermCode,
    pub to: TermCode,
    pub max: Decimal,
    pub tolerance: Decimal,
}

/// Which taxa a breeding entry covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaxonRef {
    /// A Species+ taxon id.
    Id(i64),
    /// A scientific name at any rank, compared without regard to case.
    Name(String),
}

impl std::fmt::Display for TaxonRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaxonRef::Id(id) => write!(f, "taxon {id}"),
            TaxonRef::Name(n) => f.write_str(n),
        }
    }
}

/// Reproduction figures of a taxon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreedingEntry {
    pub taxon: TaxonRef,
    pub clutch_size_max: u32,
    pub clutches_per_year_max: u32,
    pub first_breeding_age_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    yield_tolerance: Option<String>,
    breeding_tolerance: Option<String>,
    #[serde(rename = "yield")]
    yields: Option<Vec<YieldFile>>,
    breeding: Option<Vec<BreedingFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YieldFile {
    from: String,
    to: String,
    max: String,
    tolerance: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TaxonFile {
    Id(i64),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BreedingFile {
    taxon: TaxonFile,
    clutch_size_max: u32,
    clutches_per_year_max: u32,
    first_breeding_age_days: u32,
}

static DEFAULT: LazyLock<TraceConfig> = LazyLock::new(|| {
    // The shipped file is checked by a test; were it broken, no table would be better than a
    // wrong one, and every check would say unverifiable.
    TraceConfig::parse(TRACE_DEFAULT_TOML).unwrap_or(TraceConfig {
        yield_tolerance: crate::findings::YIELD_TOLERANCE,
        breeding_tolerance: Decimal::ZERO,
        yields: Vec::new(),
        breeding: Vec::new(),
    })
});

impl Default for TraceConfig {
    /// The shipped tables, `trace/trace.default.toml`.
    fn default() -> TraceConfig {
        DEFAULT.clone()
    }
}

fn config_error(key: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Config {
        key: key.into(),
        message: message.into(),
    }
}

/// A decimal given as a string, exact, within `[min, max]`.
fn decimal(key: &str, text: &str, min: Decimal, max: Decimal) -> Result<Decimal> {
    let d = domain::parse_amount("configuration value", text)
        .map_err(|_| config_error(key, format!("{text:?} is not a decimal such as \"0.2\"")))?;
    if d < min || d > max {
        return Err(config_error(
            key,
            format!("{text} is outside the accepted {min} to {max}"),
        ));
    }
    Ok(d)
}

fn whole(key: &str, n: u32, max: u32) -> Result<u32> {
    if n == 0 || n > max {
        return Err(config_error(
            key,
            format!("{n} is outside the accepted 1 to {max}"),
        ));
    }
    Ok(n)
}

impl TraceConfig {
    /// Reads a configuration file's text over the defaults: a table given (`[[yield]]`,
    /// `[[breeding]]`) replaces the default one whole; a tolerance left out keeps its default.
    pub fn from_toml_str(text: &str) -> Result<TraceConfig> {
        let mut config = TraceConfig::parse(text)?;
        let file: File = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let defaults = TraceConfig::default();
        if file.yield_tolerance.is_none() {
            config.yield_tolerance = defaults.yield_tolerance;
        }
        if file.breeding_tolerance.is_none() {
            config.breeding_tolerance = defaults.breeding_tolerance;
        }
        if file.yields.is_none() {
            config.yields = defaults.yields;
        }
        if file.breeding.is_none() {
            config.breeding = defaults.breeding;
        }
        Ok(config)
    }

    /// Reads a file on its own (what it leaves out is empty, tolerances zero).
    fn parse(text: &str) -> Result<TraceConfig> {
        let file: File = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let one = Decimal::ONE;
        let tolerance = |key: &str, t: &Option<String>| match t {
            Some(t) => decimal(key, t, Decimal::ZERO, one),
            None => Ok(Decimal::ZERO),
        };
        let yield_tolerance = tolerance("yield_tolerance", &file.yield_tolerance)?;
        let breeding_tolerance = tolerance("breeding_tolerance", &file.breeding_tolerance)?;
        let mut yields: Vec<YieldEntry> = Vec::new();
        for (i, y) in file.yields.unwrap_or_default().iter().enumerate() {
            let key = |field: &str| format!("yield[{i}].{field}");
            let term = |field: &str, t: &str| {
                TermCode::parse(t).map_err(|e| config_error(key(field), e.to_string()))
            };
            let entry = YieldEntry {
                from: term("from", &y.from)?,
                to: term("to", &y.to)?,
                max: decimal(&key("max"), &y.max, Decimal::new(1, 6), YIELD_MAX)?,
                tolerance: match &y.tolerance {
                    Some(t) => decimal(&key("tolerance"), t, Decimal::ZERO, one)?,
                    None => yield_tolerance,
                },
            };
            if yields
                .iter()
                .any(|o| o.from == entry.from && o.to == entry.to)
            {
                return Err(config_error(
                    key("to"),
                    format!("{} to {} is listed twice", entry.from, entry.to),
                ));
            }
            yields.push(entry);
        }
        let mut breeding: Vec<BreedingEntry> = Vec::new();
        for (i, b) in file.breeding.unwrap_or_default().iter().enumerate() {
            let key = |field: &str| format!("breeding[{i}].{field}");
            let taxon = match &b.taxon {
                TaxonFile::Id(id) if *id > 0 => TaxonRef::Id(*id),
                TaxonFile::Name(n) if !n.trim().is_empty() => TaxonRef::Name(n.trim().to_owned()),
                _ => {
                    return Err(config_error(
                        key("taxon"),
                        "accepted a scientific name or a Species+ taxon id above 0",
                    ));
                }
            };
            if breeding.iter().any(|o| same_taxon(&o.taxon, &taxon)) {
                return Err(config_error(
                    key("taxon"),
                    format!("{taxon} is listed twice"),
                ));
            }
            breeding.push(BreedingEntry {
                taxon,
                clutch_size_max: whole(
                    &key("clutch_size_max"),
                    b.clutch_size_max,
                    CLUTCH_SIZE_MAX,
                )?,
                clutches_per_year_max: whole(
                    &key("clutches_per_year_max"),
                    b.clutches_per_year_max,
                    CLUTCHES_PER_YEAR_MAX,
                )?,
                first_breeding_age_days: whole(
                    &key("first_breeding_age_days"),
                    b.first_breeding_age_days,
                    FIRST_BREEDING_AGE_DAYS_MAX,
                )?,
            });
        }
        Ok(TraceConfig {
            yield_tolerance,
            breeding_tolerance,
            yields,
            breeding,
        })
    }

    /// The yield entry from one term to another.
    pub fn yield_of(&self, from: TermCode, to: TermCode) -> Option<&YieldEntry> {
        self.yields.iter().find(|y| y.from == from && y.to == to)
    }

    /// The breeding entry nearest to a taxon: its own id, then its names nearest first
    /// (`lineage`: the taxon's own name, then its genus, family, order, class, ...).
    pub fn breeding_of(&self, taxon: i64, lineage: &[String]) -> Option<&BreedingEntry> {
        self.breeding
            .iter()
            .find(|b| b.taxon == TaxonRef::Id(taxon))
            .or_else(|| {
                lineage.iter().find_map(|name| {
                    self.breeding.iter().find(|b| match &b.taxon {
                        TaxonRef::Name(n) => n.eq_ignore_ascii_case(name),
                        TaxonRef::Id(_) => false,
                    })
                })
            })
    }
}

fn same_taxon(a: &TaxonRef, b: &TaxonRef) -> bool {
    match (a, b) {
        (TaxonRef::Id(x), TaxonRef::Id(y)) => x == y,
        (TaxonRef::Name(x), TaxonRef::Name(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

/// A TOML error naming the key under its span (or the line).
fn toml_error(text: &str, err: &toml::de::Error) -> Error {
    let key = match err.span() {
        None => "(document)".to_owned(),
        Some(span) => {
            let under = text.get(span.clone()).unwrap_or("").trim();
            if !under.is_empty()
                && under
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                under.to_owned()
            } else {
                let line = text
                    .get(..span.start)
                    .map_or(1, |before| before.matches('\n').count() + 1);
                format!("line {line}")
            }
        }
    };
    config_error(key, err.message())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_shipped_file_reads_and_is_the_default() {
        let parsed = TraceConfig::parse(TRACE_DEFAULT_TOML).unwrap();
        assert_eq!(parsed, TraceConfig::default());
        assert_eq!(parsed.yield_tolerance, Decimal::new(1, 2));
        assert!(parsed.yields.len() >= 5 && parsed.breeding.len() >= 5);
        assert_eq!(
            TraceConfig::from_toml_str("").unwrap(),
            TraceConfig::default()
        );
    }

    #[test]
    fn a_table_given_replaces_the_default_one_and_the_rest_stays() {
        let c = TraceConfig::from_toml_str(
            "[[yield]]\nfrom = \"LOG\"\nto = \"SAW\"\nmax = \"0.5\"\ntolerance = \"0.02\"\n",
        )
        .unwrap();
        assert_eq!(c.yields.len(), 1);
        let log = TermCode::parse("LOG").unwrap();
        let saw = TermCode::parse("SAW").unwrap();
        assert_eq!(c.yield_of(log, saw).unwrap().max, Decimal::new(5, 1));
        assert_eq!(c.breeding, TraceConfig::default().breeding);
        let lineage = [
            "Ara ararauna".to_owned(),
            "Ara".to_owned(),
            "Psittaciformes".to_owned(),
        ];
        assert_eq!(c.breeding_of(7, &lineage).unwrap().clutch_size_max, 4);
        assert_eq!(c.breeding_of(7, &lineage[2..]).unwrap().clutch_size_max, 8);
        assert!(c.breeding_of(7, &["Panthera".to_owned()]).is_none());
    }

    #[test]
    fn bad_values_and_unknown_keys_name_the_key() {
        for (text, key) in [
            ("colour = 1", "colour"),
            ("yield_tolerance = \"2\"", "yield_tolerance"),
            (
                "[[yield]]\nfrom = \"XXX\"\nto = \"SAW\"\nmax = \"1\"",
                "yield[0].from",
            ),
            (
                "[[yield]]\nfrom = \"LOG\"\nto = \"SAW\"\nmax = \"0\"",
                "yield[0].max",
            ),
            (
                "[[yield]]\nfrom = \"LOG\"\nto = \"SAW\"\nmax = \"1e3\"",
                "yield[0].max",
            ),
            (
                "[[breeding]]\ntaxon = \"Ara\"\nclutch_size_max = 0\nclutches_per_year_max = 1\nfirst_breeding_age_days = 1",
                "breeding[0].clutch_size_max",
            ),
            (
                "[[breeding]]\ntaxon = 0\nclutch_size_max = 1\nclutches_per_year_max = 1\nfirst_breeding_age_days = 1",
                "breeding[0].taxon",
            ),
            (
                "[[breeding]]\ntaxon = \"Ara\"\nclutch_size_max = 1\nclutches_per_year_max = 1\nfirst_breeding_age_days = 1\n\
                 [[breeding]]\ntaxon = \"ara\"\nclutch_size_max = 1\nclutches_per_year_max = 1\nfirst_breeding_age_days = 1",
                "breeding[1].taxon",
            ),
        ] {
            match TraceConfig::from_toml_str(text) {
                Err(Error::Config { key: k, .. }) => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
