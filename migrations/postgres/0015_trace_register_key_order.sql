-- The register's documents keyed by what names them (owned by the `trace` crate). PostgreSQL
-- dialect; keep in step with ../sqlite/0015_trace_register_key_order.sql.
--
-- On SQLite, 0015 rebuilds the register's tables WITHOUT ROWID, each stored in the order of its
-- key, so that a trace's look-ups by text key take one B-tree search each. PostgreSQL keeps
-- every table apart from its indexes, so nothing changes here but the columns both backends
-- share: `trace_documents` loses its surrogate `id` (nothing reads it) and its unique key
-- (country, doc_type, number, revision) becomes its primary key.

ALTER TABLE trace_documents DROP CONSTRAINT trace_documents_pkey;
ALTER TABLE trace_documents DROP COLUMN id;
ALTER TABLE trace_documents DROP CONSTRAINT trace_documents_revision_unique;
ALTER TABLE trace_documents ADD CONSTRAINT trace_documents_key PRIMARY KEY (country, doc_type, number, revision);
