-- A permit under nested quotas (a genus quota and a species quota inside it) holds every quota
-- that applies: one reservation per quota, linked. Each member of a linked reservation names
-- the first of them (which names itself); a reservation of one quota names none. Every
-- transition of a member moves every member, in one transaction.
ALTER TABLE quota_reservations ADD COLUMN linked_to BIGINT REFERENCES quota_reservations (id),
    ADD CONSTRAINT quota_reservations_linked_to_first CHECK (linked_to IS NULL OR linked_to <= id);
-- A transition finds the other members through it.
CREATE INDEX quota_reservations_linked ON quota_reservations (linked_to) WHERE linked_to IS NOT NULL;
