//! `Echo` and `AsyncEcho`, mirroring `echo_core::engine::Echo`: opening an engine, accounts,
//! experiments, runs as stored objects, reports and estimates.
//!
//! Both classes share one core engine; `Echo` blocks (releasing the GIL, honouring
//! Ctrl-C), `AsyncEcho` returns awaitables. Every operation is written once, as a future
//! built from converted arguments, by [`echo_methods!`], which generates the blocking and
//! the async method from the same body. The other operations live in the modules that
//! mirror where the core defines them (`keys`, `quota`, `schedule`, `statistics`, `run`,
//! `worker`).

use std::sync::Arc;
use std::time::Duration;

use echo_core::engine::{Echo as CoreEcho, EchoBuilder, RunOptions};
use echo_core::model::{BrandSpec, ExperimentId, ExperimentSpec, NewAccount, PageRequest, RunId};
use echo_core::provider::DynProvider;
use echo_core::quota::{TierLimits, TieredQuotaPolicy, UnmeteredQuotaPolicy};
use echo_core::store::PgConfig;
use echo_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::errors::to_py_err;
use crate::provider::Provider;
use crate::runtime::{InRuntime, block_on, future_into_py};

/// Generates, from one definition per operation, a blocking method on `Echo` and an async
/// method on `AsyncEcho`.
///
/// Each body runs with the GIL held, converts its arguments, and evaluates to
/// `PyResult<impl Future<Output = PyResult<T>> + Send + 'static>`; `$echo` is a clone of the
/// core engine for the future to own.
macro_rules! echo_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident(&self, $echo:ident, $py:ident $(, $arg:ident : $ty:ty)* $(,)?) -> $out:ty $body:block
    )*) => {
        #[pyo3::pymethods]
        impl $crate::engine::Echo {
            $(
                $(#[$meta])*
                fn $name(&self, $py: pyo3::Python<'_>, $($arg: $ty),*) -> pyo3::PyResult<$out> {
                    #[allow(unused_variables)]
                    let $echo = $crate::engine::Engine::core(self, $py)?;
                    let fut = $body?;
                    $crate::runtime::block_on($py, fut)
                }
            )*
        }
        #[pyo3::pymethods]
        impl $crate::engine::AsyncEcho {
            $(
                $(#[$meta])*
                fn $name<'py>(
                    &self,
                    $py: pyo3::Python<'py>,
                    $($arg: $ty),*
                ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                    #[allow(unused_variables)]
                    let $echo = $crate::engine::Engine::core(self, $py)?;
                    let fut = $body?;
                    $crate::runtime::future_into_py($py, fut)
                }
            )*
        }
    };
}
pub(crate) use echo_methods;

/// The shared core engine of an `Echo`/`AsyncEcho` pair.
pub type Shared = Arc<InRuntime<CoreEcho>>;

/// The Echo engine with a blocking API: for notebooks, scripts and threaded servers.
///
/// Every call releases the GIL while it waits and stops on Ctrl-C. Works inside Jupyter
/// (it never touches the running event loop). `Echo.aio` is the same engine with the async
/// API.
#[pyclass(frozen, module = "echo_ai._native")]
pub struct Echo {
    pub(crate) engine: Shared,
}

/// The Echo engine with an async API (every operation returns an awaitable): for asyncio
/// servers such as FastAPI. `AsyncEcho.sync` is the same engine with the blocking API.
#[pyclass(frozen, module = "echo_ai._native")]
pub struct AsyncEcho {
    pub(crate) engine: Shared,
}

pub(crate) trait Engine {
    fn shared(&self) -> &Shared;

    /// A clone of the core engine (cheap), or `ConfigError` after `fork()`.
    fn core(&self, py: Python<'_>) -> PyResult<CoreEcho> {
        self.shared().get("Echo").cloned().map_err(|e| to_py_err(py, &e))
    }
}

impl Engine for Echo {
    fn shared(&self) -> &Shared {
        &self.engine
    }
}

impl Engine for AsyncEcho {
    fn shared(&self) -> &Shared {
        &self.engine
    }
}

/// Everything `open` takes, converted while the GIL is held.
struct OpenOptions {
    builder: EchoBuilder,
}

#[allow(clippy::too_many_arguments)]
fn open_options(
    py: Python<'_>,
    database: Option<&Bound<'_, PyAny>>,
    providers: Vec<PyRef<'_, Provider>>,
    providers_from_env: bool,
    concurrency: Option<usize>,
    lease: Option<&Bound<'_, PyAny>>,
    max_attempts: Option<u32>,
    resilience: bool,
    quota: Option<&Bound<'_, PyAny>>,
    key_usage_flush: Option<&Bound<'_, PyAny>>,
    reservation_hold: Option<&Bound<'_, PyAny>>,
    pool: Option<&Bound<'_, PyDict>>,
) -> PyResult<OpenOptions> {
    let mut builder = CoreEcho::builder();
    builder = database_choice(py, builder, database, pool)?;
    let mut registered: Vec<DynProvider> = Vec::new();
    for p in &providers {
        registered.push(p.dyn_provider(py)?);
    }
    if providers_from_env {
        registered.extend(echo_core::provider::providers_from_env().map_err(|e| to_py_err(py, &e))?);
    }
    for p in registered {
        builder = builder.provider_arc(p);
    }
    if let Some(n) = concurrency {
        builder = builder.concurrency(n);
    }
    if let Some(lease) = lease {
        builder = builder.lease(convert::duration(lease, "lease")?);
    }
    if let Some(n) = max_attempts {
        builder = builder.max_attempts(n);
    }
    if !resilience {
        builder = builder.without_resilience();
    }
    if let Some(q) = quota {
        builder = quota_policy(py, builder, q)?;
    }
    if let Some(every) = key_usage_flush {
        builder = builder.key_usage_flush_interval(convert::duration(every, "key_usage_flush")?);
    }
    if let Some(hold) = reservation_hold {
        builder = builder.reservation_hold(convert::duration(hold, "reservation_hold")?);
    }
    Ok(OpenOptions { builder })
}

/// Where data lives: `None` (private in-memory SQLite), a URL (`sqlite:///path.db`,
/// `postgres://...`) or a path (`os.PathLike`: a SQLite file). Pool settings apply to
/// PostgreSQL.
fn database_choice(
    py: Python<'_>,
    builder: EchoBuilder,
    database: Option<&Bound<'_, PyAny>>,
    pool: Option<&Bound<'_, PyDict>>,
) -> PyResult<EchoBuilder> {
    let invalid = |field: &str, msg: String| to_py_err(py, &Error::invalid(field, msg));
    let Some(database) = database.filter(|d| !d.is_none()) else {
        if pool.is_some() {
            return Err(invalid("pool", "pool settings need a PostgreSQL database URL".into()));
        }
        return Ok(builder.sqlite_memory());
    };
    if let Ok(url) = database.extract::<String>() {
        let is_postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        return match (pool, is_postgres) {
            (Some(pool), true) => Ok(builder.postgres(pg_config(url, pool)?)),
            (Some(_), false) => Err(invalid(
                "pool",
                "pool settings apply to PostgreSQL URLs (postgres://...)".into(),
            )),
            (None, _) => Ok(builder.database_url(url)),
        };
    }
    if database.hasattr("__fspath__")? {
        let path: std::path::PathBuf = database.extract()?;
        return Ok(builder.sqlite_file(path));
    }
    Err(invalid(
        "database",
        "must be a URL (sqlite:///path/to/echo.db, postgres://user@host/db), a path to a SQLite file, or None"
            .into(),
    ))
}

fn pg_config(url: String, pool: &Bound<'_, PyDict>) -> PyResult<PgConfig> {
    let py = pool.py();
    let mut config = PgConfig::new(url);
    for (key, value) in pool.iter() {
        let key: String = key.extract()?;
        let field = format!("pool.{key}");
        let int = |v: &Bound<'_, PyAny>| -> PyResult<u32> {
            v.extract()
                .map_err(|_| to_py_err(py, &Error::invalid(&field, "must be a non-negative integer")))
        };
        let opt_duration = |v: &Bound<'_, PyAny>| -> PyResult<Option<Duration>> {
            if v.is_none() {
                Ok(None)
            } else {
                convert::duration(v, &field).map(Some)
            }
        };
        match key.as_str() {
            "max_connections" => config.max_connections = int(&value)?,
            "min_connections" => config.min_connections = int(&value)?,
            "acquire_timeout" => config.acquire_timeout = convert::duration(&value, &field)?,
            "idle_timeout" => config.idle_timeout = opt_duration(&value)?,
            "max_lifetime" => config.max_lifetime = opt_duration(&value)?,
            "statement_timeout" => config.statement_timeout = opt_duration(&value)?,
            "application_name" => config.application_name = value.extract()?,
            other => {
                return Err(to_py_err(
                    py,
                    &Error::invalid(
                        "pool",
                        format!(
                            "unknown setting {other:?}; known: max_connections, min_connections, acquire_timeout, \
                             idle_timeout, max_lifetime, statement_timeout, application_name"
                        ),
                    ),
                ));
            }
        }
    }
    Ok(config)
}

/// `"standard"` (free/pro/enterprise), `"unmetered"`, or a mapping of tier names to
/// `TierLimits`.
fn quota_policy(py: Python<'_>, builder: EchoBuilder, quota: &Bound<'_, PyAny>) -> PyResult<EchoBuilder> {
    if let Ok(name) = quota.extract::<String>() {
        return match name.as_str() {
            "standard" => Ok(builder.quota_policy(TieredQuotaPolicy::standard())),
            "unmetered" => Ok(builder.quota_policy(UnmeteredQuotaPolicy)),
            other => Err(to_py_err(
                py,
                &Error::invalid(
                    "quota",
                    format!("{other:?} is not a policy: use \"standard\", \"unmetered\" or a dict of TierLimits"),
                ),
            )),
        };
    }
    let tiers = quota.cast::<PyDict>().map_err(|_| {
        to_py_err(
            py,
            &Error::invalid(
                "quota",
                "must be \"standard\", \"unmetered\" or a dict of tier names to TierLimits",
            ),
        )
    })?;
    let mut policy = TieredQuotaPolicy::empty();
    for (name, limits) in tiers.iter() {
        let name: String = name.extract()?;
        policy = policy.tier(name.clone(), tier_limits(&limits, &name)?);
    }
    Ok(builder.quota_policy(policy))
}

fn tier_limits(limits: &Bound<'_, PyAny>, tier: &str) -> PyResult<TierLimits> {
    let py = limits.py();
    let field = |f: &str| format!("quota.{tier}.{f}");
    let get = |f: &str| -> PyResult<Bound<'_, PyAny>> {
        limits
            .getattr(f)
            .map_err(|_| to_py_err(py, &Error::invalid(field(f), "is required (pass a TierLimits)")))
    };
    let number = |f: &str| -> PyResult<u64> {
        get(f)?
            .extract()
            .map_err(|_| to_py_err(py, &Error::invalid(field(f), "must be a non-negative integer")))
    };
    let concurrent = u32::try_from(number("max_concurrent_runs")?)
        .map_err(|_| to_py_err(py, &Error::invalid(field("max_concurrent_runs"), "is too large")))?;
    let limits_out = TierLimits::new(number("period_samples")?, number("max_samples_per_run")?, concurrent);
    let per_minute = get("run_starts_per_minute")?;
    if per_minute.is_none() {
        Ok(limits_out.without_run_start_limit())
    } else {
        let n: u32 = per_minute.extract().map_err(|_| {
            to_py_err(
                py,
                &Error::invalid(field("run_starts_per_minute"), "must be a positive integer or None"),
            )
        })?;
        limits_out.run_starts_per_minute(n).map_err(|e| to_py_err(py, &e))
    }
}

/// A cursor page request from `limit` and `after`.
pub(crate) fn page(limit: Option<u32>, after: Option<String>) -> PageRequest {
    PageRequest { limit, after }
}

/// Run options from keyword arguments.
pub(crate) fn run_options(seed: Option<u64>, concurrency: Option<usize>) -> RunOptions {
    RunOptions { seed, concurrency }
}

#[pymethods]
impl Echo {
    #[staticmethod]
    #[pyo3(signature = (database = None, *, providers = Vec::new(), providers_from_env = false,
        concurrency = None, lease = None, max_attempts = None, resilience = true, quota = None,
        key_usage_flush = None, reservation_hold = None, pool = None))]
    #[allow(clippy::too_many_arguments)]
    /// Opens an engine: the store (migrated on open) and the providers.
    ///
    /// `database`: `None` for a private in-memory SQLite database, a URL
    /// (`sqlite:///path/to/echo.db`, `postgres://user@host:5432/db`) or a path to a SQLite
    /// file. `pool`: PostgreSQL pool settings (`max_connections`, `min_connections`,
    /// `acquire_timeout`, `idle_timeout`, `max_lifetime`, `statement_timeout`,
    /// `application_name`). `quota`: `"standard"` (default), `"unmetered"` or a dict of
    /// tier names to `TierLimits`. Durations are seconds or `timedelta`s.
    fn open(
        py: Python<'_>,
        database: Option<&Bound<'_, PyAny>>,
        providers: Vec<PyRef<'_, Provider>>,
        providers_from_env: bool,
        concurrency: Option<usize>,
        lease: Option<&Bound<'_, PyAny>>,
        max_attempts: Option<u32>,
        resilience: bool,
        quota: Option<&Bound<'_, PyAny>>,
        key_usage_flush: Option<&Bound<'_, PyAny>>,
        reservation_hold: Option<&Bound<'_, PyAny>>,
        pool: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Echo> {
        let options = open_options(
            py, database, providers, providers_from_env, concurrency, lease, max_attempts, resilience, quota,
            key_usage_flush, reservation_hold, pool,
        )?;
        let engine = block_on(py, async move { core(options.builder.build().await) })?;
        Ok(Echo {
            engine: Arc::new(InRuntime::new(engine)),
        })
    }

    /// The same engine with the async API.
    #[getter]
    fn aio(&self) -> AsyncEcho {
        AsyncEcho {
            engine: self.engine.clone(),
        }
    }

    /// The ids of the registered providers.
    #[getter]
    fn providers(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        Ok(self.core(py)?.providers().ids().into_iter().map(str::to_string).collect())
    }

    /// Writes pending API key uses and closes the database connections. Runs still
    /// executing in this process stop with a storage error; resume them later.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let echo = self.core(py)?;
        block_on(py, async move {
            echo.close().await;
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Echo(providers={:?})", self.providers(py)?))
    }
}

#[pymethods]
impl AsyncEcho {
    #[staticmethod]
    #[pyo3(signature = (database = None, *, providers = Vec::new(), providers_from_env = false,
        concurrency = None, lease = None, max_attempts = None, resilience = true, quota = None,
        key_usage_flush = None, reservation_hold = None, pool = None))]
    #[allow(clippy::too_many_arguments)]
    /// Opens an engine (awaitable); see `Echo.open` for the arguments.
    fn open<'py>(
        py: Python<'py>,
        database: Option<&Bound<'_, PyAny>>,
        providers: Vec<PyRef<'_, Provider>>,
        providers_from_env: bool,
        concurrency: Option<usize>,
        lease: Option<&Bound<'_, PyAny>>,
        max_attempts: Option<u32>,
        resilience: bool,
        quota: Option<&Bound<'_, PyAny>>,
        key_usage_flush: Option<&Bound<'_, PyAny>>,
        reservation_hold: Option<&Bound<'_, PyAny>>,
        pool: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = open_options(
            py, database, providers, providers_from_env, concurrency, lease, max_attempts, resilience, quota,
            key_usage_flush, reservation_hold, pool,
        )?;
        future_into_py(py, async move {
            let engine = core(options.builder.build().await)?;
            Ok(AsyncEcho {
                engine: Arc::new(InRuntime::new(engine)),
            })
        })
    }

    /// The same engine with the blocking API.
    #[getter]
    fn sync(&self) -> Echo {
        Echo {
            engine: self.engine.clone(),
        }
    }

    /// The ids of the registered providers.
    #[getter]
    fn providers(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        Ok(self.core(py)?.providers().ids().into_iter().map(str::to_string).collect())
    }

    /// Writes pending API key uses and closes the database connections (awaitable).
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let echo = self.core(py)?;
        future_into_py(py, async move {
            echo.close().await;
            Ok(())
        })
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.unbind();
        future_into_py(py, async move { Ok(me) })
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let echo = self.core(py)?;
        future_into_py(py, async move {
            echo.close().await;
            Ok(false)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("AsyncEcho(providers={:?})", self.providers(py)?))
    }
}

echo_methods! {
    /// Creates an account (tenant). Only `Principal.admin()` may.
    #[pyo3(signature = (principal, name, *, external_id = None, tier = None))]
    fn create_account(&self, echo, py, principal: &Principal, name: String, external_id: Option<String>,
        tier: Option<String>) -> Typed {
        let p = principal.core().clone();
        Ok::<_, PyErr>(async move {
            let account = core(echo.create_account(&p, NewAccount { name, external_id, tier }).await)?;
            Typed::one(&account, "Account")
        })
    }

    /// The principal's own account.
    fn get_account(&self, echo, py, principal: &Principal) -> Typed {
        let p = principal.core().clone();
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.get_account(&p).await)?, "Account") })
    }

    /// Validates and stores an experiment (`spec`: an `ExperimentSpec` or an equivalent
    /// dict). Invalid specs raise `InvalidInputError` naming the field; nothing is written.
    fn create_experiment(&self, echo, py, principal: &Principal, spec: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let spec: ExperimentSpec = convert::from_py(spec, "spec")?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.create_experiment(&p, spec).await)?, "Experiment") })
    }

    /// One experiment of the principal's account.
    fn get_experiment(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.get_experiment(&p, id).await)?, "Experiment") })
    }

    /// The account's experiments, newest first: a `Page` whose `next_cursor` is the
    /// `after` of the next page.
    #[pyo3(signature = (principal, *, limit = None, after = None))]
    fn list_experiments(&self, echo, py, principal: &Principal, limit: Option<u32>, after: Option<String>) -> Typed {
        let p = principal.core().clone();
        Ok::<_, PyErr>(async move {
            Typed::page(&core(echo.list_experiments(&p, &page(limit, after)).await)?, "Experiment")
        })
    }

    /// Replaces an experiment's spec (validated as on create).
    fn update_experiment(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>,
        spec: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        let spec: ExperimentSpec = convert::from_py(spec, "spec")?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.update_experiment(&p, id, spec).await)?, "Experiment") })
    }

    /// Deletes an experiment with its runs; `ConflictError` while one of them runs.
    fn delete_experiment(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>) -> () {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        Ok::<_, PyErr>(async move { core(echo.delete_experiment(&p, id).await) })
    }

    /// The expected cost of one run of the experiment, before anything is spent.
    fn estimate(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.estimate(&p, id).await)?, "Estimate") })
    }

    /// Plans and enqueues a run without executing it (workers execute it). Checks quota
    /// and rate limits first (`QuotaExceededError`, `RateLimitedError`).
    #[pyo3(signature = (principal, experiment_id, *, seed = None, concurrency = None))]
    fn enqueue_run(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, seed: Option<u64>,
        concurrency: Option<usize>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        Ok::<_, PyErr>(async move {
            Typed::one(&core(echo.enqueue_run(&p, id, &run_options(seed, concurrency)).await)?, "Run")
        })
    }

    /// One run of the principal's account.
    fn get_run(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(run_id, RunId::parse)?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.get_run(&p, id).await)?, "Run") })
    }

    /// The runs of an experiment, newest first (a `Page`).
    #[pyo3(signature = (principal, experiment_id, *, limit = None, after = None))]
    fn list_runs(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, limit: Option<u32>,
        after: Option<String>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        Ok::<_, PyErr>(async move { Typed::page(&core(echo.list_runs(&p, id, &page(limit, after)).await)?, "Run") })
    }

    /// Cancels a run: an execution in this process stops; elsewhere its pending samples
    /// are cancelled.
    fn cancel_run(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>) -> () {
        let p = principal.core().clone();
        let id = convert::id(run_id, RunId::parse)?;
        Ok::<_, PyErr>(async move { core(echo.cancel_run(&p, id).await) })
    }

    /// The report of a run, from its stored answers (during or after execution).
    fn report(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(run_id, RunId::parse)?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.report(&p, id).await)?, "Report") })
    }

    /// Recomputes a run's report with other brands (a list of `BrandSpec`); no provider is
    /// called and nothing is written.
    fn reanalyze(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>, brands: &Bound<'_, PyAny>)
        -> Typed {
        let p = principal.core().clone();
        let id = convert::id(run_id, RunId::parse)?;
        let brands: Vec<BrandSpec> = convert::from_py(brands, "brands")?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.reanalyze(&p, id, brands).await)?, "Report") })
    }
}
