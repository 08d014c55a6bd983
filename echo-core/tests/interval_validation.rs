//! Validation of the report intervals and the change test against known truth: fixed-n
//! Wilson coverage (exact), the clustered roll-up interval (seeded simulation of prompts
//! whose true rates differ), and the change test's false-positive rate and power.
//!
//! Answers are drawn the way the `Simulated` provider draws them (a brand is named in each
//! answer independently with its true probability, which per-prompt overrides may change),
//! at the level of counts so the tests run in seconds. The study behind the tables of
//! `docs/metrics.md` is the `#[ignore]`d `interval_study` test:
//! `cargo test -p echo-core --test interval_validation -- --ignored --nocapture`.

use echo_core::analysis::{
    clustered_caveat, clustered_interval, compare_proportions, power_two_proportions, samples_for_change,
    samples_for_half_width, wilson_interval,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Binomial, Distribution};

fn ln_choose(n: u64, k: u64) -> f64 {
    (1..=k).map(|i| ((n - k + i) as f64 / i as f64).ln()).sum()
}

/// Exact coverage of the fixed-n Wilson interval at rate p.
fn wilson_coverage(n: u64, p: f64) -> f64 {
    (0..=n)
        .filter(|&s| wilson_interval(s, n).contains(p))
        .map(|s| (ln_choose(n, s) + s as f64 * p.ln() + (n - s) as f64 * (1.0 - p).ln()).exp())
        .sum()
}

fn rate_grid() -> Vec<f64> {
    (2..=98).map(|i| f64::from(i) / 100.0).collect()
}

#[test]
fn fixed_n_wilson_coverage_is_close_to_nominal() {
    for n in [30u64, 93, 381] {
        let covs: Vec<f64> = rate_grid().into_iter().map(|p| wilson_coverage(n, p)).collect();
        let mean = covs.iter().sum::<f64>() / covs.len() as f64;
        let worst = covs.iter().copied().fold(1.0, f64::min);
        assert!((0.945..=0.96).contains(&mean), "n {n}: mean {mean}");
        assert!(worst >= 0.925, "n {n}: worst {worst}");
    }
}

/// 1,000 simulated runs, one brand each, rate uniform on 0.02…0.98, n uniform on 20…400.
#[test]
fn fixed_n_wilson_simulated() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut covered = 0;
    for _ in 0..1_000 {
        let p = rng.random_range(0.02..=0.98);
        let n = rng.random_range(20..=400u64);
        let s = Binomial::new(n, p).unwrap().sample(&mut rng);
        covered += u32::from(wilson_interval(s, n).contains(p));
    }
    let c = f64::from(covered) / 1_000.0;
    assert!((0.93..=0.97).contains(&c), "{c}");
}

/// One roll-up over `prompts` prompts asked `repeats` times each: prompt rates are drawn
/// from a Beta with mean `p` and intra-prompt correlation `icc` (0 = every prompt has rate
/// p). Returns (successes, trials) per prompt.
fn clustered_counts(p: f64, icc: f64, prompts: usize, repeats: u64, rng: &mut ChaCha8Rng) -> Vec<(u64, u64)> {
    (0..prompts)
        .map(|_| {
            let rate = if icc == 0.0 {
                p
            } else {
                let k = (1.0 - icc) / icc;
                Beta::new(p * k, (1.0 - p) * k).unwrap().sample(rng)
            };
            (Binomial::new(repeats, rate).unwrap().sample(rng), repeats)
        })
        .collect()
}

/// Coverage of the clustered interval (and of the pooled Wilson interval that ignores the
/// clustering) of the population mean rate, over `runs` roll-ups with rates uniform on
/// 0.02…0.98.
fn clustered_coverage(icc: f64, prompts: usize, repeats: u64, runs: u32, seed: u64) -> (f64, f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut clustered, mut naive, mut width) = (0u32, 0u32, 0.0);
    for _ in 0..runs {
        let p = rng.random_range(0.02..=0.98);
        let counts = clustered_counts(p, icc, prompts, repeats, &mut rng);
        let c = clustered_interval(&counts).unwrap();
        clustered += u32::from(c.interval.contains(p));
        width += c.interval.half_width();
        let (s, n) = counts.iter().fold((0, 0), |(s, n), (y, m)| (s + y, n + m));
        naive += u32::from(wilson_interval(s, n).contains(p));
    }
    let runs = f64::from(runs);
    (f64::from(clustered) / runs, f64::from(naive) / runs, width / runs)
}

/// 1,000 roll-ups of 10 prompts whose rates differ moderately (ICC 0.05, i.e. a prompt-to-
/// prompt standard deviation of 11 points at 50%), 10 and 50 answers per prompt: the
/// clustered interval covers within 95 ± 2%; the pooled Wilson interval does not.
#[test]
fn clustered_rollup_covers_the_mean_over_prompts() {
    for (repeats, seed) in [(10, 21), (50, 22)] {
        let (clustered, naive, _) = clustered_coverage(0.05, 10, repeats, 1_000, seed);
        assert!((0.93..=0.97).contains(&clustered), "{repeats} repeats: {clustered}");
        assert!(naive < 0.91, "{repeats} repeats: pooled Wilson {naive}");
    }
}

/// With identical prompts the clustered interval is conservative, never below nominal.
#[test]
fn clustered_rollup_without_clustering_is_conservative() {
    let (clustered, naive, _) = clustered_coverage(0.0, 5, 30, 1_000, 23);
    assert!(clustered >= 0.95, "{clustered}");
    assert!((0.93..=0.97).contains(&naive), "{naive}");
}

/// Two runs with the same true rates: the change test flags about 5% of brands (at most
/// nominal), over rates spread 0.02…0.98 and the ±5-point planned size of 381 answers.
#[test]
fn change_test_false_positive_rate_is_at_most_nominal() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let n = samples_for_half_width(0.05, None).unwrap();
    let trials = 4_000;
    let mut flagged = 0;
    for _ in 0..trials {
        let p = rng.random_range(0.02..=0.98);
        let b = Binomial::new(n, p).unwrap();
        let (s1, s2) = (b.sample(&mut rng), b.sample(&mut rng));
        flagged += u32::from(compare_proportions(s1, n, s2, n, 0.05).unwrap().significant);
    }
    let rate = f64::from(flagged) / f64::from(trials);
    // ±0.7 points of simulation noise at 2σ.
    assert!((0.03..=0.058).contains(&rate), "{rate}");
}

/// A 10-point change (30% → 40%) at the size planned for 80% power (356 answers per run) is
/// flagged about 80% of the time.
#[test]
fn change_test_power_at_the_planned_size() {
    let n = samples_for_change(0.3, 0.4, 0.05, 0.8).unwrap();
    assert_eq!(n, 356);
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let trials = 2_000;
    let mut flagged = 0;
    for _ in 0..trials {
        let s1 = Binomial::new(n, 0.3).unwrap().sample(&mut rng);
        let s2 = Binomial::new(n, 0.4).unwrap().sample(&mut rng);
        flagged += u32::from(compare_proportions(s1, n, s2, n, 0.05).unwrap().significant);
    }
    let power = f64::from(flagged) / f64::from(trials);
    // ±1.8 points of simulation noise at 2σ around 0.80.
    assert!((0.77..=0.83).contains(&power), "{power}");
}

// ---- the study behind docs/metrics.md ---------------------------------------------------

#[test]
#[ignore = "study for docs/metrics.md; run with --ignored --nocapture"]
fn interval_study() {
    println!("\n### Fixed-n Wilson, exact coverage over rates 0.02…0.98 step 0.01\n");
    println!("| n | mean | lowest | highest |");
    println!("|---|---|---|---|");
    for n in [10u64, 20, 30, 50, 93, 200, 381, 1000] {
        let covs: Vec<(f64, f64)> = rate_grid().into_iter().map(|p| (wilson_coverage(n, p), p)).collect();
        let mean = covs.iter().map(|c| c.0).sum::<f64>() / covs.len() as f64;
        let worst = covs
            .iter()
            .copied()
            .fold((1.0, 0.0), |a, b| if b.0 < a.0 { b } else { a });
        let best = covs.iter().map(|c| c.0).fold(0.0, f64::max);
        println!(
            "| {n} | {:.1}% | {:.1}% (p = {:.2}) | {:.1}% |",
            100.0 * mean,
            100.0 * worst.0,
            worst.1,
            100.0 * best
        );
    }

    println!("\n### Clustered roll-up: coverage of the mean rate over prompts, 4,000 roll-ups per row\n");
    println!("| ICC | prompts | answers per prompt | clustered | mean ± | pooled Wilson (ignores prompts) |");
    println!("|---|---|---|---|---|---|");
    let mut seed = 100;
    for icc in [0.0, 0.05, 0.2] {
        for prompts in [3usize, 5, 10, 20] {
            for repeats in [10u64, 50] {
                seed += 1;
                let (c, naive, hw) = clustered_coverage(icc, prompts, repeats, 4_000, seed);
                println!(
                    "| {icc} | {prompts} | {repeats} | {:.1}% | {hw:.3} | {:.1}% |",
                    100.0 * c,
                    100.0 * naive
                );
            }
        }
    }

    println!("\n### Clustered roll-up by true rate, ICC 0.05 and 0.2, 10 prompts × 50 answers, 4,000 per row\n");
    println!("| rate | ICC 0.05 | ICC 0.2 |");
    println!("|---|---|---|");
    for p in [0.02, 0.05, 0.1, 0.2, 0.5] {
        let mut row = Vec::new();
        for icc in [0.05, 0.2] {
            let mut rng = ChaCha8Rng::seed_from_u64(500 + (p * 100.0) as u64);
            let hits = (0..4_000)
                .filter(|_| {
                    let counts = clustered_counts(p, icc, 10, 50, &mut rng);
                    clustered_interval(&counts).unwrap().interval.contains(p)
                })
                .count();
            row.push(format!("{:.1}%", 100.0 * hits as f64 / 4_000.0));
        }
        println!("| {p} | {} | {} |", row[0], row[1]);
    }

    println!("\n### Change test: false positives (no change) and power, 20,000 pairs of runs per row\n");
    println!("| scenario | answers per run | flagged | z-test approximation |");
    println!("|---|---|---|---|");
    let mut rng = ChaCha8Rng::seed_from_u64(900);
    for n in [30u64, 93, 381] {
        let mut flagged = 0;
        for _ in 0..20_000 {
            let p = rng.random_range(0.02..=0.98);
            let b = Binomial::new(n, p).unwrap();
            flagged += u32::from(
                compare_proportions(b.sample(&mut rng), n, b.sample(&mut rng), n, 0.05)
                    .unwrap()
                    .significant,
            );
        }
        println!(
            "| no change, rate uniform 0.02…0.98 | {n} | {:.2}% | 5% |",
            100.0 * f64::from(flagged) / 20_000.0
        );
    }
    for (p1, p2) in [(0.3, 0.4), (0.45, 0.55), (0.05, 0.15), (0.8, 0.9)] {
        let n = samples_for_change(p1, p2, 0.05, 0.8).unwrap();
        for n in [n, 381] {
            let mut flagged = 0;
            for _ in 0..20_000 {
                let s1 = Binomial::new(n, p1).unwrap().sample(&mut rng);
                let s2 = Binomial::new(n, p2).unwrap().sample(&mut rng);
                flagged += u32::from(compare_proportions(s1, n, s2, n, 0.05).unwrap().significant);
            }
            println!(
                "| {p1} → {p2} | {n} | {:.1}% | {:.1}% |",
                100.0 * f64::from(flagged) / 20_000.0,
                100.0 * power_two_proportions(p1, p2, n, 0.05).unwrap()
            );
        }
    }
}

#[test]
#[ignore = "study for docs/metrics.md; run with --ignored --nocapture"]
fn clustered_study() {
    println!(
        "\n### Clustered roll-up coverage by true rate, prompts and ICC (20 answers per prompt, 4,000 per cell)\n"
    );
    println!("| ICC | prompts | 0.02 | 0.05 | 0.10 | 0.20 | 0.50 | uniform 0.02…0.98 |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut seed = 7_000;
    for icc in [0.0, 0.02, 0.05, 0.1, 0.2] {
        for prompts in [3usize, 5, 10, 20, 40] {
            let mut row = Vec::new();
            for p in [0.02, 0.05, 0.1, 0.2, 0.5] {
                seed += 1;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let hits = (0..4_000)
                    .filter(|_| {
                        let counts = clustered_counts(p, icc, prompts, 20, &mut rng);
                        clustered_interval(&counts).unwrap().interval.contains(p)
                    })
                    .count();
                row.push(format!("{:.1}%", 100.0 * hits as f64 / 4_000.0));
            }
            seed += 1;
            let (c, _, _) = clustered_coverage(icc, prompts, 20, 4_000, seed);
            println!("| {icc} | {prompts} | {} | {:.1}% |", row.join(" | "), 100.0 * c);
        }
    }

    println!(
        "\n### Roll-ups with at least 10 prompts and at least 5 informative prompts (`clustered_caveat` is None): coverage by true rate (share of roll-ups flagged), 20 answers per prompt, 4,000 roll-ups per cell\n"
    );
    println!("| ICC | prompts | 0.02 | 0.05 | 0.10 | 0.20 | 0.50 |");
    println!("|---|---|---|---|---|---|---|");
    for icc in [0.0, 0.05, 0.1, 0.2] {
        for prompts in [10usize, 20, 40] {
            let mut row = Vec::new();
            for p in [0.02, 0.05, 0.1, 0.2, 0.5] {
                seed += 1;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let (mut kept, mut hits) = (0u32, 0u32);
                for _ in 0..4_000 {
                    let counts = clustered_counts(p, icc, prompts, 20, &mut rng);
                    if clustered_caveat(&counts).is_none() {
                        kept += 1;
                        hits += u32::from(clustered_interval(&counts).unwrap().interval.contains(p));
                    }
                }
                row.push(if kept == 0 {
                    "— (100%)".to_string()
                } else {
                    format!(
                        "{:.1}% ({:.0}%)",
                        100.0 * f64::from(hits) / f64::from(kept),
                        100.0 * (1.0 - f64::from(kept) / 4_000.0)
                    )
                });
            }
            println!("| {icc} | {prompts} | {} |", row.join(" | "));
        }
    }
}
