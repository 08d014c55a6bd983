//! The SQLite backend: the embedded default. WAL journal, a configurable pool, claims
//! under `BEGIN IMMEDIATE`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::*;

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// Database file; `None` for a private in-memory database.
    pub path: Option<PathBuf>,
    /// Maximum pooled connections.
    pub max_connections: u32,
    /// How long to wait for a pooled connection.
    pub acquire_timeout: Duration,
    /// How long a statement waits on a locked database before failing.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    /// A database file, created if missing.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self { path: Some(path.into()), ..Self::memory() }
    }

    /// A private in-memory database (one connection; gone when the store is dropped).
    pub fn memory() -> Self {
        Self { path: None, max_connections: 8, acquire_timeout: Duration::from_secs(30), busy_timeout: Duration::from_secs(10) }
    }
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(config: SqliteConfig) -> Result<Self> {
        let _ = config;
        todo!()
    }
}

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn insert_account(&self, _account: &Account) -> Result<()> { todo!() }
    async fn get_account(&self, _id: AccountId) -> Result<Account> { todo!() }
}

#[async_trait::async_trait]
impl ExperimentStore for SqliteStore {
    async fn insert_experiment(&self, _e: &Experiment) -> Result<()> { todo!() }
    async fn get_experiment(&self, _a: AccountId, _id: ExperimentId) -> Result<Experiment> { todo!() }
    async fn list_experiments(&self, _a: AccountId, _p: &PageRequest) -> Result<Page<Experiment>> { todo!() }
    async fn update_experiment(&self, _a: AccountId, _id: ExperimentId, _s: &ExperimentSpec, _n: DateTime<Utc>) -> Result<Experiment> { todo!() }
    async fn delete_experiment(&self, _a: AccountId, _id: ExperimentId) -> Result<()> { todo!() }
}

#[async_trait::async_trait]
impl RunStore for SqliteStore {
    async fn enqueue_run(&self, _run: &Run, _s: &[NewSample]) -> Result<()> { todo!() }
    async fn get_run(&self, _a: AccountId, _id: RunId) -> Result<Run> { todo!() }
    async fn list_runs(&self, _a: AccountId, _e: ExperimentId, _p: &PageRequest) -> Result<Page<Run>> { todo!() }
    async fn set_run_status(&self, _a: AccountId, _id: RunId, _s: RunStatus, _n: DateTime<Utc>) -> Result<bool> { todo!() }
    async fn claim_samples(&self, _r: &ClaimRequest<'_>) -> Result<Vec<SampleTask>> { todo!() }
    async fn complete_samples(&self, _o: &[SampleOutcome]) -> Result<Vec<bool>> { todo!() }
    async fn cancel_pending_samples(&self, _a: AccountId, _r: RunId, _n: DateTime<Utc>) -> Result<u64> { todo!() }
    async fn sample_counts(&self, _a: AccountId, _r: RunId) -> Result<SampleCounts> { todo!() }
    async fn load_samples(&self, _a: AccountId, _r: RunId) -> Result<Vec<SampleRecord>> { todo!() }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str { "sqlite" }
    async fn close(&self) {}
}
