//! Rate-limit decisions per second against a SQLite file (WAL, the default pool).
//!
//! Echo keeps one GCRA bucket per (key, policy) in the database so that every process
//! sharing it shares the limit; a decision is ONE upsert statement
//! (`INSERT … ON CONFLICT DO UPDATE … WHERE <admitted> RETURNING tat_us`). Measured:
//!
//! - **one key** (every request on the same row) and **10,000 keys** (round robin), from
//!   one caller and from 8 concurrent callers;
//! - all admitted (the one-statement path), and all refused (the statement plus a read of
//!   the bucket to compute `retry_after`);
//! - baseline in the same run: the obvious transactional implementation — `BEGIN
//!   IMMEDIATE; SELECT tat; compute; INSERT OR REPLACE; COMMIT` (also race-free on SQLite,
//!   but three statements and a transaction per decision);
//! - reference: an in-process `Mutex<HashMap>` GCRA, which cannot be shared between
//!   processes — the ceiling, not an alternative;
//! - the same upsert on PostgreSQL (summary lines only), on a database of its own created
//!   on the server of `ECHO_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//!   and dropped afterwards; skipped with a notice when no server answers.
//!
//! One-line summaries print before criterion's output.
//!
//! Run: `cargo bench -p echo-benches --bench rate_limit`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use echo_core::quota::{Gcra, RateLimitPolicy, unix_micros};
use echo_core::store::{PgConfig, PgStore, RateLimitStore, SqliteConfig, SqliteStore, Store};
use futures::future::join_all;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::runtime::Runtime;

const KEYS: usize = 10_000;
const CALLERS: usize = 8;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_767_225_600_000).unwrap()
}

/// A policy that admits everything the benchmark sends (a burst of a billion).
fn open_policy() -> RateLimitPolicy {
    RateLimitPolicy::new("bench.open", 1_000_000_000, Duration::from_secs(365 * 24 * 3600)).unwrap()
}

/// A policy that refuses everything after the first request of a key.
fn closed_policy() -> RateLimitPolicy {
    RateLimitPolicy::new("bench.closed", 1, Duration::from_secs(365 * 24 * 3600)).unwrap()
}

async fn open_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(SqliteConfig::file(dir.path().join("rate.db")))
        .await
        .unwrap()
}

fn key(i: usize, keys: usize) -> String {
    format!("key:{}", i % keys)
}

/// `n` decisions through the store from `callers` concurrent tasks; asserts the expected
/// outcome of each so the benchmark cannot measure a broken path.
async fn run_store<S: RateLimitStore + ?Sized>(
    store: &S,
    policy: &RateLimitPolicy,
    n: usize,
    keys: usize,
    callers: usize,
    allowed: bool,
) -> Duration {
    let started = Instant::now();
    let per = n / callers;
    join_all((0..callers).map(|c| async move {
        for i in 0..per {
            let d = store
                .check_rate_limit(&key(c * per + i, keys), policy, 1, now())
                .await
                .unwrap();
            assert_eq!(d.allowed, allowed);
        }
    }))
    .await;
    started.elapsed()
}

/// The baseline: the same GCRA as a read-modify-write transaction.
async fn baseline_decision(store: &SqliteStore, gcra: &Gcra, key: &str, policy: &str, now_us: i64) -> bool {
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await.unwrap();
    let tat: Option<i64> = sqlx::query_scalar("SELECT tat_us FROM rate_limits WHERE key = ?1 AND policy = ?2")
        .bind(key)
        .bind(policy)
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
    let next = tat.unwrap_or(now_us).max(now_us) + gcra.emission_us;
    let admitted = next - gcra.tolerance_us <= now_us;
    if admitted {
        sqlx::query("INSERT OR REPLACE INTO rate_limits (key, policy, tat_us) VALUES (?1, ?2, ?3)")
            .bind(key)
            .bind(policy)
            .bind(next)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    admitted
}

async fn run_baseline(
    store: &SqliteStore,
    policy: &RateLimitPolicy,
    n: usize,
    keys: usize,
    callers: usize,
) -> Duration {
    let gcra = Gcra::new(policy);
    let now_us = unix_micros(now());
    let started = Instant::now();
    let per = n / callers;
    join_all((0..callers).map(|c| {
        let gcra = &gcra;
        async move {
            for i in 0..per {
                let k = key(c * per + i, keys);
                assert!(baseline_decision(store, gcra, &k, policy.name(), now_us).await);
            }
        }
    }))
    .await;
    started.elapsed()
}

/// The in-process reference: one mutex-protected map of `tat`s.
fn run_in_memory(policy: &RateLimitPolicy, n: usize, keys: usize) -> Duration {
    let gcra = Gcra::new(policy);
    let map: Mutex<HashMap<String, i64>> = Mutex::new(HashMap::new());
    let now_us = unix_micros(now());
    let started = Instant::now();
    for i in 0..n {
        let k = key(i, keys);
        let mut m = map.lock().unwrap();
        let tat = m.get(&k).copied().unwrap_or(now_us).max(now_us) + gcra.emission_us;
        if tat - gcra.tolerance_us <= now_us {
            m.insert(k, tat);
        }
        black_box(&m);
    }
    started.elapsed()
}

fn per_sec(n: usize, t: Duration) -> f64 {
    n as f64 / t.as_secs_f64()
}

fn summaries(rt: &Runtime) {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(open_store(&dir));
    let open = open_policy();
    let closed = closed_policy();

    // Warm up: create the 10,000 buckets of both policies so every scenario updates rows.
    rt.block_on(run_store(&store, &open, KEYS, KEYS, 1, true));
    rt.block_on(async {
        for i in 0..KEYS {
            store.check_rate_limit(&key(i, KEYS), &closed, 1, now()).await.unwrap();
        }
    });

    let line = |name: &str, t: Duration, base: Option<Duration>| {
        let ratio = base.map_or(String::new(), |b| {
            format!(
                " ({:.2}x the baseline's {:.0}/s)",
                b.as_secs_f64() / t.as_secs_f64(),
                per_sec(N, b)
            )
        });
        println!("rate_limit summary: {name}: {:.0} decisions/s{ratio}", per_sec(N, t));
    };
    for (keys, label) in [(1, "one key"), (KEYS, "10,000 keys")] {
        for callers in [1, CALLERS] {
            let echo = rt.block_on(run_store(&store, &open, N, keys, callers, true));
            let base = rt.block_on(run_baseline(&store, &open, N, keys, callers));
            line(&format!("{label}, {callers} caller(s), admitted"), echo, Some(base));
        }
        let refused = rt.block_on(run_store(&store, &closed, N, keys, 1, false));
        line(&format!("{label}, 1 caller, refused"), refused, None);
    }
    line(
        "in-process map (not shared; reference), 10,000 keys",
        run_in_memory(&open, N, KEYS),
        None,
    );
    rt.block_on(store.close());
    pg_summaries(rt, N);
}

/// The PostgreSQL rows of the summary: the same scenarios through `PgStore` (the pool's
/// default size), on a fresh database of the test server.
fn pg_summaries(rt: &Runtime, n: usize) {
    let admin_url =
        std::env::var("ECHO_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let Ok(mut admin) = rt.block_on(PgConnection::connect(&admin_url)) else {
        println!("rate_limit summary: postgres: SKIPPED, no server at {admin_url}");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("echo_bench_{}_{nanos}", std::process::id());
    rt.block_on(sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin))
        .unwrap();
    let options: PgConnectOptions = admin_url.parse().expect("ECHO_TEST_PG_URL is a PostgreSQL URL");
    let url = options.database(&name).to_url_lossy().to_string();
    let store = rt.block_on(PgStore::open(PgConfig::new(url))).unwrap();
    let (open, closed) = (open_policy(), closed_policy());
    rt.block_on(run_store(&store, &open, KEYS, KEYS, 1, true));
    rt.block_on(async {
        for i in 0..KEYS {
            store.check_rate_limit(&key(i, KEYS), &closed, 1, now()).await.unwrap();
        }
    });
    for (keys, label) in [(1, "one key"), (KEYS, "10,000 keys")] {
        for callers in [1, CALLERS] {
            let t = rt.block_on(run_store(&store, &open, n, keys, callers, true));
            println!(
                "rate_limit summary: postgres, {label}, {callers} caller(s), admitted: {:.0} decisions/s",
                per_sec(n, t)
            );
        }
        let t = rt.block_on(run_store(&store, &closed, n, keys, 1, false));
        println!(
            "rate_limit summary: postgres, {label}, 1 caller, refused: {:.0} decisions/s",
            per_sec(n, t)
        );
    }
    rt.block_on(store.close());
    rt.block_on(sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin))
        .unwrap();
}

fn rate_limit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    summaries(&rt);

    const BATCH: usize = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(open_store(&dir));
    let open = open_policy();
    rt.block_on(run_store(&store, &open, KEYS, KEYS, 1, true));

    let mut g = c.benchmark_group("rate_limit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(BATCH as u64));
    for (name, keys, callers) in [
        ("one_key_1_caller", 1, 1),
        ("10k_keys_1_caller", KEYS, 1),
        ("10k_keys_8_callers", KEYS, CALLERS),
    ] {
        g.bench_function(format!("echo_upsert/{name}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(run_store(&store, &open, BATCH, keys, callers, true)))
                    .sum()
            })
        });
        g.bench_function(format!("baseline_transaction/{name}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(run_baseline(&store, &open, BATCH, keys, callers)))
                    .sum()
            })
        });
    }
    g.finish();
    rt.block_on(store.close());
}

criterion_group!(benches, rate_limit);
criterion_main!(benches);
