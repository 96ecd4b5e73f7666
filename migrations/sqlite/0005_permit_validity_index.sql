-- The sweeper looks for committed permits whose validity has ended as well as for held
-- reservations past their expiry. Without this index the search for due permits read the row
-- of every open permit (the index on (state, expires_at) narrows it to the state only), on every
-- sweep; on SQLite inside the write transaction, so reservations waited.
CREATE INDEX quota_reservations_permit_validity ON quota_reservations (state, permit_expires_at);
