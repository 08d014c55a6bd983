//! `Echo::authenticate` latency with many stored keys, against the platform Echo replaces:
//! bcrypt-comparing the presented key with every stored hash.
//!
//! ```text
//! cargo bench -p echo-benches --bench authenticate
//! ```
//!
//! Echo: p50 / p99 of `authenticate` (parse → checksum → SHA-256 → one indexed lookup →
//! constant-work decision → use recorded in memory) with 1K, 10K and 1M keys stored in a
//! SQLite file, for known keys (uniformly drawn from keys spread over the whole table) and
//! for unknown well-formed keys. Keys are bulk-inserted through SQL, spread over 100
//! accounts.
//!
//! Baseline, in the same run: 1K keys hashed with bcrypt; a presented key is checked by
//! fetching every stored hash and `bcrypt::verify`-ing it against each until one matches
//! (O(n); a miss compares them all). Measured at bcrypt's minimum cost 4 (generous to the
//! baseline), plus one verification at cost 10 from which the cost-10 figures follow
//! (time = comparisons × one verification; printed as derived). Set
//! `ECHO_BENCH_BCRYPT_COST=10` to measure cost 10 end to end (it takes tens of minutes).
//!
//! Environment: `ECHO_BENCH_AUTH_SIZES` (default `1000,10000,1000000`),
//! `ECHO_BENCH_AUTH_CALLS` (timed calls per size, default 20000),
//! `ECHO_BENCH_PG_URL` (the PostgreSQL server for the same measurement in a database of its
//! own; see [`postgres_backend`]).

use std::time::{Duration, Instant};

use echo_core::auth::{ApiKey, KeyEnvironment, Principal, Scope, key_format};
use echo_core::engine::Echo;
use echo_core::model::{AccountId, ApiKeyId, NewAccount};
use echo_core::store::{ApiKeyRecord, SqliteConfig, SqliteStore};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use secrecy::ExposeSecret;
use sqlx::SqlitePool;

const ACCOUNTS: usize = 100;
/// Plaintexts kept per seeding phase, spread evenly over the inserted keys.
const KNOWN_PER_PHASE: usize = 1000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// p-th quantile (nearest rank) of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn fmt(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

/// Latency summary of one series.
struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
    n: usize,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let n = samples.len();
        let mean = samples.iter().sum::<Duration>() / n as u32;
        Self {
            p50: quantile(&samples, 0.50),
            p99: quantile(&samples, 0.99),
            mean,
            n,
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:>9}  p99 {:>9}  mean {:>9}  (n = {})",
            fmt(self.p50),
            fmt(self.p99),
            fmt(self.mean),
            self.n
        )
    }
}

/// How a backend gets keys in quickly: bulk SQL of its own (`KeyStore::insert_api_key`
/// would work for any backend but takes minutes for 1M keys). A new backend plugs in with
/// its `Echo` and a `Seeder`.
#[async_trait::async_trait]
trait Seeder: Send + Sync {
    async fn insert(&self, records: &[ApiKeyRecord]);
}

/// SQLite: multi-row INSERTs (500 rows = 5,000 parameters per statement) in one transaction.
struct SqliteBulk(SqlitePool);

#[async_trait::async_trait]
impl Seeder for SqliteBulk {
    async fn insert(&self, records: &[ApiKeyRecord]) {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await.expect("begin");
        for chunk in records.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO api_keys (id, account_id, key_hash, prefix, name, scopes, created_at, expires_at, \
                 revoked_at, last_used_at) VALUES ",
            );
            sql.push_str(&vec!["(?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)"; chunk.len()].join(", "));
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.key.id.0)
                    .bind(r.key.account_id.0)
                    .bind(r.key_hash.as_bytes().to_vec())
                    .bind(r.key.display_prefix.clone())
                    .bind(r.key.name.clone())
                    .bind(r#"["experiments:read"]"#)
                    .bind(r.key.created_at.timestamp_millis());
            }
            q.execute(&mut *tx).await.expect("bulk insert");
        }
        tx.commit().await.expect("commit");
    }
}

/// One backend under test: the engine, how to seed it, and its accounts.
struct Backend {
    name: String,
    echo: Echo,
    seeder: Box<dyn Seeder>,
    accounts: Vec<AccountId>,
    stored: usize,
    known: Vec<String>,
}

impl Backend {
    async fn new(name: &str, echo: Echo, seeder: Box<dyn Seeder>) -> Self {
        let admin = Principal::admin();
        let mut accounts = Vec::with_capacity(ACCOUNTS);
        for i in 0..ACCOUNTS {
            let account = echo
                .create_account(
                    &admin,
                    NewAccount {
                        name: format!("bench-{i}"),
                        ..Default::default()
                    },
                )
                .await
                .expect("create account");
            accounts.push(account.id);
        }
        Self {
            name: name.to_string(),
            echo,
            seeder,
            accounts,
            stored: 0,
            known: Vec::new(),
        }
    }

    /// Inserts keys until `total` are stored, keeping [`KNOWN_PER_PHASE`] plaintexts spread
    /// evenly over the new ones.
    async fn grow_to(&mut self, total: usize) {
        let n = total.saturating_sub(self.stored);
        if n == 0 {
            return;
        }
        let started = Instant::now();
        let keep_every = (n / KNOWN_PER_PHASE).max(1);
        let created_at = chrono::DateTime::from_timestamp_millis(1_735_689_600_000).unwrap();
        let mut batch = Vec::with_capacity(50_000);
        for i in 0..n {
            let generated = key_format::generate(KeyEnvironment::Live);
            if i % keep_every == 0 {
                self.known.push(generated.secret.expose_secret().to_string());
            }
            batch.push(ApiKeyRecord {
                key: ApiKey {
                    id: ApiKeyId::new(),
                    account_id: self.accounts[(self.stored + i) % ACCOUNTS],
                    name: "bench".into(),
                    display_prefix: generated.display_prefix,
                    environment: KeyEnvironment::Live,
                    scopes: vec![Scope::ExperimentsRead],
                    created_at,
                    expires_at: None,
                    revoked_at: None,
                    last_used_at: None,
                },
                key_hash: generated.hash,
            });
            if batch.len() == batch.capacity() {
                self.seeder.insert(&batch).await;
                batch.clear();
            }
        }
        self.seeder.insert(&batch).await;
        self.stored = total;
        println!(
            "  [{}] seeded {n} keys in {:.1} s ({} stored)",
            self.name,
            started.elapsed().as_secs_f64(),
            self.stored
        );
    }

    /// Times `calls` authentications of known keys and of unknown well-formed keys.
    async fn measure(&self, calls: usize, rng: &mut ChaCha8Rng) -> (Stats, Stats) {
        let unknown: Vec<String> = (0..1000)
            .map(|_| {
                key_format::generate(KeyEnvironment::Live)
                    .secret
                    .expose_secret()
                    .to_string()
            })
            .collect();
        // Warm-up: connections, statement cache, pages of the index.
        for _ in 0..1000 {
            let key = &self.known[rng.random_range(0..self.known.len())];
            self.echo.authenticate(key).await.expect("known key");
        }
        let mut known_times = Vec::with_capacity(calls);
        let mut unknown_times = Vec::with_capacity(calls / 4);
        for i in 0..calls {
            if i % 5 == 4 {
                let key = &unknown[rng.random_range(0..unknown.len())];
                let t = Instant::now();
                let err = self.echo.authenticate(key).await.expect_err("unknown key");
                unknown_times.push(t.elapsed());
                debug_assert_eq!(err.auth_failure(), Some(echo_core::auth::AuthFailure::Unknown));
            } else {
                let key = &self.known[rng.random_range(0..self.known.len())];
                let t = Instant::now();
                self.echo.authenticate(key).await.expect("known key");
                known_times.push(t.elapsed());
            }
        }
        (Stats::of(known_times), Stats::of(unknown_times))
    }
}

/// The SQLite file backend.
async fn sqlite_backend(dir: &std::path::Path) -> Backend {
    let path = dir.join("keys.db");
    let echo = Echo::builder().sqlite_file(&path).build().await.expect("open echo");
    // A second pool on the same file for bulk seeding (WAL: readers and this writer coexist).
    let seeding = SqliteStore::open(SqliteConfig::file(&path).max_connections(1))
        .await
        .expect("open seeding store");
    Backend::new("sqlite file", echo, Box::new(SqliteBulk(seeding.pool().clone()))).await
}

/// PostgreSQL over loopback, in a database of its own (`echo_bench_<uuid>`, created on the
/// server `ECHO_BENCH_PG_URL` names — default `ECHO_TEST_PG_URL`, then
/// `postgres://postgres@127.0.0.1:5432/postgres` — and dropped afterwards). Skipped, saying
/// so, when no server answers. Seeded with UNNEST inserts of 10,000 rows.
async fn postgres_backend() -> Option<(Backend, PgDatabase)> {
    let base = std::env::var("ECHO_BENCH_PG_URL")
        .or_else(|_| std::env::var("ECHO_TEST_PG_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database = match PgDatabase::create(&base).await {
        Ok(db) => db,
        Err(e) => {
            println!("  [postgresql] SKIPPED: PostgreSQL not reachable at {base}: {e}");
            return None;
        }
    };
    let echo = Echo::builder()
        .database_url(&database.url)
        .build()
        .await
        .expect("open echo on PostgreSQL");
    let seeding = sqlx::PgPool::connect(&database.url).await.expect("seeding pool");
    Some((
        Backend::new("postgresql", echo, Box::new(PgBulk(seeding))).await,
        database,
    ))
}

/// A uniquely named database, dropped by [`PgDatabase::drop_now`].
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> Result<Self, sqlx::Error> {
        use sqlx::Connection;
        let name = format!("echo_bench_{}", uuid_simple());
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let (head, _) = admin_url.rsplit_once('/').expect("a URL with a database path");
        Ok(Self {
            admin_url: admin_url.to_string(),
            url: format!("{head}/{name}"),
            name,
        })
    }

    async fn drop_now(self) {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("admin connection");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut admin)
            .await
            .expect("drop bench database");
    }
}

fn uuid_simple() -> String {
    let mut rng = rand::rng();
    (0..16).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

/// PostgreSQL: one INSERT ... SELECT FROM UNNEST per 10,000 rows.
struct PgBulk(sqlx::PgPool);

#[async_trait::async_trait]
impl Seeder for PgBulk {
    async fn insert(&self, records: &[ApiKeyRecord]) {
        for chunk in records.chunks(10_000) {
            let ids: Vec<uuid::Uuid> = chunk.iter().map(|r| r.key.id.0).collect();
            let accounts: Vec<uuid::Uuid> = chunk.iter().map(|r| r.key.account_id.0).collect();
            let hashes: Vec<Vec<u8>> = chunk.iter().map(|r| r.key_hash.as_bytes().to_vec()).collect();
            let prefixes: Vec<String> = chunk.iter().map(|r| r.key.display_prefix.clone()).collect();
            let created: Vec<i64> = chunk.iter().map(|r| r.key.created_at.timestamp_millis()).collect();
            sqlx::query(
                "INSERT INTO api_keys (id, account_id, key_hash, prefix, name, scopes, created_at) \
                 SELECT id, account_id, key_hash, prefix, 'bench', '{experiments:read}', created_at \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::bytea[], $4::text[], $5::bigint[]) \
                   AS u(id, account_id, key_hash, prefix, created_at)",
            )
            .bind(&ids)
            .bind(&accounts)
            .bind(&hashes)
            .bind(&prefixes)
            .bind(&created)
            .execute(&self.0)
            .await
            .expect("bulk insert");
        }
    }
}

/// The old platform: every stored bcrypt hash fetched and compared until one matches.
struct Bcrypt {
    pool: SqlitePool,
    cost: u32,
    keys: Vec<String>,
}

impl Bcrypt {
    async fn new(dir: &std::path::Path, n: usize, cost: u32) -> Self {
        let pool = SqliteStore::open(SqliteConfig::file(dir.join("bcrypt.db")))
            .await
            .expect("open bcrypt db")
            .pool()
            .clone();
        sqlx::query("CREATE TABLE legacy_keys (id INTEGER PRIMARY KEY, account TEXT NOT NULL, hash TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let started = Instant::now();
        let keys: Vec<String> = (0..n)
            .map(|_| {
                key_format::generate(KeyEnvironment::Live)
                    .secret
                    .expose_secret()
                    .to_string()
            })
            .collect();
        // Hash on both cores: setup is not what is measured.
        let hashes: Vec<String> = {
            let (a, b) = keys.split_at(n / 2);
            let (ha, hb) = std::thread::scope(|s| {
                let ja = s.spawn(|| a.iter().map(|k| bcrypt::hash(k, cost).unwrap()).collect::<Vec<_>>());
                let jb = s.spawn(|| b.iter().map(|k| bcrypt::hash(k, cost).unwrap()).collect::<Vec<_>>());
                (ja.join().unwrap(), jb.join().unwrap())
            });
            ha.into_iter().chain(hb).collect()
        };
        let mut tx = pool.begin().await.unwrap();
        for (i, h) in hashes.iter().enumerate() {
            sqlx::query("INSERT INTO legacy_keys (account, hash) VALUES (?1, ?2)")
                .bind(format!("account-{}", i % ACCOUNTS))
                .bind(h)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        println!(
            "  [bcrypt cost {cost}] hashed and stored {n} keys in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Self { pool, cost, keys }
    }

    /// Returns the matching account, like the old `verify_api_key`.
    async fn authenticate(&self, presented: &str) -> Option<String> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT account, hash FROM legacy_keys ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap();
        let presented = presented.to_string();
        tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .find(|(_, hash)| bcrypt::verify(&presented, hash).unwrap_or(false))
                .map(|(account, _)| account)
        })
        .await
        .unwrap()
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let sizes: Vec<usize> = std::env::var("ECHO_BENCH_AUTH_SIZES")
        .unwrap_or_else(|_| "1000,10000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    let calls = env_usize("ECHO_BENCH_AUTH_CALLS", 20_000);
    let bcrypt_cost = env_usize("ECHO_BENCH_BCRYPT_COST", 4) as u32;
    let bcrypt_calls = env_usize("ECHO_BENCH_BCRYPT_CALLS", 40);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);

    println!("authenticate benchmark: sizes {sizes:?}, {calls} timed calls per size (4 known : 1 unknown)");
    let mut backends = vec![sqlite_backend(dir.path()).await];
    let mut pg_database = None;
    if let Some((backend, database)) = postgres_backend().await {
        backends.push(backend);
        pg_database = Some(database);
    }
    let mut echo_rows = Vec::new();
    for backend in &mut backends {
        for &size in &sizes {
            backend.grow_to(size).await;
            let (known, unknown) = backend.measure(calls, &mut rng).await;
            println!("  [{}] {size:>9} keys  known:   {known}", backend.name);
            println!("  [{}] {size:>9} keys  unknown: {unknown}", backend.name);
            echo_rows.push((backend.name.clone(), size, known, unknown));
        }
        backend.echo.close().await;
    }
    if let Some(database) = pg_database {
        database.drop_now().await;
    }

    // Baseline.
    let n = 1000;
    let legacy = Bcrypt::new(dir.path(), n, bcrypt_cost).await;
    let mut times = Vec::with_capacity(bcrypt_calls);
    for _ in 0..bcrypt_calls {
        let key = &legacy.keys[rng.random_range(0..n)];
        let t = Instant::now();
        assert!(legacy.authenticate(key).await.is_some());
        times.push(t.elapsed());
    }
    let baseline = Stats::of(times);
    let t = Instant::now();
    assert!(legacy.authenticate("echo_live_not_a_stored_key").await.is_none());
    let miss = t.elapsed();
    println!("  [bcrypt cost {}] {n:>9} keys  known:   {baseline}", legacy.cost);
    println!(
        "  [bcrypt cost {}] {n:>9} keys  unknown: {} (one call; compares all {n})",
        legacy.cost,
        fmt(miss)
    );
    // One verification at cost 10, so the cost-10 scan follows: a known key drawn
    // uniformly needs k ~ U{1..n} comparisons (p50 = n/2, p99 = 0.99 n), a miss needs n.
    let hash10 = bcrypt::hash("echo_live_calibration", 10).unwrap();
    let mut verify10 = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        assert!(bcrypt::verify("echo_live_calibration", &hash10).unwrap());
        verify10.push(t.elapsed());
    }
    let v10 = Stats::of(verify10).p50;
    println!(
        "  [bcrypt cost 10] one verify {}; derived for {n} keys: known p50 {}  p99 {}  unknown {}",
        fmt(v10),
        fmt(v10 * (n as u32 / 2)),
        fmt(v10 * (n as u32 * 99 / 100)),
        fmt(v10 * n as u32)
    );

    println!("summary:");
    for (name, size, known, unknown) in &echo_rows {
        let bar = if *size == 10_000 {
            format!(
                "; old bar p99 < 10 ms at 10K keys: {}",
                if known.p99 < Duration::from_millis(10) {
                    "met"
                } else {
                    "MISSED"
                }
            )
        } else {
            String::new()
        };
        println!(
            "  {name}: {size} keys: known p50 {} p99 {}; unknown p50 {} p99 {}; p50 {:.0}x below bcrypt cost {} at 1K keys{bar}",
            fmt(known.p50),
            fmt(known.p99),
            fmt(unknown.p50),
            fmt(unknown.p99),
            baseline.p50.as_secs_f64() / known.p50.as_secs_f64(),
            legacy.cost,
        );
    }
}
