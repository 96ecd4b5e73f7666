-- Indexes for exact-name lookups (ancestor resolution by genus/family/... name). The
-- case-insensitive lower(...) indexes exist since 0001 on PostgreSQL.
CREATE INDEX taxa_full_name ON taxa (full_name);
