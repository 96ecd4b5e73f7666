//! The extractors of every route, whose rejections use the service's error format: the
//! authenticated caller, the query string and the JSON body.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::keys::{self, Caller};
use crate::http::{ApiError, AppState, database_unavailable};

/// The authenticated caller, from `Authorization: Bearer <key>` or `X-API-Key: <key>`: the
/// one `authorize` found for the request (looked up here if it has not been).
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Authenticated(caller.clone()));
        }
        authenticate(parts, state).await.map(Authenticated)
    }
}

/// The caller presenting the request's key; a 401 without a valid one.
pub(crate) async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let presented = presented_key(&parts.headers)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an API key is required: send Authorization: Bearer <key> (create one with `cites keys create`)",
        )
    })?;
    match keys::authenticate(&state.db, &presented).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the API key is unknown or revoked",
        )),
        Err(keys::KeyError::Db(e)) if database_unavailable(&e) => {
            Err(ApiError::unavailable("authenticate", &e))
        }
        Err(e) => Err(ApiError::internal("authenticate", &e)),
    }
}

/// The key sent as `Authorization: Bearer <key>` (the scheme in any case) or `X-API-Key`;
/// `None` if neither is sent. An `Authorization` header that is not `Bearer <key>`, with no
/// `X-API-Key` beside it, is a 401 saying so; what it holds is never repeated (it may be a key).
fn presented_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let bearer = headers.get(header::AUTHORIZATION).map(bearer_key);
    if let Some(Ok(key)) = bearer {
        return Ok(Some(key));
    }
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    match (api_key, bearer) {
        (Some(key), _) => Ok(Some(key)),
        (None, Some(Err(problem))) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("the Authorization header {problem}: send Authorization: Bearer <key>"),
        )
        .on_field("authorization")),
        (None, _) => Ok(None),
    }
}

/// The key of an `Authorization` value `Bearer <key>` (RFC 9110 11.1: the scheme is
/// case-insensitive); otherwise what is wrong with it.
fn bearer_key(value: &axum::http::HeaderValue) -> Result<String, &'static str> {
    let value = value
        .to_str()
        .map_err(|_| "holds characters other than visible ASCII")?
        .trim();
    if value.is_empty() {
        return Err("is empty");
    }
    let Some((scheme, key)) = value.split_once(|c: char| c.is_ascii_whitespace()) else {
        return Err(if value.eq_ignore_ascii_case("bearer") {
            "names the Bearer scheme but no key"
        } else {
            "has no scheme"
        });
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("uses a scheme other than Bearer");
    }
    let key = key.trim();
    if key.split_ascii_whitespace().count() != 1 {
        return Err("holds more than one word after Bearer");
    }
    Ok(key.to_owned())
}

/// Query-string extraction whose rejections use our error format (422 naming the problem).
/// A parameter with an empty value (`?year=`, `?after=&limit=`) is absent: forms and the
/// the `?name=` spellings of `docs/http.md` send them so. Where absence means a value the
/// caller may not have meant (`date=`: today), [`refuse_empty`] refuses it instead.
pub struct AppQuery<T>(pub T);

/// The query of a route that takes no parameters: one sent is refused, naming it, rather than
/// ignored (a caller who adds `?year=2026` to a quota's route believes it filtered something).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // A value is empty exactly when its encoded form is: drop those pairs, parse the rest.
        let kept: Vec<&str> = parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
            .collect();
        let query = kept.join("&");
        // Through serde_path_to_error, so that a value that does not decode names its field.
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(AppQuery)
            .map_err(|e| query_rejection(&kept, e))
    }
}

/// A query string the route cannot take: an unknown parameter is named as the field at fault,
/// with the ones accepted; a value that does not decode is named by its parameter, with what
/// it holds; anything else is the query's.
fn query_rejection(
    pairs: &[&str],
    error: serde_path_to_error::Error<serde_urlencoded::de::Error>,
) -> ApiError {
    let path = error.path().to_string();
    let said = error.into_inner().to_string();
    if let Some((_, rest)) = said.split_once("unknown field `")
        && let Some((name, tail)) = rest.split_once('`')
    {
        let accepted = match tail.trim_start_matches(", ") {
            "there are no fields" => "none".to_owned(),
            expected => expected
                .trim_start_matches("expected ")
                .trim_start_matches("one of ")
                .replace('`', ""),
        };
        return ApiError::invalid(
            name.to_owned(),
            format!("unknown query parameter {name:?}: accepted {accepted}"),
        );
    }
    if path == "." {
        return ApiError::invalid(
            "query",
            format!("the query string could not be read: {said}"),
        );
    }
    // The value as sent, for the message (the last one, as serde keeps the last of repeats).
    let value = form_urlencoded::parse(pairs.join("&").as_bytes())
        .filter(|(name, _)| *name == path.as_str())
        .last()
        .map(|(_, v)| {
            v.chars()
                .take(domain::ERROR_VALUE_CHARS_MAX)
                .collect::<String>()
        })
        .unwrap_or_default();
    let number = said.contains("digit") || said.contains("number");
    let accepted = if number {
        "; accepted a whole number"
    } else {
        ""
    };
    ApiError::invalid(
        path.clone(),
        format!("invalid {path} {value:?}: {said}{accepted}"),
    )
}

/// A JSON body whose rejections use our error format (422 naming the problem).
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    /// A value of the wrong type names its field by its path in the body (`limit`,
    /// `documents.ndf_reference`), found by `serde_path_to_error`; what is not JSON at all, or
    /// not an object, is the `body`'s fault.
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                // Media types are case-insensitive (RFC 9110 8.3.1).
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !json {
            return Err(ApiError::invalid(
                "body",
                "send the body as JSON, with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the body is larger than the {} bytes accepted",
                        crate::http::BODY_BYTES_MAX
                    ),
                )
                .on_field("body")
            } else {
                ApiError::invalid("body", r.body_text())
            }
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                ApiError::invalid(
                    "body",
                    format!("the body is not the JSON object expected: {inner}"),
                )
            } else if let Some(name) = inner
                .to_string()
                .strip_prefix("duplicate field `")
                .and_then(|rest| rest.split('`').next())
            {
                let field = if path == "." {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                ApiError::invalid(
                    field.clone(),
                    format!("invalid {field}: given twice; accepted once"),
                )
            } else if path == "." || path.starts_with('[') {
                // The body is JSON, but not an object: say what it is, not the Rust type it
                // was to become.
                let found = inner.to_string();
                // serde reads an array as the struct's fields in order: "invalid length", or
                // an error at its first element ("[0]").
                let found = found
                    .strip_prefix("invalid type: ")
                    .filter(|_| !path.starts_with('['))
                    .or_else(|| path.starts_with('[').then_some("sequence"))
                    .or_else(|| found.strip_prefix("invalid length").map(|_| "sequence"))
                    .and_then(|t| t.split([',', ' ']).next())
                    .map_or("something else", |t| match t {
                        "sequence" => "an array",
                        "string" => "a string",
                        "integer" | "floating" => "a number",
                        "boolean" => "a boolean",
                        "null" => "null",
                        _ => "something else",
                    });
                ApiError::invalid(
                    "body",
                    format!("the body must be one JSON object of this route's fields, not {found}"),
                )
            } else {
                ApiError::invalid(path.clone(), explain(&path, &inner.to_string()))
            }
        })?;
        de.end().map_err(|e| {
            ApiError::invalid("body", format!("the body is not one JSON object: {e}"))
        })?;
        // serde reads an array as an object's fields in order; no field of any body is an
        // array (the OpenAPI document's tests hold this), so one is refused, named.
        let whole: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let Some(field) = first_array(&whole, "") {
            return Err(ApiError::invalid(
                field.clone(),
                format!("invalid {field}: an array; accepted a JSON object of its fields"),
            ));
        }
        Ok(AppJson(value))
    }
}

/// A field's decoding error as a caller reads it: serde's Rust type names in plain words, and
/// what is accepted where the decoder does not say (the formats of instants and dates, and
/// that a quota's quantities are strings).
fn explain(path: &str, serde_says: &str) -> String {
    let mut said = serde_says.to_owned();
    // The path names the field: where it sits in the text adds nothing.
    if let Some(at) = said.find(" at line ") {
        said.truncate(at);
    }
    // serde names an unknown field together with the fields accepted: nothing to add.
    if said.starts_with("unknown field") {
        return format!("invalid {path}: {said}");
    }
    for int in ["u8", "u16", "u32", "u64"] {
        said = said.replace(
            &format!("expected {int}"),
            "expected a whole number, 0 or more",
        );
    }
    for int in ["i8", "i16", "i32", "i64"] {
        said = said.replace(&format!("expected {int}"), "expected a whole number");
    }
    if let Some(at) = said.find("expected struct ") {
        said.truncate(at);
        said.push_str("expected a JSON object");
    }
    let field = path.rsplit('.').next().unwrap_or(path);
    // chrono's words for a date or an instant it could not read.
    let chrono_says = |said: &mut String| match said.as_str() {
        "input is out of range" => *said = "no such day or time".to_owned(),
        "premature end of input" | "input is not enough for unique date and time" => {
            *said = "incomplete".to_owned();
        }
        "input contains invalid characters" | "trailing input" => {
            *said = "not in the format accepted".to_owned();
        }
        _ => {}
    };
    let accepted = if field.ends_with("_at") {
        chrono_says(&mut said);
        "; accepted an RFC 3339 instant, such as 2026-12-10T00:00:00Z"
    } else if field.starts_with("date_")
        || field.starts_with("period_")
        || field.ends_with("_date")
        || field.ends_with("_on")
        || field == "valid_until"
    {
        chrono_says(&mut said);
        if said == "no such day or time" {
            said = "no such day".to_owned();
        }
        "; accepted a date, YYYY-MM-DD"
    } else if (field == "quantity" || field == "limit") && said.contains("expected a string") {
        "; accepted an exact decimal written as a JSON string, e.g. \"5\""
    } else {
        ""
    };
    format!("invalid {path}: {said}{accepted}")
}

/// The path (`documents.import_permit`) of the first array among the members of `value`.
fn first_array(value: &Value, at: &str) -> Option<String> {
    let Value::Object(members) = value else {
        return None;
    };
    members.iter().find_map(|(name, member)| {
        let path = if at.is_empty() {
            name.clone()
        } else {
            format!("{at}.{name}")
        };
        match member {
            Value::Array(_) => Some(path),
            _ => first_array(member, &path),
        }
    })
}

/// A 422 naming `name` when the query sends it with an empty value: for a parameter whose
/// absence stands for a value of its own (a listing's `date` is today), an empty one is more
/// likely a form left blank than a request for that value.
pub fn refuse_empty(uri: &Uri, name: &'static str, accepted: &str) -> Result<(), ApiError> {
    let empty = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .any(|(n, v)| n == name && v.is_empty());
    if empty {
        return Err(ApiError::invalid(
            name,
            format!("{name} is empty: accepted {accepted}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A query with a number, as a route may take one.
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Paged {
        page: Option<u32>,
        name: Option<String>,
    }

    async fn read(query: &str) -> Result<Paged, ApiError> {
        let request = axum::http::Request::builder()
            .uri(format!("/x?{query}"))
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        AppQuery::<Paged>::from_request_parts(&mut parts, &())
            .await
            .map(|AppQuery(q)| q)
    }

    /// Any parameter whose value does not decode is named, not "query".
    #[tokio::test]
    async fn a_query_value_that_does_not_decode_names_its_parameter() {
        for (value, why) in [
            ("99999999999999999999", "number too large"),
            ("-1", "invalid digit"),
            ("ten", "invalid digit"),
        ] {
            let e = read(&format!("name=x&page={value}")).await.unwrap_err();
            assert_eq!(
                (e.status, e.field.as_deref()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("page")),
                "{value}: {}",
                e.message
            );
            assert!(
                e.message.starts_with(&format!("invalid page {value:?}: "))
                    && e.message.contains(why)
                    && e.message.ends_with("; accepted a whole number"),
                "{value}: {}",
                e.message
            );
        }
        let e = read("colour=red").await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colour"), "{}", e.message);
        assert!(e.message.contains("accepted page or name"), "{}", e.message);
        let q = read("page=3&name=").await.unwrap();
        assert_eq!((q.page, q.name), (Some(3), None));
    }
}
