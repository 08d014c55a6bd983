//! Settings of a [`Worker`](super::Worker).

use std::time::Duration;

use crate::engine::maintenance::DynMaintenanceTask;
use crate::{Error, Result};

/// How a worker runs. Lease length and attempts come from the engine
/// ([`EchoBuilder::lease`](crate::engine::EchoBuilder::lease), `max_attempts`), so every
/// process sharing a database should use the same engine settings.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Provider calls in flight at most, across all runs (default 64).
    pub concurrency: usize,
    /// Lease owner id, unique per worker process (default: host, pid and a random suffix).
    pub owner: Option<String>,
    /// How often an idle worker looks for new work (default 500 ms).
    pub poll_interval: Duration,
    /// Deadline of [`Worker::run_until`](super::Worker::run_until)'s graceful shutdown:
    /// in-flight calls get this long to finish before they are abandoned and their samples
    /// released (default 30 s).
    pub shutdown_grace: Duration,
    /// How often held sample leases are extended (default: a third of the engine's lease).
    pub heartbeat_interval: Option<Duration>,
    /// Take part in leader election and, as leader, create the runs of due schedules and
    /// run maintenance (default true). Turn off for workers that must only execute.
    pub run_scheduler: bool,
    /// Length of the leader lease (default 30 s): how long leadership stays with a worker
    /// that died before another takes over.
    pub leader_lease: Duration,
    /// How often the leader scans for due schedules and renews its lease, and how often the
    /// others try to become leader (default 1 s). Must be under half the leader lease.
    pub leader_poll: Duration,
    /// How often (on the engine's clock) the leader runs maintenance (default 60 s).
    pub maintenance_interval: Duration,
    /// Maintenance tasks run by the leader besides the built-in lease sweep.
    pub maintenance: Vec<DynMaintenanceTask>,
}

impl std::fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("concurrency", &self.concurrency)
            .field("owner", &self.owner)
            .field("poll_interval", &self.poll_interval)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("run_scheduler", &self.run_scheduler)
            .field("leader_lease", &self.leader_lease)
            .field("leader_poll", &self.leader_poll)
            .field("maintenance_interval", &self.maintenance_interval)
            .field(
                "maintenance",
                &self
                    .maintenance
                    .iter()
                    .map(|t| t.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 64,
            owner: None,
            poll_interval: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(30),
            heartbeat_interval: None,
            run_scheduler: true,
            leader_lease: Duration::from_secs(30),
            leader_poll: Duration::from_secs(1),
            maintenance_interval: Duration::from_secs(60),
            maintenance: Vec::new(),
        }
    }
}

impl WorkerConfig {
    /// Sets `concurrency`.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Sets the lease owner id.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Sets `poll_interval`.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// Sets `shutdown_grace`.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets `heartbeat_interval`.
    pub fn heartbeat_interval(mut self, every: Duration) -> Self {
        self.heartbeat_interval = Some(every);
        self
    }

    /// Sets `run_scheduler`.
    pub fn run_scheduler(mut self, on: bool) -> Self {
        self.run_scheduler = on;
        self
    }

    /// Sets `leader_lease` and `leader_poll`.
    pub fn leader(mut self, lease: Duration, poll: Duration) -> Self {
        self.leader_lease = lease;
        self.leader_poll = poll;
        self
    }

    /// Sets `maintenance_interval`.
    pub fn maintenance_interval(mut self, every: Duration) -> Self {
        self.maintenance_interval = every;
        self
    }

    /// Adds a maintenance task run by the leader.
    pub fn maintenance_task(mut self, task: DynMaintenanceTask) -> Self {
        self.maintenance.push(task);
        self
    }

    pub(crate) fn validate(&self, lease: Duration) -> Result<()> {
        if self.concurrency == 0 {
            return Err(Error::invalid("worker.concurrency", "must be at least 1"));
        }
        if self.owner.as_deref().is_some_and(|o| o.trim().is_empty()) {
            return Err(Error::invalid(
                "worker.owner",
                "must not be blank; leave it unset for a generated id",
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::invalid("worker.poll_interval", "must be positive"));
        }
        if let Some(h) = self.heartbeat_interval {
            if h.is_zero() || h >= lease {
                return Err(Error::invalid(
                    "worker.heartbeat_interval",
                    format!(
                        "is {h:?}; it must be positive and shorter than the lease ({lease:?}), ideally a third of it"
                    ),
                ));
            }
        }
        if self.leader_poll.is_zero() || self.leader_poll * 2 > self.leader_lease {
            return Err(Error::invalid(
                "worker.leader_poll",
                format!(
                    "is {:?}; it must be positive and at most half the leader lease ({:?}) so the leader renews in time",
                    self.leader_poll, self.leader_lease
                ),
            ));
        }
        if self.maintenance_interval.is_zero() {
            return Err(Error::invalid("worker.maintenance_interval", "must be positive"));
        }
        Ok(())
    }

    /// The owner id to use: the configured one, or host-pid-random.
    pub(crate) fn owner_id(&self) -> String {
        self.owner.clone().unwrap_or_else(default_owner)
    }
}

/// `host-pid-random`: unique per process, and readable in the samples table.
fn default_owner() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}
