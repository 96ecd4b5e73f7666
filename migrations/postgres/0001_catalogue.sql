-- Catalogue mirror of Species+ (owned by the `sync` crate) and the sync-run bookkeeping.
-- PostgreSQL dialect; keep in step with ../sqlite/0001_catalogue.sql.

-- One row per Species+ taxon concept of the CITES taxonomy: accepted names, synonyms and
-- deleted concepts (active = 0). Ids are Species+ ids (CMS ids are a different tree and are
-- never stored here).
CREATE TABLE taxa (
    id            BIGINT PRIMARY KEY,
    full_name     TEXT    NOT NULL,
    author_year   TEXT,
    rank          TEXT    NOT NULL,
    name_status   TEXT    NOT NULL CONSTRAINT taxa_name_status_valid CHECK (name_status IN ('A', 'S')),
    active        BOOLEAN NOT NULL,
    -- The summary Species+ serves ("I/II", "NC", ...). Informational only: listings at a date are
    -- derived from listing_changes, never from this column.
    cites_listing TEXT,
    kingdom       TEXT,
    phylum        TEXT,
    class         TEXT,
    taxon_order   TEXT,
    family        TEXT,
    -- Genus is not served; it is the first word of full_name for ranks below genus.
    genus         TEXT,
    -- Species+ updated_at exactly as served (RFC 3339 with milliseconds).
    updated_at    TEXT    NOT NULL,
    -- SHA-256 of the canonical taxon row: tells "changed" from "seen again" in reports.
    content_hash  TEXT    NOT NULL
);
CREATE INDEX taxa_full_name_ci ON taxa (lower(full_name));
CREATE INDEX taxa_family ON taxa (family);
CREATE INDEX taxa_genus ON taxa (genus);

-- Names related to an accepted taxon as served in its `synonyms[]` (which also carries hybrids
-- and trade names, so this is "related names", not strictly synonyms).
CREATE TABLE taxon_related_names (
    taxon_id     BIGINT NOT NULL REFERENCES taxa (id) ON DELETE CASCADE,
    related_id   BIGINT NOT NULL,
    full_name    TEXT    NOT NULL,
    author_year  TEXT,
    rank         TEXT,
    PRIMARY KEY (taxon_id, related_id)
);

-- For a synonym row: the accepted taxa it points to (`accepted_names[]`).
CREATE TABLE synonym_accepted (
    synonym_id   BIGINT NOT NULL REFERENCES taxa (id) ON DELETE CASCADE,
    accepted_id  BIGINT NOT NULL,
    full_name    TEXT    NOT NULL,
    PRIMARY KEY (synonym_id, accepted_id)
);
CREATE INDEX synonym_accepted_accepted ON synonym_accepted (accepted_id);

CREATE TABLE common_names (
    taxon_id  BIGINT NOT NULL REFERENCES taxa (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL,
    language  TEXT    NOT NULL,
    PRIMARY KEY (taxon_id, language, name)
);
CREATE INDEX common_names_name_ci ON common_names (lower(name));

-- Listing changes of all scopes as served by /cites_legislation?scope=all for each taxon.
-- Inherited rows (family or genus listings) carry the listing id of the higher taxon's row, so
-- the key is (taxon_id, listing_id).
CREATE TABLE listing_changes (
    taxon_id        BIGINT NOT NULL REFERENCES taxa (id) ON DELETE CASCADE,
    listing_id      BIGINT NOT NULL,
    appendix        TEXT    NOT NULL CONSTRAINT listing_changes_appendix_valid CHECK (appendix IN ('I', 'II', 'III')),
    change_type     TEXT    NOT NULL CONSTRAINT listing_changes_change_type_valid CHECK (change_type IN ('+', '-', 'R+', 'R-')),
    effective_at    DATE    NOT NULL,
    -- Curated by Species+ staff; kept as a cross-check, never as the truth.
    is_current      BOOLEAN NOT NULL,
    party           TEXT,
    party_name      TEXT,
    annotation      TEXT,
    hash_symbol     TEXT,
    hash_note       TEXT,
    -- The auto-note of an inherited row, e.g. "FAMILY listing Carcharhinidae spp.".
    inherited_from  TEXT,
    PRIMARY KEY (taxon_id, listing_id)
);
CREATE INDEX listing_changes_effective_at ON listing_changes (effective_at);

-- Quotas as served; ids change every year (roll-over), so history is kept by id.
CREATE TABLE quotas (
    id                BIGINT PRIMARY KEY,
    taxon_concept_id  BIGINT,
    -- Canonical decimal text; NULL means "in preparation" (Species+ -1).
    quota             TEXT,
    unit_code         TEXT,
    unit_name         TEXT,
    country           TEXT    NOT NULL,
    country_name      TEXT,
    publication_date  DATE,
    notes             TEXT,
    url               TEXT,
    public_display    BOOLEAN NOT NULL,
    is_current        BOOLEAN NOT NULL
);

-- Suspensions as served, including ancestor and country-wide ones.
CREATE TABLE suspensions (
    id                 BIGINT PRIMARY KEY,
    taxon_concept_id   BIGINT,
    notes              TEXT,
    start_date         DATE,
    is_current         BOOLEAN NOT NULL,
    applies_to_import  BOOLEAN NOT NULL,
    country            TEXT,
    country_name       TEXT,
    notification_name  TEXT,
    notification_date  DATE,
    notification_url   TEXT
);

-- Which quotas and suspensions Species+ lists for which taxon (own, descendants', ancestors'
-- and country-wide ones), exactly as served by /cites_legislation.
CREATE TABLE taxon_quotas (
    taxon_id  BIGINT NOT NULL REFERENCES taxa (id) ON DELETE CASCADE,
    quota_id  BIGINT NOT NULL REFERENCES quotas (id) ON DELETE CASCADE,
    PRIMARY KEY (taxon_id, quota_id)
);
CREATE TABLE taxon_suspensions (
    taxon_id       BIGINT NOT NULL REFERENCES taxa (id) ON DELETE CASCADE,
    suspension_id  BIGINT NOT NULL REFERENCES suspensions (id) ON DELETE CASCADE,
    PRIMARY KEY (taxon_id, suspension_id)
);

CREATE TABLE distributions (
    taxon_id         BIGINT NOT NULL REFERENCES taxa (id) ON DELETE CASCADE,
    distribution_id  BIGINT NOT NULL,
    country          TEXT    NOT NULL,
    name             TEXT,
    geo_type         TEXT,
    -- Comma-separated tags ("extinct", "reintroduced").
    tags             TEXT    NOT NULL,
    PRIMARY KEY (taxon_id, distribution_id)
);
CREATE INDEX distributions_country ON distributions (country);

-- One row per sync run. A run stages what it fetches (sync_stage) and applies it in one
-- transaction at the end, so a failed or killed run leaves the catalogue untouched.
CREATE TABLE sync_runs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT    NOT NULL CONSTRAINT sync_runs_kind_valid CHECK (kind IN ('full', 'incremental', 'dump')),
    status         TEXT    NOT NULL CONSTRAINT sync_runs_status_valid CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    -- The updated_since bound used by an incremental run.
    updated_since  TEXT,
    -- Progress of the run (JSON): pages walked, taxa whose legislation is staged.
    checkpoint     TEXT,
    -- The SyncReport (JSON) of a finished run.
    report         TEXT,
    error          TEXT
);

-- Raw bodies fetched by a run, parsed again when the run applies. Rows of finished runs are
-- deleted at the end of the run.
CREATE TABLE sync_stage (
    run_id    BIGINT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    kind      TEXT    NOT NULL CONSTRAINT sync_stage_kind_valid CHECK (kind IN ('taxa_page', 'legislation', 'distributions')),
    item_key  BIGINT NOT NULL,
    body      TEXT    NOT NULL,
    PRIMARY KEY (run_id, kind, item_key)
);

-- Watermarks that only move when a run succeeds.
CREATE TABLE sync_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- At most one sync run at a time, across processes. A lock whose holder is dead or silent for
-- longer than the stale limit may be taken over.
CREATE TABLE sync_lock (
    id            BIGINT PRIMARY KEY CONSTRAINT sync_lock_single CHECK (id = 1),
    holder        TEXT    NOT NULL,
    heartbeat_at  TIMESTAMPTZ NOT NULL
);

-- API keys of the HTTP service (owned by the application). Only a SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT    NOT NULL CONSTRAINT api_keys_name_unique UNIQUE,
    role         TEXT    NOT NULL CONSTRAINT api_keys_role_valid CHECK (role IN ('permit-officer', 'scientific-authority', 'enforcement', 'admin')),
    key_prefix   TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL CONSTRAINT api_keys_secret_hash_unique UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
