//! A run's logs hold neither API keys nor answer text (issue 6), and do carry the ids a
//! reader follows the work by.
//!
//! A process-wide subscriber writes every event and span (Echo's and its dependencies',
//! at TRACE, span openings and closings included) as JSON into a buffer while an
//! experiment runs end to end against a local OpenAI-compatible server: the provider key
//! travels in real request headers, the answers carry a unique marker, the tenant
//! authenticates with an Echo API key, and a second run goes through a distributed worker.
//! No part of either key and no answer marker may appear in the captured output, and the
//! sample spans must carry the run id and the host's correlation id (so the test cannot
//! pass on an empty log).
//!
//! The subscriber is global, not scoped: scoped subscribers race over tracing's callsite
//! interest cache (see commit 1efff10). Both backends' tests share it; each looks for its
//! own unique markers and ids.

mod common;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::account;
use echo_core::auth::{NewApiKey, RequestContext, Scope};
use echo_core::engine::{Echo, EchoBuilder, RunOptions, WorkerConfig};
use echo_core::model::{BrandSpec, ExperimentSpec, RunId, RunStatus, Target};
use echo_core::provider::OpenAi;
use echo_core::provider::resilience::ResiliencePolicy;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tracing_subscriber::fmt::format::FmtSpan;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Everything the process logged, as JSON lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The process-wide capture, installed by whichever test comes first.
fn captured() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_current_span(true)
            .with_span_list(true)
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
        logs
    })
    .clone()
}

/// OpenAI's defaults with millisecond backoff and no rate budgets.
fn fast_policy() -> ResiliencePolicy {
    ResiliencePolicy::for_provider("openai")
        .base_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .requests_per_minute(None)
        .tokens_per_minute(None)
}

/// An OpenAI Chat Completions answer whose text carries `marker`.
fn answer(marker: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": format!("1. **Acme** is a solid choice. {marker}"),
                        "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52}
    })
}

/// Lines of the capture that open or close a `sample` span of `run`, with that span's
/// fields.
fn sample_spans(logs: &str, run: RunId) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("span").cloned())
        .filter(|span| span["name"] == "sample" && span["run_id"] == run.to_string())
        .collect()
}

/// Any 12 consecutive characters of `secret` in `logs` would be a leak.
fn assert_no_part_of(logs: &str, secret: &str, what: &str) {
    for window in secret.as_bytes().windows(12) {
        let needle = std::str::from_utf8(window).unwrap();
        assert!(!logs.contains(needle), "the logs hold part of {what}: {needle:?}");
    }
}

async fn a_runs_logs_hold_no_key_and_no_answer(builder: EchoBuilder) {
    let logs = captured();
    // Each value its own random part: the correlation ids are meant to be logged, the
    // others must not share a character run with them.
    let unique = || uuid::Uuid::new_v4().simple().to_string();
    let answer_marker = format!("ANSWERMARKER{}", unique());
    let provider_key = format!("sk-PROVIDERKEY{}", unique());
    let correlation = format!("corr-{}", unique());
    let worker_correlation = format!("wcorr-{}", unique());

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {provider_key}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer(&answer_marker)))
        .mount(&server)
        .await;
    let openai = OpenAi::builder()
        .api_key(provider_key.clone())
        .base_url(format!("{}/v1", server.uri()))
        .build()
        .unwrap();
    let echo: Echo = builder
        .provider(openai)
        .resilience_policy("openai", fast_policy())
        .build()
        .await
        .unwrap();

    // The tenant works through an Echo API key; the host passes its correlation id with
    // the request.
    let owner = account(&echo, "logs").await;
    let created = echo
        .create_api_key(
            &owner,
            NewApiKey::new(
                "ci",
                [Scope::ExperimentsRead, Scope::ExperimentsWrite, Scope::RunsWrite],
            ),
        )
        .await
        .unwrap();
    let echo_key = created.secret.expose_secret().to_string();
    let me = echo
        .authenticate(&echo_key)
        .await
        .unwrap()
        .with_request(RequestContext {
            correlation_id: Some(correlation.clone()),
            ..Default::default()
        });
    let spec = ExperimentSpec {
        prompts: vec!["best widget vendor?".into(), "who makes widgets?".into()],
        brands: vec![BrandSpec::target("Acme")],
        targets: vec![Target::new("openai", "gpt-4o-mini")],
        ..common::spec(3)
    };
    let exp = echo.create_experiment(&me, spec).await.unwrap();

    // In process: the correlation id comes from the request context.
    let report = echo
        .start_run(&me, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!((report.status, report.counts.succeeded), (RunStatus::Completed, 6));
    assert_eq!(
        echo.get_run(&me, report.run_id)
            .await
            .unwrap()
            .correlation_id
            .as_deref(),
        Some(correlation.as_str()),
        "stored on the run"
    );
    // The answers did pass through this process and were stored.
    let records = echo.store().load_samples(me.account_id(), report.run_id).await.unwrap();
    assert!(
        records
            .iter()
            .all(|r| r.sample.raw_answer.as_deref().unwrap().contains(&answer_marker))
    );
    echo.report(&me, report.run_id).await.unwrap();
    echo.reanalyze(&me, report.run_id, vec![BrandSpec::target("Acme")])
        .await
        .unwrap();

    // Through a worker: an explicit correlation id in the options, read back from the
    // store by the worker that claims the samples.
    let queued = echo
        .enqueue_run(
            &me,
            exp.id,
            &RunOptions {
                correlation_id: Some(worker_correlation.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let worker = echo
        .worker(
            WorkerConfig::default()
                .concurrency(4)
                .poll_interval(Duration::from_millis(20))
                .run_scheduler(false),
        )
        .unwrap()
        .start();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !echo.get_run(&me, queued.id).await.unwrap().status.is_terminal() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never finished the run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.shutdown(Duration::from_secs(5)).await.unwrap();
    echo.close().await;

    let text = logs.text();
    assert!(!text.contains(&answer_marker), "the logs hold answer text");
    assert_no_part_of(&text, &provider_key["sk-".len()..], "the provider API key");
    assert_no_part_of(&text, &echo_key[10..], "the Echo API key");

    // Not vacuous: every sample's span was captured with the run's ids and correlation id.
    for (run, expected, samples) in [(report.run_id, &correlation, 6), (queued.id, &worker_correlation, 6)] {
        let spans = sample_spans(&text, run);
        assert!(spans.len() >= samples, "{} sample span lines of run {run}", spans.len());
        for span in &spans {
            assert_eq!(span["correlation_id"], expected.as_str(), "{span}");
            assert_eq!(span["account_id"], me.account_id().to_string(), "{span}");
            assert_eq!(span["experiment_id"], exp.id.to_string(), "{span}");
            assert!(span["sample_id"].as_str().is_some_and(|s| !s.is_empty()), "{span}");
        }
    }
    assert!(
        text.lines()
            .any(|l| l.contains("\"name\":\"run\"") && l.contains(&correlation)),
        "the run span carries the correlation id"
    );
}

common::on_both_backends!(a_runs_logs_hold_no_key_and_no_answer);
