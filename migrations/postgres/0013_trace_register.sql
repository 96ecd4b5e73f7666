-- The provenance register (owned by the `trace` crate). PostgreSQL dialect; keep in step
-- with ../sqlite/0013_trace_register.sql.
--
-- Specimens and lots, the events that produce, consume or move them, the documents that
-- authorise them and the agents that act. Quantities are exact: BIGINT millionths of a unit
-- ("micro") with the unit's code. Every table is append-only (triggers at the end): a
-- correction is a new record that supersedes, never a change of history.

-- One ingested batch: its caller-scoped client key and a digest of its content, so that a
-- retried batch is stored once and another batch under the same key is a conflict.
CREATE TABLE trace_batches (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_key   TEXT    NOT NULL CONSTRAINT trace_batches_client_key_unique UNIQUE,
    digest       TEXT    NOT NULL,
    format       TEXT    NOT NULL CONSTRAINT trace_batches_format_valid CHECK (format IN ('trace', 'epcis')),
    received_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE trace_agents (
    key           TEXT    PRIMARY KEY,
    batch_id      BIGINT  NOT NULL REFERENCES trace_batches (id),
    kind          TEXT    NOT NULL CONSTRAINT trace_agents_kind_valid CHECK (kind IN ('authority', 'trader', 'breeding_operation', 'nursery', 'ranch', 'processing_plant', 'repackaging_plant', 'other')),
    name          TEXT    NOT NULL,
    country       TEXT    CONSTRAINT trace_agents_country_valid CHECK (country IS NULL OR length(country) = 2),
    registration  TEXT
);

-- A specimen or a lot. Its quantity is what it was when it came into being.
CREATE TABLE trace_specimens (
    key             TEXT    PRIMARY KEY,
    batch_id        BIGINT  NOT NULL REFERENCES trace_batches (id),
    taxon_id        BIGINT  NOT NULL CONSTRAINT trace_specimens_taxon_positive CHECK (taxon_id > 0),
    term            TEXT    NOT NULL,
    quantity_micro  BIGINT  NOT NULL CONSTRAINT trace_specimens_quantity_positive CHECK (quantity_micro > 0),
    unit            TEXT    NOT NULL,
    source          TEXT    NOT NULL
);

CREATE TABLE trace_identifiers (
    scheme        TEXT    NOT NULL CONSTRAINT trace_identifiers_scheme_valid CHECK (scheme IN ('crocodilian_tag', 'caviar_label', 'microchip', 'ring', 'lot', 'log', 'epc', 'other')),
    value         TEXT    NOT NULL CONSTRAINT trace_identifiers_value_present CHECK (length(value) > 0),
    specimen_key  TEXT    NOT NULL REFERENCES trace_specimens (key),
    batch_id      BIGINT  NOT NULL REFERENCES trace_batches (id),
    PRIMARY KEY (scheme, value, specimen_key)
);
CREATE INDEX trace_identifiers_specimen ON trace_identifiers (specimen_key);

-- A document, keyed by issuing country, type and number. A later revision of the same key
-- supersedes the earlier ones (a status that changed, an endorsed actual quantity).
CREATE TABLE trace_documents (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id         BIGINT  NOT NULL REFERENCES trace_batches (id),
    country          TEXT    NOT NULL CONSTRAINT trace_documents_country_valid CHECK (length(country) = 2),
    doc_type         TEXT    NOT NULL CONSTRAINT trace_documents_type_valid CHECK (doc_type IN ('export_permit', 'import_permit', 're_export_certificate', 'pre_convention_certificate', 'captive_breeding_certificate', 'certificate_of_origin', 'licence', 'legal_acquisition_finding', 'invoice', 'other')),
    number           TEXT    NOT NULL CONSTRAINT trace_documents_number_valid CHECK (length(number) BETWEEN 1 AND 35),
    revision         BIGINT  NOT NULL CONSTRAINT trace_documents_revision_positive CHECK (revision >= 1),
    status           TEXT    NOT NULL CONSTRAINT trace_documents_status_valid CHECK (status IN ('issued', 'used', 'cancelled', 'lost', 'expired')),
    issued_on        DATE,
    valid_from       DATE,
    valid_until      DATE,
    taxon_id         BIGINT,
    unit             TEXT,
    permitted_micro  BIGINT  CONSTRAINT trace_documents_permitted_non_negative CHECK (permitted_micro IS NULL OR permitted_micro >= 0),
    actual_micro     BIGINT  CONSTRAINT trace_documents_actual_non_negative CHECK (actual_micro IS NULL OR actual_micro >= 0),
    issuer_key       TEXT    REFERENCES trace_agents (key),
    CONSTRAINT trace_documents_revision_unique UNIQUE (country, doc_type, number, revision),
    CONSTRAINT trace_documents_validity_ordered CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until),
    CONSTRAINT trace_documents_quantity_has_unit CHECK ((permitted_micro IS NULL AND actual_micro IS NULL) OR unit IS NOT NULL)
);
CREATE INDEX trace_documents_number ON trace_documents (number);

CREATE TABLE trace_events (
    key           TEXT    PRIMARY KEY,
    batch_id      BIGINT  NOT NULL REFERENCES trace_batches (id),
    kind          TEXT    NOT NULL CONSTRAINT trace_events_kind_valid CHECK (kind IN ('wild_harvest', 'captive_birth', 'artificial_propagation', 'ranching', 'pre_convention', 'confiscation', 'split', 'merge', 'transform', 'relabel', 'transfer', 'export', 're_export', 'import', 'seizure', 'destruction')),
    occurred_at   TIMESTAMPTZ NOT NULL,
    country       TEXT    CONSTRAINT trace_events_country_valid CHECK (country IS NULL OR length(country) = 2),
    agent_key     TEXT    REFERENCES trace_agents (key),
    -- Transform only: the declared yield, output over input, in millionths.
    yield_micro   BIGINT  CONSTRAINT trace_events_yield_positive CHECK (yield_micro IS NULL OR yield_micro > 0),
    CONSTRAINT trace_events_yield_only_on_transform CHECK (yield_micro IS NULL OR kind = 'transform')
);

-- Material edges and custody: 'in' a specimen an event consumed (quantity used), 'out' one it
-- produced (quantity produced), 'subject' one it moved or concerned without consuming it.
-- Quantities are in the specimen's own unit. A specimen has one producing event that is not
-- declared erroneous (the register checks it on ingest: a corrective event produces it again).
CREATE TABLE trace_flows (
    event_key       TEXT    NOT NULL REFERENCES trace_events (key),
    specimen_key    TEXT    NOT NULL REFERENCES trace_specimens (key),
    direction       TEXT    NOT NULL CONSTRAINT trace_flows_direction_valid CHECK (direction IN ('in', 'out', 'subject')),
    quantity_micro  BIGINT  CONSTRAINT trace_flows_quantity_positive CHECK (quantity_micro IS NULL OR quantity_micro > 0),
    PRIMARY KEY (event_key, direction, specimen_key),
    CONSTRAINT trace_flows_material_has_quantity CHECK (direction = 'subject' OR quantity_micro IS NOT NULL)
);
CREATE INDEX trace_flows_specimen ON trace_flows (specimen_key, direction, event_key);

CREATE TABLE trace_event_documents (
    event_key    TEXT    NOT NULL REFERENCES trace_events (key),
    country      TEXT    NOT NULL,
    doc_type     TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    PRIMARY KEY (event_key, country, doc_type, number)
);
CREATE INDEX trace_event_documents_document ON trace_event_documents (country, doc_type, number);

-- An event declared erroneous (EPCIS errorDeclaration): it stays, and is read no more.
CREATE TABLE trace_corrections (
    event_key          TEXT    PRIMARY KEY REFERENCES trace_events (key),
    batch_id           BIGINT  NOT NULL REFERENCES trace_batches (id),
    declared_at        TIMESTAMPTZ NOT NULL,
    reason             TEXT    NOT NULL,
    -- JSON array of the keys of the events that correct it.
    corrective_events  TEXT    NOT NULL
);

-- What the cheap checks on ingest found: indicators for officers, not refusals.
CREATE TABLE trace_findings (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id  BIGINT  NOT NULL REFERENCES trace_batches (id),
    rule      TEXT    NOT NULL,
    severity  TEXT    NOT NULL CONSTRAINT trace_findings_severity_valid CHECK (severity IN ('info', 'warning', 'error')),
    message   TEXT    NOT NULL,
    -- JSON arrays: the keys of the nodes involved, and the numbers as [name, value] pairs.
    nodes     TEXT    NOT NULL,
    numbers   TEXT    NOT NULL
);
CREATE INDEX trace_findings_batch ON trace_findings (batch_id);

-- The register is an audit trail: rows are only ever appended. These triggers make the database
-- refuse a change, a deletion or a truncation from anyone else as well (a superuser can still
-- drop them: this guards against mistakes, not against the database's owner).
CREATE FUNCTION trace_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER trace_batches_no_change BEFORE UPDATE OR DELETE ON trace_batches
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_batches_no_truncate BEFORE TRUNCATE ON trace_batches
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_agents_no_change BEFORE UPDATE OR DELETE ON trace_agents
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_agents_no_truncate BEFORE TRUNCATE ON trace_agents
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_specimens_no_change BEFORE UPDATE OR DELETE ON trace_specimens
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_specimens_no_truncate BEFORE TRUNCATE ON trace_specimens
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_identifiers_no_change BEFORE UPDATE OR DELETE ON trace_identifiers
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_identifiers_no_truncate BEFORE TRUNCATE ON trace_identifiers
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_documents_no_change BEFORE UPDATE OR DELETE ON trace_documents
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_documents_no_truncate BEFORE TRUNCATE ON trace_documents
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_events_no_change BEFORE UPDATE OR DELETE ON trace_events
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_events_no_truncate BEFORE TRUNCATE ON trace_events
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_flows_no_change BEFORE UPDATE OR DELETE ON trace_flows
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_flows_no_truncate BEFORE TRUNCATE ON trace_flows
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_event_documents_no_change BEFORE UPDATE OR DELETE ON trace_event_documents
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_event_documents_no_truncate BEFORE TRUNCATE ON trace_event_documents
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_corrections_no_change BEFORE UPDATE OR DELETE ON trace_corrections
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_corrections_no_truncate BEFORE TRUNCATE ON trace_corrections
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_findings_no_change BEFORE UPDATE OR DELETE ON trace_findings
    FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE TRIGGER trace_findings_no_truncate BEFORE TRUNCATE ON trace_findings
    FOR EACH STATEMENT EXECUTE FUNCTION trace_append_only();
