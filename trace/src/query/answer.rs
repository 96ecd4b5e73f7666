//! [`super::sql::trace`]'s answer read into rows, one reader per backend: SQLite gives each
//! part as JSON text (its rows borrowed from the text where they can be), PostgreSQL each
//! part's columns as arrays in its binary format (no JSON on either side: building it was a
//! third of PostgreSQL's time for a large trace).

use std::borrow::Cow;

use chrono::NaiveDate;
use domain::Timestamp;
use serde::Deserialize;
use sqlx::Row;
use sqlx::postgres::{PgRow, Postgres};
use sqlx::sqlite::SqliteRow;

use super::sql::{DOCUMENT_COLUMNS_CITED, EVENT_COLUMNS, FLOW_COLUMNS, SPECIMEN_COLUMNS};
use crate::error::{Error, Result};

/// A kept specimen: the row of `specimens` in [`super::sql::trace`]'s answer.
#[derive(Deserialize)]
pub(super) struct Specimen<'a> {
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    pub taxon: i64,
    #[serde(borrow)]
    pub term: Cow<'a, str>,
    pub quantity_micro: i64,
    #[serde(borrow)]
    pub unit: Cow<'a, str>,
    #[serde(borrow)]
    pub source: Cow<'a, str>,
    /// Steps of material flow from where the query started.
    pub depth: i64,
}

/// How a flow joins its specimen to its event (`trace_flows.direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    In,
    Out,
    Subject,
}

impl Direction {
    fn parse(s: &str) -> Option<Direction> {
        match s {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            "subject" => Some(Direction::Subject),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Direction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Direction, D::Error> {
        let s = <&'de str>::deserialize(d)?;
        Direction::parse(s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown flow direction {s:?}")))
    }
}

/// A row of `flows`: event, specimen, direction, quantity, and the unit of a specimen the
/// walk did not keep (a forward trace's other inputs).
#[derive(Deserialize)]
pub(super) struct FlowRow<'a> {
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    #[serde(borrow)]
    pub specimen: Cow<'a, str>,
    pub direction: Direction,
    pub quantity_micro: Option<i64>,
    #[serde(borrow)]
    pub unit: Option<Cow<'a, str>>,
}

/// A row of `events`.
#[derive(Deserialize)]
pub(super) struct EventRow<'a> {
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(deserialize_with = "timestamp")]
    pub at: Timestamp,
    #[serde(borrow)]
    pub country: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub agent: Option<Cow<'a, str>>,
}

/// A row of `documents`: [`crate::store::DOCUMENT_COLUMNS`] and the event citing it.
#[derive(Deserialize)]
pub(super) struct CitedDocument {
    pub country: String,
    pub doc_type: String,
    pub number: String,
    pub revision: i64,
    pub status: String,
    #[serde(deserialize_with = "date")]
    pub issued_on: Option<NaiveDate>,
    #[serde(deserialize_with = "date")]
    pub valid_from: Option<NaiveDate>,
    #[serde(deserialize_with = "date")]
    pub valid_until: Option<NaiveDate>,
    pub taxon: Option<i64>,
    pub unit: Option<String>,
    pub permitted_micro: Option<i64>,
    pub actual_micro: Option<i64>,
    pub issuer: Option<String>,
    pub event: String,
}

/// The four parts of an answer, in no particular order.
pub(super) struct Rows<'a> {
    pub specimens: Vec<Specimen<'a>>,
    pub flows: Vec<FlowRow<'a>>,
    pub events: Vec<EventRow<'a>>,
    pub documents: Vec<CitedDocument>,
}

/// [`super::sql::trace`]'s one row as it came from the backend.
pub(super) enum Answer {
    /// SQLite: each part a JSON array of arrays.
    Sqlite(SqliteRow),
    /// PostgreSQL: each part's columns as arrays, in the order [`super::sql::trace`] names
    /// them.
    Postgres(PgRow),
}

impl From<SqliteRow> for Answer {
    fn from(row: SqliteRow) -> Answer {
        Answer::Sqlite(row)
    }
}

impl From<PgRow> for Answer {
    fn from(row: PgRow) -> Answer {
        Answer::Postgres(row)
    }
}

impl Answer {
    pub fn rows(&self) -> Result<Rows<'_>> {
        match self {
            Answer::Sqlite(row) => Ok(Rows {
                specimens: json(row, 0, "specimens")?,
                flows: json(row, 1, "flows")?,
                events: json(row, 2, "events")?,
                documents: json(row, 3, "documents")?,
            }),
            Answer::Postgres(row) => columns(row),
        }
    }
}

/// Part `i` of a SQLite answer, its rows as a JSON array of arrays, read borrowing the row's
/// text.
fn json<'a, T: Deserialize<'a>>(row: &'a SqliteRow, i: usize, part: &str) -> Result<Vec<T>> {
    let corrupt = |e: &dyn std::fmt::Display| Error::Corrupt(format!("the trace's {part}: {e}"));
    let text: &'a str = row.try_get(i).map_err(|e| corrupt(&e))?;
    serde_json::from_str(text).map_err(|e| corrupt(&e))
}

/// The columns of one part of a PostgreSQL answer, taken in turn from the row's next
/// column: each an array (NULL when the part has no rows), all of one length.
struct Part<'r> {
    row: &'r PgRow,
    name: &'static str,
    first: usize,
    next: usize,
    /// One past the part's last column.
    end: usize,
    len: Option<usize>,
}

impl<'r> Part<'r> {
    /// The part of `columns` columns from `first`.
    fn new(row: &'r PgRow, first: usize, columns: usize, name: &'static str) -> Part<'r> {
        Part {
            row,
            name,
            first,
            next: first,
            end: first + columns,
            len: None,
        }
    }

    fn take<T>(&mut self) -> Result<std::vec::IntoIter<T>>
    where
        Option<Vec<T>>: for<'v> sqlx::Decode<'v, Postgres> + sqlx::Type<Postgres>,
    {
        if self.next == self.end {
            return Err(Error::Corrupt(format!(
                "the trace's {}: a column past its last",
                self.name
            )));
        }
        let column: Vec<T> = self
            .row
            .try_get::<Option<Vec<T>>, _>(self.next)
            .map_err(|e| Error::Corrupt(format!("the trace's {}: {e}", self.name)))?
            .unwrap_or_default();
        self.next += 1;
        match self.len {
            Some(len) if len != column.len() => {
                return Err(Error::Corrupt(format!(
                    "the trace's {}: columns of {len} and {} rows",
                    self.name,
                    column.len()
                )));
            }
            _ => self.len = Some(column.len()),
        }
        Ok(column.into_iter())
    }

    /// The part's rows, each made by `row` from the columns' next values: `None` from `row`
    /// (a value missing or unreadable) makes the part corrupt.
    fn rows<T>(&self, mut row: impl FnMut() -> Option<T>) -> Result<Vec<T>> {
        if self.next != self.end {
            return Err(Error::Corrupt(format!(
                "the trace's {}: {} of its {} columns read",
                self.name,
                self.next - self.first,
                self.end - self.first
            )));
        }
        (0..self.len.unwrap_or(0))
            .map(|_| row())
            .collect::<Option<Vec<T>>>()
            .ok_or_else(|| Error::Corrupt(format!("the trace's {}", self.name)))
    }
}

/// A PostgreSQL answer's rows: the columns of [`super::sql::trace`]'s four parts side by side,
/// as [`SPECIMEN_COLUMNS`], [`FLOW_COLUMNS`], [`EVENT_COLUMNS`] and [`DOCUMENT_COLUMNS_CITED`]
/// name them. Each part must read exactly its columns.
fn columns(row: &PgRow) -> Result<Rows<'static>> {
    let flows_at = SPECIMEN_COLUMNS.len();
    let events_at = flows_at + FLOW_COLUMNS.len();
    let documents_at = events_at + EVENT_COLUMNS.len();
    let end = documents_at + DOCUMENT_COLUMNS_CITED.len();
    if row.len() != end {
        return Err(Error::Corrupt(format!(
            "the trace's answer: {} columns, not {end}",
            row.len()
        )));
    }
    let mut p = Part::new(row, 0, SPECIMEN_COLUMNS.len(), "specimens");
    let (mut key, mut taxon, mut term) = (p.take()?, p.take()?, p.take()?);
    let (mut quantity, mut unit, mut source, mut depth) =
        (p.take()?, p.take()?, p.take()?, p.take()?);
    let specimens = p.rows(|| {
        Some(Specimen {
            key: Cow::Owned(key.next()?),
            taxon: taxon.next()?,
            term: Cow::Owned(term.next()?),
            quantity_micro: quantity.next()?,
            unit: Cow::Owned(unit.next()?),
            source: Cow::Owned(source.next()?),
            depth: depth.next()?,
        })
    })?;

    let mut p = Part::new(row, flows_at, FLOW_COLUMNS.len(), "flows");
    let (mut event, mut specimen, mut direction) = (
        p.take::<String>()?,
        p.take::<String>()?,
        p.take::<String>()?,
    );
    let (mut quantity, mut unit) = (p.take()?, p.take::<Option<String>>()?);
    let flows = p.rows(|| {
        Some(FlowRow {
            event: Cow::Owned(event.next()?),
            specimen: Cow::Owned(specimen.next()?),
            direction: Direction::parse(&direction.next()?)?,
            quantity_micro: quantity.next()?,
            unit: unit.next()?.map(Cow::Owned),
        })
    })?;

    let mut p = Part::new(row, events_at, EVENT_COLUMNS.len(), "events");
    let (mut key, mut kind, mut at) = (p.take::<String>()?, p.take::<String>()?, p.take()?);
    let (mut country, mut agent) = (p.take::<Option<String>>()?, p.take::<Option<String>>()?);
    let events = p.rows(|| {
        Some(EventRow {
            key: Cow::Owned(key.next()?),
            kind: Cow::Owned(kind.next()?),
            at: at.next()?,
            country: country.next()?.map(Cow::Owned),
            agent: agent.next()?.map(Cow::Owned),
        })
    })?;

    let mut p = Part::new(row, documents_at, DOCUMENT_COLUMNS_CITED.len(), "documents");
    let (mut country, mut doc_type, mut number) = (p.take()?, p.take()?, p.take()?);
    let (mut revision, mut status) = (p.take()?, p.take()?);
    let (mut issued_on, mut valid_from, mut valid_until) = (p.take()?, p.take()?, p.take()?);
    let (mut taxon, mut unit, mut permitted, mut actual) =
        (p.take()?, p.take()?, p.take()?, p.take()?);
    let (mut issuer, mut event) = (p.take()?, p.take()?);
    let documents = p.rows(|| {
        Some(CitedDocument {
            country: country.next()?,
            doc_type: doc_type.next()?,
            number: number.next()?,
            revision: revision.next()?,
            status: status.next()?,
            issued_on: issued_on.next()?,
            valid_from: valid_from.next()?,
            valid_until: valid_until.next()?,
            taxon: taxon.next()?,
            unit: unit.next()?,
            permitted_micro: permitted.next()?,
            actual_micro: actual.next()?,
            issuer: issuer.next()?,
            event: event.next()?,
        })
    })?;
    Ok(Rows {
        specimens,
        flows,
        events,
        documents,
    })
}

/// The number the ASCII digits `b` spell, if they are all digits.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0_u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// `YYYY-MM-DD`, the form SQLite gives a date in JSON, read without chrono's general parser
/// (a trace reads three dates per document); chrono reads any other form.
fn date<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<NaiveDate>, D::Error> {
    let Some(s) = Option::<&'de str>::deserialize(d)? else {
        return Ok(None);
    };
    let b = s.as_bytes();
    let fast = (b.len() == 10 && b[4] == b'-' && b[7] == b'-')
        .then(|| (digits(&b[..4]), digits(&b[5..7]), digits(&b[8..])))
        .and_then(|(y, m, d)| NaiveDate::from_ymd_opt(i32::try_from(y?).ok()?, m?, d?));
    match fast {
        Some(date) => Ok(Some(date)),
        None => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// `YYYY-MM-DDTHH:MM:SS+00:00`, the form SQLite gives an event's time in JSON, read without
/// chrono's general parser; chrono reads any other form (fractions, other offsets).
fn timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Timestamp, D::Error> {
    let s = <&'de str>::deserialize(d)?;
    let b = s.as_bytes();
    let fast = (b.len() == 25 && &b[19..] == b"+00:00" && b[4] == b'-' && b[7] == b'-')
        .then_some(())
        .filter(|()| b[10] == b'T' && b[13] == b':' && b[16] == b':')
        .and_then(|()| {
            let day = NaiveDate::from_ymd_opt(
                i32::try_from(digits(&b[..4])?).ok()?,
                digits(&b[5..7])?,
                digits(&b[8..10])?,
            )?;
            let at = day.and_hms_opt(
                digits(&b[11..13])?,
                digits(&b[14..16])?,
                digits(&b[17..19])?,
            )?;
            Some(at.and_utc())
        });
    match fast {
        Some(at) => Ok(at),
        None => s.parse().map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use db::{Backend, Db, TestDb};
    use serde::Deserialize;

    use domain::Timestamp;

    use super::{Direction, Part};
    use crate::error::Error;

    #[derive(Deserialize)]
    struct Dated {
        #[serde(deserialize_with = "super::date")]
        on: Option<NaiveDate>,
        #[serde(deserialize_with = "super::timestamp")]
        at: Timestamp,
    }

    fn read(on: &str, at: &str) -> Result<Dated, serde_json::Error> {
        serde_json::from_str(&format!("[{on}, {at}]"))
    }

    #[test]
    fn dates_and_times_read_the_same_by_the_short_way_as_by_chrono() {
        let day = NaiveDate::from_ymd_opt(2024, 2, 29);
        let at = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 58).single();
        // The form both backends give, read without chrono.
        let d = read("\"2024-02-29\"", "\"2024-02-29T23:59:58+00:00\"").unwrap();
        assert_eq!((d.on, Some(d.at)), (day, at));
        // Other forms, read by chrono: the same instants.
        for other in [
            "\"2024-02-29T23:59:58Z\"",
            "\"2024-03-01T01:59:58+02:00\"",
            "\"2024-02-29T23:59:58.000+00:00\"",
        ] {
            assert_eq!(Some(read("null", other).unwrap().at), at, "{other}");
        }
        let fraction = read("null", "\"2024-02-29T23:59:58.25+00:00\"").unwrap().at;
        assert_eq!(fraction.timestamp_subsec_millis(), 250);
        assert_eq!(
            read("null", "\"2024-02-29T23:59:58+00:00\"").unwrap().on,
            None
        );
        // What neither way reads is an error, never a date.
        for (on, at) in [
            ("\"2023-02-29\"", "\"2024-02-29T23:59:58+00:00\""),
            ("\"2024-13-01\"", "\"2024-02-29T23:59:58+00:00\""),
            ("\"20x4-02-29\"", "\"2024-02-29T23:59:58+00:00\""),
            ("\"2024-02-29\"", "\"2024-02-29T24:00:61+00:00\""),
            ("\"2024-02-29\"", "\"2024-02-29 23:59:58\""),
        ] {
            assert!(read(on, at).is_err(), "{on} {at}");
        }
    }

    /// A part's columns are read side by side; one of another length, or a value the reader
    /// does not know, makes the part corrupt rather than short.
    #[tokio::test]
    async fn a_postgres_part_is_read_whole_or_refused() {
        let t = TestDb::create(Backend::Postgres).await.unwrap();
        let Db::Postgres(pool) = &t.db else {
            unreachable!("created on PostgreSQL")
        };
        let row = sqlx::query(
            "SELECT ARRAY['a', 'b'], ARRAY[CAST(1 AS BIGINT), NULL], ARRAY['in', 'out'], \
             CAST(NULL AS TEXT[]), ARRAY['sideways'], ARRAY['x', 'y', 'z']",
        )
        .fetch_one(pool)
        .await
        .unwrap();

        let mut p = Part::new(&row, 0, 3, "flows");
        let (mut key, mut quantity, mut direction) = (
            p.take::<String>().unwrap(),
            p.take::<Option<i64>>().unwrap(),
            p.take::<String>().unwrap(),
        );
        let rows = p
            .rows(|| {
                Some((
                    key.next()?,
                    quantity.next()?,
                    Direction::parse(&direction.next()?)?,
                ))
            })
            .unwrap();
        assert_eq!(
            rows,
            [
                ("a".to_owned(), Some(1), Direction::In),
                ("b".to_owned(), None, Direction::Out),
            ]
        );

        // NULL: a part with no rows.
        let mut p = Part::new(&row, 3, 1, "events");
        let mut none = p.take::<String>().unwrap();
        assert_eq!(p.rows(|| none.next()).unwrap(), Vec::<String>::new());

        // A direction the reader does not know.
        let mut p = Part::new(&row, 4, 1, "flows");
        let mut direction = p.take::<String>().unwrap();
        let unknown = p.rows(|| Direction::parse(&direction.next()?));
        assert!(matches!(unknown, Err(Error::Corrupt(m)) if m.contains("flows")));

        // Columns of two lengths.
        let mut p = Part::new(&row, 4, 2, "documents");
        p.take::<String>().unwrap();
        let uneven = p.take::<String>();
        assert!(
            matches!(&uneven, Err(Error::Corrupt(m)) if m.contains("1 and 3 rows")),
            "{:?}",
            uneven.err()
        );
        // A column of another type.
        let mut p = Part::new(&row, 0, 1, "specimens");
        assert!(matches!(p.take::<i64>(), Err(Error::Corrupt(_))));

        // A part read short of its columns, or past them (a statement and a reader that
        // disagree on a part's columns).
        let mut p = Part::new(&row, 0, 3, "flows");
        let mut key = p.take::<String>().unwrap();
        let short = p.rows(|| key.next());
        assert!(
            matches!(&short, Err(Error::Corrupt(m)) if m.contains("1 of its 3 columns")),
            "{:?}",
            short.err()
        );
        let mut p = Part::new(&row, 0, 1, "flows");
        p.take::<String>().unwrap();
        assert!(matches!(p.take::<String>(), Err(Error::Corrupt(_))));

        // A whole answer of another number of columns.
        assert!(matches!(
            super::columns(&row),
            Err(Error::Corrupt(m)) if m.contains("6 columns, not 31")
        ));
        t.drop_db().await.unwrap();
    }
}
