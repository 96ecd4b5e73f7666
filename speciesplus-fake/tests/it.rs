//! Integration tests of the fake Species+ server over real HTTP (a tiny raw-TCP client).
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use speciesplus_fake::{Catalogue, FakeConfig, FakeSpeciesPlus, Faults, Shape, recorded_body};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "abcdefghijklmnopqrstuvtt";

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// GET `path` (absolute, e.g. `/api/v1/taxon_concepts`); `None` on a dropped connection.
async fn get_raw(fake: &FakeSpeciesPlus, path: &str, token: Option<&str>) -> Option<Resp> {
    let mut s = TcpStream::connect(fake.addr()).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("X-Authentication-Token: {t}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    if s.read_to_end(&mut buf).await.is_err() || buf.is_empty() {
        return None;
    }
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(buf[..split].to_vec()).unwrap();
    let body = buf[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(
        !headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked"),
        "test client does not decode chunked bodies"
    );
    Some(Resp {
        status,
        headers,
        body,
    })
}

async fn get(fake: &FakeSpeciesPlus, path: &str) -> Resp {
    get_raw(fake, path, Some(TOKEN)).await.unwrap()
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn config() -> FakeConfig {
    FakeConfig::new(vec![TOKEN.to_string()])
}

/// A small hand-written tree: family Felidae (1), genus Panthera (2), species 3 and 4,
/// a synonym (5) and a deleted taxon (6).
fn small() -> Catalogue {
    let h = json!({"kingdom":"Animalia","phylum":"Chordata","class":"Mammalia","order":"Carnivora","family":"Felidae"});
    let lines = [
        json!({"id":1,"full_name":"Felidae","rank":"FAMILY","name_status":"A","updated_at":"2020-01-01T00:00:00.000Z","active":true,"cites_listing":"I/II","higher_taxa":h}),
        json!({"id":2,"full_name":"Panthera","rank":"GENUS","name_status":"A","updated_at":"2020-01-02T00:00:00.000Z","active":true,"cites_listing":"I","higher_taxa":h}),
        json!({"id":4,"full_name":"Panthera tigris","rank":"SPECIES","name_status":"A","updated_at":"2021-06-01T12:00:00.000Z","active":true,"cites_listing":"I","higher_taxa":h,
               "synonyms":[{"id":5,"full_name":"Felis tigris","author_year":"Linnaeus, 1758","rank":"SPECIES"}],
               "common_names":[{"name":"Tiger","language":"EN"},{"name":"Tigre","language":"FR"}],
               "cites_listings":[{"id":100,"taxon_concept_id":4,"is_current":true,"appendix":"I","change_type":"+","effective_at":"1987-10-22","annotation":null},
                                 {"id":101,"taxon_concept_id":4,"is_current":true,"appendix":"II","change_type":"-","effective_at":"1987-10-22","annotation":null}],
               "distributions":[{"id":900,"iso_code2":"IN","name":"India","tags":[],"type":"COUNTRY","references":[]}]}),
        json!({"id":3,"full_name":"Panthera leo","rank":"SPECIES","name_status":"A","updated_at":"2019-03-01T00:00:00.000Z","active":true,"cites_listing":"II","higher_taxa":h,
               "distributions":[{"id":901,"iso_code2":"KE","name":"Kenya","tags":[],"type":"COUNTRY","references":[]}]}),
        json!({"id":5,"full_name":"Felis tigris","rank":"SPECIES","name_status":"S","updated_at":"2018-01-01T00:00:00.000Z","active":true,
               "accepted_names":[{"id":4,"full_name":"Panthera tigris","author_year":null,"rank":"SPECIES"}]}),
        json!({"id":6,"full_name":"Panthera fakeus","rank":"SPECIES","name_status":"A","updated_at":"2022-02-02T00:00:00.000Z","active":false}),
    ];
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    Catalogue::from_ndjson(&text.join("\n")).unwrap()
}

fn ids(v: &Value) -> Vec<i64> {
    v["taxon_concepts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn auth_missing_or_revoked_token_is_401_with_empty_body() {
    let fake = FakeSpeciesPlus::start(small(), config()).await;
    let r = get_raw(&fake, "/api/v1/taxon_concepts.json", None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), Some("text/html"));
    let r = get_raw(&fake, "/api/v1/taxon_concepts.json", Some("nope"))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(get(&fake, "/api/v1/taxon_concepts").await.status, 200);
    fake.revoke_token(TOKEN);
    assert_eq!(get(&fake, "/api/v1/taxon_concepts").await.status, 401);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 4);
    assert!(!reqs[0].has_token && reqs[1].has_token);
    assert_eq!(reqs[3].status, 401);
}

#[tokio::test]
async fn validation_errors() {
    let fake = FakeSpeciesPlus::start(small(), config()).await;
    let r = get(&fake, "/api/v1/taxon_concepts.json?foo=1&page=1&bar=2").await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.text(),
        r#"{"error":{"message":"Unpermitted parameters (foo, bar)"}}"#
    );
    let r = get(&fake, "/api/v1/taxon_concepts?page=x").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"error":{"message":"Invalid parameter format: page"}}"#
    );
    assert_eq!(
        get(&fake, "/api/v1/taxon_concepts?updated_since=2012-122-12")
            .await
            .status,
        400
    );
    let r = get(&fake, "/api/v1/taxon_concepts?with_descendants=true").await;
    assert_eq!(
        (
            r.status,
            r.text().contains("Invalid use of with_descendants")
        ),
        (422, true)
    );
    let r = get(&fake, "/api/v1/taxon_concepts?taxonomy=xyz").await;
    assert_eq!(r.text(), r#"{"error":{"message":"Unknown taxonomy: xyz"}}"#);
    assert_eq!(
        get(&fake, "/api/v1/taxon_concepts/4/references?language=en")
            .await
            .status,
        422
    );
    assert_eq!(
        get(&fake, "/api/v1/taxon_concepts?page=0").await.status,
        500
    );
    let r = get(&fake, "/api/v1/taxon_concepts/999/cites_legislation.json").await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.body,
        recorded_body("error-500_cites_legislation_0.json").into_bytes()
    );

    let v25 = FakeSpeciesPlus::start(small(), config().with_shape(Shape::V2025)).await;
    let r = get(&v25, "/api/v1/taxon_concepts/999/distributions").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        r#"{"error":{"message":"Couldn't find TaxonConcept with 'id'=999"}}"#
    );
    assert_eq!(
        get(&v25, "/api/v1/taxon_concepts?per_page=1a").await.status,
        422
    );
}

#[tokio::test]
async fn pagination_headers_and_links() {
    let cat = Catalogue::generate(95, 7);
    let fake = FakeSpeciesPlus::start(cat, config()).await;
    let base = format!("http://{}/api/v1/taxon_concepts.json", fake.addr());
    let r = get(
        &fake,
        "/api/v1/taxon_concepts.json?per_page=10&page=1&language=EN",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("total-count"), Some("95"));
    assert!(r.header("etag").unwrap().starts_with("W/\""));
    let v = r.json();
    assert_eq!(
        v["pagination"],
        json!({"current_page":1,"per_page":10,"total_entries":95})
    );
    assert_eq!(ids(&v).len(), 10);
    assert_eq!(
        r.header("link").unwrap(),
        format!(
            "<{base}?language=EN&page=2&per_page=10>; rel=\"next\", <{base}?language=EN&page=10&per_page=10>; rel=\"last\""
        )
    );
    let r = get(
        &fake,
        "/api/v1/taxon_concepts.json?per_page=10&page=5&language=EN",
    )
    .await;
    assert_eq!(
        r.header("link").unwrap(),
        format!(
            "<{base}?language=EN&page=1&per_page=10>; rel=\"first\", <{base}?language=EN&page=4&per_page=10>; rel=\"prev\", \
             <{base}?language=EN&page=6&per_page=10>; rel=\"next\", <{base}?language=EN&page=10&per_page=10>; rel=\"last\""
        )
    );
    let r = get(&fake, "/api/v1/taxon_concepts?page=10&per_page=10").await;
    let nojson = format!("http://{}/api/v1/taxon_concepts", fake.addr());
    assert_eq!(
        r.header("link").unwrap(),
        format!(
            "<{nojson}?page=1&per_page=10>; rel=\"first\", <{nojson}?page=9&per_page=10>; rel=\"prev\""
        )
    );
    assert_eq!(ids(&r.json()).len(), 5);
    // Everything on one page: no Link.
    let r = get(&fake, "/api/v1/taxon_concepts").await;
    assert!(r.header("link").is_none());
    assert_eq!(r.json()["pagination"]["per_page"], 500);
    // Past the end: empty array, correct total.
    let r = get(&fake, "/api/v1/taxon_concepts?page=11&per_page=10").await;
    let v = r.json();
    assert_eq!(ids(&v), Vec::<i64>::new());
    assert_eq!(v["pagination"]["total_entries"], 95);
    // Walking every page yields every id once; synonyms and deleted rows come last.
    let mut all = Vec::new();
    let mut statuses = Vec::new();
    for p in 1..=10 {
        let v = get(
            &fake,
            &format!("/api/v1/taxon_concepts?page={p}&per_page=10"),
        )
        .await
        .json();
        for t in v["taxon_concepts"].as_array().unwrap() {
            all.push(t["id"].as_i64().unwrap());
            statuses.push((
                t["name_status"].as_str().unwrap().to_string(),
                t["active"].as_bool().unwrap(),
            ));
        }
    }
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 95);
    let first_tail = statuses.iter().position(|(s, a)| s != "A" || !a).unwrap();
    assert!(statuses[first_tail..].iter().all(|(s, a)| s != "A" || !a));
    assert_eq!(statuses[0], ("A".to_string(), true));
}

#[tokio::test]
async fn updated_since_is_inclusive_and_filters() {
    let fake = FakeSpeciesPlus::start(small(), config()).await;
    let v = get(
        &fake,
        "/api/v1/taxon_concepts?updated_since=2021-06-01T12:00:00",
    )
    .await
    .json();
    assert_eq!(ids(&v), vec![4, 6]);
    let v = get(
        &fake,
        "/api/v1/taxon_concepts?updated_since=2021-06-01T12%3A00%3A01",
    )
    .await
    .json();
    assert_eq!(ids(&v), vec![6]);
    let v = get(
        &fake,
        "/api/v1/taxon_concepts?updated_since=2019-03-01T00:00:01Z",
    )
    .await
    .json();
    assert_eq!(ids(&v), vec![1, 2, 4, 6]);
    // Names: exact, case-insensitive, synonyms included; with_descendants widens.
    let v = get(&fake, "/api/v1/taxon_concepts?name=felis%20TIGRIS")
        .await
        .json();
    assert_eq!(ids(&v), vec![5]);
    let v = get(
        &fake,
        "/api/v1/taxon_concepts?name=Panthera&with_descendants=true",
    )
    .await
    .json();
    assert_eq!(ids(&v), vec![2, 3, 4]);
    let v = get(
        &fake,
        "/api/v1/taxon_concepts?name=Panthera%20tigris&language=fr",
    )
    .await
    .json();
    let t = &v["taxon_concepts"][0];
    assert_eq!(t["common_names"], json!([{"name":"Tigre","language":"FR"}]));
    // V2022 shape: only current '+' rows, exactly six keys.
    assert_eq!(
        t["cites_listings"],
        json!([{"id":100,"appendix":"I","annotation":null,"hash_annotation":null,"effective_at":"1987-10-22","party":null}])
    );
    // '-' rows are never current.
    let v = get(
        &fake,
        "/api/v1/taxon_concepts/4/cites_legislation?scope=HISTORIC",
    )
    .await
    .json();
    assert_eq!(v["cites_listings"][0]["id"], 101);
    assert_eq!(v["cites_listings"][0]["is_current"], false);
    assert!(v["cites_listings"][0].get("party").is_none());
}

#[tokio::test]
async fn golden_mode_serves_recorded_bytes() {
    let fake = FakeSpeciesPlus::start(Catalogue::default(), config().with_golden(true)).await;
    let r = get(&fake, "/api/v1/taxon_concepts.json?per_page=10&page=43").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        recorded_body("taxon_concepts_page-43_per-10.json").into_bytes()
    );
    assert_eq!(r.header("total-count"), Some("85098"));
    let link = r.header("link").unwrap();
    assert!(link.starts_with(&format!(
        "<http://{}/api/v1/taxon_concepts.json?page=1&per_page=10>",
        fake.addr()
    )));
    let r = get(&fake, "/api/v1/taxon_concepts/3210/cites_legislation.json").await;
    assert_eq!(r.text(), recorded_body("cites_legislation_3210.json"));
    let r = get(
        &fake,
        "/api/v1/taxon_concepts/4521/cites_legislation.json?scope=all&language=fr",
    )
    .await;
    assert_eq!(
        r.text(),
        recorded_body("cites_legislation_4521_lang-fr_scope-all.json")
    );
    let r = get(&fake, "/api/v1/taxon_concepts/0/references.json").await;
    assert_eq!(
        (r.status, r.text()),
        (500, recorded_body("error-500_references_0.json"))
    );
    // Auth still applies.
    let r = get_raw(
        &fake,
        "/api/v1/taxon_concepts/4521/distributions.json",
        None,
    )
    .await
    .unwrap();
    assert_eq!((r.status, r.body.len()), (401, 0));
}

#[tokio::test]
async fn listing_change_is_invisible_until_rebuild() {
    let fake = FakeSpeciesPlus::start(small(), config()).await;
    let edit = ts("2023-01-10T09:00:00Z");
    let row = json!({"id":555,"is_current":true,"appendix":"II","change_type":"+","effective_at":"2023-02-23","annotation":"Sharks."});
    fake.add_listing_change(1, row, edit).unwrap();
    // The family's updated_at moves at once; the species' does not; nothing visible yet.
    let v = get(&fake, "/api/v1/taxon_concepts?updated_since=2023-01-01")
        .await
        .json();
    assert_eq!(ids(&v), vec![1]);
    assert_eq!(
        v["taxon_concepts"][0]["updated_at"],
        "2023-01-10T09:00:00.000Z"
    );
    let v = get(
        &fake,
        "/api/v1/taxon_concepts/3/cites_legislation?scope=all",
    )
    .await
    .json();
    assert_eq!(v["cites_listings"], json!([]));
    let v = get(&fake, "/api/v1/taxon_concepts/1/cites_legislation")
        .await
        .json();
    assert_eq!(v["cites_listings"], json!([]));

    fake.rebuild(ts("2023-01-14T02:42:00Z"));
    let v = get(&fake, "/api/v1/taxon_concepts/3/cites_legislation")
        .await
        .json();
    assert_eq!(
        v["cites_listings"],
        json!([{"id":555,"taxon_concept_id":3,"is_current":true,"appendix":"II","change_type":"+",
                "effective_at":"2023-02-23","annotation":"[FAMILY listing Felidae spp.] Sharks."}])
    );
    // Descendants without dependents_updated_at are backdated to the edit time.
    let v = get(&fake, "/api/v1/taxon_concepts?updated_since=2023-01-01")
        .await
        .json();
    assert_eq!(ids(&v), vec![1, 2, 3, 4]);
    for t in v["taxon_concepts"].as_array().unwrap() {
        assert_eq!(t["updated_at"], "2023-01-10T09:00:00.000Z");
    }
}

#[tokio::test]
async fn quota_bumps_descendants_and_lag_hides_changes() {
    let cfg = config().with_visibility_lag(Duration::from_secs(3600));
    let fake = FakeSpeciesPlus::start(small(), cfg).await;
    let t0 = ts("2024-05-01T10:00:00Z");
    fake.set_now(t0);
    let q = json!({"id":77,"quota":10.0,"publication_date":"2024-01-01","notes":"x","url":"","public_display":true,"is_current":true,"unit":null,
                   "geo_entity":{"iso_code2":"IN","name":"India","type":"COUNTRY"}});
    fake.set_quota(Some(2), q, t0).unwrap();
    // Legislation is live; the list is an hour stale.
    let v = get(&fake, "/api/v1/taxon_concepts/4/cites_legislation")
        .await
        .json();
    assert_eq!(v["cites_quotas"][0]["id"], 77);
    let v = get(&fake, "/api/v1/taxon_concepts/3/cites_legislation")
        .await
        .json();
    assert_eq!(
        v["cites_quotas"],
        json!([]),
        "Kenya taxon is not distributed in India"
    );
    let path = "/api/v1/taxon_concepts?updated_since=2024-05-01";
    assert_eq!(ids(&get(&fake, path).await.json()), Vec::<i64>::new());
    fake.set_now(t0 + chrono::Duration::minutes(61));
    assert_eq!(ids(&get(&fake, path).await.json()), vec![2, 3, 4]);
}

#[tokio::test]
async fn insert_and_delete_shift_pages() {
    let fake = FakeSpeciesPlus::start(small(), config()).await;
    let before = ids(&get(&fake, "/api/v1/taxon_concepts").await.json());
    assert_eq!(before, vec![1, 2, 3, 4, 5, 6]);
    let new = json!({"id":7,"full_name":"Neofelis nebulosa","rank":"SPECIES","name_status":"A","updated_at":"2024-01-01T00:00:00.000Z","active":true,
                     "higher_taxa":{"kingdom":"Animalia","phylum":"Chordata","class":"Mammalia","order":"Carnivora","family":"Felidae"}});
    fake.insert_taxon(new).unwrap();
    fake.delete_taxon(3, ts("2024-02-01T00:00:00Z")).unwrap();
    let v = get(&fake, "/api/v1/taxon_concepts").await.json();
    assert_eq!(ids(&v), vec![7, 1, 2, 4, 3, 5, 6]);
    let deleted = &v["taxon_concepts"][4];
    assert_eq!(deleted["active"], false);
    assert_eq!(deleted["updated_at"], "2024-02-01T00:00:00.000Z");
    assert_eq!(deleted["higher_taxa"], Value::Null);
    fake.rebuild(ts("2024-02-03T00:00:00Z"));
    assert_eq!(
        ids(&get(&fake, "/api/v1/taxon_concepts").await.json())[..4],
        [1, 7, 2, 4],
        "Neofelis sorts before Panthera"
    );
}

#[tokio::test]
async fn deterministic_fail_paths_and_resets() {
    let faults = Faults {
        fail_paths: vec![
            ("/cites_legislation".to_string(), 502, 2),
            ("/distributions".to_string(), 0, 1),
        ],
        ..Faults::default()
    };
    let fake = FakeSpeciesPlus::start(small(), config().with_faults(faults)).await;
    let p = "/api/v1/taxon_concepts/4/cites_legislation.json";
    let r = get(&fake, p).await;
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(get(&fake, p).await.status, 502);
    assert_eq!(get(&fake, p).await.status, 200);
    assert!(
        get_raw(&fake, "/api/v1/taxon_concepts/4/distributions", Some(TOKEN))
            .await
            .is_none()
    );
    assert_eq!(
        get(&fake, "/api/v1/taxon_concepts/4/distributions")
            .await
            .status,
        200
    );
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![502, 502, 200, 0, 200]);
}

#[tokio::test]
async fn throttling_and_429() {
    let faults = Faults {
        throttle_after: Some(3),
        throttle_status: 403,
        ..Faults::default()
    };
    let fake = FakeSpeciesPlus::start(small(), config().with_faults(faults)).await;
    let p = "/api/v1/taxon_concepts/4/distributions";
    let mut s = Vec::new();
    for _ in 0..5 {
        s.push(get(&fake, p).await.status);
    }
    assert_eq!(s, vec![200, 200, 200, 403, 403]);
    fake.set_faults(Faults {
        retry_after_429: Some(2),
        retry_after_secs: 7,
        ..Faults::default()
    });
    // The request counter keeps running (5 so far): the 6th is a multiple of 2.
    let r = get(&fake, p).await;
    assert_eq!((r.status, r.header("retry-after")), (429, Some("7")));
    assert_eq!(get(&fake, p).await.status, 200);
}

#[tokio::test]
async fn malformed_page_and_etag_304() {
    let faults = Faults {
        malformed_page: Some(2),
        ..Faults::default()
    };
    let fake =
        FakeSpeciesPlus::start(small(), config().with_faults(faults).with_etag_304(true)).await;
    let r = get(&fake, "/api/v1/taxon_concepts?page=2&per_page=2").await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    let r = get(&fake, "/api/v1/taxon_concepts/4/references").await;
    let tag = r.header("etag").unwrap().to_string();
    let mut s = TcpStream::connect(fake.addr()).await.unwrap();
    let req = format!(
        "GET /api/v1/taxon_concepts/4/references HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Authentication-Token: {TOKEN}\r\nIf-None-Match: {tag}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    assert!(buf.starts_with("HTTP/1.1 304"), "{buf}");
}

#[tokio::test]
async fn v2025_shape_and_bulk_dump() {
    let cat = Catalogue::generate(300, 3);
    let n = cat.len();
    let fake = FakeSpeciesPlus::start(cat, config().with_shape(Shape::V2025)).await;
    let v = get(&fake, "/api/v1/taxon_concepts?per_page=500")
        .await
        .json();
    for t in v["taxon_concepts"].as_array().unwrap() {
        if t["name_status"] == "A" && t["active"] == true {
            assert!(t.as_object().unwrap().contains_key("eu_listing"));
            for l in t["cites_listings"].as_array().unwrap() {
                assert_eq!(l["change_type"], "+");
                assert_eq!(l["is_current"], true);
                assert!(l.get("party").is_none_or(|p| !p.is_null()));
            }
        }
    }
    let r = get(&fake, "/api/v1/downloads/latest").await;
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap().to_string();
    let path = loc
        .split_once(&fake.addr().to_string())
        .unwrap()
        .1
        .to_string();
    let file = get_raw(&fake, &path, None).await.unwrap();
    assert_eq!(file.status, 200);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&file.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text.lines().count(), n);
    let back = Catalogue::from_ndjson(&text).unwrap();
    assert_eq!(back.len(), n);
    // The presigned URL expires after the TTL (on the fake clock).
    fake.set_now(fake.now() + chrono::Duration::hours(2));
    assert_eq!(get_raw(&fake, &path, None).await.unwrap().status, 403);
    let v = get(&fake, "/api/v1/downloads").await.json();
    assert_eq!(v[0]["success_message"]["stats"]["record_count"], n);
    let _ = Utc.timestamp_opt(0, 0);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let fake = FakeSpeciesPlus::start(small(), config()).await;
    let addr = fake.addr();
    assert!(fake.base_url().ends_with("/api/v1/"));
    fake.shutdown().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[test]
fn generate_is_deterministic_and_realistic() {
    let a = Catalogue::generate(3000, 42);
    assert_eq!(a.to_ndjson(), Catalogue::generate(3000, 42).to_ndjson());
    assert_ne!(a.to_ndjson(), Catalogue::generate(3000, 43).to_ndjson());
    assert_eq!(a.len(), 3000);
    let back = Catalogue::from_ndjson(&a.to_ndjson()).unwrap();
    assert_eq!(back.to_ndjson(), a.to_ndjson());
    let lines: Vec<_> = a.lines().collect();
    let acc = lines.iter().filter(|l| l.is_accepted()).count();
    let syn = lines
        .iter()
        .filter(|l| l.active && l.name_status == "S")
        .count();
    let del = lines.iter().filter(|l| !l.active).count();
    assert!((2000..2300).contains(&acc), "{acc}");
    assert_eq!(syn, 750);
    assert!(del > 0);
    let species: Vec<_> = lines
        .iter()
        .filter(|l| l.is_accepted() && l.rank == "SPECIES")
        .collect();
    let rows = |pred: &dyn Fn(&speciesplus_fake::ListingRow) -> bool| {
        species
            .iter()
            .filter(|l| l.cites_listings.iter().any(pred))
            .count()
    };
    assert!(
        rows(&|r| r
            .annotation
            .as_deref()
            .is_some_and(|a| a.starts_with("[FAMILY listing ")))
            > 0
    );
    assert!(rows(&|r| r.change_type == "R+") > 0);
    assert!(rows(&|r| r.appendix == "III" && r.party.is_some()) > 0);
    assert!(rows(&|r| r.change_type == "-" && !r.is_current) > 0);
    let with_quotas = species
        .iter()
        .filter(|l| {
            l.cites_quotas
                .iter()
                .any(|q| q.taxon_concept_id == Some(l.id))
        })
        .count();
    let pct = with_quotas * 100 / species.len();
    assert!((2..=9).contains(&pct), "{pct}% with quotas");
    assert!(
        species
            .iter()
            .all(|l| (1..=5).contains(&l.distributions.len()))
    );
}

#[tokio::test]
async fn shuffle_keeps_accepted_order_but_moves_the_tail() {
    let fake = FakeSpeciesPlus::start(
        Catalogue::generate(200, 9),
        config().with_shuffle_arrays(true),
    )
    .await;
    let a = get(&fake, "/api/v1/taxon_concepts").await.json();
    let b = get(&fake, "/api/v1/taxon_concepts").await.json();
    let (ia, ib) = (ids(&a), ids(&b));
    let accepted = a["taxon_concepts"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|t| t["name_status"] == "A" && t["active"] == true)
        .count();
    assert_eq!(ia[..accepted], ib[..accepted]);
    assert_ne!(ia[accepted..], ib[accepted..]);
    let (mut sa, mut sb) = (ia.clone(), ib.clone());
    sa.sort();
    sb.sort();
    assert_eq!(sa, sb);
}
