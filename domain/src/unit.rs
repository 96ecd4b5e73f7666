//! Units of quantity: `UnitCode` (validated against `units.csv`), `Unit` and `Dimension`.
//!
//! A blank unit and `NAR` both mean "number of specimens" and parse to `NAR`. The legacy codes
//! KIL, CUM, SQM and CCM parse to their UN/CEFACT replacements KGM, MTQ, MTK and CMQ
//! (both spellings are in use in permits and reports: accept both, store the new ones).

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::LazyLock;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codes::{CodeEntry, CodeList};
use crate::error::{Error, Result};

/// Legacy unit codes and the current code each one is stored as.
pub const LEGACY_UNIT_CODES: [(&str, &str); 4] = [
    ("KIL", "KGM"),
    ("CUM", "MTQ"),
    ("SQM", "MTK"),
    ("CCM", "CMQ"),
];

/// The explicit code for "number of specimens"; a blank unit is stored as this.
pub const NUMBER_OF_SPECIMENS_CODE: &str = "NAR";

/// A validated unit code from `units.csv`, always in its current spelling.
#[derive(Clone, Copy)]
pub struct UnitCode(&'static CodeEntry);

/// What a unit measures. Only units of the same dimension convert into each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Number of specimens (blank unit or NAR).
    Count,
    /// Mass; base unit KGM.
    Mass,
    /// Volume, liquid or solid; base unit MTQ (1 LTR = 0.001 MTQ exactly).
    Volume,
    /// Length; base unit MTR.
    Length,
    /// Area; base unit MTK.
    Area,
    /// A container, item or partial-skin unit (BAG, BOX, PCS, PAI, SID, BSK, ...). Each such
    /// unit is its own dimension, named by its code: bags do not convert to boxes, and pairs or
    /// sides are not silently turned into specimens.
    Other(&'static str),
}

/// The physical meaning of a unit code: its dimension and its exact factor to the dimension's
/// base unit (`amount_in_base = amount * factor_to_base`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Unit {
    dimension: Dimension,
    factor_to_base: Decimal,
}

static UNITS: LazyLock<CodeList> = LazyLock::new(|| {
    CodeList::load(
        "unit code",
        "unit",
        "units.csv",
        include_str!("../../fixtures/codes/units.csv"),
    )
});

impl UnitCode {
    /// Parses a unit code (trimmed, any case) against `units.csv`.
    ///
    /// `""` and `"NAR"` give `NAR`; legacy `KIL`, `CUM`, `SQM`, `CCM` give `KGM`, `MTQ`, `MTK`,
    /// `CMQ`. The error names the field `"unit"` and lists the accepted codes.
    pub fn parse(s: &str) -> Result<UnitCode> {
        let trimmed = s.trim();
        let current = if trimmed.is_empty() {
            NUMBER_OF_SPECIMENS_CODE
        } else {
            LEGACY_UNIT_CODES
                .iter()
                .find(|(legacy, _)| legacy.eq_ignore_ascii_case(trimmed))
                .map_or(trimmed, |(_, current)| current)
        };
        UNITS
            .find(current)
            .map(UnitCode)
            .ok_or_else(|| UNITS.unknown(s))
    }

    /// `NAR`, number of specimens.
    pub fn number_of_specimens() -> UnitCode {
        UnitCode::parse(NUMBER_OF_SPECIMENS_CODE)
            .expect("invariant: units.csv has a NAR row (checked by tests)")
    }

    /// Every current unit code in CSV order: no blank row and no legacy spellings.
    pub fn all() -> impl Iterator<Item = UnitCode> {
        UNITS
            .entries
            .iter()
            .filter(|e| {
                !e.code().is_empty() && !LEGACY_UNIT_CODES.iter().any(|(l, _)| *l == e.code())
            })
            .map(UnitCode)
    }

    /// The current code, e.g. `"KGM"`.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// The English description from the CSV.
    pub fn description(self) -> &'static str {
        self.0.description()
    }

    /// The notes column from the CSV.
    pub fn notes(self) -> &'static str {
        self.0.notes()
    }

    /// The whole CSV row.
    pub fn entry(self) -> &'static CodeEntry {
        self.0
    }

    /// Dimension and conversion factor.
    pub fn unit(self) -> Unit {
        unit_of(self.code())
    }

    /// Shorthand for `self.unit().dimension()`.
    pub fn dimension(self) -> Dimension {
        self.unit().dimension
    }

    /// True for `NAR`, the number of specimens.
    pub fn is_count(self) -> bool {
        self.dimension() == Dimension::Count
    }
}

impl Unit {
    /// What the unit measures.
    pub fn dimension(self) -> Dimension {
        self.dimension
    }

    /// Exact factor to the dimension's base unit: 0.001 for GRM (base KGM), 1 for KGM.
    pub fn factor_to_base(self) -> Decimal {
        self.factor_to_base
    }
}

impl Dimension {
    /// Code of the unit every other unit of this dimension converts through.
    pub fn base_code(self) -> &'static str {
        match self {
            Dimension::Count => NUMBER_OF_SPECIMENS_CODE,
            Dimension::Mass => "KGM",
            Dimension::Volume => "MTQ",
            Dimension::Length => "MTR",
            Dimension::Area => "MTK",
            Dimension::Other(code) => code,
        }
    }
}

/// `m * 10^-scale` as a `Decimal`, usable in constants.
const fn dec(mantissa: u64, scale: u32) -> Decimal {
    // Splits the u64 into its low and high 32-bit halves; the truncating casts are the point.
    Decimal::from_parts(mantissa as u32, (mantissa >> 32) as u32, 0, false, scale)
}

/// Exact factors. Non-metric units use the international definitions (1959 yard and pound
/// agreement), which are exact decimals; Trade Plus uses rounded divisors (e.g. PND / 2.205),
/// which differ by less than 0.05 %.
fn unit_of(code: &'static str) -> Unit {
    let (dimension, factor_to_base) = match code {
        "" | "NAR" => (Dimension::Count, Decimal::ONE),
        "KGM" | "KIL" => (Dimension::Mass, Decimal::ONE),
        "GRM" => (Dimension::Mass, dec(1, 3)),
        "MGM" => (Dimension::Mass, dec(1, 6)),
        "MYG" => (Dimension::Mass, dec(1, 9)),
        "TON" => (Dimension::Mass, dec(1000, 0)),
        // 1 avoirdupois ounce = 28.349523125 g; 1 pound = 0.45359237 kg.
        "OUN" => (Dimension::Mass, dec(28_349_523_125, 12)),
        "PND" => (Dimension::Mass, dec(45_359_237, 8)),
        "MTQ" | "CUM" => (Dimension::Volume, Decimal::ONE),
        "CMQ" | "CCM" => (Dimension::Volume, dec(1, 6)),
        "LTR" => (Dimension::Volume, dec(1, 3)),
        "MLT" => (Dimension::Volume, dec(1, 6)),
        // 1 cubic foot = 0.3048^3 m3.
        "CUF" => (Dimension::Volume, dec(28_316_846_592, 12)),
        "MTR" => (Dimension::Length, Decimal::ONE),
        "CTM" => (Dimension::Length, dec(1, 2)),
        "INC" => (Dimension::Length, dec(254, 4)),
        "FEE" => (Dimension::Length, dec(3048, 4)),
        "YAR" => (Dimension::Length, dec(9144, 4)),
        "MTK" | "SQM" => (Dimension::Area, Decimal::ONE),
        "SQC" => (Dimension::Area, dec(1, 4)),
        "SQD" => (Dimension::Area, dec(1, 2)),
        // 1 square foot = 0.3048^2 m2.
        "SQF" => (Dimension::Area, dec(9_290_304, 8)),
        other => (Dimension::Other(other), Decimal::ONE),
    };
    Unit {
        dimension,
        factor_to_base,
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dimension::Count => f.write_str("count"),
            Dimension::Mass => f.write_str("mass"),
            Dimension::Volume => f.write_str("volume"),
            Dimension::Length => f.write_str("length"),
            Dimension::Area => f.write_str("area"),
            Dimension::Other(code) => write!(f, "counted in {code} only"),
        }
    }
}

impl fmt::Debug for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnitCode").field(&self.code()).finish()
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl PartialEq for UnitCode {
    fn eq(&self, other: &UnitCode) -> bool {
        self.code() == other.code()
    }
}

impl Eq for UnitCode {}

impl PartialOrd for UnitCode {
    fn partial_cmp(&self, other: &UnitCode) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for UnitCode {
    fn cmp(&self, other: &UnitCode) -> std::cmp::Ordering {
        self.code().cmp(other.code())
    }
}

impl std::hash::Hash for UnitCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl std::str::FromStr for UnitCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<UnitCode> {
        UnitCode::parse(s)
    }
}

impl Serialize for UnitCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for UnitCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<UnitCode, D::Error> {
        crate::serde_util::deserialize_parsed(deserializer, UnitCode::parse)
    }
}
