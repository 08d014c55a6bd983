//! Distributed execution in miniature: one side enqueues, a worker executes.
//!
//! ```text
//! cargo run --release --example worker
//! ```
//!
//! In production the two halves live in different processes (often on different
//! machines) sharing one database: a web server calls `enqueue_run` and returns at once;
//! worker processes (`Echo::worker(...).run_until(ctrl_c)`) execute whatever is queued.
//! Here both share a SQLite file in the current directory, the provider is the offline
//! simulator (100 ms per answer), and the worker is stopped once the queue is drained.
//! See docs/operations.md for running workers for real.

use std::time::Duration;

use echo_core::auth::Principal;
use echo_core::engine::{Echo, RunOptions, WorkerConfig};
use echo_core::model::{ExperimentSpec, NewAccount, Target};
use echo_core::provider::{LatencyModel, Simulated, SimulatedConfig};

#[tokio::main]
async fn main() -> echo_core::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let db = std::env::current_dir()
        .map_err(|e| echo_core::Error::Config(e.to_string()))?
        .join("echo-worker-example.db");
    let url = format!("sqlite://{}", db.display());
    let simulator = || SimulatedConfig::crm_demo(7).latency(LatencyModel::new(Duration::from_millis(100), 0.3));

    // --- the web-server side: create an experiment and enqueue a run, execute nothing ---
    let web = Echo::builder()
        .database_url(url.clone())
        .provider(Simulated::new(simulator())?)
        .build()
        .await?;
    let account = web
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "Worker example".into(),
                ..Default::default()
            },
        )
        .await?;
    let me = Principal::host(account.id);
    let spec = ExperimentSpec {
        name: "CRM visibility".into(),
        prompts: vec![
            "What is the best CRM for a 10-person startup?".into(),
            "Which CRM should a B2B sales team pick?".into(),
        ],
        brands: simulator().brand_specs("Pipedrive"),
        targets: vec![Target::new("simulated", "sim-large")],
        repeats: 50,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    };
    let experiment = web.create_experiment(&me, spec).await?;
    let run = web.enqueue_run(&me, experiment.id, &RunOptions::default()).await?;
    println!("enqueued run {} ({} samples)", run.id, run.planned_samples);

    // --- the worker side: its own engine on the same database, with the providers ---
    let engine = Echo::builder()
        .database_url(url)
        .provider(Simulated::new(simulator())?)
        .build()
        .await?;
    let worker = engine.worker(WorkerConfig::default().concurrency(32))?.start();

    // A real worker runs until SIGTERM; this one stops when the run is done.
    let status = loop {
        let current = web.get_run(&me, run.id).await?;
        if current.status.is_terminal() {
            break current.status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let report = worker.shutdown(Duration::from_secs(10)).await?;
    println!(
        "run {}: {} — worker {} answered {} samples in {:.1} s (claimed {}, finalized {} run)",
        run.id,
        status.as_str(),
        report.owner,
        report.succeeded,
        report.elapsed_ms as f64 / 1000.0,
        report.claimed,
        report.runs_finalized,
    );

    let results = web.report(&me, run.id).await?;
    for brand in ["Pipedrive", "HubSpot", "Salesforce"] {
        if let Some(m) = results.overall.brand(brand) {
            let v = &m.visibility;
            println!(
                "  {brand:<11} visibility {:>5.1}%  (95% CI {:.1}–{:.1}%)",
                v.estimate * 100.0,
                v.interval.lower * 100.0,
                v.interval.upper * 100.0
            );
        }
    }
    engine.close().await;
    web.close().await;
    Ok(())
}
