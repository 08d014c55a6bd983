//! PostgreSQL-specific behaviour beyond the conformance suite: the engine on PostgreSQL
//! through `EchoBuilder::database_url`, pool configuration and statistics, migrations run
//! by several processes at once, and the schema's append-only guards.

mod pg_support;

use echo_core::ErrorKind;
use echo_core::auth::Principal;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{BrandSpec, ExperimentSpec, NewAccount, RunStatus, Target};
use echo_core::provider::{Simulated, SimulatedConfig};
use echo_core::store::{AccountStore, PgConfig, PgStore, Store};
use pg_support::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_completes_on_postgres_opened_by_url() {
    let Some(db) = TestDb::create("a_run_completes_on_postgres_opened_by_url").await else {
        return;
    };
    let echo = Echo::builder()
        .database_url(&db.url)
        .provider(Simulated::new(SimulatedConfig::crm_demo(7)).expect("simulated"))
        .build()
        .await
        .expect("build on postgres");
    assert_eq!(echo.store().backend(), "postgres");
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "pg".into(),
                ..Default::default()
            },
        )
        .await
        .expect("account");
    let me = Principal::host(account.id);
    let spec = ExperimentSpec {
        name: "CRM on postgres".into(),
        prompts: vec!["Best CRM?".into(), "Best CRM for a startup?".into()],
        brands: vec![BrandSpec::target("HubSpot"), BrandSpec::new("Salesforce")],
        targets: vec![Target::new("simulated", "a"), Target::new("simulated", "b")],
        repeats: 25,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    };
    let exp = echo.create_experiment(&me, spec).await.expect("experiment");
    let report = echo
        .start_run(
            &me,
            exp.id,
            RunOptions {
                seed: Some(3),
                ..Default::default()
            },
        )
        .await
        .expect("start")
        .wait()
        .await
        .expect("report");
    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(report.counts.succeeded, 100);

    // The dashboard sees the same answers the report counted.
    let visibility = echo
        .store()
        .visibility_by_target(account.id, None)
        .await
        .expect("visibility");
    assert_eq!(visibility.iter().map(|t| t.answered).sum::<u64>(), 100);
    let hubspot: u64 = visibility
        .iter()
        .map(|t| t.mentioned.get("HubSpot").copied().unwrap_or(0))
        .sum();
    assert_eq!(
        hubspot,
        report.overall.brand("HubSpot").expect("brand").visibility.successes
    );

    let stats = echo.store().pool_stats();
    assert_eq!(stats.max_connections, 10, "the URL opens the default pool");
    assert!(stats.size >= 1 && stats.idle + stats.in_use == stats.size, "{stats:?}");
    echo.store().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_settings_are_applied_and_waits_counted() {
    let Some(db) = TestDb::create("pool_settings_are_applied_and_waits_counted").await else {
        return;
    };
    let config = PgConfig {
        max_connections: 2,
        min_connections: 1,
        statement_timeout: Some(std::time::Duration::from_millis(1_500)),
        ..db.config()
    };
    let store = PgStore::open(config).await.expect("open");
    let stats = store.pool_stats();
    assert_eq!(stats.max_connections, 2);

    // statement_timeout reaches the server session.
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(store.pool())
        .await
        .expect("show");
    assert_eq!(timeout, "1500ms");
    let err = sqlx::query("SELECT pg_sleep(3)")
        .execute(store.pool())
        .await
        .expect_err("cancelled");
    assert!(err.to_string().contains("statement timeout"), "{err}");

    // Eight concurrent store calls on two connections: some must queue.
    let calls = (0..8).map(|_| store.get_account(echo_core::model::AccountId::new()));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.expect_err("no such account").kind(), ErrorKind::NotFound);
    }
    let stats = store.pool_stats();
    assert!(stats.waits >= 1, "8 callers on 2 connections: {stats:?}");
    assert!(stats.size <= 2, "{stats:?}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_migrate_once_and_bad_urls_name_the_field() {
    let Some(db) = TestDb::create("concurrent_opens_migrate_once").await else {
        return;
    };
    // Four processes starting together: sqlx's advisory lock serializes the migration.
    let opens = (0..4).map(|_| PgStore::open(db.config()));
    let stores: Vec<PgStore> = futures::future::join_all(opens)
        .await
        .into_iter()
        .map(|r| r.expect("open"))
        .collect();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(stores[0].pool())
        .await
        .expect("migrations");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .expect("migrations dir")
        .count() as i64;
    assert_eq!(applied, files, "each migration applied once");
    for s in &stores {
        s.close().await;
    }

    let err = PgStore::open(PgConfig::new("mysql://localhost/echo"))
        .await
        .expect_err("bad scheme");
    assert_eq!(err.field(), Some("postgres.url"));
    let err = PgStore::open(PgConfig::new(db.url.clone()).max_connections(0))
        .await
        .expect_err("no connections");
    assert_eq!(err.field(), Some("postgres.max_connections"));
    // An unreachable server is a configuration error that says where we tried.
    let unreachable =
        PgConfig::new("postgres://postgres@127.0.0.1:1/echo").acquire_timeout(std::time::Duration::from_secs(2));
    let err = PgStore::open(unreachable).await.expect_err("nothing listens on port 1");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_events_and_consents_are_append_only() {
    let Some(db) = TestDb::create("audit_events_and_consents_are_append_only").await else {
        return;
    };
    let store = db.store().await;
    let pool = store.pool();
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor, action, prev_hash, hash) \
         VALUES (1, 1, 'host', 'test', '\\x00'::bytea, '\\x01'::bytea)",
    )
    .execute(pool)
    .await
    .expect("insert audit event");
    let err = sqlx::query("UPDATE audit_events SET action = 'forged'")
        .execute(pool)
        .await
        .expect_err("audit update");
    assert!(err.to_string().contains("audit_events is append-only"), "{err}");

    sqlx::query(
        "INSERT INTO consents (id, account_id, subject, purpose, granted, at) \
         VALUES (gen_random_uuid(), gen_random_uuid(), 's', 'p', true, 1)",
    )
    .execute(pool)
    .await
    .expect("insert consent");
    let err = sqlx::query("UPDATE consents SET granted = false")
        .execute(pool)
        .await
        .expect_err("consent update");
    assert!(err.to_string().contains("record a new consent instead"), "{err}");
    // Retention may still delete old events.
    sqlx::query("DELETE FROM audit_events WHERE at < 2")
        .execute(pool)
        .await
        .expect("delete");
    store.close().await;
}
