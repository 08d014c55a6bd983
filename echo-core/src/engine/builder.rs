//! Configuring and opening an [`Echo`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Echo, EngineConfig, ProviderRegistry};
use crate::clock::{Clock, SystemClock};
use crate::provider::resilience::{ResiliencePolicy, Resilient};
use crate::provider::{DynProvider, PricingTable, Provider};
use crate::quota::{QuotaPolicy, TieredQuotaPolicy};
use crate::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use crate::{Error, Result};

enum StoreChoice {
    Sqlite(SqliteConfig),
    Postgres(PgConfig),
    /// A database URL, resolved to a backend at `build` time.
    Url(String),
    Custom(Arc<dyn Store>),
}

/// Builds an [`Echo`]: where data lives, which providers answer, engine tuning.
///
/// ```no_run
/// # async fn demo() -> echo_core::Result<()> {
/// use echo_core::engine::Echo;
/// use echo_core::provider::{Simulated, SimulatedConfig};
///
/// let echo = Echo::builder()
///     .sqlite_file("echo.db")
///     .provider(Simulated::new(SimulatedConfig::crm_demo(42))?)
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
pub struct EchoBuilder {
    store: Option<StoreChoice>,
    providers: Vec<DynProvider>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    pricing: PricingTable,
    /// Resilience policies by provider id, replacing `ResiliencePolicy::for_provider`.
    policies: HashMap<String, ResiliencePolicy>,
    quota: Arc<dyn QuotaPolicy>,
}

impl Default for EchoBuilder {
    fn default() -> Self {
        Self {
            store: None,
            providers: Vec::new(),
            clock: Arc::new(SystemClock),
            config: EngineConfig::default(),
            pricing: PricingTable::default(),
            policies: HashMap::new(),
            quota: Arc::new(TieredQuotaPolicy::standard()),
        }
    }
}

impl EchoBuilder {
    /// Stores data in a SQLite file (created if missing). The default store is a private
    /// in-memory SQLite database, gone when the `Echo` is dropped.
    pub fn sqlite_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.store = Some(StoreChoice::Sqlite(SqliteConfig::file(path)));
        self
    }

    /// Stores data in a private in-memory SQLite database.
    pub fn sqlite_memory(mut self) -> Self {
        self.store = Some(StoreChoice::Sqlite(SqliteConfig::memory()));
        self
    }

    /// Stores data in SQLite with full control of the pool.
    pub fn sqlite(mut self, config: SqliteConfig) -> Self {
        self.store = Some(StoreChoice::Sqlite(config));
        self
    }

    /// Stores data in PostgreSQL (migrated on `build`), with full control of the pool: the
    /// backend for several worker processes on one database.
    pub fn postgres(mut self, config: PgConfig) -> Self {
        self.store = Some(StoreChoice::Postgres(config));
        self
    }

    /// Stores data where a database URL points: `sqlite:///path/to/echo.db` (or
    /// `sqlite:relative.db`) for a SQLite file, `postgres://user@host:5432/db` (or
    /// `postgresql://...`) for PostgreSQL. Lets a worker binary take one `--database-url`.
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.store = Some(StoreChoice::Url(url.into()));
        self
    }

    /// Uses an already opened store (any backend).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(StoreChoice::Custom(store));
        self
    }

    /// Registers a provider; targets name it by its id.
    pub fn provider(mut self, provider: impl Provider + 'static) -> Self {
        self.providers.push(Arc::new(provider));
        self
    }

    /// Registers a shared provider.
    pub fn provider_arc(mut self, provider: DynProvider) -> Self {
        self.providers.push(provider);
        self
    }

    /// Injects the clock (tests move time instead of sleeping).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Provider calls in flight per run (default: derived from the providers' limits).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = Some(n);
        self
    }

    /// Lease length of claimed samples (default 5 minutes).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config.lease = lease;
        self
    }

    /// Attempts per sample before it fails for good (default 3).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.config.max_attempts = n;
        self
    }

    /// First backoff after a transient provider failure (default 250 ms, doubling).
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.config.retry_backoff = backoff;
        self
    }

    /// Deadline of one provider call when the resilience layer is off (default 120 s).
    /// With the layer on (the default), set `ResiliencePolicy::attempt_timeout` instead.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Replaces the pricing table used for sample costs and estimates (default: the
    /// built-in list prices of [`PricingTable::default`]).
    pub fn pricing(mut self, pricing: PricingTable) -> Self {
        self.pricing = pricing;
        self
    }

    /// The resilience policy of one provider (default: `ResiliencePolicy::for_provider`).
    /// A policy without a `total_timeout` gets 80% of the lease, so a call and its retries
    /// never outlive the sample's lease.
    pub fn resilience_policy(mut self, provider_id: impl Into<String>, policy: ResiliencePolicy) -> Self {
        self.policies.insert(provider_id.into(), policy);
        self
    }

    /// Calls providers directly, without the resilience layer: transient failures then
    /// return samples to the queue (up to `max_attempts`). For providers that already
    /// retry, or for tests of the queue itself.
    pub fn without_resilience(mut self) -> Self {
        self.config.resilience = false;
        self
    }

    /// How often API key uses are written to `last_used_at` (default one minute): each key's
    /// row is written at most once per interval, never on the request path.
    pub fn key_usage_flush_interval(mut self, interval: Duration) -> Self {
        self.config.key_usage_flush = interval;
        self
    }

    /// The quota policy: which limits each account tier has (default:
    /// [`TieredQuotaPolicy::standard`], tiers `free`, `pro` and `enterprise`).
    pub fn quota_policy(mut self, policy: impl QuotaPolicy + 'static) -> Self {
        self.quota = Arc::new(policy);
        self
    }

    /// How long a run's quota reservation is held before the maintenance sweep may release
    /// it (default 24 hours).
    pub fn reservation_hold(mut self, hold: Duration) -> Self {
        self.config.reservation_hold = hold;
        self
    }

    /// How long raw answers, audit events and deletion requests are kept (default
    /// [`RetentionPolicy::default`](crate::privacy::RetentionPolicy): 90 days, 2 years, 30
    /// days). Checked on `build` (`InvalidInput` for periods under a day, empty batches).
    pub fn retention_policy(mut self, policy: crate::privacy::RetentionPolicy) -> Self {
        self.config.retention = policy;
        self
    }

    /// Requires every account to have granted consent for `purpose` (its latest record, see
    /// `Echo::record_consent`) before its runs start, including scheduled runs; without it
    /// they fail with `ErrorKind::ConsentRequired` before anything is reserved or written.
    /// Call once per purpose (e.g. [`DATA_PROCESSING`](crate::privacy::consent::DATA_PROCESSING)).
    pub fn require_consent(mut self, purpose: impl Into<String>) -> Self {
        let purpose = purpose.into();
        if !self.config.required_consents.contains(&purpose) {
            self.config.required_consents.push(purpose);
        }
        self
    }

    /// The grace period between a deletion request and the account's erasure (default 30
    /// days); the operator may cancel the request until it ends. Shorthand for the
    /// `deletion_grace` of [`retention_policy`](Self::retention_policy) (at least a day).
    pub fn deletion_grace(mut self, grace: Duration) -> Self {
        self.config.retention.deletion_grace = grace;
        self
    }

    /// Rows per erasure batch (default 1,000): each batch is one transaction.
    pub fn erasure_batch(mut self, rows: u32) -> Self {
        self.config.erasure_batch = rows;
        self
    }

    /// Replaces the whole engine configuration.
    pub fn engine_config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Opens the store (running migrations) and returns the engine.
    pub async fn build(self) -> Result<Echo> {
        self.config.validate()?;
        let ids: Vec<&str> = self.providers.iter().map(|p| p.id()).collect();
        if let Some(unknown) = self.policies.keys().find(|id| !ids.contains(&id.as_str())) {
            return Err(Error::invalid(
                "resilience_policy",
                format!(
                    "a policy was given for provider {unknown:?}, which is not registered (registered: {})",
                    ids.join(", ")
                ),
            ));
        }
        let mut registry = ProviderRegistry::default();
        for p in self.providers {
            let provider = if self.config.resilience {
                let mut policy = self
                    .policies
                    .get(p.id())
                    .cloned()
                    .unwrap_or_else(|| ResiliencePolicy::for_provider(p.id()));
                if policy.total_timeout.is_none() {
                    policy.total_timeout = Some(self.config.resilience_deadline());
                }
                Arc::new(Resilient::new(p, policy)?) as DynProvider
            } else {
                p
            };
            registry.insert(provider)?;
        }
        let store: Arc<dyn Store> = match self.store.unwrap_or(StoreChoice::Sqlite(SqliteConfig::memory())) {
            StoreChoice::Sqlite(config) => {
                if let Some(path) = &config.path {
                    if path.as_os_str().is_empty() {
                        return Err(Error::invalid("sqlite_file", "the database path is empty"));
                    }
                }
                Arc::new(SqliteStore::open(config).await?)
            }
            StoreChoice::Postgres(config) => Arc::new(PgStore::open(config).await?),
            StoreChoice::Url(url) => open_url(&url).await?,
            StoreChoice::Custom(store) => store,
        };
        Ok(Echo::from_parts(
            store,
            registry,
            self.clock,
            self.config,
            self.pricing,
            self.quota,
        ))
    }
}

/// Opens the store a database URL names (see [`EchoBuilder::database_url`]).
async fn open_url(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(Error::invalid(
                "database_url",
                "the SQLite URL names no file (sqlite:///path/to/echo.db)",
            ));
        }
        return Ok(Arc::new(SqliteStore::open(SqliteConfig::file(path)).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // The default pool; `EchoBuilder::postgres` takes a full PgConfig.
        return Ok(Arc::new(PgStore::open(PgConfig::new(url)).await?));
    }
    Err(Error::invalid(
        "database_url",
        "must start with sqlite: (a SQLite file) or postgres:// (a PostgreSQL server)",
    ))
}
