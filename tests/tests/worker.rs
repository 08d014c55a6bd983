//! The Worker API in one process: executing enqueued runs from any run, finalizing them,
//! graceful shutdown (finish in flight, release the rest), the shutdown deadline, and
//! leader-only maintenance. Multi-process behaviour is in `distributed.rs`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use echo_core::auth::Principal;
use echo_core::clock::{Clock, ManualClock};
use echo_core::engine::{Echo, MaintenanceTask, RunOptions, WorkerConfig};
use echo_core::model::{RunId, RunStatus, SampleStatus};
use echo_core::provider::FailureRates;
use echo_core::store::{ClaimRequest, SampleOutcome, Store};

fn fast_worker() -> WorkerConfig {
    WorkerConfig::default()
        .concurrency(8)
        .poll_interval(Duration::from_millis(20))
        .run_scheduler(false)
}

/// Polls until the run is terminal (bounded, so a bug fails instead of hanging).
async fn wait_terminal(echo: &Echo, me: &Principal, run: RunId) -> RunStatus {
    for _ in 0..1_500 {
        let status = echo.get_run(me, run).await.unwrap().status;
        if status.is_terminal() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("run {run} did not finish within 30 s");
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..1_500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_executes_every_enqueued_run_and_finalizes_them() {
    let (provider, calls) = Counting::new(simulated(3, Duration::ZERO, FailureRates::default()));
    let echo = Echo::builder().provider(provider).build().await.unwrap();
    let me = account(&echo, "w").await;
    let exp = echo.create_experiment(&me, spec(10)).await.unwrap();
    let runs = [
        echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap(),
        echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap(),
    ];

    let worker = echo.worker(fast_worker().owner("worker-1")).unwrap();
    assert_eq!(worker.owner(), "worker-1");
    let handle = worker.start();
    for r in &runs {
        assert_eq!(wait_terminal(&echo, &me, r.id).await, RunStatus::Completed);
    }
    let report = handle.shutdown(Duration::from_secs(5)).await.unwrap();

    assert_eq!(report.owner, "worker-1");
    assert_eq!((report.claimed, report.succeeded, report.failed), (80, 80, 0));
    assert_eq!((report.not_applied, report.released), (0, 0));
    assert_eq!(report.runs_finalized, 2, "the worker finalized both runs it finished");
    assert_eq!(calls.load(Ordering::SeqCst), 80, "each sample asked once");
    for r in &runs {
        let run = echo.get_run(&me, r.id).await.unwrap();
        assert!(run.started_at.is_some() && run.finished_at.is_some());
        let report = echo.report(&me, r.id).await.unwrap();
        assert_eq!(report.counts.succeeded, 40);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_calls_in_flight_and_releases_the_rest() {
    let (provider, calls) = Counting::new(simulated(4, Duration::from_millis(40), FailureRates::default()));
    let echo = Echo::builder().provider(provider).build().await.unwrap();
    let me = account(&echo, "g").await;
    let exp = echo.create_experiment(&me, spec(50)).await.unwrap(); // 200 samples
    let run = echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();

    let handle = echo.worker(fast_worker().concurrency(4)).unwrap().start();
    wait_until("some answers", async || handle.report().succeeded >= 12).await;
    let report = handle.shutdown(Duration::from_secs(30)).await.unwrap();

    let counts = echo.store().sample_counts(me.account_id(), run.id).await.unwrap();
    assert_eq!(counts.leased, 0, "nothing is left leased: no one waits for an expiry");
    assert_eq!(counts.succeeded, report.succeeded, "{counts:?} {report:?}");
    assert_eq!(counts.succeeded + counts.pending, 200, "{counts:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        report.succeeded,
        "every call started before the shutdown was finished and persisted"
    );
    assert!(
        report.released > 0,
        "claimed-but-unstarted samples were handed back: {report:?}"
    );
    let records = echo.store().load_samples(me.account_id(), run.id).await.unwrap();
    assert!(
        records
            .iter()
            .filter(|r| r.sample.status == SampleStatus::Pending)
            .all(|r| r.sample.attempt == 0),
        "released samples get their attempt back"
    );

    // A new worker finishes the rest; nothing asked twice.
    let handle = echo.worker(fast_worker()).unwrap().start();
    assert_eq!(wait_terminal(&echo, &me, run.id).await, RunStatus::Completed);
    let second = handle.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(report.succeeded + second.succeeded, 200);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        200,
        "no sample asked twice across the two workers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_shutdown_deadline_calls_are_abandoned_and_released() {
    let (provider, calls) = Counting::new(simulated(5, Duration::from_secs(30), FailureRates::default()));
    let echo = Echo::builder().provider(provider).build().await.unwrap();
    let me = account(&echo, "d").await;
    let exp = echo.create_experiment(&me, spec(5)).await.unwrap(); // 20 samples
    let run = echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();

    let handle = echo.worker(fast_worker().concurrency(4)).unwrap().start();
    wait_until("calls in flight", async || calls.load(Ordering::SeqCst) == 4).await;
    let started = std::time::Instant::now();
    let report = handle.shutdown(Duration::from_millis(200)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the deadline bounds the shutdown"
    );

    assert_eq!(report.succeeded, 0);
    assert_eq!(
        report.released, report.claimed,
        "every claimed sample was handed back: {report:?}"
    );
    let counts = echo.store().sample_counts(me.account_id(), run.id).await.unwrap();
    assert_eq!((counts.pending, counts.leased), (20, 0), "{counts:?}");
    let records = echo.store().load_samples(me.account_id(), run.id).await.unwrap();
    assert!(
        records.iter().all(|r| r.sample.attempt == 0),
        "no attempt spent by a release"
    );
}

/// Counts its passes.
#[derive(Debug, Default)]
struct CountingTask {
    passes: AtomicU64,
}

#[async_trait::async_trait]
impl MaintenanceTask for CountingTask {
    fn name(&self) -> &str {
        "counting"
    }
    async fn run(&self, _store: &dyn Store, _now: DateTime<Utc>) -> echo_core::Result<()> {
        self.passes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_runs_on_the_leader_only_and_repairs_what_a_crash_left() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("echo.db").display());
    let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(1_735_689_600, 0).unwrap()));
    let open = async || {
        Echo::builder()
            .database_url(url.clone())
            .clock(clock.clone())
            .lease(Duration::from_secs(60))
            .provider(simulated(6, Duration::ZERO, FailureRates::default()))
            .build()
            .await
            .unwrap()
    };
    let echo = open().await;
    let me = account(&echo, "m").await;
    let exp = echo.create_experiment(&me, spec(2)).await.unwrap(); // 8 samples

    // A crash after the last commit and before finalization: every sample answered by a
    // process that died, the run still `pending`.
    let crashed = echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();
    let tasks = echo
        .store()
        .claim_samples(&ClaimRequest {
            run_id: Some(crashed.id),
            owner: "dead",
            limit: 100,
            now: clock.now(),
            lease: Duration::from_secs(60),
            max_attempts: 3,
        })
        .await
        .unwrap();
    let failed: Vec<_> = tasks
        .iter()
        .map(|t| SampleOutcome::Failed {
            fence: t.into(),
            error_class: "auth".into(),
            error_message: "test".into(),
            at: clock.now(),
        })
        .collect();
    echo.store().complete_samples(&failed).await.unwrap();
    assert_eq!(echo.get_run(&me, crashed.id).await.unwrap().status, RunStatus::Pending);

    let (task_a, task_b) = (Arc::new(CountingTask::default()), Arc::new(CountingTask::default()));
    let config = |task: &Arc<CountingTask>| {
        fast_worker()
            .run_scheduler(true)
            // Longer than the clock jumps below, so leadership stays put.
            .leader(Duration::from_secs(300), Duration::from_millis(20))
            .maintenance_interval(Duration::from_secs(60))
            .maintenance_task(task.clone())
    };
    let (echo_a, echo_b) = (open().await, open().await);
    let a = echo_a.worker(config(&task_a)).unwrap().start();
    let b = echo_b.worker(config(&task_b)).unwrap().start();

    assert_eq!(
        wait_terminal(&echo, &me, crashed.id).await,
        RunStatus::Failed,
        "finalized by maintenance"
    );
    // Three maintenance periods on the engine's clock.
    let passes = || task_a.passes.load(Ordering::SeqCst) + task_b.passes.load(Ordering::SeqCst);
    wait_until("the first maintenance pass", async || passes() >= 1).await;
    for period in 1..=3 {
        clock.advance(Duration::from_secs(61));
        wait_until("a maintenance pass per period", async || passes() > period).await;
    }
    let (ra, rb) = (
        a.shutdown(Duration::from_secs(5)).await.unwrap(),
        b.shutdown(Duration::from_secs(5)).await.unwrap(),
    );
    let (pa, pb) = (
        task_a.passes.load(Ordering::SeqCst),
        task_b.passes.load(Ordering::SeqCst),
    );
    assert!(pa == 0 || pb == 0, "only the leader runs maintenance ({pa}, {pb})");
    assert!(pa + pb >= 4, "a pass at start and one per period ({pa}, {pb})");
    assert_eq!(ra.maintenance_passes + rb.maintenance_passes, pa + pb);
}
