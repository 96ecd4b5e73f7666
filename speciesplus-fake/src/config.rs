//! Configuration of the fake server: accepted tokens, response-shape version, latency,
//! shuffling, cache lag, golden mode and injected faults.

use std::time::Duration;

/// Which deployment of the API to mimic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Shape {
    /// 2016 → Feb 2025 (what the recordings show): taxon_concepts `cites_listings` items have
    /// exactly `{id, appendix, annotation, hash_annotation, effective_at, party}` with nulls;
    /// a missing id is a 500 with the generic message; a bad parameter format is a 400.
    #[default]
    V2022,
    /// Since Feb 2025: taxon_concepts `cites_listings` items in the `/cites_legislation` shape
    /// (`party`/`hash_annotation` omitted when null), `eu_listing` key, missing id → 404
    /// `Couldn't find TaxonConcept with 'id'=N`, bad format → 422.
    V2025,
}

/// Injected faults. `Default` injects nothing.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Probability of a random error: 500 (Rails JSON) or 502/520/524 (HTML), equally likely.
    pub error_rate: f64,
    /// Probability of dropping the connection without a response (TCP RST, no bytes written).
    pub reset_rate: f64,
    /// Probability of delaying a response by `slow_by`.
    pub slow_rate: f64,
    pub slow_by: Duration,
    /// After this many requests within a 1-second window, answer `throttle_status` for the
    /// rest of the window (edge throttling, rcites #49).
    pub throttle_after: Option<u32>,
    /// 403 or 404 (HTML body). 0 is treated as 404.
    pub throttle_status: u16,
    /// Answer 429 with `Retry-After: retry_after_secs` to every Nth request.
    pub retry_after_429: Option<u64>,
    /// The `Retry-After` value sent with 429 (seconds; 0 is sent as 1).
    pub retry_after_secs: u64,
    /// Deterministic faults: `(path substring, status, times)`. The first entry whose
    /// substring occurs in the request path and still has times left answers with that status
    /// (status 0 = connection reset). Counts reset whenever faults are set.
    pub fail_paths: Vec<(String, u16, u32)>,
    /// That `/taxon_concepts` page number returns 200 with a truncated (invalid) JSON body.
    pub malformed_page: Option<u32>,
    /// Seed of the fault RNG.
    pub seed: u64,
}

/// Configuration of [`crate::FakeSpeciesPlus`]. Build with [`FakeConfig::new`] and the
/// `with_*` setters.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Accepted `X-Authentication-Token` values.
    pub tokens: Vec<String>,
    pub shape: Shape,
    /// Sleep per `/taxon_concepts` call (production: ~3.7 s).
    pub latency: Duration,
    /// Shuffle common_names, synonyms, cites_listings, quotas and the NULL-position tail
    /// (synonyms and deleted rows) on every call.
    pub shuffle_arrays: bool,
    /// Changes made at `t` are invisible to `/taxon_concepts` until `now >= t + lag`.
    pub visibility_lag: Duration,
    pub faults: Faults,
    /// Serve the recorded bodies for their URLs.
    pub golden: bool,
    /// Answer `If-None-Match` matching the ETag with 304.
    pub etag_304: bool,
    /// Lifetime of the `/downloads` presigned URL (production: 1 hour), on the fake clock.
    pub download_ttl: Duration,
    /// Whether `/downloads` has a dump (false: `[]` and `/downloads/latest` → 404).
    pub dumps_enabled: bool,
    /// Seed of the shuffling RNG.
    pub seed: u64,
}

impl FakeConfig {
    /// A config accepting these tokens, with every other option off / zero.
    pub fn new(tokens: Vec<String>) -> FakeConfig {
        FakeConfig {
            tokens,
            shape: Shape::V2022,
            latency: Duration::ZERO,
            shuffle_arrays: false,
            visibility_lag: Duration::ZERO,
            faults: Faults::default(),
            golden: false,
            etag_304: false,
            download_ttl: Duration::from_secs(3600),
            dumps_enabled: true,
            seed: 0,
        }
    }

    pub fn with_shape(mut self, shape: Shape) -> FakeConfig {
        self.shape = shape;
        self
    }

    pub fn with_latency(mut self, latency: Duration) -> FakeConfig {
        self.latency = latency;
        self
    }

    pub fn with_shuffle_arrays(mut self, on: bool) -> FakeConfig {
        self.shuffle_arrays = on;
        self
    }

    pub fn with_visibility_lag(mut self, lag: Duration) -> FakeConfig {
        self.visibility_lag = lag;
        self
    }

    pub fn with_faults(mut self, faults: Faults) -> FakeConfig {
        self.faults = faults;
        self
    }

    pub fn with_golden(mut self, on: bool) -> FakeConfig {
        self.golden = on;
        self
    }

    pub fn with_etag_304(mut self, on: bool) -> FakeConfig {
        self.etag_304 = on;
        self
    }

    pub fn with_download_ttl(mut self, ttl: Duration) -> FakeConfig {
        self.download_ttl = ttl;
        self
    }

    pub fn with_dumps_enabled(mut self, on: bool) -> FakeConfig {
        self.dumps_enabled = on;
        self
    }

    pub fn with_seed(mut self, seed: u64) -> FakeConfig {
        self.seed = seed;
        self
    }
}

impl Default for FakeConfig {
    fn default() -> FakeConfig {
        FakeConfig::new(Vec::new())
    }
}
