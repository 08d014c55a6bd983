//! Distributed execution, mirroring `echo_core::engine::{Worker, WorkerConfig,
//! WorkerHandle, WorkerReport}`: a worker executes samples of every run in the database
//! (and, as leader, creates scheduled runs and runs maintenance).
//!
//! The worker runs on napi's tokio runtime and does not keep the Node process alive by
//! itself: a worker process keeps running because of what else it does (an HTTP server,
//! or awaiting a shutdown signal), and calls `shutdown` on SIGTERM.

use std::sync::{Arc, Mutex};

use echo_core::engine::{WorkerConfig, WorkerHandle as CoreWorkerHandle};
use echo_core::{Error, Result};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::convert::{out, seconds};
use crate::engine::Echo;
use crate::promise::{spawn, sync};

/// How a worker works. Every field is optional.
#[napi(object)]
pub struct WorkerOptions {
    /// Provider calls in flight (default 64).
    pub concurrency: Option<u32>,
    /// The lease owner id (default: generated, unique per worker).
    pub owner: Option<String>,
    /// Seconds between claims when the queue is empty (default 0.5).
    pub poll_interval_secs: Option<f64>,
    /// Take part in leader election: scheduled runs and maintenance (default true).
    pub run_scheduler: Option<bool>,
    /// Seconds between the leader's maintenance passes (default 60).
    pub maintenance_interval_secs: Option<f64>,
}

/// What a worker has done.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct WorkerReport {
    pub owner: String,
    pub claimed: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub retried: i64,
    pub not_applied: i64,
    pub released: i64,
    pub runs_finalized: i64,
    pub scheduled_runs: i64,
    pub maintenance_passes: i64,
    pub elapsed_ms: i64,
}

fn config(options: &WorkerOptions) -> Result<WorkerConfig> {
    let mut c = WorkerConfig::default();
    if let Some(n) = options.concurrency {
        c = c.concurrency(n as usize);
    }
    if let Some(owner) = &options.owner {
        c = c.owner(owner.clone());
    }
    if let Some(secs) = options.poll_interval_secs {
        c = c.poll_interval(seconds(secs, "worker.pollIntervalSecs")?);
    }
    if let Some(on) = options.run_scheduler {
        c = c.run_scheduler(on);
    }
    if let Some(secs) = options.maintenance_interval_secs {
        c = c.maintenance_interval(seconds(secs, "worker.maintenanceIntervalSecs")?);
    }
    Ok(c)
}

/// A running worker.
#[napi]
pub struct WorkerHandle {
    owner: String,
    inner: Mutex<Option<CoreWorkerHandle>>,
    /// The report at shutdown, so `report()` still answers afterwards.
    last: Arc<Mutex<Option<echo_core::engine::WorkerReport>>>,
}

#[napi]
impl WorkerHandle {
    /// The lease owner id the worker claims under.
    #[napi(getter)]
    pub fn owner(&self) -> String {
        self.owner.clone()
    }

    /// What the worker has done so far.
    #[napi]
    pub fn report(&self, env: Env) -> napi::Result<WorkerReport> {
        let report = match self.inner.lock().expect("worker handle poisoned").as_ref() {
            Some(h) => h.report(),
            None => self
                .last
                .lock()
                .expect("worker handle poisoned")
                .clone()
                .unwrap_or_default(),
        };
        sync(&env, out(&report, "worker report"))
    }

    /// Graceful shutdown: stop claiming, hand back unstarted samples, give calls in flight
    /// `graceSecs` (default 30) to finish, release the rest; resolves with the report.
    #[napi(ts_args_type = "graceSecs?: number", ts_return_type = "Promise<WorkerReport>")]
    pub fn shutdown<'env>(
        &self,
        env: &'env Env,
        grace_secs: Option<f64>,
    ) -> napi::Result<PromiseRaw<'env, WorkerReport>> {
        let grace = sync(env, seconds(grace_secs.unwrap_or(30.0), "graceSecs"))?;
        let handle = self.inner.lock().expect("worker handle poisoned").take();
        let owner = self.owner.clone();
        let last = self.last.clone();
        spawn(
            env,
            async move {
                match handle {
                    Some(h) => {
                        let report = h.shutdown(grace).await?;
                        *last.lock().expect("worker handle poisoned") = Some(report.clone());
                        Ok(report)
                    }
                    None => Err(Error::Conflict(format!("worker {owner} was already shut down"))),
                }
            },
            |r| out(&r, "worker report"),
        )
    }
}

#[napi]
impl Echo {
    /// Starts a worker executing samples of every run in this engine's database with this
    /// engine's providers. A bad option rejects with an `InvalidInputError`.
    #[napi(ts_args_type = "options?: WorkerOptions", ts_return_type = "Promise<WorkerHandle>")]
    pub fn start_worker<'env>(
        &self,
        env: &'env Env,
        options: Option<WorkerOptions>,
    ) -> napi::Result<PromiseRaw<'env, WorkerHandle>> {
        let options = options.unwrap_or(WorkerOptions {
            concurrency: None,
            owner: None,
            poll_interval_secs: None,
            run_scheduler: None,
            maintenance_interval_secs: None,
        });
        let worker = sync(env, config(&options).and_then(|c| self.inner.worker(c)))?;
        spawn(
            env,
            async move {
                // `start` spawns on the runtime, so it runs inside this future.
                let handle = worker.start();
                Ok(WorkerHandle {
                    owner: handle.owner().to_string(),
                    inner: Mutex::new(Some(handle)),
                    last: Arc::new(Mutex::new(None)),
                })
            },
            Ok,
        )
    }
}
