//! Origin, forward trace and look-ups over the scenarios, and over a chain 100,000 events deep
//! on a runtime worker thread.

use db::Backend;
use rust_decimal::Decimal;
use serde_json::json;
use trace::{EventKind, IdScheme, Limits, Node};

use crate::support::{fixture, on_both_backends, scenario};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

const CAVIAR_TIN: &str = "urn:cites:tin:IT-0001:24RU000123:0001";

async fn a_repackaged_caviar_tin_goes_back_to_its_harvest_with_every_document(backend: Backend) {
    let f = fixture(backend).await;
    f.register
        .ingest(&scenario("caviar"), "caviar")
        .await
        .unwrap();
    let o = f
        .register
        .origin(CAVIAR_TIN, Limits::default())
        .await
        .unwrap();
    assert!(!o.truncated);
    assert_eq!(o.acquisitions.len(), 1);
    let a = &o.acquisitions[0];
    assert_eq!(
        (a.event.as_str(), a.kind, a.share),
        ("ev:caviar:harvest", EventKind::WildHarvest, Decimal::ONE)
    );
    assert_eq!(
        a.path,
        [
            "ev:caviar:harvest",
            "urn:cites:fish:RU:2024:0451",
            "ev:caviar:processing",
            "urn:cites:lot:RU-AST-001:L24-017",
            "ev:caviar:tinning",
            "urn:cites:tin:RU-AST-001:L24-017:0001",
            "ev:caviar:repackaging",
            CAVIAR_TIN,
        ]
    );
    assert_eq!(o.unaccounted_share, Decimal::ZERO);
    let docs: Vec<(String, Vec<String>)> = o
        .documents
        .iter()
        .map(|d| {
            (
                format!("{}:{}:{}", d.country, d.doc_type, d.number),
                d.events.clone(),
            )
        })
        .collect();
    assert_eq!(
        docs,
        [
            (
                "IT:import_permit:IT24IM0001".to_owned(),
                vec!["ev:caviar:import".to_owned()]
            ),
            (
                "IT:re_export_certificate:IT24RE0007".to_owned(),
                vec!["ev:caviar:re-export".to_owned()]
            ),
            (
                "RU:export_permit:24RU000123".to_owned(),
                vec!["ev:caviar:export".to_owned(), "ev:caviar:import".to_owned()]
            ),
            (
                "RU:licence:HL-2024-0042".to_owned(),
                vec!["ev:caviar:harvest".to_owned()]
            ),
        ]
    );
    let permit = &o.documents[2];
    assert_eq!(
        (permit.permitted, permit.actual),
        (Some(dec("12")), Some(dec("12")))
    );
    // The two tins repackaged, the lot and the fish; not the ten other tins.
    let specimens = o
        .nodes
        .iter()
        .filter(|n| matches!(n, Node::Specimen { .. }))
        .count();
    let events = o
        .nodes
        .iter()
        .filter(|n| matches!(n, Node::Event { .. }))
        .count();
    assert_eq!((specimens, events), (5, 7));
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_repackaged_caviar_tin_goes_back_to_its_harvest_with_every_document);

/// A trace's documents: each at its latest revision, and only those of the events the trace
/// keeps (a forward trace from the fish leaves out its harvest and the licence).
async fn a_trace_shows_the_latest_revision_of_the_documents_of_its_own_events(backend: Backend) {
    let f = fixture(backend).await;
    f.register
        .ingest(&scenario("caviar"), "caviar")
        .await
        .unwrap();
    let restated = json!({"documents": [{"country": "IT", "type": "re_export_certificate",
        "number": "IT24RE0007", "status": "cancelled", "issued_on": "2024-06-05",
        "valid_from": "2024-06-05", "valid_until": "2024-12-04", "taxon": "10001",
        "permitted": {"amount": "2", "unit": "KGM"}, "actual": {"amount": "2", "unit": "KGM"},
        "issuer": "agent:it-ma"}]});
    f.register.ingest(&restated, "restated").await.unwrap();
    let views = |docs: &[trace::DocumentView]| -> Vec<(String, i64, String, Vec<String>)> {
        docs.iter()
            .map(|d| {
                (
                    d.number.clone(),
                    d.revision,
                    d.status.clone(),
                    d.events.clone(),
                )
            })
            .collect()
    };
    let o = f
        .register
        .origin(CAVIAR_TIN, Limits::default())
        .await
        .unwrap();
    let certificate = views(&o.documents)
        .into_iter()
        .find(|d| d.0 == "IT24RE0007")
        .unwrap();
    assert_eq!(
        certificate,
        (
            "IT24RE0007".to_owned(),
            2,
            "cancelled".to_owned(),
            vec!["ev:caviar:re-export".to_owned()]
        )
    );
    let fwd = f
        .register
        .forward("urn:cites:fish:RU:2024:0451", Limits::default())
        .await
        .unwrap();
    let numbers: Vec<(String, i64)> = views(&fwd.documents)
        .into_iter()
        .map(|d| (d.0, d.1))
        .collect();
    assert_eq!(
        numbers,
        [
            ("IT24IM0001".to_owned(), 1),
            ("IT24RE0007".to_owned(), 2),
            ("24RU000123".to_owned(), 1)
        ]
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_trace_shows_the_latest_revision_of_the_documents_of_its_own_events);

async fn a_handbag_of_two_skins_owes_half_to_each_ranching(backend: Backend) {
    let f = fixture(backend).await;
    f.register
        .ingest(&scenario("crocodile"), "croc")
        .await
        .unwrap();
    let o = f
        .register
        .origin("urn:cites:handbag:FR:0001", Limits::default())
        .await
        .unwrap();
    let reached: Vec<(&str, Decimal)> = o
        .acquisitions
        .iter()
        .map(|a| (a.event.as_str(), a.share))
        .collect();
    assert_eq!(
        reached,
        [
            ("ev:croc:ranching-2022", dec("0.5")),
            ("ev:croc:ranching-2023", dec("0.5"))
        ]
    );
    assert_eq!(
        o.acquisitions[1].path,
        [
            "ev:croc:ranching-2023",
            "urn:cites:croc:ZW-R-07:2023:0202",
            "ev:croc:skinning-0202",
            "urn:cites:skin:ZW24-000202NIL",
            "ev:croc:handbags",
            "urn:cites:handbag:FR:0001",
        ]
    );
    let numbers: Vec<&str> = o.documents.iter().map(|d| d.number.as_str()).collect();
    assert_eq!(numbers, ["FR24-IMP-0991", "FR24-RE-0100", "24ZW00055"]);
    // The edges come in key order (event; input, output, subject; specimen), whatever order
    // the backend gave the rows in.
    let keyed: Vec<(&str, u8, &str)> = o
        .edges
        .iter()
        .map(|e| match e.kind {
            "input" => (e.to.as_str(), 0, e.from.as_str()),
            "output" => (e.from.as_str(), 1, e.to.as_str()),
            _ => (e.to.as_str(), 2, e.from.as_str()),
        })
        .collect();
    let mut sorted = keyed.clone();
    sorted.sort_unstable();
    assert_eq!(keyed, sorted);
    assert!(
        keyed.iter().any(|k| k.1 == 0) && keyed.iter().any(|k| k.1 == 2),
        "{keyed:?}"
    );
    // The tag leads to the skin; the export permit to its events.
    let tagged = f
        .register
        .by_identifier(Some(IdScheme::CrocodilianTag), "ZW24/000101NIL")
        .await
        .unwrap();
    assert_eq!(
        tagged,
        [(
            "crocodilian_tag".to_owned(),
            "ZW24/000101NIL".to_owned(),
            "urn:cites:skin:ZW24-000101NIL".to_owned()
        )]
    );
    let permit = f.register.by_document("24ZW00055").await.unwrap();
    assert_eq!(permit.len(), 1);
    assert_eq!(permit[0].events, ["ev:croc:export"]);
    // Forward from the first ranching: its animal, skin, and both handbags at a half each.
    let fwd = f
        .register
        .forward_from_event("ev:croc:ranching-2022", Limits::default())
        .await
        .unwrap();
    assert_eq!(
        fwd.descendants,
        [
            ("urn:cites:croc:ZW-R-07:2022:0101".to_owned(), Decimal::ONE),
            ("urn:cites:skin:ZW24-000101NIL".to_owned(), Decimal::ONE),
            ("urn:cites:handbag:FR:0001".to_owned(), dec("0.5")),
            ("urn:cites:handbag:FR:0002".to_owned(), dec("0.5")),
        ]
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_handbag_of_two_skins_owes_half_to_each_ranching);

async fn limits_cut_a_trace_and_say_so(backend: Backend) {
    let f = fixture(backend).await;
    f.register
        .ingest(&scenario("caviar"), "caviar")
        .await
        .unwrap();
    let o = f
        .register
        .origin(
            CAVIAR_TIN,
            Limits {
                depth: 2,
                nodes: 100,
            },
        )
        .await
        .unwrap();
    assert!(o.truncated);
    assert!(o.acquisitions.is_empty());
    assert_eq!(o.unaccounted_share, Decimal::ONE);
    let fwd = f
        .register
        .forward(
            "urn:cites:lot:RU-AST-001:L24-017",
            Limits {
                depth: 10,
                nodes: 5,
            },
        )
        .await
        .unwrap();
    assert!(fwd.truncated);
    assert_eq!(fwd.descendants.len(), 4);
    let e = f
        .register
        .origin(CAVIAR_TIN, Limits { depth: 0, nodes: 1 })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("depth"), "{e}");
    f.t.drop_db().await.unwrap();
}
on_both_backends!(limits_cut_a_trace_and_say_so);

/// The statement a trace runs, alone (what the trace bench times beside the whole query): it
/// runs within the limits a trace takes and refuses those a trace refuses.
async fn a_trace_statement_runs_alone_within_the_limits_a_trace_takes(backend: Backend) {
    let f = fixture(backend).await;
    f.register
        .ingest(&scenario("caviar"), "caviar")
        .await
        .unwrap();
    for backward in [true, false] {
        f.register
            .trace_statement_only(CAVIAR_TIN, backward, Limits::default())
            .await
            .unwrap();
    }
    for (limits, field) in [
        (Limits { depth: 0, nodes: 1 }, "depth"),
        (
            Limits {
                depth: 1,
                nodes: trace::NODES_MAX + 1,
            },
            "nodes",
        ),
    ] {
        let e = f
            .register
            .trace_statement_only(CAVIAR_TIN, true, limits)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, trace::Error::Invalid { field: f, .. } if *f == field),
            "{e}"
        );
    }
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_trace_statement_runs_alone_within_the_limits_a_trace_takes);

/// Events in the deep chain.
const CHAIN: usize = 100_000;

async fn a_chain_100000_deep_is_traced_on_a_worker_thread(backend: Backend) {
    let f = fixture(backend).await;
    let spec = |i: usize| json!({"key": format!("s{i}"), "taxon": "1", "term": "SKI", "quantity": {"amount": "1"}, "source": "W"});
    let per_batch = trace::BATCH_RECORDS_MAX / 2;
    let mut i = 0;
    while i <= CHAIN {
        let end = (i + per_batch).min(CHAIN + 1);
        let specimens: Vec<_> = (i..end).map(spec).collect();
        let events: Vec<_> = (i..end)
            .map(|j| {
                if j == 0 {
                    json!({"key": "e0", "kind": "wild_harvest", "at": "2024-01-01T00:00:00Z", "outputs": ["s0"]})
                } else {
                    json!({"key": format!("e{j}"), "kind": "relabel", "at": "2024-01-02T00:00:00Z",
                           "inputs": [format!("s{}", j - 1)], "outputs": [format!("s{j}")]})
                }
            })
            .collect();
        let done = f
            .register
            .ingest(
                &json!({"specimens": specimens, "events": events}),
                &format!("chain-{i}"),
            )
            .await
            .unwrap();
        assert_eq!(done.findings, vec![]);
        i = end;
    }
    let all = Limits {
        depth: trace::DEPTH_MAX,
        nodes: trace::NODES_MAX,
    };
    let o = f.register.origin(&format!("s{CHAIN}"), all).await.unwrap();
    assert!(!o.truncated);
    assert_eq!(o.acquisitions.len(), 1);
    assert_eq!(o.acquisitions[0].share, Decimal::ONE);
    assert_eq!(o.acquisitions[0].path.len(), 2 * CHAIN + 2);
    let fwd = f.register.forward_from_event("e0", all).await.unwrap();
    assert_eq!(fwd.descendants.len(), CHAIN + 1);
    assert_eq!(fwd.descendants[CHAIN], (format!("s{CHAIN}"), Decimal::ONE));
    let cut = f
        .register
        .origin(&format!("s{CHAIN}"), Limits::default())
        .await
        .unwrap();
    assert!(cut.truncated);
    // The full sweep over the same chain, on a runtime worker thread (a 2 MiB stack).
    let register = f.register.clone();
    let sweep = tokio::spawn(async move {
        register
            .sweep(
                &trace::TraceConfig::default(),
                &std::collections::HashMap::new(),
                &|_, _| {},
            )
            .await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        (sweep.specimens, sweep.events),
        (CHAIN as u64 + 1, CHAIN as u64 + 1)
    );
    assert!(
        !sweep.has_errors(),
        "{:?}",
        &sweep.findings[..sweep.findings.len().min(3)]
    );
    let rules: Vec<&str> = sweep.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["acquisition_evidence", "taxon_unknown"]);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(multi_thread a_chain_100000_deep_is_traced_on_a_worker_thread);
