//! Distributed execution with real worker processes (`echo-test-worker`) sharing one
//! database: a SQLite file always, and PostgreSQL when reachable and built (see
//! `databases`). Every sample must succeed exactly once however the workers are started,
//! killed or stopped; scheduled runs must be created once per slot however many workers
//! run the scheduler.

mod common;
mod databases;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{account, brands, simulated, spec};
use databases::TestDb;
use echo_core::auth::Principal;
use echo_core::clock::{Clock, ManualClock};
use echo_core::engine::{Echo, RunOptions, Schedule, WorkerConfig, WorkerReport};
use echo_core::model::{PageRequest, RunId, RunStatus, SampleStatus};
use echo_core::provider::FailureRates;

const WORKER: &str = env!("CARGO_BIN_EXE_echo-test-worker");

/// 2 targets × 2 prompts × 500 repeats.
const SAMPLES: u64 = 2_000;

// ---- worker processes ---------------------------------------------------------------

/// A worker process; killed if the test ends without collecting it.
struct WorkerProcess {
    child: Option<Child>,
}

/// What a worker process printed on exit.
struct Exited {
    report: WorkerReport,
    provider_calls: u64,
}

impl WorkerProcess {
    fn spawn(url: &str, args: &[&str]) -> Self {
        let child = Command::new(WORKER)
            .arg("--database-url")
            .arg(url)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start echo-test-worker");
        Self { child: Some(child) }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGTERM: the graceful shutdown a process manager asks for.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// SIGKILL: a crash; nothing is cleaned up.
    fn kill9(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill -9");
        child.wait().expect("reap");
    }

    /// Waits for the exit and parses the report line.
    async fn collect(mut self) -> Exited {
        let child = self.child.take().expect("running");
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .expect("join")
            .expect("wait for worker");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "worker failed ({}): {stdout}", output.status);
        let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        Exited {
            report: serde_json::from_value(line["report"].clone()).expect("report"),
            provider_calls: line["provider_calls"].as_u64().expect("provider_calls"),
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---- helpers ------------------------------------------------------------------------

async fn open(url: &str) -> Echo {
    Echo::builder()
        .database_url(url)
        // 2,000-sample runs: past the default free tier's 500 per run.
        .quota_policy(echo_core::quota::UnmeteredQuotaPolicy)
        .provider(simulated(1, Duration::ZERO, FailureRates::default()))
        .build()
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// An account with a 2,000-sample run enqueued (not executed).
async fn enqueued_run(echo: &Echo, name: &str) -> (Principal, RunId) {
    let me = account(echo, name).await;
    let exp = echo.create_experiment(&me, spec(500)).await.unwrap();
    let run = echo
        .enqueue_run(
            &me,
            exp.id,
            &RunOptions {
                seed: Some(2024),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(run.planned_samples, SAMPLES);
    (me, run.id)
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn succeeded(echo: &Echo, me: &Principal, run: RunId) -> u64 {
    echo.store()
        .sample_counts(me.account_id(), run)
        .await
        .unwrap()
        .succeeded
}

async fn wait_finished(echo: &Echo, me: &Principal, run: RunId) -> RunStatus {
    wait_for("the run to finish", Duration::from_secs(180), async || {
        echo.get_run(me, run).await.unwrap().status.is_terminal()
    })
    .await;
    echo.get_run(me, run).await.unwrap().status
}

/// Every sample succeeded exactly once, and the stored mentions are exactly what the
/// extractor finds in the stored answers (so nothing was doubled by a redelivery).
async fn assert_exactly_once(echo: &Echo, me: &Principal, run: RunId, backend: &str) {
    let stored = echo.get_run(me, run).await.unwrap();
    assert_eq!(stored.status, RunStatus::Completed, "[{backend}]");
    let records = echo.store().load_samples(me.account_id(), run).await.unwrap();
    assert_eq!(records.len() as u64, SAMPLES, "[{backend}]");
    assert!(
        records.iter().all(|r| r.sample.status == SampleStatus::Succeeded),
        "[{backend}]"
    );
    let keys: HashSet<_> = records
        .iter()
        .map(|r| {
            (
                r.sample.target.to_string(),
                r.sample.prompt_index,
                r.sample.repeat_index,
            )
        })
        .collect();
    assert_eq!(keys.len() as u64, SAMPLES, "[{backend}] one row per sample key");
    for r in &records {
        let brands: HashSet<_> = r.mentions.iter().map(|m| &m.brand).collect();
        assert_eq!(
            brands.len(),
            r.mentions.len(),
            "[{backend}] duplicate mention in {}",
            r.sample.id
        );
    }
    // The dashboard's books (rollups kept by each worker's completions) agree with the
    // samples: the account has only this run.
    let books = echo.store().account_summary(me.account_id()).await.unwrap();
    let counts = echo.store().sample_counts(me.account_id(), run).await.unwrap();
    assert_eq!(
        books.samples, counts,
        "[{backend}] dashboard rollups agree with the samples"
    );
    let report = echo.report(me, run).await.unwrap();
    let again = echo.reanalyze(me, run, brands()).await.unwrap();
    assert_eq!(report.counts.succeeded, SAMPLES, "[{backend}]");
    for (brand, _) in common::TRUTH {
        assert_eq!(
            report.overall.brand(brand).unwrap().visibility.successes,
            again.overall.brand(brand).unwrap().visibility.successes,
            "[{backend}] stored mentions of {brand} differ from the answers'"
        );
    }
}

fn totals(exits: &[Exited]) -> (u64, u64, u64) {
    (
        exits.iter().map(|e| e.report.succeeded).sum(),
        exits.iter().map(|e| e.provider_calls).sum(),
        exits.iter().map(|e| e.report.not_applied).sum(),
    )
}

// ---- scenarios ----------------------------------------------------------------------

async fn n_workers_complete_a_run(db: &TestDb, workers: usize) {
    let echo = open(&db.url).await;
    let (me, run) = enqueued_run(&echo, "fleet").await;
    let procs: Vec<_> = (0..workers)
        .map(|i| {
            let owner = format!("worker-{i}");
            WorkerProcess::spawn(&db.url, &["--concurrency", "8", "--latency-ms", "2", "--owner", &owner])
        })
        .collect();
    wait_finished(&echo, &me, run).await;
    for p in &procs {
        p.terminate();
    }
    let mut exits = Vec::new();
    for p in procs {
        exits.push(p.collect().await);
    }
    let backend = db.backend;
    assert_exactly_once(&echo, &me, run, backend).await;
    let (answers, calls, discarded) = totals(&exits);
    assert_eq!(answers, SAMPLES, "[{backend}] the workers persisted each answer once");
    assert_eq!(calls, SAMPLES, "[{backend}] each sample was asked exactly once");
    assert_eq!(discarded, 0, "[{backend}]");
    assert_eq!(
        exits.iter().map(|e| e.report.runs_finalized).sum::<u64>(),
        1,
        "[{backend}] finalized once"
    );
    let split: Vec<u64> = exits.iter().map(|e| e.report.succeeded).collect();
    println!("[{backend}] {workers} workers: answers per worker {split:?}");
    let records = echo.store().load_samples(me.account_id(), run).await.unwrap();
    assert!(
        records.iter().all(|r| r.sample.attempt == 1),
        "[{backend}] no sample claimed twice"
    );
    echo.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_complete_a_run_exactly_once() {
    for db in databases::all("two_workers").await {
        n_workers_complete_a_run(&db, 2).await;
        db.cleanup().await;
    }
}

/// A worker process puts the run's ids and the host's correlation id — stored on the run by
/// the process that enqueued it — on the span of every sample it executes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_logs_the_runs_correlation_id() {
    for db in databases::all("worker_correlation").await {
        let backend = db.backend;
        let echo = open(&db.url).await;
        let me = account(&echo, "correlated").await;
        let exp = echo.create_experiment(&me, spec(2)).await.unwrap();
        let correlation = format!("corr-{}", uuid::Uuid::new_v4().simple());
        let options = RunOptions {
            correlation_id: Some(correlation.clone()),
            ..Default::default()
        };
        let run = echo.enqueue_run(&me, exp.id, &options).await.unwrap();
        let child = Command::new(WORKER)
            .arg("--database-url")
            .arg(&db.url)
            .args(["--no-scheduler", "--poll-ms", "20"])
            .env("RUST_LOG", "echo_core=info")
            .env("ECHO_TEST_LOG_SPANS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start echo-test-worker");
        let mut worker = WorkerProcess { child: Some(child) };
        wait_finished(&echo, &me, run.id).await;
        worker.terminate();
        let child = worker.child.take().expect("running");
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .expect("join")
            .expect("wait for worker");
        let logs = String::from_utf8_lossy(&output.stderr);
        let run_id = run.id.to_string();
        let samples: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("sample{") && l.contains(&run_id))
            .collect();
        assert_eq!(
            samples.len() as u64,
            run.planned_samples,
            "[{backend}] one span per sample: {logs}"
        );
        for line in samples {
            assert!(
                line.contains(&format!("correlation_id={correlation}"))
                    && line.contains(&format!("account_id={}", me.account_id()))
                    && line.contains(&format!("experiment_id={}", exp.id)),
                "[{backend}] {line}"
            );
        }
        echo.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_worker_processes_complete_a_run_exactly_once() {
    for db in databases::all("four_workers").await {
        n_workers_complete_a_run(&db, 4).await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_samples_are_finished_by_the_others_after_lease_expiry() {
    for db in databases::all("kill9").await {
        let backend = db.backend;
        let echo = open(&db.url).await;
        let (me, run) = enqueued_run(&echo, "kill9").await;
        // Short leases so the takeover happens within the test; latency so the run is
        // still going when the victim dies.
        let args = ["--concurrency", "8", "--latency-ms", "10", "--lease-ms", "2000"];
        let victim = WorkerProcess::spawn(&db.url, &[&args[..], &["--owner", "victim"]].concat());
        let survivor = WorkerProcess::spawn(&db.url, &[&args[..], &["--owner", "survivor"]].concat());
        wait_for(
            "the victim to answer some samples",
            Duration::from_secs(60),
            async || {
                let records = echo.store().load_samples(me.account_id(), run).await.unwrap();
                let held = records
                    .iter()
                    .filter(|r| r.sample.status == SampleStatus::Leased)
                    .count();
                succeeded(&echo, &me, run).await >= 300 && held > 0
            },
        )
        .await;
        victim.kill9();
        let at_kill = succeeded(&echo, &me, run).await;
        assert!(
            at_kill < SAMPLES,
            "[{backend}] the run must still be going when the victim dies"
        );

        assert_eq!(
            wait_finished(&echo, &me, run).await,
            RunStatus::Completed,
            "[{backend}]"
        );
        survivor.terminate();
        let survivor = survivor.collect().await;
        assert_exactly_once(&echo, &me, run, backend).await;
        let records = echo.store().load_samples(me.account_id(), run).await.unwrap();
        let rescued = records.iter().filter(|r| r.sample.attempt == 2).count();
        assert!(rescued > 0, "[{backend}] the victim's leased samples were taken over");
        assert!(records.iter().all(|r| r.sample.attempt <= 2), "[{backend}]");
        assert!(survivor.report.succeeded >= rescued as u64, "[{backend}]");
        println!(
            "[{backend}] kill -9: {at_kill} answered at the kill, {rescued} samples rescued after lease expiry, \
             survivor answered {}",
            survivor.report.succeeded
        );
        echo.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_loses_no_work() {
    for db in databases::all("graceful").await {
        let backend = db.backend;
        let echo = open(&db.url).await;
        let (me, run) = enqueued_run(&echo, "graceful").await;
        // Default (5 minute) leases: if anything stayed leased, the second worker could not
        // finish within the test.
        let args = ["--concurrency", "8", "--latency-ms", "10"];
        let first = WorkerProcess::spawn(&db.url, &args);
        wait_for("some answers", Duration::from_secs(60), async || {
            succeeded(&echo, &me, run).await >= 200
        })
        .await;
        first.terminate();
        let first = first.collect().await;

        let counts = echo.store().sample_counts(me.account_id(), run).await.unwrap();
        assert_eq!(
            counts.leased, 0,
            "[{backend}] a graceful stop leaves nothing leased: {counts:?}"
        );
        assert!(counts.pending > 0, "[{backend}] the stop came mid-run: {counts:?}");
        assert_eq!(counts.succeeded, first.report.succeeded, "[{backend}]");
        assert_eq!(
            first.provider_calls, first.report.succeeded,
            "[{backend}] every call made was finished and persisted"
        );

        let second = WorkerProcess::spawn(&db.url, &args);
        assert_eq!(
            wait_finished(&echo, &me, run).await,
            RunStatus::Completed,
            "[{backend}]"
        );
        second.terminate();
        let second = second.collect().await;
        assert_exactly_once(&echo, &me, run, backend).await;
        let (answers, calls, _) = totals(&[first, second]);
        assert_eq!(
            (answers, calls),
            (SAMPLES, SAMPLES),
            "[{backend}] nothing lost, nothing asked twice"
        );
        echo.close().await;
        db.cleanup().await;
    }
}

// ---- the scheduler ------------------------------------------------------------------

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_735_689_600, 0).unwrap() // 2025-01-01T00:00:00Z
}

fn hour(h: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::hours(h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_schedulers_create_exactly_one_run_per_hourly_slot_over_a_day() {
    for db in databases::all("schedule").await {
        let backend = db.backend;
        let clock = Arc::new(ManualClock::new(t0()));
        let open_at = async || {
            Echo::builder()
                .database_url(db.url.clone())
                .clock(clock.clone())
                .provider(simulated(1, Duration::ZERO, FailureRates::default()))
                .build()
                .await
                .unwrap()
        };
        let echo = open_at().await;
        let me = account(&echo, "scheduled").await;
        let exp = echo.create_experiment(&me, spec(1)).await.unwrap(); // 4 samples per run
        let first = echo
            .set_schedule(&me, exp.id, Some(Schedule::Cron("0 * * * *".into())))
            .await
            .unwrap();
        assert_eq!(first, Some(hour(1)));

        // Three workers, each on its own engine and connection pool, all schedulers.
        let mut handles = Vec::new();
        for i in 0..3 {
            let engine = open_at().await;
            let config = WorkerConfig::default()
                .owner(format!("scheduler-{i}"))
                .concurrency(4)
                .poll_interval(Duration::from_millis(10))
                .leader(Duration::from_secs(30), Duration::from_millis(10));
            handles.push((engine.clone(), engine.worker(config).unwrap().start()));
        }

        let mut runs: HashMap<DateTime<Utc>, RunId> = HashMap::new();
        for h in 1..=24 {
            clock.set(hour(h) + chrono::Duration::seconds(5));
            let mut found = None;
            wait_for(
                &format!("the run of {}", hour(h)),
                Duration::from_secs(30),
                async || {
                    found = echo.scheduled_run(&me, exp.id, hour(h)).await.unwrap();
                    found.is_some()
                },
            )
            .await;
            let run = found.unwrap();
            assert_eq!(
                wait_finished(&echo, &me, run).await,
                RunStatus::Completed,
                "[{backend}]"
            );
            runs.insert(hour(h), run);
        }
        // Give every scheduler time for several more scans of the same instant.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let page = echo
            .list_runs(
                &me,
                exp.id,
                &PageRequest {
                    limit: Some(100),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 24, "[{backend}] exactly one run per slot");
        assert_eq!(
            page.items.iter().map(|r| r.id).collect::<HashSet<_>>(),
            runs.values().copied().collect::<HashSet<_>>(),
            "[{backend}] every run belongs to its own slot"
        );
        let info = echo.schedule(&me, exp.id).await.unwrap().unwrap();
        assert_eq!(info.next_run_at, hour(25), "[{backend}]");
        // Scheduled runs spend quota like started ones: 24 runs x 4 answers charged, and
        // no reservation left held (a slot served twice would have refunded its loser).
        let quota = echo.quota_status(&me).await.unwrap();
        assert_eq!((quota.used, quota.reserved), (96, 0), "[{backend}] quota books");

        // Downtime: five slots pass unseen (25h..29h); ONE run, for the latest, follows.
        clock.set(hour(29) + chrono::Duration::minutes(30));
        wait_for("the catch-up run", Duration::from_secs(30), async || {
            echo.scheduled_run(&me, exp.id, hour(29)).await.unwrap().is_some()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        for missed in 25..29 {
            assert_eq!(
                echo.scheduled_run(&me, exp.id, hour(missed)).await.unwrap(),
                None,
                "[{backend}]"
            );
        }
        let info = echo.schedule(&me, exp.id).await.unwrap().unwrap();
        assert_eq!(
            info.next_run_at,
            hour(30),
            "[{backend}] continues from the next future slot"
        );

        let mut created = 0;
        for (engine, handle) in handles {
            let report = handle.shutdown(Duration::from_secs(10)).await.unwrap();
            created += report.scheduled_runs;
            engine.close().await;
        }
        assert_eq!(created, 25, "[{backend}] the schedulers together created 24 + 1 runs");
        assert!(clock.now() > hour(29));
        echo.close().await;
        db.cleanup().await;
    }
}
