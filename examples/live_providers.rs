//! Run a small experiment against whichever real providers have keys in the environment.
//!
//! ```text
//! OPENAI_API_KEY=... ANTHROPIC_API_KEY=... cargo run --release --example live_providers
//! ```
//!
//! Recognised: `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY` (or `GOOGLE_API_KEY`),
//! `PERPLEXITY_API_KEY`, and `OPENAI_COMPATIBLE_BASE_URL` (+ optional
//! `OPENAI_COMPATIBLE_API_KEY`, and `OPENAI_COMPATIBLE_MODEL`, default `llama3.1`) for a
//! local Ollama/vLLM server. Each call goes through the resilience layer (retries with
//! backoff, rate limits). With no key set, the program says so and exits without calling
//! anything. The database is a temporary SQLite file.

use echo_core::auth::Principal;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{BrandSpec, ExperimentSpec, NewAccount, Target};
use echo_core::provider::providers_from_env;

/// The model asked of each provider.
fn model_for(provider: &str) -> String {
    match provider {
        "openai" => "gpt-4o-mini".into(),
        "anthropic" => "claude-3-5-haiku-latest".into(),
        "gemini" => "gemini-2.5-flash".into(),
        "perplexity" => "sonar".into(),
        _ => std::env::var("OPENAI_COMPATIBLE_MODEL").unwrap_or_else(|_| "llama3.1".into()),
    }
}

#[tokio::main]
async fn main() -> echo_core::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let providers = providers_from_env()?;
    if providers.is_empty() {
        println!(
            "No provider credentials found in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, \
             PERPLEXITY_API_KEY, OPENAI_COMPATIBLE_BASE_URL); nothing was called. \
             Try `cargo run --release --example quickstart` for the offline demo."
        );
        return Ok(());
    }
    let ids: Vec<String> = providers.iter().map(|p| p.id().to_string()).collect();
    println!("Using providers from the environment: {}", ids.join(", "));

    let dir = std::env::temp_dir().join(format!("echo-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| echo_core::Error::Config(e.to_string()))?;
    let db = dir.join("live.db");
    let mut builder = Echo::builder().sqlite_file(&db);
    for p in providers {
        builder = builder.provider_arc(p);
    }
    let echo = builder.build().await?;
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "live demo".into(),
                ..Default::default()
            },
        )
        .await?;
    let me = Principal::host(account.id);
    let experiment = echo
        .create_experiment(
            &me,
            ExperimentSpec {
                name: "CRM for small teams (live)".into(),
                prompts: vec!["What is the best CRM for a 10-person startup? Name your top 5.".into()],
                brands: vec![
                    BrandSpec::target("HubSpot")
                        .aliases(["HubSpot CRM"])
                        .domains(["hubspot.com"]),
                    BrandSpec::new("Pipedrive").domains(["pipedrive.com"]),
                    BrandSpec::new("Salesforce").domains(["salesforce.com"]),
                    BrandSpec::new("Zoho CRM").aliases(["Zoho"]).domains(["zoho.com"]),
                    BrandSpec::new("Attio").domains(["attio.com"]),
                ],
                targets: ids.iter().map(|id| Target::new(id.clone(), model_for(id))).collect(),
                repeats: 3,
                system_prompt: None,
                temperature: None,
                max_output_tokens: Some(600),
                web_search: false,
            },
        )
        .await?;
    let estimate = echo.estimate(&me, experiment.id).await?;
    println!(
        "Planned {} samples; estimated cost {}",
        estimate.planned_samples,
        estimate
            .total_cost_usd
            .map(|c| format!("${c:.4}"))
            .unwrap_or_else(|| "unknown (unpriced model)".into())
    );
    let report = echo
        .start_run(&me, experiment.id, RunOptions::default())
        .await?
        .wait()
        .await?;
    println!(
        "Run {}: {} answered, {} failed",
        report.status.as_str(),
        report.counts.succeeded,
        report.counts.failed
    );
    for group in &report.by_target {
        let target = group.target.as_ref().map(ToString::to_string).unwrap_or_default();
        println!(
            "\n{target}: {} answers, cost ${:.4}",
            group.answered, group.cost.total_usd
        );
        for b in &group.brands {
            println!(
                "  {:<10} visibility {:>3.0}% [{:>3.0}%, {:>3.0}%]",
                b.brand,
                b.visibility.estimate * 100.0,
                b.visibility.interval.lower * 100.0,
                b.visibility.interval.upper * 100.0
            );
        }
    }
    let records = echo.store().load_samples(me.account_id(), report.run_id).await?;
    for r in records.iter().filter(|r| r.sample.error_class.is_some()) {
        println!(
            "sample {} {}: {} — {}",
            r.sample.target,
            r.sample.status.as_str(),
            r.sample.error_class.as_deref().unwrap_or(""),
            r.sample.error_message.as_deref().unwrap_or("")
        );
    }
    println!("\nDatabase: {}", db.display());
    echo.close().await;
    Ok(())
}
