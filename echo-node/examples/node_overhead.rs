//! The Rust side of `bench/overhead.mjs`: the same work without the binding.
//!
//! ```text
//! cargo run --release -p echo-node --example node_overhead
//! ```
//!
//! Prints one JSON object; numbers are medians in microseconds.

use std::time::Instant;

use echo_core::auth::Principal;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{ExperimentSpec, NewAccount, Target};
use echo_core::provider::{Simulated, SimulatedConfig};
use echo_core::quota::UnmeteredQuotaPolicy;

const WORKLOAD: &str = include_str!("../bench/workload.json");

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[tokio::main]
async fn main() -> echo_core::Result<()> {
    let workload: serde_json::Value = serde_json::from_str(WORKLOAD).expect("bench/workload.json is valid JSON");
    let n = |key: &str| workload[key].as_u64().expect("a count") as usize;
    let seed = workload["seed"].as_u64().expect("a seed");
    let spec: ExperimentSpec = echo_node::convert::via_serde(
        &serde_json::from_value::<echo_node::model::ExperimentSpec>(workload["spec"].clone())
            .expect("the spec has the JavaScript shape"),
        "spec",
    )?;

    let echo = Echo::builder()
        .provider(Simulated::new(SimulatedConfig::crm_demo(seed))?)
        .quota_policy(UnmeteredQuotaPolicy)
        .build()
        .await?;
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "bench".into(),
                ..Default::default()
            },
        )
        .await?;
    let me = Principal::host(account.id);

    let t0 = Instant::now();
    for _ in 0..n("syncIterations") {
        std::hint::black_box(Target::parse(std::hint::black_box("openai/gpt-4o-mini"))?);
    }
    let sync_us = t0.elapsed().as_secs_f64() * 1e6 / n("syncIterations") as f64;

    for _ in 0..200 {
        echo.get_account(&me).await?;
    }
    let mut get_account = Vec::new();
    for _ in 0..n("callIterations") {
        let t = Instant::now();
        std::hint::black_box(echo.get_account(&me).await?);
        get_account.push(t.elapsed().as_secs_f64() * 1e6);
    }

    let experiment = echo.create_experiment(&me, spec).await?;
    let t0 = Instant::now();
    let handle = echo
        .start_run(
            &me,
            experiment.id,
            RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        )
        .await?;
    let run_id = handle.run_id();
    let final_report = handle.wait().await?;
    let run_ms = t0.elapsed().as_millis();
    assert_eq!(final_report.counts.succeeded, 10_000);

    echo.report(&me, run_id).await?;
    let mut report = Vec::new();
    for _ in 0..n("reportIterations") {
        let t = Instant::now();
        std::hint::black_box(echo.report(&me, run_id).await?);
        report.push(t.elapsed().as_secs_f64() * 1e6);
    }

    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "side": "rust",
            "sync_call_us": (sync_us * 1000.0).round() / 1000.0,
            "get_account_us_median": (median(get_account) * 10.0).round() / 10.0,
            "run_10k_ms": run_ms,
            "report_10k_us_median": median(report).round(),
        }))
        .expect("JSON")
    );
    echo.close().await;
    Ok(())
}
