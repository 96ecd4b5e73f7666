//! A trace answer in every format, through the command line (`--format`, `-o FILE`) and the
//! service (`Accept`): the same DOT, SVG and EPCIS text from both for the same answer, the
//! media types, the EPCIS document taken back by `cites trace ingest`, and a format that
//! cannot show an answer refused with its reason.

use cites::app::keys::Role;
use db::Backend;
use serde_json::Value;

use crate::support::{TestApp, cites, on_both_backends, repo_path, stderr, stdout};

const CAVIAR_TIN: &str = "urn:cites:tin:IT-0001:24RU000123:0001";

/// `GET path` accepting `accept`: status, content type and body.
async fn get_as(app: &TestApp, path: &str, accept: &str) -> (u16, String, String) {
    let res = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(app.key(Role::Enforcement))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

async fn an_origin_is_given_as_dot_svg_and_epcis_by_the_cli_and_by_accept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let caviar = repo_path("trace/fixtures/scenarios/caviar.json");
    let out = cites(
        &app.t.url,
        &[
            "trace",
            "ingest",
            caviar.to_str().unwrap(),
            "--key",
            "caviar",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let path = format!("/v1/trace/specimens/{CAVIAR_TIN}/origin");
    for (format, media) in [
        ("dot", "text/vnd.graphviz"),
        ("svg", "image/svg+xml"),
        ("epcis", "application/ld+json"),
    ] {
        let (s, ct, body) = get_as(&app, &path, &format!("text/html, {media};q=0.9")).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(ct, format!("{media}; charset=utf-8"));
        let out = cites(
            &app.t.url,
            &["trace", "origin", CAVIAR_TIN, "--format", format],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        if format == "epcis" {
            // The same document but for when it was created (the command's clock runs on).
            let (mut a, mut b): (Value, Value) = (
                serde_json::from_str(&stdout(&out)).unwrap(),
                serde_json::from_str(&body).unwrap(),
            );
            assert!(
                a["creationDate"]
                    .as_str()
                    .unwrap()
                    .starts_with("2026-11-27T12:")
            );
            a["creationDate"] = Value::Null;
            b["creationDate"] = Value::Null;
            assert_eq!(a, b);
        } else {
            assert_eq!(stdout(&out).trim_end(), body.trim_end(), "{format}");
        }
    }
    let (_, _, dot) = get_as(&app, &path, "text/vnd.graphviz").await;
    assert!(dot.starts_with("digraph trace {"), "{dot}");
    assert!(dot.contains("\"event:ev:caviar:harvest\" -> "), "{dot}");
    let (_, _, svg) = get_as(&app, &path, "image/svg+xml").await;
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    // JSON stays the default, for any other Accept.
    let (s, ct, json) = get_as(&app, &path, "text/html").await;
    assert_eq!((s, ct.as_str()), (200, "application/json"));
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["specimen"], CAVIAR_TIN);

    // -o writes the file whole; the EPCIS document is taken back by `cites trace ingest`.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("origin.jsonld");
    let out = cites(
        &app.t.url,
        &[
            "trace",
            "origin",
            CAVIAR_TIN,
            "--format",
            "epcis",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["type"], "EPCISDocument");
    assert!(
        doc["creationDate"]
            .as_str()
            .is_some_and(|d| d.starts_with("2026-11-27T12:") && d.ends_with('Z')),
        "{doc}"
    );
    let out = cites(
        &app.t.url,
        &["trace", "ingest", file.to_str().unwrap(), "--key", "again"],
    );
    // Every event of the export is in the register already: refused, each named.
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("epcisBody.eventList[0]"),
        "{}",
        stderr(&out)
    );

    // A format that is not one is named with what is accepted; a forward trace has them too.
    let out = cites(
        &app.t.url,
        &["trace", "origin", CAVIAR_TIN, "--format", "png"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid format \"png\": accepted json, dot, svg, epcis"),
        "{}",
        stderr(&out)
    );
    let out = cites(
        &app.t.url,
        &[
            "trace",
            "forward",
            "ev:caviar:harvest",
            "--event",
            "--format",
            "dot",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Forward trace from ev:caviar:harvest"));
    let (s, ct, svg) = get_as(
        &app,
        "/v1/trace/events/ev:caviar:harvest/forward",
        "image/svg+xml",
    )
    .await;
    assert_eq!((s, ct.as_str()), (200, "image/svg+xml; charset=utf-8"));
    assert!(
        svg.contains("Forward trace from ev:caviar:harvest"),
        "{svg}"
    );
    app.stop().await;
}
on_both_backends!(an_origin_is_given_as_dot_svg_and_epcis_by_the_cli_and_by_accept);

async fn an_answer_a_format_cannot_show_is_refused_with_its_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Keys that are not URIs: fine for the register, not for EPCIS.
    let batch = serde_json::json!({
        "specimens": [{"key": "skin 1", "taxon": "10002", "term": "SKI", "quantity": {"amount": "1"}, "source": "R"}],
        "events": [{"key": "ranched 1", "kind": "ranching", "at": "2024-01-10T08:00:00Z", "outputs": ["skin 1"]}]
    });
    let res = app
        .http
        .post(format!("{}/v1/trace/events?client_key=k1", app.base))
        .bearer_auth(app.key(Role::PermitOfficer))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let path = "/v1/trace/specimens/skin%201/origin";
    let (s, _, body) = get_as(&app, path, "application/ld+json").await;
    assert_eq!(s, 422, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "not_renderable");
    assert_eq!(body["error"]["field"], "Accept");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("event ranched 1") && message.contains("not an absolute URI"),
        "{message}"
    );
    // The picture and the DOT of the same answer are given.
    let (s, _, _) = get_as(&app, path, "image/svg+xml").await;
    assert_eq!(s, 200);
    let out = cites(
        &app.t.url,
        &["trace", "origin", "skin 1", "--format", "epcis"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not an absolute URI"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    app.stop().await;
}
on_both_backends!(an_answer_a_format_cannot_show_is_refused_with_its_reason);
