//! Scaling out: a latency-bound run executed by 1, 2 and 4 worker PROCESSES sharing one
//! database, in samples/s and efficiency against the ideal `workers × concurrency /
//! latency`.
//!
//! ```text
//! cargo bench -p echo-benches --bench workers                    # SQLite file
//! ECHO_BENCH_DATABASE_URL=postgres://... cargo bench -p echo-benches --bench workers
//! ```
//!
//! The provider is the Simulated one with a constant 100 ms latency; each worker runs 32
//! calls at once, so one worker's ideal is 320 samples/s. Every configuration runs
//! `workers × 1,600` samples (about 5 s at the ideal rate). Time is measured by the
//! database: from the run's `started_at` (first claim) to its `finished_at` (the last
//! sample persisted and the run finalized), so process start-up is excluded but ramp-up,
//! claims, heartbeats, group commits and finalization are included.
//!
//! The bench binary is also the worker: it re-executes itself with `ECHO_BENCH_WORKER=1`
//! (the same code as the `echo-test-worker` binary of the tests crate).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use echo_core::auth::Principal;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{ExperimentSpec, NewAccount, Target};
use echo_tests::worker_cli::{MARKET, market_provider};

const LATENCY_MS: u64 = 100;
const CONCURRENCY: usize = 32;
const SAMPLES_PER_WORKER: u32 = 1_600;

fn main() {
    if std::env::var_os("ECHO_BENCH_WORKER").is_some() {
        // Worker mode: arguments after `--worker`.
        let args: Vec<String> = std::env::args().skip_while(|a| a != "--worker").skip(1).collect();
        std::process::exit(match echo_tests::worker_cli::main(args) {
            c if c == std::process::ExitCode::SUCCESS => 0,
            _ => 1,
        });
    }
    // `cargo test --benches` runs bench binaries in test mode: nothing to measure then.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    println!("workers: latency-bound run, {LATENCY_MS} ms per call, {CONCURRENCY} calls in flight per worker process");
    println!("| workers | samples | seconds | samples/s | ideal samples/s | efficiency |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for workers in [1usize, 2, 4] {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = std::env::var("ECHO_BENCH_DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
        let samples = SAMPLES_PER_WORKER * workers as u32;
        let secs = one_configuration(&url, workers, samples).await;
        let rate = f64::from(samples) / secs;
        let ideal = workers as f64 * CONCURRENCY as f64 * 1000.0 / LATENCY_MS as f64;
        println!(
            "| {workers} | {samples} | {secs:.2} | {rate:.0} | {ideal:.0} | {:.0}% |",
            100.0 * rate / ideal
        );
    }
}

fn spec(repeats: u32) -> ExperimentSpec {
    ExperimentSpec {
        name: "workers bench".into(),
        prompts: vec!["best widget vendor?".into()],
        brands: MARKET
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                if i == 0 {
                    echo_core::model::BrandSpec::target(*name)
                } else {
                    echo_core::model::BrandSpec::new(*name)
                }
            })
            .collect(),
        targets: vec![Target::new("simulated", "model-a")],
        repeats,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    }
}

/// Enqueues a run of `samples`, lets `workers` processes execute it, returns the seconds
/// between the run's start and finish as the database recorded them.
async fn one_configuration(url: &str, workers: usize, samples: u32) -> f64 {
    let echo = Echo::builder()
        .database_url(url)
        .provider(market_provider(1, Duration::ZERO))
        .build()
        .await
        .expect("open database");
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "bench".into(),
                ..Default::default()
            },
        )
        .await
        .expect("account");
    let me = Principal::host(account.id);
    let exp = echo.create_experiment(&me, spec(samples)).await.expect("experiment");
    let run = echo
        .enqueue_run(&me, exp.id, &RunOptions::default())
        .await
        .expect("enqueue");

    let exe = std::env::current_exe().expect("current exe");
    let procs: Vec<Child> = (0..workers)
        .map(|i| {
            Command::new(&exe)
                .env("ECHO_BENCH_WORKER", "1")
                .args(["--worker", "--database-url", url])
                .args(["--concurrency", &CONCURRENCY.to_string()])
                .args(["--latency-ms", &LATENCY_MS.to_string()])
                .args(["--owner", &format!("bench-worker-{i}"), "--no-scheduler"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn worker")
        })
        .collect();

    let finished = loop {
        let r = echo.get_run(&me, run.id).await.expect("run");
        if r.status.is_terminal() {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for p in &procs {
        let _ = Command::new("kill").args(["-TERM", &p.id().to_string()]).status();
    }
    for p in procs {
        let out = p.wait_with_output().expect("worker exit");
        assert!(
            out.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let counts = echo
        .store()
        .sample_counts(me.account_id(), run.id)
        .await
        .expect("counts");
    assert_eq!(counts.succeeded, u64::from(samples), "every sample answered");
    echo.close().await;
    let started = finished.started_at.expect("started_at");
    let ended = finished.finished_at.expect("finished_at");
    (ended - started).num_milliseconds() as f64 / 1000.0
}
