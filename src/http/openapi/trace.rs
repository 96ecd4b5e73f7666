//! The OpenAPI operations of the provenance register's routes (`http::trace`): the ingest of
//! a batch, in the project's JSON or as an EPCIS 2.0 document, and the queries with their
//! limits, built with the helpers of the document's other operations.

use serde_json::{Value, json};

use super::{client_key, integer, op, optional_query, param, response};

/// The provenance register's routes: the ingest of a batch and the queries.
pub(super) fn trace_paths() -> Value {
    let records = |required: &[&str]| {
        json!({"type": ["array", "null"], "description": "null: none", "maxItems": trace::BATCH_RECORDS_MAX,
        "items": {"type": "object", "required": required}})
    };
    let project = json!({"type": "object", "additionalProperties": false,
        "description": "the project's batch (docs/http.md); references, codes, quantities, yields and cycles are checked by the service (422 batch_refused)",
        "properties": {"agents": records(&["key", "kind", "name"]),
            "documents": records(&["country", "type", "number", "status"]),
            "specimens": records(&["key", "taxon", "term", "quantity", "source"]),
            "events": records(&["key", "kind", "at"]),
            "corrections": records(&["event", "declared_at", "reason", "corrective_events"])}});
    let epcis = json!({"type": "object", "required": ["type", "schemaVersion", "epcisBody"],
        "description": "an EPCIS 2.0 JSON-LD capture document (Object, Aggregation, Transformation and Transaction events; error declarations as corrections)",
        "properties": {"type": {"const": "EPCISDocument"}, "schemaVersion": {"type": "string"},
            "epcisBody": {"type": "object", "required": ["eventList"], "properties": {
                "eventList": {"type": "array", "items": {"type": "object"}}}}}});
    let finding = json!({"type": "object", "required": ["rule", "severity", "message", "nodes", "numbers"],
        "properties": {"rule": {"type": "string"}, "severity": {"type": "string", "enum": ["info", "warning", "error"]},
            "message": {"type": "string"}, "nodes": {"type": "array", "items": {"type": "string"}},
            "numbers": {"type": "object", "additionalProperties": {"type": "string"}}}});
    let mut ingest = op(
        "Ingest a batch of trace records (permit-officer, enforcement, admin): accepted whole, with the plausibility findings it raised, or refused whole (422 batch_refused, every structural fault in error.problems with its JSON path; nothing stored); idempotent on client_key",
        json!([param(
            "client_key",
            "query",
            true,
            "this API key's own idempotency key for the batch: sending the same batch again with it stores nothing and answers as the first time; another batch under it is a 409",
            client_key()
        )]),
        (
            "the batch stored (or stored before under this key: replayed)",
            json!({"type": "object",
            "required": ["client_key", "batch_id", "replayed", "findings"], "properties": {
                "client_key": {"type": "string"}, "batch_id": {"type": "integer"}, "replayed": {"type": "boolean"},
                "findings": {"type": "array", "items": finding.clone()}}}),
        ),
        true,
        None,
    );
    ingest["responses"]["408"] = response("body_timeout: the body was not received in time");
    ingest["responses"]["409"] =
        response("key_conflict: this API key first used the client_key for another batch");
    ingest["responses"]["413"] = response(&format!(
        "body_too_large: a batch over {} bytes",
        crate::http::trace::TRACE_BODY_BYTES_MAX
    ));
    ingest["responses"]["422"] = json!({"description": "invalid_input: a parameter or a body that is not JSON; batch_refused: the batch's structural faults (unknown reference, cycle, malformed value, a quantity in a unit that cannot be converted, more records than accepted), each in error.problems with its path and message",
        "content": {"application/json": {"schema": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"},
                "problems": {"type": "array", "items": {"type": "object", "required": ["path", "message"], "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}}}}}}}}});
    ingest["requestBody"] = json!({"required": true, "content": {
        "application/json": {"schema": {"anyOf": [project, epcis.clone()]}},
        "application/ld+json": {"schema": epcis}}});
    let with_limits = |first: Value| {
        json!([
            first,
            optional_query(
                "depth",
                &format!(
                    "steps of material flow to follow (default {})",
                    trace::DEPTH_DEFAULT
                ),
                integer(1, trace::DEPTH_MAX.into())
            ),
            optional_query(
                "nodes",
                &format!(
                    "specimens to return at most (default {})",
                    trace::NODES_DEFAULT
                ),
                integer(1, trace::NODES_MAX as i64)
            )
        ])
    };
    let key = |what: &str| {
        param(
            "key",
            "path",
            true,
            what,
            json!({"type": "string", "minLength": 1}),
        )
    };
    let decimal = json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"});
    let item = |required: &[&str]| {
        json!({"type": "object", "required": required, "properties": {
            "requirement": {"type": "string"}, "event": {"type": "string"}}})
    };
    let legal_acquisition = json!({"type": "object",
        "required": ["specimen", "complete", "paths", "unrooted", "truncated"],
        "properties": {"specimen": {"type": "string"}, "complete": {"type": "boolean"},
            "truncated": {"type": "boolean", "description": "the depth or node limit, or the number of parental origins followed, cut the report"},
            "unrooted": {"type": "array", "items": {"type": "object", "required": ["specimen", "unaccounted_share"],
                "properties": {"specimen": {"type": "string"}, "unaccounted_share": decimal.clone()}}},
            "paths": {"type": "array", "items": {"type": "object",
                "required": ["acquisition", "kind", "at", "share", "parent_of", "parent", "path", "present", "missing"],
                "properties": {"acquisition": {"type": "string"}, "kind": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"}, "share": decimal.clone(),
                    "parent_of": {"type": ["string", "null"]}, "parent": {"type": ["string", "null"]},
                    "path": {"type": "array", "items": {"type": "string"}},
                    "present": {"type": "array", "items": item(&["requirement", "event", "document", "status"])},
                    "missing": {"type": "array", "items": item(&["requirement", "event", "accepted", "reason"])}}}}}});
    let document = json!({"type": "object", "required": ["country", "doc_type", "number", "revision", "status", "events"],
        "properties": {"country": {"type": "string"}, "doc_type": {"type": "string"}, "number": {"type": "string"},
            "revision": {"type": "integer"}, "status": {"type": "string"}, "events": {"type": "array", "items": {"type": "string"}}}});
    let graph = |start: &str, extra: Value| {
        let mut schema = json!({"type": "object", "properties": {start: {"type": "string"},
            "nodes": {"type": "array", "items": {"type": "object", "required": ["kind", "key"], "properties": {"kind": {"type": "string", "enum": ["specimen", "event"]}}}},
            "edges": {"type": "array", "items": {"type": "object", "required": ["from", "to", "kind"]}},
            "documents": {"type": "array", "items": document.clone()},
            "truncated": {"type": "boolean", "description": "the depth or node limit cut the trace"}}});
        let mut required = vec![
            start.to_owned(),
            "nodes".into(),
            "edges".into(),
            "documents".into(),
            "truncated".into(),
        ];
        if let Value::Object(extra) = extra {
            for (name, property) in extra {
                schema["properties"][&name] = property;
                required.push(name);
            }
        }
        schema["required"] = json!(required);
        schema
    };
    let origin = graph(
        "specimen",
        json!({
        "acquisitions": {"type": "array", "items": {"type": "object", "required": ["event", "kind", "at", "share", "path"],
            "properties": {"event": {"type": "string"}, "kind": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
                "share": decimal.clone(), "path": {"type": "array", "items": {"type": "string"}}}}},
        "unaccounted_share": decimal.clone()}),
    );
    let forward = graph(
        "from",
        json!({"descendants": {"type": "array", "description": "[specimen key, share derived from the start]",
        "items": {"type": "array", "prefixItems": [{"type": "string"}, decimal], "minItems": 2, "maxItems": 2}}}),
    );
    let mut paths = json!({
        "/v1/trace/events": {"post": ingest},
        "/v1/trace/specimens/{key}/origin": {"get": op("Where a specimen came from: its ancestor graph (node-link), the acquisitions it reaches with the share of its quantity from each and one explaining path, every document on the way; truncated when the limits cut it",
            with_limits(key("the specimen's key")),
            ("the origin", origin), true, Some("no such specimen"))},
        "/v1/trace/specimens/{key}/forward": {"get": op("Where a specimen went: every specimen derived from it, with the share of its quantity, and the documents on the way",
            with_limits(key("the specimen's key")),
            ("the forward trace", forward.clone()), true, Some("no such specimen"))},
        "/v1/trace/specimens/{key}/legal-acquisition": {"get": op("The legal-acquisition report of a specimen (Res. Conf. 18.7): per acquisition its origin reaches, the evidence present (documents cited by the acquisition and by each trade event on the path, usable on the event's date) and the evidence missing, with the parental stock of captive-bred specimens as further paths; complete when nothing is missing",
            with_limits(key("the specimen's key")),
            ("the report", legal_acquisition), true, Some("no such specimen"))},
        "/v1/trace/events/{key}/forward": {"get": op("Where what an event (an acquisition, most often) produced went; an event that produced nothing is a 404 as an unknown one",
            with_limits(key("the event's key")),
            ("the forward trace", forward), true, Some("no such event"))},
        "/v1/trace/identifiers/{value}": {"get": op("The specimens an identifier of any scheme names (a tag, label, microchip, ring, lot or log number; percent-encode a slash)",
            json!([param("value", "path", true, "the identifier", json!({"type": "string", "minLength": 1}))]),
            ("the specimens (none: an empty list)", json!({"type": "object", "required": ["value", "specimens"], "properties": {"value": {"type": "string"},
                "specimens": {"type": "array", "items": {"type": "object", "required": ["scheme", "value", "specimen"]}}}})), true, None)},
        "/v1/trace/findings": {"get": op("The full sweep of the register under the service's yield and breeding tables (--trace-config; by default trace/trace.default.toml): every invariant across batches and the scans (breeding plausibility, re-exports beyond imports, implausible source codes), each finding with its rule, severity, nodes and numbers, most severe first; one sweep runs at a time",
            json!([]),
            ("the sweep", json!({"type": "object", "required": ["specimens", "events", "flows", "documents", "findings"],
                "properties": {"specimens": {"type": "integer", "minimum": 0}, "events": {"type": "integer", "minimum": 0},
                    "flows": {"type": "integer", "minimum": 0}, "documents": {"type": "integer", "minimum": 0},
                    "findings": {"type": "array", "items": finding.clone()}}})), true, None)},
        "/v1/trace/documents/{number}": {"get": op("Every document with this number (any issuing country and type), at its latest revision, with the events citing it",
            json!([param("number", "path", true, "the document number", json!({"type": "string", "minLength": 1}))]),
            ("the documents (none: an empty list)", json!({"type": "object", "required": ["number", "documents"], "properties": {"number": {"type": "string"},
                "documents": {"type": "array", "items": document}}})), true, None)},
    });
    for route in [
        "/v1/trace/specimens/{key}/origin",
        "/v1/trace/specimens/{key}/forward",
        "/v1/trace/events/{key}/forward",
    ] {
        add_formats(&mut paths[route]["get"]);
    }
    paths
}

/// The other formats a trace answer is given in, by `Accept` (`app::trace_output`), and the
/// refusal of an answer a format cannot show.
fn add_formats(operation: &mut Value) {
    let content = &mut operation["responses"]["200"]["content"];
    content["text/vnd.graphviz"] = json!({"schema": {"type": "string",
        "description": "GraphViz DOT, deterministic: the same answer gives the same text"}});
    content["image/svg+xml"] = json!({"schema": {"type": "string",
        "description": format!("an SVG picture of at most {} nodes", trace::render::svg::SVG_NODES_MAX)}});
    content["application/ld+json"] = json!({"schema": {"type": "object",
        "description": "an EPCIS 2.0 JSON-LD capture document (GS1's schema), which POST /v1/trace/events takes back",
        "required": ["@context", "type", "schemaVersion", "creationDate", "epcisBody"]}});
    operation["responses"]["422"] = response(
        "invalid_input: a parameter that is not valid (`error.field` names it), or a query parameter the route does not take; not_renderable: the answer cannot be given in the format Accept asks (a picture of more nodes than it draws, an event EPCIS cannot carry), `error.field` Accept",
    );
}
