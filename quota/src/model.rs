//! The ledger's vocabulary: quotas, reservations, outcomes, audit entries.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Who asks, and why: recorded with every ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The API key's name (or the CLI user).
    pub name: String,
    pub reason: Option<String>,
}

/// Longest actor name accepted (an API key's name, or the CLI user).
pub const ACTOR_NAME_CHARS_MAX: usize = 200;
/// Longest reason accepted: one line of the audit ledger.
pub const REASON_CHARS_MAX: usize = 2_000;
/// Longest quota notes accepted.
pub const NOTES_CHARS_MAX: usize = 10_000;

impl Actor {
    /// Checks what the audit ledger will record: a name, and a reason that fits one line of
    /// it. Control characters would break the history's lines, and PostgreSQL refuses NUL
    /// (SQLite would store it: the backends would answer differently).
    pub fn check(&self) -> crate::Result<()> {
        check_actor_name(&self.name)?;
        if let Some(reason) = &self.reason
            && (reason.chars().count() > REASON_CHARS_MAX || reason.chars().any(char::is_control))
        {
            return Err(crate::Error::Invalid {
                field: "reason",
                message: format!(
                    "accepted up to {REASON_CHARS_MAX} printable characters on one line (no line breaks or control characters)"
                ),
            });
        }
        Ok(())
    }
}

/// Checks an actor's name: 1 to [`ACTOR_NAME_CHARS_MAX`] characters once trimmed, none of them a
/// control character.
fn check_actor_name(name: &str) -> crate::Result<()> {
    let trimmed = name.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > ACTOR_NAME_CHARS_MAX
        || trimmed.chars().any(char::is_control)
    {
        return Err(crate::Error::Invalid {
            field: "actor",
            message: format!(
                "{name:?} is not a name to record: accepted 1 to {ACTOR_NAME_CHARS_MAX} printable characters"
            ),
        });
    }
    Ok(())
}

/// Checks a quota's notes: any text but NUL, which PostgreSQL cannot store.
pub(crate) fn check_notes(notes: Option<&str>) -> crate::Result<()> {
    match notes {
        Some(n) if n.chars().count() > NOTES_CHARS_MAX || n.contains('\0') => {
            Err(crate::Error::Invalid {
                field: "notes",
                message: format!("accepted up to {NOTES_CHARS_MAX} characters, none of them NUL"),
            })
        }
        _ => Ok(()),
    }
}

/// Refuses a fraction of a specimen: a quantity counted in specimens (`NAR`, or blank) is a
/// whole number.
pub(crate) fn check_whole(field: &'static str, quantity: &domain::Quantity) -> crate::Result<()> {
    if quantity.unit().is_count() && !quantity.amount().fract().is_zero() {
        return Err(crate::Error::Invalid {
            field,
            message: format!(
                "{} is not a whole number of specimens; accepted a whole number for a count ({})",
                quantity.amount(),
                quantity.unit().code()
            ),
        });
    }
    Ok(())
}

/// A client's idempotency key: the same key is the same request.
///
/// A key a caller sends is the caller's own ([`ClientKey::of_caller`]): two callers that happen
/// to pick the same key make two requests. The ledger stores it as the caller's name, a unit
/// separator (U+001F) and the key; neither part can hold that character (both refuse control
/// characters), so a scoped key never equals another caller's, nor an unscoped one
/// ([`ClientKey::parse`]), which the system's own requests use (an import is the same request
/// whoever runs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    /// As the ledger stores it.
    stored: String,
    /// Where the key as the client sent it starts in `stored`.
    client_start: usize,
}

/// Longest client key accepted (the client's part of it: a caller's name comes on top).
pub const CLIENT_KEY_CHARS_MAX: usize = 200;

/// Between a caller's name and its key in a scoped key.
const CALLER_SEPARATOR: char = '\u{1f}';

impl ClientKey {
    /// A key of no caller's: for the system's own requests (the importer's).
    pub fn parse(text: &str) -> crate::Result<ClientKey> {
        let t = text.trim();
        if t.is_empty()
            || t.chars().count() > CLIENT_KEY_CHARS_MAX
            || t.chars().any(char::is_control)
        {
            return Err(crate::Error::Invalid {
                field: "client_key",
                message: format!(
                    "{t:?} is not a client key: accepted 1 to {CLIENT_KEY_CHARS_MAX} printable characters, unique per request"
                ),
            });
        }
        Ok(ClientKey {
            stored: t.to_owned(),
            client_start: 0,
        })
    }

    /// `key` as `caller` sent it, in `caller`'s own namespace: checked as [`ClientKey::parse`]
    /// checks it; `caller` (an API key's name, or the actor the command line records) as the
    /// audit ledger checks an actor's name. The caller's name is trimmed as the key is, which
    /// bounds the stored key (U+001F is no whitespace: trimming never takes it off a name).
    pub fn of_caller(caller: &str, key: &str) -> crate::Result<ClientKey> {
        let key = ClientKey::parse(key)?;
        check_actor_name(caller)?;
        let stored = format!("{}{CALLER_SEPARATOR}{}", caller.trim(), key.stored);
        Ok(ClientKey {
            client_start: stored.len() - key.stored.len(),
            stored,
        })
    }

    /// The key as the ledger stores it (scoped to its caller, if it has one).
    pub fn as_str(&self) -> &str {
        &self.stored
    }

    /// The key as the client sent it, for answers and messages: a caller is never shown the
    /// stored form.
    pub fn client_part(&self) -> &str {
        &self.stored[self.client_start..]
    }
}

/// A quota to declare.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSpec {
    pub exporter: domain::CountryCode,
    pub taxon_id: domain::TaxonId,
    pub period: domain::Period,
    /// `None`: "in preparation" (Species+ shows no value yet); nothing can be reserved.
    pub limit: Option<domain::Quantity>,
    /// The unit when `limit` is `None`.
    pub unit: domain::UnitCode,
    pub term: Option<domain::TermCode>,
    pub source: Option<domain::SourceCode>,
    pub purpose: Option<domain::PurposeCode>,
    pub notes: Option<String>,
    /// The Species+ quota id when imported from the catalogue.
    pub speciesplus_id: Option<i64>,
}

/// The last day of a period whose end (exclusive) is `period_end`.
pub(crate) fn last_day(period_end: NaiveDate) -> NaiveDate {
    period_end.pred_opt().unwrap_or(period_end)
}

/// A quota and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredQuotaView")]
pub struct QuotaView {
    pub id: i64,
    pub exporter: String,
    pub taxon_id: i64,
    pub period_start: NaiveDate,
    /// Exclusive.
    pub period_end: NaiveDate,
    /// The period's last day: what a declaration gives as `period_last_day` (always the day
    /// before `period_end`).
    pub period_last_day: NaiveDate,
    pub unit: String,
    /// `None` while in preparation.
    #[serde(with = "decimal_str_or_null")]
    pub limit: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub held: Decimal,
    /// Committed to permits and not yet exported.
    #[serde(with = "rust_decimal::serde::str")]
    pub committed: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub exported: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub available: Decimal,
    /// Box 11a of the permit: the quantity already used this period (committed + exported)
    /// against the quota.
    #[serde(with = "rust_decimal::serde::str")]
    pub box_11a_used: Decimal,
    pub term: Option<String>,
    pub source: Option<String>,
    pub purpose: Option<String>,
    pub origin: String,
    pub speciesplus_id: Option<i64>,
    pub notes: Option<String>,
}

/// [`QuotaView`] as answers stored before it had `period_last_day` hold it (the day is read
/// from `period_end`, so every stored answer replays with it).
#[derive(Deserialize)]
struct StoredQuotaView {
    id: i64,
    exporter: String,
    taxon_id: i64,
    period_start: NaiveDate,
    period_end: NaiveDate,
    unit: String,
    #[serde(with = "decimal_str_or_null")]
    limit: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    held: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    committed: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    exported: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    available: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    box_11a_used: Decimal,
    term: Option<String>,
    source: Option<String>,
    purpose: Option<String>,
    origin: String,
    speciesplus_id: Option<i64>,
    notes: Option<String>,
}

impl From<StoredQuotaView> for QuotaView {
    fn from(q: StoredQuotaView) -> QuotaView {
        QuotaView {
            period_last_day: last_day(q.period_end),
            id: q.id,
            exporter: q.exporter,
            taxon_id: q.taxon_id,
            period_start: q.period_start,
            period_end: q.period_end,
            unit: q.unit,
            limit: q.limit,
            held: q.held,
            committed: q.committed,
            exported: q.exported,
            available: q.available,
            box_11a_used: q.box_11a_used,
            term: q.term,
            source: q.source,
            purpose: q.purpose,
            origin: q.origin,
            speciesplus_id: q.speciesplus_id,
            notes: q.notes,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationState {
    Held,
    Committed,
    Released,
    Expired,
    Rejected,
    Closed,
}

impl ReservationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationState::Held => "held",
            ReservationState::Committed => "committed",
            ReservationState::Released => "released",
            ReservationState::Expired => "expired",
            ReservationState::Rejected => "rejected",
            ReservationState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ReservationState> {
        [
            ReservationState::Held,
            ReservationState::Committed,
            ReservationState::Released,
            ReservationState::Expired,
            ReservationState::Rejected,
            ReservationState::Closed,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A reservation and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationView {
    pub id: i64,
    pub quota_id: i64,
    pub state: ReservationState,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub committed: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub exported: Decimal,
    pub unit: String,
    pub expires_at: DateTime<Utc>,
    pub permit_expires_at: Option<DateTime<Utc>>,
    pub reject_reason: Option<String>,
}

/// Why an operation was refused: an expected outcome, not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// Not enough quota left.
    QuotaExhausted {
        #[serde(with = "rust_decimal::serde::str")]
        requested: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        available: Decimal,
        /// The quota's unit, which both figures are in (a request in another unit was
        /// converted); absent from answers stored before it was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// A zero quota: no export allowed.
    ZeroQuota,
    /// Species+ shows the quota "in preparation".
    QuotaInPreparation,
    /// The day of the request (UTC) is outside the quota's period: a permit counts against
    /// the quota of the 12 months it is issued in (not the months it is used in).
    OutsidePeriod {
        period_start: NaiveDate,
        period_last_day: NaiveDate,
    },
    /// The hold expired before the commit.
    ReservationExpired { expired_at: DateTime<Utc> },
    /// The permit's validity ended: an expired document is void and exports nothing
    /// (Res. Conf. 12.3), even before the sweeper closes it.
    PermitExpired { expired_at: DateTime<Utc> },
    /// The reservation is not in a state that allows this.
    WrongState {
        state: ReservationState,
        expected: ReservationState,
    },
    /// More than held (commit) or committed-and-not-exported (export).
    ExceedsReservation {
        #[serde(with = "rust_decimal::serde::str")]
        requested: Decimal,
        #[serde(with = "rust_decimal::serde::str")]
        allowed: Decimal,
        /// As [`Refusal::QuotaExhausted`]'s.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::QuotaExhausted {
                requested,
                available,
                unit,
            } => {
                let u = in_unit(unit);
                format!("not enough quota: {requested}{u} requested, {available}{u} available")
            }
            Refusal::ZeroQuota => "the quota is zero: no export is allowed".into(),
            Refusal::QuotaInPreparation => {
                "the quota is in preparation: nothing can be reserved yet".into()
            }
            Refusal::OutsidePeriod {
                period_start,
                period_last_day,
            } => format!(
                "the quota covers {period_start} to {period_last_day}: today is outside it, so permits issued now count against another quota"
            ),
            Refusal::ReservationExpired { expired_at } => {
                format!("the reservation expired at {expired_at}")
            }
            Refusal::PermitExpired { expired_at } => {
                format!("the permit expired at {expired_at}: it is void and exports nothing")
            }
            Refusal::WrongState { state, expected } => format!(
                "the reservation is {}, not {}",
                state.as_str(),
                expected.as_str()
            ),
            Refusal::ExceedsReservation {
                requested,
                allowed,
                unit,
            } => {
                let u = in_unit(unit);
                format!("{requested}{u} requested, at most {allowed}{u} allowed")
            }
        }
    }
}

/// " KGM" after a figure in a refusal's message (nothing when the refusal carries no unit).
fn in_unit(unit: &Option<String>) -> String {
    unit.as_deref()
        .map_or_else(String::new, |u| format!(" {u}"))
}

/// The outcome of a ledger operation, stored with its client key and returned again on replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Done {
        reservation: ReservationView,
        quota: QuotaView,
    },
    Refused {
        refusal: Refusal,
        reservation: Option<ReservationView>,
        quota: QuotaView,
    },
}

impl Outcome {
    pub fn quota(&self) -> &QuotaView {
        match self {
            Outcome::Done { quota, .. } | Outcome::Refused { quota, .. } => quota,
        }
    }

    pub fn reservation(&self) -> Option<&ReservationView> {
        match self {
            Outcome::Done { reservation, .. } => Some(reservation),
            Outcome::Refused { reservation, .. } => reservation.as_ref(),
        }
    }
}

/// The outcome of a reservation holding several quotas ([`crate::Ledger::reserve_linked`]),
/// stored with its client key and returned again on replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LinkedOutcome {
    /// Every quota holds the quantity: one reservation per quota, and each quota just after its
    /// hold (its box 11a figures), both in quota id order.
    Done {
        reservations: Vec<ReservationView>,
        quotas: Vec<QuotaView>,
    },
    /// Refused whole: quota `quota_id` could not hold it (`refusal`, with its figures), and
    /// nothing is held anywhere. `reservation` is the rejected reservation that quota keeps of
    /// the demand it turned away; `quotas` stand as they were, in quota id order.
    Refused {
        quota_id: i64,
        refusal: Refusal,
        reservation: Option<ReservationView>,
        quotas: Vec<QuotaView>,
    },
}

/// One entry of the audit ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub seq: i64,
    pub quota_id: i64,
    pub reservation_id: Option<i64>,
    pub event: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub delta_held: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub delta_committed: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub delta_exported: Decimal,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// The quota's limit when the entry was written (`None`: in preparation).
    #[serde(with = "decimal_str_or_null")]
    pub limit: Option<Decimal>,
    /// The quota's counters just after this entry: the running sums of the deltas up to it,
    /// so that each page of a history shows where the quota stood.
    #[serde(with = "rust_decimal::serde::str")]
    pub held_after: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub committed_after: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub exported_after: Decimal,
    /// For a refusal (`reject`, `commit_refused`, `release_refused`, `export_refused`,
    /// `close_refused`), the quantity asked (in the quota's unit; none when none was given: a
    /// release, a close, a commit of the whole hold) and why it was refused: a refusal changes
    /// no counter, but a Scientific Authority
    /// reviewing a quota's use needs the demand it turned away, and an enforcement officer the
    /// attempts to export more than a permit allows.
    #[serde(with = "decimal_str_or_null")]
    pub requested: Option<Decimal>,
    pub refusal_message: Option<String>,
}

/// One page of a quota's audit ledger, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub quota_id: i64,
    /// Named `history` in JSON, as `GET /v1/quotas/{id}/history` answers.
    #[serde(rename = "history")]
    pub entries: Vec<LedgerEntry>,
    /// The `after` that asks for the next page; `None` when this page reached the end. Entries
    /// become visible in sequence order, so a reader paging by it never misses one.
    pub next_after: Option<i64>,
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Holds past their expiry, returned to their quotas.
    pub expired: u64,
    /// Permits past their validity, unexported quantities returned.
    pub closed: u64,
}

/// An optional decimal as a JSON string or null, as `rust_decimal::serde::str_option` writes
/// it. Read through `Option<String>`: inside an internally tagged enum (a stored [`Outcome`])
/// serde buffers the value first, and `str_option` then refuses the null of a quota in
/// preparation, so a stored refusal on such a quota could not be replayed.
mod decimal_str_or_null {
    use rust_decimal::Decimal;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        rust_decimal::serde::str_option::serialize(value, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| text.parse::<Decimal>().map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_s_key_is_refused_as_parse_refuses_it_with_the_same_message() {
        let too_long = "k".repeat(CLIENT_KEY_CHARS_MAX + 1);
        for bad in [
            "",
            "   ",
            "a\u{1f}b",
            "line\nbreak",
            "nul\0",
            too_long.as_str(),
        ] {
            let parsed = ClientKey::parse(bad).unwrap_err();
            let scoped = ClientKey::of_caller("north", bad).unwrap_err();
            assert_eq!(scoped.field(), Some("client_key"), "{bad:?}");
            assert_eq!(scoped.to_string(), parsed.to_string(), "{bad:?}");
        }
        let longest = "k".repeat(CLIENT_KEY_CHARS_MAX);
        let key = ClientKey::of_caller("north", &longest).unwrap();
        assert_eq!(key.client_part(), longest);
    }

    #[test]
    fn a_caller_whose_name_could_not_be_recorded_is_refused() {
        let too_long = "n".repeat(ACTOR_NAME_CHARS_MAX + 1);
        for bad in [
            "",
            " ",
            "nor\u{1f}th",
            "north\u{1f}",
            "\u{1f}north",
            "no\nrth",
            too_long.as_str(),
        ] {
            let e = ClientKey::of_caller(bad, "k").unwrap_err();
            assert_eq!(e.field(), Some("actor"), "{bad:?}");
        }
    }

    #[test]
    fn two_callers_keys_differ_and_each_shows_the_key_as_sent() {
        let north = ClientKey::of_caller("north", " permit-2026-0001 ").unwrap();
        let south = ClientKey::of_caller("south", "permit-2026-0001").unwrap();
        assert_ne!(north, south);
        assert_ne!(north.as_str(), south.as_str());
        assert_eq!(north.client_part(), "permit-2026-0001");
        assert_eq!(south.client_part(), "permit-2026-0001");
        assert_eq!(
            ClientKey::of_caller("north", "permit-2026-0001").unwrap(),
            north
        );
        assert_eq!(
            ClientKey::of_caller(" north ", "permit-2026-0001").unwrap(),
            north,
            "a name is trimmed as a key is"
        );
        // Where the caller ends and the key begins is never ambiguous.
        assert_ne!(
            ClientKey::of_caller("a b", "c").unwrap().as_str(),
            ClientKey::of_caller("a", "b c").unwrap().as_str()
        );
    }

    #[test]
    fn a_scoped_key_never_equals_an_unscoped_one() {
        let unscoped = ClientKey::parse("speciesplus-42").unwrap();
        assert_eq!(unscoped.client_part(), unscoped.as_str());
        for (caller, key) in [
            ("speciesplus", "42"),
            ("speciesplus-", "42"),
            ("s", "peciesplus-42"),
        ] {
            let scoped = ClientKey::of_caller(caller, key).unwrap();
            assert_ne!(scoped.as_str(), unscoped.as_str(), "{caller:?} {key:?}");
            // Nor any key parse accepts: the stored form holds a character parse refuses.
            assert!(
                ClientKey::parse(scoped.as_str()).is_err(),
                "{caller:?} {key:?}"
            );
        }
    }
}
