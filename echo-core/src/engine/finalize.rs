//! The end of a run: its one transition to a terminal status.
//!
//! Several parties may finish a run — the in-process executor, any worker persisting its
//! last sample, the maintenance sweep after a crash, a cancellation — and they may race.
//! The store makes the transition atomically and tells only the caller that made it
//! (`Some(status)`). **That answer is the at-most-once point**: whatever must happen once
//! per finished run goes in [`on_finalized`], which runs right after a successful
//! transition and never otherwise.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::audit::{AuditAction, AuditRecord};
use crate::model::{AccountId, RunId, RunStatus};
use crate::store::Store;

/// Finalizes the run if every sample is terminal: sets the status the counts give (see
/// [`SampleCounts::final_status`](crate::model::SampleCounts::final_status)). Returns
/// `Some(status)` only to the caller that made the transition, after running
/// [`on_finalized`]; `None` when samples remain or the run already was terminal.
pub(crate) async fn finalize_run(
    store: &dyn Store,
    account: AccountId,
    run: RunId,
    now: DateTime<Utc>,
) -> Result<Option<RunStatus>> {
    // An adaptive run is over only once every target has stopped: this look appends the
    // next wave of a drained target instead (engine/adaptive.rs).
    if !super::adaptive::sampling_done(store, account, run, now).await? {
        return Ok(None);
    }
    let status = store
        .finalize_run_audited(account, run, now, &finish_record(account, run, now))
        .await?;
    if let Some(status) = status {
        on_finalized(store, account, run, status, now).await?;
    }
    Ok(status)
}

/// The `run.finish` event of a run's terminal transition, made by Echo itself; the store
/// adds the status it decided.
pub(crate) fn finish_record(account: AccountId, run: RunId, now: DateTime<Utc>) -> AuditRecord {
    AuditRecord::system("finalizer", Some(account), AuditAction::RunFinish, now).target("run", run)
}

/// Cancels a run: its pending samples are cancelled and the run ends `cancelled` at once
/// (samples already leased may still finish; they are kept). Returns whether this call
/// made the transition (then [`on_finalized`] ran). `audit` is written with the status
/// change, in its transaction: the canceller's `run.cancel`, or the executor's `run.finish`.
pub(crate) async fn cancel_run(
    store: &dyn Store,
    account: AccountId,
    run: RunId,
    now: DateTime<Utc>,
    audit: &AuditRecord,
) -> Result<bool> {
    store.cancel_pending_samples(account, run, now).await?;
    let changed = store
        .set_run_status_audited(account, run, RunStatus::Cancelled, now, audit)
        .await?;
    if changed {
        // An adaptive wave appended between the two statements is cancelled too (appends
        // check the status under the run's lock, so none can follow this one).
        store.cancel_pending_samples(account, run, now).await?;
        on_finalized(store, account, run, RunStatus::Cancelled, now).await?;
    }
    Ok(changed)
}

/// Runs exactly once per run, right after its transition to `status` (terminal).
///
/// This is where per-run settlement belongs: committing the quota reservation for the
/// answered samples and refunding the rest, and the `run.finished` audit event. A failure
/// here is returned to the finalizer; the transition itself is already committed, so the
/// hook must be written to be retried safely by whatever sweeps unsettled runs.
async fn on_finalized(
    store: &dyn Store,
    account: AccountId,
    run: RunId,
    status: RunStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    tracing::info!(account_id = %account, run_id = %run, status = status.as_str(), "run finalized");
    settle_quota(store, account, run, now).await
}

/// Charges the run's reservation for its answered samples and refunds the rest
/// ([`crate::quota::settle_run`], at most once per run), so a retried hook or the resume
/// path completing a settlement a crash interrupted never charges twice.
pub(crate) async fn settle_quota(store: &dyn Store, account: AccountId, run: RunId, now: DateTime<Utc>) -> Result<()> {
    let counts = store.sample_counts(account, run).await?;
    crate::quota::settle_run(store, account, run, &counts, now).await?;
    Ok(())
}
