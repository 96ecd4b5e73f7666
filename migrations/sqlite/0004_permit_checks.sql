-- Every permit check, as asked and as answered (checklist item 13: what the annual report and
-- the comparative tabulation need, and the exporter's refusal history the risk score reads).
CREATE TABLE permit_checks (
    id              INTEGER PRIMARY KEY,
    checked_at      TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    transaction_type TEXT   NOT NULL,
    taxon_id        INTEGER NOT NULL,
    exporter        TEXT    NOT NULL,
    importer        TEXT    NOT NULL,
    decision        TEXT    NOT NULL CONSTRAINT permit_checks_decision_valid CHECK (decision IN ('ALLOW', 'REFUSE', 'NEEDS_REVIEW', 'NOT_CITES')),
    -- The client's key when the check reserves: a retry returns the recorded answer.
    client_key      TEXT CONSTRAINT permit_checks_client_key_unique UNIQUE,
    reservation_id  INTEGER REFERENCES quota_reservations (id),
    -- The application as submitted and the answer (without its id), JSON.
    application     TEXT    NOT NULL,
    explanation     TEXT    NOT NULL
);
CREATE INDEX permit_checks_exporter ON permit_checks (exporter, decision);
CREATE INDEX permit_checks_taxon ON permit_checks (taxon_id, checked_at);
