//! A whole run against a local server speaking OpenAI's Chat Completions wire format,
//! with faults injected: every sample ends succeeded or failed with a recorded class;
//! none is lost or doubled.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use common::account;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{BrandSpec, ExperimentSpec, RunStatus, SampleStatus, Target};
use echo_core::provider::OpenAi;
use echo_core::provider::resilience::ResiliencePolicy;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// OpenAI's defaults with millisecond backoff and no rate budgets (the default 30,000
/// tokens/min would pace these tests at about one call per second).
fn fast_policy() -> ResiliencePolicy {
    ResiliencePolicy::for_provider("openai")
        .base_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .requests_per_minute(None)
        .tokens_per_minute(None)
}

/// One question, one tracked brand, asked `repeats` times of gpt-4o-mini.
fn one_question_to_openai(repeats: u32) -> ExperimentSpec {
    ExperimentSpec {
        prompts: vec!["q?".into()],
        brands: vec![BrandSpec::target("Acme")],
        targets: vec![Target::new("openai", "gpt-4o-mini")],
        ..common::spec(repeats)
    }
}

const BRANDS: [&str; 4] = ["Acme", "Globex", "Initech", "Umbrella"];

/// Answers like OpenAI, failing 10% of calls (429 with Retry-After or 500) from a call
/// counter, and records which request seeds got a 200.
struct FlakyOpenAi {
    calls: Mutex<u64>,
    answered: Mutex<HashMap<u64, u32>>,
}

impl Respond for FlakyOpenAi {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let call = {
            let mut c = self.calls.lock().unwrap();
            *c += 1;
            *c
        };
        // A fixed, spread-out pattern, 10% of calls: 7, 27, 47... are 429s; 13, 33, 53...
        // are 500s.
        match call % 20 {
            7 => {
                return ResponseTemplate::new(429)
                    .insert_header("retry-after-ms", "5")
                    .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}));
            }
            13 => {
                return ResponseTemplate::new(500).set_body_json(
                    json!({"error": {"message": "The server had an error", "type": "server_error", "code": null}}),
                );
            }
            _ => {}
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let seed = body["seed"].as_u64().unwrap();
        *self.answered.lock().unwrap().entry(seed).or_default() += 1;
        // Brand i is named when bit i of the seed is set: a pure function of the sample.
        let named: Vec<&str> = BRANDS
            .iter()
            .enumerate()
            .filter(|(i, _)| seed >> i & 1 == 1)
            .map(|(_, b)| *b)
            .collect();
        let text = if named.is_empty() {
            "It depends on your needs.".to_string()
        } else {
            named
                .iter()
                .enumerate()
                .map(|(i, b)| format!("{}. **{b}** is a solid choice.", i + 1))
                .collect::<Vec<_>>()
                .join("\n")
        };
        ResponseTemplate::new(200)
            .insert_header("x-request-id", format!("req_{call}"))
            .set_body_json(json!({
                "id": format!("chatcmpl-{call}"),
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": null, "annotations": []},
                    "logprobs": null,
                    "finish_reason": "stop"
                }],
                "usage": {
                    "prompt_tokens": 12,
                    "completion_tokens": 40,
                    "total_tokens": 52,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}
                },
                "service_tier": "default",
                "system_fingerprint": "fp_test"
            }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_against_a_faulty_openai_server_loses_and_doubles_nothing() {
    let server = MockServer::start().await;
    let responder = FlakyOpenAi {
        calls: Mutex::new(0),
        answered: Mutex::new(HashMap::new()),
    };
    let answered = std::sync::Arc::new(responder);
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test-key"))
        .respond_with(ArcResponder(answered.clone()))
        .mount(&server)
        .await;

    let openai = OpenAi::builder()
        .api_key("sk-test-key")
        .base_url(format!("{}/v1", server.uri()))
        .build()
        .unwrap();
    let policy = fast_policy().max_attempts(8);
    let echo = Echo::builder()
        .provider(openai)
        .resilience_policy("openai", policy)
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let spec = ExperimentSpec {
        prompts: vec!["best widget vendor?".into()],
        targets: vec![Target::new("openai", "gpt-4o-mini")],
        temperature: Some(0.7),
        max_output_tokens: Some(300),
        ..common::spec(400)
    };
    let exp = echo.create_experiment(&me, spec).await.unwrap();
    let report = echo
        .start_run(
            &me,
            exp.id,
            RunOptions {
                seed: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();

    let c = report.counts;
    assert_eq!(c.succeeded + c.failed, 400, "{c:?}");
    assert_eq!(c.pending + c.leased + c.cancelled, 0, "{c:?}");
    // One fault in ten calls and eight attempts each: every sample gets through.
    assert_eq!(c.succeeded, 400, "{c:?}");
    assert_eq!(report.status, RunStatus::Completed);

    let records = echo.store().load_samples(me.account_id(), report.run_id).await.unwrap();
    let answered = answered.answered.lock().unwrap().clone();
    assert_eq!(answered.len(), 400, "one 200 per sample seed");
    assert!(answered.values().all(|&n| n == 1), "no sample was answered twice");
    for r in &records {
        assert_eq!(r.sample.status, SampleStatus::Succeeded);
        assert_eq!(r.sample.served_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!((r.sample.input_tokens, r.sample.output_tokens), (Some(12), Some(40)));
        assert!(r.sample.request_id.as_deref().unwrap().starts_with("req_"));
        assert!(r.sample.cost_usd.unwrap() > 0.0, "gpt-4o-mini is priced");
    }
    // The provider's whole body is kept for later re-analysis.
    let raw = echo
        .store()
        .raw_response(me.account_id(), records[0].sample.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw["object"], "chat.completion");
    assert_eq!(raw["system_fingerprint"], "fp_test");
    // Faults are 2 calls in 20, so 400 answers take exactly 444 calls (22 blocks of 18
    // answers, then 4 more): every failed call was retried, no answered sample asked again.
    assert_eq!(server.received_requests().await.unwrap().len(), 444);
}

/// wiremock wants an owned `Respond`; share one behind an Arc to read its records after.
struct ArcResponder(std::sync::Arc<FlakyOpenAi>);

impl Respond for ArcResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_failures_are_not_retried_and_are_recorded_with_their_class() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}
        })))
        .mount(&server)
        .await;
    let openai = OpenAi::builder()
        .api_key("sk-test-key")
        .base_url(format!("{}/v1", server.uri()))
        .build()
        .unwrap();
    let echo = Echo::builder()
        .provider(openai)
        .resilience_policy("openai", fast_policy())
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let spec = one_question_to_openai(5);
    let exp = echo.create_experiment(&me, spec).await.unwrap();
    let report = echo
        .start_run(&me, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.counts.failed, 5);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        5,
        "a quota 429 is never retried"
    );
    let records = echo.store().load_samples(me.account_id(), report.run_id).await.unwrap();
    for r in records {
        assert_eq!(r.sample.error_class.as_deref(), Some("quota_exhausted"));
        assert!(!r.sample.error_message.unwrap().contains("sk-test-key"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_up_to_the_limit_then_the_sample_fails_with_its_class() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"message": "The server had an error while processing your request", "type": "server_error", "code": null}
        })))
        .mount(&server)
        .await;
    let openai = OpenAi::builder()
        .api_key("sk-test-key")
        .base_url(format!("{}/v1", server.uri()))
        .build()
        .unwrap();
    let policy = fast_policy().max_attempts(3);
    let echo = Echo::builder()
        .provider(openai)
        .resilience_policy("openai", policy)
        .build()
        .await
        .unwrap();
    let me = account(&echo, "a").await;
    let spec = one_question_to_openai(4);
    let exp = echo.create_experiment(&me, spec).await.unwrap();
    let report = echo
        .start_run(&me, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        4 * 3,
        "3 attempts per sample"
    );
    let records = echo.store().load_samples(me.account_id(), report.run_id).await.unwrap();
    for r in records {
        assert_eq!(r.sample.status, SampleStatus::Failed);
        assert_eq!(r.sample.error_class.as_deref(), Some("server"));
        assert!(r.sample.error_message.unwrap().contains("500"));
    }
}
