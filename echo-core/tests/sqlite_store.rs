//! SQLite-specific behaviour: connection settings, schema, persistence across reopen,
//! multi-row statements and transaction boundaries. Query plans are checked in
//! `sqlite_query_plans.rs`; timings are printed by `sqlite_throughput.rs`.

mod sqlite_support;

use std::time::Duration;

use echo_core::ErrorKind;
use echo_core::store::{AccountStore, ClaimRequest, ExperimentStore, RunStore, SqliteConfig, SqliteStore, Store};
use sqlite_support::{account, claim, experiment, mention, new_run, new_samples, success, t0};
use sqlx::Row;

async fn pragma(store: &SqliteStore, name: &str) -> String {
    let row = sqlx::query(&format!("PRAGMA {name}"))
        .fetch_one(store.pool())
        .await
        .unwrap();
    match row.try_get::<String, _>(0) {
        Ok(s) => s,
        Err(_) => row.get::<i64, _>(0).to_string(),
    }
}

#[tokio::test]
async fn file_store_uses_wal_normal_sync_foreign_keys_and_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = SqliteConfig::file(dir.path().join("e.db")).busy_timeout(Duration::from_millis(1234));
    let store = SqliteStore::open(config).await.unwrap();
    assert_eq!(pragma(&store, "journal_mode").await, "wal");
    assert_eq!(pragma(&store, "synchronous").await, "1", "NORMAL");
    assert_eq!(pragma(&store, "foreign_keys").await, "1");
    assert_eq!(pragma(&store, "busy_timeout").await, "1234");
    assert_eq!(store.backend(), "sqlite");
    store.close().await;
}

#[tokio::test]
async fn every_table_of_the_design_exists_and_is_strict() {
    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    let rows = sqlx::query("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut tables: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    tables.sort();
    let names: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "account_privacy",
            "accounts",
            "api_keys",
            "audit_chain_head",
            "audit_checkpoints",
            "audit_events",
            "citations",
            "consents",
            "deletion_requests",
            "erasure_progress",
            "experiments",
            "leader_leases",
            "mention_rollups",
            "mentions",
            "quota_periods",
            "rate_limits",
            "reservations",
            "runs",
            "sample_rollups",
            "samples",
        ]
    );
    for (name, strict) in &tables {
        assert_eq!(*strict, 1, "table {name} is STRICT");
    }
    // STRICT really rejects a wrongly typed value.
    let err = sqlx::query("INSERT INTO leader_leases (name, owner, expires_at) VALUES ('s', 'o', 'soon')")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot store TEXT value in INTEGER column"),
        "{err}"
    );
}

#[tokio::test]
async fn append_only_tables_refuse_updates() {
    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    sqlx::query(
        "INSERT INTO consents (id, account_id, subject, purpose, granted, at) VALUES (?1, ?2, 'u', 'analytics', 1, 0)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(uuid::Uuid::now_v7())
    .execute(store.pool())
    .await
    .unwrap();
    let err = sqlx::query("UPDATE consents SET granted = 0")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[tokio::test]
async fn in_memory_clones_share_one_database() {
    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    let clone = store.clone();
    let a = account(&clone).await;
    assert_eq!(store.get_account(a.id).await.unwrap(), a);
    // Many concurrent users of the single connection all see it.
    let gets = (0..16).map(|_| store.get_account(a.id));
    for got in futures::future::join_all(gets).await {
        assert_eq!(got.unwrap(), a);
    }
}

#[tokio::test]
async fn opening_in_a_missing_directory_is_a_config_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("echo.db");
    let err = SqliteStore::open(SqliteConfig::file(&path)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

#[tokio::test]
async fn bad_pool_settings_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config = SqliteConfig::file(dir.path().join("e.db")).max_connections(0);
    let err = SqliteStore::open(config).await.unwrap_err();
    assert_eq!(err.field(), Some("sqlite.max_connections"));
}

#[tokio::test]
async fn bad_claim_requests_are_rejected() {
    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    let base = ClaimRequest {
        run_id: None,
        owner: "w",
        limit: 1,
        now: t0(),
        lease: Duration::from_secs(1),
        max_attempts: 1,
    };
    let err = store
        .claim_samples(&ClaimRequest {
            owner: " ",
            ..base.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("claim.owner"));
    let err = store
        .claim_samples(&ClaimRequest {
            max_attempts: 0,
            ..base.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("claim.max_attempts"));
    assert!(
        store
            .claim_samples(&ClaimRequest { limit: 0, ..base })
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_file_database_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("persist.db");
    let store = SqliteStore::open(SqliteConfig::file(&path)).await.unwrap();
    let a = account(&store).await;
    let e = experiment(&store, a.id, 0).await;
    let run = new_run(&e, 10);
    store.enqueue_run(&run, &new_samples(10)).await.unwrap();
    let tasks = claim(&store, Some(run.id), 4).await;
    let outcomes: Vec<_> = tasks
        .iter()
        .map(|t| success(t, vec![mention("Acme", 0, 1)], vec![]))
        .collect();
    store.complete_samples(&outcomes).await.unwrap();
    let before = store.load_samples(a.id, run.id).await.unwrap();
    store.close().await;
    drop(store);

    let reopened = SqliteStore::open(SqliteConfig::file(&path)).await.unwrap();
    assert_eq!(reopened.get_account(a.id).await.unwrap(), a);
    assert_eq!(reopened.get_experiment(a.id, e.id).await.unwrap(), e);
    assert_eq!(reopened.get_run(a.id, run.id).await.unwrap(), run);
    let after = reopened.load_samples(a.id, run.id).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after.iter().filter(|r| r.mentions.len() == 1).count(), 4);
    let counts = reopened.sample_counts(a.id, run.id).await.unwrap();
    assert_eq!((counts.succeeded, counts.leased, counts.pending), (4, 0, 6));
    reopened.close().await;
}

#[tokio::test]
async fn enqueue_spans_several_multi_row_statements() {
    // 5,003 = 2048 + 2048 + 512 + 256 + 128 + 8 + 2 + 1: full chunks and every remainder path.
    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    let a = account(&store).await;
    let e = experiment(&store, a.id, 0).await;
    let run = new_run(&e, 5_003);
    let samples = new_samples(5_003);
    store.enqueue_run(&run, &samples).await.unwrap();
    assert_eq!(store.sample_counts(a.id, run.id).await.unwrap().pending, 5_003);
    let loaded = store.load_samples(a.id, run.id).await.unwrap();
    let mut expected: Vec<_> = samples
        .iter()
        .map(|s| (s.target.clone(), s.prompt_index, s.repeat_index, s.id))
        .collect();
    expected.sort();
    let got: Vec<_> = loaded
        .iter()
        .map(|r| {
            (
                r.sample.target.clone(),
                r.sample.prompt_index,
                r.sample.repeat_index,
                r.sample.id,
            )
        })
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn an_accepted_answer_replaces_any_stray_facts_of_its_sample() {
    // Facts can only be written with an accepted answer, but if a sample ever carried some
    // (a crash between backends, a manual repair), completing it must not add to them.
    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    let a = account(&store).await;
    let e = experiment(&store, a.id, 0).await;
    let run = new_run(&e, 1);
    store.enqueue_run(&run, &new_samples(1)).await.unwrap();
    let task = claim(&store, Some(run.id), 1).await.remove(0);
    for (brand, rank) in [("Acme", 9), ("Stray", 1)] {
        sqlx::query(
            "INSERT INTO mentions (sample_id, brand, byte_offset, byte_len, count, rank) VALUES (?1, ?2, 0, 1, 1, ?3)",
        )
        .bind(task.id.0)
        .bind(brand)
        .bind(rank)
        .execute(store.pool())
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO citations (sample_id, position, url, domain) VALUES (?1, 5, 'https://x.example', 'x.example')",
    )
    .bind(task.id.0)
    .execute(store.pool())
    .await
    .unwrap();
    let answer = success(&task, vec![mention("Acme", 0, 1)], vec![]);
    assert_eq!(store.complete_samples(&[answer]).await.unwrap(), vec![true]);
    let record = store.load_samples(a.id, run.id).await.unwrap().remove(0);
    assert_eq!(
        record.mentions,
        vec![mention("Acme", 0, 1)],
        "only the accepted answer's facts"
    );
    assert!(record.citations.is_empty());
}

#[tokio::test]
async fn duplicate_brands_in_one_answer_roll_the_batch_back() {
    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    let a = account(&store).await;
    let e = experiment(&store, a.id, 0).await;
    let run = new_run(&e, 2);
    store.enqueue_run(&run, &new_samples(2)).await.unwrap();
    let tasks = claim(&store, Some(run.id), 2).await;
    let acme = || mention("Acme", 0, 1);
    let batch = [
        success(&tasks[0], vec![acme()], vec![]),
        success(&tasks[1], vec![acme(), acme()], vec![]),
    ];
    let err = store.complete_samples(&batch).await.unwrap_err();
    assert_eq!(err.field(), Some("mentions"), "{err}");
    // Nothing of the batch was applied: both samples are still leased and can complete.
    assert_eq!(store.sample_counts(a.id, run.id).await.unwrap().leased, 2);
    let ok = [
        success(&tasks[0], vec![acme()], vec![]),
        success(&tasks[1], vec![acme()], vec![]),
    ];
    assert_eq!(store.complete_samples(&ok).await.unwrap(), vec![true, true]);
}
