-- The built-in sample catalogue is no mirror of Species+: it must never be the baseline of an
-- incremental run, and the first complete run (a full walk or a bulk dump) must replace it, not
-- merge into it. From now on its load marks it in sync_state ('catalogue_is_sample') and takes
-- away the baseline ('last_success_start'); this marks a catalogue loaded before, whose latest
-- complete run is the sample's (its report's first warning names it).
INSERT INTO sync_state (key, value)
SELECT 'catalogue_is_sample', 'true'
WHERE EXISTS (
    SELECT 1 FROM sync_runs s
    WHERE s.status = 'succeeded' AND s.kind = 'dump'
      AND s.report LIKE '%loaded the built-in SAMPLE catalogue%'
      AND NOT EXISTS (
          SELECT 1 FROM sync_runs r
          WHERE r.status = 'succeeded' AND r.kind IN ('full', 'dump') AND r.id > s.id
            AND (r.report IS NULL OR r.report NOT LIKE '%loaded the built-in SAMPLE catalogue%')))
ON CONFLICT (key) DO NOTHING;

DELETE FROM sync_state
WHERE key = 'last_success_start'
  AND EXISTS (SELECT 1 FROM sync_state WHERE key = 'catalogue_is_sample');
