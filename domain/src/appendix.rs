//! CITES Appendices (I, II, III) and the Species+ listing change types (+, -, R+, R-).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

#[cfg(test)]
mod tests;

/// A CITES Appendix. Ordered by strictness of the listing: `I < II < III` follows the numbering,
/// so `min()` of two Appendices is the stricter one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Appendix {
    /// Species threatened with extinction (Art II(1)).
    I,
    /// Species that may become threatened, and look-alikes (Art II(2)).
    II,
    /// Species listed by one Party asking for help to control trade (Art II(3)).
    III,
}

/// A listing change type as published by Species+ (`change_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeType {
    /// `+`: inclusion in, or transfer to, an Appendix.
    Addition,
    /// `-`: deletion from an Appendix.
    Deletion,
    /// `R+`: a Party entered a reservation.
    ReservationEntered,
    /// `R-`: a Party withdrew a reservation.
    ReservationWithdrawn,
}

impl Appendix {
    /// All Appendices, in order.
    pub const ALL: [Appendix; 3] = [Appendix::I, Appendix::II, Appendix::III];

    /// Parses `"I"`, `"II"`, `"III"` (trimmed, any case) or `"1"`, `"2"`, `"3"`.
    ///
    /// The error names the field `"appendix"`; rename it with [`Error::for_field`].
    pub fn parse(s: &str) -> Result<Appendix> {
        match s.trim().to_ascii_uppercase().as_str() {
            "I" | "1" => Ok(Appendix::I),
            "II" | "2" => Ok(Appendix::II),
            "III" | "3" => Ok(Appendix::III),
            _ => Err(Error::invalid(
                "appendix",
                "appendix",
                s,
                "I, II, III (or 1, 2, 3)",
            )),
        }
    }

    /// The Roman numeral, `"I"`, `"II"` or `"III"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Appendix::I => "I",
            Appendix::II => "II",
            Appendix::III => "III",
        }
    }
}

impl ChangeType {
    /// All change types, in Species+ order.
    pub const ALL: [ChangeType; 4] = [
        ChangeType::Addition,
        ChangeType::Deletion,
        ChangeType::ReservationEntered,
        ChangeType::ReservationWithdrawn,
    ];

    /// Parses the Species+ symbols `"+"`, `"-"`, `"R+"`, `"R-"` (trimmed, any case).
    ///
    /// The SAPI database names (`ADDITION`, `DELETION`, `RESERVATION`,
    /// `RESERVATION_WITHDRAWAL`) are accepted too, because Species+ exports use both.
    /// The error names the field `"change_type"`.
    pub fn parse(s: &str) -> Result<ChangeType> {
        match s.trim().to_ascii_uppercase().as_str() {
            "+" | "ADDITION" => Ok(ChangeType::Addition),
            "-" | "DELETION" => Ok(ChangeType::Deletion),
            "R+" | "RESERVATION" => Ok(ChangeType::ReservationEntered),
            "R-" | "RESERVATION_WITHDRAWAL" => Ok(ChangeType::ReservationWithdrawn),
            _ => Err(Error::invalid(
                "change type",
                "change_type",
                s,
                "+, -, R+, R-",
            )),
        }
    }

    /// The Species+ symbol: `"+"`, `"-"`, `"R+"` or `"R-"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Addition => "+",
            ChangeType::Deletion => "-",
            ChangeType::ReservationEntered => "R+",
            ChangeType::ReservationWithdrawn => "R-",
        }
    }

    /// True for `R+` and `R-`.
    pub fn is_reservation(self) -> bool {
        matches!(
            self,
            ChangeType::ReservationEntered | ChangeType::ReservationWithdrawn
        )
    }
}

impl fmt::Display for Appendix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ChangeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Appendix {
    type Err = Error;

    fn from_str(s: &str) -> Result<Appendix> {
        Appendix::parse(s)
    }
}

impl std::str::FromStr for ChangeType {
    type Err = Error;

    fn from_str(s: &str) -> Result<ChangeType> {
        ChangeType::parse(s)
    }
}

impl Serialize for Appendix {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Appendix {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Appendix, D::Error> {
        crate::serde_util::deserialize_parsed(deserializer, Appendix::parse)
    }
}

impl Serialize for ChangeType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ChangeType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ChangeType, D::Error> {
        crate::serde_util::deserialize_parsed(deserializer, ChangeType::parse)
    }
}
