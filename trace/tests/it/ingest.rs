//! Ingest: a batch is stored whole or refused whole with every fault named by its JSON path;
//! a retried batch is stored once; the tables refuse changes; plausibility faults are stored
//! findings, not refusals.

use db::Backend;
use serde_json::json;
use trace::{BATCH_RECORDS_MAX, Error, Severity};

use crate::support::{count, fixture, on_both_backends, scenario};

async fn scenarios_are_accepted_with_no_finding(backend: Backend) {
    let f = fixture(backend).await;
    for name in ["caviar", "crocodile"] {
        let done = f.register.ingest(&scenario(name), name).await.unwrap();
        assert!(!done.replayed);
        assert_eq!(done.findings, vec![], "{name}");
    }
    assert_eq!(count(&f, "trace_specimens").await, 2 + 12 + 4 + 6);
    assert_eq!(count(&f, "trace_events").await, 7 + 8);
    assert_eq!(count(&f, "trace_documents").await, 4 + 3);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(scenarios_are_accepted_with_no_finding);

async fn a_faulty_batch_is_refused_whole_with_every_problem_and_nothing_stored(backend: Backend) {
    let f = fixture(backend).await;
    let batch = json!({
        "specimens": [
            {"key": "s:fish", "taxon": "10001", "term": "BOD", "quantity": {"amount": "120", "unit": "KGM"}, "source": "W"},
            {"key": "s:lot", "taxon": "ten", "term": "CAV", "quantity": {"amount": "12", "unit": "KGM"}, "source": "W"},
            {"key": "s:tin", "taxon": "10001", "term": "CAV", "quantity": {"amount": "1", "unit": "KGM"}, "source": "Q"}
        ],
        "events": [
            {"key": "e:harvest", "kind": "wild_harvest", "at": "2024-04-10T06:00:00Z", "outputs": ["s:fish"]},
            {"key": "e:split", "kind": "split", "at": "2024-04-11T06:00:00Z",
             "inputs": [{"specimen": "s:fish", "quantity": {"amount": "3", "unit": "NAR"}}],
             "outputs": ["s:nowhere"]},
            {"key": "e:odd", "kind": "smuggle", "at": "yesterday"}
        ]
    });
    let Err(Error::Refused { problems }) = f.register.ingest(&batch, "k1").await else {
        panic!("accepted");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "specimens[1].taxon",
            "specimens[2].source",
            "events[2].kind",
            "events[2].at",
        ],
        "{problems:#?}"
    );
    // Once the fields read, the references and quantities are checked, all of them.
    let batch = json!({
        "specimens": [
            {"key": "s:fish", "taxon": "10001", "term": "BOD", "quantity": {"amount": "120", "unit": "KGM"}, "source": "W"}
        ],
        "events": [
            {"key": "e:harvest", "kind": "wild_harvest", "at": "2024-04-10T06:00:00Z", "outputs": ["s:fish"]},
            {"key": "e:split", "kind": "split", "at": "2024-04-11T06:00:00Z",
             "inputs": [{"specimen": "s:fish", "quantity": {"amount": "3", "unit": "NAR"}}],
             "outputs": ["s:nowhere"], "agent": "agent:ghost",
             "documents": [{"country": "RU", "type": "export_permit", "number": "NONE-1"}]}
        ]
    });
    let Err(Error::Refused { problems }) = f.register.ingest(&batch, "k1").await else {
        panic!("accepted");
    };
    let shown: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    assert_eq!(shown.len(), 4, "{shown:#?}");
    assert!(
        shown[0].starts_with("events[1].agent: unknown agent agent:ghost"),
        "{shown:#?}"
    );
    assert!(
        shown[1].starts_with("events[1].documents[0]: unknown document RU:export_permit:NONE-1"),
        "{shown:#?}"
    );
    assert!(
        shown[2].starts_with("events[1].inputs[0].quantity:") && shown[2].contains("KGM"),
        "{shown:#?}"
    );
    assert!(
        shown[3].starts_with("events[1].outputs[0]: unknown specimen s:nowhere"),
        "{shown:#?}"
    );
    for table in [
        "trace_batches",
        "trace_specimens",
        "trace_events",
        "trace_flows",
    ] {
        assert_eq!(count(&f, table).await, 0, "{table}");
    }
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_faulty_batch_is_refused_whole_with_every_problem_and_nothing_stored);

async fn a_cycle_is_refused(backend: Backend) {
    let f = fixture(backend).await;
    let spec = |k: &str| json!({"key": k, "taxon": "1", "term": "SKI", "quantity": {"amount": "1"}, "source": "W"});
    let batch = json!({
        "specimens": [spec("a"), spec("b")],
        "events": [
            {"key": "e1", "kind": "relabel", "at": "2024-01-01T00:00:00Z", "inputs": ["a"], "outputs": ["b"]},
            {"key": "e2", "kind": "relabel", "at": "2024-01-02T00:00:00Z", "inputs": ["b"], "outputs": ["a"]}
        ]
    });
    let Err(Error::Refused { problems }) = f.register.ingest(&batch, "k").await else {
        panic!("accepted");
    };
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].path.starts_with("events["), "{problems:#?}");
    assert!(problems[0].message.contains("cycle"), "{problems:#?}");
    assert_eq!(count(&f, "trace_batches").await, 0);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_cycle_is_refused);

async fn a_retried_batch_is_stored_once_and_another_under_its_key_conflicts(backend: Backend) {
    let f = fixture(backend).await;
    let caviar = scenario("caviar");
    let first = f
        .register
        .ingest(&caviar, "caller\u{1f}batch-1")
        .await
        .unwrap();
    let again = f
        .register
        .ingest(&caviar, "caller\u{1f}batch-1")
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.batch_id, first.batch_id);
    assert_eq!(count(&f, "trace_batches").await, 1);
    assert_eq!(count(&f, "trace_specimens").await, 18);
    let other = scenario("crocodile");
    let e = f
        .register
        .ingest(&other, "caller\u{1f}batch-1")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::KeyConflict { .. }), "{e}");
    // The same records under a new key: each is registered once.
    let Err(Error::Refused { problems }) = f.register.ingest(&caviar, "caller\u{1f}batch-2").await
    else {
        panic!("stored twice");
    };
    assert!(
        problems[0].message.contains("already in the register"),
        "{problems:#?}"
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_retried_batch_is_stored_once_and_another_under_its_key_conflicts);

async fn the_register_refuses_changes_and_deletions(backend: Backend) {
    let f = fixture(backend).await;
    f.register
        .ingest(&scenario("crocodile"), "k")
        .await
        .unwrap();
    for sql in [
        "UPDATE trace_specimens SET quantity_micro = 2000000",
        "DELETE FROM trace_events",
        "UPDATE trace_documents SET status = 'cancelled'",
        "DELETE FROM trace_flows",
    ] {
        let r = db::with_db!(&f.t.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.map(|_| ())
        });
        let e = r.unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    f.t.drop_db().await.unwrap();
}
on_both_backends!(the_register_refuses_changes_and_deletions);

async fn plausibility_faults_are_stored_findings(backend: Backend) {
    let f = fixture(backend).await;
    let spec = |k: &str, amount: &str, unit: &str, tag: Option<&str>| {
        let mut s = json!({"key": k, "taxon": "10002", "term": "SKI", "quantity": {"amount": amount, "unit": unit}, "source": "W"});
        if let Some(t) = tag {
            s["identifiers"] = json!([{"scheme": "crocodilian_tag", "value": t}]);
        }
        s
    };
    let batch = json!({
        "specimens": [
            spec("lot", "10", "KGM", None),
            spec("part-1", "8", "KGM", Some("ZW24/000001NIL")),
            spec("part-2", "8", "KGM", Some("ZW24/000001NIL")),
            spec("orphan", "1", "NAR", None)
        ],
        "events": [
            {"key": "harvest", "kind": "wild_harvest", "at": "2024-03-01T00:00:00Z", "outputs": ["lot"]},
            {"key": "split", "kind": "split", "at": "2024-02-01T00:00:00Z", "inputs": ["lot"],
             "outputs": ["part-1", "part-2"]},
            {"key": "again", "kind": "destruction", "at": "2024-04-01T00:00:00Z", "inputs": [{"specimen": "lot", "quantity": {"amount": "500", "unit": "GRM"}}]}
        ]
    });
    let done = f.register.ingest(&batch, "k").await.unwrap();
    let rules: Vec<(&str, Severity)> = done
        .findings
        .iter()
        .map(|x| (x.rule.as_str(), x.severity))
        .collect();
    assert_eq!(
        rules,
        [
            ("conservation", Severity::Error),
            ("time_order", Severity::Error),
            ("consumption", Severity::Error),
            ("identifier_reused", Severity::Error),
            ("unrooted", Severity::Warning),
        ],
        "{:#?}",
        done.findings
    );
    let conservation = &done.findings[0];
    assert_eq!(conservation.numbers["inputs"], "10");
    assert_eq!(conservation.numbers["outputs"], "16");
    assert_eq!(conservation.numbers["limit"], "10.1");
    assert_eq!(conservation.nodes, ["split", "lot", "part-1", "part-2"]);
    assert_eq!(done.findings[2].numbers["consumed"], "10.5");
    // Stored with the batch: a retry gives them back.
    let again = f.register.ingest(&batch, "k").await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.findings, done.findings);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(plausibility_faults_are_stored_findings);

/// An identifier stored by an earlier batch is found again under its scheme (the look-up goes
/// scheme by scheme through the primary key); the same value under another scheme is another
/// identifier.
async fn an_identifier_reused_in_a_later_batch_is_a_finding(backend: Backend) {
    let f = fixture(backend).await;
    let batch = |key: &str, tags: &[(&str, &str)], event: &str| {
        let ids: Vec<_> = tags
            .iter()
            .map(|(scheme, value)| json!({"scheme": scheme, "value": value}))
            .collect();
        json!({
            "specimens": [{"key": key, "taxon": "10002", "term": "SKI",
                "quantity": {"amount": "1", "unit": "NAR"}, "source": "R", "identifiers": ids}],
            "events": [{"key": event, "kind": "ranching", "at": "2024-03-01T00:00:00Z",
                "outputs": [key]}]
        })
    };
    let tag = ("crocodilian_tag", "ZW24/000001NIL");
    let first = f
        .register
        .ingest(&batch("skin-1", &[tag, ("lot", "L-7")], "r1"), "k1")
        .await
        .unwrap();
    assert_eq!(first.findings, vec![]);
    // The tag's value under another scheme, and the lot number under another value: no finding.
    let other = f
        .register
        .ingest(
            &batch("skin-2", &[("ring", tag.1), ("lot", "L-8")], "r2"),
            "k2",
        )
        .await
        .unwrap();
    assert_eq!(other.findings, vec![], "{:#?}", other.findings);
    let again = f
        .register
        .ingest(&batch("skin-3", &[tag, ("lot", "L-7")], "r3"), "k3")
        .await
        .unwrap();
    let found: Vec<(&str, &[String])> = again
        .findings
        .iter()
        .map(|x| (x.rule.as_str(), x.nodes.as_slice()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "identifier_reused",
                &["skin-1".to_owned(), "skin-3".to_owned()][..]
            ),
            (
                "identifier_reused",
                &["skin-1".to_owned(), "skin-3".to_owned()][..]
            ),
        ],
        "{:#?}",
        again.findings
    );
    assert!(
        again.findings[0]
            .message
            .contains("crocodilian_tag ZW24/000001NIL")
    );
    assert!(again.findings[1].message.contains("lot L-7"));
    f.t.drop_db().await.unwrap();
}
on_both_backends!(an_identifier_reused_in_a_later_batch_is_a_finding);

async fn a_batch_over_the_size_limit_is_refused(backend: Backend) {
    let f = fixture(backend).await;
    let agents: Vec<_> = (0..=BATCH_RECORDS_MAX)
        .map(|i| json!({"key": format!("a{i}"), "kind": "trader", "name": "T"}))
        .collect();
    let e = f
        .register
        .ingest(&json!({"agents": agents}), "k")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { field: "batch", .. }), "{e}");
    assert_eq!(count(&f, "trace_batches").await, 0);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_batch_over_the_size_limit_is_refused);
