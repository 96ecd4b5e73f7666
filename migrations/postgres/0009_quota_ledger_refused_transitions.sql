-- A refused commit, release, export or close is written to the audit ledger as well as a
-- refused reservation ('reject'): it changes no counter, but an enforcement officer looking for
-- attempts to export more than a permit allows, or to use a permit twice, needs to see them.
-- Each is its own event, with the quantity asked (in the quota's unit; none for a release or a
-- close) and why it was refused; a refused reservation keeps both on its reservation row.
-- Entries already written stay as they are (the ledger is append-only).
ALTER TABLE quota_ledger DROP CONSTRAINT quota_ledger_event_valid;
ALTER TABLE quota_ledger ADD CONSTRAINT quota_ledger_event_valid CHECK (event IN ('declare',
    'revise', 'reserve', 'reject', 'commit', 'release', 'expire', 'export', 'close',
    'commit_refused', 'release_refused', 'export_refused', 'close_refused'));
ALTER TABLE quota_ledger ADD COLUMN requested_micro BIGINT
    CONSTRAINT quota_ledger_requested_positive CHECK (requested_micro > 0);
ALTER TABLE quota_ledger ADD COLUMN refusal TEXT;
-- A refusal moves nothing, says why, and is about one reservation.
ALTER TABLE quota_ledger ADD CONSTRAINT quota_ledger_refusal_valid CHECK (
    (event LIKE '%\_refused') = (refusal IS NOT NULL)
    AND (refusal IS NULL OR (delta_held = 0 AND delta_committed = 0 AND delta_exported = 0
         AND reservation_id IS NOT NULL)));
