//! Store query benchmarks on SQLite (a file) and PostgreSQL (over loopback): listing a page
//! of experiments for accounts holding 10,000 and 100,000 experiments, and the dashboard
//! aggregations (account totals, visibility by target) over an account of 1,000,000 samples.
//! Data is bulk-loaded with SQL (recursive CTE / `generate_series`); every measurement goes
//! through the store's public methods, i.e. the statements the store really runs.
//!
//! ```text
//! cargo bench -p echo-benches --bench store_queries
//! ```
//!
//! A plain timing harness (p50 / p95 over many iterations after a warm-up): the figures are
//! per call, and criterion's per-iteration statistics add nothing to a percentile table.
//! PostgreSQL is read from `ECHO_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); a scratch database `echo_bench_<uuid>` is
//! created and dropped. Without a server the PostgreSQL half is skipped.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use echo_core::model::{AccountId, BrandSpec, ExperimentSpec, PageRequest, Target};
use echo_core::store::{KeysetCursor, PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use sqlx::{Connection, Executor};

/// 2025-01-01T00:00:00Z in ms.
const T0: i64 = 1_735_689_600_000;
/// The dashboard account: 200 runs of 5,000 samples (1,000,000), over 30 days.
const RUNS: i64 = 200;
const SAMPLES_PER_RUN: i64 = 5_000;
/// The eight brands of the dashboard account, with how often answers name them.
const BRANDS: [(&str, f64); 8] = [
    ("HubSpot", 0.78),
    ("Salesforce", 0.62),
    ("Pipedrive", 0.55),
    ("Zoho CRM", 0.45),
    ("monday.com", 0.30),
    ("Freshsales", 0.25),
    ("Close", 0.22),
    ("Copper", 0.15),
];

fn spec_json() -> String {
    let spec = ExperimentSpec {
        name: "CRM visibility".into(),
        prompts: vec!["Which CRM is best for a 10-person startup?".into()],
        brands: vec![BrandSpec::target("HubSpot"), BrandSpec::new("Salesforce")],
        targets: vec![Target::new("openai", "gpt-4o-mini")],
        repeats: 10,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    };
    serde_json::to_string(&spec).expect("spec json")
}

/// The brands as an SQL VALUES list: ('HubSpot', 0.78), ...
fn brand_values() -> String {
    BRANDS
        .iter()
        .map(|(b, p)| format!("('{b}', {p})"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Accounts {
    small: AccountId,
    big: AccountId,
    dashboard: AccountId,
}

impl Accounts {
    fn new() -> Self {
        Self {
            small: AccountId::new(),
            big: AccountId::new(),
            dashboard: AccountId::new(),
        }
    }
}

/// p50 and p95 of `iterations` calls of `f`, after `warmup` unmeasured calls.
async fn percentiles<F, Fut>(warmup: usize, iterations: usize, mut f: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..warmup {
        f().await;
    }
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed());
    }
    times.sort();
    (times[iterations / 2], times[iterations * 95 / 100])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(backend: &str, what: &str, (p50, p95): (Duration, Duration), goal_ms: f64) {
    let verdict = if ms(p50) < goal_ms { "ok" } else { "MISSED" };
    println!(
        "{backend:<9} {what:<58} p50 {:>8.3} ms   p95 {:>8.3} ms   (goal p50 < {goal_ms} ms: {verdict})",
        ms(p50),
        ms(p95)
    );
}

/// Lists the first page and a page from the middle of an account's experiments.
async fn bench_listing(backend: &str, store: &dyn Store, account: AccountId, count: i64, middle: KeysetCursor) {
    let first = PageRequest::default();
    let r = percentiles(50, 1_000, || async {
        let page = store.list_experiments(account, &first).await.expect("list");
        assert_eq!(page.items.len(), 50);
    })
    .await;
    report(
        backend,
        &format!("list_experiments page 1 of {count} experiments"),
        r,
        2.0,
    );
    let deep = PageRequest {
        limit: None,
        after: Some(middle.encode()),
    };
    let r = percentiles(50, 1_000, || async {
        let page = store.list_experiments(account, &deep).await.expect("list");
        assert_eq!(page.items.len(), 50);
    })
    .await;
    report(
        backend,
        &format!("list_experiments page at 50% of {count} experiments"),
        r,
        2.0,
    );
}

async fn bench_dashboard(backend: &str, store: &dyn Store, account: AccountId) {
    let summary = store.account_summary(account).await.expect("summary");
    assert_eq!(summary.samples.total(), (RUNS * SAMPLES_PER_RUN) as u64, "{summary:?}");
    let r = percentiles(20, 300, || async {
        store.account_summary(account).await.expect("summary");
    })
    .await;
    report(backend, "account_summary over 1,000,000 samples", r, 50.0);
    let r = percentiles(20, 300, || async {
        let v = store.visibility_by_target(account, None).await.expect("visibility");
        assert_eq!(v.len(), 4);
    })
    .await;
    report(
        backend,
        "visibility_by_target (all time) over 1,000,000 samples",
        r,
        50.0,
    );
    let last_week = NaiveDate::from_ymd_opt(2025, 1, 24);
    let r = percentiles(20, 300, || async {
        store
            .visibility_by_target(account, last_week)
            .await
            .expect("visibility");
    })
    .await;
    report(
        backend,
        "visibility_by_target (last 7 days) over 1,000,000 samples",
        r,
        50.0,
    );
}

mod sqlite_seed {
    use super::*;
    use sqlx::SqlitePool;

    pub async fn experiments(pool: &SqlitePool, account: AccountId, count: i64) -> KeysetCursor {
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1) \
             INSERT INTO experiments (id, account_id, name, spec, created_at, updated_at) \
             SELECT randomblob(16), ?1, 'experiment ' || i, ?3, ?4 + i * 1000, ?4 + i * 1000 FROM n",
        )
        .bind(account.0)
        .bind(count)
        .bind(spec_json())
        .bind(T0)
        .execute(pool)
        .await
        .expect("seed experiments");
        let (created_at, id): (i64, uuid::Uuid) = sqlx::query_as(
            "SELECT created_at, id FROM experiments WHERE account_id = ?1 ORDER BY created_at DESC, id DESC \
             LIMIT 1 OFFSET ?2",
        )
        .bind(account.0)
        .bind(count / 2)
        .fetch_one(pool)
        .await
        .expect("middle");
        KeysetCursor {
            created_at_ms: created_at,
            id,
        }
    }

    pub async fn dashboard(pool: &SqlitePool, account: AccountId) {
        let experiment = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO experiments (id, account_id, name, spec, created_at, updated_at) VALUES (?1, ?2, 'd', ?3, ?4, ?4)",
        )
        .bind(experiment)
        .bind(account.0)
        .bind(spec_json())
        .bind(T0)
        .execute(pool)
        .await
        .expect("experiment");
        // Runs 0..198 finished (5% failed), the last two in flight; run r finished on day r % 30.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?4 - 1) \
             INSERT INTO runs (id, account_id, experiment_id, spec, status, planned_samples, seed, created_at) \
             SELECT randomblob(16), ?1, ?2, ?3, CASE WHEN i >= ?4 - 2 THEN 'running' ELSE 'completed' END, ?5, i, \
                    ?6 + (i % 30) * 86400000 FROM n",
        )
        .bind(account.0)
        .bind(experiment)
        .bind(spec_json())
        .bind(RUNS)
        .bind(SAMPLES_PER_RUN)
        .bind(T0)
        .execute(pool)
        .await
        .expect("runs");
        sqlx::query(
            "WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < ?2 - 1) \
             INSERT INTO samples (id, run_id, account_id, provider, model, prompt_index, repeat_index, status, attempt, \
                                  lease_owner, lease_expires_at, cost_nano_usd, created_at, completed_at) \
             SELECT randomblob(16), run_id, account_id, provider, model, prompt_index, 0, st, \
                    CASE WHEN st = 'pending' THEN 0 ELSE 1 END, CASE WHEN st = 'leased' THEN 'w' END, \
                    CASE WHEN st = 'leased' THEN created_at + 60000 END, \
                    CASE WHEN st = 'succeeded' THEN 435000 END, created_at, \
                    CASE WHEN st IN ('succeeded', 'failed') THEN created_at + j END \
             FROM (SELECT r.id AS run_id, r.account_id, r.created_at, n.j, \
                          CASE WHEN n.j % 4 < 2 THEN 'openai' ELSE 'anthropic' END AS provider, \
                          'model-' || (n.j % 4) AS model, n.j / 4 AS prompt_index, \
                          CASE WHEN r.seed >= ?3 - 2 THEN (CASE WHEN n.j < 64 THEN 'leased' ELSE 'pending' END) \
                               WHEN n.j % 20 = 0 THEN 'failed' ELSE 'succeeded' END AS st \
                   FROM runs r, n WHERE r.account_id = ?1)",
        )
        .bind(account.0)
        .bind(SAMPLES_PER_RUN)
        .bind(RUNS)
        .execute(pool)
        .await
        .expect("samples");
        // The rollups as the store would have kept them (the backfill of migration 0002).
        sqlx::query(
            "INSERT INTO sample_rollups (run_id, account_id, provider, model, day, answered, failed, cancelled, \
                                         cost_nano_usd, priced) \
             SELECT run_id, account_id, provider, model, (completed_at / 86400000) * 86400000, \
                    sum(status = 'succeeded'), sum(status = 'failed'), 0, coalesce(sum(cost_nano_usd), 0), \
                    count(cost_nano_usd) \
             FROM samples WHERE account_id = ?1 AND status IN ('succeeded', 'failed') \
             GROUP BY run_id, account_id, provider, model, (completed_at / 86400000) * 86400000",
        )
        .bind(account.0)
        .execute(pool)
        .await
        .expect("sample rollups");
        sqlx::query(&format!(
            "WITH b(brand, p) AS (VALUES {}) \
             INSERT INTO mention_rollups (run_id, account_id, provider, model, day, brand, samples) \
             SELECT r.run_id, r.account_id, r.provider, r.model, r.day, b.brand, CAST(r.answered * b.p AS INTEGER) \
             FROM sample_rollups r, b WHERE r.account_id = ?1 AND r.answered > 0",
            brand_values()
        ))
        .bind(account.0)
        .execute(pool)
        .await
        .expect("mention rollups");
        sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
    }
}

mod pg_seed {
    use super::*;
    use sqlx::PgPool;

    pub async fn experiments(pool: &PgPool, account: AccountId, count: i64) -> KeysetCursor {
        sqlx::query(
            "INSERT INTO experiments (id, account_id, name, spec, created_at, updated_at) \
             SELECT gen_random_uuid(), $1, 'experiment ' || i, $3::jsonb, $4 + i * 1000, $4 + i * 1000 \
             FROM generate_series(0, $2 - 1) i",
        )
        .bind(account.0)
        .bind(count)
        .bind(spec_json())
        .bind(T0)
        .execute(pool)
        .await
        .expect("seed experiments");
        let (created_at, id): (i64, uuid::Uuid) = sqlx::query_as(
            "SELECT created_at, id FROM experiments WHERE account_id = $1 ORDER BY created_at DESC, id DESC \
             LIMIT 1 OFFSET $2",
        )
        .bind(account.0)
        .bind(count / 2)
        .fetch_one(pool)
        .await
        .expect("middle");
        KeysetCursor {
            created_at_ms: created_at,
            id,
        }
    }

    pub async fn dashboard(pool: &PgPool, account: AccountId) {
        let experiment = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO experiments (id, account_id, name, spec, created_at, updated_at) \
             VALUES ($1, $2, 'd', $3::jsonb, $4, $4)",
        )
        .bind(experiment)
        .bind(account.0)
        .bind(spec_json())
        .bind(T0)
        .execute(pool)
        .await
        .expect("experiment");
        sqlx::query(
            "INSERT INTO runs (id, account_id, experiment_id, spec, status, planned_samples, seed, created_at) \
             SELECT gen_random_uuid(), $1, $2, $3::jsonb, CASE WHEN i >= $4 - 2 THEN 'running' ELSE 'completed' END, \
                    $5, i, $6 + (i % 30) * 86400000 FROM generate_series(0, $4 - 1) i",
        )
        .bind(account.0)
        .bind(experiment)
        .bind(spec_json())
        .bind(RUNS)
        .bind(SAMPLES_PER_RUN)
        .bind(T0)
        .execute(pool)
        .await
        .expect("runs");
        sqlx::query(
            "INSERT INTO samples (id, run_id, account_id, provider, model, prompt_index, repeat_index, status, attempt, \
                                  lease_owner, lease_expires_at, cost_nano_usd, created_at, completed_at) \
             SELECT gen_random_uuid(), run_id, account_id, provider, model, prompt_index, 0, st, \
                    CASE WHEN st = 'pending' THEN 0 ELSE 1 END, CASE WHEN st = 'leased' THEN 'w' END, \
                    CASE WHEN st = 'leased' THEN created_at + 60000 END, \
                    CASE WHEN st = 'succeeded' THEN 435000 END, created_at, \
                    CASE WHEN st IN ('succeeded', 'failed') THEN created_at + j END \
             FROM (SELECT r.id AS run_id, r.account_id, r.created_at, n.j, \
                          CASE WHEN n.j % 4 < 2 THEN 'openai' ELSE 'anthropic' END AS provider, \
                          'model-' || (n.j % 4) AS model, n.j / 4 AS prompt_index, \
                          CASE WHEN r.seed >= $3 - 2 THEN (CASE WHEN n.j < 64 THEN 'leased' ELSE 'pending' END) \
                               WHEN n.j % 20 = 0 THEN 'failed' ELSE 'succeeded' END AS st \
                   FROM runs r, generate_series(0, $2 - 1) n(j) WHERE r.account_id = $1) g",
        )
        .bind(account.0)
        .bind(SAMPLES_PER_RUN)
        .bind(RUNS)
        .execute(pool)
        .await
        .expect("samples");
        sqlx::query(
            "INSERT INTO sample_rollups (run_id, account_id, provider, model, day, answered, failed, cancelled, \
                                         cost_nano_usd, priced) \
             SELECT run_id, account_id, provider, model, completed_at - completed_at % 86400000, \
                    count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'), 0, \
                    coalesce(sum(cost_nano_usd), 0), count(cost_nano_usd) \
             FROM samples WHERE account_id = $1 AND status IN ('succeeded', 'failed') \
             GROUP BY run_id, account_id, provider, model, completed_at - completed_at % 86400000",
        )
        .bind(account.0)
        .execute(pool)
        .await
        .expect("sample rollups");
        sqlx::query(&format!(
            "INSERT INTO mention_rollups (run_id, account_id, provider, model, day, brand, samples) \
             SELECT r.run_id, r.account_id, r.provider, r.model, r.day, b.brand, floor(r.answered * b.p)::bigint \
             FROM sample_rollups r, (VALUES {}) AS b(brand, p) WHERE r.account_id = $1 AND r.answered > 0",
            brand_values()
        ))
        .bind(account.0)
        .execute(pool)
        .await
        .expect("mention rollups");
        sqlx::query("VACUUM ANALYZE")
            .execute(pool)
            .await
            .expect("vacuum analyze");
    }
}

async fn insert_accounts(store: &dyn Store, accounts: &Accounts) {
    for (id, name) in [
        (accounts.small, "small"),
        (accounts.big, "big"),
        (accounts.dashboard, "dashboard"),
    ] {
        store
            .insert_account(&echo_core::model::Account {
                id,
                name: name.into(),
                external_id: None,
                tier: "pro".into(),
                created_at: chrono::DateTime::from_timestamp_millis(T0).expect("t0"),
            })
            .await
            .expect("account");
    }
}

async fn sqlite_benches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(SqliteConfig::file(dir.path().join("bench.db")))
        .await
        .expect("open sqlite");
    let accounts = Accounts::new();
    insert_accounts(&store, &accounts).await;
    let started = Instant::now();
    let small = sqlite_seed::experiments(store.pool(), accounts.small, 10_000).await;
    let big = sqlite_seed::experiments(store.pool(), accounts.big, 100_000).await;
    sqlite_seed::dashboard(store.pool(), accounts.dashboard).await;
    println!("sqlite    seeded in {:.1} s", started.elapsed().as_secs_f64());
    bench_listing("sqlite", &store, accounts.small, 10_000, small).await;
    bench_listing("sqlite", &store, accounts.big, 100_000, big).await;
    bench_dashboard("sqlite", &store, accounts.dashboard).await;
    store.close().await;
}

async fn pg_benches() {
    let url =
        std::env::var("ECHO_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = match sqlx::PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(e) => {
            println!("postgres  SKIPPED: PostgreSQL not reachable at {url} ({e})");
            return;
        }
    };
    let name = format!("echo_bench_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let db_url = match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("ECHO_TEST_PG_URL has no database path: {url}"),
    };
    let store = PgStore::open(PgConfig::new(db_url)).await.expect("open postgres");
    let accounts = Accounts::new();
    insert_accounts(&store, &accounts).await;
    let started = Instant::now();
    let small = pg_seed::experiments(store.pool(), accounts.small, 10_000).await;
    let big = pg_seed::experiments(store.pool(), accounts.big, 100_000).await;
    pg_seed::dashboard(store.pool(), accounts.dashboard).await;
    sqlx::query("VACUUM ANALYZE")
        .execute(store.pool())
        .await
        .expect("vacuum");
    println!("postgres  seeded in {:.1} s", started.elapsed().as_secs_f64());
    bench_listing("postgres", &store, accounts.small, 10_000, small).await;
    bench_listing("postgres", &store, accounts.big, 100_000, big).await;
    bench_dashboard("postgres", &store, accounts.dashboard).await;
    let stats = store.pool_stats();
    println!("postgres  pool after the run: {stats:?}");
    store.close().await;
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing we need: run the
    // benchmarks only when asked to benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        println!("store_queries: run with `cargo bench -p echo-benches --bench store_queries`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        sqlite_benches().await;
        pg_benches().await;
    });
}
