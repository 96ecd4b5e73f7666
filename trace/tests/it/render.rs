//! The outputs of an answer as a person or another system meets them: the DOT text is
//! byte-identical for the same answer (a golden file reviewed by hand); the SVG picture parses,
//! every box is inside the picture and clear of the others, every arrow joins its two boxes
//! and passes beside the rest, every node's text is there and a cut trace says so; the EPCIS
//! export validates against GS1's JSON schema and, ingested into another register, gives the
//! same origin.

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use db::Backend;
use serde_json::{Value, json};
use trace::render::{dot, epcis_out, svg};
use trace::{Forward, Limits, Node, Origin, RenderError};

use crate::support::{Fixture, fixture, fixture_path, on_both_backends, scenario};

const CAVIAR_TIN: &str = "urn:cites:tin:IT-0001:24RU000123:0001";
const HANDBAG: &str = "urn:cites:handbag:FR:0001";

async fn loaded(backend: Backend, name: &str) -> Fixture {
    let f = fixture(backend).await;
    f.register.ingest(&scenario(name), name).await.unwrap();
    f
}

fn golden(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/golden")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn the_dot_of_an_origin_is_byte_identical_to_its_reviewed_text(backend: Backend) {
    let f = loaded(backend, "caviar").await;
    let o = f
        .register
        .origin(CAVIAR_TIN, Limits::default())
        .await
        .unwrap();
    let text = dot::render(&o.view());
    assert_eq!(text, golden("caviar-origin.dot"));
    // Asked again, the same text; every node and edge is in it once.
    let again = f
        .register
        .origin(CAVIAR_TIN, Limits::default())
        .await
        .unwrap();
    assert_eq!(dot::render(&again.view()), text);
    assert_eq!(text.matches(" -> ").count(), o.edges.len());
    assert_eq!(text.matches("shape=box").count(), o.nodes.len());
    f.t.drop_db().await.unwrap();
}
on_both_backends!(the_dot_of_an_origin_is_byte_identical_to_its_reviewed_text);

#[test]
fn dot_labels_escape_quotes_backslashes_and_line_breaks() {
    let o = Origin {
        specimen: "urn:x:a\"b\\c".to_owned(),
        nodes: vec![Node::Specimen {
            key: "urn:x:a\"b\\c".to_owned(),
            taxon: 1,
            term: "SKI".to_owned(),
            quantity: "1.50".parse().unwrap(),
            unit: "KGM".to_owned(),
            source: "W".to_owned(),
            depth: 0,
        }],
        edges: vec![],
        acquisitions: vec![],
        unaccounted_share: rust_decimal::Decimal::ONE,
        documents: vec![],
        truncated: true,
    };
    let text = dot::render(&o.view());
    assert!(
        text.contains(
            "\"specimen:urn:x:a\\\"b\\\\c\" [shape=box, penwidth=2, label=\"specimen\\nurn:x:a\\\"b\\\\c\\ntaxon 1 · SKI · source W\\n1.5 KGM\"];"
        ),
        "{text}"
    );
    assert!(text.contains("TRUNCATED"), "{text}");
}

/// A box of the picture.
#[derive(Debug, Clone, Copy)]
struct Box2 {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Box2 {
    fn on_border(&self, (px, py): (f64, f64)) -> bool {
        let e = 0.5;
        let within = px >= self.x - e
            && px <= self.x + self.w + e
            && py >= self.y - e
            && py <= self.y + self.h + e;
        let edge = (px - self.x).abs() < e
            || (px - self.x - self.w).abs() < e
            || (py - self.y).abs() < e
            || (py - self.y - self.h).abs() < e;
        within && edge
    }

    fn strictly_contains(&self, (px, py): (f64, f64)) -> bool {
        let e = 1.0;
        px > self.x + e && px < self.x + self.w - e && py > self.y + e && py < self.y + self.h - e
    }
}

fn attr(n: roxmltree::Node<'_, '_>, name: &str) -> f64 {
    n.attribute(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .parse()
        .unwrap()
}

/// Checks the picture as a person sees it, against the answer's nodes and edges.
fn check_picture(svg: &str, nodes: &[Node], edges: usize, documents: &[trace::DocumentView]) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    let view: Vec<f64> = root
        .attribute("viewBox")
        .unwrap()
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    let (vw, vh) = (view[2], view[3]);
    assert!(vw > 0.0 && vh > 0.0);
    let mut boxes: HashMap<(String, String), (Box2, String)> = HashMap::new();
    for g in root
        .descendants()
        .filter(|n| n.attribute("class") == Some("node"))
    {
        let rect = g.children().find(|c| c.has_tag_name("rect")).unwrap();
        let b = Box2 {
            x: attr(rect, "x"),
            y: attr(rect, "y"),
            w: attr(rect, "width"),
            h: attr(rect, "height"),
        };
        let text: Vec<&str> = g
            .descendants()
            .filter(|n| n.has_tag_name("tspan"))
            .filter_map(|n| n.text())
            .collect();
        let key = (
            g.attribute("data-kind").unwrap().to_owned(),
            g.attribute("data-key").unwrap().to_owned(),
        );
        assert!(boxes.insert(key, (b, text.join("\n"))).is_none());
    }
    assert_eq!(boxes.len(), nodes.len());
    // Every node's box, inside the picture, with its text.
    for n in nodes {
        let (kind, lines) = match n {
            Node::Specimen {
                taxon,
                term,
                quantity,
                unit,
                ..
            } => (
                "specimen",
                vec![
                    format!("taxon {taxon}"),
                    term.clone(),
                    format!("{} {unit}", quantity.normalize()),
                ],
            ),
            Node::Event { event, .. } => {
                let mut l = vec![event.clone()];
                l.extend(
                    documents
                        .iter()
                        .filter(|d| d.events.iter().any(|e| e == n.key()))
                        .map(|d| d.number.clone()),
                );
                ("event", l)
            }
        };
        let (b, text) = &boxes[&(kind.to_owned(), n.key().to_owned())];
        assert!(
            b.x >= 0.0 && b.y >= 0.0 && b.x + b.w <= vw && b.y + b.h <= vh,
            "{} outside the picture: {b:?}",
            n.key()
        );
        assert!(text.contains(n.key()), "{text}");
        for l in lines {
            assert!(text.contains(&l), "{l:?} not in {text:?}");
        }
    }
    // No two boxes overlap.
    let all: Vec<(&(String, String), Box2)> = boxes.iter().map(|(k, (b, _))| (k, *b)).collect();
    for (i, (ka, a)) in all.iter().enumerate() {
        for (kb, b) in &all[i + 1..] {
            let apart =
                a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
            assert!(apart, "{ka:?} {a:?} overlaps {kb:?} {b:?}");
        }
    }
    // Every edge joins its two boxes and passes beside every other.
    let mut drawn = 0;
    for g in root
        .descendants()
        .filter(|n| n.attribute("class") == Some("edge"))
    {
        drawn += 1;
        let kind = g.attribute("data-kind").unwrap();
        let (from_kind, to_kind) = if kind == "output" {
            ("event", "specimen")
        } else {
            ("specimen", "event")
        };
        let from = (
            from_kind.to_owned(),
            g.attribute("data-from").unwrap().to_owned(),
        );
        let to = (
            to_kind.to_owned(),
            g.attribute("data-to").unwrap().to_owned(),
        );
        let line = g.children().find(|c| c.has_tag_name("polyline")).unwrap();
        let pts: Vec<(f64, f64)> = line
            .attribute("points")
            .unwrap()
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert!(boxes[&from].0.on_border(pts[0]), "{from:?} {pts:?}");
        assert!(boxes[&to].0.on_border(pts[pts.len() - 1]), "{to:?} {pts:?}");
        for w in pts.windows(2) {
            for step in 0..=40 {
                let t = f64::from(step) / 40.0;
                let p = (
                    w[0].0 + (w[1].0 - w[0].0) * t,
                    w[0].1 + (w[1].1 - w[0].1) * t,
                );
                for (k, (b, _)) in &boxes {
                    assert!(
                        !b.strictly_contains(p),
                        "edge {from:?} -> {to:?} crosses {k:?}"
                    );
                }
            }
        }
    }
    assert_eq!(drawn, edges);
}

async fn the_svg_picture_shows_every_node_and_edge_clear_of_each_other(backend: Backend) {
    let f = loaded(backend, "caviar").await;
    let o = f
        .register
        .origin(CAVIAR_TIN, Limits::default())
        .await
        .unwrap();
    let picture = svg::render(&o.view()).unwrap();
    check_picture(&picture, &o.nodes, o.edges.len(), &o.documents);
    assert_eq!(svg::render(&o.view()).unwrap(), picture);
    assert!(!picture.contains("TRUNCATED"));
    let g = loaded(backend, "crocodile").await;
    let o = g.register.origin(HANDBAG, Limits::default()).await.unwrap();
    check_picture(
        &svg::render(&o.view()).unwrap(),
        &o.nodes,
        o.edges.len(),
        &o.documents,
    );
    let fw: Forward = g
        .register
        .forward_from_event("ev:croc:ranching-2022", Limits::default())
        .await
        .unwrap();
    check_picture(
        &svg::render(&fw.view()).unwrap(),
        &fw.nodes,
        fw.edges.len(),
        &fw.documents,
    );
    // A trace cut by its limits says so.
    let cut = f
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
    assert!(cut.truncated);
    let picture = svg::render(&cut.view()).unwrap();
    check_picture(&picture, &cut.nodes, cut.edges.len(), &cut.documents);
    let doc = roxmltree::Document::parse(&picture).unwrap();
    let notice = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("truncated"))
        .unwrap();
    assert!(notice.text().unwrap().starts_with("TRUNCATED"));
    f.t.drop_db().await.unwrap();
    g.t.drop_db().await.unwrap();
}
on_both_backends!(the_svg_picture_shows_every_node_and_edge_clear_of_each_other);

#[test]
fn a_picture_too_large_to_read_is_refused_not_drawn() {
    let nodes: Vec<Node> = (0..=svg::SVG_NODES_MAX)
        .map(|i| Node::Specimen {
            key: format!("urn:x:{i}"),
            taxon: 1,
            term: "SKI".to_owned(),
            quantity: rust_decimal::Decimal::ONE,
            unit: "NAR".to_owned(),
            source: "W".to_owned(),
            depth: 0,
        })
        .collect();
    let o = Origin {
        specimen: "urn:x:0".to_owned(),
        nodes,
        edges: vec![],
        acquisitions: vec![],
        unaccounted_share: rust_decimal::Decimal::ONE,
        documents: vec![],
        truncated: false,
    };
    match svg::render(&o.view()) {
        Err(RenderError::TooLarge { nodes, max, .. }) => {
            assert_eq!((nodes, max), (svg::SVG_NODES_MAX + 1, svg::SVG_NODES_MAX));
        }
        other => panic!("{other:?}"),
    }
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(fixture_path("epcis/EPCIS-JSON-Schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_validator_accepts_gs1s_examples_and_refuses_a_broken_document() {
    let v = validator();
    for name in [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.3-AggregationEvent.jsonld",
        "Example_9.6.4-TransformationEvent.jsonld",
        "ErrorDeclarationAndCorrectiveEvent.jsonld",
    ] {
        let text = std::fs::read_to_string(fixture_path(&format!("epcis/{name}"))).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(schema_errors(&v, &doc), Vec::<String>::new(), "{name}");
    }
    let broken = json!({"@context": [epcis_out::EPCIS_CONTEXT], "type": "EPCISDocument",
        "schemaVersion": "2.0", "creationDate": "2024-07-01T00:00:00Z",
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "action": "ADD", "epcList": [],
            "eventTime": "2024-07-01T00:00:00Z",
            "quantityList": [{"epcClass": "urn:x:1", "quantity": "12", "uom": "kilo"}]}]}});
    assert!(!schema_errors(&v, &broken).is_empty());
}

fn created() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 7, 1, 12, 0, 0).single().unwrap()
}

/// The scenario's agents and documents: what an EPCIS document refers to and does not carry.
fn master_data(name: &str) -> Value {
    let s = scenario(name);
    json!({"agents": s["agents"], "documents": s["documents"]})
}

async fn an_epcis_export_validates_and_ingested_again_gives_the_same_origin(backend: Backend) {
    let v = validator();
    for (name, specimen) in [("caviar", CAVIAR_TIN), ("crocodile", HANDBAG)] {
        let f = loaded(backend, name).await;
        let o = f
            .register
            .origin(specimen, Limits::default())
            .await
            .unwrap();
        let doc = epcis_out::render(&o.view(), created()).unwrap();
        assert_eq!(
            schema_errors(&v, &doc),
            Vec::<String>::new(),
            "{name}: {doc:#}"
        );
        assert_eq!(epcis_out::render(&o.view(), created()).unwrap(), doc);
        let g = fixture(backend).await;
        g.register
            .ingest(&master_data(name), "master")
            .await
            .unwrap();
        g.register.ingest_epcis(&doc, "export").await.unwrap();
        let again = g
            .register
            .origin(specimen, Limits::default())
            .await
            .unwrap();
        assert_eq!(again, o, "{name}");
        f.t.drop_db().await.unwrap();
        g.t.drop_db().await.unwrap();
    }
    // A forward trace exports too.
    let f = loaded(backend, "crocodile").await;
    let fw = f
        .register
        .forward_from_event("ev:croc:ranching-2022", Limits::default())
        .await
        .unwrap();
    let doc = epcis_out::render(&fw.view(), created()).unwrap();
    assert_eq!(schema_errors(&v, &doc), Vec::<String>::new(), "{doc:#}");
    f.t.drop_db().await.unwrap();
}
on_both_backends!(an_epcis_export_validates_and_ingested_again_gives_the_same_origin);

#[test]
fn an_answer_epcis_cannot_carry_is_refused_naming_what() {
    let o = Origin {
        specimen: "not a uri".to_owned(),
        nodes: vec![Node::Event {
            key: "not a uri".to_owned(),
            event: "export".to_owned(),
            at: created(),
            country: None,
            agent: None,
        }],
        edges: vec![],
        acquisitions: vec![],
        unaccounted_share: rust_decimal::Decimal::ONE,
        documents: vec![],
        truncated: false,
    };
    match epcis_out::render(&o.view(), created()) {
        Err(RenderError::NotExpressible { what, why }) => {
            assert_eq!(what, "event not a uri");
            assert!(why.contains("absolute URI"), "{why}");
        }
        other => panic!("{other:?}"),
    }
}
