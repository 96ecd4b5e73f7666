//! The baselines: the same rows the register stores, written by bare multi-row INSERTs in one
//! transaction per batch (no parsing, no checks, no look-ups, no findings), and the bare
//! recursive CTEs that return only the ancestor (or descendant) keys.

use chrono::{DateTime, Utc};
use db::{Db, Tx, with_db, with_tx};

use crate::chains::GenBatch;

/// Rows per multi-row INSERT: the register's own chunk (`trace::store::CHUNK_ROWS`).
const CHUNK_ROWS: usize = 1_000;

/// Runs a multi-row INSERT of `$rows` chunk by chunk.
macro_rules! insert_rows {
    ($tx:expr, $sql:expr, $rows:expr, |$b:ident, $r:ident| $push:expr) => {
        for chunk in $rows.chunks(CHUNK_ROWS) {
            with_tx!($tx, c => {
                let mut qb = sqlx::QueryBuilder::new($sql);
                qb.push_values(chunk, |mut $b, $r| {
                    $push;
                });
                qb.build().execute(&mut *c).await?;
            });
        }
    };
}

/// Stores `b` as the register would (a batch row, then every table), in one transaction.
pub async fn insert(
    db: &Db,
    b: &GenBatch,
    client_key: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let batch_id = with_tx!(&mut tx, c => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO trace_batches (client_key, digest, format, received_at) \
             VALUES ($1, $2, 'trace', $3) RETURNING id",
        )
        .bind(client_key)
        .bind("bare")
        .bind(now)
        .fetch_one(&mut *c)
        .await?
    });
    rows(&mut tx, b, batch_id).await?;
    tx.commit().await?;
    Ok(())
}

async fn rows(tx: &mut Tx, b: &GenBatch, batch_id: i64) -> anyhow::Result<()> {
    insert_rows!(
        tx,
        "INSERT INTO trace_agents (key, batch_id, kind, name, country, registration) ",
        b.agents,
        |q, r| q
            .push_bind(&r.key)
            .push_bind(batch_id)
            .push_bind(r.kind)
            .push_bind(&r.name)
            .push_bind(r.country)
            .push_bind(None::<String>)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_specimens (key, batch_id, taxon_id, term, quantity_micro, unit, source) ",
        b.specimens,
        |q, r| q
            .push_bind(&r.key)
            .push_bind(batch_id)
            .push_bind(r.taxon)
            .push_bind(r.term)
            .push_bind(r.quantity_micro)
            .push_bind(r.unit)
            .push_bind(r.source)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_identifiers (scheme, value, specimen_key, batch_id) ",
        b.identifiers,
        |q, r| q
            .push_bind(r.0)
            .push_bind(&r.1)
            .push_bind(&r.2)
            .push_bind(batch_id)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_documents (batch_id, country, doc_type, number, revision, status, \
         issued_on, valid_from, valid_until, taxon_id, unit, permitted_micro, actual_micro, \
         issuer_key) ",
        b.documents,
        |q, r| q
            .push_bind(batch_id)
            .push_bind(r.country)
            .push_bind(r.doc_type)
            .push_bind(&r.number)
            .push_bind(1_i64)
            .push_bind(r.status)
            .push_bind(r.issued_on)
            .push_bind(r.issued_on)
            .push_bind(r.valid_until)
            .push_bind(r.taxon)
            .push_bind(r.unit)
            .push_bind(r.permitted_micro)
            .push_bind(None::<i64>)
            .push_bind(&r.issuer)
    );
    insert_rows!(
        tx,
        "INSERT INTO trace_events (key, batch_id, kind, occurred_at, country, agent_key, \
         yield_micro) ",
        b.events,
        |q, r| q
            .push_bind(&r.key)
            .push_bind(batch_id)
            .push_bind(r.kind)
            .push_bind(r.at)
            .push_bind(r.country)
            .push_bind(&r.agent)
            .push_bind(r.yield_micro)
    );
    let flows: Vec<(&str, &str, &str, Option<i64>)> = b
        .events
        .iter()
        .flat_map(|e| {
            e.flows
                .iter()
                .map(|f| (e.key.as_str(), f.0.as_str(), f.1, f.2))
        })
        .collect();
    insert_rows!(
        tx,
        "INSERT INTO trace_flows (event_key, specimen_key, direction, quantity_micro) ",
        flows,
        |q, r| q
            .push_bind(r.0)
            .push_bind(r.1)
            .push_bind(r.2)
            .push_bind(r.3)
    );
    let docs: Vec<(&str, &str, &str, &str)> = b
        .events
        .iter()
        .flat_map(|e| {
            e.documents
                .iter()
                .map(|d| (e.key.as_str(), d.0, d.1, d.2.as_str()))
        })
        .collect();
    insert_rows!(
        tx,
        "INSERT INTO trace_event_documents (event_key, country, doc_type, number) ",
        docs,
        |q, r| q
            .push_bind(r.0)
            .push_bind(r.1)
            .push_bind(r.2)
            .push_bind(r.3)
    );
    Ok(())
}

/// The bare walk: the keys of every ancestor (`backward`) or descendant of `$1`, nothing else
/// (no depth, no limit, no correction check, no rows joined).
pub fn walk_sql(backward: bool) -> String {
    let (from_dir, to_dir) = if backward {
        ("out", "in")
    } else {
        ("in", "out")
    };
    format!(
        "WITH RECURSIVE walk(k) AS (SELECT CAST($1 AS TEXT) UNION \
         SELECT n.specimen_key FROM walk \
         JOIN trace_flows f ON f.specimen_key = walk.k AND f.direction = '{from_dir}' \
         JOIN trace_flows n ON n.event_key = f.event_key AND n.direction = '{to_dir}') \
         SELECT k FROM walk"
    )
}

/// Runs the bare walk from `key`; answers how many keys it returned.
pub async fn walk(db: &Db, sql: &str, key: &str) -> anyhow::Result<usize> {
    let n = with_db!(db, pool => {
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(key)
            .fetch_all(pool)
            .await?
            .len()
    });
    Ok(n)
}
