//! EPCIS 2.0: every example document GS1 publishes with the standard is accepted once the
//! objects it names are in the register, or refused with a reason naming the event and the
//! field; a CITES-described document commissions, transforms and ships specimens; an
//! aggregation ADD merges its children into its parent; a transformation's outputs inherit
//! their inputs' taxon, refused when the inputs disagree.

use db::Backend;
use serde_json::{Value, json};
use trace::{DERIVED_EVENT_PREFIX, Error, Limits, Node, Problem};

use crate::support::{Fixture, count, fixture, fixture_path, on_both_backends};

fn gs1(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(&format!("epcis/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Registers specimens with no history (`(key, amount, unit)`) through the project's JSON.
async fn register(f: &Fixture, objects: &[(&str, &str, &str)]) {
    let specimens: Vec<Value> = objects
        .iter()
        .map(|(k, a, u)| json!({"key": k, "taxon": "10001", "term": "CAV", "quantity": {"amount": a, "unit": u}, "source": "W"}))
        .collect();
    f.register
        .ingest(&json!({"specimens": specimens}), "objects")
        .await
        .unwrap();
}

async fn refused(f: &Fixture, doc: &Value) -> Vec<Problem> {
    match f.register.ingest_epcis(doc, "epcis").await {
        Err(Error::Refused { problems }) => problems,
        other => panic!("not refused: {other:?}"),
    }
}

fn paths(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.path.as_str()).collect()
}

async fn example_9_6_1_object_events_ship_and_receive_registered_objects(backend: Backend) {
    let f = fixture(backend).await;
    let doc = gs1("Example_9.6.1-ObjectEvent.jsonld");
    let problems = refused(&f, &doc).await;
    assert_eq!(
        paths(&problems),
        [
            "epcisBody.eventList[0].epcList[0]",
            "epcisBody.eventList[0].epcList[1]",
            "epcisBody.eventList[1].epcList[0]",
        ]
    );
    assert!(
        problems[0]
            .message
            .contains("unknown specimen urn:epc:id:sgtin:0614141.107346.2017")
    );
    register(
        &f,
        &[
            ("urn:epc:id:sgtin:0614141.107346.2017", "1", "NAR"),
            ("urn:epc:id:sgtin:0614141.107346.2018", "1", "NAR"),
        ],
    )
    .await;
    let done = f.register.ingest_epcis(&doc, "epcis").await.unwrap();
    assert_eq!(done.findings, vec![]);
    assert_eq!(count(&f, "trace_events").await, 2);
    // Purchase orders and despatch advices are not CITES documents.
    assert_eq!(count(&f, "trace_event_documents").await, 0);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(example_9_6_1_object_events_ship_and_receive_registered_objects);

async fn example_9_6_2_a_class_level_quantity_is_custody_of_a_lot(backend: Backend) {
    let f = fixture(backend).await;
    let doc = gs1("Example_9.6.2-ObjectEvent.jsonld");
    let problems = refused(&f, &doc).await;
    assert_eq!(
        paths(&problems),
        ["epcisBody.eventList[0].quantityList[0].epcClass"]
    );
    register(
        &f,
        &[("urn:epc:class:lgtin:4012345.012345.998877", "200", "KGM")],
    )
    .await;
    f.register.ingest_epcis(&doc, "epcis").await.unwrap();
    assert_eq!(count(&f, "trace_flows").await, 1);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(example_9_6_2_a_class_level_quantity_is_custody_of_a_lot);

async fn example_9_6_3_an_aggregation_is_custody_of_its_children(backend: Backend) {
    let f = fixture(backend).await;
    let doc = gs1("Example_9.6.3-AggregationEvent.jsonld");
    // A count against a lot kept in kilograms cannot be converted: named at the quantity.
    register(
        &f,
        &[
            ("urn:epc:id:sgtin:0614141.107346.2017", "1", "NAR"),
            ("urn:epc:id:sgtin:0614141.107346.2018", "1", "NAR"),
            ("urn:epc:idpat:sgtin:4012345.098765.*", "10", "KGM"),
        ],
    )
    .await;
    let problems = refused(&f, &doc).await;
    assert_eq!(
        paths(&problems),
        [
            "epcisBody.eventList[0].childQuantityList[0].quantity",
            "epcisBody.eventList[0].childQuantityList[1].epcClass",
        ],
        "{problems:#?}"
    );
    assert!(
        problems[0].message.contains("NAR") && problems[0].message.contains("KGM"),
        "{problems:#?}"
    );
    let g = fixture(backend).await;
    register(
        &g,
        &[
            ("urn:epc:id:sgtin:0614141.107346.2017", "1", "NAR"),
            ("urn:epc:id:sgtin:0614141.107346.2018", "1", "NAR"),
            ("urn:epc:idpat:sgtin:4012345.098765.*", "10", "NAR"),
            ("urn:epc:class:lgtin:4012345.012345.998877", "200.5", "KGM"),
        ],
    )
    .await;
    g.register.ingest_epcis(&doc, "epcis").await.unwrap();
    assert_eq!(count(&g, "trace_flows").await, 4);
    f.t.drop_db().await.unwrap();
    g.t.drop_db().await.unwrap();
}
on_both_backends!(example_9_6_3_an_aggregation_is_custody_of_its_children);

async fn example_9_6_4_a_transformation_without_cites_master_data_is_refused(backend: Backend) {
    let f = fixture(backend).await;
    let problems = refused(&f, &gs1("Example_9.6.4-TransformationEvent.jsonld")).await;
    // The taxon would be inherited from the inputs; the term and source are the outputs' own.
    assert_eq!(
        paths(&problems),
        [
            "epcisBody.eventList[0].ilmd.cites:term",
            "epcisBody.eventList[0].ilmd.cites:source",
        ]
    );
    assert!(
        problems[0].message.contains("new specimens"),
        "{problems:#?}"
    );
    assert_eq!(count(&f, "trace_batches").await, 0);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(example_9_6_4_a_transformation_without_cites_master_data_is_refused);

async fn transaction_events_without_an_event_id_get_a_derived_key(backend: Backend) {
    let f = fixture(backend).await;
    let doc = gs1("Example-TransactionEvents-2020_07_03y.jsonld");
    let problems = refused(&f, &doc).await;
    assert_eq!(
        paths(&problems),
        [
            "epcisBody.eventList[0].epcList[0]",
            "epcisBody.eventList[1].epcList[0]"
        ]
    );
    register(
        &f,
        &[
            ("urn:epc:id:gsrn:95252084.000000001", "1", "NAR"),
            ("urn:epc:id:giai:952005385.w2", "1", "NAR"),
        ],
    )
    .await;
    let first = f.register.ingest_epcis(&doc, "tx").await.unwrap();
    let again = f.register.ingest_epcis(&doc, "tx").await.unwrap();
    assert!(again.replayed && again.batch_id == first.batch_id);
    let keys: Vec<String> = db::with_db!(&f.t.db, pool => {
        sqlx::query_scalar("SELECT key FROM trace_events ORDER BY key").fetch_all(pool).await.unwrap()
    });
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter().all(|k| k.starts_with(DERIVED_EVENT_PREFIX)),
        "{keys:?}"
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(transaction_events_without_an_event_id_get_a_derived_key);

/// GS1's error-declaration example with CITES master data added to both events.
fn declared_in_error() -> Value {
    let mut doc = gs1("ErrorDeclarationAndCorrectiveEvent.jsonld");
    for e in doc["epcisBody"]["eventList"].as_array_mut().unwrap() {
        e["ilmd"] = json!({"cites:taxon": "10001", "cites:term": "CAV", "cites:source": "W"});
    }
    doc
}

async fn an_error_declaration_is_a_correction_and_the_corrective_event_is_read(backend: Backend) {
    let f = fixture(backend).await;
    let problems = refused(&f, &gs1("ErrorDeclarationAndCorrectiveEvent.jsonld")).await;
    assert_eq!(
        paths(&problems),
        [
            "epcisBody.eventList[1].ilmd.cites:term",
            "epcisBody.eventList[1].ilmd.cites:source",
        ]
    );
    register(
        &f,
        &[
            ("urn:epc:id:sgtin:4012345.011111.987", "1", "NAR"),
            (
                "urn:epc:class:lgtin:4012345.022222.87545GHGH",
                "1000",
                "KGM",
            ),
        ],
    )
    .await;
    let done = f
        .register
        .ingest_epcis(&declared_in_error(), "epcis")
        .await
        .unwrap();
    let rules: Vec<&str> = done.findings.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, ["conservation_unverifiable"]);
    assert_eq!(count(&f, "trace_corrections").await, 1);
    let o = f
        .register
        .origin("urn:epc:idpat:sgtin:4012345.044444.*", Limits::default())
        .await
        .unwrap();
    let events: Vec<&str> = o
        .nodes
        .iter()
        .filter(|n| matches!(n, Node::Event { .. }))
        .map(|n| n.key())
        .collect();
    assert_eq!(events, ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"]);
    let lot = o
        .nodes
        .iter()
        .find(|n| n.key() == "urn:epc:idpat:sgtin:4012345.044444.*")
        .unwrap();
    let Node::Specimen { quantity, unit, .. } = lot else {
        panic!()
    };
    assert_eq!(
        (quantity.to_string().as_str(), unit.as_str()),
        ("500", "KGM")
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(an_error_declaration_is_a_correction_and_the_corrective_event_is_read);

async fn a_cites_described_document_commissions_and_exports_a_skin(backend: Backend) {
    let f = fixture(backend).await;
    f.register
        .ingest(
            &json!({"documents": [
                {"country": "ZW", "type": "licence", "number": "RL-2024-7", "status": "issued"},
                {"country": "ZW", "type": "export_permit", "number": "24ZW00077", "status": "issued"}
            ]}),
            "documents",
        )
        .await
        .unwrap();
    let doc = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"cites": "urn:cites:"}],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-03-01T00:00:00Z",
        "epcisBody": {"eventList": [
            {"type": "ObjectEvent", "eventID": "urn:uuid:1", "action": "ADD", "bizStep": "commissioning",
             "eventTime": "2024-01-10T08:00:00+02:00", "eventTimeZoneOffset": "+02:00",
             "epcList": ["urn:cites:skin:ZW24-000303NIL"],
             "bizTransactionList": [{"type": "cites:licence", "bizTransaction": "urn:cites:document:ZW:licence:RL-2024-7"}],
             "ilmd": {"cites:acquisition": "ranching", "cites:taxon": "10002", "cites:term": "SKI", "cites:source": "R"}},
            {"type": "ObjectEvent", "eventID": "urn:uuid:2", "action": "OBSERVE", "bizStep": "shipping",
             "eventTime": "2024-03-01T08:00:00+02:00", "eventTimeZoneOffset": "+02:00",
             "epcList": ["urn:cites:skin:ZW24-000303NIL"], "cites:eventKind": "export", "cites:country": "ZW",
             "certificationInfo": "urn:cites:document:ZW:export_permit:24ZW00077"}
        ]}
    });
    f.register.ingest_epcis(&doc, "epcis").await.unwrap();
    let o = f
        .register
        .origin("urn:cites:skin:ZW24-000303NIL", Limits::default())
        .await
        .unwrap();
    assert_eq!(o.acquisitions.len(), 1);
    assert_eq!(o.acquisitions[0].event, "urn:uuid:1");
    let numbers: Vec<&str> = o.documents.iter().map(|d| d.number.as_str()).collect();
    assert_eq!(numbers, ["24ZW00077", "RL-2024-7"]);
    // A document the register does not hold, and an unknown kind, are named.
    let mut bad = doc.clone();
    bad["epcisBody"]["eventList"][1]["certificationInfo"] = json!("urn:cites:document:ZW:permit:1");
    bad["epcisBody"]["eventList"][0]["ilmd"]["cites:acquisition"] = json!("found");
    let problems = match f.register.ingest_epcis(&bad, "bad").await {
        Err(Error::Refused { problems }) => problems,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        paths(&problems),
        [
            "epcisBody.eventList[0].ilmd.cites:acquisition",
            "epcisBody.eventList[1].certificationInfo"
        ]
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_cites_described_document_commissions_and_exports_a_skin);

/// A CITES document of events on registered specimens (`register` first).
fn epcis_doc(events: Value) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"cites": "urn:cites:"}],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2024-06-01T00:00:00Z",
        "epcisBody": {"eventList": events}
    })
}

async fn an_aggregation_add_merges_its_children_into_the_parent(backend: Backend) {
    let f = fixture(backend).await;
    register(
        &f,
        &[
            ("urn:cites:lot:a", "2", "KGM"),
            ("urn:cites:lot:b", "500", "GRM"),
        ],
    )
    .await;
    let pack = |parent: Option<&str>| {
        let mut e = json!({"type": "AggregationEvent", "eventID": "urn:uuid:pack", "action": "ADD",
            "eventTime": "2024-05-01T10:00:00Z", "eventTimeZoneOffset": "+00:00",
            "childQuantityList": [{"epcClass": "urn:cites:lot:a", "quantity": 2, "uom": "KGM"}],
            "childEPCs": ["urn:cites:lot:b"], "cites:agent": "agent:none"});
        if let Some(p) = parent {
            e["parentID"] = json!(p);
        }
        epcis_doc(json!([e]))
    };
    // No parent: named; an agent the register does not hold: named.
    let problems = refused(&f, &pack(None)).await;
    assert_eq!(paths(&problems), ["epcisBody.eventList[0].parentID"]);
    let problems = refused(&f, &pack(Some("urn:cites:lot:ab"))).await;
    assert_eq!(paths(&problems), ["epcisBody.eventList[0].agent"]);
    let mut doc = pack(Some("urn:cites:lot:ab"));
    doc["epcisBody"]["eventList"][0]
        .as_object_mut()
        .unwrap()
        .remove("cites:agent");
    f.register.ingest_epcis(&doc, "pack").await.unwrap();
    let o = f
        .register
        .origin("urn:cites:lot:ab", Limits::default())
        .await
        .unwrap();
    let events: Vec<(&str, &str)> = o
        .nodes
        .iter()
        .filter_map(|n| match n {
            Node::Event { key, event, .. } => Some((key.as_str(), event.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(events, [("urn:uuid:pack", "merge")]);
    // The parent is the sum of its children in the first child's unit (childEPCs are read
    // before childQuantityList), with their description.
    let Some(Node::Specimen {
        quantity,
        unit,
        taxon,
        term,
        source,
        ..
    }) = o.nodes.iter().find(|n| n.key() == "urn:cites:lot:ab")
    else {
        panic!("{o:?}")
    };
    assert_eq!(
        (
            quantity.to_string(),
            unit.as_str(),
            *taxon,
            term.as_str(),
            source.as_str()
        ),
        ("2500".to_owned(), "GRM", 10001, "CAV", "W")
    );
    let mut inputs: Vec<&str> = o
        .edges
        .iter()
        .filter(|e| e.kind == "input")
        .map(|e| e.from.as_str())
        .collect();
    inputs.sort_unstable();
    assert_eq!(inputs, ["urn:cites:lot:a", "urn:cites:lot:b"]);

    // Children of two taxa: the parent's taxon is named, unless the event declares it.
    f.register
        .ingest(
            &json!({"specimens": [{"key": "urn:cites:lot:c", "taxon": "10002", "term": "CAV",
                "quantity": {"amount": "1", "unit": "KGM"}, "source": "W"}]}),
            "c",
        )
        .await
        .unwrap();
    let mixed = |declared: Option<&str>| {
        let mut e = json!({"type": "AggregationEvent", "eventID": "urn:uuid:mixed", "action": "ADD",
            "eventTime": "2024-05-03T10:00:00Z", "eventTimeZoneOffset": "+00:00",
            "parentID": "urn:cites:lot:mixed", "childEPCs": ["urn:cites:lot:ab", "urn:cites:lot:c"]});
        if let Some(t) = declared {
            e["cites:taxon"] = json!(t);
        }
        epcis_doc(json!([e]))
    };
    let problems = refused(&f, &mixed(None)).await;
    assert_eq!(paths(&problems), ["epcisBody.eventList[0].cites:taxon"]);
    assert!(
        problems[0].message.contains("inputs disagree"),
        "{problems:#?}"
    );
    f.register
        .ingest_epcis(&mixed(Some("10001")), "mixed")
        .await
        .unwrap();
    let o = f
        .register
        .origin("urn:cites:lot:mixed", Limits::default())
        .await
        .unwrap();
    assert!(
        o.nodes.iter().any(|n| matches!(n, Node::Specimen { key, taxon: 10001, .. } if key == "urn:cites:lot:mixed")),
        "{o:?}"
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(an_aggregation_add_merges_its_children_into_the_parent);

async fn a_transformations_outputs_inherit_the_inputs_taxon_or_are_refused(backend: Backend) {
    let f = fixture(backend).await;
    register(
        &f,
        &[
            ("urn:cites:fish:1", "80", "KGM"),
            ("urn:cites:fish:2", "60", "KGM"),
        ],
    )
    .await;
    f.register
        .ingest(
            &json!({"specimens": [{"key": "urn:cites:fish:other", "taxon": "10002", "term": "LIV",
                "quantity": {"amount": "50", "unit": "KGM"}, "source": "W"}]}),
            "other",
        )
        .await
        .unwrap();
    let process = |inputs: &[&str]| {
        let ins: Vec<Value> = inputs
            .iter()
            .map(|k| json!({"epcClass": k, "quantity": 10, "uom": "KGM"}))
            .collect();
        epcis_doc(
            json!([{"type": "TransformationEvent", "eventID": "urn:uuid:process",
            "eventTime": "2024-05-02T10:00:00Z", "eventTimeZoneOffset": "+00:00",
            "cites:eventKind": "transform", "inputQuantityList": ins,
            "outputQuantityList": [{"epcClass": "urn:cites:caviar:1", "quantity": 2, "uom": "KGM"}],
            "ilmd": {"cites:term": "CAV", "cites:source": "W"}}]),
        )
    };
    let problems = refused(&f, &process(&["urn:cites:fish:1", "urn:cites:fish:other"])).await;
    assert_eq!(
        paths(&problems),
        ["epcisBody.eventList[0].ilmd.cites:taxon"]
    );
    assert!(
        problems[0].message.contains("inputs disagree")
            && problems[0].message.contains("10001")
            && problems[0].message.contains("10002"),
        "{problems:#?}"
    );
    assert_eq!(count(&f, "trace_events").await, 0);
    f.register
        .ingest_epcis(
            &process(&["urn:cites:fish:1", "urn:cites:fish:2"]),
            "process",
        )
        .await
        .unwrap();
    let o = f
        .register
        .origin("urn:cites:caviar:1", Limits::default())
        .await
        .unwrap();
    let Some(Node::Specimen {
        taxon,
        term,
        quantity,
        ..
    }) = o.nodes.iter().find(|n| n.key() == "urn:cites:caviar:1")
    else {
        panic!("{o:?}")
    };
    assert_eq!(
        (*taxon, term.as_str(), quantity.to_string()),
        (10001, "CAV", "2".to_owned())
    );
    // A kind a transformation cannot be is named.
    let mut bad = process(&["urn:cites:fish:2"]);
    bad["epcisBody"]["eventList"][0]["cites:eventKind"] = json!("export");
    let problems = refused(&f, &bad).await;
    assert_eq!(paths(&problems), ["epcisBody.eventList[0].cites:eventKind"]);
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_transformations_outputs_inherit_the_inputs_taxon_or_are_refused);
