//! The `Echo` facade, mirroring `echo_core::engine::Echo`: opening an engine, accounts,
//! experiments and runs. Keys, quotas, reports, schedules, progress and workers add their
//! methods to the same class from their own modules.
//!
//! Every async method parses and converts its arguments first (bad ids and specs are
//! refused synchronously with an `InvalidInputError`, before anything runs), then returns
//! a Promise settled on napi's tokio runtime.

use std::sync::Arc;

use echo_core::clock::{Clock, SystemClock};
use echo_core::engine::{Echo as CoreEcho, RunOptions as CoreRunOptions};
use echo_core::model::{self as core, ExperimentId, RunId};
use echo_core::quota::UnmeteredQuotaPolicy;
use echo_core::{Error, Result};
use napi::bindgen_prelude::{Either, FromNapiRef, JavaScriptClassExt, Object, PromiseRaw};
use napi::{Env, JsValue};
use napi_derive::napi;

use crate::adaptive::AdaptiveOptions;
use crate::clock::ManualClock;
use crate::convert::{out, parse, seconds, time_string, via_serde, whole};
use crate::errors;
use crate::model::{
    Account, Experiment, ExperimentPage, ExperimentSpec, NewAccount, PageRequest, Run, RunOptions, RunPage,
};
use crate::principal::Principal;
use crate::privacy::RetentionOptions;
use crate::progress::RunHandle;
use crate::promise::{spawn, sync};
use crate::providers::{self, ReplayOptions, SimulatedOptions};

/// How to open an engine: where data lives, which providers answer, engine tuning, how
/// long data is kept and which consents runs need.
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct EchoOptions<'a> {
    /// `sqlite:///path/to/echo.db` (or `sqlite:relative.db`), `postgres://user@host/db`, or
    /// `:memory:`. Default: a private in-memory SQLite database, gone when the engine is.
    pub database: Option<String>,
    /// Real providers whose API keys are in the environment (`OPENAI_API_KEY`,
    /// `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`, `PERPLEXITY_API_KEY`,
    /// `OPENAI_COMPATIBLE_BASE_URL`). Default false.
    pub providers_from_env: Option<bool>,
    /// The offline simulated provider(s).
    pub simulated: Option<Either<Vec<SimulatedOptions>, SimulatedOptions>>,
    /// Recorded corpora replayed offline.
    pub replay: Option<Vec<ReplayOptions>>,
    /// Provider calls in flight per run (default: derived from the providers' limits).
    pub concurrency: Option<u32>,
    /// Lease of claimed samples in seconds (default 300).
    pub lease_secs: Option<f64>,
    /// Claims per sample before it fails for good (default 3).
    pub max_attempts: Option<u32>,
    /// How often API key `lastUsedAt` is written, in seconds (default 60).
    pub key_usage_flush_secs: Option<f64>,
    /// `standard` tiers (`free`, `pro`, `enterprise`; the default) or `unmetered`.
    #[napi(ts_type = "'standard' | 'unmetered'")]
    pub quota: Option<String>,
    /// How long raw answers, audit events and deletion requests are kept. Unset fields
    /// keep the defaults (90 days, 2 years, 30 days); periods under a day are refused.
    pub retention_policy: Option<RetentionOptions>,
    /// Purposes (e.g. `'data_processing'`) every account must have granted, by its latest
    /// `recordConsent`, before its runs start (scheduled ones too); otherwise starting a run
    /// rejects with a `ConsentRequiredError` and nothing is reserved or written.
    pub require_consent: Option<Either<Vec<String>, String>>,
    /// Seconds between a deletion request and the erasure, during which the operator may
    /// cancel it (default 30 days; at least one day). Shorthand for
    /// `retentionPolicy.deletionGraceSecs`.
    pub deletion_grace_secs: Option<f64>,
    /// Rows deleted per erasure transaction (default 1,000).
    pub erasure_batch: Option<u32>,
    /// The engine's clock. Pass a `ManualClock` in tests to cross retention and deletion
    /// deadlines without waiting; default: the system clock.
    #[napi(ts_type = "ManualClock")]
    pub clock: Option<Object<'a>>,
}

/// The engine: experiments, runs and reports over one database and a set of providers.
/// Every operation takes the `Principal` calling it and sees only its account.
#[napi]
pub struct Echo {
    pub(crate) inner: CoreEcho,
}

fn builder(options: EchoOptions<'_>, clock: Arc<dyn Clock>) -> Result<echo_core::engine::EchoBuilder> {
    let mut b = CoreEcho::builder().clock(clock);
    b = match options.database.as_deref().map(str::trim) {
        None | Some(":memory:") => b.sqlite_memory(),
        Some("") => {
            return Err(Error::invalid(
                "database",
                "is empty; omit it for an in-memory database",
            ));
        }
        Some(url) => b.database_url(url),
    };
    if options.providers_from_env.unwrap_or(false) {
        for p in providers::from_env()? {
            b = b.provider_arc(p);
        }
    }
    let simulated = match options.simulated {
        None => Vec::new(),
        // Arrays first: an array would also pass as one options object (all fields optional).
        Some(Either::A(many)) => many,
        Some(Either::B(one)) => vec![one],
    };
    for s in &simulated {
        b = b.provider_arc(providers::simulated(s)?);
    }
    for r in options.replay.iter().flatten() {
        b = b.provider_arc(providers::replay(r)?);
    }
    if let Some(n) = options.concurrency {
        if n == 0 {
            return Err(Error::invalid("concurrency", "must be at least 1"));
        }
        b = b.concurrency(n as usize);
    }
    if let Some(secs) = options.lease_secs {
        b = b.lease(seconds(secs, "leaseSecs")?);
    }
    if let Some(n) = options.max_attempts {
        b = b.max_attempts(n);
    }
    if let Some(secs) = options.key_usage_flush_secs {
        b = b.key_usage_flush_interval(seconds(secs, "keyUsageFlushSecs")?);
    }
    match options.quota.as_deref() {
        None | Some("standard") => {}
        Some("unmetered") => b = b.quota_policy(UnmeteredQuotaPolicy),
        Some(other) => {
            return Err(Error::invalid(
                "quota",
                format!("{other:?} is not a quota policy; use 'standard' or 'unmetered'"),
            ));
        }
    }
    let given_grace = options.retention_policy.as_ref().and_then(|r| r.deletion_grace_secs);
    if let Some(retention) = &options.retention_policy {
        b = b.retention_policy(retention.to_core()?);
    }
    if let Some(secs) = options.deletion_grace_secs {
        if given_grace.is_some_and(|g| g != secs) {
            return Err(Error::invalid(
                "deletionGraceSecs",
                "differs from retentionPolicy.deletionGraceSecs; give the grace period once",
            ));
        }
        b = b.deletion_grace(seconds(secs, "deletionGraceSecs")?);
    }
    if let Some(rows) = options.erasure_batch {
        b = b.erasure_batch(rows);
    }
    let purposes = match options.require_consent {
        None => Vec::new(),
        Some(Either::A(many)) => many,
        Some(Either::B(one)) => vec![one],
    };
    for purpose in purposes {
        if purpose.trim().is_empty() {
            return Err(Error::invalid(
                "requireConsent",
                "a purpose is blank; name it, e.g. 'data_processing'",
            ));
        }
        b = b.require_consent(purpose.trim());
    }
    Ok(b)
}

/// The clock of `options.clock`: a `ManualClock`, or the system clock when absent. Anything
/// else is refused (it is checked with `instanceof` before the native object is read).
fn clock_of(env: &Env, options: &EchoOptions<'_>) -> napi::Result<Arc<dyn Clock>> {
    let Some(object) = &options.clock else {
        return Ok(Arc::new(SystemClock));
    };
    if !ManualClock::instance_of(env, object)? {
        return Err(errors::to_js(
            env,
            Error::invalid(
                "clock",
                "must be a ManualClock (new ManualClock()); omit it for the system clock",
            ),
        ));
    }
    // SAFETY: `object` was just checked to be an instance of the ManualClock class, so the
    // native value napi wrapped in it is a `ManualClock`.
    let clock: &ManualClock = unsafe { ManualClock::from_napi_ref(env.raw(), object.raw())? };
    Ok(clock.as_clock())
}

impl RunOptions {
    pub(crate) fn to_core(&self) -> Result<CoreRunOptions> {
        Ok(CoreRunOptions {
            seed: self
                .seed
                .map(|s| whole(s, "options.seed", (1u64 << 53) - 1))
                .transpose()?,
            concurrency: self.concurrency.map(|c| c as usize),
            adaptive: self.adaptive.as_ref().map(AdaptiveOptions::to_core).transpose()?,
            correlation_id: self.correlation_id.clone(),
            // No `..Default::default()`: a field the core adds must fail to compile here
            // until the binding exposes it (or decides not to).
        })
    }
}

/// `(engine, principal)` cloned out of JavaScript-owned objects, for a future to own.
fn owned(echo: &Echo, principal: &Principal) -> (CoreEcho, echo_core::auth::Principal) {
    (echo.inner.clone(), principal.inner.clone())
}

#[napi]
impl Echo {
    /// Opens the database (running migrations) and returns the engine. Options are checked
    /// first: a bad one rejects with an `InvalidInputError` naming it.
    #[napi(ts_args_type = "options?: EchoOptions", ts_return_type = "Promise<Echo>")]
    pub fn open<'env>(env: &'env Env, options: Option<EchoOptions<'env>>) -> napi::Result<PromiseRaw<'env, Echo>> {
        let options = options.unwrap_or_default();
        let clock = clock_of(env, &options)?;
        let b = sync(env, builder(options, clock))?;
        spawn(env, async move { b.build().await }, |inner| Ok(Echo { inner }))
    }

    /// The engine's current time (ISO 8601, UTC, milliseconds): its clock's, so a
    /// `ManualClock` given to `Echo.open` when there is one, else the system's.
    #[napi]
    pub fn now(&self) -> String {
        time_string(self.inner.now())
    }

    /// Writes pending API key uses and closes the database connections.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let echo = self.inner.clone();
        spawn(
            env,
            async move {
                echo.close().await;
                Ok::<(), Error>(())
            },
            Ok,
        )
    }

    /// The ids of the registered providers (what targets may name).
    #[napi(getter)]
    pub fn provider_ids(&self) -> Vec<String> {
        self.inner.providers().ids().into_iter().map(str::to_string).collect()
    }

    /// The database backend: `sqlite` or `postgres`.
    #[napi(getter)]
    pub fn backend(&self) -> String {
        self.inner.store().backend().to_string()
    }

    // ---- accounts -------------------------------------------------------------------

    /// Creates an account; only `Principal.admin()` may.
    #[napi(strict, ts_return_type = "Promise<Account>")]
    pub fn create_account<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        account: NewAccount,
    ) -> napi::Result<PromiseRaw<'env, Account>> {
        let new: core::NewAccount = sync(env, via_serde(&account, "account"))?;
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.create_account(&principal, new).await }, |a| {
            out(&a, "account")
        })
    }

    /// The principal's own account.
    #[napi(strict, ts_return_type = "Promise<Account>")]
    pub fn get_account<'env>(&self, env: &'env Env, principal: &Principal) -> napi::Result<PromiseRaw<'env, Account>> {
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.get_account(&principal).await }, |a| {
            out(&a, "account")
        })
    }

    // ---- experiments ----------------------------------------------------------------

    /// Validates and stores an experiment; an invalid spec rejects with an
    /// `InvalidInputError` whose `field` names the culprit (`spec.prompts[2]`).
    #[napi(strict, ts_return_type = "Promise<Experiment>")]
    pub fn create_experiment<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        spec: ExperimentSpec,
    ) -> napi::Result<PromiseRaw<'env, Experiment>> {
        let spec: core::ExperimentSpec = sync(env, via_serde(&spec, "spec"))?;
        let (echo, principal) = owned(self, principal);
        spawn(
            env,
            async move { echo.create_experiment(&principal, spec).await },
            |e| out(&e, "experiment"),
        )
    }

    /// One experiment of the principal's account (`NotFoundError` for another account's).
    #[napi(strict, ts_return_type = "Promise<Experiment>")]
    pub fn get_experiment<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
    ) -> napi::Result<PromiseRaw<'env, Experiment>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.get_experiment(&principal, id).await }, |e| {
            out(&e, "experiment")
        })
    }

    /// The account's experiments, newest first.
    #[napi(
        strict,
        ts_args_type = "principal: Principal, page?: PageRequest",
        ts_return_type = "Promise<ExperimentPage>"
    )]
    pub fn list_experiments<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        page: Option<PageRequest>,
    ) -> napi::Result<PromiseRaw<'env, ExperimentPage>> {
        let page: core::PageRequest = sync(env, via_serde(&page.unwrap_or_default(), "page"))?;
        let (echo, principal) = owned(self, principal);
        spawn(
            env,
            async move { echo.list_experiments(&principal, &page).await },
            |p| out(&p, "experiments"),
        )
    }

    /// Replaces an experiment's spec; runs already started keep theirs.
    #[napi(strict, ts_return_type = "Promise<Experiment>")]
    pub fn update_experiment<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        spec: ExperimentSpec,
    ) -> napi::Result<PromiseRaw<'env, Experiment>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let spec: core::ExperimentSpec = sync(env, via_serde(&spec, "spec"))?;
        let (echo, principal) = owned(self, principal);
        spawn(
            env,
            async move { echo.update_experiment(&principal, id, spec).await },
            |e| out(&e, "experiment"),
        )
    }

    /// Deletes an experiment with its runs; `ConflictError` while one of them is running.
    #[napi(strict, ts_return_type = "Promise<void>")]
    pub fn delete_experiment<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.delete_experiment(&principal, id).await }, Ok)
    }

    // ---- runs -----------------------------------------------------------------------

    /// Plans and enqueues a run without executing it (workers execute it). Checks the
    /// tier's limits and the run-start rate limit first (`QuotaExceededError`,
    /// `RateLimitedError` with `retryAfter`).
    #[napi(
        strict,
        ts_args_type = "principal: Principal, experimentId: string, options?: RunOptions",
        ts_return_type = "Promise<Run>"
    )]
    pub fn enqueue_run<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        options: Option<RunOptions>,
    ) -> napi::Result<PromiseRaw<'env, Run>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let options = sync(env, options.unwrap_or_default().to_core())?;
        let (echo, principal) = owned(self, principal);
        spawn(
            env,
            async move { echo.enqueue_run(&principal, id, &options).await },
            |r| out(&r, "run"),
        )
    }

    /// Enqueues a run and executes it in this process. The handle streams progress, waits
    /// for the report and cancels.
    #[napi(
        strict,
        ts_args_type = "principal: Principal, experimentId: string, options?: RunOptions",
        ts_return_type = "Promise<RunHandle>"
    )]
    pub fn start_run<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        options: Option<RunOptions>,
    ) -> napi::Result<PromiseRaw<'env, RunHandle>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let options = sync(env, options.unwrap_or_default().to_core())?;
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.start_run(&principal, id, options).await }, |h| {
            Ok(RunHandle::new(h))
        })
    }

    /// Executes the unfinished samples of an existing run (after a crash, or one enqueued).
    #[napi(strict, ts_return_type = "Promise<RunHandle>")]
    pub fn resume_run<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        run_id: String,
    ) -> napi::Result<PromiseRaw<'env, RunHandle>> {
        let id: RunId = sync(env, parse(&run_id, "runId"))?;
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.resume_run(&principal, id).await }, |h| {
            Ok(RunHandle::new(h))
        })
    }

    /// Cancels a run, whether it executes here or elsewhere.
    #[napi(strict, ts_return_type = "Promise<void>")]
    pub fn cancel_run<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        run_id: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let id: RunId = sync(env, parse(&run_id, "runId"))?;
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.cancel_run(&principal, id).await }, Ok)
    }

    /// One run of the principal's account.
    #[napi(strict, ts_return_type = "Promise<Run>")]
    pub fn get_run<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        run_id: String,
    ) -> napi::Result<PromiseRaw<'env, Run>> {
        let id: RunId = sync(env, parse(&run_id, "runId"))?;
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.get_run(&principal, id).await }, |r| {
            out(&r, "run")
        })
    }

    /// The runs of an experiment, newest first.
    #[napi(
        strict,
        ts_args_type = "principal: Principal, experimentId: string, page?: PageRequest",
        ts_return_type = "Promise<RunPage>"
    )]
    pub fn list_runs<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        page: Option<PageRequest>,
    ) -> napi::Result<PromiseRaw<'env, RunPage>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let page: core::PageRequest = sync(env, via_serde(&page.unwrap_or_default(), "page"))?;
        let (echo, principal) = owned(self, principal);
        spawn(env, async move { echo.list_runs(&principal, id, &page).await }, |p| {
            out(&p, "runs")
        })
    }
}

/// Shorthand used by the other modules' `impl Echo` blocks.
pub(crate) fn clone_parts(echo: &Echo, principal: &Principal) -> (CoreEcho, echo_core::auth::Principal) {
    owned(echo, principal)
}
