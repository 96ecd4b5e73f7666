-- The value Species+ published for an imported quota when it was last imported (millionths of
-- the quota's unit; NULL: in preparation, or a national quota). The limit may differ from it
-- once a Scientific Authority has revised the quota nationally: an import then compares the
-- value Species+ publishes now with this one, not with the limit, so that a national revision
-- stands until Species+ itself changes its value.
ALTER TABLE export_quotas ADD COLUMN speciesplus_value_micro BIGINT;
-- Quotas imported before this column: their limit is taken as the value last imported (a
-- national revision made before it cannot be told from an import's).
UPDATE export_quotas SET speciesplus_value_micro = limit_micro WHERE origin = 'speciesplus';
