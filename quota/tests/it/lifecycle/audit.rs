//! The audit trail: every refused transition audited once, entries the database will not
//! change or delete, and every entry kept through an upgrade.

use std::sync::Arc;

use db::Backend;
use domain::ManualClock;
use quota::{Ledger, Outcome};

use crate::support::*;

on_both_backends!(
    multi_thread every_refused_commit_release_export_and_close_is_audited_once_with_what_it_asked_and_why
);
async fn every_refused_commit_release_export_and_close_is_audited_once_with_what_it_asked_and_why(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "skins", Some("10"), "").await;
    let held = |o: Outcome| o.reservation().unwrap().id;
    let a = held(
        f.ledger
            .reserve(&key("ra"), q.id, &qty("4", ""), None, &actor("po"))
            .await
            .unwrap(),
    );
    let b = held(
        f.ledger
            .reserve(&key("rb"), q.id, &qty("2", ""), None, &actor("po"))
            .await
            .unwrap(),
    );
    // A commit beyond the hold; an export and a close of a permit not issued yet.
    let refused = [
        f.ledger
            .commit(&key("c-over"), a, Some(&qty("5", "")), None, &actor("po"))
            .await,
        f.ledger
            .record_export(&key("e-early"), a, &qty("1", ""), &actor("customs"))
            .await,
        f.ledger.close(&key("x-early"), a, &actor("po")).await,
    ];
    f.ledger
        .commit(&key("c-a"), a, None, None, &actor("po"))
        .await
        .unwrap();
    f.ledger
        .release(&key("rel-b"), b, &actor("po"))
        .await
        .unwrap();
    // A permit used twice: released and committed again, exported beyond what it allows.
    let twice = [
        f.ledger.release(&key("rel-b2"), b, &actor("po")).await,
        f.ledger
            .commit(&key("c-b"), b, None, None, &actor("po"))
            .await,
        f.ledger
            .record_export(&key("e-over"), a, &qty("7", ""), &actor("customs"))
            .await,
    ];
    for outcome in refused.iter().chain(&twice) {
        assert!(
            matches!(outcome, Ok(Outcome::Refused { .. })),
            "{outcome:?}"
        );
    }
    // A retry of a refused request answers as before and writes nothing more.
    let again = f
        .ledger
        .record_export(&key("e-over"), a, &qty("7", ""), &actor("customs"))
        .await;
    assert_eq!(again.ok(), twice[2].as_ref().ok().cloned());

    let history = f.ledger.history(q.id).await.unwrap();
    let refusals: Vec<_> = history
        .iter()
        .filter(|e| e.event.ends_with("_refused"))
        .map(|e| {
            (
                e.event.as_str(),
                e.reservation_id,
                e.requested,
                e.refusal_message.clone(),
                e.actor.as_str(),
            )
        })
        .collect();
    let why = |o: &quota::Result<Outcome>| match o {
        Ok(Outcome::Refused { refusal, .. }) => Some(refusal.message()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refusals,
        [
            (
                "commit_refused",
                Some(a),
                Some(dec("5")),
                why(&refused[0]),
                "po"
            ),
            (
                "export_refused",
                Some(a),
                Some(dec("1")),
                why(&refused[1]),
                "customs"
            ),
            ("close_refused", Some(a), None, why(&refused[2]), "po"),
            ("release_refused", Some(b), None, why(&twice[0]), "po"),
            ("commit_refused", Some(b), None, why(&twice[1]), "po"),
            (
                "export_refused",
                Some(a),
                Some(dec("7")),
                why(&twice[2]),
                "customs"
            ),
        ]
    );
    assert!(
        history
            .iter()
            .filter(|e| e.event.ends_with("_refused"))
            .all(|e| e.delta_held.is_zero()
                && e.delta_committed.is_zero()
                && e.delta_exported.is_zero()),
        "a refusal moves no counter"
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread the_database_refuses_to_change_or_delete_an_audit_entry);
async fn the_database_refuses_to_change_or_delete_an_audit_entry(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "audited", Some("10"), "").await;
    f.ledger
        .reserve(&key("r"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    let before = f.ledger.history(q.id).await.unwrap();
    assert_eq!(before.len(), 2, "declare and reserve");
    let mut statements = vec![
        "UPDATE quota_ledger SET delta_held = 0 WHERE quota_id = $1",
        "UPDATE quota_ledger SET actor = 'someone else' WHERE quota_id = $1",
        "DELETE FROM quota_ledger WHERE quota_id = $1",
    ];
    if backend == Backend::Postgres {
        statements.push("TRUNCATE quota_ledger CASCADE");
    }
    for sql in statements {
        let refused = if sql.starts_with("TRUNCATE") {
            db::with_db!(f.ledger.db(), pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
        } else {
            db::with_db!(f.ledger.db(), pool => sqlx::query(sql).bind(q.id)
                .execute(pool).await.map(|_| ()))
        };
        let e = refused.expect_err(sql).to_string();
        assert!(e.contains("quota_ledger is append-only"), "{sql}: {e}");
    }
    assert_eq!(f.ledger.history(q.id).await.unwrap(), before);
    // Appending is what the ledger does, and still works.
    f.ledger
        .reserve(&key("r2"), q.id, &qty("1", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(f.ledger.history(q.id).await.unwrap().len(), 3);
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread upgrading_the_ledger_keeps_every_audit_entry_its_number_and_its_guard
);
async fn upgrading_the_ledger_keeps_every_audit_entry_its_number_and_its_guard(backend: Backend) {
    // A database as migration 0006 left it, with a history written then: a national quota
    // and an imported one, declared as the code of then did (today's writes columns added
    // since), then a reservation committed.
    let t = db::TestDb::create_migrated_to(backend, Some(6))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let f = Fixture {
        ledger: Ledger::new(t.db.clone(), clock.clone()),
        clock,
        t,
    };
    let mut declared = Vec::new();
    for (origin, speciesplus_id) in [("national", None), ("speciesplus", Some(27_017_i64))] {
        let id: i64 = db::with_db!(f.ledger.db(), pool => sqlx::query_scalar(
            "INSERT INTO export_quotas (exporter, taxon_id, period_start, period_end, unit, \
             limit_micro, origin, speciesplus_id, created_at, created_by) VALUES ('NA', $1, \
             $2, $3, 'NAR', 10000000, $4, $5, $6, 'sa') RETURNING id")
            .bind(4521 + i64::from(speciesplus_id.is_some()))
            .bind(chrono::NaiveDate::from_ymd_opt(2026, 1, 1))
            .bind(chrono::NaiveDate::from_ymd_opt(2027, 1, 1))
            .bind(origin).bind(speciesplus_id).bind(t0()).fetch_one(pool).await)
        .unwrap();
        db::with_db!(f.ledger.db(), pool => sqlx::query(
            "INSERT INTO quota_ledger (quota_id, event, delta_held, delta_committed, \
             delta_exported, limit_micro, actor, reason, at) VALUES ($1, 'declare', 0, 0, 0, \
             10000000, 'sa', 'test', $2)")
            .bind(id).bind(t0()).execute(pool).await.map(|_| ()))
        .unwrap();
        declared.push(id);
    }
    let q = f.ledger.quota(declared[0]).await.unwrap();
    let r = f
        .ledger
        .reserve(&key("r"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    // Committed as the code of then did: today's commit reads which reservations are linked
    // (a column added since, migration 0012).
    let reservation_id = r.reservation().unwrap().id;
    db::with_db!(f.ledger.db(), pool => sqlx::query(
        "UPDATE quota_reservations SET state = 'committed', committed_micro = quantity_micro, \
         permit_expires_at = $2 WHERE id = $1")
        .bind(reservation_id).bind(quota::permit_valid_until(t0())).execute(pool).await
        .map(|_| ()))
    .unwrap();
    db::with_db!(f.ledger.db(), pool => sqlx::query(
        "UPDATE export_quotas SET held_micro = held_micro - 3000000, \
         committed_micro = committed_micro + 3000000 WHERE id = $1")
        .bind(q.id).execute(pool).await.map(|_| ()))
    .unwrap();
    db::with_db!(f.ledger.db(), pool => sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, delta_committed, \
         delta_exported, limit_micro, actor, reason, at) VALUES ($1, $2, 'commit', -3000000, \
         3000000, 0, 10000000, 'po', 'test', $3)")
        .bind(q.id).bind(reservation_id).bind(t0()).execute(pool).await.map(|_| ()))
    .unwrap();
    // Read as stored: today's history reads columns added since.
    type Stored = (
        i64,
        String,
        i64,
        i64,
        i64,
        Option<i64>,
        String,
        Option<String>,
    );
    let stored = || async {
        db::with_db!(f.ledger.db(), pool => sqlx::query_as::<_, Stored>(
            "SELECT seq, event, delta_held, delta_committed, delta_exported, limit_micro, actor, \
             reason FROM quota_ledger WHERE quota_id = $1 ORDER BY seq")
            .bind(q.id).fetch_all(pool).await)
        .unwrap()
    };
    let before = stored().await;
    assert_eq!(before.len(), 3);
    // The counter may be past the last entry (numbers taken by entries never kept): it is
    // never set back, so no number is given twice.
    let skip_to = before[2].0 + 100;
    let sql = match backend {
        Backend::Sqlite => "UPDATE sqlite_sequence SET seq = $1 WHERE name = 'quota_ledger'",
        Backend::Postgres => "SELECT setval(pg_get_serial_sequence('quota_ledger', 'seq'), $1)",
    };
    db::with_db!(f.ledger.db(), pool => sqlx::query(sql).bind(skip_to).execute(pool).await
        .map(|_| ()))
    .unwrap();
    f.t.db.migrate().await.unwrap();
    assert_eq!(stored().await, before);
    let history = f.ledger.history(q.id).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|e| (e.event.as_str(), e.held_after, e.committed_after))
            .collect::<Vec<_>>(),
        [
            ("declare", dec("0"), dec("0")),
            ("reserve", dec("3"), dec("0")),
            ("commit", dec("0"), dec("3"))
        ]
    );
    // The imported quota's limit is taken as the value Species+ published (migration 0008).
    let imported = f.ledger.imported_quotas().await.unwrap();
    assert_eq!(
        imported
            .iter()
            .map(|(q, value)| (q.id, *value))
            .collect::<Vec<_>>(),
        [(declared[1], Some(dec("10")))]
    );
    // Numbers go on after the last one, a revision is audited as one, and the ledger is still
    // append-only.
    f.ledger
        .revise(&key("rev"), q.id, Some(&qty("12", "")), &actor("sa"))
        .await
        .unwrap();
    let after = f.ledger.history(q.id).await.unwrap();
    let last = after.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.seq > skip_to, last.limit),
        ("revise", true, Some(dec("12")))
    );
    // A refused transition is audited on the upgraded table (migration 0009), and a refusal
    // that moved a counter is refused by the database.
    let again = f
        .ledger
        .commit(
            &key("c-again"),
            r.reservation().unwrap().id,
            None,
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    assert!(matches!(again, Outcome::Refused { .. }), "{again:?}");
    let last = f.ledger.history(q.id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.event.as_str(), last.requested, last.refusal_message),
        (
            "commit_refused",
            None,
            Some("the reservation is committed, not held".to_owned())
        )
    );
    let moving = db::with_db!(f.ledger.db(), pool => sqlx::query(
        "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, delta_committed, \
         delta_exported, actor, at, refusal) VALUES ($1, $2, 'release_refused', -1, 0, 0, 'x', \
         $3, 'why')")
        .bind(q.id).bind(r.reservation().unwrap().id).bind(t0()).execute(pool).await
        .map(|_| ()));
    assert!(
        moving
            .expect_err("a refusal moves nothing")
            .to_string()
            .contains("quota_ledger_refusal_valid"),
    );
    let refused = db::with_db!(f.ledger.db(), pool => sqlx::query(
        "DELETE FROM quota_ledger WHERE quota_id = $1").bind(q.id).execute(pool).await.map(|_| ()));
    assert!(
        refused
            .expect_err("append-only")
            .to_string()
            .contains("append-only")
    );
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}
