//! The OpenAPI 3.1 document of the HTTP service, served at `/v1/openapi.json`.
//!
//! Written out by hand, but exact: every parameter and body field states what the service
//! enforces (required fields, the code lists of `domain` as enums, id, year and date ranges,
//! lengths), and every operation lists each status it answers. The code lists and bounds come
//! from the constants the service checks against, so they cannot drift. A test checks that
//! every route of `server::ROUTES` is documented here, another that the constraints are named,
//! and `.ci/contract` runs Schemathesis against a started service on both backends.

use domain::{
    CountryCode, DATE_YEAR_MAX, DATE_YEAR_MIN, PurposeCode, SourceCode, TermCode, UnitCode,
};
use serde_json::{Value, json};

mod trace;

/// Largest quota or reservation id: both are BIGINT.
pub const LEDGER_ID_MAX: i64 = i64::MAX;
/// Largest Species+ taxon concept id ([`domain::TaxonId`] holds a `u32`).
pub const TAXON_ID_MAX: u32 = u32::MAX;
/// Years a quota may be declared or listed for.
const QUOTA_YEAR_MIN: i32 = *quota::QUOTA_YEARS.start();
const QUOTA_YEAR_MAX: i32 = *quota::QUOTA_YEARS.end();

fn error_content() -> Value {
    json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}})
}

fn response(description: &str) -> Value {
    json!({"description": description, "content": error_content()})
}

/// The `Retry-After` header of a 503 ([`crate::http::RETRY_AFTER_SECS`]).
fn retry_after() -> Value {
    json!({"Retry-After": {"description": "seconds to wait before sending the request again",
        "required": true,
        "schema": {"type": "integer", "example": crate::http::RETRY_AFTER_SECS}}})
}

/// What every route answers whatever it is: a head that cannot be read (400), a URI or head
/// too long (414, 431; `listen` answers these before any route), a query parameter or value
/// it does not take (422), and the server's own failure (500).
fn error_responses(auth: bool) -> Value {
    let mut r = json!({
        "400": response("bad_request: a request head that cannot be read as HTTP/1.1"),
        "414": response("uri_too_long: a request URI too long for the head"),
        "422": response("invalid_input: a parameter, field or body that is not valid (`error.field` names it), or a query parameter the route does not take"),
        "431": response("header_too_large: a request head over 64 KiB or 100 headers"),
        "500": response("internal: the server could not answer; the error is logged")
    });
    if auth {
        r["401"] = response("unauthorized: missing, unknown or revoked API key");
        r["403"] = response("forbidden: the key's role may not do this");
        r["503"] = json!({"description": "unavailable: the database stayed out of reach, or locked by another process, through the server's retries; try again after `Retry-After` seconds", "headers": retry_after(), "content": error_content()});
    }
    r
}

/// An operation answering `ok_schema` with a 200; `not_found` is its 404's description ("no
/// such quota"), if it has one.
fn op(
    summary: &str,
    params: Value,
    ok: (&str, Value),
    auth: bool,
    not_found: Option<&str>,
) -> Value {
    let mut responses = error_responses(auth);
    responses["200"] =
        json!({"description": ok.0, "content": {"application/json": {"schema": ok.1}}});
    if let Some(not_found) = not_found {
        responses["404"] = response(not_found);
    }
    let mut o = json!({"summary": summary, "parameters": params, "responses": responses});
    if !auth {
        o["security"] = json!([]);
    }
    o
}

fn param(name: &str, location: &str, required: bool, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": location, "required": required, "description": description, "schema": schema})
}

/// An optional query parameter, which may also be sent empty (`?year=`): an empty value is
/// taken as absent.
fn optional_query(name: &str, description: &str, schema: Value) -> Value {
    let mut p = param(name, "query", false, description, schema);
    p["allowEmptyValue"] = json!(true);
    p
}

/// An integer from `min` to `max`.
fn integer(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

/// The id of a quota or reservation in the path.
fn ledger_id() -> Value {
    param("id", "path", true, "id", integer(1, LEDGER_ID_MAX))
}

/// A Species+ taxon concept id.
fn taxon_id_schema() -> Value {
    integer(1, i64::from(TAXON_ID_MAX))
}

/// The codes of one of `domain`'s lists, as an enum (the service also takes them in any case,
/// with surrounding blanks).
fn codes(description: &str, codes: impl Iterator<Item = &'static str>) -> Value {
    json!({"type": "string", "enum": codes.collect::<Vec<_>>(), "description": description})
}

fn country() -> Value {
    codes(
        "ISO 3166-1 alpha-2 code (officially assigned, or XK for Kosovo)",
        CountryCode::all().map(CountryCode::as_str),
    )
}

fn source() -> Value {
    codes("CITES source code", SourceCode::all().map(SourceCode::code))
}

fn purpose() -> Value {
    codes(
        "CITES purpose code",
        PurposeCode::all().map(PurposeCode::code),
    )
}

fn term() -> Value {
    codes("CITES term code", TermCode::all().map(TermCode::code))
}

/// A unit: a code of `units.csv`, the legacy spellings it maps, or blank (a count, NAR).
fn unit() -> Value {
    let mut all: Vec<&str> = UnitCode::all().map(UnitCode::code).collect();
    all.extend(domain::LEGACY_UNIT_CODES.iter().map(|(legacy, _)| *legacy));
    all.push("");
    json!({"type": "string", "enum": all, "description": "CITES unit code; blank or NAR: a count of specimens; KIL, CUM, SQM, CCM stand for KGM, MTQ, MTK, CMQ"})
}

/// `YYYY-MM-DD` for a real calendar day of a year from `min_year` to `max_year`: the years and
/// leap years are written out from the range, so the pattern is exact.
pub fn date_pattern(min_year: i32, max_year: i32) -> String {
    let years: Vec<String> = (min_year..=max_year).map(|y| y.to_string()).collect();
    let leap: Vec<String> = (min_year..=max_year)
        .filter(|y| chrono::NaiveDate::from_ymd_opt(*y, 2, 29).is_some())
        .map(|y| y.to_string())
        .collect();
    format!(
        "^(?:(?:{})-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:{})-02-29)$",
        years.join("|"),
        leap.join("|")
    )
}

/// A date as the service reads it ([`domain::parse_date`]): `YYYY-MM-DD`, years
/// [`DATE_YEAR_MIN`] to [`DATE_YEAR_MAX`].
fn date() -> Value {
    date_of_years(DATE_YEAR_MIN, DATE_YEAR_MAX)
}

/// `YYYY-MM-DD`, a calendar day of the years `min` to `max`.
fn date_of_years(min: i32, max: i32) -> Value {
    json!({"type": "string", "format": "date", "pattern": date_pattern(min, max),
        "description": format!("YYYY-MM-DD, a calendar day of the years {min} to {max}")})
}

/// An RFC 3339 instant; second 60 is refused.
fn instant() -> Value {
    json!({"type": "string", "format": "date-time", "pattern": "^[^\\n]*:[0-5][0-9](?:\\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$",
        "description": "RFC 3339 instant, second 00 to 59"})
}

/// Characters a one-line text may not hold: Unicode control characters.
const NO_CONTROL: &str = "[^\\u0000-\\u001f\\u007f-\\u009f]";

/// Text of 1 to `max` printable characters, not all blank (it is trimmed).
fn printable(max: usize, description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max,
        "pattern": format!("^{NO_CONTROL}*[^\\s\\u0000-\\u001f\\u007f-\\u009f]{NO_CONTROL}*$"),
        "description": description})
}

/// Optional text of at most `max` printable characters: blank is taken as absent.
fn optional_text(max: usize, description: &str) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": format!("^{NO_CONTROL}*$"),
        "description": description})
}

fn client_key() -> Value {
    printable(
        rules::CLIENT_KEY_CHARS_MAX,
        "this API key's own idempotency key: repeating it returns the first outcome; another API key's same client_key is another request",
    )
}

fn reason() -> Value {
    json!({"type": "string", "maxLength": quota::REASON_CHARS_MAX, "pattern": format!("^{NO_CONTROL}*$"),
        "description": "why, recorded in the audit ledger: one line (not a parameter of the request: a retry may word it otherwise)"})
}

/// The amounts [`domain::parse_amount`] reads, as a pattern: an optional `+`, digits with at
/// most one decimal point and digits on at least one side, at most
/// [`domain::AMOUNT_DIGITS_MAX`] significant digits (leading zeros do not count), blanks
/// around; `above_zero`: not zero; `whole_digits_max`: at most that many significant digits
/// before the point. Written out per number of digits before the point, so it is exact.
pub fn amount_pattern(above_zero: bool, whole_digits_max: usize) -> String {
    amount_pattern_with(above_zero, whole_digits_max, None)
}

/// [`amount_pattern`], and `extra` besides (a bound such as the permit check's 1e12 itself).
fn amount_pattern_with(above_zero: bool, whole_digits_max: usize, extra: Option<String>) -> String {
    let digits = domain::AMOUNT_DIGITS_MAX;
    let fraction = |n: usize| {
        if n == 0 {
            String::new()
        } else {
            format!("(?:\\.[0-9]{{1,{n}}})?")
        }
    };
    let mut alternatives: Vec<String> = (1..=whole_digits_max.min(digits))
        .map(|w| format!("0*[1-9][0-9]{{{}}}{}", w - 1, fraction(digits - w)))
        .collect();
    if above_zero {
        // No significant digit before the point: one after it, after k zeros.
        alternatives.extend(
            (0..digits).map(|k| format!("0*\\.0{{{k}}}[1-9][0-9]{{0,{}}}", digits - 1 - k)),
        );
    } else {
        alternatives.push(format!("0+(?:\\.[0-9]{{1,{digits}}})?"));
        alternatives.push(format!("\\.[0-9]{{1,{digits}}}"));
    }
    alternatives.extend(extra);
    format!("^\\s*\\+?(?:{})\\s*$", alternatives.join("|"))
}

/// An amount as [`domain::parse_amount`] reads it.
fn amount(description: &str) -> Value {
    json!({"type": "string", "pattern": amount_pattern(false, domain::AMOUNT_DIGITS_MAX),
        "description": format!("{description}; {}", domain::AMOUNT_ACCEPTED)})
}

/// An amount that moves a quota: above 0.
fn moved_amount(description: &str) -> Value {
    json!({"type": "string", "pattern": amount_pattern(true, domain::AMOUNT_DIGITS_MAX),
        "description": format!("{description}, above 0; {}", domain::AMOUNT_ACCEPTED)})
}

/// A JSON body of `properties`, `required` as listed, no other field. A field not required
/// may also be null, which stands for absent, but for those named in `never_null`.
fn body_of(required: &[&str], properties: Value, description: &str, never_null: &[&str]) -> Value {
    let mut properties = properties;
    if let Some(properties) = properties.as_object_mut() {
        for (name, schema) in properties.iter_mut() {
            if !required.contains(&name.as_str()) && !never_null.contains(&name.as_str()) {
                nullable(schema);
            }
        }
    }
    json!({"type": "object", "required": required, "additionalProperties": false,
        "description": description, "properties": properties})
}

/// `schema`, or null: kept flat (a `type` list, an `enum` or `anyOf` with null added) so that
/// nested bodies stay shallow.
fn nullable(schema: &mut Value) {
    // `get_mut`, not indexing: indexing a missing key inserts it.
    if let Some(any) = schema.get_mut("anyOf").and_then(Value::as_array_mut) {
        any.push(json!({"type": "null"}));
        return;
    }
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.push(Value::Null);
    }
    match schema.get_mut("type") {
        Some(t) if t.is_string() => *t = json!([t.take(), "null"]),
        Some(_) => {}
        None => {
            let inner = schema.take();
            *schema = json!({"anyOf": [inner, {"type": "null"}]});
        }
    }
}

/// [`body_of`] where every field not required may be null.
fn body(required: &[&str], properties: Value, description: &str) -> Value {
    body_of(required, properties, description, &[])
}

/// An operation with a JSON body; one on `/{id}` has `not_found`, its 404's description.
fn body_op(summary: &str, schema: Value, ok: (&str, Value), not_found: Option<&str>) -> Value {
    let mut o = op(summary, json!([]), ok, true, not_found);
    if not_found.is_some() {
        o["parameters"] = json!([ledger_id()]);
    }
    o["responses"]["408"] = response("body_timeout: the body was not received in time");
    o["responses"]["409"] = response(
        "key_conflict: this API key first used the client_key with other parameters (client keys are per API key: another key's same client_key is another request)",
    );
    o["responses"]["413"] = response(&format!(
        "body_too_large: a body over {} bytes",
        crate::http::BODY_BYTES_MAX
    ));
    o["responses"]["422"] = response(
        "invalid_input: a field or body that is not valid (`error.field` names it), including rules no schema states: a unit that cannot measure against the quota's, a count that is not whole, a state or figure of the quota or reservation that the request cannot apply to",
    );
    o["responses"]["503"] = json!({"description": format!("unavailable: the database stayed out of reach, or locked by another process, for {} s; send the request again, after `Retry-After` seconds, with the same client_key and the same API key (it takes effect at most once)", quota::WRITE_DEADLINE.as_secs()), "headers": retry_after(), "content": error_content()});
    o["requestBody"] =
        json!({"required": true, "content": {"application/json": {"schema": schema}}});
    o
}

/// A commit answers 409 for a permit number already taken as well as for a reused key.
fn commit_op(mut o: Value) -> Value {
    o["responses"]["409"]["description"] = json!(
        "permit_number_conflict: the permit_number is another permit's of the same country, or the reservation is already a permit under another number; or key_conflict: this API key first used the client_key with other parameters"
    );
    o
}

/// Declaring answers 201 (a retry with its client key too), and 409 for a second quota of one
/// scope as well as for a reused key.
fn declare_op(mut o: Value) -> Value {
    if let Some(responses) = o["responses"].as_object_mut()
        && let Some(ok) = responses.remove("200")
    {
        responses.insert("201".into(), ok);
    }
    o["responses"]["409"]["description"] = json!(
        "quota_exists: a national quota of this exporter, taxon, unit and restrictions already covers part of the period (revise it); or key_conflict: this API key first used the client_key with other parameters"
    );
    o
}

/// `schema` with `description`.
fn described(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// An object answer: `{"name": <schema>}`.
fn wrapped(name: &str, schema: Value) -> Value {
    json!({"type": "object", "required": [name], "properties": {name: schema}})
}

fn quota_body() -> Value {
    body(
        &["client_key", "exporter", "taxon_id"],
        json!({
            "client_key": client_key(), "exporter": country(),
            "taxon_id": {"type": "integer", "minimum": 1, "maximum": TAXON_ID_MAX, "description": "Species+ id of an accepted, active taxon in the catalogue (422 otherwise, and on an empty catalogue: a synonym's answer names its accepted taxon)"},
            "year": {"type": "integer", "minimum": QUOTA_YEAR_MIN, "maximum": QUOTA_YEAR_MAX, "description": "a calendar-year quota; or give period_start and period_last_day instead"},
            "period_start": date_of_years(QUOTA_YEAR_MIN, QUOTA_YEAR_MAX),
            "period_last_day": date_of_years(QUOTA_YEAR_MIN, QUOTA_YEAR_MAX + 1),
            "limit": described(amount("exact decimal"), "exact decimal (whole for a count); null or absent = in preparation"),
            "unit": unit(), "term": term(), "source": source(), "purpose": purpose(),
            "notes": {"type": "string", "maxLength": quota::NOTES_CHARS_MAX, "pattern": "^[^\\u0000]*$", "description": "any text but NUL"},
            "reason": reason()}),
        "Unknown fields are refused. The period is year, or period_start with period_last_day (12 months).",
    )
}

fn revise_body() -> Value {
    body(
        &["client_key", "limit"],
        json!({"client_key": client_key(),
            "limit": described(json!({"type": ["string", "null"], "pattern": amount_pattern(false, domain::AMOUNT_DIGITS_MAX)}), "exact decimal; null = in preparation"),
            "unit": unit(), "reason": reason()}),
        "Unknown fields are refused. unit is the unit of limit (default: the quota's).",
    )
}

fn reserve_body() -> Value {
    body(
        &["client_key", "quantity"],
        json!({"client_key": client_key(), "quantity": moved_amount("exact decimal"), "unit": unit(),
            "expires_at": described(instant(), "end of the hold (default now + 14 days, at most 180 days); a later one than the end of the quota's period is brought back to it, as the answer's expires_at shows"),
            "reason": reason()}),
        "Unknown fields are refused. unit is the unit of quantity (default: the quota's).",
    )
}

/// What the commit takes: all of the hold, or `quantity` of it (`unit` only with `quantity`).
fn commit_body() -> Value {
    let mut b = body(
        &["client_key"],
        json!({"client_key": client_key(),
            "quantity": moved_amount("exact decimal, at most the hold; the rest returns to the quota"),
            "unit": unit(), "permit_expires_at": instant(),
            "permit_number": {"type": "string", "minLength": 1, "maxLength": ::trace::DOCUMENT_NUMBER_CHARS_MAX,
                "pattern": "^[A-Za-z0-9/._-]{1,35}$", "not": {"pattern": "^[Ee][Nn][Gg][Ii][Nn][Ee]-"},
                "description": "the number of the permit issued (box 1): letters, digits and - / . _, not starting with ENGINE- (absent: the engine gives ENGINE-<reservation id>); the permit is then a document of the register"},
            "reason": reason()}),
        "Unknown fields are refused. Without quantity the whole hold is committed; unit goes with quantity only.",
    );
    b["dependentRequired"] = json!({"unit": ["quantity"]});
    b
}

/// What release and close take: they move everything still open, so no quantity.
fn whole_body() -> Value {
    body(
        &["client_key"],
        json!({"client_key": client_key(), "reason": reason()}),
        "Unknown fields (a quantity among them) are refused.",
    )
}

/// What an export takes: the quantity exported.
fn export_body() -> Value {
    body(
        &["client_key", "quantity"],
        json!({"client_key": client_key(), "quantity": moved_amount("exact decimal"), "unit": unit(), "reason": reason()}),
        "Unknown fields are refused.",
    )
}

/// A permit check's quantity: a decimal string or a JSON number, above 0 and at most
/// [`rules::QUANTITY_MAX`].
fn check_quantity(above_zero: bool) -> Value {
    let max: f64 = 1e12;
    let number = if above_zero {
        json!({"type": "number", "exclusiveMinimum": 0, "maximum": max})
    } else {
        json!({"type": "number", "minimum": 0, "maximum": max})
    };
    // Up to 12 digits before the point, or 1000000000000 itself (with a fraction of zeros).
    let max_itself = format!(
        "0*1000000000000(?:\\.0{{1,{}}})?",
        domain::AMOUNT_DIGITS_MAX - 13
    );
    let text =
        json!({"type": "string", "pattern": amount_pattern_with(above_zero, 12, Some(max_itself))});
    json!({"anyOf": [text, number], "description": format!("a decimal string or a JSON number, {} 0 and at most {}", if above_zero { "above" } else { "from" }, rules::QUANTITY_MAX)})
}

/// A code a permit check's document may leave blank: blank is absent.
fn or_blank(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "string", "pattern": "^\\s*$"}]})
}

fn check_body() -> Value {
    let reference = || {
        optional_text(
            rules::REFERENCE_CHARS_MAX,
            "document number or reference; blank is absent",
        )
    };
    let number = || {
        printable(
            rules::REFERENCE_CHARS_MAX,
            "document number (trimmed, 1 to 100 printable characters)",
        )
    };
    let prior = || {
        body_of(
            &["number", "country", "issued_on"],
            json!({
            "number": number(), "country": country(), "issued_on": date(),
            "appendix": or_blank(json!({"type": "string", "enum": ["I", "II", "III", "1", "2", "3"]})),
            "source": or_blank(source()), "quantity_remaining": check_quantity(false), "unit": unit()}),
            "",
            &["quantity_remaining"],
        )
    };
    let documents = body(
        &[],
        json!({
        "import_permit": body_of(&["number", "issued_on"], json!({"number": number(), "issued_on": date(),
            "taxon": optional_text(rules::TAXON_NAME_CHARS_MAX, "taxon name on the permit"),
            "quantity": check_quantity(true), "unit": unit()}), "", &["quantity"]),
        "export_permit": body(&["number", "country", "issued_on"], json!({"number": number(), "country": country(), "issued_on": date()}), ""),
        "origin_permit": prior(), "last_reexport": prior(),
        "pre_convention_date": or_blank(date_of_years(rules::PRE_CONVENTION_YEAR_MIN, DATE_YEAR_MAX)),
        "pre_convention_certificate": reference(),
        "ifs_certificate": reference(), "certificate_of_origin": reference(), "captive_breeding_registration": reference(),
        "ndf_reference": reference(), "laf_reference": reference(), "lawful_disposal_reference": reference(),
        "valid_until": or_blank(date()), "security_stamp": reference()}),
        "The documents presented; unknown fields are refused.",
    );
    let mut b = body_of(
        &[
            "transaction",
            "exporter",
            "importer",
            "source",
            "purpose",
            "term",
            "quantity",
            "date_issue",
            "date_trade",
        ],
        json!({
            "transaction": {"type": "string", "enum": ["export", "re-export", "import", "introduction_from_the_sea"]},
            "taxon": optional_text(rules::TAXON_NAME_CHARS_MAX, "a taxon name (synonyms resolve); blank is absent"),
            "taxon_id": {"anyOf": [taxon_id_schema(), {"type": "string", "pattern": "^\\s*[0-9]{1,9}\\s*$"}], "description": "Species+ taxon concept id, a number or a string of digits"},
            "exporter": country(), "importer": country(), "origin": or_blank(country()),
            "source": source(), "purpose": purpose(), "term": term(),
            "quantity": check_quantity(true), "unit": unit(),
            "date_issue": date(), "date_trade": date(),
            "documents": documents,
            "reserve": {"type": "boolean", "description": "reserve the quota when the decision is ALLOW (permit officers and admins; needs client_key, and date_issue today)"},
            "client_key": optional_text(rules::CLIENT_KEY_CHARS_MAX, "this API key's own idempotency key (blank is absent): another key's check under the same client_key is another check")}),
        "Unknown fields are refused. Give taxon (a name; synonyms resolve) or taxon_id, not both. The exporter and the importer differ (but for an introduction from the sea); an export's origin is the exporter, a re-export's is not; documents.valid_until is not before date_issue; a count is whole.",
        &["documents", "reserve"],
    );
    b["oneOf"] = json!([{"required": ["taxon"]}, {"required": ["taxon_id"]}]);
    b
}

fn components() -> Value {
    let decimal = json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"});
    json!({
        "securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "an API key from `cites keys create`; X-API-Key is also accepted"}
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}
                }}}
            },
            "Quota": {"type": "object",
                "required": ["id", "exporter", "taxon_id", "period_start", "period_end", "period_last_day", "unit", "limit", "held", "committed", "exported", "available", "box_11a_used"],
                "properties": {"id": {"type": "integer"}, "exporter": {"type": "string"}, "taxon_id": {"type": "integer"},
                    "period_start": {"type": "string", "format": "date"}, "period_end": {"type": "string", "format": "date"},
                    "period_last_day": {"type": "string", "format": "date"}, "unit": {"type": "string"},
                    "limit": {"anyOf": [decimal, {"type": "null"}]}, "held": decimal, "committed": decimal,
                    "exported": decimal, "available": decimal, "box_11a_used": decimal}},
            "Reservation": {"type": "object", "required": ["id", "quota_id", "state"],
                "properties": {"id": {"type": "integer"}, "quota_id": {"type": "integer"}, "state": {"type": "string"}}},
            "Outcome": {"type": "object", "required": ["outcome", "quota"],
                "properties": {"outcome": {"type": "string", "enum": ["done", "refused"]},
                    "quota": reference("Quota"), "reservation": {"anyOf": [reference("Reservation"), {"type": "null"}]},
                    "message": {"type": "string", "description": "why it was refused"}}}
        }
    })
}

fn catalogue_paths() -> Value {
    let id = param(
        "id",
        "path",
        true,
        "Species+ taxon concept id",
        taxon_id_schema(),
    );
    let mut listing_date = param(
        "date",
        "query",
        false,
        "YYYY-MM-DD, default today (an empty date= is refused)",
        date(),
    );
    listing_date["allowEmptyValue"] = json!(false);
    json!({
        "/health": {"get": op("Liveness, database reachability (503 when unreachable) and the catalogue's state: mirror, loading (a service with a Species+ token whose first mirror has not succeeded: permit checks answer 503 catalogue_loading), sample (the built-in sample: every decision NEEDS_REVIEW with SAMPLE_CATALOGUE) or empty", json!([]),
            ("the service and its database answer", json!({"type": "object", "required": ["status", "database", "catalogue"], "properties": {"status": {"const": "ok"}, "database": {"const": "ok"}, "catalogue": {"type": "string", "enum": ["mirror", "loading", "sample", "empty", "unknown"]}}})), false, None)},
        "/v1/openapi.json": {"get": op("This document", json!([]), ("the OpenAPI document", json!({"type": "object", "required": ["openapi", "paths"]})), false, None)},
        "/v1/sync/status": {"get": op("The last sync runs, the catalogue's size and its state (catalogue_state: mirror, loading, sample or empty)", json!([
            optional_query("limit", "runs to list (default 10)", integer(1, 100))
        ]), ("runs, newest first", json!({"type": "object", "required": ["catalogue_state", "catalogue", "runs"], "properties": {"catalogue_state": {"type": "string", "enum": ["mirror", "loading", "sample", "empty"]}, "catalogue": {"type": "object"}, "runs": {"type": "array", "maxItems": 100, "items": {"type": "object"}}}})), true, None)},
        "/v1/taxa": {"get": op("Find taxa by scientific name prefix or common name", json!([
            param("name", "query", true, "at least 2 characters once trimmed, no NUL", json!({"type": "string", "pattern": "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*[^\\s\\u0000][^\\u0000]*$"}))
        ]), ("matching taxa (at most 50)", wrapped("taxa", json!({"type": "array", "maxItems": sync::catalogue::SEARCH_RESULTS_MAX, "items": {"type": "object", "required": ["id", "full_name"]}}))), true, None)},
        "/v1/taxa/{id}": {"get": op("One taxon with its distribution", json!([id.clone()]),
            ("the taxon", json!({"type": "object", "required": ["taxon", "distributions"], "properties": {"taxon": {"type": "object", "required": ["id", "full_name"]}, "distributions": {"type": "array"}}})), true, Some("no such taxon"))},
        "/v1/taxa/{id}/listing": {"get": op("The CITES listing of a taxon on a date", json!([
            id, listing_date,
            optional_query("country", "country of origin (split listings)", country())
        ]), ("appendix or not listed, annotations, App III parties, reservations and the deciding listing changes", json!({"type": "object", "required": ["taxon", "date", "status", "appendix", "deciding_listing_changes"], "properties": {"status": {"type": "string", "enum": ["listed", "not_listed", "depends_on_population"]}, "appendix": {"type": ["string", "null"]}, "date": {"type": "string", "format": "date"}}})), true, Some("no such taxon"))},
        "/v1/amendments": {"get": op(&format!("Listing changes taking effect in a date range, per taxon, with the listing before and after; to is on or after from, at most {} days after it (422 otherwise)", sync::catalogue::AMENDMENT_RANGE_DAYS_MAX), json!([
            param("from", "query", true, "first day", date()),
            param("to", "query", true, "last day, on or after from", date())
        ]), ("amendments in date order", json!({"type": "object", "required": ["from", "to", "amendments"], "properties": {"amendments": {"type": "array"}}})), true, None)},
        "/v1/keys": {"get": op("API keys (names, roles, prefixes; never secrets); admin only", json!([]),
            ("the keys", wrapped("keys", json!({"type": "array", "items": {"type": "object", "required": ["name", "role", "key_prefix"], "properties": {"role": {"type": "string", "enum": crate::app::keys::Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>()}}}}))), true, None)},
    })
}

fn quota_paths() -> Value {
    let quota = || reference("Quota");
    let outcome = || reference("Outcome");
    let mut list = op(
        "Export quotas, with held / committed / exported / available and the box-11a figure",
        json!([
            optional_query("exporter", "exporting country", country()),
            optional_query(
                "taxon",
                "Species+ taxon id: the quotas declared on it, on concepts Species+ has merged into it and, for a synonym, on its accepted taxon (the answer's taxon_ids lists the ids searched; a permit check also applies its ancestors' quotas); 404 naming taxon when the catalogue holds no such taxon and no quota is declared on it",
                taxon_id_schema()
            ),
            optional_query(
                "year",
                "quotas in force during part of this year",
                integer(QUOTA_YEAR_MIN.into(), QUOTA_YEAR_MAX.into())
            )
        ]),
        (
            "quotas",
            json!({"type": "object", "required": ["quotas"], "properties": {"quotas": {"type": "array", "items": quota()}, "taxon_ids": {"type": "array", "items": {"type": "integer"}}}}),
        ),
        true,
        None,
    );
    list["responses"]["404"] = response("no such taxon");
    let mut declare = declare_op(body_op(
        "Declare a national quota (scientific-authority, admin); idempotent on client_key",
        quota_body(),
        ("the quota", wrapped("quota", quota())),
        None,
    ));
    declare["requestBody"]["content"]["application/json"]["example"] = json!({"client_key": "example-declaration", "exporter": "ZA", "taxon_id": 4521, "year": 2026, "limit": "40"});
    let history = json!({"type": "object", "required": ["quota_id", "history", "next_after"], "properties": {"quota_id": {"type": "integer"}, "history": {"type": "array", "items": {"type": "object", "required": ["seq"]}}, "next_after": {"type": ["integer", "null"]}}});
    json!({
        "/v1/quotas": {
            "get": list,
            "post": declare
        },
        "/v1/quotas/{id}": {"get": op("One quota and where it stands (box 11a: committed + exported); an imported quota also gives speciesplus_value, the value Species+ published at the last import (null: in preparation)", json!([ledger_id()]), ("the quota", wrapped("quota", quota())), true, Some("no such quota"))},
        "/v1/quotas/{id}/history": {"get": op("The quota's audit ledger, in sequence, one page at a time; each entry carries the counters just after it, and a refusal (reject, commit_refused, release_refused, export_refused, close_refused) the quantity asked (requested: none when none was given: a release, a close, a commit of the whole hold) and why it was refused (refusal_message)", json!([ledger_id(),
            optional_query("after", "the next_after of the previous page (default 0: from the start)", integer(0, LEDGER_ID_MAX)),
            optional_query("limit", &format!("entries per page (default {})", quota::HISTORY_PAGE_DEFAULT), integer(1, quota::HISTORY_PAGE_MAX.into()))]),
            ("ledger entries and next_after (null on the last page)", history), true, Some("no such quota"))},
        "/v1/quotas/{id}/revisions": {"post": body_op("Revise a quota's limit (scientific-authority, admin): a national quota amended, or null for in preparation again; refused (422, field limit) below what is already held, committed and exported; idempotent on client_key",
            revise_body(), ("the quota as revised", wrapped("quota", quota())), Some("no such quota"))},
        "/v1/quotas/{id}/reservations": {"post": body_op("Reserve a quantity (permit-officer, admin); refused as data when the quota cannot cover it",
            reserve_body(), ("outcome done or refused", outcome()), Some("no such quota"))},
        "/v1/reservations/{id}": {"get": op("One reservation", json!([ledger_id()]), ("the reservation", wrapped("reservation", reference("Reservation"))), true, Some("no such reservation"))},
        "/v1/reservations/{id}/commit": {"post": commit_op(body_op("Commit a held reservation as an issued permit, possibly for less; the permit becomes an export permit document of the provenance register (its exports and its end as later revisions)", commit_body(), ("outcome", outcome()), Some("no such reservation")))},
        "/v1/reservations/{id}/release": {"post": body_op("Release a held reservation; all of it returns to the quota", whole_body(), ("outcome", outcome()), Some("no such reservation"))},
        "/v1/reservations/{id}/exports": {"post": body_op("Record a quantity actually exported under a committed permit", export_body(), ("outcome", outcome()), Some("no such reservation"))},
        "/v1/reservations/{id}/close": {"post": body_op("Close a committed permit; what it did not export returns", whole_body(), ("outcome", outcome()), Some("no such reservation"))},
    })
}

fn check_path() -> Value {
    let mut check = body_op(
        "Check a permit application: ALLOW, REFUSE, NEEDS_REVIEW or NOT_CITES with every reason, its legal basis and evidence, box 11a and a risk score; with reserve: true an ALLOW reserves the quota in the same call",
        check_body(),
        (
            "the decision",
            json!({"type": "object", "required": ["check_id", "checked_at", "decision", "reasons"], "properties": {
                "check_id": {"type": "integer"}, "checked_at": {"type": "string", "format": "date-time"},
                "decision": {"type": "string", "enum": ["ALLOW", "REFUSE", "NEEDS_REVIEW", "NOT_CITES"]},
                "reasons": {"type": "array", "items": {"type": "object", "required": ["code"]}},
                "quotas_counted": {"type": "array", "description": "box 11a of every quota the export counts against (nested quotas: the species's and the genus's); box_11a is the tightest", "items": {"type": "object", "required": ["quota_id", "quota", "already_used", "this_application", "total_after", "unit"]}},
                "linked_reservations": {"type": "array", "description": "under nested quotas, the reservations a reserving check holds, one per quota; a commit, release, export or close of any one moves every one", "items": {"type": "object", "required": ["id", "quota_id", "state"]}}}}),
        ),
        None,
    );
    check["requestBody"]["content"]["application/json"]["example"] = json!({
        "transaction": "export", "taxon": "Loxodonta africana", "exporter": "NA", "importer": "DE",
        "source": "W", "purpose": "T", "term": "TUS", "quantity": "2",
        "date_issue": "2026-06-01", "date_trade": "2026-06-01"});
    check["responses"]["422"] = response(
        "invalid_input: a field or body that is not valid (`error.field` names it), including rules no schema states: a taxon or taxon_id the catalogue does not hold, both of them, the same exporter and importer, an origin that does not fit the transaction, valid_until before date_issue, a count that is not whole, reserve without client_key or on another day than date_issue",
    );
    check["responses"]["503"]["description"] = json!(
        "unavailable: the database stayed out of reach (`Retry-After`; a check sent with a client_key may be sent again with the same client_key and the same API key); catalogue_loading: the first mirror of Species+ is still loading; outcome_unknown: the record of a check sent without a client_key was cut off"
    );
    json!({"/v1/permit-checks": {"post": check}})
}

/// `GET /v1/reports/quota-use`: the review's rows as JSON or, with `Accept: text/csv`, CSV.
fn report_paths() -> Value {
    let row = json!({"type": "object", "required": ["quota_id", "exporter", "taxon_id", "taxon_name", "period_start", "period_last_day", "unit", "limit", "held", "committed", "exported", "used", "available", "used_share", "period_elapsed_share", "runs_out_on", "refused_requests", "refused_quantity", "published", "flags", "months"], "properties": {
        "quota_id": {"type": "integer"},
        "exporter": {"type": "string"},
        "taxon_id": {"type": "integer"},
        "taxon_name": {"type": "string"},
        "period_start": {"type": "string", "format": "date"},
        "period_last_day": {"type": "string", "format": "date"},
        "limit": {"type": ["string", "null"], "description": "null: in preparation"},
        "held": {"type": "string"}, "committed": {"type": "string"}, "exported": {"type": "string"},
        "used": {"type": "string", "description": "box 11a: committed + exported"},
        "available": {"type": ["string", "null"], "description": "limit - held - used; negative when exceeded"},
        "used_share": {"type": ["number", "null"], "description": "used / limit; null for a zero quota or one in preparation"},
        "period_elapsed_share": {"type": "number"},
        "runs_out_on": {"type": ["string", "null"], "format": "date", "description": "the day use reaches the limit at the pace so far"},
        "refused_requests": {"type": "integer"},
        "refused_quantity": {"type": "string"},
        "published": {"type": ["string", "null"], "description": "what Species+ publishes: in preparation, AMOUNT UNIT, or null for a national quota"},
        "flags": {"type": "array", "items": {"type": "string", "enum": ["over_80_percent", "exceeded", "activity_under_zero_quota", "in_preparation", "differs_from_species_plus"]}},
        "months": {"type": "array", "items": {"type": "object", "required": ["month", "used", "cumulative", "refused_requests"]}}}});
    let mut review = op(
        "The quota-use review (scientific authorities; every role reads): one row per quota of the exporter in force during part of the year, with held, committed, exported, used (box 11a) and its share of the limit, use by month, the day the quota runs out at the current pace, refused demand and flags, as of the service's today; CSV with Accept: text/csv",
        json!([
            param("exporter", "query", true, "exporting country", country()),
            param(
                "year",
                "query",
                true,
                "quotas in force during part of this year",
                integer(QUOTA_YEAR_MIN.into(), QUOTA_YEAR_MAX.into())
            ),
            optional_query(
                "taxon",
                "Species+ taxon id, as on GET /v1/quotas: the quotas declared on it, on concepts Species+ has merged into it and, for a synonym, on its accepted taxon; 404 naming taxon when the catalogue holds no such taxon and no quota is declared on it",
                taxon_id_schema()
            )
        ]),
        (
            "the review as of today, rows sorted by exporter, taxon name, period and id",
            json!({"type": "object", "required": ["today", "rows"], "properties": {"today": {"type": "string", "format": "date"}, "rows": {"type": "array", "items": row}}}),
        ),
        true,
        None,
    );
    review["responses"]["200"]["content"]["text/csv"] = json!({"schema": {"type": "string"}});
    review["responses"]["404"] = response("no such taxon");
    json!({"/v1/reports/quota-use": {"get": review}})
}

/// The document.
pub fn document() -> Value {
    let mut paths = catalogue_paths();
    for more in [
        quota_paths(),
        check_path(),
        report_paths(),
        trace::trace_paths(),
    ] {
        if let (Some(paths), Value::Object(more)) = (paths.as_object_mut(), more) {
            paths.extend(more);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cites-engine",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "CITES listings mirrored from Species+, answered at any date."
        },
        "security": [{"apiKey": []}],
        "components": components(),
        "paths": paths
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::app::keys::Role;
    use crate::http::ROUTES;

    fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not documented");
        op
    }

    /// The schema of `name`, a parameter of the operation.
    fn parameter<'a>(op: &'a Value, name: &str) -> &'a Value {
        let p = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name} in {op}"));
        &p["schema"]
    }

    /// The schema of the body field `name`.
    fn field<'a>(op: &'a Value, name: &str) -> &'a Value {
        let schema =
            &op["requestBody"]["content"]["application/json"]["schema"]["properties"][name];
        assert!(schema.is_object(), "no field {name}");
        schema
    }

    fn range(schema: &Value) -> (Option<i64>, Option<i64>) {
        (schema["minimum"].as_i64(), schema["maximum"].as_i64())
    }

    #[test]
    fn ids_years_and_pages_are_bounded_as_the_service_bounds_them() {
        let doc = document();
        for (method, path, _) in ROUTES {
            let op = operation(&doc, method, path);
            if path.contains("{id}") {
                let max = if path.starts_with("/v1/taxa/") {
                    i64::from(u32::MAX)
                } else {
                    i64::MAX
                };
                assert_eq!(range(parameter(op, "id")), (Some(1), Some(max)), "{path}");
            }
        }
        let quotas = operation(&doc, "GET", "/v1/quotas");
        assert_eq!(range(parameter(quotas, "year")), (Some(1975), Some(2200)));
        assert_eq!(
            range(parameter(quotas, "taxon")),
            (Some(1), Some(i64::from(u32::MAX)))
        );
        let declare = operation(&doc, "POST", "/v1/quotas");
        assert_eq!(range(field(declare, "year")), (Some(1975), Some(2200)));
        assert_eq!(
            range(field(declare, "taxon_id")),
            (Some(1), Some(i64::from(u32::MAX)))
        );
        let status = operation(&doc, "GET", "/v1/sync/status");
        assert_eq!(range(parameter(status, "limit")), (Some(1), Some(100)));
        let history = operation(&doc, "GET", "/v1/quotas/{id}/history");
        assert_eq!(range(parameter(history, "limit")), (Some(1), Some(10_000)));
        assert_eq!(
            range(parameter(history, "after")),
            (Some(0), Some(i64::MAX))
        );
    }

    #[test]
    fn dates_are_patterns_of_real_days_from_1973_to_2200() {
        let doc = document();
        let pattern = date_pattern(DATE_YEAR_MIN, DATE_YEAR_MAX);
        let years = |p: &str| -> Vec<String> {
            let inner = p
                .split("(?:(?:")
                .nth(1)
                .unwrap()
                .split(")-")
                .next()
                .unwrap();
            inner.split('|').map(str::to_owned).collect()
        };
        let all = years(&pattern);
        assert_eq!(all.first().map(String::as_str), Some("1973"));
        assert_eq!(all.last().map(String::as_str), Some("2200"));
        assert_eq!(all.len(), 228);
        let leap = pattern.rsplit("|(?:").next().unwrap();
        assert!(leap.contains("|2000|") && leap.contains("|2024|"), "{leap}");
        assert!(!leap.contains("2100") && !leap.contains("1975"), "{leap}");
        for (method, path, name) in [
            ("GET", "/v1/taxa/{id}/listing", "date"),
            ("GET", "/v1/amendments", "from"),
            ("GET", "/v1/amendments", "to"),
        ] {
            let schema = parameter(operation(&doc, method, path), name);
            assert_eq!(schema["pattern"], json!(pattern), "{path} {name}");
        }
        let check = operation(&doc, "POST", "/v1/permit-checks");
        for name in ["date_issue", "date_trade"] {
            assert_eq!(field(check, name)["pattern"], json!(pattern), "{name}");
        }
        // An empty date is refused, not taken as today.
        let listing = operation(&doc, "GET", "/v1/taxa/{id}/listing");
        let date = listing["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "date")
            .unwrap();
        assert_eq!(date["allowEmptyValue"], json!(false));
    }

    #[test]
    fn codes_and_roles_are_the_lists_the_service_parses_against() {
        let doc = document();
        let enum_of = |schema: &Value| -> Vec<String> {
            schema["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("no enum in {schema}"))
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let countries: Vec<String> = CountryCode::all().map(|c| c.as_str().to_owned()).collect();
        let declare = operation(&doc, "POST", "/v1/quotas");
        assert_eq!(enum_of(field(declare, "exporter")), countries);
        let sources: Vec<String> = SourceCode::all().map(|c| c.code().to_owned()).collect();
        assert_eq!(enum_of(field(declare, "source")), sources);
        let purposes: Vec<String> = PurposeCode::all().map(|c| c.code().to_owned()).collect();
        assert_eq!(enum_of(field(declare, "purpose")), purposes);
        let terms: Vec<String> = TermCode::all().map(|c| c.code().to_owned()).collect();
        assert_eq!(enum_of(field(declare, "term")), terms);
        for unit in UnitCode::all() {
            assert!(enum_of(field(declare, "unit")).contains(&unit.code().to_owned()));
        }
        let check = operation(&doc, "POST", "/v1/permit-checks");
        for name in ["exporter", "importer"] {
            assert_eq!(enum_of(field(check, name)), countries, "{name}");
        }
        let keys = operation(&doc, "GET", "/v1/keys");
        let role = &keys["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
            ["keys"]["items"]["properties"]["role"];
        let roles: Vec<String> = Role::ALL.iter().map(|r| r.as_str().to_owned()).collect();
        assert_eq!(enum_of(role), roles);
    }

    #[test]
    fn every_body_names_its_required_fields_and_refuses_others() {
        let doc = document();
        // A trace batch is the body itself: its client_key is a query parameter, and the
        // project's form of it refuses other fields (an EPCIS document keeps its own).
        let ingest = operation(&doc, "POST", "/v1/trace/events");
        let batch = &ingest["requestBody"]["content"]["application/json"]["schema"]["anyOf"][0];
        assert_eq!(batch["additionalProperties"], json!(false));
        let key = parameter(ingest, "client_key");
        assert_eq!(
            (key["minLength"].as_i64(), key["maxLength"].as_i64()),
            (Some(1), Some(200))
        );
        for (method, path, _) in ROUTES.iter().filter(|(m, _, _)| *m == "POST") {
            let op = operation(&doc, method, path);
            for status in ["408", "413"] {
                assert!(op["responses"][status].is_object(), "{path} lacks {status}");
            }
            if *path == "/v1/trace/events" {
                continue;
            }
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(schema["additionalProperties"], json!(false), "{path}");
            let required = schema["required"].as_array().unwrap();
            if *path != "/v1/permit-checks" {
                assert!(required.contains(&json!("client_key")), "{path}");
                let key = field(op, "client_key");
                assert_eq!(
                    (key["minLength"].as_i64(), key["maxLength"].as_i64()),
                    (Some(1), Some(200)),
                    "{path}"
                );
            }
        }
        let check = operation(&doc, "POST", "/v1/permit-checks");
        let documents = field(check, "documents");
        assert_eq!(documents["additionalProperties"], json!(false));
    }

    /// No body field is an array: the service refuses one anywhere in a body, since serde
    /// would read it as an object's fields in order (`quota_api::AppJson`). A route that comes
    /// to take an array must revisit that rule: a trace batch, a list of records by nature, is
    /// read by the register's own parser, which names every fault by its JSON path.
    #[test]
    fn no_body_takes_an_array() {
        fn arrays(schema: &Value, at: &str, found: &mut Vec<String>) {
            match schema {
                Value::Object(o) => {
                    if o.get("type") == Some(&json!("array"))
                        || o.get("type")
                            .and_then(Value::as_array)
                            .is_some_and(|t| t.contains(&json!("array")))
                    {
                        found.push(at.to_owned());
                    }
                    for (k, v) in o {
                        arrays(v, &format!("{at}/{k}"), found);
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| arrays(v, at, found)),
                _ => {}
            }
        }
        let doc = document();
        let mut found = Vec::new();
        for (method, path, _) in ROUTES
            .iter()
            .filter(|(m, p, _)| *m == "POST" && *p != "/v1/trace/events")
        {
            let op = operation(&doc, method, path);
            arrays(&op["requestBody"], path, &mut found);
        }
        assert_eq!(found, Vec::<String>::new());
    }

    #[test]
    fn every_operation_lists_the_statuses_any_request_may_get() {
        let doc = document();
        for (method, path, roles) in ROUTES {
            let op = operation(&doc, method, path);
            for status in ["400", "414", "422", "431", "500"] {
                assert!(op["responses"][status].is_object(), "{path} lacks {status}");
            }
            if !roles.is_empty() {
                let header = &op["responses"]["503"]["headers"]["Retry-After"];
                assert_eq!(header["required"], json!(true), "{path}");
            }
        }
    }
}
