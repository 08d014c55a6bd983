//! Finalizing runs: the one transition of a run to its terminal status once every sample
//! is terminal.
//!
//! The transition happens exactly once however many workers finish samples of the run
//! concurrently: each of them (and the maintenance sweep) may ask, and only the caller
//! whose request made the transition is told the status. Work that must happen once per
//! finished run (settling the quota reservation, the audit event) hangs off that answer;
//! see `engine::finalize`.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::model::{AccountId, RunId, RunStatus};

/// A run that is not terminal although none of its samples is pending or leased: left
/// unfinalized by a crash between the last sample's commit and the finalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnfinalizedRun {
    pub account_id: AccountId,
    pub run_id: RunId,
}

/// Run finalization.
#[async_trait::async_trait]
pub trait FinalizeStore: Send + Sync {
    /// Atomically: when every sample of the run is terminal and the run is not, sets the
    /// status [`SampleCounts::final_status`](crate::model::SampleCounts::final_status) gives
    /// (and `finished_at = now`, `started_at` if unset) and returns it. Returns `None` when
    /// samples remain pending or leased, or when the run already is terminal, so exactly one
    /// caller ever sees `Some`. NotFound if the run is absent or another account's.
    async fn finalize_run(&self, account: AccountId, run: RunId, now: DateTime<Utc>) -> Result<Option<RunStatus>>;

    /// Up to `limit` runs, oldest first, that are pending or running with no pending or
    /// leased sample: the maintenance sweep finalizes them. A system operation (no account):
    /// it only returns ids, which the caller passes back with their account.
    async fn unfinalized_runs(&self, limit: u32) -> Result<Vec<UnfinalizedRun>>;
}
