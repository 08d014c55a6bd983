//! Decision statistics through the engine: precision plans priced like estimates,
//! visibility series over an experiment's runs that flag a real change and not noise, and
//! two targets of one run compared brand by brand (on SQLite and PostgreSQL).

mod common;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use echo_core::ErrorKind;
use echo_core::analysis::{ClusteredCaveat, PlanRequest, PrecisionScope};
use echo_core::engine::{Echo, EchoBuilder, RunOptions};
use echo_core::model::{ExperimentSpec, Target};
use echo_core::provider::{
    BrandBehavior, ChatRequest, ChatResponse, FailureRates, LatencyModel, LlmError, ModelPrice, PricingTable, Provider,
    ProviderLimits, Simulated, SimulatedConfig,
};

/// One provider id whose truth can be switched between two simulated markets: the market
/// "changes" between runs of the same experiment.
#[derive(Debug)]
struct Switch {
    before: Simulated,
    after: Simulated,
    switched: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl Provider for Switch {
    fn id(&self) -> &str {
        self.before.id()
    }
    fn limits(&self) -> ProviderLimits {
        self.before.limits()
    }
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        if self.switched.load(Ordering::SeqCst) {
            self.after.complete(request).await
        } else {
            self.before.complete(request).await
        }
    }
}

fn market(globex: f64) -> Simulated {
    let mut config = SimulatedConfig::new("simulated", 5).latency(LatencyModel::zero());
    for (name, p) in TRUTH {
        let p = if name == "Globex" { globex } else { p };
        config = config.brand(BrandBehavior::new(name, p));
    }
    Simulated::new(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visibility_series_flags_the_real_change_and_not_the_noise() {
    let switched = Arc::new(AtomicBool::new(false));
    let echo = Echo::builder()
        .provider(Switch {
            before: market(0.4),
            after: market(0.75),
            switched: switched.clone(),
        })
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let exp = echo
        .create_experiment(
            &me,
            ExperimentSpec {
                targets: vec![Target::new("simulated", "model-a")],
                ..spec(100)
            },
        )
        .await
        .unwrap();
    let mut run_ids = Vec::new();
    for seed in 0..4u64 {
        if seed == 3 {
            switched.store(true, Ordering::SeqCst);
        }
        let options = RunOptions {
            seed: Some(seed),
            ..Default::default()
        };
        let report = echo
            .start_run(&me, exp.id, options)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        run_ids.push(report.run_id);
        // Distinct creation instants keep the series order unambiguous.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let series = echo.visibility_series(&me, exp.id, 10).await.unwrap();
    // 4 brands × (overall + 1 target).
    assert_eq!(series.len(), 8);
    let globex = series
        .iter()
        .find(|s| s.brand == "Globex" && s.target.is_none())
        .unwrap();
    assert_eq!(globex.points.iter().map(|p| p.run_id).collect::<Vec<_>>(), run_ids);
    let flags: Vec<bool> = globex.points[1..]
        .iter()
        .map(|p| p.change.unwrap().significant)
        .collect();
    assert_eq!(flags, [false, false, true], "{globex:#?}");
    // Two prompts: the overall roll-up carries the clustered interval.
    assert!(globex.points[0].visibility_clustered.is_some());
    // The per-target series of the brands that did not change flag nothing in these runs.
    for brand in ["Acme", "Initech", "Umbrella"] {
        let s = series.iter().find(|s| s.brand == brand && s.target.is_some()).unwrap();
        assert_eq!(s.significant_changes().count(), 0, "{s:#?}");
    }
    // The last 2 runs only.
    let short = echo.visibility_series(&me, exp.id, 2).await.unwrap();
    assert_eq!(short[0].points.len(), 2);
    assert_eq!(short[0].points[1].run_id, run_ids[3]);

    // Bad limits are rejected; another account's experiment is not found.
    for limit in [0, 101] {
        let err = echo.visibility_series(&me, exp.id, limit).await.unwrap_err();
        assert_eq!(err.field(), Some("limit"));
    }
    let other = account(&echo, "b").await;
    let err = echo.visibility_series(&other, exp.id, 10).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_are_priced_like_estimates() {
    let mut pricing = PricingTable::empty();
    pricing.set("simulated", "model-a", ModelPrice::new(1.0, 2.0));
    let echo = Echo::builder()
        .provider(simulated(1, Duration::ZERO, FailureRates::default()))
        .pricing(pricing)
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let exp = echo.create_experiment(&me, spec(1)).await.unwrap();
    let request = PlanRequest {
        half_width: 0.05,
        expected_rate: Some(0.2),
        scope: PrecisionScope::Target,
    };
    let plan = echo.plan(&me, exp.id, request).await.unwrap();
    // ±5 points at 20%: Wilson needs 245 answers per target (at 244,
    // 1.959964·√(0.16/244 + 3.841459/238144)/(1 + 3.841459/244) = 0.050016); over the spec's
    // 2 prompts, 123 repeats each.
    assert_eq!(plan.expected.samples_needed, 245);
    assert_eq!(plan.expected.repeats, 123);
    assert_eq!(plan.worst_case.repeats, 191);
    // The plan's estimate is the engine's estimate of the experiment with those repeats.
    let planned = echo
        .update_experiment(
            &me,
            exp.id,
            ExperimentSpec {
                repeats: plan.expected.repeats,
                ..exp.spec.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(plan.expected.estimate, echo.estimate(&me, planned.id).await.unwrap());
    // model-a is priced, model-b is not: the total is unknown, the priced part is given.
    assert!(plan.expected.estimate.targets[0].cost_usd.unwrap() > 0.0);
    assert_eq!(plan.expected.estimate.total_cost_usd, None);

    let err = echo
        .plan(
            &me,
            exp.id,
            PlanRequest {
                half_width: 0.7,
                ..request
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("request.half_width"));
    let other = account(&echo, "b").await;
    assert_eq!(
        echo.plan(&other, exp.id, request).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// Two targets of one run whose true visibilities differ for one brand only: model-b names
/// Globex in 75% of answers, model-a in 40%. Compared per brand, the difference is flagged
/// for Globex (its interval covers the true +35 points) and for no other brand.
async fn two_targets_of_a_run_differ_where_the_truth_differs(builder: EchoBuilder) {
    let mut config = SimulatedConfig::new("simulated", 11).latency(LatencyModel::zero());
    for (name, p) in TRUTH {
        config = config.brand(BrandBehavior::new(name, p));
    }
    let config = config.model_override("model-b", "Globex", 0.75);
    let echo = builder.provider(Simulated::new(config).unwrap()).build().await.unwrap();
    let me = account(&echo, "a").await;
    let exp = echo.create_experiment(&me, spec(100)).await.unwrap();
    let options = RunOptions {
        seed: Some(3),
        ..Default::default()
    };
    let report = echo
        .start_run(&me, exp.id, options)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let (a, b) = (Target::new("simulated", "model-a"), Target::new("simulated", "model-b"));

    let c = echo.compare_targets(&me, report.run_id, &a, &b, 0.05).await.unwrap();
    assert_eq!((&c.first, &c.second, c.run_id), (&a, &b, report.run_id));
    // 4 brands × (roll-up + 2 prompts).
    assert_eq!(c.differences.len(), 12);
    let rollup = |brand: &str| {
        c.differences
            .iter()
            .find(|d| d.brand == brand && d.prompt_index.is_none())
            .unwrap()
    };
    let globex = &rollup("Globex").visibility;
    assert_eq!(globex.before.trials, 200);
    assert_eq!(globex.after.trials, 200);
    // The same counts as the report's per-target groups.
    assert_eq!(
        globex.before,
        report.target(&a).unwrap().brand("Globex").unwrap().visibility
    );
    assert!(globex.significant, "{globex:?}");
    assert!(globex.interval.contains(0.35), "{globex:?}");
    for brand in ["Acme", "Initech", "Umbrella"] {
        let d = &rollup(brand).visibility;
        assert!(!d.significant, "{brand}: {d:?}");
        assert!(d.interval.contains(0.0), "{brand}: {d:?}");
    }
    // Per prompt: 100 answers a side, Globex still flagged on each prompt.
    let per_prompt: Vec<_> = c
        .differences
        .iter()
        .filter(|d| d.brand == "Globex" && d.prompt_index.is_some())
        .collect();
    assert_eq!(per_prompt.len(), 2);
    assert!(
        per_prompt
            .iter()
            .all(|d| d.visibility.before.trials == 100 && d.visibility.significant)
    );
    // The order differs: Globex passes Acme (60%) on model-b.
    assert_eq!(c.rank_stability.before[0], "Acme");
    assert_eq!(c.rank_stability.after[0], "Globex");

    // Two prompts: every clustered interval of the report carries a caveat (few prompts, or a
    // brand named by fewer prompts than there are).
    let caveats = echo.clustered_caveats(&me, report.run_id).await.unwrap();
    assert_eq!(caveats.len(), 4 * 3, "4 brands × (overall + 2 targets): {caveats:?}");
    assert!(
        caveats
            .iter()
            .any(|c| c.brand == "Acme" && c.caveat == ClusteredCaveat::FewPrompts { clusters: 2 })
    );

    // Rank distributions of a report group: top-k for any k, top 1 and top 3 as in the report.
    let ranks = echo
        .rank_distributions(&me, report.run_id, Some(&b), None)
        .await
        .unwrap();
    let group = report.target(&b).unwrap();
    assert_eq!(ranks.len(), 4);
    for (r, m) in ranks.iter().zip(&group.brands) {
        assert_eq!(r.brand, m.brand);
        assert_eq!(r.top_k(1), m.top1);
        assert_eq!(r.top_k(3), m.top3);
        assert_eq!(
            r.top_k(4),
            m.visibility,
            "every naming answer ranks the brand within 4 brands"
        );
    }
    let first_prompt = echo
        .rank_distributions(&me, report.run_id, None, Some(0))
        .await
        .unwrap();
    assert_eq!(first_prompt[0].answered, 200);
    let err = echo
        .rank_distributions(&me, report.run_id, Some(&missing_target()), None)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("target"));
    let err = echo
        .rank_distributions(&me, report.run_id, None, Some(2))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("prompt_index"));

    // The same target twice, a target not in the run, a bad alpha: named; another
    // account's run is not found.
    let field = |e: echo_core::Error| e.field().map(str::to_string);
    let err = echo
        .compare_targets(&me, report.run_id, &a, &a, 0.05)
        .await
        .unwrap_err();
    assert_eq!(field(err).as_deref(), Some("second"));
    let missing = missing_target();
    let err = echo
        .compare_targets(&me, report.run_id, &missing, &b, 0.05)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(field(err).as_deref(), Some("first"));
    let err = echo.compare_targets(&me, report.run_id, &a, &b, 0.0).await.unwrap_err();
    assert_eq!(field(err).as_deref(), Some("alpha"));
    let other = account(&echo, "b").await;
    let err = echo
        .compare_targets(&other, report.run_id, &a, &b, 0.05)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = echo
        .rank_distributions(&other, report.run_id, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    echo.close().await;
}

fn missing_target() -> Target {
    Target::new("simulated", "model-z")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_of_a_run_compared_on_sqlite() {
    two_targets_of_a_run_differ_where_the_truth_differs(Echo::builder().sqlite_memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_of_a_run_compared_on_postgres() {
    let Some(db) = pg_support::TestDb::create("two_targets_compared").await else {
        return;
    };
    two_targets_of_a_run_differ_where_the_truth_differs(Echo::builder().database_url(&db.url)).await;
}
