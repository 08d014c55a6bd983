//! `Echo` and `AsyncEcho`, mirroring `echo_core::engine::Echo`: opening an engine, accounts,
//! experiments, runs as stored objects, reports and estimates.
//!
//! Both classes share one core engine; `Echo` blocks (releasing the GIL, honouring
//! Ctrl-C), `AsyncEcho` returns awaitables. Every operation is written once, as a future
//! built from converted arguments, by [`echo_methods!`], which generates the blocking and
//! the async method from the same body. The other operations live in the modules that
//! mirror where the core defines them (`keys`, `quota`, `schedule`, `statistics`, `run`,
//! `adaptive`, `worker`, `audit`, `gdpr`, `privacy`).

use std::sync::Arc;
use std::time::Duration;

use echo_core::Error;
use echo_core::engine::{Echo as CoreEcho, EchoBuilder, RunOptions};
use echo_core::model::{BrandSpec, ExperimentId, ExperimentSpec, NewAccount, PageRequest, RunId};
use echo_core::provider::DynProvider;
use echo_core::quota::{TierLimits, TieredQuotaPolicy, UnmeteredQuotaPolicy};
use echo_core::store::PgConfig;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::auth::Principal;
use crate::clock::ManualClock;
use crate::convert::{self, Typed, core};
use crate::errors::to_py_err;
use crate::provider::Provider;
use crate::runtime::InRuntime;

/// Generates the one `#[pymethods]` block of `Echo` and of `AsyncEcho` (see `api.rs`):
/// the items given for each class, plus, from one definition per operation, a blocking
/// method on `Echo` and an async method on `AsyncEcho`.
///
/// Each operation's body runs with the GIL held, converts its arguments, and evaluates to
/// `PyResult<impl Future<Output = PyResult<T>> + Send + 'static>`; `$echo` is a clone of
/// the core engine for the future to own. (One block per class, rather than pyo3's
/// `multiple-pymethods`, whose load-time registration keeps Python symbols alive in the
/// crate's own test binary, which is linked without libpython.)
macro_rules! echo_api {
    (
        sync { $($sync:tt)* }
        async { $($async_:tt)* }
        $(
            $(#[$meta:meta])*
            fn $name:ident(&self, $echo:ident, $py:ident $(, $arg:ident : $ty:ty)* $(,)?) -> $out:ty $body:block
        )*
    ) => {
        #[pyo3::pymethods]
        impl $crate::engine::Echo {
            $($sync)*
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
            $($async_)*
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
pub(crate) use echo_api;

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
pub(crate) struct OpenOptions {
    pub(crate) builder: EchoBuilder,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn open_options(
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
    privacy: PrivacyOptions<'_, '_>,
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
    builder = privacy_options(py, builder, privacy)?;
    Ok(OpenOptions { builder })
}

/// The privacy and time options of `open`, mirroring the `EchoBuilder` methods of the same
/// names.
pub(crate) struct PrivacyOptions<'a, 'py> {
    /// An `echo_ai.RetentionPolicy` (or dict); unset fields keep the core's defaults.
    pub(crate) retention: Option<&'a Bound<'py, PyAny>>,
    /// One purpose or a list of purposes every account must have granted before its runs.
    pub(crate) require_consent: Option<&'a Bound<'py, PyAny>>,
    pub(crate) deletion_grace: Option<&'a Bound<'py, PyAny>>,
    pub(crate) erasure_batch: Option<u32>,
    pub(crate) clock: Option<PyRef<'py, ManualClock>>,
}

fn privacy_options(py: Python<'_>, mut builder: EchoBuilder, options: PrivacyOptions<'_, '_>) -> PyResult<EchoBuilder> {
    let invalid = |field: &str, msg: &str| to_py_err(py, &Error::invalid(field, msg));
    let retention = match options.retention.filter(|r| !r.is_none()) {
        Some(r) => Some(crate::privacy::retention_policy_from_py(r)?),
        None => None,
    };
    if let Some((policy, sets_grace)) = retention {
        // `deletion_grace=` is the core's shorthand for the policy's field; given both ways,
        // one would silently win.
        if options.deletion_grace.is_some() && sets_grace {
            return Err(invalid(
                "deletion_grace",
                "is given twice (also as retention.deletion_grace); pass it in one place",
            ));
        }
        builder = builder.retention_policy(policy);
    }
    if let Some(grace) = options.deletion_grace {
        builder = builder.deletion_grace(convert::duration(grace, "deletion_grace")?);
    }
    if let Some(purposes) = options.require_consent.filter(|p| !p.is_none()) {
        let purposes: Vec<String> = if let Ok(one) = purposes.extract::<String>() {
            vec![one]
        } else {
            purposes.extract().map_err(|_| {
                invalid(
                    "require_consent",
                    "must be a purpose (e.g. \"data_processing\") or a list of purposes",
                )
            })?
        };
        for purpose in purposes {
            builder = builder.require_consent(purpose);
        }
    }
    if let Some(rows) = options.erasure_batch {
        builder = builder.erasure_batch(rows);
    }
    if let Some(clock) = options.clock {
        builder = builder.clock(clock.core());
    }
    Ok(builder)
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
        "must be a URL (sqlite:///path/to/echo.db, postgres://user@host/db), a path to a SQLite file, or None".into(),
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

/// Run options from keyword arguments (`adaptive` as `adaptive::options` reads it;
/// `correlation_id` as given: the core falls back to the principal's request one when
/// `None`, and trims and caps it like the request's).
pub(crate) fn run_options(
    seed: Option<u64>,
    concurrency: Option<usize>,
    adaptive: Option<&Bound<'_, PyAny>>,
    correlation_id: Option<String>,
) -> PyResult<RunOptions> {
    Ok(RunOptions {
        seed,
        concurrency,
        adaptive: crate::adaptive::options(adaptive)?,
        correlation_id,
    })
}

/// The work of `Echo.create_account` / `AsyncEcho.create_account` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn create_account(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    name: String,
    external_id: Option<String>,
    tier: Option<String>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move {
        let account = core(
            echo.create_account(
                &p,
                NewAccount {
                    name,
                    external_id,
                    tier,
                },
            )
            .await,
        )?;
        Typed::one(&account, "Account")
    })
}

/// The work of `Echo.get_account` / `AsyncEcho.get_account` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn get_account(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.get_account(&p).await)?, "Account") })
}

/// The work of `Echo.create_experiment` / `AsyncEcho.create_experiment` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn create_experiment(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    spec: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let spec: ExperimentSpec = convert::from_py(spec, "spec")?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.create_experiment(&p, spec).await)?, "Experiment") })
}

/// The work of `Echo.get_experiment` / `AsyncEcho.get_experiment` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn get_experiment(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.get_experiment(&p, id).await)?, "Experiment") })
}

/// The work of `Echo.list_experiments` / `AsyncEcho.list_experiments` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn list_experiments(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    limit: Option<u32>,
    after: Option<String>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move {
        Typed::page(
            &core(echo.list_experiments(&p, &page(limit, after)).await)?,
            "Experiment",
        )
    })
}

/// The work of `Echo.update_experiment` / `AsyncEcho.update_experiment` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn update_experiment(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    spec: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    let spec: ExperimentSpec = convert::from_py(spec, "spec")?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.update_experiment(&p, id, spec).await)?, "Experiment") })
}

/// The work of `Echo.delete_experiment` / `AsyncEcho.delete_experiment` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn delete_experiment(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    Ok::<_, PyErr>(async move { core(echo.delete_experiment(&p, id).await) })
}

/// The work of `Echo.estimate` / `AsyncEcho.estimate` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn estimate(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.estimate(&p, id).await)?, "Estimate") })
}

/// The work of `Echo.enqueue_run` / `AsyncEcho.enqueue_run` (documented in `api.rs`).
#[allow(unused_variables, clippy::too_many_arguments)]
pub(crate) fn enqueue_run(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    seed: Option<u64>,
    concurrency: Option<usize>,
    adaptive: Option<&Bound<'_, PyAny>>,
    correlation_id: Option<String>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    let options = run_options(seed, concurrency, adaptive, correlation_id)?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.enqueue_run(&p, id, &options).await)?, "Run") })
}

/// The work of `Echo.get_run` / `AsyncEcho.get_run` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn get_run(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    run_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(run_id, RunId::parse)?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.get_run(&p, id).await)?, "Run") })
}

/// The work of `Echo.list_runs` / `AsyncEcho.list_runs` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn list_runs(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    experiment_id: &Bound<'_, PyAny>,
    limit: Option<u32>,
    after: Option<String>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(experiment_id, ExperimentId::parse)?;
    Ok::<_, PyErr>(async move { Typed::page(&core(echo.list_runs(&p, id, &page(limit, after)).await)?, "Run") })
}

/// The work of `Echo.cancel_run` / `AsyncEcho.cancel_run` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn cancel_run(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    run_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<()>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(run_id, RunId::parse)?;
    Ok::<_, PyErr>(async move { core(echo.cancel_run(&p, id).await) })
}

/// The work of `Echo.report` / `AsyncEcho.report` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn report(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    run_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(run_id, RunId::parse)?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.report(&p, id).await)?, "Report") })
}

/// The work of `Echo.reanalyze` / `AsyncEcho.reanalyze` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn reanalyze(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    run_id: &Bound<'_, PyAny>,
    brands: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(run_id, RunId::parse)?;
    let brands: Vec<BrandSpec> = convert::from_py(brands, "brands")?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.reanalyze(&p, id, brands).await)?, "Report") })
}
