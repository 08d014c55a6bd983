//! The engine: the [`Echo`] facade and the run flow.
//!
//! ```text
//! Echo::start_run(principal, experiment)
//!   authorize → plan (targets × prompts × repeats) → enqueue (run + samples, one txn)
//!   → execute (claim → provider → extract → persist, bounded concurrency)
//!   (before enqueue: run size, run-start rate limit, quota reservation)
//!   → finalize (status, settle the reservation, report)
//! ```

pub(crate) mod adaptive;
mod adaptive_estimate;
mod audit_api;
mod builder;
mod config;
mod dispatcher;
mod echo;
mod estimate;
mod executor;
mod finalize;
mod gdpr_api;
mod handle;
mod keys;
mod lease_keeper;
mod maintenance;
mod persister;
mod plan;
mod privacy_api;
mod progress;
mod providers;
mod quotas;
mod report;
mod run_context;
mod sample_exec;
mod schedule;
mod schedule_api;
mod scheduler;
mod seed;
mod statistics;
mod trace;
mod worker;

pub use adaptive::MIN_WAVE as ADAPTIVE_MIN_WAVE;
pub use adaptive_estimate::{AdaptiveEstimate, estimate_adaptive};
pub use audit_api::AUDIT_PURGE_BATCH;
pub use builder::EchoBuilder;
pub use config::EngineConfig;
pub use echo::{Echo, RunOptions};
pub use estimate::{EXPECTED_OUTPUT_TOKENS, Estimate, TargetEstimate, estimate};
pub use handle::RunHandle;
pub use maintenance::{DynMaintenanceTask, LeaseSweep, MaintenanceTask, QuotaSweep};
pub use progress::Progress;
pub use providers::{KNOWN_PROVIDER_IDS, ProviderRegistry};
pub use schedule::{MIN_INTERVAL, Schedule};
pub use schedule_api::ScheduleInfo;
pub use seed::sample_seed;
pub use statistics::{MAX_SERIES_RUNS, SERIES_ALPHA};
pub use worker::{LEADER_LEASE, Worker, WorkerConfig, WorkerHandle, WorkerReport};
