//! The statement a trace runs, built here so that the plan test below reads exactly what the
//! queries run.
//!
//! Every join is a CROSS JOIN with its condition in the WHERE clause. SQLite never moves the
//! right-hand table of a CROSS JOIN outside its left-hand one, so the plan starts from the
//! seed or a CTE and goes on by searches on keys. The order matters once the register
//! has statistics (an `ANALYZE` by anyone, or `PRAGMA optimize`): SQLite may then put a Bloom
//! filter on an inner table, built by scanning the whole table each time the statement runs
//! (each step of a walk), but only when every table outside it has statistics, which a CTE
//! never has. SQLite 3.40, which lacks that rule, did so on the walks of a register of a
//! million nodes after `ANALYZE`: about 100 times slower. The test below checks the
//! plans under the statistics of registers of a thousand to a hundred million
//! nodes. PostgreSQL plans a CROSS JOIN with a WHERE as any inner join.

use std::sync::LazyLock;

use db::Backend;

use crate::store::{DOCUMENT_COLUMNS, NOT_CORRECTED};

/// A trace's one statement. `$1` the seed (a specimen, or an event whose outputs start a
/// forward trace), `$2` the depth limit plus one, `$3` the node limit. It answers one row of
/// four parts ([`part`]):
///
/// 1. `specimens`: those the walk reaches, up (`backward`) or down the material flow, past no
///    event declared erroneous, with their rows and depths: one more of each than the limits,
///    so that whether there is more is `truncated`. `sel` keeps those within the limits,
///    nearest first then by key.
/// 2. `flows`: every flow of a kept specimen, and for a forward trace every other input of an
///    event consuming one, with its specimen's unit (the others' unit is NULL: the caller has
///    the specimen).
/// 3. `events`: the events of the kept specimens' flows.
/// 4. `documents`: those the events cite, each at every revision, with the citing event.
///
/// One statement, not one per part: every statement costs a round trip to the connection's
/// thread and back, which at a million nodes cost more than a small trace's reads (p50 about
/// 0.2 ms a statement through sqlx against 0.03 to 0.07 ms in SQLite).
///
/// Built once per backend and kind of trace, not for every query.
pub(super) fn trace(backend: Backend, backward: bool, seed_is_event: bool) -> &'static str {
    static STATEMENTS: LazyLock<Vec<String>> = LazyLock::new(|| {
        let mut all = Vec::with_capacity(8);
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for backward in [false, true] {
                for seed_is_event in [false, true] {
                    all.push(build(backend, backward, seed_is_event));
                }
            }
        }
        all
    });
    let i = usize::from(backend == Backend::Postgres) * 4
        + usize::from(backward) * 2
        + usize::from(seed_is_event);
    &STATEMENTS[i]
}

/// The columns of each part of the answer, in order: what [`super::answer`] reads.
pub(super) const SPECIMEN_COLUMNS: &[&str] = &[
    "key",
    "taxon_id",
    "term",
    "quantity_micro",
    "unit",
    "source",
    "depth",
];
pub(super) const FLOW_COLUMNS: &[&str] = &[
    "event_key",
    "specimen_key",
    "direction",
    "quantity_micro",
    "unit",
];
pub(super) const EVENT_COLUMNS: &[&str] = &["key", "kind", "occurred_at", "country", "agent_key"];
/// [`DOCUMENT_COLUMNS`] and the citing event.
pub(super) const DOCUMENT_COLUMNS_CITED: &[&str] = &[
    "country",
    "doc_type",
    "number",
    "revision",
    "status",
    "issued_on",
    "valid_from",
    "valid_until",
    "taxon_id",
    "unit",
    "permitted_micro",
    "actual_micro",
    "issuer_key",
    "event_key",
];

fn build(backend: Backend, backward: bool, seed_is_event: bool) -> String {
    let (from_dir, to_dir) = if backward {
        ("out", "in")
    } else {
        ("in", "out")
    };
    let seed = if seed_is_event {
        "SELECT f.specimen_key, CAST(1 AS BIGINT) FROM trace_flows f \
         WHERE f.event_key = CAST($1 AS TEXT) AND f.direction = 'out'"
    } else {
        "SELECT CAST($1 AS TEXT), CAST(0 AS BIGINT)"
    };
    // A forward trace also reads the other inputs of the events consuming a kept specimen:
    // its share of their outputs is not the trace's.
    let flows = if backward {
        "flows AS (SELECT event_key, specimen_key, direction, quantity_micro, unit FROM fl)"
            .to_owned()
    } else {
        "consumers AS MATERIALIZED (SELECT DISTINCT event_key FROM fl WHERE direction = 'in'), \
         flows AS (SELECT event_key, specimen_key, direction, quantity_micro, unit FROM fl \
         UNION ALL SELECT o.event_key, o.specimen_key, o.direction, o.quantity_micro, s.unit \
         FROM consumers x CROSS JOIN trace_flows o CROSS JOIN trace_specimens s \
         WHERE o.event_key = x.event_key AND o.direction = 'in' AND s.key = o.specimen_key \
         AND o.specimen_key NOT IN (SELECT key FROM sel))"
            .to_owned()
    };
    let specimens = part(
        backend,
        "SELECT s.key, s.taxon_id, s.term, s.quantity_micro, s.unit, s.source, probe.depth \
         FROM probe CROSS JOIN trace_specimens s WHERE s.key = probe.specimen_key",
        SPECIMEN_COLUMNS,
    );
    let flow_rows = part(backend, "SELECT * FROM flows", FLOW_COLUMNS);
    let events = part(
        backend,
        "SELECT e.key, e.kind, e.occurred_at, e.country, e.agent_key \
         FROM ev CROSS JOIN trace_events e WHERE e.key = ev.event_key",
        EVENT_COLUMNS,
    );
    let documents = part(
        backend,
        &format!(
            "SELECT {DOCUMENT_COLUMNS}, ed.event_key FROM ev \
             CROSS JOIN trace_event_documents ed CROSS JOIN trace_documents d \
             WHERE ed.event_key = ev.event_key AND d.country = ed.country \
             AND d.doc_type = ed.doc_type AND d.number = ed.number"
        ),
        DOCUMENT_COLUMNS_CITED,
    );
    let answer = match backend {
        Backend::Sqlite => {
            format!("SELECT ({specimens}), ({flow_rows}), ({events}), ({documents})")
        }
        Backend::Postgres => format!(
            "SELECT * FROM ({specimens}) s CROSS JOIN ({flow_rows}) f \
             CROSS JOIN ({events}) e CROSS JOIN ({documents}) d"
        ),
    };
    format!(
        "WITH RECURSIVE walk(specimen_key, depth) AS ({seed} UNION \
         SELECT n.specimen_key, walk.depth + 1 FROM walk \
         CROSS JOIN trace_flows f CROSS JOIN trace_flows n \
         WHERE f.specimen_key = walk.specimen_key AND f.direction = '{from_dir}' \
         AND n.event_key = f.event_key AND n.direction = '{to_dir}' \
         AND walk.depth <= CAST($2 AS BIGINT) AND {NOT_CORRECTED}), \
         ranked AS (SELECT specimen_key, MIN(depth) AS depth FROM walk GROUP BY specimen_key), \
         probe AS MATERIALIZED (SELECT specimen_key, depth FROM ranked \
         ORDER BY depth, specimen_key LIMIT CAST($3 AS BIGINT) + 1), \
         sel AS MATERIALIZED (SELECT specimen_key AS key FROM probe \
         WHERE depth < CAST($2 AS BIGINT) ORDER BY depth, specimen_key \
         LIMIT CAST($3 AS BIGINT)), \
         fl AS MATERIALIZED (SELECT f.event_key, f.specimen_key, f.direction, \
         f.quantity_micro, CAST(NULL AS TEXT) AS unit FROM sel CROSS JOIN trace_flows f \
         WHERE f.specimen_key = sel.key AND {NOT_CORRECTED}), \
         {flows}, \
         ev AS MATERIALIZED (SELECT DISTINCT event_key FROM fl) \
         {answer}"
    )
}

/// One part of the answer: the rows of `select`, in no particular order.
///
/// SQLite makes them one JSON array of arrays of `columns`: a trace reads hundreds to
/// thousands of rows, and sqlx hands SQLite's rows over one at a time from the connection's
/// thread, which at a million nodes cost more than the statements themselves (a trace's flows,
/// about 1,000 rows: 4.4 ms p99 through sqlx, 0.6 to 0.7 ms for SQLite to make them one JSON
/// value). One value crosses instead, and serde_json reads it.
///
/// PostgreSQL gives each column as an array (`NULL` for no rows), all in the order of one
/// aggregation, which its binary format sends as they are. Its JSON functions cost more: on a
/// large origin, `json_build_array` for each row took 2.4 ms of the statement's 7.7, about
/// 1.6 µs a row, most of it looking up how to write each argument's type again for each row.
fn part(backend: Backend, select: &str, columns: &[&str]) -> String {
    match backend {
        Backend::Sqlite => {
            let columns = columns.join(", ");
            format!("SELECT json_group_array(json_array({columns})) FROM ({select}) r")
        }
        Backend::Postgres => {
            let arrays: Vec<String> = columns
                .iter()
                .map(|c| format!("array_agg({c}) AS {c}"))
                .collect();
            format!("SELECT {} FROM ({select}) r", arrays.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use db::{Backend, Db, TestDb};
    use sqlx::Row;

    /// `sqlite_stat1` of the bench's register of a million nodes after `ANALYZE`: (table,
    /// index, row count, rows per distinct prefix of the index's columns).
    const STATS: &[(&str, &str, u64, &[u64])] = &[
        (
            "trace_documents",
            "trace_documents",
            198_161,
            &[16_514, 2_360, 1, 1],
        ),
        (
            "trace_documents",
            "trace_documents_number",
            198_161,
            &[1, 1],
        ),
        (
            "trace_event_documents",
            "trace_event_documents",
            271_446,
            &[2, 1, 1, 1],
        ),
        (
            "trace_event_documents",
            "trace_event_documents_document",
            271_446,
            &[22_621, 3_232, 2],
        ),
        ("trace_events", "trace_events", 324_814, &[1]),
        ("trace_flows", "trace_flows", 1_405_239, &[5, 4, 1]),
        (
            "trace_flows",
            "trace_flows_specimen",
            1_405_239,
            &[3, 2, 1, 1],
        ),
        (
            "trace_identifiers",
            "trace_identifiers",
            432_499,
            &[72_084, 1, 1],
        ),
        (
            "trace_identifiers",
            "trace_identifiers_specimen",
            432_499,
            &[1],
        ),
        ("trace_specimens", "trace_specimens", 477_042, &[1]),
    ];

    /// Writes [`STATS`] scaled to `nodes` (a per-key fan-out of a few rows stays as it is) and
    /// has the connection's planner read them.
    async fn load_stats(conn: &mut sqlx::SqliteConnection, nodes: u64) {
        sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
        sqlx::query("DELETE FROM sqlite_stat1")
            .execute(&mut *conn)
            .await
            .unwrap();
        let scale = |n: u64| {
            if n <= 5 {
                n
            } else {
                (n * nodes / 1_000_000).max(1)
            }
        };
        for (table, index, rows, per_prefix) in STATS {
            let mut stat = scale(*rows).to_string();
            for n in *per_prefix {
                stat.push_str(&format!(" {}", scale(*n)));
            }
            sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ($1, $2, $3)")
                .bind(table)
                .bind(index)
                .bind(stat)
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        sqlx::query("ANALYZE sqlite_schema")
            .execute(&mut *conn)
            .await
            .unwrap();
    }

    /// The names a plan may scan: the statements' own CTEs, the key list and the seed row.
    const SCANNED: &[&str] = &[
        "walk",
        "ranked",
        "probe",
        "sel",
        "ev",
        "consumers",
        "x",
        "fl",
        "flows",
        "r",
        "CONSTANT ROW",
    ];

    /// The plan's lines that read a register table other than by one search on a key: a
    /// scan, an automatic index or a Bloom filter on a table (built by a scan of the whole
    /// table; one over a key list, `CREATE BLOOM FILTER`, is built from the list), or a search
    /// of an index that does not hold what the statement reads (one more search of the table
    /// per row found).
    fn faults(plan: &[String]) -> Vec<String> {
        plan.iter()
            .filter(|line| {
                let scans_table = line.strip_prefix("SCAN ").is_some_and(|rest| {
                    !SCANNED
                        .iter()
                        .any(|name| rest == *name || rest.starts_with(&format!("{name} ")))
                });
                let searches_twice = line.starts_with("SEARCH ") && line.contains(" USING INDEX ");
                scans_table
                    || searches_twice
                    || line.contains("BLOOM FILTER ON")
                    || line.contains("AUTOMATIC")
            })
            .cloned()
            .collect()
    }

    /// The lines of `sql`'s query plan, its parameters bound as a trace binds them.
    async fn plan(conn: &mut sqlx::SqliteConnection, sql: &str) -> Vec<String> {
        sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .bind("sp:1")
            .bind(65_i64)
            .bind(10_000_i64)
            .fetch_all(conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(3))
            .collect()
    }

    #[tokio::test]
    async fn every_statement_searches_by_key_whatever_the_statistics_say() {
        let t = TestDb::create(Backend::Sqlite).await.unwrap();
        let Db::Sqlite(pool) = &t.db else {
            unreachable!("created on SQLite")
        };
        let statements = [
            ("origin", super::trace(Backend::Sqlite, true, false)),
            ("forward", super::trace(Backend::Sqlite, false, false)),
            (
                "forward from an event",
                super::trace(Backend::Sqlite, false, true),
            ),
        ];
        let mut conn = pool.acquire().await.unwrap();
        let mut checked = 0;
        // No statistics, then those of registers small and large: a Bloom filter is chosen
        // when the searches the planner expects outnumber a table's rows.
        for nodes in [
            None,
            Some(1_000),
            Some(100_000),
            Some(1_000_000),
            Some(100_000_000),
        ] {
            if let Some(nodes) = nodes {
                load_stats(&mut conn, nodes).await;
            }
            for (name, sql) in &statements {
                let plan = plan(&mut conn, sql).await;
                assert!(
                    plan.iter().any(|l| l.starts_with("SEARCH ")),
                    "{name}: {plan:#?}"
                );
                assert_eq!(
                    faults(&plan),
                    Vec::<String>::new(),
                    "{name} at {nodes:?}: {plan:#?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 15);
        // The check catches a statement that reads the register other than by its keys.
        let scan = plan(
            &mut conn,
            "SELECT event_key FROM trace_flows WHERE quantity_micro > 5",
        )
        .await;
        assert_eq!(faults(&scan).len(), 1, "{scan:#?}");
        // And one that searches an index, then the table for each row.
        let twice = plan(
            &mut conn,
            "SELECT batch_id FROM trace_documents WHERE number = 'EX1'",
        )
        .await;
        assert_eq!(faults(&twice).len(), 1, "{twice:#?}");
        drop(conn);
        t.drop_db().await.unwrap();
    }
}
