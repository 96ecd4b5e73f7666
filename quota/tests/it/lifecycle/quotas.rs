//! Quotas themselves: listed by exporter, checked for every broken invariant, revised by an
//! import only while their limit is Species+'s value.

use chrono::{TimeZone, Utc};
use db::Backend;
use quota::Error;

use crate::support::*;

on_both_backends!(multi_thread quotas_are_listed_by_exporter_whatever_the_case_of_its_code);
async fn quotas_are_listed_by_exporter_whatever_the_case_of_its_code(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "listed", Some("5"), "").await;
    for exporter in ["NA", "na", " Na "] {
        let found = f
            .ledger
            .quotas(Some(exporter), None, Some(2026))
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|v| v.id).collect::<Vec<_>>(),
            vec![q.id],
            "{exporter:?}"
        );
    }
    assert!(
        f.ledger
            .quotas(Some("BW"), None, None)
            .await
            .unwrap()
            .is_empty()
    );
    f.t.drop_db().await.unwrap();
}

on_both_backends!(multi_thread verify_names_every_broken_invariant_of_a_quota);
async fn verify_names_every_broken_invariant_of_a_quota(backend: Backend) {
    let f = fixture(backend).await;
    let q = declare(&f, "tampered", Some("10"), "").await;
    f.ledger
        .reserve(&key("r"), q.id, &qty("2", ""), None, &actor("po"))
        .await
        .unwrap();
    assert!(f.ledger.verify(q.id).await.unwrap().is_empty());
    // What no path of the engine writes: a counter moved without an entry or a reservation, a
    // hold outliving the 2026 period, and a reservation entry dated in 2027.
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap();
    for (sql, when) in [
        (
            "UPDATE export_quotas SET held_micro = held_micro + 1000000 WHERE id = $1 AND $2 IS NOT NULL",
            at(2026, 3, 1),
        ),
        (
            "UPDATE quota_reservations SET expires_at = $2 WHERE quota_id = $1",
            at(2027, 2, 1),
        ),
        (
            "INSERT INTO quota_ledger (quota_id, reservation_id, event, delta_held, \
             delta_committed, delta_exported, limit_micro, actor, reason, at) \
             VALUES ($1, NULL, 'reserve', 0, 0, 0, 10000000, 'po', NULL, $2)",
            at(2027, 1, 5),
        ),
    ] {
        db::with_db!(f.ledger.db(), pool => sqlx::query(sql).bind(q.id).bind(when)
            .execute(pool).await.map(|_| ()))
        .unwrap();
    }
    let broken = f.ledger.verify(q.id).await.unwrap();
    for says in [
        "ledger replay gives",
        "reservations sum to",
        "outlive the period",
        "(reserve) is dated 2027-01-05",
    ] {
        assert!(
            broken.iter().filter(|v| v.contains(says)).count() == 1,
            "{says}: {broken:?}"
        );
    }
    assert_eq!(broken.len(), 4, "{broken:?}");
    f.t.drop_db().await.unwrap();
}

on_both_backends!(
    multi_thread an_import_revises_a_quota_only_while_its_limit_is_the_value_species_plus_published
);
async fn an_import_revises_a_quota_only_while_its_limit_is_the_value_species_plus_published(
    backend: Backend,
) {
    let f = fixture(backend).await;
    let mut spec = spec_of("imported", Some("100"), "KGM");
    spec.speciesplus_id = Some(27_017);
    let q = f
        .ledger
        .declare(&key("speciesplus-27017"), &spec, &actor("import"))
        .await
        .unwrap();
    let imported = || async { f.ledger.imported_quotas().await.unwrap() };
    assert_eq!(imported().await, vec![(q.clone(), Some(dec("100")))]);
    // Followed while the limit is the value imported: the new value is recorded with it.
    let followed = f
        .ledger
        .revise_to_speciesplus(
            &key("sp-1"),
            q.id,
            Some(&qty("120", "KGM")),
            &actor("import"),
        )
        .await
        .unwrap();
    assert_eq!(followed.limit, Some(dec("120")));
    assert_eq!(imported().await[0].1, Some(dec("120")));
    // A national revision: the next value from Species+ is refused, with nothing written.
    f.ledger
        .revise(
            &key("national"),
            q.id,
            Some(&qty("60", "KGM")),
            &actor("sa"),
        )
        .await
        .unwrap();
    let refused = f
        .ledger
        .revise_to_speciesplus(
            &key("sp-2"),
            q.id,
            Some(&qty("150", "KGM")),
            &actor("import"),
        )
        .await;
    match refused {
        Err(Error::Invalid { field, message }) => {
            assert_eq!(field, "limit");
            assert!(
                message.contains("revised nationally (limit 60)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let (now, value) = imported().await.remove(0);
    assert_eq!((now.limit, value), (Some(dec("60")), Some(dec("120"))));
    assert!(!f.ledger.key_used(&key("sp-2")).await.unwrap());
    // Noted without changing the limit, and not audited; only while the quota stands as the
    // import read it.
    for (seen, noted) in [(dec("70"), false), (dec("60"), true)] {
        let answer = f
            .ledger
            .note_speciesplus_value(q.id, Some(seen), Some(dec("120")), Some(dec("150")))
            .await
            .unwrap();
        assert_eq!(answer, noted, "limit seen {seen}");
    }
    let (now, value) = imported().await.remove(0);
    assert_eq!((now.limit, value), (Some(dec("60")), Some(dec("150"))));
    assert_eq!(
        f.ledger.quota_with_speciesplus_value(q.id).await.unwrap().1,
        Some(Some(dec("150")))
    );
    let events = events(&f, q.id).await;
    assert_eq!(events, ["declare", "revise", "revise"]);
    // A national quota has no Species+ value.
    let national = declare(&f, "national", Some("5"), "KGM").await;
    assert_eq!(imported().await.len(), 1);
    assert_eq!(
        f.ledger
            .quota_with_speciesplus_value(national.id)
            .await
            .unwrap()
            .1,
        None
    );
    f.t.drop_db().await.unwrap();
}
