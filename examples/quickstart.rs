//! Quickstart: run an experiment offline on SQLite and print its report.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! Answers are **replayed** from a small recorded corpus (`examples/data/quickstart_corpus.jsonl`),
//! so this needs no API key and no network. Swap the `Replay` providers for real ones
//! (a later release) to measure live models.

use std::path::Path;

use echo_core::auth::Principal;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{BrandSpec, ExperimentSpec, NewAccount, Report, Target};
use echo_core::provider::Replay;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/quickstart_corpus.jsonl");

#[tokio::main]
async fn main() -> echo_core::Result<()> {
    // Structured JSON logs on stderr; quiet unless RUST_LOG asks (e.g. RUST_LOG=echo_core=info).
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let db_path = std::env::current_dir()
        .map_err(|e| echo_core::Error::Config(e.to_string()))?
        .join("echo-quickstart.db");

    // Two recorded models, each served from the corpus under its own provider id.
    let echo = Echo::builder()
        .sqlite_file(&db_path)
        .provider(Replay::for_provider(CORPUS, "openai")?)
        .provider(Replay::for_provider(CORPUS, "anthropic")?)
        .build()
        .await?;

    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "Quickstart Inc.".into(),
                ..Default::default()
            },
        )
        .await?;
    let me = Principal::host(account.id);

    let spec = ExperimentSpec {
        name: "CRM for small teams".into(),
        prompts: vec![
            "What is the best CRM for a 10-person startup?".into(),
            "Which CRM would you recommend for a B2B sales team that lives in Gmail?".into(),
        ],
        brands: vec![
            BrandSpec::target("Attio").domains(["attio.com"]),
            BrandSpec::new("HubSpot")
                .aliases(["HubSpot CRM"])
                .domains(["hubspot.com"]),
            BrandSpec::new("Pipedrive").domains(["pipedrive.com"]),
            BrandSpec::new("Salesforce")
                .aliases(["Salesforce Sales Cloud"])
                .domains(["salesforce.com"]),
            BrandSpec::new("Zoho CRM").aliases(["Zoho"]).domains(["zoho.com"]),
            BrandSpec::new("Close").aliases(["Close CRM"]).domains(["close.com"]),
            BrandSpec::new("Folk").aliases(["folk"]).domains(["folk.app"]),
            BrandSpec::new("Streak").domains(["streak.com"]),
            BrandSpec::new("Copper").aliases(["Copper CRM"]).domains(["copper.com"]),
        ],
        targets: vec![
            Target::new("openai", "gpt-4o-mini"),
            Target::new("anthropic", "claude-3-5-haiku"),
        ],
        repeats: 6,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    };
    let experiment = echo.create_experiment(&me, spec).await?;

    let handle = echo
        .start_run(
            &me,
            experiment.id,
            RunOptions {
                seed: Some(7),
                ..Default::default()
            },
        )
        .await?;
    let report = handle.wait().await?;
    print_report(&report, &db_path);
    echo.close().await;
    Ok(())
}

fn print_report(report: &Report, db_path: &Path) {
    println!();
    println!("Echo quickstart — {} (run {})", report.experiment_name, report.run_id);
    println!("NOTE: answers were REPLAYED from a recorded corpus ({CORPUS}); no model was called.");
    println!(
        "Samples: {} answered, {} failed, status {}",
        report.counts.succeeded,
        report.counts.failed,
        report.status.as_str()
    );
    for group in &report.by_target {
        let target = group.target.as_ref().map(ToString::to_string).unwrap_or_default();
        println!();
        println!(
            "Target {target}  ({} answers over {} prompts)",
            group.answered,
            report.prompts.len()
        );
        println!(
            "  {:<12} {:>11} {:>17} {:>9} {:>9} {:>6}",
            "brand", "visibility", "95% CI (Wilson)", "SoV(mnt)", "mean rank", "top-1"
        );
        let mut brands: Vec<_> = group.brands.iter().collect();
        brands.sort_by(|a, b| b.visibility.estimate.total_cmp(&a.visibility.estimate));
        for b in brands {
            let marker = if b.role == echo_core::model::BrandRole::Target {
                "*"
            } else {
                " "
            };
            println!(
                "{marker} {:<12} {:>10.0}% {:>7.0}% – {:>4.0}% {:>8.0}% {:>9} {:>5.0}%",
                b.brand,
                b.visibility.estimate * 100.0,
                b.visibility.interval.lower * 100.0,
                b.visibility.interval.upper * 100.0,
                b.share_of_voice_mentions * 100.0,
                b.mean_rank.map(|r| format!("{r:.1}")).unwrap_or_else(|| "–".into()),
                b.top1.estimate * 100.0,
            );
        }
    }
    println!();
    println!("* = your brand. Intervals are wide because this corpus is small; more repeats narrow them.");
    println!(
        "Database: {} (open it with any SQLite client; rerun to add another run).",
        db_path.display()
    );
}
