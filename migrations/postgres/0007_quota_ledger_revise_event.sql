-- A revised limit is its own event in the audit ledger ('revise'), rather than a second
-- 'declare': an auditor reads how a quota's limit changed without inferring it from the order
-- of declarations. Entries already written stay as they are (the ledger is append-only).
ALTER TABLE quota_ledger DROP CONSTRAINT quota_ledger_event_valid;
ALTER TABLE quota_ledger ADD CONSTRAINT quota_ledger_event_valid CHECK (event IN ('declare',
    'revise', 'reserve', 'reject', 'commit', 'release', 'expire', 'export', 'close'));
