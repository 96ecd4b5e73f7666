-- The quota ledger is the audit a Scientific Authority reads to see how a quota got where it
-- stands: entries are only ever appended (a correction is a new entry). The engine never changes
-- or deletes one; these triggers make the database refuse it from anyone else as well (a
-- superuser can still drop them: this guards against mistakes, not against the database's owner).
CREATE FUNCTION quota_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'quota_ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER quota_ledger_no_change BEFORE UPDATE OR DELETE ON quota_ledger
    FOR EACH ROW EXECUTE FUNCTION quota_ledger_append_only();
CREATE TRIGGER quota_ledger_no_truncate BEFORE TRUNCATE ON quota_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION quota_ledger_append_only();
