-- A refused commit, release, export or close is written to the audit ledger as well as a
-- refused reservation ('reject'): it changes no counter, but an enforcement officer looking for
-- attempts to export more than a permit allows, or to use a permit twice, needs to see them.
-- Each is its own event, with the quantity asked (in the quota's unit; none for a release or a
-- close) and why it was refused; a refused reservation keeps both on its reservation row.
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt as in 0007, with every entry
-- and sequence number kept, and the append-only triggers of 0006 set again on it.
DROP TRIGGER quota_ledger_no_update;
DROP TRIGGER quota_ledger_no_delete;
CREATE TABLE quota_ledger_rebuilt (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    quota_id         INTEGER NOT NULL REFERENCES export_quotas (id),
    reservation_id   INTEGER REFERENCES quota_reservations (id),
    event            TEXT    NOT NULL CONSTRAINT quota_ledger_event_valid CHECK (event IN ('declare', 'revise', 'reserve', 'reject', 'commit', 'release', 'expire', 'export', 'close', 'commit_refused', 'release_refused', 'export_refused', 'close_refused')),
    delta_held       INTEGER NOT NULL,
    delta_committed  INTEGER NOT NULL,
    delta_exported   INTEGER NOT NULL,
    limit_micro      INTEGER,
    actor            TEXT    NOT NULL,
    reason           TEXT,
    at               TEXT    NOT NULL,
    requested_micro  INTEGER CONSTRAINT quota_ledger_requested_positive CHECK (requested_micro > 0),
    refusal          TEXT,
    -- A refusal moves nothing, says why, and is about one reservation.
    CONSTRAINT quota_ledger_refusal_valid CHECK (
        (event LIKE '%\_refused' ESCAPE '\') = (refusal IS NOT NULL)
        AND (refusal IS NULL OR (delta_held = 0 AND delta_committed = 0 AND delta_exported = 0
             AND reservation_id IS NOT NULL)))
);
INSERT INTO quota_ledger_rebuilt (seq, quota_id, reservation_id, event, delta_held,
    delta_committed, delta_exported, limit_micro, actor, reason, at)
SELECT seq, quota_id, reservation_id, event, delta_held, delta_committed, delta_exported,
    limit_micro, actor, reason, at FROM quota_ledger ORDER BY seq;
-- Numbers are never reused: the rebuilt table goes on from the old one's counter, which may be
-- past its last entry.
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT MAX(seq) FROM sqlite_sequence WHERE name = 'quota_ledger'))
WHERE name = 'quota_ledger_rebuilt' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'quota_ledger');
INSERT INTO sqlite_sequence (name, seq)
SELECT 'quota_ledger_rebuilt', seq FROM sqlite_sequence WHERE name = 'quota_ledger'
AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'quota_ledger_rebuilt');
DROP TABLE quota_ledger;
ALTER TABLE quota_ledger_rebuilt RENAME TO quota_ledger;
CREATE INDEX quota_ledger_quota ON quota_ledger (quota_id, seq);
CREATE TRIGGER quota_ledger_no_update BEFORE UPDATE ON quota_ledger
BEGIN
    SELECT RAISE(ABORT, 'quota_ledger is append-only: an entry is never changed');
END;
CREATE TRIGGER quota_ledger_no_delete BEFORE DELETE ON quota_ledger
BEGIN
    SELECT RAISE(ABORT, 'quota_ledger is append-only: an entry is never deleted');
END;
