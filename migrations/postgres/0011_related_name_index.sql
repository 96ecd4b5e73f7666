-- A name typed by a permit officer may be held only in its accepted taxon's synonym list
-- (taxon_related_names), with no taxon row of its own: it is looked up there by name.
CREATE INDEX taxon_related_names_full_name_lower ON taxon_related_names (lower(full_name));
