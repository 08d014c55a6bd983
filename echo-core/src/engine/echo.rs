//! The `Echo` facade: the one object a host holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::executor::execute_run;
use super::run_context::RunContext;
use super::{EchoBuilder, EngineConfig, Progress, ProviderRegistry, RunHandle};
use crate::analysis::{BrandCatalog, DictionaryExtractor, Extractor};
use crate::audit::{AuditAction, AuditTarget};
use crate::auth::usage::KeyUsage;
use crate::auth::{Principal, Scope};
use crate::clock::Clock;
use crate::model::{
    Account, AccountId, BrandSpec, Experiment, ExperimentId, ExperimentSpec, NewAccount, Page, PageRequest, Report,
    Run, RunId,
};
use crate::provider::PricingTable;
use crate::quota::QuotaPolicy;
use crate::store::Store;
use crate::{Error, Result};

/// Per-run choices made when a run starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// Seed of the run; every sample's provider seed derives from it. Random when `None`.
    pub seed: Option<u64>,
    /// Overrides the engine's concurrency for this run.
    pub concurrency: Option<usize>,
    /// Sample each target to a precision instead of the spec's `repeats` (see
    /// [`AdaptiveOptions`](crate::model::AdaptiveOptions) and `docs/metrics.md`, "Adaptive
    /// runs"). Quota is reserved for the maximum and the unused part refunded.
    #[serde(default)]
    pub adaptive: Option<crate::model::AdaptiveOptions>,
    /// The host's id for this piece of work, stored on the run and recorded on the spans
    /// of its execution in every process (the run's, each sample's). When `None`, the
    /// principal's [`RequestContext::correlation_id`](crate::auth::RequestContext) is
    /// used; a run started without either has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// The engine: experiments, runs and reports over one store and a set of providers.
///
/// Cheap to clone; clones share everything. Every operation takes the [`Principal`]
/// calling it and only sees that principal's account.
#[derive(Clone)]
pub struct Echo {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    providers: Arc<ProviderRegistry>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// Lease owner id of this engine instance.
    owner: String,
    pricing: Arc<PricingTable>,
    quota: Arc<dyn QuotaPolicy>,
    /// Runs executing in this process, so `cancel_run` reaches them without a handle.
    active: Mutex<HashMap<RunId, CancellationToken>>,
    /// API key uses not yet written to `last_used_at`.
    key_usage: Arc<KeyUsage>,
}

impl std::fmt::Debug for Echo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Echo")
            .field("store", &self.inner.store.backend())
            .field("providers", &self.inner.providers.ids())
            .field("owner", &self.inner.owner)
            .finish()
    }
}

impl Echo {
    /// Starts configuring an engine.
    pub fn builder() -> EchoBuilder {
        EchoBuilder::default()
    }

    pub(crate) fn from_parts(
        store: Arc<dyn Store>,
        providers: ProviderRegistry,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
        pricing: PricingTable,
        quota: Arc<dyn QuotaPolicy>,
    ) -> Self {
        let owner = format!(
            "echo-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let key_usage = KeyUsage::new(store.clone(), config.key_usage_flush);
        Self {
            inner: Arc::new(Inner {
                key_usage,
                store,
                providers: Arc::new(providers),
                clock,
                config,
                owner,
                pricing: Arc::new(pricing),
                quota,
                active: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The engine's current time (its clock, e.g. a `ManualClock` in tests) at the store's
    /// precision (milliseconds), so what `create_*` returns equals what a later `get_*`
    /// reads back. Hosts pass it to time-based calls such as `apply_retention` so they
    /// follow the same clock as the engine.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        crate::store::truncate_to_millis(self.inner.clock.now())
    }

    pub(super) fn quota(&self) -> &Arc<dyn QuotaPolicy> {
        &self.inner.quota
    }

    pub(super) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub(super) fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The buffer of API key uses (engine/keys.rs).
    pub(super) fn key_usage(&self) -> &Arc<KeyUsage> {
        &self.inner.key_usage
    }

    /// The registered providers.
    pub fn providers(&self) -> &ProviderRegistry {
        &self.inner.providers
    }

    // ---- accounts -------------------------------------------------------------------

    /// Creates an account. Only the host's operator may: pass [`Principal::admin`] (the host
    /// decides who gets a tenant, e.g. in its sign-up handler); anyone else is
    /// `PermissionDenied`.
    // The name is personal data (often a person's or company's): the span gets the new
    // account's id, once there is one, and never the name.
    #[tracing::instrument(skip_all, fields(account_id = tracing::field::Empty))]
    pub async fn create_account(&self, principal: &Principal, new: NewAccount) -> Result<Account> {
        let audit = self.audit_record(principal, AuditAction::AccountCreate);
        self.audited(audit.clone(), self.create_account_inner(principal, new, audit))
            .await
    }

    async fn create_account_inner(
        &self,
        principal: &Principal,
        new: NewAccount,
        audit: crate::audit::AuditRecord,
    ) -> Result<Account> {
        principal.require_admin()?;
        if new.name.trim().is_empty() {
            return Err(Error::invalid("account.name", "must not be blank"));
        }
        if new.external_id.as_deref().is_some_and(|e| e.trim().is_empty()) {
            return Err(Error::invalid("account.external_id", "must not be blank when given"));
        }
        let tier = new.tier.unwrap_or_else(|| "free".to_string());
        if tier.trim().is_empty() {
            return Err(Error::invalid("account.tier", "must not be blank when given"));
        }
        if self.inner.quota.limits(&tier).is_none() {
            return Err(Error::invalid(
                "account.tier",
                crate::quota::policy_unknown_tier(&*self.inner.quota, &tier),
            ));
        }
        let account = Account {
            id: AccountId::new(),
            name: new.name.trim().to_string(),
            external_id: new.external_id,
            tier,
            created_at: self.now(),
        };
        let audit = audit
            .account(account.id)
            .target("account", account.id)
            .detail("tier", &account.tier);
        self.inner.store.insert_account_audited(&account, &audit).await?;
        tracing::Span::current().record("account_id", tracing::field::display(account.id));
        tracing::info!(account_id = %account.id, "account created");
        Ok(account)
    }

    /// The principal's own account.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn get_account(&self, principal: &Principal) -> Result<Account> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let account = self.inner.store.get_account(principal.account_id()).await?;
        self.audit_admin_read(principal, "get_account", Some(AuditTarget::new("account", account.id)))
            .await?;
        Ok(account)
    }

    // ---- experiments ----------------------------------------------------------------

    /// Validates and stores an experiment. Invalid specs (blank prompts, no target brand,
    /// conflicting aliases, 0 or too many samples, unknown or unconfigured providers)
    /// fail with `InvalidInput` naming the field; nothing is written.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn create_experiment(&self, principal: &Principal, spec: ExperimentSpec) -> Result<Experiment> {
        let audit = self.audit_record(principal, AuditAction::ExperimentCreate);
        self.audited(audit.clone(), async {
            principal.require(Scope::ExperimentsWrite)?;
            self.ensure_active(principal).await?;
            self.check_spec(&spec)?;
            let now = self.now();
            let experiment = Experiment {
                id: ExperimentId::new(),
                account_id: principal.account_id(),
                spec,
                created_at: now,
                updated_at: now,
            };
            let audit = audit
                .target("experiment", experiment.id)
                .detail("name", &experiment.spec.name);
            self.inner.store.insert_experiment_audited(&experiment, &audit).await?;
            tracing::info!(experiment_id = %experiment.id, "experiment created");
            Ok(experiment)
        })
        .await
    }

    /// One experiment of the principal's account.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %id))]
    pub async fn get_experiment(&self, principal: &Principal, id: ExperimentId) -> Result<Experiment> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let experiment = self.inner.store.get_experiment(principal.account_id(), id).await?;
        self.audit_admin_read(principal, "get_experiment", Some(AuditTarget::new("experiment", id)))
            .await?;
        Ok(experiment)
    }

    /// The account's experiments, newest first, keyset-paginated.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn list_experiments(&self, principal: &Principal, page: &PageRequest) -> Result<Page<Experiment>> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        page.effective_limit()?;
        let listed = self.inner.store.list_experiments(principal.account_id(), page).await?;
        self.audit_admin_read(principal, "list_experiments", None).await?;
        Ok(listed)
    }

    /// Replaces an experiment's spec (validated as on create). Runs already started keep
    /// the spec they snapshotted.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %id))]
    pub async fn update_experiment(
        &self,
        principal: &Principal,
        id: ExperimentId,
        spec: ExperimentSpec,
    ) -> Result<Experiment> {
        let audit = self
            .audit_record(principal, AuditAction::ExperimentUpdate)
            .target("experiment", id);
        self.audited(audit.clone(), async {
            principal.require(Scope::ExperimentsWrite)?;
            self.ensure_active(principal).await?;
            self.check_spec(&spec)?;
            self.inner
                .store
                .update_experiment_audited(principal.account_id(), id, &spec, self.now(), &audit)
                .await
        })
        .await
    }

    /// Deletes an experiment with its runs and their data. `Conflict` while one of its
    /// runs is still pending or running.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %id))]
    pub async fn delete_experiment(&self, principal: &Principal, id: ExperimentId) -> Result<()> {
        let audit = self
            .audit_record(principal, AuditAction::ExperimentDelete)
            .target("experiment", id);
        self.audited(audit.clone(), async {
            principal.require(Scope::ExperimentsWrite)?;
            self.ensure_active(principal).await?;
            self.inner
                .store
                .delete_experiment_audited(principal.account_id(), id, &audit)
                .await
        })
        .await
    }

    pub(super) fn check_spec(&self, spec: &ExperimentSpec) -> Result<BrandCatalog> {
        spec.validate()?;
        let catalog = BrandCatalog::new(spec.brands.clone())?;
        self.inner.providers.check_targets(&spec.targets)?;
        Ok(catalog)
    }

    /// The expected cost of one run of an experiment, before anything is spent (see
    /// [`Estimate`](super::Estimate) for how tokens are estimated).
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %experiment_id))]
    pub async fn estimate(&self, principal: &Principal, experiment_id: ExperimentId) -> Result<super::Estimate> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let experiment = self
            .inner
            .store
            .get_experiment(principal.account_id(), experiment_id)
            .await?;
        self.audit_admin_read(
            principal,
            "estimate",
            Some(AuditTarget::new("experiment", experiment_id)),
        )
        .await?;
        Ok(super::estimate(&experiment.spec, &self.inner.pricing))
    }

    /// The pricing table in use.
    pub fn pricing(&self) -> &PricingTable {
        &self.inner.pricing
    }

    // ---- runs -----------------------------------------------------------------------

    /// Plans and enqueues a run (the run and all its pending samples in one transaction)
    /// without executing it. Workers, or [`Echo::resume_run`], execute it.
    ///
    /// Before anything is written, the run must fit the account's tier (`QuotaExceeded`:
    /// samples per run, samples left this month, runs at once) and the principal's run-start
    /// rate limit (`RateLimited`); its planned samples are then reserved, and settled when
    /// the run ends (answered samples charged, the rest refunded).
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %experiment_id,
        run_id = tracing::field::Empty, correlation_id = tracing::field::Empty))]
    pub async fn enqueue_run(
        &self,
        principal: &Principal,
        experiment_id: ExperimentId,
        options: &RunOptions,
    ) -> Result<Run> {
        let mut audit = self
            .audit_record(principal, AuditAction::RunEnqueue)
            .detail("experiment_id", experiment_id);
        // The run stores the correlation id of its `run.enqueue` event (`Run::correlation_id`):
        // an explicit one in the options wins over the request's.
        audit.request.correlation_id = super::trace::correlation_id(options.correlation_id.as_deref(), principal);
        tracing::Span::current().record("correlation_id", audit.request.correlation_id.as_deref());
        self.audited(audit.clone(), async {
            principal.require(Scope::RunsWrite)?;
            self.ensure_active(principal).await?;
            if options.concurrency == Some(0) {
                return Err(Error::invalid("options.concurrency", "must be at least 1"));
            }
            let experiment = self
                .inner
                .store
                .get_experiment(principal.account_id(), experiment_id)
                .await?;
            // Providers may differ from when the experiment was saved: check again before
            // anything is written.
            self.check_spec(&experiment.spec)?;
            self.require_consents(principal.account_id()).await?;
            // An adaptive run plans (and reserves) its maximum, and enqueues its first wave.
            let planned = match &options.adaptive {
                Some(adaptive) => super::adaptive::validate(adaptive, &experiment.spec)?,
                None => experiment.spec.planned_samples(),
            };
            let limits = self.admit_run_start(principal, Some(planned)).await?;
            let samples = match &options.adaptive {
                Some(adaptive) => super::adaptive::first_wave(&experiment.spec, adaptive),
                None => super::plan::plan_samples(&experiment.spec),
            };
            let mut run = super::plan::new_run(
                principal.account_id(),
                experiment_id,
                experiment.spec,
                samples.len(),
                options.seed.unwrap_or_else(rand::random),
                self.now(),
            );
            if let Some(adaptive) = options.adaptive {
                run.planned_samples = planned;
                run.adaptive = Some(adaptive);
            }
            run.correlation_id = audit.request.correlation_id.clone();
            self.reserve_run(&run, &limits).await?;
            let audit = audit
                .target("run", run.id)
                .detail("planned_samples", run.planned_samples);
            if let Err(e) = self.inner.store.enqueue_run_audited(&run, &samples, &audit).await {
                self.refund_run(&run).await;
                return Err(e);
            }
            tracing::Span::current().record("run_id", tracing::field::display(run.id));
            tracing::info!(run_id = %run.id, planned = run.planned_samples, "run enqueued");
            Ok(run)
        })
        .await
    }

    /// Enqueues a run and executes it in this process. The handle streams progress,
    /// waits for the report and cancels.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %experiment_id))]
    pub async fn start_run(
        &self,
        principal: &Principal,
        experiment_id: ExperimentId,
        options: RunOptions,
    ) -> Result<RunHandle> {
        let run = self.enqueue_run(principal, experiment_id, &options).await?;
        self.execute(principal, run, options.concurrency).await
    }

    /// Executes the unfinished samples of an existing run (after a crash, or one enqueued
    /// with [`Echo::enqueue_run`]). Samples already answered are not asked again; samples
    /// leased by a dead process are taken over once their lease expires.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), run_id = %run_id))]
    pub async fn resume_run(&self, principal: &Principal, run_id: RunId) -> Result<RunHandle> {
        let audit = self
            .audit_record(principal, AuditAction::RunResume)
            .target("run", run_id);
        self.audited(audit.clone(), async {
            principal.require(Scope::RunsWrite)?;
            self.ensure_active(principal).await?;
            let run = self.inner.store.get_run(principal.account_id(), run_id).await?;
            self.inner.providers.check_targets(&run.spec.targets)?;
            self.require_consents(principal.account_id()).await?;
            self.admit_run_start(principal, None).await?;
            // Resuming changes nothing in the store by itself (the execution claims samples
            // later): the request is recorded on its own.
            self.inner.store.append_audit(&audit).await?;
            self.execute(principal, run, None).await
        })
        .await
    }

    /// The execution context of `run`: its compiled extractor, its account's PII redactor
    /// (read from the store, so every process executing the run applies the account's
    /// settings), the host's correlation id stored with the run (for the execution's spans,
    /// whichever process executes it) and the engine's parts.
    pub(super) async fn run_context(&self, run: Run, concurrency: usize, owner: &str) -> Result<Arc<RunContext>> {
        let catalog = BrandCatalog::new(run.spec.brands.clone())?;
        let extractor: Arc<dyn Extractor> = Arc::new(DictionaryExtractor::new(catalog)?);
        let redactor = self
            .inner
            .store
            .privacy_settings(run.account_id)
            .await?
            .redactor()?
            .map(Arc::new);
        Ok(Arc::new(RunContext {
            redactor,
            store: self.inner.store.clone(),
            providers: self.inner.providers.clone(),
            clock: self.inner.clock.clone(),
            config: self.inner.config.clone(),
            run,
            extractor,
            concurrency,
            owner: owner.to_string(),
            pricing: self.inner.pricing.clone(),
        }))
    }

    /// Executes `run` here for `principal` (who is recorded if the handle cancels it).
    async fn execute(&self, principal: &Principal, run: Run, concurrency: Option<usize>) -> Result<RunHandle> {
        let concurrency = concurrency
            .or(self.inner.config.concurrency)
            .unwrap_or_else(|| self.inner.providers.default_concurrency(&run.spec.targets));
        let progress = Progress {
            run_id: run.id,
            status: run.status,
            planned: run.planned_samples,
            succeeded: 0,
            failed: 0,
            cancelled: 0,
            elapsed: std::time::Duration::ZERO,
            rate_per_sec: 0.0,
            eta: None,
        };
        let (progress_tx, progress_rx) = watch::channel(progress);
        let cancel = CancellationToken::new();
        let run_id = run.id;
        let ctx = self.run_context(run, concurrency, &self.inner.owner).await?;
        self.inner
            .active
            .lock()
            .expect("active runs poisoned")
            .insert(run_id, cancel.clone());
        let inner = self.inner.clone();
        let token = cancel.clone();
        let handle_cancel = super::handle::HandleCancel::new(
            self.audit_record(principal, AuditAction::RunCancel)
                .target("run", run_id)
                .detail("via", "run_handle"),
        );
        let requested = handle_cancel.clone();
        let span = super::trace::run_span(&ctx.run, concurrency);
        let task = tokio::spawn(tracing::Instrument::instrument(
            async move {
                let result = execute_run(ctx, progress_tx, token, requested).await;
                inner.active.lock().expect("active runs poisoned").remove(&run_id);
                if let Err(e) = &result {
                    tracing::error!(error = %e, "run execution failed; unfinished samples can be resumed");
                }
                result
            },
            span,
        ));
        Ok(RunHandle::new(run_id, progress_rx, cancel, handle_cancel, task))
    }

    /// Cancels a run: an execution in this process stops (as [`RunHandle::cancel`]); a run
    /// not executing here has its pending samples cancelled and its status set.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), run_id = %run_id))]
    pub async fn cancel_run(&self, principal: &Principal, run_id: RunId) -> Result<()> {
        let audit = self
            .audit_record(principal, AuditAction::RunCancel)
            .target("run", run_id);
        self.audited(audit.clone(), self.cancel_run_inner(principal, run_id, audit))
            .await
    }

    async fn cancel_run_inner(
        &self,
        principal: &Principal,
        run_id: RunId,
        audit: crate::audit::AuditRecord,
    ) -> Result<()> {
        principal.require(Scope::RunsWrite)?;
        self.ensure_active(principal).await?;
        let run = self.inner.store.get_run(principal.account_id(), run_id).await?;
        let token = self
            .inner
            .active
            .lock()
            .expect("active runs poisoned")
            .get(&run_id)
            .cloned();
        match token {
            Some(token) => {
                // The execution here makes the transition (and writes `run.finish`); the
                // request is recorded now.
                self.inner
                    .store
                    .append_audit(&audit.detail("executing_here", true))
                    .await?;
                token.cancel();
            }
            None if !run.status.is_terminal() => {
                let audit = audit.detail("status", "cancelled");
                let changed =
                    super::finalize::cancel_run(&*self.inner.store, run.account_id, run_id, self.now(), &audit).await?;
                if !changed {
                    // Finished meanwhile: the request is still recorded.
                    self.inner.store.append_audit(&audit.detail("changed", false)).await?;
                }
            }
            None => {
                self.inner
                    .store
                    .append_audit(&audit.detail("changed", false).detail("status", run.status.as_str()))
                    .await?;
            }
        }
        Ok(())
    }

    /// Cancels an unfinished run of `account` as [`Echo::cancel_run`] does, without a
    /// principal: for the engine's own decisions (a deletion request cancels the account's
    /// runs).
    pub(super) async fn cancel_run_of(&self, account: AccountId, run_id: RunId) -> Result<()> {
        let token = self
            .inner
            .active
            .lock()
            .expect("active runs poisoned")
            .get(&run_id)
            .cloned();
        match token {
            Some(token) => token.cancel(),
            None => {
                let now = self.now();
                let audit = crate::audit::AuditRecord::system(
                    "account_deletion",
                    Some(account),
                    crate::audit::AuditAction::RunCancel,
                    now,
                )
                .target("run", run_id);
                super::finalize::cancel_run(&*self.inner.store, account, run_id, now, &audit).await?;
            }
        }
        Ok(())
    }

    /// One run of the principal's account.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), run_id = %run_id))]
    pub async fn get_run(&self, principal: &Principal, run_id: RunId) -> Result<Run> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let run = self.inner.store.get_run(principal.account_id(), run_id).await?;
        self.audit_admin_read(principal, "get_run", Some(AuditTarget::new("run", run_id)))
            .await?;
        Ok(run)
    }

    /// The runs of an experiment, newest first.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), experiment_id = %experiment_id))]
    pub async fn list_runs(
        &self,
        principal: &Principal,
        experiment_id: ExperimentId,
        page: &PageRequest,
    ) -> Result<Page<Run>> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        page.effective_limit()?;
        let listed = self
            .inner
            .store
            .list_runs(principal.account_id(), experiment_id, page)
            .await?;
        self.audit_admin_read(
            principal,
            "list_runs",
            Some(AuditTarget::new("experiment", experiment_id)),
        )
        .await?;
        Ok(listed)
    }

    /// The report of a run, from stored mentions (works during and after execution).
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), run_id = %run_id))]
    pub async fn report(&self, principal: &Principal, run_id: RunId) -> Result<Report> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let run = self.inner.store.get_run(principal.account_id(), run_id).await?;
        self.audit_admin_read(principal, "report", Some(AuditTarget::new("run", run_id)))
            .await?;
        let catalog = BrandCatalog::new(run.spec.brands.clone())?;
        super::report::build(&*self.inner.store, &run, &catalog, self.now()).await
    }

    /// Recomputes a run's report from its stored answers with another set of brands (a
    /// competitor added, an alias fixed). No provider is called and no result is written.
    ///
    /// Reading raw answers is a sensitive read: it is recorded (`samples.read_raw`, the run
    /// as target) before the report is returned, and refusals are recorded too.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), run_id = %run_id))]
    pub async fn reanalyze(&self, principal: &Principal, run_id: RunId, brands: Vec<BrandSpec>) -> Result<Report> {
        let audit = self
            .audit_record(principal, AuditAction::SamplesReadRaw)
            .target("run", run_id)
            .detail("operation", "reanalyze");
        self.audited(audit.clone(), async {
            principal.require(Scope::ExperimentsRead)?;
            self.ensure_active(principal).await?;
            let run = self.inner.store.get_run(principal.account_id(), run_id).await?;
            let catalog = BrandCatalog::new(brands)?;
            let extractor = DictionaryExtractor::new(catalog)?;
            let report = super::report::reanalyze(&*self.inner.store, &run, &extractor, self.now()).await?;
            // Recorded before the answers' report leaves: an unrecorded read returns nothing.
            self.inner
                .store
                .append_audit(&audit.detail("samples", report.counts.succeeded))
                .await?;
            Ok(report)
        })
        .await
    }

    /// Compares every brand's visibility between two runs of the principal's account,
    /// overall and per target present in both: a Newcombe 95% interval for the difference
    /// and a two-sided test (Fisher's exact test for small counts), flagged significant at
    /// level `alpha` only when the test says so — never by a fixed threshold.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), before_run_id = %before, after_run_id = %after))]
    pub async fn compare_runs(
        &self,
        principal: &Principal,
        before: RunId,
        after: RunId,
        alpha: f64,
    ) -> Result<crate::analysis::RunComparison> {
        let earlier = self.report(principal, before).await?;
        let later = self.report(principal, after).await?;
        crate::analysis::compare_reports(&earlier, &later, alpha)
    }

    /// Writes pending API key uses, then closes the store's connections. Runs still
    /// executing here fail with a storage error and keep their unfinished samples leased;
    /// resume them later.
    #[tracing::instrument(skip_all)]
    pub async fn close(&self) {
        if let Err(e) = self.flush_key_usage().await {
            tracing::warn!(error = %e, "writing API key last_used_at on close failed");
        }
        self.inner.store.close().await;
    }
}
