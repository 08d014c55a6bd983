//! Coverage of Echo's visibility intervals end to end, through the `Simulated` provider.
//!
//! `interval_validation.rs` and `sequential_validation.rs` check the interval formulas on
//! binomial counts drawn directly. This test checks the whole path instead: the `Simulated`
//! provider writes answers (`Provider::complete`, markdown lists, prose, aliases, domains,
//! possessives) with known true visibilities, the real `DictionaryExtractor` finds the
//! mentions, and the real report code (`analysis::build_report`) turns them into
//! visibilities with intervals — the same code path as a run, without a database so that
//! thousands of runs stay fast. Three checks, each over ≥ 1,000 seeded runs across true
//! rates 0.02…0.98 and several sample sizes, each asserting pooled coverage in [93%, 97%]:
//!
//! 1. fixed-n Wilson (`visibility` of the report);
//! 2. the adaptive stopping rule (default `SequentialMethod::Wilson`, the engine's wave
//!    schedule), reporting the report's Wilson interval at the stop;
//! 3. the clustered multi-prompt roll-up (`visibility_clustered` of `by_target`), with the
//!    prompts' true rates drawn from a Beta distribution around the brand's mean.
//!
//! Everything is seeded: the simulator's seed, every request's seed and the market draws.
//! Figures are in `docs/metrics.md` ("Validation through the Simulated provider"); the
//! printed tables come from `cargo test -p echo-core --test simulated_coverage -- --nocapture`.

use chrono::{TimeZone, Utc};
use echo_core::analysis::sequential::{AdaptiveGoal, Decision, StoppingRule, TargetCounts};
use echo_core::analysis::{
    BrandCatalog, ClusteredCaveat, DictionaryExtractor, Extractor, build_report, clustered_caveat, clustered_caveats,
};
use echo_core::model::{
    AccountId, ExperimentId, ExperimentSpec, Interval, Mention, Report, Run, RunId, RunStatus, Sample, SampleCounts,
    SampleId, SampleRecord, SampleStatus, Target,
};
use echo_core::provider::{BrandBehavior, ChatRequest, Provider, Simulated, SimulatedConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};

const MODEL: &str = "sim-coverage";

/// Brand names (with aliases and domains the simulator writes and the extractor must find).
const BRANDS: [(&str, &str, &str); 3] = [
    ("Zentrix", "Zentrix CRM", "zentrix.io"),
    ("Quorvex", "Quorvex Sales", "quorvex.com"),
    ("Plimbo", "Plimbo Cloud", "plimbo.app"),
];

/// A simulated market: the provider with its true rates, the catalog that finds what it
/// writes, and the prompts asked.
struct Market {
    sim: Simulated,
    extractor: DictionaryExtractor,
    catalog: BrandCatalog,
    prompts: Vec<String>,
    spec: ExperimentSpec,
}

impl Market {
    /// `rates[b]`: brand b's base true visibility; `prompt_rates[g][b]`, when given, brand b's
    /// true visibility in answers to prompt g (one prompt otherwise).
    fn new(seed: u64, rates: &[f64], prompt_rates: Option<&[Vec<f64>]>) -> Self {
        let brands: Vec<BrandBehavior> = rates
            .iter()
            .zip(BRANDS)
            .map(|(&p, (name, alias, domain))| BrandBehavior::new(name, p).aliases([alias]).domain(domain))
            .collect();
        let prompt_count = prompt_rates.map_or(1, <[Vec<f64>]>::len);
        let prompts: Vec<String> = (0..prompt_count)
            .map(|g| format!("Which CRM should a team of {} people pick?", g + 2))
            .collect();
        let mut config = SimulatedConfig::new("simulated", seed)
            .brands(brands)
            .citation_probability(0.0);
        if let Some(prompt_rates) = prompt_rates {
            for (prompt, rates) in prompts.iter().zip(prompt_rates) {
                for (&p, (name, _, _)) in rates.iter().zip(BRANDS) {
                    config = config.prompt_override(prompt.clone(), name, p);
                }
            }
        }
        let specs = config.brand_specs(BRANDS[0].0);
        let catalog = BrandCatalog::new(specs.clone()).expect("catalog");
        let extractor = DictionaryExtractor::new(catalog.clone()).expect("extractor");
        let spec = ExperimentSpec {
            name: "simulated coverage".into(),
            prompts: prompts.clone(),
            brands: specs,
            targets: vec![Target::new("simulated", MODEL)],
            repeats: 1,
            system_prompt: None,
            temperature: None,
            max_output_tokens: None,
            web_search: false,
        };
        Self {
            sim: Simulated::new(config).expect("simulator"),
            extractor,
            catalog,
            prompts,
            spec,
        }
    }

    /// The answer to sample `repeat` of prompt `prompt`, as the engine stores it: the
    /// provider's answer and the extractor's mentions.
    fn ask(&self, prompt: usize, repeat: u32) -> SampleRecord {
        let mut request = ChatRequest::new(MODEL, self.prompts[prompt].clone());
        request.seed = Some((prompt as u64) << 32 | u64::from(repeat));
        let answer = futures::executor::block_on(self.sim.complete(&request)).expect("no failures are configured");
        let mentions: Vec<Mention> = self.extractor.extract(&answer.text);
        SampleRecord {
            sample: Sample {
                id: SampleId::new(),
                run_id: RunId::new(),
                target: self.spec.targets[0].clone(),
                prompt_index: prompt as u32,
                repeat_index: repeat,
                status: SampleStatus::Succeeded,
                attempt: 1,
                raw_answer: None,
                answer_sha256: None,
                served_model: None,
                request_id: None,
                finish_reason: None,
                input_tokens: None,
                output_tokens: None,
                latency_ms: None,
                cost_usd: None,
                error_class: None,
                error_message: None,
                completed_at: None,
                anonymized_at: None,
                redactions: None,
            },
            mentions,
            citations: answer.citations,
        }
    }

    /// The report of these answers, computed by the engine's report code.
    fn report(&self, records: &[SampleRecord]) -> Report {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("time");
        let run = Run {
            id: RunId::new(),
            account_id: AccountId::new(),
            experiment_id: ExperimentId::new(),
            spec: self.spec.clone(),
            status: RunStatus::Completed,
            planned_samples: records.len() as u64,
            seed: 0,
            created_at: now,
            started_at: None,
            finished_at: None,
            adaptive: None,
            correlation_id: None,
        };
        let counts = SampleCounts {
            succeeded: records.len() as u64,
            ..SampleCounts::default()
        };
        build_report(&run, counts, records, &self.catalog, now)
    }

    /// The catalog indexes of the brands an answer names (what the engine's adaptive look
    /// counts).
    fn named(&self, record: &SampleRecord) -> Vec<usize> {
        record
            .mentions
            .iter()
            .filter_map(|m| self.catalog.index_of(&m.brand))
            .collect()
    }

    fn true_visibility(&self, brand: usize) -> f64 {
        self.sim
            .true_visibility(MODEL, BRANDS[brand].0)
            .expect("configured brand")
    }
}

/// Coverage tallies, overall and by band of true rate.
#[derive(Default)]
struct Tally {
    runs: u64,
    answers: u64,
    intervals: u64,
    covered: u64,
    width: f64,
    /// (intervals, covered) for true rates < 0.1, 0.1–0.9, > 0.9.
    bands: [(u64, u64); 3],
}

impl Tally {
    fn add(&mut self, interval: Interval, truth: f64) {
        let hit = interval.contains(truth);
        self.intervals += 1;
        self.covered += u64::from(hit);
        self.width += interval.half_width();
        let band = if truth < 0.1 {
            0
        } else if truth <= 0.9 {
            1
        } else {
            2
        };
        self.bands[band].0 += 1;
        self.bands[band].1 += u64::from(hit);
    }

    fn coverage(&self) -> f64 {
        self.covered as f64 / self.intervals as f64
    }

    fn print(&self, label: &str) {
        let band = |(n, c): (u64, u64)| {
            if n == 0 {
                "—".to_string()
            } else {
                format!("{:.1}% ({n})", 100.0 * c as f64 / n as f64)
            }
        };
        println!(
            "| {label} | {} | {} | {:.1} | {:.2}% | ±{:.3} | {} | {} | {} |",
            self.runs,
            self.intervals,
            self.answers as f64 / self.runs as f64,
            100.0 * self.coverage(),
            self.width / self.intervals as f64,
            band(self.bands[0]),
            band(self.bands[1]),
            band(self.bands[2]),
        );
    }

    fn assert_nominal(&self, what: &str) {
        assert!(self.runs >= 1_000, "{what}: {} runs", self.runs);
        let c = self.coverage();
        assert!(
            (0.93..=0.97).contains(&c),
            "{what}: coverage {c:.4} over {} intervals is outside 95 ± 2%",
            self.intervals
        );
    }
}

fn header(title: &str) {
    println!("\n{title}\n");
    println!("| setting | runs | intervals | mean answers | coverage | mean ± | rate < 0.1 | 0.1–0.9 | > 0.9 |");
    println!("|---|---|---|---|---|---|---|---|---|");
}

/// True rates of a run's brands: uniform on 0.02…0.98.
fn rates(rng: &mut ChaCha8Rng, brands: usize) -> Vec<f64> {
    (0..brands).map(|_| rng.random_range(0.02..=0.98)).collect()
}

/// Runs per check (≥ 1,000 for the assertions; more for a study via `ECHO_SIM_COVERAGE_RUNS`).
fn runs() -> u64 {
    std::env::var("ECHO_SIM_COVERAGE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Fixed-n runs: n ∈ {20, 50, 100, 200} answers, three brands with rates uniform on
/// 0.02…0.98; the report's Wilson interval of each brand's visibility.
#[test]
fn fixed_n_wilson_through_the_simulator() {
    let sizes = [20u32, 50, 100, 200];
    let mut rng = ChaCha8Rng::seed_from_u64(0x51_0001);
    let mut all = Tally::default();
    let mut by_size: Vec<Tally> = sizes.iter().map(|_| Tally::default()).collect();
    for run in 0..runs() {
        let k = run as usize % sizes.len();
        let n = sizes[k];
        let truth = rates(&mut rng, 3);
        let market = Market::new(run, &truth, None);
        let records: Vec<SampleRecord> = (0..n).map(|r| market.ask(0, r)).collect();
        let report = market.report(&records);
        let group = &report.by_target[0];
        assert_eq!(group.answered, u64::from(n));
        for (b, metrics) in group.brands.iter().enumerate() {
            let p = market.true_visibility(b);
            assert_eq!(p, truth[b]);
            all.add(metrics.visibility.interval, p);
            by_size[k].add(metrics.visibility.interval, p);
        }
        for t in [&mut all, &mut by_size[k]] {
            t.runs += 1;
            t.answers += u64::from(n);
        }
    }
    header("Fixed-n Wilson through the Simulated provider (3 brands per run, rates uniform 0.02…0.98)");
    for (n, t) in sizes.iter().zip(&by_size) {
        t.print(&format!("n = {n}"));
    }
    all.print("all");
    all.assert_nominal("fixed-n Wilson");
}

/// One adaptive run of one target with the engine's wave schedule (`engine/adaptive.rs`):
/// a first wave of `min_samples`, then after each wave the rule decides on all answers so
/// far; `Continue` → a wave of half the rule's estimate of what remains (at least 5),
/// within `max_samples`. Returns the answers.
fn adaptive_run(market: &Market, rule: &StoppingRule) -> Vec<SampleRecord> {
    let goal = rule.goal();
    let mut counts = TargetCounts::new(market.catalog.len());
    let mut records = Vec::new();
    let mut wave = goal.min_samples;
    loop {
        for _ in 0..wave {
            let record = market.ask(0, records.len() as u32);
            counts.record_answer(market.named(&record));
            records.push(record);
        }
        match rule.decide(&counts) {
            Decision::Stop { .. } => return records,
            Decision::Continue {
                estimated_remaining, ..
            } => {
                wave = (estimated_remaining / 2).max(5).min(goal.max_samples - counts.answered);
            }
        }
    }
}

/// Adaptive runs with the default rule (`SequentialMethod::Wilson`, min 20 answers), goals
/// ±0.10 (at most 93 answers) and ±0.075 (at most 168), one or two brands per run with
/// rates uniform on 0.02…0.98; the report's Wilson interval at the stop.
#[test]
fn adaptive_stopping_rule_through_the_simulator() {
    let goals = [0.1, 0.075];
    let mut rng = ChaCha8Rng::seed_from_u64(0x51_0002);
    let mut all = Tally::default();
    let mut by_goal: Vec<Tally> = goals.iter().map(|_| Tally::default()).collect();
    for run in 0..runs() {
        let k = run as usize % goals.len();
        let rule = StoppingRule::new(AdaptiveGoal::new(goals[k]).unwrap()).unwrap();
        let brands = 1 + (run as usize / goals.len()) % 2;
        let truth = rates(&mut rng, brands);
        let market = Market::new(1_000_000 + run, &truth, None);
        let records = adaptive_run(&market, &rule);
        let report = market.report(&records);
        let group = &report.by_target[0];
        for (b, metrics) in group.brands.iter().enumerate() {
            // The rule's interval at a 95% goal is the report's, bit for bit.
            assert_eq!(
                rule.interval(metrics.visibility.successes, metrics.visibility.trials),
                metrics.visibility.interval
            );
            all.add(metrics.visibility.interval, market.true_visibility(b));
            by_goal[k].add(metrics.visibility.interval, market.true_visibility(b));
        }
        for t in [&mut all, &mut by_goal[k]] {
            t.runs += 1;
            t.answers += records.len() as u64;
        }
    }
    header("Adaptive stopping rule (default Wilson, min 20, engine waves) through the Simulated provider");
    for (h, t) in goals.iter().zip(&by_goal) {
        t.print(&format!("±{h}"));
    }
    all.print("all");
    all.assert_nominal("adaptive stopping rule");
}

/// Multi-prompt roll-ups: G ∈ {10, 20} prompts × m ∈ {10, 20} answers each, one brand whose
/// mean rate over prompts is uniform on 0.02…0.98 and whose rate in each prompt is drawn
/// from a Beta with that mean and intra-prompt correlation ICC ∈ {0.02, 0.05, 0.1}; the
/// `by_target` roll-up's `visibility_clustered` against the mean rate.
#[test]
fn clustered_rollup_through_the_simulator() {
    let settings: Vec<(usize, u32, f64)> = [10usize, 20]
        .into_iter()
        .flat_map(|g| {
            [10u32, 20]
                .into_iter()
                .flat_map(move |m| [0.02, 0.05, 0.1].map(|icc| (g, m, icc)))
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0x51_0003);
    let mut all = Tally::default();
    let mut by_setting: Vec<Tally> = settings.iter().map(|_| Tally::default()).collect();
    let (mut unflagged, mut flagged) = (Tally::default(), Tally::default());
    for run in 0..runs() {
        let k = run as usize % settings.len();
        let (prompts, repeats, icc) = settings[k];
        let mean = rng.random_range(0.02..=0.98);
        let shape = (1.0 - icc) / icc;
        let beta = Beta::new(mean * shape, (1.0 - mean) * shape).unwrap();
        let prompt_rates: Vec<Vec<f64>> = (0..prompts).map(|_| vec![beta.sample(&mut rng)]).collect();
        let market = Market::new(2_000_000 + run, &[mean], Some(&prompt_rates));
        let records: Vec<SampleRecord> = (0..prompts)
            .flat_map(|g| (0..repeats).map(move |r| (g, r)))
            .map(|(g, r)| market.ask(g, r))
            .collect();
        let report = market.report(&records);
        let clustered = report.by_target[0].brands[0]
            .visibility_clustered
            .expect("a roll-up over several prompts has a clustered interval");
        all.add(clustered.interval, mean);
        by_setting[k].add(clustered.interval, mean);
        // The report's caveats are those of its prompts' counts.
        let counts: Vec<(u64, u64)> = report
            .cells
            .iter()
            .map(|c| (c.brands[0].visibility.successes, c.brands[0].visibility.trials))
            .collect();
        let caveat = clustered_caveat(&counts);
        assert_eq!(clustered_caveats(&report).len(), 2 * usize::from(caveat.is_some()));
        let split = match caveat {
            None => &mut unflagged,
            Some(c) => {
                assert!(matches!(c, ClusteredCaveat::FewInformativePrompts { .. }), "{c:?}");
                &mut flagged
            }
        };
        split.add(clustered.interval, mean);
        split.runs += 1;
        split.answers += records.len() as u64;
        for t in [&mut all, &mut by_setting[k]] {
            t.runs += 1;
            t.answers += records.len() as u64;
        }
    }
    header("Clustered roll-up (visibility_clustered of by_target) through the Simulated provider");
    for ((g, m, icc), t) in settings.iter().zip(&by_setting) {
        t.print(&format!("{g} prompts × {m}, ICC {icc}"));
    }
    all.print("all");
    unflagged.print("no caveat");
    flagged.print("few informative prompts");
    all.assert_nominal("clustered roll-up");
}

/// A roll-up over 3 prompts carries the few-prompts caveat, overall and per target.
#[test]
fn few_prompt_rollups_carry_a_caveat() {
    let prompt_rates = vec![vec![0.3, 0.5, 0.02]; 3];
    let market = Market::new(7, &[0.3, 0.5, 0.02], Some(&prompt_rates));
    let records: Vec<SampleRecord> = (0..3)
        .flat_map(|g| (0..20).map(move |r| (g, r)))
        .map(|(g, r)| market.ask(g, r))
        .collect();
    let report = market.report(&records);
    let caveats = clustered_caveats(&report);
    for brand in ["Zentrix", "Quorvex"] {
        for target in [None, Some(market.spec.targets[0].clone())] {
            let c = caveats.iter().find(|c| c.brand == brand && c.target == target).unwrap();
            assert_eq!(c.caveat, ClusteredCaveat::FewPrompts { clusters: 3 });
        }
    }
    // Named in about 1 answer of 50: fewer than 5 prompts name it.
    let rare = caveats.iter().find(|c| c.brand == "Plimbo").unwrap();
    assert!(matches!(rare.caveat, ClusteredCaveat::FewInformativePrompts { informative } if informative <= 3));
}
