-- Two of the register's indexes reshaped for a trace's reads (owned by the `trace` crate).
-- SQLite dialect; keep in step with ../postgres/0016_trace_register_covering_reads.sql.
--
-- `trace_flows_specimen` also holds each flow's quantity, so that reading a specimen's flows
-- (a trace reads every flow of every specimen it keeps) takes the index alone, not one more
-- search of the table per flow.
--
-- `trace_documents_number` becomes (number, revision). A look-up by number alone (`cites trace
-- document`) reads it as before; but (number) alone, which a table WITHOUT ROWID extends with
-- its key's other columns, matched a search by (country, doc_type, number) as well as the
-- primary key does, and SQLite took it, then searched the table for each row found. With
-- revision second it matches such a search by number only, and the primary key is taken.
--
-- Rebuilding the two indexes reads the whole of the two tables once (a register of 10 million
-- nodes: some 14 million flows and 2 million documents).

DROP INDEX trace_flows_specimen;
CREATE INDEX trace_flows_specimen ON trace_flows (specimen_key, direction, event_key, quantity_micro);

DROP INDEX trace_documents_number;
CREATE INDEX trace_documents_number ON trace_documents (number, revision);
