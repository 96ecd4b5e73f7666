//! The pure part of the engine's permits in the register: a permit number as a commit gives
//! it, the number the engine gives a permit committed without one, and a committed
//! reservation as the permit document the register keeps (status, quantities, validity).

use chrono::{DateTime, Utc};
use quota::{IssuedPermit, ReservationState};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use trace::{DOCUMENT_NUMBER_CHARS_MAX, DocStatus, DocumentView};

use super::PermitError;

/// The prefix of the numbers the engine gives a permit committed without one (`ENGINE-` and
/// the reservation id); a number given with a commit may not take it, so the two never meet.
pub const ASSIGNED_NUMBER_PREFIX: &str = "ENGINE-";

/// The characters a permit number may hold besides ASCII letters and digits: the separators
/// national numbering schemes use (`2026/ZA/000123`, `26-ZA-0001`, `ZA.26.0001`).
const NUMBER_SEPARATORS: &[char] = &['-', '/', '.', '_'];

/// A permit number as a commit names it (box 1 of the standard form): 1 to 35 letters,
/// digits and separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitNumber(String);

impl PermitNumber {
    /// Reads `text` as it is (no blank anywhere); the error names `permit_number` and what is
    /// accepted.
    pub fn parse(text: &str) -> Result<PermitNumber, PermitError> {
        let t = text;
        let accepted = format!(
            "accepted 1 to {DOCUMENT_NUMBER_CHARS_MAX} ASCII letters, digits and the separators \
             - / . _, not starting with {ASSIGNED_NUMBER_PREFIX} (the engine's own numbers)"
        );
        let well_formed = !t.is_empty()
            && t.chars().count() <= DOCUMENT_NUMBER_CHARS_MAX
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || NUMBER_SEPARATORS.contains(&c));
        let assigned = t
            .get(..ASSIGNED_NUMBER_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(ASSIGNED_NUMBER_PREFIX));
        if !well_formed || assigned {
            return Err(PermitError::Invalid {
                field: "permit_number",
                message: format!("invalid permit_number {text:?}: {accepted}"),
            });
        }
        Ok(PermitNumber(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The number the engine gives the permit of reservation `id` when its commit named none.
pub fn assigned_number(id: i64) -> String {
    format!("{ASSIGNED_NUMBER_PREFIX}{id}")
}

/// Where the permit stands, in the register's words: issued while committed; once closed,
/// used when something was exported under it, and otherwise expired (its validity ran out)
/// or cancelled (closed unused before its validity ended).
pub fn permit_status(p: &IssuedPermit) -> DocStatus {
    let r = &p.reservation;
    match r.state {
        ReservationState::Committed => DocStatus::Issued,
        _ if r.exported > Decimal::ZERO => DocStatus::Used,
        _ => match (p.closed_at, r.permit_expires_at) {
            (Some(closed), Some(until)) if closed < until => DocStatus::Cancelled,
            _ => DocStatus::Expired,
        },
    }
}

/// The last day of a validity that ends at the instant `until` (exclusive).
fn last_day(until: DateTime<Utc>) -> chrono::NaiveDate {
    (until - chrono::Duration::microseconds(1)).date_naive()
}

/// The agent that issues the engine's permits of `country`: its Management Authority.
pub fn issuer_key(country: &str) -> String {
    format!("engine:management-authority:{country}")
}

/// The permit as a batch of the register's own JSON: the issuing authority and the document
/// (export permit of `country` numbered `number`), its quantity permitted and, once exports
/// are endorsed, the quantity actually exported, both exact in the quota's unit.
pub fn permit_batch(p: &IssuedPermit, country: &str, number: &str) -> Value {
    let r = &p.reservation;
    let unit = domain::UnitCode::parse(&r.unit)
        .map(|u| u.code())
        .unwrap_or(domain::NUMBER_OF_SPECIMENS_CODE);
    let quantity = |d: Decimal| json!({"amount": d.normalize().to_string(), "unit": unit});
    let issued_on = p.committed_at.map(|at| at.date_naive().to_string());
    let mut document = json!({
        "country": country, "type": "export_permit", "number": number,
        "status": permit_status(p).as_str(), "taxon": p.taxon_id.to_string(),
        "permitted": quantity(r.committed), "issuer": issuer_key(country),
    });
    if let Some(on) = &issued_on {
        document["issued_on"] = json!(on);
        document["valid_from"] = json!(on);
    }
    if let Some(until) = r.permit_expires_at {
        document["valid_until"] = json!(last_day(until).to_string());
    }
    if r.exported > Decimal::ZERO {
        document["actual"] = quantity(r.exported);
    }
    json!({
        "agents": [{"key": issuer_key(country), "kind": "authority",
            "name": format!("CITES Management Authority of {country}"), "country": country}],
        "documents": [document],
    })
}

/// How far a document has gone: a permit's status only moves on (issued, then used, expired
/// or cancelled) and its exported quantity only grows.
fn rank(status: &str) -> u8 {
    match status {
        "issued" => 0,
        _ => 1,
    }
}

/// Whether `next` (the batch of [`permit_batch`]: the document as the ledger has it now) is
/// news after `latest` (the register's): different, and not behind it (a writer that read the ledger before a later
/// writer must not put an older state on top).
pub fn is_news(latest: Option<&DocumentView>, next: &Value) -> bool {
    let Some(latest) = latest else {
        return true;
    };
    let next = &next["documents"][0];
    let status = next["status"].as_str().unwrap_or_default();
    let actual = next["actual"]["amount"]
        .as_str()
        .and_then(|a| a.parse::<Decimal>().ok())
        .unwrap_or(Decimal::ZERO);
    let latest_actual = latest.actual.unwrap_or(Decimal::ZERO);
    let behind = rank(status) < rank(&latest.status) || actual < latest_actual;
    let same = latest.status == status
        && actual == latest_actual
        && latest
            .permitted
            .map(|d| d.normalize().to_string())
            .as_deref()
            == next["permitted"]["amount"].as_str()
        && latest.valid_until.map(|d| d.to_string()).as_deref() == next["valid_until"].as_str();
    !behind && !same
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;
    use quota::ReservationView;

    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap()
    }

    fn permit(state: ReservationState, exported: i64, closed: Option<u32>) -> IssuedPermit {
        IssuedPermit {
            reservation: ReservationView {
                id: 7,
                quota_id: 1,
                state,
                quantity: Decimal::from(10),
                committed: Decimal::from(10),
                exported: Decimal::from(exported),
                unit: String::new(),
                expires_at: at(20),
                permit_expires_at: Some(at(28)),
                reject_reason: None,
            },
            exporter: "BR".into(),
            taxon_id: 3210,
            committed_at: Some(at(2)),
            closed_at: closed.map(at),
        }
    }

    #[test]
    fn a_number_is_letters_digits_and_separators_and_never_the_engines_own() {
        assert_eq!(
            PermitNumber::parse("2026/BR-0042").unwrap().as_str(),
            "2026/BR-0042"
        );
        for bad in [
            "",
            "  ",
            " P1",
            "26 BR 1",
            "ENGINE-12",
            "engine-x",
            "a\u{0}b",
            &"9".repeat(36),
        ] {
            match PermitNumber::parse(bad) {
                Err(PermitError::Invalid { field, message }) => {
                    assert_eq!(field, "permit_number");
                    assert!(message.contains("accepted 1 to 35"), "{message}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert_eq!(assigned_number(12), "ENGINE-12");
    }

    #[test]
    fn a_permit_is_issued_then_used_expired_or_cancelled() {
        use ReservationState::{Closed, Committed};
        assert_eq!(
            permit_status(&permit(Committed, 4, None)),
            DocStatus::Issued
        );
        assert_eq!(permit_status(&permit(Closed, 4, Some(5))), DocStatus::Used);
        assert_eq!(
            permit_status(&permit(Closed, 0, Some(28))),
            DocStatus::Expired
        );
        assert_eq!(
            permit_status(&permit(Closed, 0, Some(5))),
            DocStatus::Cancelled
        );
    }

    #[test]
    fn the_document_carries_exact_quantities_and_its_validity() {
        let b = permit_batch(&permit(ReservationState::Committed, 4, None), "BR", "P-1");
        let d = &b["documents"][0];
        assert_eq!(
            (&d["status"], &d["permitted"], &d["actual"]),
            (
                &json!("issued"),
                &json!({"amount": "10", "unit": "NAR"}),
                &json!({"amount": "4", "unit": "NAR"})
            )
        );
        assert_eq!(
            (&d["issued_on"], &d["valid_until"]),
            (&json!("2026-11-02"), &json!("2026-11-27"))
        );
        assert_eq!(d["issuer"], json!("engine:management-authority:BR"));
        trace::parse_batch(&b).unwrap();
    }

    #[test]
    fn only_a_newer_state_is_news() {
        let issued = permit_batch(&permit(ReservationState::Committed, 0, None), "BR", "P-1");
        let exported = permit_batch(&permit(ReservationState::Committed, 4, None), "BR", "P-1");
        let view = |status: &str, actual: Option<i64>| DocumentView {
            country: "BR".into(),
            doc_type: "export_permit".into(),
            number: "P-1".into(),
            revision: 1,
            status: status.into(),
            issued_on: None,
            valid_from: None,
            valid_until: chrono::NaiveDate::from_ymd_opt(2026, 11, 27),
            taxon: Some(3210),
            unit: Some("NAR".into()),
            permitted: Some(Decimal::from(10)),
            actual: actual.map(Decimal::from),
            issuer: None,
            events: Vec::new(),
        };
        assert!(is_news(None, &issued));
        assert!(!is_news(Some(&view("issued", None)), &issued));
        assert!(is_news(Some(&view("issued", None)), &exported));
        assert!(!is_news(Some(&view("issued", Some(4))), &issued), "behind");
        assert!(!is_news(Some(&view("used", Some(4))), &exported), "behind");
    }
}
