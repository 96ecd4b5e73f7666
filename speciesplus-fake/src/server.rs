//! The request handler: faults, auth, golden bodies, parameter validation, and the five API
//! endpoints plus `/downloads` and the dump files, all behind one axum fallback route.

// Validation helpers return the ready-made error response as `Err`; it is built once per
// request and returned straight to axum, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Response, header};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::config::{FakeConfig, Faults, Shape};
use crate::golden::{self, GoldenEntry, GoldenKey};
use crate::http::{
    ConnHandle, GENERIC_500, encode, etag, fault_response, html_error, json, json_error,
    parse_query, unauthorized,
};
use crate::model::{GeoEntity, ListingRow, Obj, TaxonLine, fmt_ts, json_array, to_json};

/// One request as the fake saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Whether an `X-Authentication-Token` header was sent (valid or not).
    pub has_token: bool,
    /// Status returned; 0 when the connection was reset without a response.
    pub status: u16,
}

pub(crate) struct Dump {
    pub(crate) id: u64,
    pub(crate) version: u64,
    pub(crate) created: DateTime<Utc>,
    pub(crate) gz: Arc<Vec<u8>>,
    pub(crate) raw_len: usize,
    pub(crate) records: usize,
}

pub(crate) struct MutState {
    pub(crate) cat: Catalogue,
    pub(crate) tokens: HashSet<String>,
    pub(crate) faults: Faults,
    pub(crate) fail_remaining: Vec<u32>,
    pub(crate) fault_rng: StdRng,
    pub(crate) shuffle_rng: StdRng,
    pub(crate) now: Option<DateTime<Utc>>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) window: Option<(tokio::time::Instant, u32)>,
    pub(crate) counter: u64,
    pub(crate) version: u64,
    pub(crate) dumps: BTreeMap<u64, Dump>,
}

impl MutState {
    // The fake stands in for a remote server, which has its own clock: the wall clock unless a
    // test sets one.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    pub(crate) fn set_faults(&mut self, f: Faults) {
        self.fail_remaining = f.fail_paths.iter().map(|(_, _, n)| *n).collect();
        self.fault_rng = StdRng::seed_from_u64(f.seed);
        self.faults = f;
    }
}

pub(crate) struct Shared {
    pub(crate) config: FakeConfig,
    pub(crate) origin: String,
    pub(crate) golden: HashMap<GoldenKey, GoldenEntry>,
    pub(crate) state: Mutex<MutState>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, MutState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Fault {
    None,
    Status(u16),
    Reset,
}

type Resp = Response<Body>;

/// The single axum handler.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Resp {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let headers = req.headers().clone();
    let token = headers
        .get("x-authentication-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (resp, reset) = dispatch(&shared, &method, &path, query.as_deref(), &headers, token).await;
    let status = if reset { 0 } else { resp.status().as_u16() };
    shared.lock().requests.push(RecordedRequest {
        method,
        path,
        query,
        has_token: headers.contains_key("x-authentication-token"),
        status,
    });
    if reset {
        conn.kill.store(true, Ordering::SeqCst);
        tracing::debug!(peer = %conn.peer, "fault: connection reset");
    }
    resp
}

fn decide_fault(st: &mut MutState, path: &str) -> (Fault, Option<Duration>) {
    st.counter += 1;
    let f = st.faults.clone();
    for (i, (sub, status, _)) in f.fail_paths.iter().enumerate() {
        if path.contains(sub.as_str()) && st.fail_remaining.get(i).copied().unwrap_or(0) > 0 {
            st.fail_remaining[i] -= 1;
            return if *status == 0 {
                (Fault::Reset, None)
            } else {
                (Fault::Status(*status), None)
            };
        }
    }
    if !path.starts_with("/api/") {
        return (Fault::None, None);
    }
    if let Some(n) = f.throttle_after {
        let now = tokio::time::Instant::now();
        let (start, count) = match st.window {
            Some((s, c)) if now.duration_since(s) < Duration::from_secs(1) => (s, c + 1),
            _ => (now, 1),
        };
        st.window = Some((start, count));
        if count > n {
            let s = if f.throttle_status == 0 {
                404
            } else {
                f.throttle_status
            };
            return (Fault::Status(s), None);
        }
    }
    if let Some(n) = f.retry_after_429
        && n > 0
        && st.counter.is_multiple_of(n)
    {
        return (Fault::Status(429), None);
    }
    if f.reset_rate > 0.0 && st.fault_rng.random::<f64>() < f.reset_rate {
        return (Fault::Reset, None);
    }
    if f.error_rate > 0.0 && st.fault_rng.random::<f64>() < f.error_rate {
        let s = [500, 502, 520, 524][st.fault_rng.random_range(0..4)];
        return (Fault::Status(s), None);
    }
    let slow =
        (f.slow_rate > 0.0 && st.fault_rng.random::<f64>() < f.slow_rate).then_some(f.slow_by);
    (Fault::None, slow)
}

async fn dispatch(
    shared: &Arc<Shared>,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    token: Option<String>,
) -> (Resp, bool) {
    let (fault, slow, retry_after) = {
        let mut st = shared.lock();
        let (f, s) = decide_fault(&mut st, path);
        (f, s, st.faults.retry_after_secs.max(1))
    };
    if let Some(d) = slow {
        tokio::time::sleep(d).await;
    }
    match fault {
        Fault::Reset => return (fault_response(500, retry_after), true),
        Fault::Status(s) => return (fault_response(s, retry_after), false),
        Fault::None => {}
    }
    if method != "GET" && method != "HEAD" {
        return (html_error(404), false);
    }
    if let Some(name) = path.strip_prefix("/files/") {
        return (serve_file(shared, name, query), false);
    }
    let authorised = {
        let st = shared.lock();
        token.as_ref().is_some_and(|t| st.tokens.contains(t))
    };
    if !authorised {
        return (unauthorized(), false);
    }
    if shared.config.golden
        && let Some(r) = serve_golden(shared, path, query, headers)
    {
        return (r, false);
    }
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return (html_error(404), false);
    };
    let (rest, dot_json) = match rest.strip_suffix(".json") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let params = parse_query(query);
    let segs: Vec<&str> = rest.split('/').collect();
    let r = match segs.as_slice() {
        ["taxon_concepts"] => {
            if !shared.config.latency.is_zero() {
                tokio::time::sleep(shared.config.latency).await;
            }
            taxon_concepts(shared, &params, dot_json)
        }
        ["taxon_concepts", id, ep] => per_taxon(shared, id, ep, &params),
        ["downloads"] => downloads(shared, &params),
        ["downloads", "latest"] => downloads_latest(shared, &params),
        _ => html_error(404),
    };
    (finish(shared, r, headers), false)
}

/// Adds the ETag to 200s and answers 304 when configured and `If-None-Match` matches.
fn finish(shared: &Shared, resp: Resp, req_headers: &HeaderMap) -> Resp {
    if resp.status().as_u16() != 200 || resp.headers().contains_key(header::ETAG) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // Bodies built by this module are fully buffered; extract the bytes synchronously.
    let bytes = match body_bytes(body) {
        Some(b) => b,
        None => return Response::from_parts(parts, Body::empty()),
    };
    let tag = etag(&bytes);
    if let Ok(v) = HeaderValue::from_str(&tag) {
        parts.headers.insert(header::ETAG, v);
    }
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, private, must-revalidate"),
    );
    if shared.config.etag_304 && if_none_match(req_headers, &tag) {
        parts.status = axum::http::StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn if_none_match(h: &HeaderMap, tag: &str) -> bool {
    h.get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

/// A response body built from a `String`/`Vec<u8>` in this module, as bytes.
fn body_bytes(body: Body) -> Option<Vec<u8>> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(axum::body::to_bytes(body, usize::MAX));
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(b)) => Some(b.to_vec()),
        _ => None,
    }
}

fn bad_format(shared: &Shared, name: &str) -> Resp {
    let status = match shared.config.shape {
        Shape::V2022 => 400,
        Shape::V2025 => 422,
    };
    json_error(status, &format!("Invalid parameter format: {name}"))
}

fn check_permitted(params: &[(String, String)], permitted: &[&str]) -> Result<(), Resp> {
    let mut bad: Vec<&str> = Vec::new();
    for (k, _) in params {
        let always = matches!(k.as_str(), "controller" | "action" | "format");
        if !always && !permitted.contains(&k.as_str()) && !bad.contains(&k.as_str()) {
            bad.push(k);
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(json_error(
            422,
            &format!("Unpermitted parameters ({})", bad.join(", ")),
        ))
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Ruby's `String#to_i`: leading digits (with optional sign), else 0.
fn ruby_to_i(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n: String = digits
        .chars()
        .take_while(char::is_ascii_digit)
        .take(9)
        .collect();
    let v = n.parse::<i64>().unwrap_or(0);
    if neg { -v } else { v }
}

/// The API's `updated_since` check: the first three `-`-separated parts make a valid date.
fn valid_updated_since(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() < 3 {
        return false;
    }
    let (y, m, d) = (
        ruby_to_i(parts[0]),
        ruby_to_i(parts[1]),
        ruby_to_i(parts[2]),
    );
    let (Ok(y), Ok(m), Ok(d)) = (i32::try_from(y), u32::try_from(m), u32::try_from(d)) else {
        return false;
    };
    NaiveDate::from_ymd_opt(y, m, d).is_some()
}

/// Parses `updated_since` as Postgres would for a `timestamp without time zone` column: a
/// date, or a date-time with `T` or space, optional fraction; a zone suffix is ignored (so the
/// wall-clock time is read as UTC).
fn parse_updated_since(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    let s = s.replacen(' ', "T", 1);
    let body = s.strip_suffix('Z').unwrap_or(&s);
    let body = match body.rfind(['+', '-']) {
        Some(i) if i > 10 => &body[..i],
        _ => body,
    };
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(body, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

fn parse_int(
    shared: &Shared,
    params: &[(String, String)],
    name: &str,
) -> Result<Option<u64>, Resp> {
    match param(params, name) {
        None => Ok(None),
        Some(v) => {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad_format(shared, name));
            }
            match v.parse::<u64>() {
                Ok(n) if n <= 2_147_483_647 => Ok(Some(n)),
                _ => Err(bad_format(shared, name)),
            }
        }
    }
}

fn parse_bool(shared: &Shared, params: &[(String, String)], name: &str) -> Result<bool, Resp> {
    match param(params, name) {
        None => Ok(false),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(bad_format(shared, name)),
    }
}

fn taxon_concepts(shared: &Shared, params: &[(String, String)], dot_json: bool) -> Resp {
    match taxon_concepts_inner(shared, params, dot_json) {
        Ok(r) | Err(r) => r,
    }
}

fn taxon_concepts_inner(
    shared: &Shared,
    params: &[(String, String)],
    dot_json: bool,
) -> Result<Resp, Resp> {
    check_permitted(
        params,
        &[
            "page",
            "per_page",
            "updated_since",
            "name",
            "with_descendants",
            "taxonomy",
            "language",
            "with_eu_listings",
        ],
    )?;
    let page = parse_int(shared, params, "page")?.unwrap_or(1);
    let per_page = parse_int(shared, params, "per_page")?.unwrap_or(500);
    let since = match param(params, "updated_since") {
        None => None,
        Some(s) if !valid_updated_since(s) => return Err(bad_format(shared, "updated_since")),
        Some(s) => match parse_updated_since(s) {
            Some(t) => Some(t),
            None => return Err(json_error(500, GENERIC_500)),
        },
    };
    let with_desc = parse_bool(shared, params, "with_descendants")?;
    let with_eu = parse_bool(shared, params, "with_eu_listings")?;
    let name = param(params, "name").filter(|n| !n.is_empty());
    if with_desc && name.is_none() {
        return Err(json_error(422, "Invalid use of with_descendants"));
    }
    let cms = match param(params, "taxonomy") {
        None => false,
        Some(t) if t.eq_ignore_ascii_case("cites") => false,
        Some(t) if t.eq_ignore_ascii_case("cms") => true,
        Some(t) => return Err(json_error(422, &format!("Unknown taxonomy: {t}"))),
    };
    let langs: Option<Vec<String>> = param(params, "language").map(|l| {
        l.split(',')
            .map(|x| x.trim().to_uppercase())
            .filter(|x| !x.is_empty())
            .collect()
    });
    if page == 0 || per_page == 0 {
        return Err(json_error(500, GENERIC_500));
    }
    let per_page = per_page.min(500);

    let mut st = shared.lock();
    let lag = shared.config.visibility_lag;
    let view = (!lag.is_zero())
        .then(|| st.now() - chrono::Duration::from_std(lag).unwrap_or(chrono::Duration::zero()));
    let upper = name.map(str::to_uppercase);
    let mut rng = StdRng::seed_from_u64(st.shuffle_rng.random());
    let malformed = st.faults.malformed_page == Some(page as u32);
    let st = st;
    let mut rows: Vec<((u8, u64, i64), &TaxonLine)> = Vec::new();
    for (i, t) in st.cat.taxa.iter().enumerate() {
        let Some(l) = st.cat.visible(i, view) else {
            continue;
        };
        if l.is_cms() != cms {
            continue;
        }
        if let Some(s) = since
            && l.updated_at < s
        {
            continue;
        }
        if let Some(n) = &upper {
            let mut hit = l.full_name.to_uppercase() == *n;
            if !hit && with_desc && l.is_accepted() {
                let h = l.higher_taxa.clone().unwrap_or_default();
                hit = [h.kingdom, h.phylum, h.class, h.order, h.family]
                    .iter()
                    .flatten()
                    .map(|s| s.as_str())
                    .chain(l.genus_name())
                    .any(|s| s.to_uppercase() == *n);
            }
            if !hit {
                continue;
            }
        }
        let key = if l.is_accepted() {
            match t.position {
                Some(p) => (1, p, l.id),
                None => (0, i as u64, l.id),
            }
        } else {
            (2, 0, l.id)
        };
        rows.push((key, l));
    }
    rows.sort_by_key(|(k, _)| *k);
    let total = rows.len() as u64;
    let shuffle = shared.config.shuffle_arrays;
    if shuffle {
        let tail = rows
            .iter()
            .position(|(k, _)| k.0 == 2)
            .unwrap_or(rows.len());
        rows[tail..].shuffle(&mut rng);
    }
    let start = ((page - 1).saturating_mul(per_page)).min(total) as usize;
    let end = (start + per_page as usize).min(rows.len());
    let items: Vec<String> = rows[start..end]
        .iter()
        .map(|(_, l)| {
            render_taxon(
                l,
                shared.config.shape,
                langs.as_deref(),
                with_eu,
                shuffle.then_some(&mut rng),
            )
        })
        .collect();
    drop(st);

    let mut pagination = Obj::new();
    pagination
        .field("current_page", &page)
        .field("per_page", &per_page)
        .field("total_entries", &total);
    let mut body = Obj::new()
        .raw("pagination", &pagination.finish())
        .raw("taxon_concepts", &json_array(items))
        .finish();
    if malformed {
        body.truncate(body.len() / 2);
        body.push_str("\"<html>");
    }
    let mut r = json(200, body);
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        r.headers_mut().insert("total-count", v);
    }
    let link = link_header(shared, params, dot_json, page, per_page, total);
    if let Some(v) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LINK, v);
    }
    Ok(r)
}

/// RFC 5988 `Link` as the api_pagination_headers gem builds it.
fn link_header(
    shared: &Shared,
    params: &[(String, String)],
    dot_json: bool,
    page: u64,
    per_page: u64,
    total: u64,
) -> Option<String> {
    let pages = total.div_ceil(per_page);
    let mut rels: Vec<(&str, u64)> = Vec::new();
    if page > 1 {
        rels.push(("first", 1));
        rels.push(("prev", page - 1));
    }
    if page < pages {
        rels.push(("next", page + 1));
        rels.push(("last", pages));
    }
    if rels.is_empty() {
        return None;
    }
    let url = format!(
        "{}/api/v1/taxon_concepts{}",
        shared.origin,
        if dot_json { ".json" } else { "" }
    );
    let mut base: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in params {
        base.insert(k.clone(), v.clone());
    }
    let links: Vec<String> = rels
        .into_iter()
        .map(|(rel, p)| {
            let mut q = base.clone();
            q.insert("page".to_string(), p.to_string());
            let qs: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            format!("<{url}?{}>; rel=\"{rel}\"", qs.join("&"))
        })
        .collect();
    Some(links.join(", "))
}

#[derive(Serialize)]
struct Listing2022<'a> {
    id: i64,
    appendix: &'a str,
    annotation: &'a Option<String>,
    hash_annotation: &'a Option<serde_json::Value>,
    effective_at: &'a Option<String>,
    party: &'a Option<GeoEntity>,
}

fn maybe_shuffle<T>(v: &mut [T], rng: &mut Option<&mut StdRng>) {
    if let Some(r) = rng {
        v.shuffle(*r);
    }
}

/// One element of `taxon_concepts[]`.
fn render_taxon(
    l: &TaxonLine,
    shape: Shape,
    langs: Option<&[String]>,
    with_eu: bool,
    mut rng: Option<&mut StdRng>,
) -> String {
    let mut o = Obj::new();
    o.field("id", &l.id)
        .field("full_name", &l.full_name)
        .field("author_year", &l.author_year)
        .field("rank", &l.rank)
        .field("name_status", &l.name_status)
        .field("updated_at", &fmt_ts(&l.updated_at))
        .field("active", &l.active);
    if !l.active {
        // Deleted rows: every column but the identity is NULL in the view (inferred shape).
        if l.name_status == "S" {
            o.raw("accepted_names", "[]");
        } else {
            o.raw("cites_listing", "null")
                .raw("higher_taxa", "null")
                .raw("synonyms", "[]")
                .raw("common_names", "[]")
                .raw("cites_listings", "[]");
        }
        return o.finish();
    }
    if l.name_status == "S" {
        o.field(
            "accepted_names",
            &l.accepted_names.clone().unwrap_or_default(),
        );
        return o.finish();
    }
    o.field("cites_listing", &l.cites_listing);
    if shape == Shape::V2025 {
        o.field("eu_listing", &l.eu_listing);
    }
    o.field("higher_taxa", &l.higher_taxa);
    let mut syn = l.synonyms.clone();
    maybe_shuffle(&mut syn, &mut rng);
    o.field("synonyms", &syn);
    let mut cn: Vec<_> = l
        .common_names
        .iter()
        .filter(|c| langs.is_none_or(|ls| ls.contains(&c.language.to_uppercase())))
        .cloned()
        .collect();
    maybe_shuffle(&mut cn, &mut rng);
    o.field("common_names", &cn);
    let mut current: Vec<&ListingRow> = l
        .cites_listings
        .iter()
        .filter(|r| r.is_current && r.change_type == "+")
        .collect();
    match shape {
        Shape::V2022 => {
            maybe_shuffle(&mut current, &mut rng);
            let v: Vec<Listing2022<'_>> = current
                .iter()
                .map(|r| Listing2022 {
                    id: r.id,
                    appendix: &r.appendix,
                    annotation: &r.annotation,
                    hash_annotation: &r.hash_annotation,
                    effective_at: &r.effective_at,
                    party: &r.party,
                })
                .collect();
            o.field("cites_listings", &v);
        }
        Shape::V2025 => {
            current.sort_by(|a, b| {
                b.effective_at
                    .cmp(&a.effective_at)
                    .then_with(|| a.appendix.cmp(&b.appendix))
            });
            o.field("cites_listings", &current);
        }
    }
    if with_eu {
        let eu: Vec<&serde_json::Value> = l
            .eu_listings
            .iter()
            .filter(|v| v.get("is_current").and_then(|c| c.as_bool()) != Some(false))
            .collect();
        o.field("eu_listings", &eu);
    }
    o.finish()
}

#[derive(Clone, Copy)]
enum Scope {
    Current,
    Historic,
    All,
}

impl Scope {
    fn parse(p: Option<&str>) -> Scope {
        match p.map(str::to_lowercase).as_deref() {
            Some("historic") => Scope::Historic,
            Some("all") => Scope::All,
            _ => Scope::Current,
        }
    }

    fn keep(self, is_current: bool) -> bool {
        match self {
            Scope::Current => is_current,
            Scope::Historic => !is_current,
            Scope::All => true,
        }
    }
}

fn not_found(shared: &Shared, id: &str) -> Resp {
    match shared.config.shape {
        Shape::V2022 => json_error(500, GENERIC_500),
        Shape::V2025 => json_error(404, &format!("Couldn't find TaxonConcept with 'id'={id}")),
    }
}

fn per_taxon(shared: &Shared, id: &str, ep: &str, params: &[(String, String)]) -> Resp {
    let permitted: &[&str] = match ep {
        "cites_legislation" | "eu_legislation" => &["scope", "language"],
        "distributions" => &["language"],
        "references" => &[],
        _ => return html_error(404),
    };
    if let Err(r) = check_permitted(params, permitted) {
        return r;
    }
    let scope = Scope::parse(param(params, "scope"));
    let mut st = shared.lock();
    let Some(line) = id.parse::<i64>().ok().and_then(|i| st.cat.get(i)).cloned() else {
        return not_found(shared, id);
    };
    let mut rng = StdRng::seed_from_u64(st.shuffle_rng.random());
    drop(st);
    let shuffle = shared.config.shuffle_arrays;
    let body = match ep {
        "cites_legislation" => {
            let mut ls: Vec<&ListingRow> = line
                .cites_listings
                .iter()
                .filter(|r| scope.keep(r.is_current))
                .collect();
            let mut qs: Vec<_> = line
                .cites_quotas
                .iter()
                .filter(|r| scope.keep(r.is_current))
                .collect();
            let mut ss: Vec<_> = line
                .cites_suspensions
                .iter()
                .filter(|r| scope.keep(r.is_current))
                .collect();
            if shuffle {
                ls.shuffle(&mut rng);
                qs.shuffle(&mut rng);
            }
            if shared.config.shape == Shape::V2025 {
                qs.sort_by_key(|q| q.id);
                ss.sort_by_key(|s| s.id);
            }
            Obj::new()
                .field("cites_listings", &ls)
                .field("cites_quotas", &qs)
                .field("cites_suspensions", &ss)
                .finish()
        }
        "eu_legislation" => {
            let keep = |v: &&serde_json::Value| {
                scope.keep(
                    v.get("is_current")
                        .and_then(|c| c.as_bool())
                        .unwrap_or(true),
                )
            };
            let ls: Vec<_> = line.eu_listings.iter().filter(keep).collect();
            let ds: Vec<_> = line.eu_decisions.iter().filter(keep).collect();
            Obj::new()
                .field("eu_listings", &ls)
                .field("eu_decisions", &ds)
                .finish()
        }
        "distributions" => to_json(&line.distributions),
        _ => {
            let mut refs = line.references.clone();
            refs.sort_by(|a, b| a.citation.cmp(&b.citation));
            to_json(&refs)
        }
    };
    json(200, body)
}

fn ensure_dump(shared: &Shared, st: &mut MutState) -> Option<u64> {
    if !shared.config.dumps_enabled {
        return None;
    }
    if let Some((id, d)) = st.dumps.iter().next_back()
        && d.version == st.version
    {
        return Some(*id);
    }
    let raw = st.cat.ndjson(false);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if enc.write_all(raw.as_bytes()).is_err() {
        return None;
    }
    let gz = enc.finish().ok()?;
    let id = st.dumps.keys().next_back().copied().unwrap_or(0) + 1;
    let created = st.now();
    let dump = Dump {
        id,
        version: st.version,
        created,
        gz: Arc::new(gz),
        raw_len: raw.len(),
        records: st.cat.len(),
    };
    st.dumps.insert(id, dump);
    Some(id)
}

fn download_url(shared: &Shared, st: &MutState, id: u64) -> String {
    let ttl = chrono::Duration::from_std(shared.config.download_ttl)
        .unwrap_or(chrono::Duration::hours(1));
    let expires = (st.now() + ttl).timestamp();
    format!(
        "{}/files/dump-{id}.ndjson.gz?expires={expires}",
        shared.origin
    )
}

fn downloads(shared: &Shared, params: &[(String, String)]) -> Resp {
    if let Err(r) = check_permitted(params, &["lang", "taxonomy"]) {
        return r;
    }
    let lang = match param(params, "lang").map(str::to_lowercase).as_deref() {
        Some(l @ ("es" | "fr")) => l.to_string(),
        _ => "en".to_string(),
    };
    let mut st = shared.lock();
    let Some(id) = ensure_dump(shared, &mut st) else {
        return json(200, "[]");
    };
    let url = download_url(shared, &st, id);
    let Some(d) = st.dumps.get(&id) else {
        return json(200, "[]");
    };
    let body = serde_json::json!([{
        "id": d.id,
        "filters": {"lang": lang, "taxonomy": "CITES_EU"},
        "format": "application/x-gzip-compressed",
        "started_at": fmt_ts(&d.created),
        "success_message": {"stats": {
            "elapsed_time": 0.5,
            "record_count": d.records,
            "compressed_bytes": d.gz.len(),
            "uncompressed_bytes": d.raw_len,
        }},
        "download_url": url,
    }]);
    json(200, body.to_string())
}

fn downloads_latest(shared: &Shared, params: &[(String, String)]) -> Resp {
    if let Err(r) = check_permitted(params, &["lang", "taxonomy"]) {
        return r;
    }
    let mut st = shared.lock();
    let Some(id) = ensure_dump(shared, &mut st) else {
        return json_error(404, "Not found");
    };
    let url = download_url(shared, &st, id);
    let mut r = Response::new(Body::empty());
    *r.status_mut() = axum::http::StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The "storage" side: `/files/dump-<n>.ndjson.gz?expires=<unix>` (no token needed).
fn serve_file(shared: &Shared, name: &str, query: Option<&str>) -> Resp {
    let denied = |msg: &str| {
        let mut r = Response::new(Body::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{msg}</Message></Error>"
        )));
        *r.status_mut() = axum::http::StatusCode::FORBIDDEN;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
        r
    };
    let id = name
        .strip_prefix("dump-")
        .and_then(|r| r.strip_suffix(".ndjson.gz"))
        .and_then(|n| n.parse::<u64>().ok());
    let params = parse_query(query);
    let expires = param(&params, "expires").and_then(|e| e.parse::<i64>().ok());
    let st = shared.lock();
    let (Some(id), Some(expires)) = (id, expires) else {
        return denied("Query-string authentication requires the expires parameter");
    };
    if st.now().timestamp() > expires {
        return denied("Request has expired");
    }
    let Some(d) = st.dumps.get(&id) else {
        return html_error(404);
    };
    let mut r = Response::new(Body::from(d.gz.as_ref().clone()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-gzip"),
    );
    r
}

fn serve_golden(shared: &Shared, path: &str, query: Option<&str>, req: &HeaderMap) -> Option<Resp> {
    let entry = shared.golden.get(&golden::key(path, query))?;
    let body = std::fs::read(golden::fixtures_dir().join(&entry.file)).ok()?;
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = axum::http::StatusCode::from_u16(entry.status).ok()?;
    let mut tag = None;
    for (k, v) in &entry.headers {
        let v = if k == "link" {
            v.replace(golden::RECORDED_ORIGIN, &shared.origin)
        } else {
            v.clone()
        };
        if k == "etag" {
            tag = Some(v.clone());
        }
        if let (Ok(name), Ok(val)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            r.headers_mut().insert(name, val);
        }
    }
    if shared.config.etag_304
        && entry.status == 200
        && let Some(t) = tag
        && if_none_match(req, &t)
    {
        let mut n = Response::new(Body::empty());
        *n.status_mut() = axum::http::StatusCode::NOT_MODIFIED;
        if let Ok(v) = HeaderValue::from_str(&t) {
            n.headers_mut().insert(header::ETAG, v);
        }
        return Some(n);
    }
    Some(r)
}
