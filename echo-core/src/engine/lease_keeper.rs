//! The heartbeat: keeps the leases of claimed samples alive while their calls are in
//! flight.
//!
//! A lease bounds how long a *dead* worker's samples stay stuck; it must not bound how
//! long a live worker may take over one call (a slow model, a long Retry-After). So every
//! executor extends the leases it holds every `lease / 3`: two missed beats in a row (a
//! database hiccup) still leave the lease alive, and a worker that stops beating (killed,
//! frozen) loses its samples one lease after the last beat.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::Instrument;

use crate::clock::Clock;
use crate::model::SampleId;
use crate::store::{Fence, Store};

type Held = Arc<Mutex<HashMap<SampleId, Fence>>>;

/// The set of fences an executor holds, and the task that keeps them alive. Dropping it
/// stops the heartbeat.
pub(super) struct LeaseKeeper {
    held: Held,
    task: tokio::task::JoinHandle<()>,
}

impl LeaseKeeper {
    /// Starts beating every `interval`, extending each held lease to `now + lease`.
    pub(super) fn spawn(store: Arc<dyn Store>, clock: Arc<dyn Clock>, lease: Duration, interval: Duration) -> Self {
        let held: Held = Arc::default();
        // In the caller's span (the run's or the worker's), so its logs carry their ids.
        let task = tokio::spawn(beat(store, clock, lease, interval, held.clone()).in_current_span());
        Self { held, task }
    }

    /// Starts keeping `fence`'s lease alive.
    pub(super) fn hold(&self, fence: Fence) {
        self.lock().insert(fence.sample_id, fence);
    }

    /// Stops keeping the lease of `sample` (its outcome is decided, or it is released).
    pub(super) fn forget(&self, sample: SampleId) {
        self.lock().remove(&sample);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SampleId, Fence>> {
        self.held.lock().expect("lease keeper poisoned")
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn beat(store: Arc<dyn Store>, clock: Arc<dyn Clock>, lease: Duration, interval: Duration, held: Held) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate; the claim just set the lease
    loop {
        ticker.tick().await;
        let fences: Vec<Fence> = held.lock().expect("lease keeper poisoned").values().cloned().collect();
        if fences.is_empty() {
            continue;
        }
        match store.extend_leases(&fences, clock.now(), lease).await {
            Ok(still_held) => {
                let mut map = held.lock().expect("lease keeper poisoned");
                for (fence, ok) in fences.iter().zip(still_held) {
                    // Not held: finished meanwhile (normal), or taken over after a pause
                    // longer than the lease (the call's outcome will not be applied).
                    if !ok && map.get(&fence.sample_id) == Some(fence) {
                        tracing::debug!(sample_id = %fence.sample_id, "lease no longer held");
                        map.remove(&fence.sample_id);
                    }
                }
                tracing::trace!(leases = fences.len(), "leases extended");
            }
            Err(e) => tracing::warn!(error = %e, leases = fences.len(), "extending leases failed; retrying next beat"),
        }
    }
}
