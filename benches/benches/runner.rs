//! Runner benchmarks: end-to-end samples/s on a SQLite file, and how close a run with
//! real-looking latency gets to the ideal `concurrency / latency` throughput.
//!
//! ```text
//! cargo bench -p echo-benches --bench runner
//! ```

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use echo_core::auth::Principal;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{ExperimentSpec, NewAccount, Target};
use echo_core::provider::{LatencyModel, Simulated, SimulatedConfig};

fn spec(repeats: u32) -> ExperimentSpec {
    let brands = SimulatedConfig::crm_demo(1).brand_specs("HubSpot");
    ExperimentSpec {
        name: "bench".into(),
        prompts: vec!["What is the best CRM for a 10-person startup?".into()],
        brands,
        targets: vec![Target::new("simulated", "sim-1")],
        repeats,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    }
}

/// Runs one experiment of `samples` samples on a fresh SQLite file; returns the wall time
/// from `start_run` to the finished report.
async fn one_run(samples: u32, latency: Duration, concurrency: Option<usize>) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let config = SimulatedConfig::crm_demo(7).latency(if latency.is_zero() {
        LatencyModel::zero()
    } else {
        LatencyModel::new(latency, 0.0)
    });
    let mut builder = Echo::builder()
        .sqlite_file(dir.path().join("bench.db"))
        .provider(Simulated::new(config).unwrap());
    if let Some(c) = concurrency {
        builder = builder.concurrency(c);
    }
    let echo = builder.build().await.unwrap();
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "bench".into(),
                // 10,000 samples in one run: past the free tier's 500 per run.
                tier: Some("enterprise".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let me = Principal::host(account.id);
    let exp = echo.create_experiment(&me, spec(samples)).await.unwrap();
    let started = Instant::now();
    let report = echo
        .start_run(&me, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.counts.succeeded, u64::from(samples));
    echo.close().await;
    elapsed
}

fn runner(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // Headline figures first, so they appear in the output whatever criterion decides.
    let t = rt.block_on(one_run(10_000, Duration::ZERO, None));
    println!(
        "runner summary: 10,000 samples, zero latency, SQLite file: {:.2} s = {:.0} samples/s (goal >= 5,000)",
        t.as_secs_f64(),
        10_000.0 / t.as_secs_f64()
    );
    let ideal = 1_000.0 / 64.0 * 0.1;
    let t = rt.block_on(one_run(1_000, Duration::from_millis(100), Some(64)));
    println!(
        "runner summary: 1,000 samples, 100 ms latency, concurrency 64: {:.3} s vs ideal {ideal:.3} s ({:+.1}%, goal within 10%)",
        t.as_secs_f64(),
        (t.as_secs_f64() / ideal - 1.0) * 100.0
    );

    let mut g = c.benchmark_group("runner");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("10k_samples_zero_latency_sqlite_file", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rt.block_on(one_run(10_000, Duration::ZERO, None)))
                .sum()
        })
    });
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("1k_samples_100ms_latency_c64", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rt.block_on(one_run(1_000, Duration::from_millis(100), Some(64))))
                .sum()
        })
    });
    g.finish();
}

criterion_group!(benches, runner);
criterion_main!(benches);
