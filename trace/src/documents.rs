//! Documents read by key or by number, and what was re-exported under one: the register's
//! answer to a re-export permit check naming an origin permit (the application turns it into
//! the balance the rules check).

use db::read_db;
use domain::from_micro;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use crate::error::Result;
use crate::ingest::Register;
use crate::model::DocumentKey;
use crate::query::{DocumentView, document_views};
use crate::store::{DOCUMENT_COLUMNS, NOT_CORRECTED, document_row};

/// A quantity re-exported under a document: one subject of a re-export event citing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reexported {
    pub event: String,
    pub specimen: String,
    /// In the specimen's unit: the flow's quantity, or the whole specimen's when the event
    /// gave none.
    pub quantity: Decimal,
    pub unit: String,
}

impl Register {
    /// The latest revision of the document under `key`, with the events citing it; `None`
    /// when the register does not hold it.
    pub async fn document(&self, key: &DocumentKey) -> Result<Option<DocumentView>> {
        let found = self.latest_revisions(Some(key), &key.number).await?;
        Ok(found.into_iter().next())
    }

    /// Every document with this number (any issuing country or type), at its latest revision,
    /// with the events that cite it.
    pub async fn by_document(&self, number: &str) -> Result<Vec<DocumentView>> {
        self.latest_revisions(None, number).await
    }

    /// The documents numbered `number` (and, with `key`, of its issuing country and type) at
    /// their latest revisions, each with the events citing it, by key.
    async fn latest_revisions(
        &self,
        key: Option<&DocumentKey>,
        number: &str,
    ) -> Result<Vec<DocumentView>> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS}, ed.event_key FROM trace_documents d \
             LEFT JOIN trace_event_documents ed ON ed.country = d.country \
             AND ed.doc_type = d.doc_type AND ed.number = d.number \
             WHERE d.number = $1 AND (CAST($2 AS TEXT) IS NULL OR d.country = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR d.doc_type = $3) \
             AND d.revision = (SELECT MAX(l.revision) FROM trace_documents l \
             WHERE l.country = d.country AND l.doc_type = d.doc_type AND l.number = d.number) \
             ORDER BY d.country, d.doc_type, ed.event_key"
        );
        let (country, doc_type) = (
            key.map(|k| k.country.as_str()),
            key.map(|k| k.doc_type.as_str()),
        );
        let rows = read_db!(&self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(number)
                .bind(country)
                .bind(doc_type)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get::<Option<String>, _>(13)?, document_row(r)?)))
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        Ok(document_views(rows.into_iter()))
    }

    /// Every specimen re-exported under the document `key`: the subjects of the re-export
    /// events (not declared erroneous) that cite it, in event and specimen order.
    pub async fn reexported_under(&self, key: &DocumentKey) -> Result<Vec<Reexported>> {
        let sql = format!(
            "SELECT f.event_key, f.specimen_key, COALESCE(f.quantity_micro, s.quantity_micro), \
             s.unit FROM trace_event_documents ed \
             JOIN trace_events e ON e.key = ed.event_key AND e.kind = 're_export' \
             JOIN trace_flows f ON f.event_key = e.key AND f.direction = 'subject' \
             JOIN trace_specimens s ON s.key = f.specimen_key \
             WHERE ed.country = $1 AND ed.doc_type = $2 AND ed.number = $3 AND {NOT_CORRECTED} \
             ORDER BY f.event_key, f.specimen_key"
        );
        let (country, doc_type) = (key.country.as_str(), key.doc_type.as_str());
        let rows = read_db!(&self.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(country)
                .bind(doc_type)
                .bind(key.number.as_str())
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(Reexported {
                        event: r.try_get(0)?,
                        specimen: r.try_get(1)?,
                        quantity: from_micro(r.try_get(2)?),
                        unit: r.try_get(3)?,
                    })
                })
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        })?;
        Ok(rows)
    }
}
