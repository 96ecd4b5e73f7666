//! The SQL fragments the ledger and the group writer share.

macro_rules! quota_columns {
    () => {
        "id, exporter, taxon_id, period_start, period_end, unit, limit_micro, held_micro, \
         committed_micro, exported_micro, term, source, purpose, origin, speciesplus_id, notes"
    };
}

macro_rules! reservation_columns {
    () => {
        "id, quota_id, state, quantity_micro, committed_micro, exported_micro, expires_at, \
         permit_expires_at, reject_reason"
    };
}

/// [`crate::ledger::stored_ref`] in SQL, over the reservation id and the counters after it (`%s` of
/// NULL is empty: the limit goes through COALESCE).
macro_rules! stored_ref_sql {
    ($id:literal, $held:literal, $committed:literal, $exported:literal, $limit:literal) => {
        concat!(
            "format('{\"ref\":{\"reservation\":%s,\"held\":%s,\"committed\":%s,\"exported\":%s,\"limit\":%s}}', ",
            $id, ", ", $held, ", ", $committed, ", ", $exported, ", COALESCE(", $limit,
            "::TEXT, 'null'))"
        )
    };
}

/// `StoredTransition::Released` (the ledger's) in SQL, over `r` (the reservation) and `upd` (the
/// quota after the release).
macro_rules! stored_released_sql {
    () => {
        "format('{\"released\":{\"reservation\":%s,\"held\":%s,\"committed\":%s,\"exported\":%s,\"limit\":%s}}', \
         r.id, upd.held_micro, upd.committed_micro, upd.exported_micro, \
         COALESCE(upd.limit_micro::TEXT, 'null'))"
    };
}

/// `StoredTransition::Committed` (the ledger's) in SQL, over `r` (the reservation) and `upd` (the
/// quota after the commit).
macro_rules! stored_committed_sql {
    () => {
        "format('{\"committed\":{\"reservation\":%s,\"held\":%s,\"committed\":%s,\"exported\":%s,\"limit\":%s}}', \
         r.id, upd.held_micro, upd.committed_micro, upd.exported_micro, \
         COALESCE(upd.limit_micro::TEXT, 'null'))"
    };
}
