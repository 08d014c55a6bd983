//! Validation of the adaptive stopping rule (`analysis::sequential`) against known truth.
//!
//! Two kinds of checks: exact ones for a single brand (`operating_characteristics`, no
//! simulation noise) and seeded simulations of whole adaptive runs with several brands,
//! drawn the way the `Simulated` provider draws answers (each brand named independently
//! with its true visibility). The larger study behind the tables of `docs/metrics.md` is the
//! `#[ignore]`d `adaptive_study` test:
//! `cargo test -p echo-core --test sequential_validation -- --ignored --nocapture`.

use echo_core::analysis::samples_for_half_width;
use echo_core::analysis::sequential::{
    AdaptiveGoal, Decision, SequentialMethod, StoppingRule, TargetCounts, operating_characteristics,
};
use echo_core::model::Interval;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a simulated engine looks at a target's answers.
#[derive(Debug, Clone, Copy)]
enum Schedule {
    /// A decision after every answer, nothing in flight.
    EveryAnswer,
    /// A decision after every `k` answers.
    Every(u64),
    /// Batches of half the rule's estimate of what remains (at least `min_batch`).
    Planned { min_batch: u64 },
    /// A decision after every answer while `in_flight − 1` more requests are already out:
    /// they complete after the stop and count (the overrun of a concurrent engine).
    Concurrent { in_flight: u64 },
}

/// One adaptive run of one target over brands with true visibilities `rates`.
struct Outcome {
    answered: u64,
    counts: TargetCounts,
}

fn adaptive_run(rule: &StoppingRule, rates: &[f64], schedule: Schedule, rng: &mut ChaCha8Rng) -> Outcome {
    let mut counts = TargetCounts::new(rates.len());
    let answer = |counts: &mut TargetCounts, rng: &mut ChaCha8Rng| {
        let named: Vec<usize> = (0..rates.len()).filter(|&i| rng.random::<f64>() < rates[i]).collect();
        counts.record_answer(named);
    };
    let max = rule.goal().max_samples;
    let min = rule.goal().min_samples;
    // The first look is at min_samples.
    for _ in 0..min {
        answer(&mut counts, rng);
    }
    loop {
        let decision = rule.decide(&counts);
        let batch = match (decision, schedule) {
            (Decision::Stop { .. }, Schedule::Concurrent { in_flight }) => {
                let overrun = (in_flight - 1).min(max - counts.answered);
                for _ in 0..overrun {
                    answer(&mut counts, rng);
                }
                break;
            }
            (Decision::Stop { .. }, _) => break,
            (_, Schedule::EveryAnswer | Schedule::Concurrent { .. }) => 1,
            (_, Schedule::Every(k)) => k,
            (
                Decision::Continue {
                    estimated_remaining, ..
                },
                Schedule::Planned { min_batch },
            ) => (estimated_remaining / 2).max(min_batch),
        };
        for _ in 0..batch.min(max - counts.answered) {
            answer(&mut counts, rng);
        }
    }
    Outcome {
        answered: counts.answered,
        counts,
    }
}

/// Coverage tallies of many simulated runs.
#[derive(Debug, Default, Clone)]
struct Tally {
    intervals: u64,
    covered: u64,
    runs: u64,
    answers: u64,
}

impl Tally {
    fn coverage(&self) -> f64 {
        self.covered as f64 / self.intervals as f64
    }
    fn mean_answers(&self) -> f64 {
        self.answers as f64 / self.runs as f64
    }
}

/// `runs` adaptive runs over markets from `market`; coverage per brand position and overall.
fn simulate(
    rule: &StoppingRule,
    runs: u64,
    seed: u64,
    schedule: Schedule,
    market: impl Fn(&mut ChaCha8Rng) -> Vec<f64>,
) -> (Tally, Vec<(f64, bool)>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let mut each = Vec::new();
    for _ in 0..runs {
        let rates = market(&mut rng);
        let out = adaptive_run(rule, &rates, schedule, &mut rng);
        tally.runs += 1;
        tally.answers += out.answered;
        for (i, &p) in rates.iter().enumerate() {
            let interval: Interval = rule.interval(out.counts.brands[i], out.answered);
            let hit = interval.contains(p);
            tally.intervals += 1;
            tally.covered += u64::from(hit);
            each.push((p, hit));
        }
    }
    (tally, each)
}

/// Eight brands with rates spread over 0.02…0.98 (a fresh uniform draw per brand and run).
fn spread_market(rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..8).map(|_| rng.random_range(0.02..=0.98)).collect()
}

/// 97 rates 0.02, 0.03, …, 0.98.
fn rate_grid() -> Vec<f64> {
    (2..=98).map(|i| f64::from(i) / 100.0).collect()
}

fn goal(half_width: f64, min_samples: u64) -> AdaptiveGoal {
    AdaptiveGoal {
        min_samples,
        ..AdaptiveGoal::new(half_width).unwrap()
    }
}

/// Exact single-brand coverage: mean over the rate grid close to 95%, never below 93%.
#[test]
fn exact_coverage_of_the_default_rule_is_close_to_nominal_at_every_rate() {
    for (h, min, look) in [(0.05, 20, 1), (0.05, 20, 10), (0.1, 20, 1), (0.1, 30, 5)] {
        let rule = StoppingRule::new(goal(h, min)).unwrap();
        let points = operating_characteristics(&rule, &rate_grid(), look).unwrap();
        let mean = points.iter().map(|p| p.coverage).sum::<f64>() / points.len() as f64;
        let worst = points.iter().map(|p| p.coverage).fold(1.0, f64::min);
        assert!(
            (0.945..=0.96).contains(&mean),
            "±{h} min {min} look {look}: mean {mean}"
        );
        assert!(worst >= 0.93, "±{h} min {min} look {look}: worst {worst}");
        // It never needs more than the worst-case fixed plan.
        let fixed = samples_for_half_width(h, None).unwrap() as f64;
        assert!(points.iter().all(|p| p.expected_samples <= fixed + 1e-9));
    }
}

/// Exact: a lone brand with a rate anywhere in 0.02…0.98 needs about a third fewer answers
/// than the worst-case fixed plan for the same precision.
#[test]
fn exact_savings_for_a_single_brand_across_rates() {
    let rule = StoppingRule::new(goal(0.05, 20)).unwrap();
    let points = operating_characteristics(&rule, &rate_grid(), 1).unwrap();
    let mean = points.iter().map(|p| p.expected_samples).sum::<f64>() / points.len() as f64;
    let savings = 1.0 - mean / 381.0;
    assert!(savings >= 0.30, "savings {savings}");
}

/// 1,000 simulated adaptive runs of eight brands each (8,000 intervals), rates spread over
/// 0.02…0.98, looks after every answer: coverage within 95 ± 2%, in every rate band too.
#[test]
fn simulated_multi_brand_runs_cover_about_95_percent() {
    let rule = StoppingRule::new(goal(0.05, 20)).unwrap();
    let (tally, each) = simulate(&rule, 1_000, 1, Schedule::EveryAnswer, spread_market);
    let c = tally.coverage();
    assert!((0.93..=0.97).contains(&c), "{c}");
    // Bands of true rates: 0.02–0.2, 0.2–0.4, ..., each with ~1,600 intervals (±1.1 points of
    // simulation noise at 2σ).
    for band in 0..5 {
        let lo = 0.02 + 0.192 * f64::from(band);
        let hits: Vec<bool> = each
            .iter()
            .filter(|(p, _)| *p >= lo && *p < lo + 0.192 + 1e-9)
            .map(|(_, h)| *h)
            .collect();
        let cov = hits.iter().filter(|h| **h).count() as f64 / hits.len() as f64;
        assert!(cov >= 0.925, "band from {lo}: {cov} over {}", hits.len());
    }
}

/// Batches sized from the rule's estimate, and answers already in flight at the stop, keep
/// the coverage (400 runs of eight brands each: 3,200 intervals, ±0.8 points at 2σ).
#[test]
fn batched_and_concurrent_looks_keep_coverage() {
    let rule = StoppingRule::new(goal(0.05, 20)).unwrap();
    for (seed, schedule) in [
        (2, Schedule::Planned { min_batch: 5 }),
        (3, Schedule::Concurrent { in_flight: 16 }),
    ] {
        let (tally, _) = simulate(&rule, 400, seed, schedule, spread_market);
        let c = tally.coverage();
        assert!((0.93..=0.97).contains(&c), "{schedule:?}: {c}");
    }
}

/// The confidence sequence is valid whatever the schedule, and conservative: coverage ≥ 95%
/// (≈ 99.9%) with several times the answers.
#[test]
fn confidence_sequence_over_covers_and_costs_more() {
    let g = AdaptiveGoal {
        max_samples: 2_000,
        ..goal(0.1, 20)
    };
    let cs = StoppingRule::with_method(g, SequentialMethod::ConfidenceSequence).unwrap();
    let wilson = StoppingRule::new(goal(0.1, 20)).unwrap();
    let market = |rng: &mut ChaCha8Rng| vec![rng.random_range(0.02..=0.98)];
    // Looks every 10 answers (the sequence is valid for any schedule; this keeps the test fast).
    let (t_cs, _) = simulate(&cs, 300, 7, Schedule::Every(10), market);
    let (t_w, _) = simulate(&wilson, 300, 7, Schedule::Every(10), market);
    assert!(t_cs.coverage() >= 0.98, "{}", t_cs.coverage());
    assert!(
        t_cs.mean_answers() > 2.5 * t_w.mean_answers(),
        "{} vs {}",
        t_cs.mean_answers(),
        t_w.mean_answers()
    );
}

/// Savings in whole markets depend on the brand closest to 50%: a long-tail market saves
/// well over 30%; a market with a brand near 50% (the simulator's CRM demo) barely saves.
#[test]
fn simulated_savings_depend_on_the_widest_brand() {
    let rule = StoppingRule::new(goal(0.05, 20)).unwrap();
    let long_tail = [0.88, 0.15, 0.1, 0.06, 0.04, 0.02];
    let crm = [0.78, 0.62, 0.55, 0.45, 0.30, 0.25, 0.22, 0.18];
    let (tail, _) = simulate(&rule, 300, 11, Schedule::EveryAnswer, |_| long_tail.to_vec());
    let (demo, _) = simulate(&rule, 300, 12, Schedule::EveryAnswer, |_| crm.to_vec());
    let savings = |t: &Tally| 1.0 - t.mean_answers() / 381.0;
    assert!(savings(&tail) >= 0.30, "long tail {}", savings(&tail));
    assert!(savings(&demo) < 0.05, "crm demo {}", savings(&demo));
}

// ---- the study behind docs/metrics.md ---------------------------------------------------

fn exact_row(label: &str, rule: &StoppingRule, look: u64) {
    let points = operating_characteristics(rule, &rate_grid(), look).unwrap();
    let mean = points.iter().map(|p| p.coverage).sum::<f64>() / points.len() as f64;
    let (worst, worst_at) = points
        .iter()
        .map(|p| (p.coverage, p.rate))
        .fold((1.0, 0.0), |a, b| if b.0 < a.0 { b } else { a });
    let best = points.iter().map(|p| p.coverage).fold(0.0, f64::max);
    let e_n = points.iter().map(|p| p.expected_samples).sum::<f64>() / points.len() as f64;
    let at_half = points
        .iter()
        .find(|p| (p.rate - 0.5).abs() < 1e-9)
        .unwrap()
        .expected_samples;
    println!(
        "| {label} | {:.1}% | {:.1}% (p = {worst_at:.2}) | {:.1}% | {e_n:.0} | {at_half:.0} |",
        100.0 * mean,
        100.0 * worst,
        100.0 * best
    );
}

#[test]
#[ignore = "study for docs/metrics.md; run with --ignored --nocapture"]
fn adaptive_study() {
    println!("\n### Exact single-brand coverage at the stop, rates 0.02…0.98 step 0.01\n");
    println!("| rule | mean coverage | lowest | highest | mean E[N] | E[N] at p = 0.5 |");
    println!("|---|---|---|---|---|---|");
    for (h, min, look) in [
        (0.1, 10, 1),
        (0.1, 20, 1),
        (0.1, 20, 10),
        (0.05, 20, 1),
        (0.05, 20, 10),
        (0.05, 50, 25),
        (0.03, 20, 1),
        (0.02, 20, 1),
    ] {
        // `unverified`: the min-10 row is below the floor runs are held to (it shows why).
        let rule = StoppingRule::unverified(goal(h, min), SequentialMethod::Wilson).unwrap();
        exact_row(&format!("Wilson ±{h}, min {min}, look every {look}"), &rule, look);
    }
    for h in [0.1, 0.05] {
        let g = AdaptiveGoal {
            max_samples: 6_000,
            ..goal(h, 20)
        };
        let cs = StoppingRule::with_method(g, SequentialMethod::ConfidenceSequence).unwrap();
        exact_row(&format!("confidence sequence ±{h}, min 20, look every 1"), &cs, 1);
    }
    for (h, n) in [(0.1, 93u64), (0.05, 381)] {
        let fixed = StoppingRule::new(AdaptiveGoal {
            half_width: 0.001,
            min_samples: n,
            max_samples: n,
            confidence: 0.95,
        })
        .unwrap();
        exact_row(&format!("fixed n = {n} (Wilson, the ±{h} plan)"), &fixed, 1);
    }

    println!("\n### Simulated adaptive runs, 8 brands with rates uniform on 0.02…0.98, ±0.05\n");
    println!("| schedule | runs | intervals | coverage | mean answers | savings vs 381 |");
    println!("|---|---|---|---|---|---|");
    let rule = StoppingRule::new(goal(0.05, 20)).unwrap();
    for (seed, schedule) in [
        (101, Schedule::EveryAnswer),
        (102, Schedule::Every(10)),
        (103, Schedule::Planned { min_batch: 5 }),
        (104, Schedule::Concurrent { in_flight: 16 }),
    ] {
        let (t, _) = simulate(&rule, 10_000, seed, schedule, spread_market);
        println!(
            "| {schedule:?} | {} | {} | {:.2}% | {:.0} | {:.0}% |",
            t.runs,
            t.intervals,
            100.0 * t.coverage(),
            t.mean_answers(),
            100.0 * (1.0 - t.mean_answers() / 381.0)
        );
    }

    println!("\n### Savings by market, ±0.05 (fixed plan 381), every answer, 5,000 runs each\n");
    println!("| market (true visibilities) | coverage | mean answers | savings |");
    println!("|---|---|---|---|");
    let markets: [(&str, Vec<f64>); 5] = [
        ("one brand, rate uniform on 0.02…0.98", vec![]),
        (
            "long tail: 0.88, 0.15, 0.10, 0.06, 0.04, 0.02",
            vec![0.88, 0.15, 0.1, 0.06, 0.04, 0.02],
        ),
        (
            "leader + challenger: 0.9, 0.75, 0.2, 0.1, 0.05",
            vec![0.9, 0.75, 0.2, 0.1, 0.05],
        ),
        ("test market: 0.6, 0.4, 0.2, 0.05", vec![0.6, 0.4, 0.2, 0.05]),
        (
            "simulator CRM demo: 0.78 … 0.18 (8 brands)",
            vec![0.78, 0.62, 0.55, 0.45, 0.30, 0.25, 0.22, 0.18],
        ),
    ];
    for (i, (label, rates)) in markets.iter().enumerate() {
        let (t, _) = simulate(&rule, 5_000, 200 + i as u64, Schedule::EveryAnswer, |rng| {
            if rates.is_empty() {
                vec![rng.random_range(0.02..=0.98)]
            } else {
                rates.clone()
            }
        });
        println!(
            "| {label} | {:.2}% | {:.0} | {:.0}% |",
            100.0 * t.coverage(),
            t.mean_answers(),
            100.0 * (1.0 - t.mean_answers() / 381.0)
        );
    }
}

/// Exact coverage of the default rule at the verified floor (`min_samples` =
/// `AdaptiveGoal::verified_min_samples`, 20 unless the goal is very wide) across goals and
/// confidence levels: what `check_verified` admits keeps the fixed-n Wilson behaviour
/// on average (within 1 point of nominal); its dips at single rates are measured, not bounded
/// tightly (2.6 points below 95%, 4.6 below 90%).
#[test]
fn exact_coverage_at_the_verified_floor_across_goals_and_levels() {
    for (h, confidence) in [
        (0.2, 0.95),
        (0.15, 0.95),
        (0.075, 0.95),
        (0.1, 0.9),
        (0.1, 0.99),
        (0.05, 0.9),
    ] {
        let wide = AdaptiveGoal {
            confidence,
            max_samples: 100_000,
            ..AdaptiveGoal::new(h).unwrap()
        };
        // The worst-case fixed plan at this level is the maximum.
        let max_samples = wide.worst_case_samples().unwrap();
        let g = AdaptiveGoal { max_samples, ..wide };
        let g = AdaptiveGoal {
            min_samples: g.verified_min_samples().unwrap(),
            ..g
        };
        let rule = StoppingRule::new(g).unwrap();
        let points = operating_characteristics(&rule, &rate_grid(), 1).unwrap();
        let mean = points.iter().map(|p| p.coverage).sum::<f64>() / points.len() as f64;
        let (worst, at) = points
            .iter()
            .map(|p| (p.coverage, p.rate))
            .fold((1.0, 0.0), |a, b| if b.0 < a.0 { b } else { a });
        println!(
            "| ±{h} | {:.0}% | {} | {} | {:.1}% | {:.1}% (p = {at:.2}) |",
            100.0 * confidence,
            g.min_samples,
            g.max_samples,
            100.0 * mean,
            100.0 * worst
        );
        assert!((mean - confidence).abs() <= 0.01, "±{h} at {confidence}: mean {mean}");
        // The fixed-n Wilson interval itself dips to 92.5% at 95% (n = 20, p = 0.05); at 90%
        // the sequential rule dips to 85.4% (docs/metrics.md).
        assert!(worst >= confidence - 0.05, "±{h} at {confidence}: worst {worst}");
    }
}
