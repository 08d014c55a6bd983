//! The Python surface of `Echo` and `AsyncEcho`: every method, in one list.
//!
//! pyo3 takes one `#[pymethods]` block per class, so this file lists them all, grouped as
//! the core groups them; each operation's work (argument conversion and the future that
//! calls the core) lives in the module mirroring the core's: `engine` (accounts,
//! experiments, runs as stored objects, reports), `run`, `adaptive`, `keys`, `quota`,
//! `schedule`, `statistics`, `worker`, `audit`, `gdpr`, `privacy`.
//! [`echo_api!`](crate::engine::echo_api) turns each operation into a blocking method of
//! `Echo` and an async method of `AsyncEcho`.

use std::sync::Arc;

use echo_core::model::ExperimentId;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::auth::Principal;
use crate::clock::ManualClock;
use crate::convert::{self, Typed, core};
use crate::engine::{AsyncEcho, Echo, Engine, PrivacyOptions, echo_api, open_options, run_options};
use crate::handle::RunHandle;
use crate::provider::Provider;
use crate::runtime::{InRuntime, block_on, future_into_py};
use crate::worker::{self, WorkerHandle};

echo_api! {
    sync {
    #[staticmethod]
    #[pyo3(signature = (database = None, *, providers = Vec::new(), providers_from_env = false,
        concurrency = None, lease = None, max_attempts = None, resilience = true, quota = None,
        key_usage_flush = None, reservation_hold = None, pool = None, retention = None,
        require_consent = None, deletion_grace = None, erasure_batch = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    /// Opens an engine: the store (migrated on open) and the providers.
    ///
    /// `database`: `None` for a private in-memory SQLite database, a URL
    /// (`sqlite:///path/to/echo.db`, `postgres://user@host:5432/db`) or a path to a SQLite
    /// file. `pool`: PostgreSQL pool settings (`max_connections`, `min_connections`,
    /// `acquire_timeout`, `idle_timeout`, `max_lifetime`, `statement_timeout`,
    /// `application_name`). `quota`: `"standard"` (default), `"unmetered"` or a dict of
    /// tier names to `TierLimits`. Durations are seconds or `timedelta`s.
    ///
    /// Privacy: `retention` (a `RetentionPolicy`: how long raw answers, audit events and
    /// deletion requests are kept; unset fields keep the defaults of 90 days, 2 years and 30
    /// days), `require_consent` (a purpose or list of purposes every account must have
    /// granted, with `record_consent`, before its runs start), `deletion_grace` (shorthand
    /// for the retention policy's field), `erasure_batch` (rows per erasure transaction).
    /// `clock`: a `ManualClock`, for tests that move time instead of sleeping.
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
        retention: Option<&Bound<'_, PyAny>>,
        require_consent: Option<&Bound<'_, PyAny>>,
        deletion_grace: Option<&Bound<'_, PyAny>>,
        erasure_batch: Option<u32>,
        clock: Option<PyRef<'_, ManualClock>>,
    ) -> PyResult<Echo> {
        let options = open_options(
            py,
            database,
            providers,
            providers_from_env,
            concurrency,
            lease,
            max_attempts,
            resilience,
            quota,
            key_usage_flush,
            reservation_hold,
            pool,
            PrivacyOptions {
                retention,
                require_consent,
                deletion_grace,
                erasure_batch,
                clock,
            },
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
        Ok(self
            .core(py)?
            .providers()
            .ids()
            .into_iter()
            .map(str::to_string)
            .collect())
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
    /// Starts a run and waits for its `Report`: `start_run(...).wait(progress)`.
    /// `progress`: a callable receiving `Progress` snapshots, or `True` for a tqdm bar.
    /// `correlation_id` as for `enqueue_run`.
    #[pyo3(signature = (principal, experiment_id, *, seed = None, concurrency = None, adaptive = None, progress = None,
        correlation_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        principal: &Principal,
        experiment_id: &Bound<'_, PyAny>,
        seed: Option<u64>,
        concurrency: Option<usize>,
        adaptive: Option<&Bound<'_, PyAny>>,
        progress: Option<Bound<'_, PyAny>>,
        correlation_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let echo = self.core(py)?;
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        let options = run_options(seed, concurrency, adaptive, correlation_id)?;
        // A bad `progress` is refused before the run starts (and spends quota).
        let progress = match progress {
            Some(p) => Some(py.import("echo_ai.progress")?.call_method1("_resolve_sink", (p,))?),
            None => None,
        };
        let handle = block_on(py, async move {
            let handle = core(echo.start_run(&p, id, options).await)?;
            Ok(RunHandle::spawn(echo, p, handle))
        })?;
        let handle = Bound::new(py, handle)?;
        handle.call_method1("wait", (progress,)).map(Bound::unbind)
    }

    /// Starts a worker in the background: it executes pending samples of any run in the
    /// database with this engine's providers, and (with `run_scheduler`) takes part in
    /// leader election to create scheduled runs and run maintenance.
    #[pyo3(signature = (*, concurrency = None, owner = None, poll_interval = None, shutdown_grace = None,
        run_scheduler = true, maintenance_interval = None))]
    #[allow(clippy::too_many_arguments)]
    fn start_worker(
        &self,
        py: Python<'_>,
        concurrency: Option<usize>,
        owner: Option<String>,
        poll_interval: Option<&Bound<'_, PyAny>>,
        shutdown_grace: Option<&Bound<'_, PyAny>>,
        run_scheduler: bool,
        maintenance_interval: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<WorkerHandle> {
        let config = worker::config(concurrency, owner, poll_interval, shutdown_grace, run_scheduler, maintenance_interval)?;
        worker::start(py, self, config)
    }

    /// The retention policy in force (a `RetentionPolicy`, every field set).
    fn retention_policy(&self, py: Python<'_>) -> PyResult<Typed> {
        crate::privacy::retention_policy(&self.core(py)?)
    }

    /// The engine's current time (a UTC datetime, to the millisecond): its clock's, so with
    /// `open(clock=ManualClock(...))` the manual clock's. What `apply_retention` uses when
    /// given no `now`.
    fn now(&self, py: Python<'_>) -> PyResult<Typed> {
        Typed::one(&self.core(py)?.now(), "datetime")
    }
    }
    async {
    #[staticmethod]
    #[pyo3(signature = (database = None, *, providers = Vec::new(), providers_from_env = false,
        concurrency = None, lease = None, max_attempts = None, resilience = true, quota = None,
        key_usage_flush = None, reservation_hold = None, pool = None, retention = None,
        require_consent = None, deletion_grace = None, erasure_batch = None, clock = None))]
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
        retention: Option<&Bound<'_, PyAny>>,
        require_consent: Option<&Bound<'_, PyAny>>,
        deletion_grace: Option<&Bound<'_, PyAny>>,
        erasure_batch: Option<u32>,
        clock: Option<PyRef<'_, ManualClock>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = open_options(
            py,
            database,
            providers,
            providers_from_env,
            concurrency,
            lease,
            max_attempts,
            resilience,
            quota,
            key_usage_flush,
            reservation_hold,
            pool,
            PrivacyOptions {
                retention,
                require_consent,
                deletion_grace,
                erasure_batch,
                clock,
            },
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
        Ok(self
            .core(py)?
            .providers()
            .ids()
            .into_iter()
            .map(str::to_string)
            .collect())
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
    fn __aexit__<'py>(&self, py: Python<'py>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        let echo = self.core(py)?;
        future_into_py(py, async move {
            echo.close().await;
            Ok(false)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("AsyncEcho(providers={:?})", self.providers(py)?))
    }
    /// Starts a run and resolves to its `Report` (awaitable). For progress, use
    /// `start_run` and iterate `handle.updates()`. `correlation_id` as for `enqueue_run`.
    #[pyo3(signature = (principal, experiment_id, *, seed = None, concurrency = None, adaptive = None,
        correlation_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        principal: &Principal,
        experiment_id: &Bound<'_, PyAny>,
        seed: Option<u64>,
        concurrency: Option<usize>,
        adaptive: Option<&Bound<'_, PyAny>>,
        correlation_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let echo = self.core(py)?;
        let p = principal.core().clone();
        let id = convert::id(experiment_id, ExperimentId::parse)?;
        let options = run_options(seed, concurrency, adaptive, correlation_id)?;
        future_into_py(py, async move {
            let handle = core(echo.start_run(&p, id, options).await)?;
            Typed::one(&core(handle.wait().await)?, "Report")
        })
    }

    /// Starts a worker in the background: it executes pending samples of any run in the
    /// database with this engine's providers, and (with `run_scheduler`) takes part in
    /// leader election to create scheduled runs and run maintenance.
    #[pyo3(signature = (*, concurrency = None, owner = None, poll_interval = None, shutdown_grace = None,
        run_scheduler = true, maintenance_interval = None))]
    #[allow(clippy::too_many_arguments)]
    fn start_worker(
        &self,
        py: Python<'_>,
        concurrency: Option<usize>,
        owner: Option<String>,
        poll_interval: Option<&Bound<'_, PyAny>>,
        shutdown_grace: Option<&Bound<'_, PyAny>>,
        run_scheduler: bool,
        maintenance_interval: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<WorkerHandle> {
        let config = worker::config(concurrency, owner, poll_interval, shutdown_grace, run_scheduler, maintenance_interval)?;
        worker::start(py, self, config)
    }

    /// The retention policy in force (a `RetentionPolicy`, every field set). Not awaitable:
    /// it is the engine's configuration, nothing is read.
    fn retention_policy(&self, py: Python<'_>) -> PyResult<Typed> {
        crate::privacy::retention_policy(&self.core(py)?)
    }

    /// The engine's current time (a UTC datetime, to the millisecond): its clock's, so with
    /// `open(clock=ManualClock(...))` the manual clock's. Not awaitable: nothing is read.
    /// What `apply_retention` uses when given no `now`.
    fn now(&self, py: Python<'_>) -> PyResult<Typed> {
        Typed::one(&self.core(py)?.now(), "datetime")
    }
    }

    /// Creates an account (tenant). Only `Principal.admin()` may.
    #[pyo3(signature = (principal, name, *, external_id = None, tier = None))]
    fn create_account(&self, echo, py, principal: &Principal, name: String, external_id: Option<String>, tier: Option<String>) -> Typed {
        crate::engine::create_account(echo, py, principal, name, external_id, tier)
    }

    /// The principal's own account.
    fn get_account(&self, echo, py, principal: &Principal) -> Typed {
        crate::engine::get_account(echo, py, principal)
    }

    /// Validates and stores an experiment (`spec`: an `ExperimentSpec` or an equivalent
    /// dict). Invalid specs raise `InvalidInputError` naming the field; nothing is written.
    fn create_experiment(&self, echo, py, principal: &Principal, spec: &Bound<'_, PyAny>) -> Typed {
        crate::engine::create_experiment(echo, py, principal, spec)
    }

    /// One experiment of the principal's account.
    fn get_experiment(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>) -> Typed {
        crate::engine::get_experiment(echo, py, principal, experiment_id)
    }

    /// The account's experiments, newest first: a `Page` whose `next_cursor` is the
    /// `after` of the next page.
    #[pyo3(signature = (principal, *, limit = None, after = None))]
    fn list_experiments(&self, echo, py, principal: &Principal, limit: Option<u32>, after: Option<String>) -> Typed {
        crate::engine::list_experiments(echo, py, principal, limit, after)
    }

    /// Replaces an experiment's spec (validated as on create).
    fn update_experiment(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, spec: &Bound<'_, PyAny>) -> Typed {
        crate::engine::update_experiment(echo, py, principal, experiment_id, spec)
    }

    /// Deletes an experiment with its runs; `ConflictError` while one of them runs.
    fn delete_experiment(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>) -> () {
        crate::engine::delete_experiment(echo, py, principal, experiment_id)
    }

    /// The expected cost of one run of the experiment, before anything is spent.
    fn estimate(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>) -> Typed {
        crate::engine::estimate(echo, py, principal, experiment_id)
    }

    /// Plans and enqueues a run without executing it (workers execute it). Checks quota
    /// and rate limits first (`QuotaExceededError`, `RateLimitedError`).
    /// `adaptive`: sample each target until its brands are known to a precision instead of
    /// the spec's `repeats` (a half-width such as 0.05, an `AdaptiveGoal` or
    /// `AdaptiveOptions`); quota is reserved for the maximum and the unused part refunded.
    /// `correlation_id`: the host's id for this piece of work (e.g. its request or job id);
    /// it is stored on the run (`Run.correlation_id`), recorded in the `run.enqueue` audit
    /// event and put on the tracing spans of the run's execution in every process. When
    /// `None` (or blank), the principal's `with_request(correlation_id=...)` is used.
    #[pyo3(signature = (principal, experiment_id, *, seed = None, concurrency = None, adaptive = None, correlation_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn enqueue_run(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, seed: Option<u64>, concurrency: Option<usize>, adaptive: Option<&Bound<'_, PyAny>>, correlation_id: Option<String>) -> Typed {
        crate::engine::enqueue_run(echo, py, principal, experiment_id, seed, concurrency, adaptive, correlation_id)
    }

    /// One run of the principal's account.
    fn get_run(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>) -> Typed {
        crate::engine::get_run(echo, py, principal, run_id)
    }

    /// The runs of an experiment, newest first (a `Page`).
    #[pyo3(signature = (principal, experiment_id, *, limit = None, after = None))]
    fn list_runs(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, limit: Option<u32>, after: Option<String>) -> Typed {
        crate::engine::list_runs(echo, py, principal, experiment_id, limit, after)
    }

    /// Cancels a run: an execution in this process stops; elsewhere its pending samples
    /// are cancelled.
    fn cancel_run(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>) -> () {
        crate::engine::cancel_run(echo, py, principal, run_id)
    }

    /// The report of a run, from its stored answers (during or after execution).
    fn report(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>) -> Typed {
        crate::engine::report(echo, py, principal, run_id)
    }

    /// Recomputes a run's report with other brands (a list of `BrandSpec`); no provider is
    /// called and nothing is written.
    fn reanalyze(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>, brands: &Bound<'_, PyAny>) -> Typed {
        crate::engine::reanalyze(echo, py, principal, run_id, brands)
    }

    /// Creates an API key for the principal's account and returns a `CreatedApiKey` whose
    /// `secret` is the plaintext key: show it once, it cannot be read again. `scopes` are
    /// scope names (`experiments:read`, ...), each held by the principal; `expires_at` a
    /// timezone-aware datetime; `environment` `"live"` or `"test"`.
    #[pyo3(signature = (principal, name, scopes, *, expires_at = None, environment = "live"))]
    fn create_api_key(&self, echo, py, principal: &Principal, name: String, scopes: Vec<String>, expires_at: Option<&Bound<'_, PyAny>>, environment: &str) -> Typed {
        crate::keys::create_api_key(echo, py, principal, name, scopes, expires_at, environment)
    }

    /// The account's keys (revoked and expired included), newest first (a `Page` of
    /// `ApiKey`, never with secrets).
    #[pyo3(signature = (principal, *, limit = None, after = None))]
    fn list_api_keys(&self, echo, py, principal: &Principal, limit: Option<u32>, after: Option<String>) -> Typed {
        crate::keys::list_api_keys(echo, py, principal, limit, after)
    }

    /// Revokes a key of the principal's account: it stops authenticating at once, in every
    /// process. Returns the revoked `ApiKey`.
    fn revoke_api_key(&self, echo, py, principal: &Principal, key_id: &Bound<'_, PyAny>) -> Typed {
        crate::keys::revoke_api_key(echo, py, principal, key_id)
    }

    /// The `Principal` a presented API key stands for, or `UnauthenticatedError` (its
    /// `reason` is for the host's logs; the message is the same for unknown, revoked and
    /// expired keys).
    fn authenticate(&self, echo, py, key: String) -> Principal {
        crate::keys::authenticate(echo, py, key)
    }

    /// Writes pending `last_used_at` updates now; returns how many keys changed.
    fn flush_key_usage(&self, echo, py) -> u64 {
        crate::keys::flush_key_usage(echo, py)
    }

    /// The principal's allowance this period (a `QuotaStatus`): used, reserved by runs in
    /// progress, the limit, what is left and when it resets.
    fn quota_status(&self, echo, py, principal: &Principal) -> Typed {
        crate::quota::quota_status(echo, py, principal)
    }

    /// Takes one request from the principal's bucket of `policy` (per API key, else per
    /// account) and returns the `RateLimitDecision`, allowed or not, with its HTTP headers.
    /// Shared by every process on the database.
    fn check_rate_limit(&self, echo, py, principal: &Principal, policy: &Bound<'_, PyAny>) -> Typed {
        crate::quota::check_rate_limit(echo, py, principal, policy)
    }

    /// Maintenance: releases quota reservations held past their hold; returns how many.
    fn expire_reservations(&self, echo, py) -> u64 {
        crate::quota::expire_reservations(echo, py)
    }

    /// Maintenance: deletes rate-limit buckets that are full again; returns how many.
    fn purge_rate_limits(&self, echo, py) -> u64 {
        crate::quota::purge_rate_limits(echo, py)
    }

    /// Enqueues a run and executes it in this process; returns a `RunHandle` to watch
    /// progress, wait for the report, or cancel. Quota and rate limits are checked first.
    /// `adaptive` and `correlation_id` as for `enqueue_run`.
    #[pyo3(signature = (principal, experiment_id, *, seed = None, concurrency = None, adaptive = None, correlation_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn start_run(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, seed: Option<u64>, concurrency: Option<usize>, adaptive: Option<&Bound<'_, PyAny>>, correlation_id: Option<String>) -> RunHandle {
        crate::run::start_run(echo, py, principal, experiment_id, seed, concurrency, adaptive, correlation_id)
    }

    /// Executes the unfinished samples of an existing run (after a crash, or one only
    /// enqueued); answered samples are not asked again.
    fn resume_run(&self, echo, py, principal: &Principal, run_id: &Bound<'_, PyAny>) -> RunHandle {
        crate::run::resume_run(echo, py, principal, run_id)
    }

    /// Sets (or with `None` removes) the schedule of an experiment; returns the first slot
    /// (a UTC datetime) or `None`. Runs are created by workers with the scheduler on.
    fn set_schedule(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, schedule: Option<&Bound<'_, PyAny>>) -> Typed {
        crate::schedule::set_schedule(echo, py, principal, experiment_id, schedule)
    }

    /// The experiment's `ScheduleInfo`, or `None` when it runs only on demand.
    fn schedule(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>) -> Typed {
        crate::schedule::schedule(echo, py, principal, experiment_id)
    }

    /// The id of the run the scheduler created for `slot` (a datetime), if any.
    fn scheduled_run(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, slot: &Bound<'_, PyAny>) -> Option<String> {
        crate::schedule::scheduled_run(echo, py, principal, experiment_id, slot)
    }

    /// How many repeats the experiment needs for a visibility interval of ±`half_width`
    /// (0.05 for ±5 points), at `expected_rate` and at the worst case, what that costs, and
    /// the adaptive alternative (a `Plan`). `scope`: `"target"` (pooled over prompts) or
    /// `"cell"` (each prompt). Nothing is written or spent.
    #[pyo3(signature = (principal, experiment_id, half_width, *, expected_rate = None, scope = "target"))]
    fn plan(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, half_width: f64, expected_rate: Option<f64>, scope: &str) -> Typed {
        crate::statistics::plan(echo, py, principal, experiment_id, half_width, expected_rate, scope)
    }

    /// Every brand's visibility, overall and per target, over the experiment's last `limit`
    /// finished runs (oldest first), each point with its interval and a flag on significant
    /// changes (a list of `VisibilitySeries`).
    #[pyo3(signature = (principal, experiment_id, *, limit = 10))]
    fn visibility_series(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, limit: u32) -> Typed {
        crate::statistics::visibility_series(echo, py, principal, experiment_id, limit)
    }

    /// Compares every brand's visibility between two runs (a `RunComparison`): Newcombe
    /// 95% intervals for the differences and a two-sided test, significant at `alpha`.
    #[pyo3(signature = (principal, before, after, *, alpha = 0.05))]
    fn compare_runs(&self, echo, py, principal: &Principal, before: &Bound<'_, PyAny>, after: &Bound<'_, PyAny>, alpha: f64) -> Typed {
        crate::statistics::compare_runs(echo, py, principal, before, after, alpha)
    }

    /// The worst-case and expected cost of an adaptive run (an `AdaptiveEstimate`):
    /// `adaptive` as for `enqueue_run`; the expected case assumes the goal brand closest to
    /// ½ has visibility `expected_rate` (0.5, the default, is the worst case).
    #[pyo3(signature = (principal, experiment_id, adaptive, *, expected_rate = 0.5))]
    fn estimate_adaptive(&self, echo, py, principal: &Principal, experiment_id: &Bound<'_, PyAny>, adaptive: &Bound<'_, PyAny>, expected_rate: f64) -> Typed {
        crate::adaptive::estimate_adaptive(echo, py, principal, experiment_id, adaptive, expected_rate)
    }

    /// Audit events, oldest first, as an `AuditPage` (pass its `next_after_seq` as
    /// `after_seq` for the next page). Filters: `account` (an id), `action` (a name from
    /// `audit_actions()`), `since` (at or after) and `before` (strictly before),
    /// timezone-aware datetimes. `limit`: 100 by default, at most 1000. Operators only
    /// (`Principal.admin()`); the query itself is recorded (`audit.read`).
    #[pyo3(signature = (principal, *, account = None, action = None, since = None, before = None, after_seq = None, limit = None))]
    fn audit_events(&self, echo, py, principal: &Principal, account: Option<&Bound<'_, PyAny>>, action: Option<&str>, since: Option<&Bound<'_, PyAny>>, before: Option<&Bound<'_, PyAny>>, after_seq: Option<i64>, limit: Option<u32>) -> Typed {
        crate::audit::audit_events(echo, py, principal, account, action, since, before, after_seq, limit)
    }

    /// Re-walks the audit hash chain from the newest retention checkpoint and checks the
    /// stored head (an `AuditVerification`; `ok` is False with `first_broken` on tampering).
    /// With `anchor` (an `AuditHead` from `audit_head` kept outside the database), also
    /// checks that event still has that hash, which detects a trail rewritten together with
    /// its stored head. Operators only.
    #[pyo3(signature = (principal, anchor = None))]
    fn verify_audit_chain(&self, echo, py, principal: &Principal, anchor: Option<&Bound<'_, PyAny>>) -> Typed {
        crate::audit::verify_audit_chain(echo, py, principal, anchor)
    }

    /// The newest audit event's seq and hash (an `AuditHead`): copy it somewhere the
    /// database's writers cannot reach, and pass it later as `verify_audit_chain(anchor=)`.
    /// Operators only.
    fn audit_head(&self, echo, py, principal: &Principal) -> Typed {
        crate::audit::audit_head(echo, py, principal)
    }

    /// Retention of the trail: deletes every audit event before the first one at or after
    /// `before` (a datetime, not in the future), leaving a checkpoint so the rest still
    /// verifies; returns an `AuditPurgeReport`. Idempotent. `apply_retention` does this with
    /// the policy's `audit_ttl`; this is for hosts running their own schedule.
    fn purge_audit_events(&self, echo, py, before: &Bound<'_, PyAny>) -> Typed {
        crate::audit::purge_audit_events(echo, py, before)
    }

    /// Erasure: clears the ip and user agent of every audit event of the account (the
    /// events and the chain's verifiability stay); returns how many events were cleared.
    /// The erasure of a deleted account does this itself.
    fn erase_audit_personal_data(&self, echo, py, account_id: &Bound<'_, PyAny>) -> u64 {
        crate::audit::erase_audit_personal_data(echo, py, account_id)
    }

    /// Writes everything Echo holds about the principal's account as one versioned JSON
    /// bundle (`docs/privacy.md`) and returns an `ExportSummary`. `destination`: a path (the
    /// bundle is written next to it and renamed into place, so the path never holds a
    /// partial export) or a binary file object (`open(p, "wb")`, `io.BytesIO()`), written
    /// as the bundle streams, flushed and left open. The host or the operator acting for the
    /// account may export; an API key may not.
    fn export_account(&self, echo, py, principal: &Principal, destination: &Bound<'_, PyAny>) -> Typed {
        crate::gdpr::export_account(echo, py, principal, destination)
    }

    /// Requests the erasure of the principal's account (a `DeletionRequest`). At once: the
    /// account is blocked (its operations raise `PermissionDeniedError` with
    /// `account_status="deletion_pending"`), its API keys are revoked, its schedules paused
    /// and its unfinished runs cancelled; the data is erased after the grace period
    /// (`deletion_grace`, 30 days by default). Host or operator only; `ConflictError` if a
    /// deletion is already pending.
    fn request_deletion(&self, echo, py, principal: &Principal) -> Typed {
        crate::gdpr::request_deletion(echo, py, principal)
    }

    /// Cancels the account's pending deletion before its deadline (the `DeletionRecord`):
    /// the account is active again and its schedules resume; its keys stay revoked (create
    /// new ones). Only the operator acting for the account
    /// (`Principal.admin().acting_for(id)`).
    fn cancel_deletion(&self, echo, py, principal: &Principal) -> Typed {
        crate::gdpr::cancel_deletion(echo, py, principal)
    }

    /// The account's deletion requests, newest first (a list of `DeletionRecord`), also
    /// while one is pending and after the erasure (a completed request is its record).
    fn deletion_requests(&self, echo, py, principal: &Principal) -> Typed {
        crate::gdpr::deletion_requests(echo, py, principal)
    }

    /// Erases the accounts whose grace period is over, at most `max_batches` transactions
    /// of `erasure_batch` rows (default: what the worker leader's sweep does per pass);
    /// returns an `ErasurePass`: call again while its `more` is True. Workers do this on
    /// their own; call it when you run none.
    #[pyo3(signature = (*, max_batches = None))]
    fn erase_due_accounts(&self, echo, py, max_batches: Option<u32>) -> Typed {
        crate::gdpr::erase_due_accounts(echo, py, max_batches)
    }

    /// Sets the account's privacy settings (a `PrivacySettings`): `redact_pii` replaces
    /// emails, phone numbers and card numbers in answers with placeholders before they are
    /// stored; `phone_regions` (ISO 3166-1 alpha-2 codes, default US, GB, DE, FR) are the
    /// national phone formats recognized. Applies to samples answered from now on.
    #[pyo3(signature = (principal, *, redact_pii, phone_regions = None))]
    fn set_privacy_settings(&self, echo, py, principal: &Principal, redact_pii: bool, phone_regions: Option<Vec<String>>) -> Typed {
        crate::privacy::set_privacy_settings(echo, py, principal, redact_pii, phone_regions)
    }

    /// The account's privacy settings (the defaults, redaction off, if never set).
    fn privacy_settings(&self, echo, py, principal: &Principal) -> Typed {
        crate::privacy::privacy_settings(echo, py, principal)
    }

    /// Appends a consent decision for the principal's account and returns the `Consent`
    /// as stored: `purpose` (e.g. `"data_processing"`), the `policy_version` the customer
    /// saw, `granted=False` to record a withdrawal, and where it was captured (`source`).
    /// Records are never changed; the latest per purpose is in force. The host (or the
    /// operator) records consent; an API key may not.
    #[pyo3(signature = (principal, purpose, policy_version, *, granted = true, source = None))]
    fn record_consent(&self, echo, py, principal: &Principal, purpose: String, policy_version: String, granted: bool, source: Option<String>) -> Typed {
        crate::privacy::record_consent(echo, py, principal, purpose, policy_version, granted, source)
    }

    /// The account's `Consents`: the latest record per purpose (`current`) and every record
    /// (`history`, oldest first).
    fn consents(&self, echo, py, principal: &Principal) -> Typed {
        crate::privacy::consents(echo, py, principal)
    }

    /// Applies the retention policy as of `now` (a timezone-aware datetime; by default the
    /// engine's `now()`, which follows a `ManualClock` given to `open`) across every account
    /// and returns a `RetentionReport`:
    /// samples answered more than `raw_answer_ttl` earlier lose their answer text (mentions,
    /// citations and counts stay, so reports compute the same numbers), and audit events
    /// past `audit_ttl` are purged. Idempotent; call again while `complete` is False.
    /// Workers' leader runs it daily. Operators only.
    #[pyo3(signature = (principal, now = None))]
    fn apply_retention(&self, echo, py, principal: &Principal, now: Option<&Bound<'_, PyAny>>) -> Typed {
        crate::privacy::apply_retention(echo, py, principal, now)
    }
}
