//! The run flow end to end on SQLite: execution, failures, cancellation, crash and
//! resume, reopening, re-analysis.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use echo_core::clock::ManualClock;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{BrandSpec, PageRequest, RunStatus, SampleStatus};
use echo_core::provider::FailureRates;
use echo_core::provider::resilience::ResiliencePolicy;
use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_answers_every_sample_and_reports_consistent_numbers() {
    let (provider, calls) = Counting::new(simulated(1, Duration::ZERO, FailureRates::default()));
    let echo = Echo::builder().provider(provider).build().await.unwrap();
    let me = account(&echo, "a").await;
    let exp = echo.create_experiment(&me, spec(25)).await.unwrap();

    let handle = echo
        .start_run(
            &me,
            exp.id,
            RunOptions {
                seed: Some(11),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let stream = handle.progress_stream();
    let report = handle.wait().await.unwrap();
    let snapshots: Vec<_> = stream.collect().await;

    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(report.counts.succeeded, 100);
    assert_eq!(report.counts.total(), 100);
    assert_eq!(calls.load(Ordering::SeqCst), 100, "each sample is asked exactly once");
    assert_eq!(report.overall.answered, 100);
    assert_eq!(report.by_target.len(), 2);
    assert_eq!(report.cells.len(), 4);

    let last = snapshots.last().expect("at least one progress snapshot");
    assert!(last.is_finished());
    assert_eq!(last.done(), 100);

    // The report agrees with the stored mentions, sample by sample.
    let records = echo.store().load_samples(me.account_id(), report.run_id).await.unwrap();
    assert_eq!(records.len(), 100);
    for (brand, _) in TRUTH {
        let naming = records
            .iter()
            .filter(|r| r.mentions.iter().any(|m| m.brand == brand))
            .count() as u64;
        let metrics = report.overall.brand(brand).unwrap();
        assert_eq!(metrics.visibility.successes, naming, "{brand}");
        assert!(metrics.visibility.interval.contains(metrics.visibility.estimate));
    }
    // Every stored answer's mentions are what the extractor finds in it.
    assert!(
        records
            .iter()
            .all(|r| r.sample.status == SampleStatus::Succeeded && r.sample.raw_answer.is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_failures_are_retried_by_the_resilience_layer_then_recorded() {
    let failures = FailureRates {
        server_error: 0.35,
        rate_limited: 0.1,
        timeout: 0.0,
    };
    let policy = ResiliencePolicy::for_provider("simulated").max_attempts(2);
    let echo = Echo::builder()
        .provider(simulated(2, Duration::ZERO, failures))
        .resilience_policy("simulated", policy)
        .build()
        .await
        .unwrap();
    assert_injected_failures_recorded(&echo, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_resilience_layer_transient_failures_are_retried_through_the_queue() {
    let failures = FailureRates {
        server_error: 0.35,
        rate_limited: 0.1,
        timeout: 0.0,
    };
    let echo = Echo::builder()
        .provider(simulated(2, Duration::ZERO, failures))
        .without_resilience()
        .max_attempts(2)
        .retry_backoff(Duration::from_millis(1))
        .build()
        .await
        .unwrap();
    assert_injected_failures_recorded(&echo, 2).await;
}

/// With a 45% failure rate per call and 2 calls per sample, about 20% of samples fail for
/// good: some, not all; each records its class; nothing is lost or left in flight.
async fn assert_injected_failures_recorded(echo: &Echo, failed_attempt: u32) {
    let me = account(echo, "a").await;
    let exp = echo.create_experiment(&me, spec(50)).await.unwrap();
    let report = echo
        .start_run(&me, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();

    let c = report.counts;
    assert_eq!(c.succeeded + c.failed, 200, "{c:?}");
    assert_eq!(c.pending + c.leased + c.cancelled, 0);
    // With a 45% failure rate and 2 attempts, about 20% fail for good: some, not all.
    assert!(c.failed > 10 && c.failed < 80, "{c:?}");
    assert_eq!(report.status, RunStatus::Partial);
    let records = echo.store().load_samples(me.account_id(), report.run_id).await.unwrap();
    for r in records.iter().filter(|r| r.sample.status == SampleStatus::Failed) {
        let class = r.sample.error_class.as_deref().unwrap();
        assert!(["server", "rate_limited"].contains(&class), "{class}");
        assert!(r.sample.error_message.is_some());
        assert!(r.mentions.is_empty());
        assert_eq!(r.sample.attempt, failed_attempt, "queue claims of a failed sample");
    }
    // Failed samples are not answers: visibility is over answered samples only.
    assert_eq!(report.overall.answered, c.succeeded);
    assert_eq!(report.overall.failed, c.failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_the_run_and_accounts_for_every_sample() {
    let echo = Echo::builder()
        .provider(simulated(3, Duration::from_millis(20), FailureRates::default()))
        .concurrency(4)
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let exp = echo.create_experiment(&me, spec(50)).await.unwrap();
    let handle = echo.start_run(&me, exp.id, RunOptions::default()).await.unwrap();
    let mut stream = handle.progress_stream();
    while let Some(p) = stream.next().await {
        if p.done() >= 8 {
            break;
        }
    }
    handle.cancel();
    let report = handle.wait().await.unwrap();
    let c = report.counts;
    assert_eq!(report.status, RunStatus::Cancelled);
    assert!(c.succeeded >= 8 && c.succeeded < 200, "{c:?}");
    assert!(c.cancelled > 0, "{c:?}");
    assert_eq!(c.succeeded + c.failed + c.cancelled, 200, "{c:?}");
    assert_eq!(c.pending + c.leased, 0);
    // The stored run agrees.
    assert_eq!(
        echo.get_run(&me, report.run_id).await.unwrap().status,
        RunStatus::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_run_resumes_and_completes_exactly_the_missing_samples() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("echo.db");
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));

    // First process: runs a while, then dies without finalizing.
    let (provider, calls_before) = Counting::new(simulated(4, Duration::from_millis(5), FailureRates::default()));
    let echo = Echo::builder()
        .sqlite_file(&db)
        .provider(provider)
        .clock(clock.clone())
        .concurrency(8)
        .lease(Duration::from_secs(60))
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let exp = echo.create_experiment(&me, spec(75)).await.unwrap();
    let handle = echo
        .start_run(
            &me,
            exp.id,
            RunOptions {
                seed: Some(99),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let run_id = handle.run_id();
    let mut stream = handle.progress_stream();
    while let Some(p) = stream.next().await {
        if p.succeeded >= 60 {
            break;
        }
    }
    handle.abort();
    tokio::time::sleep(Duration::from_millis(200)).await;
    echo.close().await;
    drop(echo);

    // Second process: reopens the file, the dead leases expire, the run resumes.
    let (provider, calls_after) = Counting::new(simulated(4, Duration::ZERO, FailureRates::default()));
    let echo = Echo::builder()
        .sqlite_file(&db)
        .provider(provider)
        .clock(clock.clone())
        .lease(Duration::from_secs(60))
        .build()
        .await
        .unwrap();
    let before = echo.store().sample_counts(me.account_id(), run_id).await.unwrap();
    assert_eq!(before.total(), 300);
    assert!(before.succeeded >= 60 && before.succeeded < 300, "{before:?}");
    let answered_before: Vec<(String, Option<String>)> = echo
        .store()
        .load_samples(me.account_id(), run_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.sample.status == SampleStatus::Succeeded)
        .map(|r| (r.sample.id.to_string(), r.sample.answer_sha256))
        .collect();

    clock.advance(Duration::from_secs(61));
    let report = echo.resume_run(&me, run_id).await.unwrap().wait().await.unwrap();

    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(report.counts.succeeded, 300);
    assert_eq!(
        calls_after.load(Ordering::SeqCst),
        300 - before.succeeded,
        "exactly the missing samples are asked again"
    );
    assert!(calls_before.load(Ordering::SeqCst) >= before.succeeded);

    let records = echo.store().load_samples(me.account_id(), run_id).await.unwrap();
    assert_eq!(records.len(), 300);
    let mut keys: Vec<_> = records
        .iter()
        .map(|r| (r.sample.target.clone(), r.sample.prompt_index, r.sample.repeat_index))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 300, "each (target, prompt, repeat) once");
    // Answers persisted before the crash are untouched, and no mention is doubled.
    for (id, sha) in answered_before {
        let r = records.iter().find(|r| r.sample.id.to_string() == id).unwrap();
        assert_eq!(r.sample.answer_sha256, sha);
    }
    for r in &records {
        let mut brands: Vec<_> = r.mentions.iter().map(|m| m.brand.clone()).collect();
        let n = brands.len();
        brands.dedup();
        assert_eq!(brands.len(), n, "one mention row per brand per sample");
    }
    // Resumed answers are the ones the first process would have produced (seeded per sample).
    let fresh = echo.reanalyze(&me, run_id, brands()).await.unwrap();
    assert_eq!(fresh.overall.brands, report.overall.brands);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_file_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keep.db");
    let (me, exp_id, report) = {
        let echo = Echo::builder()
            .sqlite_file(&db)
            .provider(simulated(5, Duration::ZERO, FailureRates::default()))
            .build()
            .await
            .unwrap();
        let me = account(&echo, "a").await;
        let exp = echo.create_experiment(&me, spec(5)).await.unwrap();
        let report = echo
            .start_run(&me, exp.id, RunOptions::default())
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        echo.close().await;
        (me, exp.id, report)
    };
    let echo = Echo::builder()
        .sqlite_file(&db)
        .provider(simulated(5, Duration::ZERO, FailureRates::default()))
        .build()
        .await
        .unwrap();
    assert_eq!(echo.get_experiment(&me, exp_id).await.unwrap().spec, spec(5));
    let again = echo.report(&me, report.run_id).await.unwrap();
    assert_eq!(again.overall.brands, report.overall.brands);
    assert_eq!(again.counts, report.counts);
    let runs = echo.list_runs(&me, exp_id, &PageRequest::default()).await.unwrap();
    assert_eq!(runs.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reanalysis_recomputes_from_stored_answers_without_calling_providers() {
    let (provider, calls) = Counting::new(simulated(6, Duration::ZERO, FailureRates::default()));
    let echo = Echo::builder().provider(provider).build().await.unwrap();
    let me = account(&echo, "a").await;
    let mut s = spec(100);
    // Track only two brands at first.
    s.brands = vec![BrandSpec::target("Acme"), BrandSpec::new("Globex")];
    let exp = echo.create_experiment(&me, s).await.unwrap();
    // A fixed run seed: the interval check below is statistical, so it must not depend
    // on a random draw (with a random seed it would fail 5% of the time).
    let report = echo
        .start_run(
            &me,
            exp.id,
            RunOptions {
                seed: Some(6),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert!(report.overall.brand("Initech").is_none());
    let asked = calls.load(Ordering::SeqCst);
    assert_eq!(asked, 400);

    let re = echo.reanalyze(&me, report.run_id, brands()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), asked, "re-analysis calls no provider");
    let initech = re.overall.brand("Initech").unwrap();
    assert!(initech.visibility.interval.contains(0.2), "{:?}", initech.visibility);
    // The tracked brands' visibility is unchanged by adding competitors.
    assert_eq!(
        re.overall.brand("Acme").unwrap().visibility,
        report.overall.brand("Acme").unwrap().visibility
    );
    // Nothing was written: the stored report still has two brands.
    assert_eq!(echo.report(&me, report.run_id).await.unwrap().overall.brands.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costs_are_recorded_per_sample_summed_in_reports_and_estimated_before_runs() {
    use echo_core::model::Target;
    use echo_core::provider::{ModelPrice, PricingTable};
    let mut pricing = PricingTable::empty();
    pricing.set("simulated", "model-a", ModelPrice::new(1.0, 2.0));
    let echo = Echo::builder()
        .provider(simulated(8, Duration::ZERO, FailureRates::default()))
        .pricing(pricing)
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let exp = echo.create_experiment(&me, spec(10)).await.unwrap();

    let estimate = echo.estimate(&me, exp.id).await.unwrap();
    assert_eq!(estimate.planned_samples, 40);
    assert!(estimate.targets[0].cost_usd.unwrap() > 0.0);
    assert_eq!(estimate.targets[1].cost_usd, None, "model-b has no price");
    assert_eq!(estimate.total_cost_usd, None);

    let report = echo
        .start_run(&me, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let records = echo.store().load_samples(me.account_id(), report.run_id).await.unwrap();
    let mut expected = 0.0;
    for r in &records {
        let s = &r.sample;
        if s.target == Target::new("simulated", "model-a") {
            let by_hand = (s.input_tokens.unwrap() as f64 * 1.0 + s.output_tokens.unwrap() as f64 * 2.0) / 1e6;
            let cost = s.cost_usd.expect("priced model");
            assert!((cost - by_hand).abs() < 1e-9, "{cost} vs {by_hand}");
            expected += cost;
        } else {
            assert_eq!(s.cost_usd, None);
        }
    }
    let a = report.target(&Target::new("simulated", "model-a")).unwrap();
    assert!((a.cost.total_usd - expected).abs() < 1e-9);
    assert_eq!((a.cost.priced_samples, a.cost.unpriced_samples), (20, 0));
    assert_eq!(report.overall.cost.unpriced_samples, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparing_runs_flags_a_real_change_and_not_noise() {
    use echo_core::provider::{BrandBehavior, LatencyModel, Simulated, SimulatedConfig};
    // Two simulated "markets": Globex's visibility moves from 0.4 to 0.7; the others stay.
    let market = |id: &str, globex: f64| {
        let mut config = SimulatedConfig::new(id, 77).latency(LatencyModel::zero());
        for (name, p) in TRUTH {
            let p = if name == "Globex" { globex } else { p };
            config = config.brand(BrandBehavior::new(name, p));
        }
        Simulated::new(config).unwrap()
    };
    let echo = Echo::builder()
        .provider(market("simulated", 0.4))
        .provider(market("sim-after", 0.7))
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let mut before_spec = spec(200);
    before_spec.targets = vec![echo_core::model::Target::new("simulated", "m")];
    before_spec.prompts.truncate(1);
    let mut after_spec = before_spec.clone();
    after_spec.targets = vec![echo_core::model::Target::new("sim-after", "m")];
    let before = echo.create_experiment(&me, before_spec).await.unwrap();
    let after = echo.create_experiment(&me, after_spec).await.unwrap();
    let run = |id| {
        let echo = echo.clone();
        let me = me.clone();
        async move {
            echo.start_run(
                &me,
                id,
                RunOptions {
                    seed: Some(3),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .wait()
            .await
            .unwrap()
        }
    };
    let (b, a) = (run(before.id).await, run(after.id).await);
    let comparison = echo.compare_runs(&me, b.run_id, a.run_id, 0.05).await.unwrap();
    let overall = |brand: &str| {
        comparison
            .changes
            .iter()
            .find(|c| c.brand == brand && c.target.is_none())
            .unwrap()
    };
    assert!(overall("Globex").visibility.significant, "{:?}", overall("Globex"));
    assert!(overall("Globex").visibility.difference > 0.15);
    assert!(!overall("Acme").visibility.significant, "{:?}", overall("Acme"));
    // Runs of another account are not found.
    let other = account(&echo, "b").await;
    let err = echo.compare_runs(&other, b.run_id, a.run_id, 0.05).await.unwrap_err();
    assert_eq!(err.kind(), echo_core::ErrorKind::NotFound);
}
