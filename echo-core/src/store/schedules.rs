//! Recurring runs: an experiment's schedule, the due scan, and the creation of the run of
//! a due slot.
//!
//! The store keeps a schedule as `(kind, expr, next_run_at)` and never interprets `expr`:
//! the engine's scheduler computes slots (interval arithmetic, cron) with the injected
//! clock. What the store guarantees is idempotence: the run of a slot is created together
//! with advancing `next_run_at`, in ONE transaction guarded twice — by a compare-and-set on
//! `next_run_at` (a scheduler acting on a stale scan changes nothing) and by the unique
//! index on `(experiment_id, scheduled_slot)` (never two runs for one slot).

use chrono::{DateTime, Utc};

use super::NewSample;
use crate::Result;
use crate::model::{AccountId, ExperimentId, Run, RunId};

/// Kind of a stored schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScheduleKind {
    /// `expr` is a whole number of seconds.
    Interval,
    /// `expr` is a 5-field cron expression, evaluated in UTC.
    Cron,
}

impl ScheduleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Interval => "interval",
            ScheduleKind::Cron => "cron",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "interval" => Ok(ScheduleKind::Interval),
            "cron" => Ok(ScheduleKind::Cron),
            other => Err(crate::Error::Internal(format!(
                "unknown schedule kind {other:?} in database"
            ))),
        }
    }
}

/// An experiment's schedule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    pub kind: ScheduleKind,
    pub expr: String,
    /// The next slot due.
    pub next_run_at: DateTime<Utc>,
}

/// A schedule whose `next_run_at` has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    pub account_id: AccountId,
    pub experiment_id: ExperimentId,
    pub schedule: StoredSchedule,
}

/// The run of one due slot, to create with advancing the schedule.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledRun<'a> {
    /// The run (its experiment and account) with the spec it snapshots.
    pub run: &'a Run,
    pub samples: &'a [NewSample],
    /// The `next_run_at` the scan saw; nothing happens unless it is still the stored one.
    pub due_at: DateTime<Utc>,
    /// The slot this run fulfils (recorded as `runs.scheduled_slot`); the latest slot not
    /// after now, which is `due_at` unless slots were missed.
    pub slot: DateTime<Utc>,
    /// The new `next_run_at`.
    pub next_run_at: DateTime<Utc>,
}

/// What [`ScheduleStore::create_scheduled_run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduledRunOutcome {
    /// The run and its samples were inserted and the schedule advanced.
    Created,
    /// A run already exists for the slot: the schedule advanced, nothing else was inserted.
    SlotTaken,
    /// `next_run_at` no longer equals `due_at` (another scheduler acted, or the schedule
    /// changed or was removed): nothing was written.
    Stale,
}

/// Schedules of experiments.
#[async_trait::async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Sets (or with `None` removes) the experiment's schedule. NotFound if the experiment
    /// is absent or another account's.
    async fn set_schedule(
        &self,
        account: AccountId,
        experiment: ExperimentId,
        schedule: Option<&StoredSchedule>,
    ) -> Result<()>;

    /// The experiment's schedule, `None` when it has none. NotFound as for `set_schedule`.
    async fn get_schedule(&self, account: AccountId, experiment: ExperimentId) -> Result<Option<StoredSchedule>>;

    /// Up to `limit` schedules with `next_run_at <= now`, earliest first. A system
    /// operation (no account): only the scheduler calls it.
    async fn due_schedules(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueSchedule>>;

    /// In ONE transaction: when the experiment's `next_run_at` still equals `due_at`,
    /// inserts the run (with `scheduled_slot = slot`) and its samples unless a run of that
    /// slot exists, and sets `next_run_at`. The run's account must own the experiment
    /// (NotFound otherwise).
    async fn create_scheduled_run(&self, scheduled: ScheduledRun<'_>) -> Result<ScheduledRunOutcome>;

    /// The run created for `slot` of the experiment, if any. NotFound as for `set_schedule`.
    async fn scheduled_run(
        &self,
        account: AccountId,
        experiment: ExperimentId,
        slot: DateTime<Utc>,
    ) -> Result<Option<RunId>>;
}
