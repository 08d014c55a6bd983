//! Upgrading a SQLite database created before the dashboard rollups (migration 0001 only):
//! migration 0002 fills the rollups from the samples already stored, so dashboards of old
//! data are as exact as those of new data.

use echo_core::model::AccountId;
use echo_core::store::{DashboardStore, SqliteConfig, SqliteStore, Store};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

const T0: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z
const DAY: i64 = 86_400_000;

#[tokio::test]
async fn migration_0002_backfills_the_rollups_from_existing_samples() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .expect("open");
    let mut first_only = sqlx::migrate!("./migrations/sqlite");
    first_only.migrations = first_only
        .migrations
        .iter()
        .filter(|m| m.version == 1)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    first_only.run(&pool).await.expect("migration 0001");

    let account = uuid::Uuid::now_v7();
    let experiment = uuid::Uuid::now_v7();
    let run = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO accounts (id, name, tier, created_at) VALUES (?1, 'old', 'free', ?2)")
        .bind(account)
        .bind(T0)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO experiments (id, account_id, name, spec, created_at, updated_at) VALUES (?1, ?2, 'e', '{}', ?3, ?3)")
        .bind(experiment)
        .bind(account)
        .bind(T0)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO runs (id, account_id, experiment_id, spec, status, planned_samples, seed, created_at) \
         VALUES (?1, ?2, ?3, '{}', 'partial', 6, 1, ?4)",
    )
    .bind(run)
    .bind(account)
    .bind(experiment)
    .bind(T0)
    .execute(&pool)
    .await
    .unwrap();
    // (model, prompt, status, cost, completed_at, brands)
    type OldSample<'a> = (&'a str, i64, &'a str, Option<i64>, Option<i64>, &'a [&'a str]);
    let samples: [OldSample; 6] = [
        ("a", 0, "succeeded", Some(500), Some(T0 + 10), &["Acme", "Globex"]),
        ("a", 1, "succeeded", None, Some(T0 + DAY + 10), &["Acme"]),
        ("b", 0, "succeeded", Some(700), Some(T0 + 20), &[]),
        ("b", 1, "failed", None, Some(T0 + 30), &[]),
        ("b", 2, "cancelled", None, Some(T0 + 40), &[]),
        ("b", 3, "pending", None, None, &[]),
    ];
    for (model, prompt, status, cost, completed_at, brands) in samples {
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO samples (id, run_id, account_id, provider, model, prompt_index, repeat_index, status, \
                                  cost_nano_usd, created_at, completed_at) \
             VALUES (?1, ?2, ?3, 'p', ?4, ?5, 0, ?6, ?7, ?8, ?9)",
        )
        .bind(id)
        .bind(run)
        .bind(account)
        .bind(model)
        .bind(prompt)
        .bind(status)
        .bind(cost)
        .bind(T0)
        .bind(completed_at)
        .execute(&pool)
        .await
        .unwrap();
        for (rank, brand) in brands.iter().enumerate() {
            sqlx::query(
                "INSERT INTO mentions (sample_id, brand, byte_offset, byte_len, count, rank) VALUES (?1, ?2, 0, 4, 1, ?3)",
            )
            .bind(id)
            .bind(brand)
            .bind(rank as i64 + 1)
            .execute(&pool)
            .await
            .unwrap();
        }
    }
    pool.close().await;

    // Opening the store applies 0002, which backfills.
    let store = SqliteStore::open(SqliteConfig::file(&path)).await.expect("upgrade");
    let account = AccountId::from(account);
    let summary = store.account_summary(account).await.expect("summary");
    assert_eq!(
        (
            summary.samples.succeeded,
            summary.samples.failed,
            summary.samples.cancelled,
            summary.samples.pending
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(summary.runs.partial, 1);
    assert!((summary.cost_usd - 1_200e-9).abs() < 1e-15, "{}", summary.cost_usd);
    assert_eq!(summary.unpriced_answers, 1);

    let visibility = store.visibility_by_target(account, None).await.expect("visibility");
    let brief: Vec<_> = visibility
        .iter()
        .map(|t| {
            (
                t.target.model.as_str(),
                t.answered,
                t.mentioned.clone().into_iter().collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            ("a", 2, vec![("Acme".to_string(), 2), ("Globex".to_string(), 1)]),
            ("b", 1, vec![]),
        ]
    );
    let second_day = chrono::NaiveDate::from_ymd_opt(2025, 1, 2);
    let later = store.visibility_by_target(account, second_day).await.expect("since");
    assert_eq!(later.len(), 1);
    assert_eq!((later[0].answered, later[0].mentioned.get("Acme")), (1, Some(&1)));
    store.close().await;
}
