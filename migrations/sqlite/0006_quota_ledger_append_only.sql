-- The quota ledger is the audit a Scientific Authority reads to see how a quota got where it
-- stands: entries are only ever appended (a correction is a new entry). The engine never changes
-- or deletes one; these triggers make the database refuse it from anyone else as well.
CREATE TRIGGER quota_ledger_no_update BEFORE UPDATE ON quota_ledger
BEGIN
    SELECT RAISE(ABORT, 'quota_ledger is append-only: an entry is never changed');
END;
CREATE TRIGGER quota_ledger_no_delete BEFORE DELETE ON quota_ledger
BEGIN
    SELECT RAISE(ABORT, 'quota_ledger is append-only: an entry is never deleted');
END;
