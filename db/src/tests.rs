//! Tests of the storage plumbing on both backends.

use crate::{Backend, Db, TestDb, redact};

async fn round_trip_uses_numbered_placeholders_out_of_order(backend: Backend) {
    let t = TestDb::create(backend).await.expect("test database");
    let mut tx = t.db.begin().await.expect("begin");
    with_tx!(&mut tx, conn => sqlx::query("INSERT INTO sync_state (value, key) VALUES ($2, $1)")
        .bind("k")
        .bind("v")
        .execute(conn)
        .await
        .map(|_| ()))
    .expect("insert");
    tx.commit().await.expect("commit");
    let value: String =
        with_db!(&t.db, pool => sqlx::query_scalar("SELECT value FROM sync_state WHERE key = $1")
        .bind("k")
        .fetch_one(pool)
        .await)
        .expect("select");
    assert_eq!(value, "v");
    t.drop_db().await.expect("drop");
}

#[tokio::test]
async fn sqlite_binds_numbered_placeholders_by_number_not_by_position() {
    round_trip_uses_numbered_placeholders_out_of_order(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_binds_numbered_placeholders_by_number_not_by_position() {
    round_trip_uses_numbered_placeholders_out_of_order(Backend::Postgres).await;
}

#[tokio::test]
async fn postgres_test_database_is_gone_after_drop() {
    let t = TestDb::create(Backend::Postgres)
        .await
        .expect("test database");
    let url = t.url.clone();
    t.drop_db().await.expect("drop");
    assert!(Db::connect_without_migrating(&url).await.is_err());
}

#[test]
fn redact_hides_the_password_of_a_database_url() {
    assert_eq!(
        redact("postgres://app:s3cret@db.example:5432/cites"),
        "postgres://app:***@db.example:5432/cites"
    );
    assert_eq!(redact("sqlite://cites.db"), "sqlite://cites.db");
}

#[test]
fn redact_hides_a_password_holding_at_signs_and_secrets_in_the_query() {
    assert_eq!(
        redact("postgres://app:s3c@r/et@db.example/cites?sslmode=require"),
        "postgres://app:***@db.example/cites?sslmode=require"
    );
    assert_eq!(
        redact("postgres://db.example/cites?user=app&password=s3cret"),
        "postgres://db.example/cites?user=app&password=***"
    );
    assert_eq!(
        redact("https://bucket.example/dump.gz?X-Amz-Signature=abc&X-Amz-Expires=3600"),
        "https://bucket.example/dump.gz?X-Amz-Signature=***&X-Amz-Expires=3600"
    );
    assert_eq!(redact("not a url"), "not a url");
}

#[tokio::test]
async fn unknown_url_scheme_is_refused_with_the_accepted_forms() {
    let err = Db::connect("mysql://x").await.expect_err("must refuse");
    assert!(err.to_string().contains("accepted sqlite://"), "{err}");
}

#[tokio::test]
async fn postgres_keyed_statements_reuse_their_plans_while_the_main_pool_plans_each_execution() {
    let t = TestDb::create(Backend::Postgres)
        .await
        .expect("test database");
    let mode = |db: &Db| {
        let db = db.clone();
        async move {
            with_db!(&db, pool => sqlx::query_scalar::<_, String>("SHOW plan_cache_mode")
                .fetch_one(pool)
                .await)
            .expect("show")
        }
    };
    let keyed =
        t.db.for_keyed_statements(std::time::Duration::from_millis(1_500));
    assert_eq!(mode(&t.db).await, "force_custom_plan");
    assert_eq!(mode(&keyed).await, "force_generic_plan");
    // Its statements wait that long for a lock, the main pool's as long as it takes.
    let lock_timeout = |db: &Db| {
        let db = db.clone();
        async move {
            with_db!(&db, pool => sqlx::query_scalar::<_, String>("SHOW lock_timeout")
                .fetch_one(pool)
                .await)
            .expect("show")
        }
    };
    assert_eq!(lock_timeout(&keyed).await, "1500ms");
    assert_eq!(lock_timeout(&t.db).await, "0");
    // Same database: what one pool writes, the other reads.
    with_db!(&keyed, pool => sqlx::query("INSERT INTO sync_state (key, value) VALUES ('p', 'q')")
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("insert");
    let value: String =
        with_db!(&t.db, pool => sqlx::query_scalar("SELECT value FROM sync_state WHERE key = 'p'")
        .fetch_one(pool)
        .await)
        .expect("select");
    assert_eq!(value, "q");
    keyed.close().await;
    t.drop_db().await.expect("drop");
}

#[tokio::test]
async fn a_read_whose_postgres_connection_is_terminated_is_read_again_on_a_new_one() {
    let t = TestDb::create(Backend::Postgres)
        .await
        .expect("test database");
    let Db::Postgres(pool) = &t.db else {
        unreachable!("a PostgreSQL test database")
    };
    let url = t.url.as_str();
    let mut attempts = 0;
    let pid: i32 = crate::retry_read(|| {
        attempts += 1;
        let first = attempts == 1;
        async move {
            let mut conn = pool.acquire().await?;
            if first {
                // An administrator ends this backend while the read is about to run on it.
                let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                    .fetch_one(&mut *conn)
                    .await?;
                let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
                let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                    .bind(pid)
                    .fetch_one(&mut admin)
                    .await?;
                assert!(ended, "backend {pid} was not terminated");
            }
            sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut *conn)
                .await
        }
    })
    .await
    .expect("read again");
    assert_eq!(attempts, 2);
    assert!(pid > 0);
    t.drop_db().await.expect("drop");
}

#[tokio::test]
async fn a_failed_statement_is_not_read_again_and_a_lost_connection_only_so_often() {
    let mut attempts = 0;
    let failed: Result<i64, sqlx::Error> = crate::retry_read(|| {
        attempts += 1;
        async { Err(sqlx::Error::RowNotFound) }
    })
    .await;
    assert!(matches!(failed, Err(sqlx::Error::RowNotFound)));
    assert_eq!(attempts, 1);
    attempts = 0;
    let lost: Result<i64, sqlx::Error> = crate::retry_read(|| {
        attempts += 1;
        async { Err(sqlx::Error::Io(std::io::ErrorKind::BrokenPipe.into())) }
    })
    .await;
    assert!(matches!(lost, Err(sqlx::Error::Io(_))));
    assert_eq!(attempts, crate::READ_ATTEMPTS_MAX);
}

/// A name of the test-database form, made `age_secs` ago.
fn aged_name(age_secs: u64) -> String {
    let made = crate::testdb::unix_now() - age_secs;
    format!("cites_test_t{made}_{:016x}", rand::random::<u64>())
}

#[tokio::test]
async fn a_postgres_test_database_left_behind_is_dropped_once_stale_and_not_before() {
    let admin_url = std::env::var("CITES_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| crate::testdb::DEFAULT_TEST_POSTGRES_URL.to_owned());
    let admin = Db::connect_without_migrating(&admin_url)
        .await
        .expect("admin");
    let Db::Postgres(pool) = &admin else {
        unreachable!("a PostgreSQL URL")
    };
    let stale = aged_name(crate::testdb::STALE_AFTER.as_secs() + 60);
    let recent = aged_name(60);
    // Made like a test database, with a name of another form: never touched.
    let other = format!("cites_test_tx_{:016x}", rand::random::<u64>());
    for name in [&stale, &recent, &other] {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(pool)
            .await
            .expect("create");
    }
    let t = TestDb::create(Backend::Postgres)
        .await
        .expect("test database");
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY datname",
    )
    .bind(vec![stale.clone(), recent.clone(), other.clone()])
    .fetch_all(pool)
    .await
    .expect("list");
    let mut expected = vec![recent.clone(), other.clone()];
    expected.sort();
    assert_eq!(left, expected);
    for name in [&recent, &other] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(pool)
            .await
            .expect("drop");
    }
    admin.close().await;
    t.drop_db().await.expect("drop");
}

#[tokio::test]
async fn a_sqlite_test_directory_left_behind_is_removed_once_stale_and_not_before() {
    let temp = std::env::temp_dir();
    let stale = temp.join(aged_name(crate::testdb::STALE_AFTER.as_secs() + 60));
    let recent = temp.join(aged_name(60));
    for dir in [&stale, &recent] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("cites.db"), b"left behind").unwrap();
    }
    let t = TestDb::create(Backend::Sqlite)
        .await
        .expect("test database");
    assert!(!stale.exists());
    assert!(recent.exists());
    std::fs::remove_dir_all(&recent).unwrap();
    t.drop_db().await.expect("drop");
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_one_connection_however_long_it_idles() {
    let Db::Sqlite(pool) = Db::connect("sqlite::memory:").await.unwrap() else {
        panic!("sqlite::memory: is SQLite");
    };
    let options = pool.options();
    // The database is gone with its last connection: the pool must never close it.
    assert_eq!(options.get_max_connections(), 1);
    assert_eq!(options.get_min_connections(), 1);
    assert_eq!(options.get_idle_timeout(), None);
    assert_eq!(options.get_max_lifetime(), None);
    // A file keeps the defaults: its connections may come and go.
    let t = TestDb::create(Backend::Sqlite).await.unwrap();
    let Db::Sqlite(file) = &t.db else {
        panic!("a SQLite test database")
    };
    assert!(file.options().get_idle_timeout().is_some());
    t.drop_db().await.unwrap();
}

#[test]
fn a_connection_closed_in_its_handshake_is_lost_and_a_lock_not_granted_is_neither() {
    // What sqlx reports when the peer closes the connection before answering its SSLRequest.
    let handshake = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
    assert!(crate::is_connection_lost(&handshake));
    assert!(!crate::is_locked(&handshake));
    assert!(!crate::is_connection_lost(&sqlx::Error::RowNotFound));
    assert!(!crate::is_locked(&sqlx::Error::RowNotFound));
}
