//! Golden mode: the recorded Species+ bodies in `fixtures/speciesplus/`, served verbatim for
//! the URLs they were recorded at (`index.json` maps URL to file).

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::http::parse_query;

/// The fixture directory (`<workspace>/fixtures/speciesplus`).
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
        .join("speciesplus")
}

#[derive(Deserialize)]
struct Index {
    files: Vec<IndexFile>,
}

#[derive(Deserialize)]
struct IndexFile {
    file: String,
    request_url: String,
    status: u16,
    #[serde(default)]
    response_headers_latest: HashMap<String, String>,
}

/// One recorded response.
#[derive(Clone, Debug)]
pub(crate) struct GoldenEntry {
    pub(crate) file: String,
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
}

/// `(path without ".json", sorted decoded params)`.
pub(crate) type GoldenKey = (String, Vec<(String, String)>);

pub(crate) const RECORDED_ORIGIN: &str = "https://api.speciesplus.net";

/// Normalises a request into a golden key.
pub(crate) fn key(path: &str, query: Option<&str>) -> GoldenKey {
    let p = path.strip_suffix(".json").unwrap_or(path).to_string();
    let mut q = parse_query(query);
    q.sort();
    (p, q)
}

/// Loads `index.json`; for a URL recorded several times the latest body (the file without a
/// `__date` suffix) wins. The 401 recording is left out: 401s come from the auth check.
pub(crate) fn load() -> Result<HashMap<GoldenKey, GoldenEntry>, String> {
    let path = fixtures_dir().join("index.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let index: Index = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut out: HashMap<GoldenKey, GoldenEntry> = HashMap::new();
    for f in index.files {
        if f.status == 401 {
            continue;
        }
        let rest = f
            .request_url
            .strip_prefix(RECORDED_ORIGIN)
            .unwrap_or(&f.request_url);
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let k = key(path, query);
        let latest = !f.file.contains("__");
        if out.contains_key(&k) && !latest {
            continue;
        }
        let mut headers = Vec::new();
        for name in [
            "content-type",
            "link",
            "total-count",
            "etag",
            "cache-control",
        ] {
            if let Some(v) = f.response_headers_latest.get(name) {
                headers.push((name.to_string(), v.clone()));
            }
        }
        out.insert(
            k,
            GoldenEntry {
                file: f.file,
                status: f.status,
                headers,
            },
        );
    }
    Ok(out)
}
