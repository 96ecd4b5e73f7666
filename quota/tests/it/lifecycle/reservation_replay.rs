//! A reservation retried under its client key gets its first answer; other parameters are a
//! conflict.

use db::Backend;
use quota::{Error, GroupCommit, Outcome, Refusal};

use crate::support::*;

on_both_backends!(
    multi_thread the_same_key_returns_the_first_outcome_and_other_parameters_are_a_conflict
);
async fn the_same_key_returns_the_first_outcome_and_other_parameters_are_a_conflict(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "skins", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("k"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    let again = f
        .ledger
        .reserve(&key("k"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        f.ledger.quota(q.id).await.unwrap().held,
        dec("4"),
        "a replay changes nothing"
    );
    let err = f
        .ledger
        .reserve(&key("k"), q.id, &qty("5", ""), None, &actor("po"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::KeyConflict { .. }), "{err:?}");
    // Other parameters the ledger could not take at all (a mass against this count, half a
    // specimen, another quota that does not exist) are a conflict as well, on every path:
    // the key is what identifies the request.
    let group = GroupCommit::start(f.ledger.clone());
    for (quota_id, quantity) in [
        (q.id, qty("4", "KGM")),
        (q.id, qty("0.5", "")),
        (999, qty("4", "")),
    ] {
        let direct = f
            .ledger
            .reserve(&key("k"), quota_id, &quantity, None, &actor("po"))
            .await;
        let grouped = group
            .reserve(&key("k"), quota_id, &quantity, None, &actor("po"))
            .await;
        for answer in [direct, grouped] {
            assert!(
                matches!(answer, Err(Error::KeyConflict { .. })),
                "{quantity:?} on {quota_id}: {answer:?}"
            );
        }
    }
    group.shutdown().await;
    // A key refused for lack of quota stays refused, even once quota is free again.
    let big = f
        .ledger
        .reserve(&key("big"), q.id, &qty("7", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(
        big,
        Outcome::Refused {
            refusal: Refusal::QuotaExhausted { .. },
            ..
        }
    ));
    let id = first.reservation().unwrap().id;
    f.ledger
        .release(&key("rel"), id, &actor("po"))
        .await
        .unwrap();
    let big_again = f
        .ledger
        .reserve(&key("big"), q.id, &qty("7", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(big, big_again);
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread a_retried_reservation_without_an_expiry_is_the_same_request);
async fn a_retried_reservation_without_an_expiry_is_the_same_request(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "retry", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("no-expiry"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    // Time passes between the request and its retry: the default expiry would differ.
    f.clock.advance(chrono::Duration::seconds(30));
    let again = f
        .ledger
        .reserve(&key("no-expiry"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again);
    let group = quota::GroupCommit::start(f.ledger.clone());
    let through_group = group
        .reserve(&key("no-expiry"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, through_group);
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_retry_after_the_requested_expiry_has_passed_still_gets_the_first_answer
);
async fn a_retry_after_the_requested_expiry_has_passed_still_gets_the_first_answer(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "late-retry", Some("10"), "").await;
    let expiry = t0() + chrono::Duration::hours(1);
    let first = f
        .ledger
        .reserve(
            &key("late"),
            q.id,
            &qty("2", ""),
            Some(expiry),
            &actor("po"),
        )
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Done { .. }));
    // The answer was lost; the client retries after the hold it asked for has ended.
    f.clock.advance(chrono::Duration::hours(2));
    let group = quota::GroupCommit::start(f.ledger.clone());
    for (path, again) in [
        (
            "ledger",
            f.ledger
                .reserve(
                    &key("late"),
                    q.id,
                    &qty("2", ""),
                    Some(expiry),
                    &actor("po"),
                )
                .await,
        ),
        (
            "group commit",
            group
                .reserve(
                    &key("late"),
                    q.id,
                    &qty("2", ""),
                    Some(expiry),
                    &actor("po"),
                )
                .await,
        ),
    ] {
        assert_eq!(again.unwrap(), first, "{path}");
    }
    // Under the same key another request is still a conflict, and a new request with that
    // expiry is still refused, naming the field.
    let other = f
        .ledger
        .reserve(
            &key("late"),
            q.id,
            &qty("3", ""),
            Some(expiry),
            &actor("po"),
        )
        .await;
    assert!(matches!(other, Err(Error::KeyConflict { .. })), "{other:?}");
    let new = group
        .reserve(
            &key("late-new"),
            q.id,
            &qty("2", ""),
            Some(expiry),
            &actor("po"),
        )
        .await;
    assert!(
        matches!(
            new,
            Err(Error::Invalid {
                field: "expires_at",
                ..
            })
        ),
        "{new:?}"
    );
    assert_eq!(f.ledger.quota(q.id).await.unwrap().held, dec("2"));
    group.shutdown().await;
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_reservation_taken_in_one_statement_replays_identically_through_every_path
);
async fn a_reservation_taken_in_one_statement_replays_identically_through_every_path(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let q = declare(&f, "scales", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("fast"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(matches!(first, Outcome::Done { .. }), "{first:?}");
    // Both store a reference to the reservation with the counters after it, not the answer.
    let stored: String = db::with_db!(f.ledger.db(), pool => sqlx::query_scalar(
        "SELECT outcome FROM quota_requests WHERE client_key = 'fast'")
        .fetch_one(pool).await)
    .unwrap();
    assert!(stored.starts_with("{\"ref\":{\"reservation\":"), "{stored}");
    assert!(
        stored.ends_with("\"held\":3000000,\"committed\":0,\"exported\":0,\"limit\":10000000}}"),
        "{stored}"
    );
    let again = f
        .ledger
        .reserve(&key("fast"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again, "replay through the ledger");
    let group = quota::GroupCommit::start(f.ledger.clone());
    let batched = group
        .reserve(&key("fast"), q.id, &qty("3", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, batched, "replay through group commit");
    group.shutdown().await;
    // A quantity in another unit takes the general path and converts.
    let mass = declare(&f, "meat", Some("2"), "KIL").await;
    let grams = f
        .ledger
        .reserve(&key("g"), mass.id, &qty("1500", "GRM"), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(grams.quota().held, dec("1.5"));
    assert_eq!(f.ledger.quota(q.id).await.unwrap().held, dec("3"));
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    assert!(f.ledger.verify(mass.id).await.unwrap().is_empty());
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread a_replay_after_the_reservation_moved_on_still_answers_as_the_first_time
);
async fn a_replay_after_the_reservation_moved_on_still_answers_as_the_first_time(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "hides", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("first"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Done { reservation, .. } = &first else {
        panic!("refused: {first:?}")
    };
    // Afterwards: another hold, then the first one committed for less and partly exported.
    f.ledger
        .reserve(&key("second"), q.id, &qty("5", ""), None, &actor("po"))
        .await
        .unwrap();
    f.ledger
        .commit(
            &key("c"),
            reservation.id,
            Some(&qty("3", "")),
            None,
            &actor("po"),
        )
        .await
        .unwrap();
    f.ledger
        .record_export(&key("x"), reservation.id, &qty("1", ""), &actor("po"))
        .await
        .unwrap();
    let now = f.ledger.quota(q.id).await.unwrap();
    assert_eq!(
        (now.held, now.committed, now.exported),
        (dec("5"), dec("2"), dec("1"))
    );
    // The replay answers with the hold as it was written and the counters of that moment.
    let again = f
        .ledger
        .reserve(&key("first"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(first.quota().held, dec("4"));
    let group = quota::GroupCommit::start(f.ledger.clone());
    let batched = group
        .reserve(&key("first"), q.id, &qty("4", ""), None, &actor("po"))
        .await
        .unwrap();
    group.shutdown().await;
    assert_eq!(first, batched);
    assert_eq!(
        f.ledger.reserved_under(&key("first")).await.unwrap(),
        Some(first.clone())
    );
    // Nothing moved.
    assert_eq!(f.ledger.quota(q.id).await.unwrap(), now);
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread outcomes_stored_by_earlier_versions_still_replay);
async fn outcomes_stored_by_earlier_versions_still_replay(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "shells", Some("10"), "").await;
    let first = f
        .ledger
        .reserve(&key("old"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    let Outcome::Done { reservation, quota } = &first else {
        panic!("refused: {first:?}")
    };
    // The whole answer, serialised (the first form, whose quota had no period_last_day
    // then), then the rows (the second form).
    let mut whole = serde_json::to_value(&first).unwrap();
    assert_eq!(whole["quota"]["period_last_day"], "2026-12-31");
    whole["quota"]
        .as_object_mut()
        .unwrap()
        .remove("period_last_day");
    let whole = whole.to_string();
    let rows = serde_json::json!({"rows": {
        "quota": {
            "id": quota.id, "exporter": quota.exporter, "taxon_id": quota.taxon_id,
            "period_start": quota.period_start, "period_end": quota.period_end,
            "unit": quota.unit, "limit_micro": 10_000_000, "held_micro": 2_000_000,
            "committed_micro": 0, "exported_micro": 0, "term": null, "source": null,
            "purpose": null, "origin": quota.origin, "speciesplus_id": null, "notes": quota.notes,
        },
        "reservation": {
            "id": reservation.id, "quota_id": q.id, "state": "held",
            "quantity_micro": 2_000_000, "committed_micro": 0, "exported_micro": 0,
            "expires_at": reservation.expires_at, "permit_expires_at": null,
            "reject_reason": null,
        },
    }})
    .to_string();
    for stored in [whole, rows] {
        db::with_db!(f.ledger.db(), pool => sqlx::query(
            "UPDATE quota_requests SET outcome = $1 WHERE client_key = 'old'")
            .bind(&stored).execute(pool).await.map(|r| r.rows_affected()))
        .unwrap();
        let again = f
            .ledger
            .reserve(&key("old"), q.id, &qty("2", ""), None, &actor("po"))
            .await
            .unwrap();
        assert_eq!(first, again, "{stored}");
    }
    f.t.drop_db().await.unwrap();
}
