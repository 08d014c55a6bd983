//! The two points where a run meets its quota: the size check before reserving, and the
//! settlement when it ends.

use chrono::{DateTime, Utc};

use super::{QuotaDenial, QuotaLimit, TierLimits};
use crate::model::{AccountId, ReservationId, RunId, SampleCounts};
use crate::store::QuotaStore;
use crate::{Error, Result};

/// `QuotaExceeded` if one run of `planned` samples is larger than the tier allows. Checked
/// before anything is reserved or written.
pub(crate) fn check_run_size(planned: u64, limits: &TierLimits) -> Result<()> {
    if planned > limits.max_samples_per_run {
        return Err(Error::QuotaExceeded(QuotaDenial {
            limit_kind: QuotaLimit::SamplesPerRun,
            requested: planned,
            remaining: limits.max_samples_per_run,
            limit: limits.max_samples_per_run,
            resets_at: None,
        }));
    }
    Ok(())
}

/// Settles the reservation of a run that reached a terminal status: its succeeded samples
/// are charged, its failed and cancelled ones refunded. Call it right after the terminal
/// transition, wherever that happens (executor, cancellation, a worker finalizing): it is
/// idempotent — only the first call for a run changes the books — so calling it again
/// after a crash or from a second process is safe. Returns whether this call settled it
/// (`false` too for a run without a reservation).
pub async fn settle_run<S: QuotaStore + ?Sized>(
    store: &S,
    account: AccountId,
    run: RunId,
    counts: &SampleCounts,
    now: DateTime<Utc>,
) -> Result<bool> {
    let settled = store
        .settle_reservation(account, ReservationId::from(run), counts.succeeded, now)
        .await?;
    if settled {
        tracing::debug!(run_id = %run, charged = counts.succeeded, "quota settled");
    }
    Ok(settled)
}
