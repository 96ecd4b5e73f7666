-- Indexes for exact-name lookups (ancestor resolution by genus/family/... name) and for the
-- case-insensitive name and common-name searches, which compare lower(...) on both backends.
CREATE INDEX taxa_full_name ON taxa (full_name);
CREATE INDEX taxa_full_name_lower ON taxa (lower(full_name));
CREATE INDEX common_names_name_lower ON common_names (lower(name));
