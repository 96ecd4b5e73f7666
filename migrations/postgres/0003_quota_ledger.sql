-- The export quota ledger (owned by the `quota` crate). PostgreSQL dialect; keep in step
-- with ../sqlite/0003_quota_ledger.sql.
--
-- Amounts are exact: BIGINT millionths of the quota's unit ("micro"), so that SQL arithmetic and
-- CHECK constraints are exact on both backends (SQLite has no exact decimal type).

-- One export quota: an exporting country, a taxon, a 12-month period, a limit with its unit,
-- optional term / source / purpose restrictions. Declared nationally or imported from Species+.
CREATE TABLE export_quotas (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exporter         TEXT    NOT NULL,
    taxon_id         BIGINT NOT NULL,
    period_start     DATE    NOT NULL,
    -- Exclusive: the first day after the period.
    period_end       DATE    NOT NULL,
    unit             TEXT    NOT NULL,
    -- NULL while Species+ shows the quota "in preparation": nothing may be reserved against it.
    limit_micro      BIGINT,
    held_micro       BIGINT NOT NULL DEFAULT 0,
    committed_micro  BIGINT NOT NULL DEFAULT 0,
    exported_micro   BIGINT NOT NULL DEFAULT 0,
    term             TEXT,
    source           TEXT,
    purpose          TEXT,
    origin           TEXT    NOT NULL CONSTRAINT export_quotas_origin_valid CHECK (origin IN ('national', 'speciesplus')),
    speciesplus_id   BIGINT CONSTRAINT export_quotas_speciesplus_id_unique UNIQUE,
    notes            TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    created_by       TEXT    NOT NULL,
    CONSTRAINT export_quotas_counters_non_negative CHECK (held_micro >= 0 AND committed_micro >= 0 AND exported_micro >= 0),
    -- The invariant the engine keeps, enforced a second time by the database.
    CONSTRAINT export_quotas_within_limit CHECK (held_micro + committed_micro + exported_micro <= COALESCE(limit_micro, 0)),
    CONSTRAINT export_quotas_period_valid CHECK (period_end > period_start)
);
CREATE INDEX export_quotas_lookup ON export_quotas (exporter, taxon_id, period_start);

-- One reservation of a quantity against a quota, through its life:
-- held -> committed -> closed, or held -> released | expired; rejected when refused.
CREATE TABLE quota_reservations (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quota_id           BIGINT NOT NULL REFERENCES export_quotas (id),
    state              TEXT    NOT NULL CONSTRAINT quota_reservations_state_valid CHECK (state IN ('held', 'committed', 'released', 'expired', 'rejected', 'closed')),
    quantity_micro     BIGINT NOT NULL CONSTRAINT quota_reservations_quantity_positive CHECK (quantity_micro > 0),
    committed_micro    BIGINT NOT NULL DEFAULT 0,
    exported_micro     BIGINT NOT NULL DEFAULT 0,
    -- A held reservation is expired by the sweeper from this instant on, never before.
    expires_at         TIMESTAMPTZ NOT NULL,
    -- A committed permit's validity: after it, what was not exported returns to the quota.
    permit_expires_at  TIMESTAMPTZ,
    reject_reason      TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    created_by         TEXT    NOT NULL,
    CONSTRAINT quota_reservations_commit_within_hold CHECK (committed_micro <= quantity_micro),
    CONSTRAINT quota_reservations_export_within_commit CHECK (exported_micro <= committed_micro)
);
CREATE INDEX quota_reservations_quota ON quota_reservations (quota_id);
CREATE INDEX quota_reservations_held_expiry ON quota_reservations (state, expires_at);

-- Append-only audit ledger: every change of a quota's counters, in order. Replaying the deltas
-- reproduces the counters exactly.
CREATE TABLE quota_ledger (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quota_id         BIGINT NOT NULL REFERENCES export_quotas (id),
    reservation_id   BIGINT REFERENCES quota_reservations (id),
    event            TEXT    NOT NULL CONSTRAINT quota_ledger_event_valid CHECK (event IN ('declare', 'reserve', 'reject', 'commit', 'release', 'expire', 'export', 'close')),
    delta_held       BIGINT NOT NULL,
    delta_committed  BIGINT NOT NULL,
    delta_exported   BIGINT NOT NULL,
    limit_micro      BIGINT,
    actor            TEXT    NOT NULL,
    reason           TEXT,
    at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX quota_ledger_quota ON quota_ledger (quota_id, seq);

-- Idempotency: the first outcome of every client key, with a hash of its parameters.
CREATE TABLE quota_requests (
    client_key    TEXT PRIMARY KEY,
    operation     TEXT NOT NULL,
    params_hash   TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
