-- The numbers of the permits the engine issues (owned by the application, `app::permits`).
-- SQLite dialect; keep in step with ../postgres/0014_engine_permits.sql.
--
-- A commit names the permit it issues; the number is claimed here before the ledger commits,
-- so a crash between the commit and the register's write loses nothing: the back-fill
-- (`cites trace backfill-permits`) writes the permit document from this row and the ledger.
-- One row per permit: the first member of a linked reservation stands for all of them.
CREATE TABLE engine_permits (
    reservation_id  INTEGER PRIMARY KEY REFERENCES quota_reservations (id),
    -- The issuing country: the exporter of the reservation's quota.
    country         TEXT    NOT NULL CONSTRAINT engine_permits_country_valid CHECK (length(country) = 2),
    number          TEXT    NOT NULL CONSTRAINT engine_permits_number_valid CHECK (length(number) BETWEEN 1 AND 35),
    -- 1 when the engine gave the number (a commit that named none, or the back-fill).
    assigned        INTEGER NOT NULL CONSTRAINT engine_permits_assigned_valid CHECK (assigned IN (0, 1)),
    claimed_at      TEXT    NOT NULL,
    CONSTRAINT engine_permits_number_unique UNIQUE (country, number)
);

-- The back-fill reads each permit's commit and close entries from the audit ledger.
CREATE INDEX quota_ledger_reservation ON quota_ledger (reservation_id, event);
