-- Two of the register's indexes reshaped for a trace's reads (owned by the `trace` crate).
-- PostgreSQL dialect; keep in step with ../sqlite/0016_trace_register_covering_reads.sql.
--
-- The same shapes as on SQLite: `trace_flows_specimen` also holds each flow's quantity, so a
-- trace can read a specimen's flows from the index alone (an index-only scan where the
-- visibility map allows), and `trace_documents_number` becomes (number, revision), which serves
-- a look-up by number as before.

DROP INDEX trace_flows_specimen;
CREATE INDEX trace_flows_specimen ON trace_flows (specimen_key, direction, event_key, quantity_micro);

DROP INDEX trace_documents_number;
CREATE INDEX trace_documents_number ON trace_documents (number, revision);
