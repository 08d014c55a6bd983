//! The Rust counterpart of `echo-py/bench/overhead.py`: the same trivial call and the same
//! 10,000-sample report, flattened into columns as `Report.to_pandas()` does.
//!
//! ```text
//! cargo run -p echo-py --release --example py_overhead
//! ```

use std::time::Instant;

use echo_core::auth::Principal;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{ExperimentSpec, NewAccount, Report, Target};
use echo_core::provider::{Simulated, SimulatedConfig};
use echo_core::quota::UnmeteredQuotaPolicy;

const PROMPTS: usize = 10;
const REPEATS: u32 = 500;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The columns of `Report.rows()` (one row per slice and brand).
fn rows(report: &Report) -> usize {
    let mut brand = Vec::new();
    let mut visibility = Vec::new();
    let mut lower = Vec::new();
    let mut upper = Vec::new();
    let mut target = Vec::new();
    for group in std::iter::once(&report.overall)
        .chain(&report.by_target)
        .chain(&report.cells)
    {
        for b in &group.brands {
            target.push(group.target.as_ref().map(ToString::to_string));
            brand.push(b.brand.clone());
            visibility.push(b.visibility.estimate);
            lower.push(b.visibility.interval.lower);
            upper.push(b.visibility.interval.upper);
        }
    }
    std::hint::black_box((&target, &lower, &upper, &visibility));
    brand.len()
}

#[tokio::main]
async fn main() -> echo_core::Result<()> {
    let config = SimulatedConfig::crm_demo(1);
    let brands = config.brand_specs("HubSpot");
    let echo = Echo::builder()
        .provider(Simulated::new(config)?)
        .quota_policy(UnmeteredQuotaPolicy)
        .build()
        .await?;
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "Bench".into(),
                ..Default::default()
            },
        )
        .await?;
    let me = Principal::host(account.id);

    let calls = 2_000;
    let mut per_call = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..calls {
            std::hint::black_box(echo.get_account(&me).await?);
        }
        per_call.push(start.elapsed().as_secs_f64() / f64::from(calls));
    }
    println!(
        "{:<48} {:10.2} µs/call",
        "echo.get_account (Rust, SQLite in memory)",
        median(per_call) * 1e6
    );

    let spec = ExperimentSpec {
        name: "bench".into(),
        prompts: (0..PROMPTS)
            .map(|i| format!("Which CRM is best for team #{i}?"))
            .collect(),
        brands,
        targets: vec![
            Target::new("simulated", "sim-default"),
            Target::new("simulated", "sim-enterprise"),
        ],
        repeats: REPEATS,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    };
    let experiment = echo.create_experiment(&me, spec).await?;
    let start = Instant::now();
    let report = echo
        .start_run(
            &me,
            experiment.id,
            RunOptions {
                seed: Some(1),
                ..Default::default()
            },
        )
        .await?
        .wait()
        .await?;
    println!(
        "{:<48} {:10.2} ms",
        format!("run of {} samples (simulated)", report.counts.succeeded),
        start.elapsed().as_secs_f64() * 1e3
    );
    let mut build = Vec::new();
    let mut flatten = Vec::new();
    let mut n = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let r = echo.report(&me, report.run_id).await?;
        build.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        n = rows(&r);
        flatten.push(start.elapsed().as_secs_f64());
    }
    println!("{:<48} {:10.2} ms", "echo.report (Rust)", median(build) * 1e3);
    println!("{:<48} {:10.3} ms", "flatten to columns (Rust)", median(flatten) * 1e3);
    println!("{:<48} {:10}", "rows", n);
    echo.close().await;
    Ok(())
}
