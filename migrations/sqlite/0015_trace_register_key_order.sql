-- The register's tables stored in the order of their keys (owned by the `trace` crate). SQLite
-- dialect; ../postgres/0015_trace_register_key_order.sql makes the same change of columns.
--
-- Every look-up a trace makes is by text key: a specimen's flows, an event's flows, an event's
-- documents, a document's revisions. In a rowid table each takes two B-tree searches (the key's
-- index, then the row by rowid); a WITHOUT ROWID table keeps the row in its key's B-tree, so
-- one search finds it, and a secondary index carries the primary key, so the walk's search of
-- a specimen's flows reads nothing else. The tables are rebuilt with the same columns,
-- constraints, indexes and append-only triggers; `trace_documents` loses its surrogate `id`
-- (nothing reads it) for the primary key (country, doc_type, number, revision) that was its
-- unique constraint.
--
-- A table is copied into a new one, the old one dropped and the new one renamed; the new
-- tables refer to each other under their new names, which the renames rewrite. Old children
-- are dropped before their parents, so no foreign key ever points at a dropped table.
--
-- The copy is one transaction: a register of a million nodes took 11 s on a 2-core machine and
-- needs room for a second copy of its tables; the old pages stay in the file as free pages until
-- a VACUUM.

CREATE TABLE trace_specimens_keyed (
    key             TEXT    PRIMARY KEY,
    batch_id        INTEGER NOT NULL REFERENCES trace_batches (id),
    taxon_id        INTEGER NOT NULL CONSTRAINT trace_specimens_taxon_positive CHECK (taxon_id > 0),
    term            TEXT    NOT NULL,
    quantity_micro  INTEGER NOT NULL CONSTRAINT trace_specimens_quantity_positive CHECK (quantity_micro > 0),
    unit            TEXT    NOT NULL,
    source          TEXT    NOT NULL
) WITHOUT ROWID;
INSERT INTO trace_specimens_keyed (key, batch_id, taxon_id, term, quantity_micro, unit, source)
    SELECT key, batch_id, taxon_id, term, quantity_micro, unit, source FROM trace_specimens;

CREATE TABLE trace_identifiers_keyed (
    scheme        TEXT    NOT NULL CONSTRAINT trace_identifiers_scheme_valid CHECK (scheme IN ('crocodilian_tag', 'caviar_label', 'microchip', 'ring', 'lot', 'log', 'epc', 'other')),
    value         TEXT    NOT NULL CONSTRAINT trace_identifiers_value_present CHECK (length(value) > 0),
    specimen_key  TEXT    NOT NULL REFERENCES trace_specimens_keyed (key),
    batch_id      INTEGER NOT NULL REFERENCES trace_batches (id),
    PRIMARY KEY (scheme, value, specimen_key)
) WITHOUT ROWID;
INSERT INTO trace_identifiers_keyed (scheme, value, specimen_key, batch_id)
    SELECT scheme, value, specimen_key, batch_id FROM trace_identifiers;

CREATE TABLE trace_documents_keyed (
    batch_id         INTEGER NOT NULL REFERENCES trace_batches (id),
    country          TEXT    NOT NULL CONSTRAINT trace_documents_country_valid CHECK (length(country) = 2),
    doc_type         TEXT    NOT NULL CONSTRAINT trace_documents_type_valid CHECK (doc_type IN ('export_permit', 'import_permit', 're_export_certificate', 'pre_convention_certificate', 'captive_breeding_certificate', 'certificate_of_origin', 'licence', 'legal_acquisition_finding', 'invoice', 'other')),
    number           TEXT    NOT NULL CONSTRAINT trace_documents_number_valid CHECK (length(number) BETWEEN 1 AND 35),
    revision         INTEGER NOT NULL CONSTRAINT trace_documents_revision_positive CHECK (revision >= 1),
    status           TEXT    NOT NULL CONSTRAINT trace_documents_status_valid CHECK (status IN ('issued', 'used', 'cancelled', 'lost', 'expired')),
    issued_on        TEXT,
    valid_from       TEXT,
    valid_until      TEXT,
    taxon_id         INTEGER,
    unit             TEXT,
    permitted_micro  INTEGER CONSTRAINT trace_documents_permitted_non_negative CHECK (permitted_micro IS NULL OR permitted_micro >= 0),
    actual_micro     INTEGER CONSTRAINT trace_documents_actual_non_negative CHECK (actual_micro IS NULL OR actual_micro >= 0),
    issuer_key       TEXT    REFERENCES trace_agents (key),
    CONSTRAINT trace_documents_key PRIMARY KEY (country, doc_type, number, revision),
    CONSTRAINT trace_documents_validity_ordered CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until),
    CONSTRAINT trace_documents_quantity_has_unit CHECK ((permitted_micro IS NULL AND actual_micro IS NULL) OR unit IS NOT NULL)
) WITHOUT ROWID;
INSERT INTO trace_documents_keyed (batch_id, country, doc_type, number, revision, status, issued_on,
        valid_from, valid_until, taxon_id, unit, permitted_micro, actual_micro, issuer_key)
    SELECT batch_id, country, doc_type, number, revision, status, issued_on, valid_from,
        valid_until, taxon_id, unit, permitted_micro, actual_micro, issuer_key
    FROM trace_documents;

CREATE TABLE trace_events_keyed (
    key           TEXT    PRIMARY KEY,
    batch_id      INTEGER NOT NULL REFERENCES trace_batches (id),
    kind          TEXT    NOT NULL CONSTRAINT trace_events_kind_valid CHECK (kind IN ('wild_harvest', 'captive_birth', 'artificial_propagation', 'ranching', 'pre_convention', 'confiscation', 'split', 'merge', 'transform', 'relabel', 'transfer', 'export', 're_export', 'import', 'seizure', 'destruction')),
    occurred_at   TEXT    NOT NULL,
    country       TEXT    CONSTRAINT trace_events_country_valid CHECK (country IS NULL OR length(country) = 2),
    agent_key     TEXT    REFERENCES trace_agents (key),
    -- Transform only: the declared yield, output over input, in millionths.
    yield_micro   INTEGER CONSTRAINT trace_events_yield_positive CHECK (yield_micro IS NULL OR yield_micro > 0),
    CONSTRAINT trace_events_yield_only_on_transform CHECK (yield_micro IS NULL OR kind = 'transform')
) WITHOUT ROWID;
INSERT INTO trace_events_keyed (key, batch_id, kind, occurred_at, country, agent_key, yield_micro)
    SELECT key, batch_id, kind, occurred_at, country, agent_key, yield_micro FROM trace_events;

-- Material edges and custody, as in 0013: 'in' consumed, 'out' produced, 'subject' concerned.
CREATE TABLE trace_flows_keyed (
    event_key       TEXT    NOT NULL REFERENCES trace_events_keyed (key),
    specimen_key    TEXT    NOT NULL REFERENCES trace_specimens_keyed (key),
    direction       TEXT    NOT NULL CONSTRAINT trace_flows_direction_valid CHECK (direction IN ('in', 'out', 'subject')),
    quantity_micro  INTEGER CONSTRAINT trace_flows_quantity_positive CHECK (quantity_micro IS NULL OR quantity_micro > 0),
    PRIMARY KEY (event_key, direction, specimen_key),
    CONSTRAINT trace_flows_material_has_quantity CHECK (direction = 'subject' OR quantity_micro IS NOT NULL)
) WITHOUT ROWID;
INSERT INTO trace_flows_keyed (event_key, specimen_key, direction, quantity_micro)
    SELECT event_key, specimen_key, direction, quantity_micro FROM trace_flows;

CREATE TABLE trace_event_documents_keyed (
    event_key    TEXT    NOT NULL REFERENCES trace_events_keyed (key),
    country      TEXT    NOT NULL,
    doc_type     TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    PRIMARY KEY (event_key, country, doc_type, number)
) WITHOUT ROWID;
INSERT INTO trace_event_documents_keyed (event_key, country, doc_type, number)
    SELECT event_key, country, doc_type, number FROM trace_event_documents;

CREATE TABLE trace_corrections_keyed (
    event_key          TEXT    PRIMARY KEY REFERENCES trace_events_keyed (key),
    batch_id           INTEGER NOT NULL REFERENCES trace_batches (id),
    declared_at        TEXT    NOT NULL,
    reason             TEXT    NOT NULL,
    -- JSON array of the keys of the events that correct it.
    corrective_events  TEXT    NOT NULL
) WITHOUT ROWID;
INSERT INTO trace_corrections_keyed (event_key, batch_id, declared_at, reason, corrective_events)
    SELECT event_key, batch_id, declared_at, reason, corrective_events FROM trace_corrections;

-- Children before parents; a table's triggers and indexes go with it.
DROP TABLE trace_corrections;
DROP TABLE trace_event_documents;
DROP TABLE trace_flows;
DROP TABLE trace_identifiers;
DROP TABLE trace_events;
DROP TABLE trace_specimens;
DROP TABLE trace_documents;

ALTER TABLE trace_specimens_keyed RENAME TO trace_specimens;
ALTER TABLE trace_identifiers_keyed RENAME TO trace_identifiers;
ALTER TABLE trace_documents_keyed RENAME TO trace_documents;
ALTER TABLE trace_events_keyed RENAME TO trace_events;
ALTER TABLE trace_flows_keyed RENAME TO trace_flows;
ALTER TABLE trace_event_documents_keyed RENAME TO trace_event_documents;
ALTER TABLE trace_corrections_keyed RENAME TO trace_corrections;

CREATE INDEX trace_identifiers_specimen ON trace_identifiers (specimen_key);
CREATE INDEX trace_documents_number ON trace_documents (number);
CREATE INDEX trace_flows_specimen ON trace_flows (specimen_key, direction, event_key);
CREATE INDEX trace_event_documents_document ON trace_event_documents (country, doc_type, number);

-- The append-only triggers of 0013, on the rebuilt tables.
CREATE TRIGGER trace_specimens_no_update BEFORE UPDATE ON trace_specimens
BEGIN
    SELECT RAISE(ABORT, 'trace_specimens is append-only: a row is never changed');
END;
CREATE TRIGGER trace_specimens_no_delete BEFORE DELETE ON trace_specimens
BEGIN
    SELECT RAISE(ABORT, 'trace_specimens is append-only: a row is never deleted');
END;
CREATE TRIGGER trace_identifiers_no_update BEFORE UPDATE ON trace_identifiers
BEGIN
    SELECT RAISE(ABORT, 'trace_identifiers is append-only: a row is never changed');
END;
CREATE TRIGGER trace_identifiers_no_delete BEFORE DELETE ON trace_identifiers
BEGIN
    SELECT RAISE(ABORT, 'trace_identifiers is append-only: a row is never deleted');
END;
CREATE TRIGGER trace_documents_no_update BEFORE UPDATE ON trace_documents
BEGIN
    SELECT RAISE(ABORT, 'trace_documents is append-only: a row is never changed');
END;
CREATE TRIGGER trace_documents_no_delete BEFORE DELETE ON trace_documents
BEGIN
    SELECT RAISE(ABORT, 'trace_documents is append-only: a row is never deleted');
END;
CREATE TRIGGER trace_events_no_update BEFORE UPDATE ON trace_events
BEGIN
    SELECT RAISE(ABORT, 'trace_events is append-only: a row is never changed');
END;
CREATE TRIGGER trace_events_no_delete BEFORE DELETE ON trace_events
BEGIN
    SELECT RAISE(ABORT, 'trace_events is append-only: a row is never deleted');
END;
CREATE TRIGGER trace_flows_no_update BEFORE UPDATE ON trace_flows
BEGIN
    SELECT RAISE(ABORT, 'trace_flows is append-only: a row is never changed');
END;
CREATE TRIGGER trace_flows_no_delete BEFORE DELETE ON trace_flows
BEGIN
    SELECT RAISE(ABORT, 'trace_flows is append-only: a row is never deleted');
END;
CREATE TRIGGER trace_event_documents_no_update BEFORE UPDATE ON trace_event_documents
BEGIN
    SELECT RAISE(ABORT, 'trace_event_documents is append-only: a row is never changed');
END;
CREATE TRIGGER trace_event_documents_no_delete BEFORE DELETE ON trace_event_documents
BEGIN
    SELECT RAISE(ABORT, 'trace_event_documents is append-only: a row is never deleted');
END;
CREATE TRIGGER trace_corrections_no_update BEFORE UPDATE ON trace_corrections
BEGIN
    SELECT RAISE(ABORT, 'trace_corrections is append-only: a row is never changed');
END;
CREATE TRIGGER trace_corrections_no_delete BEFORE DELETE ON trace_corrections
BEGIN
    SELECT RAISE(ABORT, 'trace_corrections is append-only: a row is never deleted');
END;

