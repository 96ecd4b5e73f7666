//! The Species+ HTTP client: token header, pacing, timeouts, retries.
//!
//! Species+ answers list pages in 4-10 s, sits behind an edge that throttles bursts with 403 or
//! 404 instead of 429, and returns 5xx under load. The client therefore paces requests
//! (default one per second), retries 5xx, 403, 429 (honouring `Retry-After`), 404 on an id it
//! knows to exist or on the list route, and transport errors with exponential backoff and full
//! jitter, and treats 401 as fatal. The token lives in a [`Token`], which never prints.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::error::{Error, Result};
use crate::wire;

/// The header Species+ reads the token from.
const TOKEN_HEADER: &str = "X-Authentication-Token";
/// Largest page Species+ serves; larger values are silently clamped to it.
pub const PAGE_SIZE_MAX: u32 = 500;
/// A 500-row page was recorded taking 9.7 s; leave room for a slow day.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts per request, the first included.
pub const ATTEMPTS_MAX: u32 = 8;
/// First backoff; doubled on each retry, up to [`BACKOFF_MAX`], with full jitter.
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);
pub const BACKOFF_MAX: Duration = Duration::from_secs(120);
/// A `Retry-After` longer than this is treated as this (a misbehaving edge must not park us).
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(300);
/// Default pause between two requests: the rate rcites settled on after edge throttling.
pub const PACE_DEFAULT: Duration = Duration::from_secs(1);

/// The Species+ API token. Its `Debug` and `Display` print a placeholder.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl Token {
    pub fn new(value: impl Into<String>) -> Result<Token> {
        let v: String = value.into();
        let v = v.trim();
        if v.is_empty() {
            return Err(Error::Config(
                "the Species+ token is empty: set CITES_SPECIESPLUS_TOKEN".into(),
            ));
        }
        if !v.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::Config(
                "the Species+ token contains characters that cannot go in an HTTP header".into(),
            ));
        }
        Ok(Token(Arc::from(v)))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the client talks to Species+. No `Default`: the caller decides every value.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL ending in `/api/v1/`.
    pub base_url: Url,
    pub token: Token,
    /// Minimum time between the starts of two requests.
    pub pace: Duration,
    pub page_size: u32,
    pub request_timeout: Duration,
    pub attempts_max: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl ClientConfig {
    /// The production settings against `base_url`.
    pub fn new(base_url: &str, token: Token) -> Result<ClientConfig> {
        let mut base = Url::parse(base_url).map_err(|e| {
            let shown = db::redact(base_url);
            Error::Config(format!("invalid Species+ base URL {shown:?}: {e}"))
        })?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(ClientConfig {
            base_url: base,
            token,
            pace: PACE_DEFAULT,
            page_size: PAGE_SIZE_MAX,
            request_timeout: REQUEST_TIMEOUT,
            attempts_max: ATTEMPTS_MAX,
            backoff_base: BACKOFF_BASE,
            backoff_max: BACKOFF_MAX,
        })
    }
}

/// The latest bulk dump Species+ offers (`GET /downloads`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpInfo {
    pub id: Option<i64>,
    /// When Species+ started writing the dump: what the catalogue reflects.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// A presigned storage URL, valid for about an hour; needs no token.
    pub download_url: String,
    pub record_count: Option<u64>,
    pub compressed_bytes: Option<u64>,
}

/// Largest dump accepted (the 2025 dump was 49 MB gzipped).
pub const DUMP_BYTES_MAX: u64 = 2 * 1024 * 1024 * 1024;

/// What a list page says about the pages around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageInfo {
    /// `Total-Count`, or the body's `total_entries`.
    pub total: Option<u64>,
    /// Whether the `Link` header has a `next` relation.
    pub has_next: bool,
}

/// A fetched body: the text (kept for staging) and the URL it came from.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: String,
    pub body: String,
    pub headers: HeaderMap,
}

/// Client statistics, for reports and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientStats {
    pub requests: u64,
    pub retries: u64,
}

pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    next_slot: Mutex<Option<Instant>>,
    stats: std::sync::Mutex<ClientStats>,
}

/// Installs the ring TLS provider once; reqwest is built without a default provider so that
/// only one crypto library is compiled (ring; no OpenSSL, no aws-lc).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("cites-engine/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Http)?;
        Ok(Client {
            http,
            config,
            next_slot: Mutex::new(None),
            stats: std::sync::Mutex::new(ClientStats::default()),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn stats(&self) -> ClientStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `GET taxon_concepts?page=&per_page=[&updated_since=]`. `page` and `per_page` are always
    /// sent: the server's cache key holds parameter values without names.
    pub async fn taxon_concepts_page(
        &self,
        page: u64,
        updated_since: Option<&str>,
    ) -> Result<(wire::TaxonConceptsPage, PageInfo, Fetched)> {
        let mut url = self.url("taxon_concepts")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("page", &page.to_string());
            q.append_pair("per_page", &self.config.page_size.to_string());
            if let Some(since) = updated_since {
                q.append_pair("updated_since", since);
            }
        }
        // The list route always exists: a 404 on it is the edge throttling (rcites #49), so it
        // is retried like a 404 on a known id.
        let fetched = self.get(url, true).await?;
        let parsed: wire::TaxonConceptsPage = parse(&fetched)?;
        let total = header_u64(&fetched.headers, "total-count")
            .or(parsed.pagination.and_then(|p| p.total_entries));
        let has_next = fetched
            .headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("rel=\"next\""));
        Ok((parsed, PageInfo { total, has_next }, fetched))
    }

    /// `GET taxon_concepts/:id/cites_legislation?scope=all` for a taxon known to exist.
    pub async fn cites_legislation(
        &self,
        taxon_id: i64,
    ) -> Result<(wire::CitesLegislation, Fetched)> {
        let mut url = self.url(&format!("taxon_concepts/{taxon_id}/cites_legislation"))?;
        url.query_pairs_mut().append_pair("scope", "all");
        let fetched = self.get(url, true).await?;
        Ok((parse(&fetched)?, fetched))
    }

    /// `GET taxon_concepts/:id/distributions` for a taxon known to exist.
    pub async fn distributions(&self, taxon_id: i64) -> Result<(Vec<wire::Distribution>, Fetched)> {
        let url = self.url(&format!("taxon_concepts/{taxon_id}/distributions"))?;
        let fetched = self.get(url, true).await?;
        Ok((parse(&fetched)?, fetched))
    }

    /// `GET downloads`: the latest dump, or `None` when Species+ offers none (an empty list,
    /// or a 404 from a deployment without the endpoint).
    pub async fn latest_dump(&self) -> Result<Option<DumpInfo>> {
        let url = self.url("downloads")?;
        let fetched = match self.get(url, false).await {
            Ok(f) => f,
            Err(Error::Rejected { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let list: Vec<wire::DumpMeta> = parse(&fetched)?;
        let Some(latest) = list.into_iter().max_by_key(|d| d.id) else {
            return Ok(None);
        };
        let Some(download_url) = latest.download_url.filter(|u| !u.is_empty()) else {
            return Err(Error::Malformed {
                url: fetched.url,
                message: "the dump has no download_url".into(),
            });
        };
        let stats = latest.success_message.and_then(|m| m.stats);
        Ok(Some(DumpInfo {
            id: latest.id,
            started_at: latest
                .started_at
                .as_deref()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&chrono::Utc)),
            download_url,
            record_count: stats.as_ref().and_then(|s| s.record_count),
            compressed_bytes: stats.as_ref().and_then(|s| s.compressed_bytes),
        }))
    }

    /// Streams a dump from its presigned URL into `to`. The token is NOT sent: the URL points
    /// at a storage service, not at Species+. Retried like any request.
    pub async fn download_dump(&self, download_url: &str, to: &std::path::Path) -> Result<u64> {
        use tokio::io::AsyncWriteExt;
        let url = Url::parse(download_url).map_err(|e| Error::Malformed {
            url: "downloads".into(),
            message: format!("invalid download_url: {e}"),
        })?;
        let shown = shown_download_url(&url);
        let mut last = String::new();
        for attempt in 1..=self.config.attempts_max {
            self.pace().await;
            let response = match self.http.get(url.clone()).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("transport error: {}", e.without_url());
                    self.backoff(attempt, None).await;
                    continue;
                }
            };
            let status = response.status();
            if !status.is_success() {
                last = format!("{status}");
                if status.is_server_error() {
                    self.backoff(attempt, None).await;
                    continue;
                }
                return Err(Error::Rejected {
                    url: shown,
                    status: status.as_u16(),
                    message: "the dump download was refused (an expired link is refused with 403)"
                        .into(),
                });
            }
            let mut file = tokio::fs::File::create(to)
                .await
                .map_err(|source| Error::DumpIo {
                    path: to.display().to_string(),
                    source,
                })?;
            let mut written: u64 = 0;
            let mut response = response;
            let outcome: std::result::Result<(), String> = loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        written += chunk.len() as u64;
                        if written > DUMP_BYTES_MAX {
                            return Err(Error::LimitExceeded {
                                what: "bytes in a dump",
                                limit: DUMP_BYTES_MAX,
                            });
                        }
                        file.write_all(&chunk)
                            .await
                            .map_err(|source| Error::DumpIo {
                                path: to.display().to_string(),
                                source,
                            })?;
                    }
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(format!("download interrupted: {}", e.without_url())),
                }
            };
            match outcome {
                Ok(()) => {
                    file.flush().await.map_err(|source| Error::DumpIo {
                        path: to.display().to_string(),
                        source,
                    })?;
                    return Ok(written);
                }
                Err(e) => {
                    last = e;
                    self.backoff(attempt, None).await;
                }
            }
        }
        Err(Error::RetriesExhausted {
            url: shown,
            attempts: self.config.attempts_max,
            last,
        })
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.config
            .base_url
            .join(path)
            .map_err(|e| Error::Config(format!("cannot build URL for {path}: {e}")))
    }

    /// Waits for this request's slot so that request starts are at least `pace` apart.
    async fn pace(&self) {
        if self.config.pace.is_zero() {
            return;
        }
        let mut slot = self.next_slot.lock().await;
        let now = Instant::now();
        let start = match *slot {
            Some(t) if t > now => t,
            _ => now,
        };
        *slot = Some(start + self.config.pace);
        drop(slot);
        tokio::time::sleep_until(start).await;
    }

    /// GET with retries. `known_id`: the resource exists (a known taxon id, or the list route),
    /// so a 404 means throttling, not absence, and is retried.
    async fn get(&self, url: Url, known_id: bool) -> Result<Fetched> {
        let shown = shown_url(&url);
        let mut last = String::new();
        for attempt in 1..=self.config.attempts_max {
            if attempt > 1
                && let Ok(mut s) = self.stats.lock()
            {
                s.retries += 1;
            }
            self.pace().await;
            if let Ok(mut s) = self.stats.lock() {
                s.requests += 1;
            }
            let sent = self
                .http
                .get(url.clone())
                .header(TOKEN_HEADER, self.config.token.expose())
                .header("Accept", "application/json")
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    // reqwest's error text includes the URL but never headers, so no token.
                    last = format!("transport error: {}", e.without_url());
                    tracing::warn!(url = %shown, attempt, error = %last, "Species+ request failed");
                    self.backoff(attempt, None).await;
                    continue;
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            if status == StatusCode::UNAUTHORIZED {
                return Err(Error::Unauthorized { url: shown });
            }
            let body = match response.text().await {
                Ok(b) => b,
                Err(e) => {
                    last = format!("reading body failed: {}", e.without_url());
                    tracing::warn!(url = %shown, attempt, error = %last, "Species+ body failed");
                    self.backoff(attempt, None).await;
                    continue;
                }
            };
            if status.is_success() {
                return Ok(Fetched {
                    url: shown,
                    body,
                    headers,
                });
            }
            let retryable = status.is_server_error()
                || status == StatusCode::FORBIDDEN
                || status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::NOT_FOUND && known_id);
            let message = error_message(&body);
            if !retryable {
                return Err(Error::Rejected {
                    url: shown,
                    status: status.as_u16(),
                    message,
                });
            }
            last = format!("{status}: {message}");
            tracing::warn!(url = %shown, attempt, status = status.as_u16(), "Species+ answered an error; retrying");
            let retry_after = (status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| header_u64(&headers, RETRY_AFTER.as_str()))
                .flatten()
                .map(|s| Duration::from_secs(s).min(RETRY_AFTER_MAX));
            self.backoff(attempt, retry_after).await;
        }
        Err(Error::RetriesExhausted {
            url: shown,
            attempts: self.config.attempts_max,
            last,
        })
    }

    async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        if attempt >= self.config.attempts_max {
            return;
        }
        let wait = match retry_after {
            Some(d) => d,
            None => {
                let exp = self
                    .config
                    .backoff_base
                    .saturating_mul(1u32 << (attempt - 1).min(16))
                    .min(self.config.backoff_max);
                // Full jitter: uniform in [0, exp], so many clients don't retry in step.
                let millis = exp.as_millis() as u64;
                Duration::from_millis(rand::rng().random_range(0..=millis))
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// A Species+ URL as the engine shows it (errors, logs, `sync_runs.error`, the status routes):
/// without the user name and password a configured base URL may carry. Its query is kept: the
/// client builds it from paging parameters only (the token goes in a header).
pub fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Fails only for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string()
}

/// A dump's download URL as the engine shows it: its origin and path. Presigned URLs carry
/// their signature in the query, which is as secret as a password.
pub fn shown_download_url(url: &Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

fn parse<T: serde::de::DeserializeOwned>(fetched: &Fetched) -> Result<T> {
    serde_json::from_str(&fetched.body).map_err(|e| Error::Malformed {
        url: fetched.url.clone(),
        message: e.to_string(),
    })
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The message of a Species+ error body, or a short excerpt of whatever came back.
fn error_message(body: &str) -> String {
    if let Ok(e) = serde_json::from_str::<wire::ErrorBody>(body)
        && let Some(m) = e.error.message
    {
        return m;
    }
    let excerpt: String = body.chars().take(120).collect();
    if excerpt.is_empty() {
        "(empty body)".to_owned()
    } else {
        excerpt
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_carries_no_credentials_and_a_download_url_no_query() {
        let api =
            Url::parse("http://user:secret@127.0.0.1:9/api/v1/taxon_concepts?page=2").unwrap();
        assert_eq!(
            shown_url(&api),
            "http://127.0.0.1:9/api/v1/taxon_concepts?page=2"
        );
        let dump = Url::parse("https://u:secret@bucket.example/d.ndjson.gz?X-Amz-Signature=secret")
            .unwrap();
        assert_eq!(
            shown_download_url(&dump),
            "https://bucket.example/d.ndjson.gz"
        );
        // A base URL that does not parse is named without its password too.
        let e = ClientConfig::new("http://user:secret@[::1/api/v1/", Token::new("t").unwrap())
            .unwrap_err();
        assert!(
            e.to_string().contains("user:***@") && !e.to_string().contains("secret"),
            "{e}"
        );
    }
}
