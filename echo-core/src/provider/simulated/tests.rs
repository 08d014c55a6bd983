//! Tests of the simulator against its own ground truth. Every check is extraction-free:
//! brands are found by whole-word search for their configured surface forms.

use std::time::Duration;

use super::vocabulary::{Vocabulary, contains_word};
use super::*;
use crate::ErrorKind;

const PROMPT: &str = "What is the best CRM for a 10-person startup?";

fn demo() -> Simulated {
    Simulated::new(SimulatedConfig::crm_demo(42)).unwrap()
}

fn request(model: &str, seed: u64) -> ChatRequest {
    ChatRequest {
        seed: Some(seed),
        ..ChatRequest::new(model, PROMPT)
    }
}

/// Whether any surface form of `brand` occurs in `text` as whole words.
fn names(text: &str, brand: &BrandBehavior, case_blind: bool) -> bool {
    if case_blind {
        let lower = text.to_lowercase();
        brand.surface_forms().any(|f| contains_word(&lower, &f.to_lowercase()))
    } else {
        brand.surface_forms().any(|f| contains_word(text, f))
    }
}

/// Byte offset of the first whole-word occurrence of any surface form of `brand`.
fn first_position(text: &str, brand: &BrandBehavior) -> Option<usize> {
    brand
        .surface_forms()
        .filter_map(|f| {
            text.match_indices(f).map(|(i, _)| i).find(|&i| {
                let before = text[..i].chars().next_back();
                let after = text[i + f.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
            })
        })
        .min()
}

fn frequency(sim: &Simulated, model: &str, brand: &str, n: u64) -> f64 {
    let behavior = sim.config().brands.iter().find(|b| b.name == brand).unwrap();
    let hits = (0..n)
        .filter(|&s| names(&sim.generate(&request(model, s)).text, behavior, false))
        .count();
    hits as f64 / n as f64
}

#[test]
fn same_inputs_give_identical_answers() {
    let a = demo();
    let b = demo();
    for seed in 0..50 {
        let ra = a.generate(&request("gpt-sim", seed));
        let rb = b.generate(&request("gpt-sim", seed));
        assert_eq!(ra, rb);
    }
}

#[test]
fn seeds_models_and_prompts_change_answers() {
    let sim = demo();
    let base = sim.generate(&request("gpt-sim", 1)).text;
    assert_ne!(base, sim.generate(&request("gpt-sim", 2)).text);
    assert_ne!(base, sim.generate(&request("other-model", 1)).text);
    let other_prompt = ChatRequest {
        seed: Some(1),
        ..ChatRequest::new("gpt-sim", "Which CRM for an agency?")
    };
    assert_ne!(base, sim.generate(&other_prompt).text);
    let other_config = Simulated::new(SimulatedConfig::crm_demo(43)).unwrap();
    assert_ne!(base, other_config.generate(&request("gpt-sim", 1)).text);
}

#[test]
fn unseeded_requests_are_reproducible_by_call_order() {
    let a = demo();
    let b = demo();
    let req = ChatRequest::new("gpt-sim", PROMPT);
    let first: Vec<String> = (0..20).map(|_| a.generate(&req).text).collect();
    let second: Vec<String> = (0..20).map(|_| b.generate(&req).text).collect();
    assert_eq!(first, second);
    let distinct: std::collections::HashSet<&String> = first.iter().collect();
    assert!(
        distinct.len() > 15,
        "unseeded answers should vary, got {} distinct of 20",
        distinct.len()
    );
}

#[test]
fn empirical_visibility_matches_the_configured_truth() {
    let sim = demo();
    for brand in ["HubSpot", "Zoho CRM", "Close", "Attio"] {
        let truth = sim.true_visibility("gpt-sim", brand).unwrap();
        let observed = frequency(&sim, "gpt-sim", brand, 2_000);
        assert!(
            (observed - truth).abs() <= 0.03,
            "{brand}: observed {observed:.3}, configured {truth}"
        );
    }
}

#[test]
fn model_overrides_give_each_target_its_own_truth() {
    let sim = demo();
    assert_eq!(sim.true_visibility("gpt-sim", "Salesforce"), Some(0.62));
    assert_eq!(sim.true_visibility("sim-enterprise", "Salesforce"), Some(0.85));
    assert_eq!(sim.true_visibility("sim-enterprise", "Zoho CRM"), Some(0.45));
    assert_eq!(sim.true_visibility("gpt-sim", "Nobody"), None);
    for (model, brand) in [
        ("sim-enterprise", "Salesforce"),
        ("sim-enterprise", "HubSpot"),
        ("gpt-sim", "Salesforce"),
    ] {
        let truth = sim.true_visibility(model, brand).unwrap();
        let observed = frequency(&sim, model, brand, 2_000);
        assert!(
            (observed - truth).abs() <= 0.03,
            "{model}/{brand}: observed {observed:.3}, configured {truth}"
        );
    }
}

#[test]
fn the_most_specific_override_wins() {
    let config = SimulatedConfig::new("sim", 1)
        .brand(BrandBehavior::new("Acme", 0.5))
        .model_override("m1", "Acme", 0.1)
        .prompt_override("  Q?  ", "Acme", 0.2)
        .probability_override(ProbabilityOverride {
            model: Some("m1".into()),
            prompt: Some("Q?".into()),
            brand: "Acme".into(),
            probability: 0.3,
        });
    let sim = Simulated::new(config).unwrap();
    assert_eq!(sim.true_visibility("m2", "Acme"), Some(0.5));
    assert_eq!(sim.true_visibility("m1", "Acme"), Some(0.1));
    assert_eq!(sim.true_visibility_for_prompt("m2", "Q?", "Acme"), Some(0.2));
    assert_eq!(sim.true_visibility_for_prompt("m1", " Q? ", "Acme"), Some(0.3));
    assert_eq!(sim.true_visibility_for_prompt("m1", "Other?", "Acme"), Some(0.1));
}

#[test]
fn text_names_exactly_the_chosen_brands_in_the_chosen_order() {
    let sim = demo();
    let brands = &sim.config().brands;
    for seed in 0..3_000 {
        let model = if seed % 2 == 0 { "gpt-sim" } else { "sim-enterprise" };
        let draft = sim.draft(&request(model, seed));
        for (i, brand) in brands.iter().enumerate() {
            if draft.named.contains(&i) {
                assert!(
                    names(&draft.text, brand, false),
                    "seed {seed}: chosen {} missing:\n{}",
                    brand.name,
                    draft.text
                );
            } else {
                assert!(
                    !names(&draft.text, brand, true),
                    "seed {seed}: {} leaked:\n{}",
                    brand.name,
                    draft.text
                );
            }
        }
        let mut by_position: Vec<(usize, usize)> = draft
            .named
            .iter()
            .map(|&i| (first_position(&draft.text, &brands[i]).unwrap(), i))
            .collect();
        by_position.sort_unstable();
        let order: Vec<usize> = by_position.into_iter().map(|(_, i)| i).collect();
        assert_eq!(
            order, draft.named,
            "seed {seed}: first mentions out of order:\n{}",
            draft.text
        );
    }
}

#[test]
fn the_demo_vocabulary_loses_no_phrase_to_its_brands() {
    let vocab = Vocabulary::for_brands(&SimulatedConfig::crm_demo(0).brands).unwrap();
    assert_eq!(vocab.len(), Vocabulary::full_len());
}

#[test]
fn rank_weights_order_first_mentions() {
    let config = SimulatedConfig::new("sim", 9)
        .brand(BrandBehavior::new("Alpha", 1.0).rank_weight(3.0))
        .brand(BrandBehavior::new("Bravo", 1.0).rank_weight(1.0));
    let sim = Simulated::new(config).unwrap();
    let n = 2_000;
    let alpha_first = (0..n).filter(|&s| sim.draft(&request("m", s)).named[0] == 0).count();
    let share = alpha_first as f64 / n as f64;
    assert!(
        (share - 0.75).abs() <= 0.03,
        "Alpha first in {share:.3} of answers, expected 0.75"
    );
}

#[test]
fn answers_have_the_variety_of_real_answers() {
    let sim = demo();
    let texts: Vec<String> = (0..600).map(|s| sim.generate(&request("gpt-sim", s)).text).collect();
    let any = |pred: &dyn Fn(&str) -> bool| texts.iter().any(|t| pred(t));
    assert!(any(&|t| t.contains("\n1. ") || t.starts_with("1. ")), "numbered lists");
    assert!(any(&|t| t.contains("\n- ") || t.contains("\n* ")), "bulleted lists");
    assert!(any(&|t| t.contains("### ")), "headings");
    assert!(
        any(&|t| !t.contains("\n1. ") && !t.contains("\n- ") && !t.contains("###")),
        "prose"
    );
    assert!(any(&|t| t.contains("**HubSpot**")), "bold names");
    assert!(
        any(&|t| t.contains("HubSpot's") || t.contains("Salesforce's")),
        "possessives"
    );
    assert!(
        any(&|t| t.contains("HubSpot CRM") || t.contains("Sales Cloud")),
        "aliases"
    );
    assert!(
        any(&|t| t.contains("hubspot.com") || t.contains("pipedrive.com")),
        "domains"
    );
    assert!(any(&|t| t.matches("HubSpot").count() >= 2), "repeated mentions");
    let with_citations = (0..600)
        .filter(|&s| !sim.generate(&request("gpt-sim", s)).citations.is_empty())
        .count();
    let share = with_citations as f64 / 600.0;
    assert!(
        (share - 0.3).abs() < 0.06,
        "citations on {share:.3} of answers, configured 0.3"
    );
}

#[test]
fn responses_carry_plausible_metadata() {
    let sim = demo();
    let req = request("gpt-sim", 5);
    let resp = sim.generate(&req);
    assert_eq!(resp.served_model.as_deref(), Some("gpt-sim"));
    assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
    let id = resp.request_id.unwrap();
    assert!(id.starts_with("sim-") && id.len() == 20, "{id}");
    let out = resp.usage.output_tokens.unwrap();
    assert_eq!(out, (resp.text.chars().count() as u64).div_ceil(4));
    assert_eq!(
        resp.usage.input_tokens,
        Some((PROMPT.chars().count() as u64).div_ceil(4))
    );
    assert_eq!(resp.usage.cached_input_tokens, None);
    assert_eq!(sim.limits().max_concurrency, 64);
    assert_eq!(sim.id(), "simulated");
    assert!(!sim.is_replay());
}

#[tokio::test]
async fn failures_follow_the_configured_rates_and_retries_get_the_same_answer() {
    let config = SimulatedConfig::crm_demo(3).failures(FailureRates::new(0.10, 0.05, 0.05));
    let sim = Simulated::new(config).unwrap();
    let reliable = Simulated::new(SimulatedConfig::crm_demo(3)).unwrap();
    let (mut ok, mut limited, mut server, mut timeout) = (0, 0, 0, 0);
    let n = 4_000;
    for seed in 0..n {
        let req = ChatRequest {
            seed: Some(seed),
            ..ChatRequest::new("gpt-sim", PROMPT)
        };
        match sim.complete(&req).await {
            Ok(resp) => {
                ok += 1;
                // Content ignores the failure stream: same as a provider that never fails.
                assert_eq!(resp.text, reliable.generate(&req).text);
            }
            Err(LlmError::RateLimited {
                retry_after: Some(after),
                ..
            }) => {
                assert!(after <= Duration::from_millis(50));
                limited += 1;
            }
            Err(LlmError::Server {
                status: Some(status), ..
            }) => {
                assert!([500, 502, 503].contains(&status));
                server += 1;
            }
            Err(LlmError::Timeout(waited)) => {
                assert_eq!(waited, Duration::ZERO, "zero latency: a timeout must not wait");
                timeout += 1;
            }
            Err(other) => panic!("unexpected failure {other:?}"),
        }
    }
    let rate = |k: i32| f64::from(k) / n as f64;
    assert!((rate(limited) - 0.10).abs() < 0.02, "rate limited {}", rate(limited));
    assert!((rate(server) - 0.05).abs() < 0.015, "server {}", rate(server));
    assert!((rate(timeout) - 0.05).abs() < 0.015, "timeout {}", rate(timeout));
    assert_eq!(ok + limited + server + timeout, n as i32);

    // A transient failure is followed, on retry of the very same request, by the answer
    // the sample would have had anyway.
    let req = request("gpt-sim", 77);
    let mut attempts = 0;
    let answer = loop {
        attempts += 1;
        match sim.complete(&req).await {
            Ok(resp) => break resp,
            Err(e) => assert!(e.is_transient() && attempts < 50, "{e:?}"),
        }
    };
    assert_eq!(answer.text, reliable.generate(&req).text);
}

#[tokio::test(start_paused = true)]
async fn zero_latency_never_sleeps() {
    let sim = demo();
    let start = tokio::time::Instant::now();
    for seed in 0..100 {
        let resp = sim.complete(&request("gpt-sim", seed)).await.unwrap();
        assert_eq!(resp.latency, Duration::ZERO);
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn latency_is_slept_and_reported() {
    let fixed = SimulatedConfig::crm_demo(1).latency(LatencyModel::new(Duration::from_millis(100), 0.0));
    let sim = Simulated::new(fixed).unwrap();
    let start = tokio::time::Instant::now();
    let resp = sim.complete(&request("gpt-sim", 1)).await.unwrap();
    assert_eq!(resp.latency, Duration::from_millis(100));
    assert_eq!(start.elapsed(), Duration::from_millis(100));

    // Log-normal: the median of many draws sits near the configured median.
    let spread = SimulatedConfig::crm_demo(1).latency(LatencyModel::new(Duration::from_millis(200), 0.5));
    let sim = Simulated::new(spread).unwrap();
    let mut draws = Vec::new();
    for seed in 0..401 {
        draws.push(sim.complete(&request("gpt-sim", seed)).await.unwrap().latency);
    }
    draws.sort_unstable();
    let median = draws[200].as_secs_f64();
    assert!((median - 0.2).abs() < 0.03, "median latency {median}");
    assert!(draws[0] < Duration::from_millis(150) && draws[400] > Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn injected_timeouts_wait_at_most_the_cap() {
    let config = SimulatedConfig::crm_demo(1)
        .latency(LatencyModel::new(Duration::from_secs(2), 0.0))
        .failures(FailureRates::new(0.0, 0.0, 1.0))
        .max_timeout_wait(Duration::from_millis(30));
    let sim = Simulated::new(config).unwrap();
    let start = tokio::time::Instant::now();
    let err = sim.complete(&request("gpt-sim", 1)).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout(Duration::from_millis(30)));
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[test]
fn invalid_configurations_name_the_field() {
    let field = |config: SimulatedConfig| {
        let err = Simulated::new(config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        err.field().unwrap().to_string()
    };
    let base = || SimulatedConfig::new("sim", 0).brand(BrandBehavior::new("Acme", 0.5).domain("acme.com"));
    assert_eq!(field(SimulatedConfig::new(" ", 0)), "id");
    assert_eq!(field(base().brand(BrandBehavior::new("  ", 0.5))), "brands[1].name");
    assert_eq!(
        field(base().brand(BrandBehavior::new("B", f64::NAN))),
        "brands[1].mention_probability"
    );
    assert_eq!(
        field(base().brand(BrandBehavior::new("B", 1.5))),
        "brands[1].mention_probability"
    );
    assert_eq!(
        field(base().brand(BrandBehavior::new("B", 0.5).rank_weight(0.0))),
        "brands[1].rank_weight"
    );
    assert_eq!(
        field(base().brand(BrandBehavior::new("B", 0.5).aliases([""]))),
        "brands[1].aliases[0]"
    );
    assert_eq!(
        field(base().brand(BrandBehavior::new("B", 0.5).aliases(["ACME"]))),
        "brands[1].aliases[0]"
    );
    assert_eq!(
        field(base().brand(BrandBehavior::new("Acme Cloud", 0.5))),
        "brands[1].name"
    );
    assert_eq!(
        field(base().brand(BrandBehavior::new("B", 0.5).domain("a b"))),
        "brands[1].domain"
    );
    assert_eq!(field(base().citation_probability(-0.1)), "citation_probability");
    assert_eq!(field(base().failures(FailureRates::new(0.6, 0.6, 0.0))), "failures");
    assert_eq!(
        field(base().failures(FailureRates::new(0.0, f64::NAN, 0.0))),
        "failures.server_error"
    );
    assert_eq!(
        field(base().latency(LatencyModel::new(Duration::from_millis(5), -1.0))),
        "latency.sigma"
    );
    assert_eq!(field(base().max_concurrency(0)), "max_concurrency");
    assert_eq!(field(base().model_override("m", "Nobody", 0.5)), "overrides[0].brand");
    assert_eq!(
        field(base().model_override("m", "Acme", 2.0)),
        "overrides[0].probability"
    );
    assert!(Simulated::new(base()).is_ok());
}

#[test]
fn brand_specs_describe_what_the_simulator_writes() {
    let config = SimulatedConfig::crm_demo(0);
    let specs = config.brand_specs("HubSpot");
    assert_eq!(specs.len(), config.brands.len());
    let hubspot = &specs[0];
    assert_eq!(hubspot.role, crate::model::BrandRole::Target);
    assert_eq!(hubspot.aliases, vec!["HubSpot CRM".to_string()]);
    assert_eq!(hubspot.domains, vec!["hubspot.com".to_string()]);
    assert!(specs[1..].iter().all(|s| s.role == crate::model::BrandRole::Competitor));
}

#[test]
fn a_market_without_brands_still_answers() {
    let sim = Simulated::new(SimulatedConfig::new("sim", 0)).unwrap();
    let resp = sim.generate(&request("m", 1));
    assert!(resp.text.len() > 40, "{}", resp.text);
}
