//! Every scenario's expected answers, as reviewed snapshots beside its fixture
//! (`fixtures/scenarios/NAME.expected.json`): the origin of one specimen, its legal-acquisition
//! report and the sweep's findings over the scenario, on both backends. `TRACE_BLESS=1` writes
//! the snapshots again (then review them by hand against the scenario before committing).

use std::collections::HashMap;

use db::Backend;
use domain::Kingdom;
use serde_json::{Value, json};
use trace::{Limits, TaxonFacts, TraceConfig};

use crate::support::{fixture, fixture_path, on_both_backends, scenario};

/// The catalogue facts of the scenarios' taxa, as the application would hand them in.
pub fn taxa() -> HashMap<i64, TaxonFacts> {
    let facts = |names: &[&str], kingdom| TaxonFacts {
        lineage: names.iter().map(|n| (*n).to_owned()).collect(),
        kingdom: Some(kingdom),
    };
    HashMap::from([
        (
            10001,
            facts(
                &[
                    "Acipenser gueldenstaedtii",
                    "Acipenser",
                    "Acipenseridae",
                    "Acipenseriformes",
                    "Actinopteri",
                ],
                Kingdom::Animalia,
            ),
        ),
        (
            10002,
            facts(
                &[
                    "Crocodylus niloticus",
                    "Crocodylus",
                    "Crocodylidae",
                    "Crocodylia",
                    "Reptilia",
                ],
                Kingdom::Animalia,
            ),
        ),
        (
            10003,
            facts(
                &[
                    "Ara ararauna",
                    "Ara",
                    "Psittacidae",
                    "Psittaciformes",
                    "Aves",
                ],
                Kingdom::Animalia,
            ),
        ),
        (
            10004,
            facts(
                &[
                    "Swietenia macrophylla",
                    "Swietenia",
                    "Meliaceae",
                    "Sapindales",
                    "Magnoliopsida",
                ],
                Kingdom::Plantae,
            ),
        ),
        (
            10005,
            facts(
                &[
                    "Malayopython reticulatus",
                    "Malayopython",
                    "Pythonidae",
                    "Serpentes",
                    "Reptilia",
                ],
                Kingdom::Animalia,
            ),
        ),
    ])
}

async fn answers(backend: Backend, name: &str, specimen: &str) -> Value {
    let f = fixture(backend).await;
    f.register.ingest(&scenario(name), name).await.unwrap();
    let o = f
        .register
        .origin(specimen, Limits::default())
        .await
        .unwrap();
    let report = f
        .register
        .legal_acquisition(specimen, Limits::default())
        .await
        .unwrap();
    let sweep = f
        .register
        .sweep(&TraceConfig::default(), &taxa(), &|_, _| {})
        .await
        .unwrap();
    f.t.drop_db().await.unwrap();
    json!({
        "origin": {
            "specimen": o.specimen,
            "acquisitions": o.acquisitions,
            "unaccounted_share": o.unaccounted_share,
            "documents": o.documents.iter()
                .map(|d| format!("{}:{}:{}", d.country, d.doc_type, d.number))
                .collect::<Vec<_>>(),
            "truncated": o.truncated,
        },
        "legal_acquisition": report,
        "findings": sweep.findings,
    })
}

async fn matches_its_snapshot(backend: Backend, name: &str, specimen: &str) {
    let got = answers(backend, name, specimen).await;
    let path = fixture_path(&format!("scenarios/{name}.expected.json"));
    if std::env::var_os("TRACE_BLESS").is_some() {
        std::fs::write(&path, format!("{got:#}\n")).unwrap();
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (TRACE_BLESS=1 writes it)", path.display()));
    let expected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(got, expected, "{name} differs from {}", path.display());
}

async fn caviar(backend: Backend) {
    matches_its_snapshot(backend, "caviar", "urn:cites:tin:IT-0001:24RU000123:0001").await;
}
on_both_backends!(caviar);

async fn crocodile(backend: Backend) {
    matches_its_snapshot(backend, "crocodile", "urn:cites:handbag:FR:0001").await;
}
on_both_backends!(crocodile);

async fn parrots(backend: Backend) {
    matches_its_snapshot(backend, "parrots", "urn:cites:parrot:ZA-CB-0042:2024-05").await;
}
on_both_backends!(parrots);

async fn timber(backend: Backend) {
    matches_its_snapshot(backend, "timber", "urn:cites:shipment:PE-SM-12:2024-01").await;
}
on_both_backends!(timber);

async fn laundering(backend: Backend) {
    matches_its_snapshot(backend, "laundering", "urn:cites:skins:SG:2024:lot-A-3").await;
}
on_both_backends!(laundering);
