//! One document by its key and what was re-exported under it: the subjects of the re-export
//! events citing it, an event declared erroneous left out, other kinds of event not counted.

use db::Backend;
use rust_decimal::Decimal;
use serde_json::json;
use trace::{DocType, DocumentKey};

use crate::support::{fixture, on_both_backends};

fn permit(number: &str) -> DocumentKey {
    DocumentKey {
        country: domain::CountryCode::parse("RU").unwrap(),
        doc_type: DocType::ExportPermit,
        number: number.to_owned(),
    }
}

async fn a_document_is_read_by_its_key_with_what_was_re_exported_under_it(backend: Backend) {
    let f = fixture(backend).await;
    let cited = json!([{"country": "RU", "type": "export_permit", "number": "24RU0001"}]);
    let lot = |key: &str, amount: &str, unit: &str| {
        json!({"key": key, "taxon": "4452", "term": "CAV",
            "quantity": {"amount": amount, "unit": unit}, "source": "W"})
    };
    let custody = |key: &str, kind: &str, subjects: serde_json::Value| {
        json!({"key": key, "kind": kind, "at": "2024-06-01T10:00:00Z", "country": "DE",
            "subjects": subjects, "documents": cited})
    };
    let batch = json!({
        "documents": [{"country": "RU", "type": "export_permit", "number": "24RU0001",
            "status": "issued", "permitted": {"amount": "10", "unit": "KGM"}}],
        "specimens": [lot("lot:a", "2", "KGM"), lot("lot:b", "500", "GRM"), lot("lot:c", "1", "KGM")],
        "events": [
            custody("ev:import", "import", json!([{"specimen": "lot:a"}, {"specimen": "lot:b"}])),
            custody("ev:re1", "re_export", json!([{"specimen": "lot:a", "quantity": {"amount": "1.5", "unit": "KGM"}}])),
            custody("ev:re2", "re_export", json!([{"specimen": "lot:b"}])),
            custody("ev:re3", "re_export", json!([{"specimen": "lot:c"}])),
        ],
        "corrections": [{"event": "ev:re3", "declared_at": "2024-06-02T10:00:00Z",
            "reason": "entered twice", "corrective_events": []}]
    });
    f.register.ingest(&batch, "docs-1").await.unwrap();

    let d = f
        .register
        .document(&permit("24RU0001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            d.status.as_str(),
            d.revision,
            d.unit.as_deref(),
            d.permitted
        ),
        ("issued", 1, Some("KGM"), Some(Decimal::from(10)))
    );
    assert_eq!(d.events, ["ev:import", "ev:re1", "ev:re2", "ev:re3"]);
    let reexported: Vec<(String, String, String, String)> = f
        .register
        .reexported_under(&permit("24RU0001"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.event, r.specimen, r.quantity.to_string(), r.unit))
        .collect();
    let row = |e: &str, s: &str, q: &str, u: &str| (e.into(), s.into(), q.into(), u.into());
    assert_eq!(
        reexported,
        [
            row("ev:re1", "lot:a", "1.5", "KGM"),
            row("ev:re2", "lot:b", "500", "GRM")
        ]
    );
    assert_eq!(
        f.register.document(&permit("24RU0002")).await.unwrap(),
        None
    );
    assert!(
        f.register
            .reexported_under(&permit("24RU0002"))
            .await
            .unwrap()
            .is_empty()
    );
    f.t.drop_db().await.unwrap();
}
on_both_backends!(a_document_is_read_by_its_key_with_what_was_re_exported_under_it);
