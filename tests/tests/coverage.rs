//! Statistical check against the simulator's known truth: the Wilson 95% interval of
//! visibility covers the true rate in 92–98% of seeded runs.

mod common;

use std::time::Duration;

use common::*;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{ExperimentSpec, Target};
use echo_core::provider::FailureRates;
use echo_core::quota::UnmeteredQuotaPolicy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wilson_intervals_cover_the_true_visibility_about_95_percent_of_the_time() {
    const RUNS: u64 = 400;
    const REPEATS: u32 = 40;
    let echo = Echo::builder()
        .provider(simulated(2024, Duration::ZERO, FailureRates::default()))
        // 400 runs and 16,000 samples in one account: far past any tier's limits.
        .quota_policy(UnmeteredQuotaPolicy)
        .build()
        .await
        .unwrap();
    let me = account(&echo, "stats").await;
    let spec = ExperimentSpec {
        prompts: vec!["best widget vendor?".into()],
        targets: vec![Target::new("simulated", "model-a")],
        ..spec(REPEATS)
    };
    let exp = echo.create_experiment(&me, spec).await.unwrap();

    let mut covered = vec![0u64; TRUTH.len()];
    for seed in 0..RUNS {
        let report = echo
            .start_run(
                &me,
                exp.id,
                RunOptions {
                    seed: Some(seed),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(report.overall.answered, u64::from(REPEATS));
        for (i, (brand, truth)) in TRUTH.iter().enumerate() {
            if report
                .overall
                .brand(brand)
                .unwrap()
                .visibility
                .interval
                .contains(*truth)
            {
                covered[i] += 1;
            }
        }
    }
    for (i, (brand, truth)) in TRUTH.iter().enumerate() {
        let rate = covered[i] as f64 / RUNS as f64;
        println!(
            "{brand} (p = {truth}): covered in {:.1}% of {RUNS} runs of {REPEATS} answers",
            rate * 100.0
        );
    }
    for (i, (brand, _)) in TRUTH.iter().enumerate() {
        let rate = covered[i] as f64 / RUNS as f64;
        assert!((0.92..=0.98).contains(&rate), "{brand}: coverage {rate}");
    }
}
