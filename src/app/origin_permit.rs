//! A re-export permit check against the register: when the origin permit it names (box 12)
//! is a document the register holds, the check decides on the register's word rather than
//! the client's. Its status becomes `Facts::origin_permit_status` (cancelled, lost or expired
//! fail closed), and its remaining balance replaces the `quantity_remaining` the client gave:
//! the quantity actually exported under it once endorsed (the quantity permitted until then),
//! minus what re-exports recorded in the register under it used. A balance the register
//! cannot establish exactly (a re-export in a unit that does not convert) is given as
//! unknown, which the rules send to review. An origin permit the register does not hold
//! keeps the client's claim, as before.

use domain::{CountryCode, Quantity, UnitCode};
use rules::{ApplicationInput, PriorDocumentStatus, Transaction};
use rust_decimal::Decimal;
use serde_json::json;
use trace::{DocType, DocumentKey, DocumentView, Reexported, Register};

/// What the register said about the origin permit, as filled into the check.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginPermitFacts {
    pub status: PriorDocumentStatus,
    /// The balance in the document's unit; `None`: it could not be established.
    pub remaining: Option<Quantity>,
}

/// Looks up the origin permit of a re-export `input` in the register and fills in what it
/// says (the balance into `input`); `None`, with `input` untouched, for any other check or
/// an origin permit the register does not hold.
pub async fn fill(
    register: &Register,
    input: &mut ApplicationInput,
) -> Result<Option<OriginPermitFacts>, trace::Error> {
    let re_export = input
        .transaction
        .as_deref()
        .and_then(|t| Transaction::parse(t).ok())
        == Some(Transaction::ReExport);
    let Some(origin) = input.documents.origin_permit.as_mut().filter(|_| re_export) else {
        return Ok(None);
    };
    let (Some(number), Some(country)) = (origin.number.as_deref(), origin.country.as_deref())
    else {
        return Ok(None);
    };
    let Ok(country) = CountryCode::parse(country.trim()) else {
        return Ok(None);
    };
    let key = DocumentKey {
        country,
        doc_type: DocType::ExportPermit,
        number: number.trim().to_owned(),
    };
    let Some(document) = register.document(&key).await? else {
        return Ok(None);
    };
    let reexported = register.reexported_under(&key).await?;
    let facts = facts(&document, &reexported);
    match &facts.remaining {
        Some(q) => {
            origin.quantity_remaining = Some(json!(q.amount().normalize().to_string()));
            origin.unit = Some(q.unit().code().to_owned());
        }
        None => {
            origin.quantity_remaining = None;
            origin.unit = None;
        }
    }
    Ok(Some(facts))
}

/// The status and balance of a document the register holds, given the re-exports under it.
pub fn facts(document: &DocumentView, reexported: &[Reexported]) -> OriginPermitFacts {
    let status = match document.status.as_str() {
        "issued" | "used" => PriorDocumentStatus::Valid,
        "cancelled" | "lost" => PriorDocumentStatus::Cancelled,
        // Expired unused, or a status this reading does not know: not valid.
        _ => PriorDocumentStatus::Invalid,
    };
    OriginPermitFacts {
        status,
        remaining: balance(document, reexported),
    }
}

/// What remains under the document: the quantity exported (endorsed), or permitted while
/// nothing is endorsed, minus every re-export converted exactly into the document's unit;
/// never below zero. `None` when the document gives no quantity or a re-export cannot be
/// converted.
fn balance(document: &DocumentView, reexported: &[Reexported]) -> Option<Quantity> {
    let unit = UnitCode::parse(document.unit.as_deref()?).ok()?;
    let base = document.actual.or(document.permitted)?;
    let mut used = Decimal::ZERO;
    for r in reexported {
        let q = Quantity::new(r.quantity, UnitCode::parse(&r.unit).ok()?).ok()?;
        used += q.convert_to(unit).ok()?.amount();
    }
    Quantity::new((base - used).max(Decimal::ZERO), unit).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn document(status: &str, unit: &str, permitted: i64, actual: Option<i64>) -> DocumentView {
        DocumentView {
            country: "BR".into(),
            doc_type: "export_permit".into(),
            number: "P-1".into(),
            revision: 1,
            status: status.into(),
            issued_on: None,
            valid_from: None,
            valid_until: None,
            taxon: None,
            unit: Some(unit.into()),
            permitted: Some(Decimal::from(permitted)),
            actual: actual.map(Decimal::from),
            issuer: None,
            events: Vec::new(),
        }
    }

    fn reexport(quantity: &str, unit: &str) -> Reexported {
        Reexported {
            event: "ev".into(),
            specimen: "s".into(),
            quantity: quantity.parse().unwrap(),
            unit: unit.into(),
        }
    }

    fn remaining(f: &OriginPermitFacts) -> Option<String> {
        f.remaining
            .map(|q| format!("{} {}", q.amount().normalize(), q.unit().code()))
    }

    #[test]
    fn the_balance_is_what_was_exported_less_what_was_re_exported() {
        let d = document("used", "KGM", 10, Some(8));
        let f = facts(&d, &[reexport("2.5", "KGM"), reexport("500", "GRM")]);
        assert_eq!(f.status, PriorDocumentStatus::Valid);
        assert_eq!(remaining(&f).as_deref(), Some("5 KGM"));
        // Nothing endorsed yet: the quantity permitted.
        let f = facts(&document("issued", "KGM", 10, None), &[]);
        assert_eq!(remaining(&f).as_deref(), Some("10 KGM"));
        // More re-exported than exported: nothing remains, never less.
        let f = facts(&d, &[reexport("9", "KGM")]);
        assert_eq!(remaining(&f).as_deref(), Some("0 KGM"));
    }

    #[test]
    fn a_balance_that_cannot_be_converted_is_unknown() {
        let f = facts(
            &document("issued", "KGM", 10, None),
            &[reexport("3", "NAR")],
        );
        assert_eq!(f.remaining, None);
    }

    #[test]
    fn cancelled_lost_and_expired_permits_are_not_valid() {
        for (status, expected) in [
            ("cancelled", PriorDocumentStatus::Cancelled),
            ("lost", PriorDocumentStatus::Cancelled),
            ("expired", PriorDocumentStatus::Invalid),
            ("issued", PriorDocumentStatus::Valid),
        ] {
            assert_eq!(
                facts(&document(status, "NAR", 1, None), &[]).status,
                expected
            );
        }
    }
}
