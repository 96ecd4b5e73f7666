-- The sweeper looks for committed permits whose validity has ended as well as for held
-- reservations past their expiry. Without this index the first search read every reservation
-- ever made, on every sweep (on SQLite inside the write transaction, so reservations waited).
CREATE INDEX quota_reservations_permit_validity ON quota_reservations (state, permit_expires_at);
