//! Adaptive runs through the engine (issue 9): a run asks for a precision instead of a
//! count and samples each target in waves until every goal brand's interval is within the
//! goal, between `min_samples` and `max_samples` answers.
//!
//! Checked with the `Simulated` provider, whose true visibilities are known: early stops
//! when rates are far from ½, the maximum when a goal brand is near ½, the reported
//! intervals within the goal when it is reached, quota reserved for the maximum and settled
//! to the answers, bad goals refused before anything is spent, and a run shared by two
//! workers (each wave appended once, the run finalized once). Every case runs on SQLite and
//! on PostgreSQL (skipped loudly when no server is reachable outside CI).

mod common;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::collections::BTreeMap;
use std::time::Duration;

use echo_core::ErrorKind;
use echo_core::analysis::sequential::{AdaptiveGoal, Decision, StoppingRule, TargetCounts};
use echo_core::auth::Principal;
use echo_core::engine::{Echo, EchoBuilder, LeaseSweep, MaintenanceTask, RunOptions, WorkerConfig};
use echo_core::model::{
    AdaptiveOptions, AdaptiveState, BrandSpec, ExperimentSpec, GoalBrands, Mention, NewAccount, PageRequest,
    ReservationId, RunId, RunStatus, SampleStatus, Target,
};
use echo_core::provider::{BrandBehavior, LatencyModel, Simulated, SimulatedConfig};
use echo_core::quota::{TierLimits, TieredQuotaPolicy};
use echo_core::store::{AnsweredSample, ClaimRequest, Fence, SampleOutcome};

/// A simulated provider whose answers name each brand independently with its rate.
fn market(seed: u64, rates: &[(&str, f64)]) -> Simulated {
    market_with_latency(seed, rates, Duration::ZERO)
}

fn market_with_latency(seed: u64, rates: &[(&str, f64)], latency: Duration) -> Simulated {
    let latency = if latency.is_zero() {
        LatencyModel::zero()
    } else {
        LatencyModel::new(latency, 0.0)
    };
    let mut config = SimulatedConfig::new("simulated", seed)
        .latency(latency)
        .max_concurrency(32);
    for (name, p) in rates {
        config = config.brand(BrandBehavior::new(*name, *p));
    }
    Simulated::new(config).expect("valid simulated config")
}

/// The market's brands (the first is ours), `prompts` prompts, `targets` simulated models.
fn spec(rates: &[(&str, f64)], prompts: usize, targets: usize) -> ExperimentSpec {
    ExperimentSpec {
        name: "adaptive market".into(),
        prompts: (0..prompts)
            .map(|i| format!("which widget vendor, case {i}?"))
            .collect(),
        brands: rates
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                if i == 0 {
                    BrandSpec::target(*name)
                } else {
                    BrandSpec::new(*name)
                }
            })
            .collect(),
        targets: (0..targets)
            .map(|i| Target::new("simulated", format!("model-{i}")))
            .collect(),
        repeats: 1,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    }
}

/// A new account on the `pro` tier (20,000 samples per run) and its host principal.
async fn account(echo: &Echo, name: &str) -> Principal {
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: name.into(),
                tier: Some("pro".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Principal::host(account.id)
}

fn adaptive(goal: AdaptiveGoal, brands: GoalBrands) -> RunOptions {
    RunOptions {
        seed: Some(17),
        adaptive: Some(AdaptiveOptions {
            goal,
            brands,
            method: Default::default(),
        }),
        ..Default::default()
    }
}

fn goal(half_width: f64, min: u64, max: u64) -> AdaptiveGoal {
    AdaptiveGoal {
        half_width,
        min_samples: min,
        max_samples: max,
        confidence: 0.95,
    }
}

/// Quota books: everything answered is charged, nothing stays reserved, the run's
/// reservation held the maximum.
async fn assert_books(echo: &Echo, me: &Principal, run: RunId, answered: u64, reserved_for: u64) {
    let status = echo.quota_status(me).await.unwrap();
    assert_eq!(status.used, answered, "used = answered");
    assert_eq!(status.reserved, 0, "the unused part is refunded");
    let reservation = echo
        .store()
        .get_reservation(me.account_id(), ReservationId::from(run))
        .await
        .unwrap();
    assert_eq!(reservation.samples, reserved_for, "reserved for the maximum");
    assert_eq!(reservation.committed, Some(answered));
}

async fn an_adaptive_run_stops_early_when_rates_are_far_from_half(builder: EchoBuilder) {
    let rates = [("Acme", 0.04), ("Globex", 0.92), ("Initech", 0.02)];
    let echo = builder.provider(market(5, &rates)).build().await.unwrap();
    let me = account(&echo, "early").await;
    let exp = echo.create_experiment(&me, spec(&rates, 2, 2)).await.unwrap();
    let g = AdaptiveGoal::new(0.05).unwrap(); // 20..381 per target
    let run = echo.start_run(&me, exp.id, adaptive(g, GoalBrands::All)).await.unwrap();
    let report = run.wait().await.unwrap();

    assert_eq!(report.status, RunStatus::Completed);
    let summary = report
        .adaptive
        .clone()
        .expect("an adaptive run's report says how it sampled");
    assert_eq!(summary.targets.len(), 2);
    let mut answered = 0;
    for t in &summary.targets {
        assert_eq!(t.state, AdaptiveState::GoalReached, "{t:?}");
        assert!(t.answered >= 20 && t.answered < 381, "stopped early: {t:?}");
        assert_eq!((t.enqueued, t.failed), (t.answered, 0));
        assert!(t.widest_half_width <= 0.05, "{t:?}");
        // The report's own intervals (Wilson 95%, the rule's) are within the goal.
        let group = report.target(&t.target).unwrap();
        assert_eq!(group.answered, t.answered);
        for b in &group.brands {
            assert!(
                b.visibility.interval.half_width() <= 0.05,
                "{}: {:?}",
                b.brand,
                b.visibility
            );
        }
        answered += t.answered;
    }
    assert_eq!(report.counts.succeeded, answered);
    let stored = echo.get_run(&me, report.run_id).await.unwrap();
    assert_eq!(stored.planned_samples, 2 * 381, "planned = the maximum");
    assert_eq!(
        stored.adaptive.map(|a| a.goal),
        Some(g),
        "the goal is stored on the run"
    );
    assert_books(&echo, &me, report.run_id, answered, 2 * 381).await;
}

async fn an_adaptive_run_reaches_its_maximum_when_a_brand_is_near_half(builder: EchoBuilder) {
    let rates = [("Acme", 0.05), ("Globex", 0.5)];
    let echo = builder.provider(market(6, &rates)).build().await.unwrap();
    let me = account(&echo, "max").await;
    let exp = echo.create_experiment(&me, spec(&rates, 3, 1)).await.unwrap();
    // ±5 points at p = ½ needs ~380 answers: a maximum of 120 is reached.
    let all = echo
        .start_run(&me, exp.id, adaptive(goal(0.05, 20, 120), GoalBrands::All))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let t = &all.adaptive.as_ref().unwrap().targets[0];
    assert_eq!((t.state, t.answered, t.enqueued), (AdaptiveState::MaxSamples, 120, 120));
    assert!(t.widest_half_width > 0.05, "{t:?}");
    // Prompts asked in turn: 40 answers each.
    for cell in &all.cells {
        assert_eq!(cell.answered, 40, "{:?}", cell.prompt_index);
    }

    // The goal on our own brand only (Acme at 5%): the competitor near ½ no longer holds
    // the run up.
    let ours = echo
        .start_run(&me, exp.id, adaptive(goal(0.05, 20, 120), GoalBrands::Targets))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let t = &ours.adaptive.as_ref().unwrap().targets[0];
    assert_eq!(t.state, AdaptiveState::GoalReached, "{t:?}");
    assert!(t.answered < 120, "{t:?}");
    let acme = ours.by_target[0].brand("Acme").unwrap();
    assert!(acme.visibility.interval.half_width() <= 0.05, "{acme:?}");

    let status = echo.quota_status(&me).await.unwrap();
    assert_eq!(status.used, 120 + t.answered);
    assert_eq!(status.reserved, 0);
}

async fn bad_goals_are_refused_before_anything_is_reserved_or_written(builder: EchoBuilder) {
    let rates = [("Acme", 0.2), ("Globex", 0.4)];
    let policy = TieredQuotaPolicy::standard().tier("small", TierLimits::new(10_000, 150, 2));
    let echo = builder
        .provider(market(7, &rates))
        .quota_policy(policy)
        .build()
        .await
        .unwrap();
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "small".into(),
                tier: Some("small".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let me = Principal::host(account.id);
    let exp = echo.create_experiment(&me, spec(&rates, 2, 2)).await.unwrap();
    let before = echo.quota_status(&me).await.unwrap();

    for (g, field) in [
        (goal(0.0, 20, 60), "options.adaptive.goal.half_width"),
        (goal(-0.05, 20, 60), "options.adaptive.goal.half_width"),
        (goal(0.5, 20, 60), "options.adaptive.goal.half_width"),
        (goal(f64::NAN, 20, 60), "options.adaptive.goal.half_width"),
        (goal(0.05, 80, 60), "options.adaptive.goal.max_samples"),
        (goal(0.05, 0, 60), "options.adaptive.goal.min_samples"),
        // Below the 20 answers from which the default rule's coverage is verified.
        (goal(0.05, 5, 60), "options.adaptive.goal.min_samples"),
        (goal(0.05, 20, 60_000), "options.adaptive.goal.max_samples"),
    ] {
        let err = echo
            .enqueue_run(&me, exp.id, &adaptive(g, GoalBrands::All))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{g:?}: {err}");
        assert_eq!(err.field(), Some(field), "{g:?}: {err}");
    }
    // The tier allows 150 samples per run: a maximum of 381 × 2 targets is refused whole.
    let err = echo
        .enqueue_run(
            &me,
            exp.id,
            &adaptive(AdaptiveGoal::new(0.05).unwrap(), GoalBrands::All),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "{err}");

    assert_eq!(echo.quota_status(&me).await.unwrap(), before, "nothing reserved");
    let runs = echo.list_runs(&me, exp.id, &PageRequest::default()).await.unwrap();
    assert!(runs.items.is_empty(), "no run created: {:?}", runs.items);

    // Within the tier it starts.
    let ok = echo
        .enqueue_run(&me, exp.id, &adaptive(goal(0.1, 20, 75), GoalBrands::All))
        .await
        .unwrap();
    assert_eq!(ok.planned_samples, 150);
    assert_eq!(echo.quota_status(&me).await.unwrap().reserved, 150);
}

/// A crash between the last answer of a wave and the look that would append the next one
/// leaves a drained, unfinished adaptive run: the maintenance sweep must continue it (append
/// the wave), not finalize it; any executor then finishes it.
async fn a_drained_wave_left_by_a_crash_is_continued_not_finalized(builder: EchoBuilder) {
    let rates = [("Acme", 0.5), ("Globex", 0.1)];
    let echo = builder.provider(market(9, &rates)).build().await.unwrap();
    let me = account(&echo, "crash").await;
    let exp = echo.create_experiment(&me, spec(&rates, 1, 1)).await.unwrap();
    let run = echo
        .enqueue_run(&me, exp.id, &adaptive(goal(0.05, 20, 100), GoalBrands::All))
        .await
        .unwrap();
    let store = echo.store();

    // A "worker" answers the first wave and dies before looking: half name Acme.
    let now = chrono::Utc::now();
    let tasks = store
        .claim_samples(&ClaimRequest {
            run_id: Some(run.id),
            owner: "doomed",
            limit: 100,
            now,
            lease: Duration::from_secs(60),
            max_attempts: 3,
        })
        .await
        .unwrap();
    assert_eq!(tasks.len(), 20, "the first wave is min_samples");
    let outcomes: Vec<SampleOutcome> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (text, mentions) = if i % 2 == 0 {
                ("Acme is good.", vec![mention("Acme")])
            } else {
                ("Nothing fits.", vec![])
            };
            SampleOutcome::Succeeded(AnsweredSample {
                fence: Fence::from(t),
                raw_answer: text.into(),
                raw_response: None,
                redactions: None,
                answer_sha256: format!("{:064x}", i),
                served_model: None,
                request_id: None,
                finish_reason: Some("stop".into()),
                input_tokens: None,
                output_tokens: None,
                latency_ms: 1,
                cost_usd: None,
                mentions,
                citations: vec![],
                completed_at: now,
            })
        })
        .collect();
    store.complete_samples(&outcomes).await.unwrap();
    assert_eq!(echo.get_run(&me, run.id).await.unwrap().status, RunStatus::Pending);

    // The sweep finds the run drained: it appends the next wave instead of finalizing.
    let sweep = LeaseSweep {
        max_attempts: 3,
        finalize_batch: 100,
    };
    sweep.run(&**store, now).await.unwrap();
    let run_now = echo.get_run(&me, run.id).await.unwrap();
    assert!(!run_now.status.is_terminal(), "not finalized while a wave is due");
    let counts = store.sample_counts(me.account_id(), run.id).await.unwrap();
    // 10 of 20 at ½: the rule wants the maximum, 80 more; the wave is half of that.
    assert_eq!((counts.succeeded, counts.pending), (20, 40), "{counts:?}");
    sweep.run(&**store, now).await.unwrap();
    assert_eq!(
        store.sample_counts(me.account_id(), run.id).await.unwrap().total(),
        60,
        "a second look appends nothing"
    );

    let report = echo.resume_run(&me, run.id).await.unwrap().wait().await.unwrap();
    assert_eq!(report.status, RunStatus::Completed);
    let t = &report.adaptive.unwrap().targets[0];
    assert_eq!((t.state, t.answered), (AdaptiveState::MaxSamples, 100));
    assert_books(&echo, &me, run.id, 100, 100).await;
}

fn mention(brand: &str) -> Mention {
    Mention {
        brand: brand.into(),
        offset: 0,
        len: brand.len() as u32,
        count: 1,
        rank: 1,
        list_index: None,
    }
}

/// Cancelling an adaptive run: it ends cancelled with no sample left to run (a wave
/// appended while cancelling is cancelled too), later looks append nothing, and only the
/// answers are charged.
async fn cancelling_an_adaptive_run_stops_its_waves(builder: EchoBuilder) {
    let rates = [("Acme", 0.5)];
    let echo = builder
        .provider(market_with_latency(10, &rates, Duration::from_millis(5)))
        .concurrency(4)
        .build()
        .await
        .unwrap();
    let me = account(&echo, "cancel").await;
    let exp = echo.create_experiment(&me, spec(&rates, 2, 2)).await.unwrap();
    let handle = echo
        .start_run(&me, exp.id, adaptive(goal(0.05, 20, 381), GoalBrands::All))
        .await
        .unwrap();
    // Past the first wave (40 samples) of both targets.
    for _ in 0..1_500 {
        if handle.progress().succeeded >= 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.cancel();
    let report = handle.wait().await.unwrap();
    assert_eq!(report.status, RunStatus::Cancelled);
    let counts = report.counts;
    assert_eq!((counts.pending, counts.leased), (0, 0), "{counts:?}");
    assert!(counts.succeeded >= 50, "{counts:?}");
    for t in &report.adaptive.as_ref().unwrap().targets {
        assert_ne!(t.state, AdaptiveState::Sampling, "{t:?}");
    }
    // A look after the end (e.g. a resume) appends nothing.
    echo.resume_run(&me, report.run_id).await.unwrap().wait().await.unwrap();
    let after = echo
        .store()
        .sample_counts(me.account_id(), report.run_id)
        .await
        .unwrap();
    assert_eq!(after, counts);
    assert_books(&echo, &me, report.run_id, counts.succeeded, 2 * 381).await;
}

/// The waves a run must have appended, replayed from its stored answers: from the first
/// wave, decide at each wave's end on the answers of the samples enqueued so far, exactly as
/// the engine does; the target must hold exactly the samples of those waves.
fn replay_waves(g: AdaptiveGoal, prompts: u64, answers: &[Vec<bool>]) -> u64 {
    let rule = StoppingRule::new(g).unwrap();
    let mut end = g.min_samples.div_ceil(prompts) * prompts;
    end = end.min(g.max_samples);
    loop {
        let mut counts = TargetCounts::new(answers.first().map_or(0, Vec::len));
        for named in &answers[..end as usize] {
            counts.record_answer(named.iter().enumerate().filter(|(_, n)| **n).map(|(i, _)| i));
        }
        match rule.decide(&counts) {
            Decision::Stop { .. } => return end,
            Decision::Continue { .. } if end >= g.max_samples => return end,
            Decision::Continue {
                estimated_remaining, ..
            } => {
                let size = estimated_remaining.div_ceil(2).max(5);
                end = ((end + size).div_ceil(prompts) * prompts).min(g.max_samples);
            }
        }
    }
}

async fn two_workers_share_an_adaptive_run_without_doubling_a_wave(url: &str) {
    let rates = [("Acme", 0.15), ("Globex", 0.3), ("Initech", 0.08)];
    let connect = |seed| async move {
        Echo::builder()
            .database_url(url)
            // A little latency spreads the work over both workers.
            .provider(market_with_latency(seed, &rates, Duration::from_millis(2)))
            .build()
            .await
            .unwrap()
    };
    let (a, b) = (connect(8).await, connect(8).await);
    let me = account(&a, "shared").await;
    let exp = a.create_experiment(&me, spec(&rates, 2, 3)).await.unwrap();
    let g = goal(0.06, 20, 300);
    let run = a.enqueue_run(&me, exp.id, &adaptive(g, GoalBrands::All)).await.unwrap();

    let config = |owner: &str| {
        WorkerConfig::default()
            .owner(owner)
            .concurrency(6)
            .poll_interval(Duration::from_millis(10))
            .run_scheduler(false)
    };
    let wa = a.worker(config("worker-a")).unwrap().start();
    let wb = b.worker(config("worker-b")).unwrap().start();
    let mut status = RunStatus::Pending;
    for _ in 0..3_000 {
        status = a.get_run(&me, run.id).await.unwrap().status;
        if status.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, RunStatus::Completed);
    // Let the workers settle, then stop them.
    let ra = wa.shutdown(Duration::from_secs(10)).await.unwrap();
    let rb = wb.shutdown(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        ra.runs_finalized + rb.runs_finalized,
        1,
        "finalized once: {ra:?} {rb:?}"
    );
    assert!(
        ra.succeeded > 0 && rb.succeeded > 0,
        "both workers took part: {ra:?} {rb:?}"
    );
    assert_eq!(ra.not_applied + rb.not_applied, 0);

    let records = a.store().load_samples(me.account_id(), run.id).await.unwrap();
    let report = a.report(&me, run.id).await.unwrap();
    let summary = report.adaptive.clone().unwrap();
    let names: Vec<String> = rates.iter().map(|(n, _)| n.to_string()).collect();
    let mut answered = 0;
    for t in &summary.targets {
        // Samples by ordinal k = repeat × prompts + prompt, which must run 0..enqueued.
        let mut by_ordinal: BTreeMap<u64, Vec<bool>> = BTreeMap::new();
        for r in records.iter().filter(|r| r.sample.target == t.target) {
            assert_eq!(r.sample.status, SampleStatus::Succeeded);
            assert_eq!(r.sample.attempt, 1, "each sample asked once");
            let k = u64::from(r.sample.repeat_index) * 2 + u64::from(r.sample.prompt_index);
            let named = names.iter().map(|n| r.mentions.iter().any(|m| &m.brand == n)).collect();
            assert!(by_ordinal.insert(k, named).is_none(), "sample {k} enqueued twice");
        }
        let n = by_ordinal.len() as u64;
        assert_eq!(
            by_ordinal.keys().copied().collect::<Vec<_>>(),
            (0..n).collect::<Vec<_>>()
        );
        let answers: Vec<Vec<bool>> = by_ordinal.into_values().collect();
        assert_eq!(
            n,
            replay_waves(g, 2, &answers),
            "{}: exactly the waves the stored answers call for",
            t.target
        );
        assert_eq!((t.enqueued, t.answered), (n, n));
        assert_ne!(t.state, AdaptiveState::Sampling);
        answered += n;
    }
    assert_books(&a, &me, run.id, answered, 3 * 300).await;
    a.close().await;
    b.close().await;
}

common::on_both_backends!(
    an_adaptive_run_stops_early_when_rates_are_far_from_half,
    an_adaptive_run_reaches_its_maximum_when_a_brand_is_near_half,
    bad_goals_are_refused_before_anything_is_reserved_or_written,
    a_drained_wave_left_by_a_crash_is_continued_not_finalized,
    cancelling_an_adaptive_run_stops_its_waves,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_an_adaptive_run_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("echo.db").display());
    two_workers_share_an_adaptive_run_without_doubling_a_wave(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_an_adaptive_run_on_postgres() {
    let Some(db) = pg_support::TestDb::create("two_workers_adaptive").await else {
        return;
    };
    two_workers_share_an_adaptive_run_without_doubling_a_wave(&db.url).await;
}

/// The markets of docs/metrics.md ("Savings") through the engine: answers used against the
/// fixed plan for ±5 points (381 per target). Prints the figures; asserts only what must
/// hold whatever the draw (never more than the maximum, the goal reached when stopped
/// early). `ECHO_ADAPTIVE_RUNS` sets the runs per market (default 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn savings_against_the_fixed_plan_by_market() {
    let markets: [(&str, &[(&str, f64)]); 5] = [
        (
            "long tail",
            &[
                ("Acme", 0.88),
                ("Globex", 0.15),
                ("Initech", 0.10),
                ("Umbrella", 0.06),
                ("Hooli", 0.04),
                ("Vandelay", 0.02),
            ],
        ),
        (
            "leader + challenger",
            &[
                ("Acme", 0.90),
                ("Globex", 0.75),
                ("Initech", 0.20),
                ("Umbrella", 0.10),
                ("Hooli", 0.05),
            ],
        ),
        (
            "test market",
            &[("Acme", 0.6), ("Globex", 0.4), ("Initech", 0.2), ("Umbrella", 0.05)],
        ),
        ("one brand at 10%", &[("Acme", 0.10)]),
        ("one brand at 30%", &[("Acme", 0.30)]),
    ];
    let runs: u64 = std::env::var("ECHO_ADAPTIVE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let g = AdaptiveGoal::new(0.05).unwrap();
    println!("market | runs | mean answers | fixed plan | savings | goal reached | coverage (intervals)");
    for (name, rates) in markets {
        // Many runs in a row: the tier's run-start rate limit is lifted for the measurement.
        let pro = TierLimits {
            run_starts: None,
            ..TierLimits::new(100_000_000, 20_000, 10)
        };
        let echo = Echo::builder()
            .sqlite_memory()
            .provider(market(11, rates))
            .quota_policy(TieredQuotaPolicy::standard().tier("pro", pro))
            .build()
            .await
            .unwrap();
        let me = account(&echo, name).await;
        let exp = echo.create_experiment(&me, spec(rates, 1, 1)).await.unwrap();
        let (mut answers, mut reached) = (0u64, 0u64);
        // Reported intervals that contain the brand's true rate, out of all reported.
        let (mut covered, mut intervals) = (0u64, 0u64);
        for seed in 0..runs {
            let options = RunOptions {
                seed: Some(seed),
                ..adaptive(g, GoalBrands::All)
            };
            let report = echo
                .start_run(&me, exp.id, options)
                .await
                .unwrap()
                .wait()
                .await
                .unwrap();
            let t = &report.adaptive.as_ref().unwrap().targets[0];
            assert!(t.answered <= 381, "{t:?}");
            if t.state == AdaptiveState::GoalReached {
                assert!(t.widest_half_width <= 0.05, "{t:?}");
                reached += 1;
            }
            answers += t.answered;
            for (brand, truth) in rates.iter() {
                let interval = report.by_target[0].brand(brand).unwrap().visibility.interval;
                intervals += 1;
                covered += u64::from(interval.lower <= *truth && *truth <= interval.upper);
            }
        }
        let mean = answers as f64 / runs as f64;
        println!(
            "{name} | {runs} | {mean:.0} | 381 | {:.0}% | {reached}/{runs} | {:.1}% ({intervals})",
            100.0 * (1.0 - mean / 381.0),
            100.0 * covered as f64 / intervals as f64
        );
    }
}
