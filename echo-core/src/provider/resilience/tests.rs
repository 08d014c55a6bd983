//! Behaviour of the resilience layer on paused tokio time: every wait is asserted exactly.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::ErrorKind;
use crate::provider::{ChatRequest, ChatResponse, DynProvider, LlmError, Message, Provider, ProviderLimits};

/// A provider answering from a script (then `Ok` forever), recording when each call
/// started and how many were in flight at once.
#[derive(Debug, Default)]
struct Scripted {
    script: Mutex<VecDeque<Result<ChatResponse, LlmError>>>,
    /// Error returned once the script is empty, instead of an answer.
    forever: Option<LlmError>,
    delay: Duration,
    starts: Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Scripted {
    fn new(script: Vec<Result<ChatResponse, LlmError>>) -> Self {
        Self {
            script: Mutex::new(script.into()),
            ..Self::default()
        }
    }
    fn failing(error: LlmError) -> Self {
        Self {
            forever: Some(error),
            ..Self::default()
        }
    }
    fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
    fn calls(&self) -> usize {
        self.starts.lock().unwrap().len()
    }
    /// Call start times relative to `t0`.
    fn offsets(&self, t0: Instant) -> Vec<Duration> {
        self.starts.lock().unwrap().iter().map(|s| *s - t0).collect()
    }
}

#[async_trait::async_trait]
impl Provider for Scripted {
    fn id(&self) -> &str {
        "scripted"
    }
    fn limits(&self) -> ProviderLimits {
        ProviderLimits {
            max_concurrency: 32,
            requests_per_minute: Some(1_000),
        }
    }
    async fn complete(&self, _request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.starts.lock().unwrap().push(Instant::now());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let next = self.script.lock().unwrap().pop_front();
        match (next, &self.forever) {
            (Some(result), _) => result,
            (None, Some(error)) => Err(error.clone()),
            (None, None) => Ok(ChatResponse::text("fine")),
        }
    }
}

fn wrap(inner: &Arc<Scripted>, policy: ResiliencePolicy) -> Resilient {
    let inner: DynProvider = inner.clone();
    Resilient::new(inner, policy.jitter_seed(Some(7))).unwrap()
}

fn request() -> ChatRequest {
    ChatRequest::new("model-a", "best CRM?")
}

fn rate_limited(after: Option<Duration>) -> LlmError {
    LlmError::RateLimited {
        retry_after: after,
        message: "slow down".into(),
    }
}

fn server(status: u16) -> LlmError {
    LlmError::Server {
        status: Some(status),
        retry_after: None,
        message: "boom".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn success_first_time_makes_one_call_and_no_wait() {
    let inner = Arc::new(Scripted::default());
    let t0 = Instant::now();
    let answer = wrap(&inner, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(answer.text, "fine");
    assert_eq!(inner.calls(), 1);
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_exactly() {
    let inner = Arc::new(Scripted::new(vec![Err(rate_limited(Some(Duration::from_secs(3))))]));
    let t0 = Instant::now();
    let answer = wrap(&inner, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(answer.text, "fine");
    // max(3 s asked, jitter in [0, 500 ms]) = 3 s.
    assert_eq!(inner.offsets(t0), vec![Duration::ZERO, Duration::from_secs(3)]);
}

#[tokio::test(start_paused = true)]
async fn jittered_wait_is_the_seeded_draw() {
    let inner = Arc::new(Scripted::new(vec![Err(server(503)), Err(server(502))]));
    let t0 = Instant::now();
    wrap(&inner, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap();
    let expected = Backoff::new(Duration::from_millis(500), Duration::from_secs(20), Some(7));
    let first = expected.jittered(1);
    let second = expected.jittered(2);
    // tokio's timer has millisecond resolution: each sleep ends on the next millisecond.
    let offsets = inner.offsets(t0);
    assert_eq!(offsets.len(), 3);
    let close = |got: Duration, want: Duration| got >= want && got - want < Duration::from_millis(2);
    assert!(close(offsets[1], first), "{offsets:?} vs {first:?}");
    assert!(close(offsets[2], first + second), "{offsets:?} vs {:?}", first + second);
    assert!(first <= Duration::from_millis(500) && second <= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_up_to_max_attempts_then_returned_unchanged() {
    let inner = Arc::new(Scripted::failing(server(500)));
    let t0 = Instant::now();
    let error = wrap(&inner, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(error, server(500));
    assert_eq!(inner.calls(), 4);
    // Waits are bounded by the ceilings 0.5 + 1 + 2 s.
    assert!(t0.elapsed() <= Duration::from_millis(3_500));

    let inner = Arc::new(Scripted::failing(server(500)));
    let error = wrap(&inner, ResiliencePolicy::default().max_attempts(2))
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(error.class(), "server");
    assert_eq!(inner.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn final_classes_are_never_retried() {
    let finals = [
        LlmError::QuotaExhausted("insufficient_quota".into()),
        LlmError::Auth("bad key".into()),
        LlmError::InvalidRequest("bad".into()),
        LlmError::ContextLength("too long".into()),
        LlmError::ContentFiltered("no".into()),
        LlmError::Rejected {
            status: 418,
            message: "no".into(),
        },
        LlmError::Decode {
            message: "garbage".into(),
            body: "{".into(),
        },
    ];
    for error in finals {
        let inner = Arc::new(Scripted::failing(error.clone()));
        let t0 = Instant::now();
        let got = wrap(&inner, ResiliencePolicy::default())
            .complete(&request())
            .await
            .unwrap_err();
        assert_eq!(got, error);
        assert_eq!(inner.calls(), 1, "{} was retried", error.class());
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}

#[tokio::test(start_paused = true)]
async fn every_transient_class_is_retried() {
    let transients = [
        rate_limited(None),
        LlmError::Overloaded {
            retry_after: None,
            message: "busy".into(),
        },
        server(502),
        LlmError::Timeout(Duration::from_secs(1)),
        LlmError::Transport("reset".into()),
    ];
    for error in transients {
        let inner = Arc::new(Scripted::new(vec![Err(error.clone())]));
        wrap(&inner, ResiliencePolicy::default())
            .complete(&request())
            .await
            .unwrap();
        assert_eq!(inner.calls(), 2, "{} was not retried", error.class());
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_maximum_gives_up_at_once() {
    let error = rate_limited(Some(Duration::from_secs(61)));
    let inner = Arc::new(Scripted::new(vec![Err(error.clone())]));
    let t0 = Instant::now();
    let got = wrap(&inner, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(got, error);
    assert_eq!(inner.calls(), 1);
    assert_eq!(t0.elapsed(), Duration::ZERO);

    // Exactly the maximum is still honoured.
    let inner = Arc::new(Scripted::new(vec![Err(rate_limited(Some(Duration::from_secs(60))))]));
    wrap(&inner, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(inner.offsets(t0), vec![Duration::ZERO, Duration::from_secs(60)]);
}

#[tokio::test(start_paused = true)]
async fn a_slow_attempt_times_out_and_is_retried() {
    let inner = Arc::new(Scripted::default().delay(Duration::from_secs(10)));
    let policy = ResiliencePolicy::default()
        .attempt_timeout(Duration::from_secs(1))
        .max_attempts(2)
        .base_backoff(Duration::ZERO);
    let t0 = Instant::now();
    let error = wrap(&inner, policy).complete(&request()).await.unwrap_err();
    assert_eq!(error, LlmError::Timeout(Duration::from_secs(1)));
    assert_eq!(inner.calls(), 2);
    assert_eq!(t0.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn the_total_timeout_stops_retries_that_cannot_start_in_time() {
    let after_5s = LlmError::Server {
        status: Some(503),
        retry_after: Some(Duration::from_secs(5)),
        message: "later".into(),
    };
    let inner = Arc::new(Scripted::failing(after_5s.clone()));
    let policy = ResiliencePolicy::default()
        .max_attempts(10)
        .total_timeout(Some(Duration::from_secs(8)));
    let t0 = Instant::now();
    let error = wrap(&inner, policy).complete(&request()).await.unwrap_err();
    assert_eq!(error, after_5s);
    // Attempts at 0 s and 5 s; a third at 10 s would start after the 8 s deadline.
    assert_eq!(inner.offsets(t0), vec![Duration::ZERO, Duration::from_secs(5)]);
    assert_eq!(t0.elapsed(), Duration::from_secs(5));

    // A call still running at the deadline is cut there.
    let inner = Arc::new(Scripted::default().delay(Duration::from_secs(30)));
    let policy = ResiliencePolicy::default().total_timeout(Some(Duration::from_secs(8)));
    let t0 = Instant::now();
    let error = wrap(&inner, policy).complete(&request()).await.unwrap_err();
    assert_eq!(error, LlmError::Timeout(Duration::from_secs(8)));
    assert_eq!(t0.elapsed(), Duration::from_secs(8));
    assert_eq!(inner.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_cap_is_never_exceeded_and_is_reached() {
    let inner = Arc::new(Scripted::default().delay(Duration::from_millis(100)));
    let wrapper = Arc::new(wrap(&inner, ResiliencePolicy::default().max_concurrency(Some(3))));
    let t0 = Instant::now();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let w = wrapper.clone();
            tokio::spawn(async move { w.complete(&request()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(inner.max_in_flight.load(Ordering::SeqCst), 3);
    // 20 calls of 100 ms, three at a time: 7 waves.
    assert_eq!(t0.elapsed(), Duration::from_millis(700));
}

#[tokio::test(start_paused = true)]
async fn the_slot_is_released_while_backing_off() {
    let inner = Arc::new(Scripted::new(vec![Err(rate_limited(Some(Duration::from_secs(10))))]));
    let wrapper = Arc::new(wrap(&inner, ResiliencePolicy::default().max_concurrency(Some(1))));
    let t0 = Instant::now();
    let first = {
        let w = wrapper.clone();
        tokio::spawn(async move { w.complete(&request()).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    wrapper.complete(&request()).await.unwrap();
    // The second call ran while the first was backing off (the slot was free).
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
    first.await.unwrap().unwrap();
    assert_eq!(
        inner.offsets(t0),
        vec![Duration::ZERO, Duration::from_secs(1), Duration::from_secs(10)]
    );
}

#[tokio::test(start_paused = true)]
async fn requests_per_minute_paces_calls() {
    let inner = Arc::new(Scripted::default());
    // 60 per minute with a one-second burst: one call per second.
    let wrapper = wrap(&inner, ResiliencePolicy::default().requests_per_minute(Some(60)));
    let t0 = Instant::now();
    for _ in 0..5 {
        wrapper.complete(&request()).await.unwrap();
    }
    let expected: Vec<_> = (0..5).map(Duration::from_secs).collect();
    assert_eq!(inner.offsets(t0), expected);
}

#[tokio::test(start_paused = true)]
async fn retries_count_against_the_request_budget() {
    let inner = Arc::new(Scripted::new(vec![Err(rate_limited(Some(Duration::ZERO)))]));
    let policy = ResiliencePolicy::default()
        .requests_per_minute(Some(60))
        .base_backoff(Duration::ZERO);
    let t0 = Instant::now();
    wrap(&inner, policy).complete(&request()).await.unwrap();
    assert_eq!(inner.offsets(t0), vec![Duration::ZERO, Duration::from_secs(1)]);
}

#[tokio::test(start_paused = true)]
async fn tokens_per_minute_paces_calls_by_estimated_cost() {
    let inner = Arc::new(Scripted::default());
    // 6,000 tokens/min = 100 per second, burst 100. Each request: 400 chars -> 100 tokens
    // of prompt + 100 of output = 200 tokens, i.e. two seconds of budget.
    let policy = ResiliencePolicy::default().tokens_per_minute(Some(6_000));
    let wrapper = wrap(&inner, policy);
    let mut req = ChatRequest::new("model-a", "x".repeat(400));
    req.max_output_tokens = Some(100);
    assert_eq!(estimate_tokens(&req, 512), 200);
    let t0 = Instant::now();
    for _ in 0..4 {
        wrapper.complete(&req).await.unwrap();
    }
    // The first 100 are the burst; every further 100 take a second.
    let expected: Vec<_> = [1, 3, 5, 7].into_iter().map(Duration::from_secs).collect();
    assert_eq!(inner.offsets(t0), expected);
}

#[tokio::test(start_paused = true)]
async fn a_request_bigger_than_the_token_burst_is_admitted_alone() {
    let inner = Arc::new(Scripted::default());
    // 1,200 tokens/min with the whole minute as burst; a 3,000-token request exceeds it.
    let policy = ResiliencePolicy::default()
        .tokens_per_minute(Some(1_200))
        .burst_window(Duration::from_secs(60))
        .default_output_tokens_estimate(3_000);
    let wrapper = wrap(&inner, policy);
    let req = ChatRequest::new("model-a", "");
    let t0 = Instant::now();
    wrapper.complete(&req).await.unwrap();
    // 1,200 at once, the other 1,800 earned at 20 per second: 90 s.
    assert_eq!(inner.offsets(t0), vec![Duration::from_secs(90)]);
}

#[tokio::test(start_paused = true)]
async fn budgets_are_per_model() {
    let inner = Arc::new(Scripted::default());
    let policy = ResiliencePolicy::default()
        .requests_per_minute(Some(1))
        .model_rates("model-b", ModelRates::new(Some(60), None));
    let wrapper = wrap(&inner, policy);
    let t0 = Instant::now();
    wrapper.complete(&request()).await.unwrap();
    // model-a's budget is spent for a minute; model-b has its own, faster one.
    let b = ChatRequest::new("model-b", "q");
    wrapper.complete(&b).await.unwrap();
    wrapper.complete(&b).await.unwrap();
    wrapper.complete(&request()).await.unwrap();
    assert_eq!(
        inner.offsets(t0),
        vec![
            Duration::ZERO,
            Duration::ZERO,
            Duration::from_secs(1),
            Duration::from_secs(60)
        ]
    );
}

#[test]
fn estimate_rounds_characters_up_and_adds_the_output_bound() {
    let mut req = ChatRequest::new("m", "abcde");
    req.messages.insert(0, Message::system("sys"));
    // 8 chars -> 2 tokens; no max_output_tokens -> the default.
    assert_eq!(estimate_tokens(&req, 512), 514);
    req.max_output_tokens = Some(10);
    assert_eq!(estimate_tokens(&req, 512), 12);
    // Characters, not bytes.
    assert_eq!(estimate_tokens(&ChatRequest::new("m", "ééééé"), 0), 2);
}

#[test]
fn limiter_admits_the_configured_rate_over_a_simulated_minute() {
    let clock = ManualClock::default();
    let policy = ResiliencePolicy::default().requests_per_minute(Some(600));
    let limits = RateLimits::with_clock(&policy, clock.clone());
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut elapsed = Duration::ZERO;
    let mut admitted = 0u32;
    runtime.block_on(async {
        loop {
            let waited = limits
                .acquire_with("m", 1, |d| {
                    clock.advance(d);
                    std::future::ready(())
                })
                .await;
            elapsed += waited;
            if elapsed >= Duration::from_secs(60) {
                break;
            }
            admitted += 1;
        }
    });
    // A burst of 10 (one second's worth) then one every 100 ms: 10 + 599 in [0, 60 s).
    assert_eq!(admitted, 609);
    let error = (f64::from(admitted) - 600.0).abs() / 600.0;
    assert!(error < 0.05, "admitted {admitted}");
}

#[test]
fn validation_names_the_field() {
    let inner: DynProvider = Arc::new(Scripted::default());
    let cases = [
        (ResiliencePolicy::default().max_attempts(0), "policy.max_attempts"),
        (
            ResiliencePolicy::default().base_backoff(Duration::from_secs(30)),
            "policy.base_backoff",
        ),
        (
            ResiliencePolicy::default().attempt_timeout(Duration::ZERO),
            "policy.attempt_timeout",
        ),
        (
            ResiliencePolicy::default().total_timeout(Some(Duration::ZERO)),
            "policy.total_timeout",
        ),
        (
            ResiliencePolicy::default().burst_window(Duration::from_secs(61)),
            "policy.burst_window",
        ),
        (
            ResiliencePolicy::default().max_concurrency(Some(0)),
            "policy.max_concurrency",
        ),
        (
            ResiliencePolicy::default().requests_per_minute(Some(0)),
            "policy.rates.requests_per_minute",
        ),
        (
            ResiliencePolicy::default().model_rates("gpt", ModelRates::new(None, Some(0))),
            "policy.model_rates[\"gpt\"].tokens_per_minute",
        ),
    ];
    for (policy, field) in cases {
        let error = Resilient::new(inner.clone(), policy).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        match error {
            crate::Error::InvalidInput { field: got, .. } => assert_eq!(got, field),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn defaults_and_per_provider_values() {
    let d = ResiliencePolicy::default();
    assert_eq!(d.max_attempts, 4);
    assert_eq!(d.base_backoff, Duration::from_millis(500));
    assert_eq!(d.max_backoff, Duration::from_secs(20));
    assert_eq!(d.max_retry_after, Duration::from_secs(60));
    assert_eq!(d.attempt_timeout, Duration::from_secs(120));
    assert_eq!(d.total_timeout, None);
    assert_eq!(d.default_output_tokens_estimate, 512);
    assert!(d.rates.is_unlimited());

    let rates = |id: &str| ResiliencePolicy::for_provider(id).rates;
    assert_eq!(rates("openai"), ModelRates::new(Some(500), Some(30_000)));
    assert_eq!(rates("anthropic"), ModelRates::new(Some(50), Some(40_000)));
    assert_eq!(rates("gemini"), ModelRates::new(Some(150), Some(1_000_000)));
    assert_eq!(rates("perplexity"), ModelRates::new(Some(50), None));
    assert!(rates("openai_compatible").is_unlimited());
    assert!(rates("simulated").is_unlimited());
    assert_eq!(
        ResiliencePolicy::for_provider("simulated").max_backoff,
        Duration::from_millis(50)
    );
    for id in [
        "openai",
        "anthropic",
        "gemini",
        "perplexity",
        "openai_compatible",
        "simulated",
        "replay",
        "x",
    ] {
        ResiliencePolicy::for_provider(id).validate().unwrap();
    }
}

#[test]
fn backoff_ceiling_doubles_up_to_the_cap_and_draws_stay_within_it() {
    let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(20), Some(1));
    let ceilings: Vec<_> = (1..=8).map(|k| b.ceiling(k).as_millis()).collect();
    assert_eq!(ceilings, vec![500, 1_000, 2_000, 4_000, 8_000, 16_000, 20_000, 20_000]);
    assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(20));
    let draws: Vec<_> = (0..1_000).map(|_| b.jittered(3)).collect();
    assert!(draws.iter().all(|d| *d <= Duration::from_secs(2)));
    // Full jitter spreads over the whole range, not a narrow band around the ceiling.
    assert!(draws.iter().any(|d| *d < Duration::from_millis(200)));
    assert!(draws.iter().any(|d| *d > Duration::from_millis(1_800)));
    // Same seed, same draws.
    let again = Backoff::new(Duration::from_millis(500), Duration::from_secs(20), Some(1));
    let replay: Vec<_> = (0..1_000).map(|_| again.jittered(3)).collect();
    assert_eq!(draws, replay);
}

#[test]
fn limits_and_identity_delegate_to_the_inner_provider() {
    let inner: DynProvider = Arc::new(Scripted::default());
    let plain = Resilient::new(inner.clone(), ResiliencePolicy::default()).unwrap();
    assert_eq!(plain.id(), "scripted");
    assert!(!plain.is_replay());
    assert_eq!(plain.limits(), inner.limits());
    let narrowed = Resilient::new(
        inner.clone(),
        ResiliencePolicy::default()
            .max_concurrency(Some(4))
            .requests_per_minute(Some(100)),
    )
    .unwrap();
    assert_eq!(
        narrowed.limits(),
        ProviderLimits {
            max_concurrency: 4,
            requests_per_minute: Some(100),
        }
    );
    let wide = Resilient::new(inner, ResiliencePolicy::default().max_concurrency(Some(1_000))).unwrap();
    assert_eq!(wide.limits().max_concurrency, 32);
}

mod logging {
    //! A minimal recording subscriber: what the layer logs, field by field.
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Level, Metadata, Subscriber};

    #[derive(Debug, Clone)]
    pub struct Logged {
        pub level: Level,
        pub fields: Vec<(String, String)>,
    }

    impl Logged {
        pub fn field(&self, name: &str) -> Option<&str> {
            self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
        }
    }

    #[derive(Clone, Default)]
    pub struct Recorder(pub Arc<Mutex<Vec<Logged>>>);

    struct Fields<'a>(&'a mut Vec<(String, String)>);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push((field.name().to_string(), format!("{value:?}")));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().to_string(), value.to_string()));
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target().starts_with("echo_core::provider::resilience")
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Vec::new();
            event.record(&mut Fields(&mut fields));
            self.0.lock().unwrap().push(Logged {
                level: *event.metadata().level(),
                fields,
            });
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}

#[tokio::test(start_paused = true)]
async fn one_event_per_attempt_without_prompt_or_answer() {
    use tracing::Level;
    // A scoped (`set_default`) subscriber races with other tests' threads over tracing's
    // global callsite-interest cache and can miss events; the process-wide default does
    // not. Only this test installs one, and it keeps only events of its own model.
    let recorder = logging::Recorder::default();
    let _ = tracing::subscriber::set_global_default(recorder.clone());
    const MODEL: &str = "model-logging-test";

    let secret_prompt = "PROMPT-SECRET-42 which CRM?";
    let inner = Arc::new(Scripted::new(vec![
        Err(server(500)),
        Ok(ChatResponse::text("ANSWER-SECRET-43")),
    ]));
    let answer = wrap(&inner, ResiliencePolicy::default())
        .complete(&ChatRequest::new(MODEL, secret_prompt))
        .await
        .unwrap();
    assert_eq!(answer.text, "ANSWER-SECRET-43");
    let quota = Arc::new(Scripted::failing(LlmError::QuotaExhausted("billing".into())));
    wrap(&quota, ResiliencePolicy::default())
        .complete(&ChatRequest::new(MODEL, secret_prompt))
        .await
        .unwrap_err();

    let events: Vec<_> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.field("model") == Some(MODEL))
        .cloned()
        .collect();
    let levels: Vec<_> = events.iter().map(|e| e.level).collect();
    assert_eq!(levels, vec![Level::WARN, Level::DEBUG, Level::WARN]);
    assert_eq!(events[0].field("error_class"), Some("server"));
    assert_eq!(events[0].field("attempt"), Some("1"));
    assert!(events[0].field("wait_ms").is_some());
    assert_eq!(events[1].field("attempt"), Some("2"));
    assert_eq!(events[2].field("reason"), Some("not_retryable"));
    assert_eq!(events[2].field("error_class"), Some("quota_exhausted"));
    for e in &events {
        assert_eq!(e.field("provider"), Some("scripted"));
        assert_eq!(e.field("model"), Some(MODEL));
        for (_, value) in &e.fields {
            assert!(!value.contains("SECRET"), "logged {value}");
            assert!(!value.contains("billing"), "logged an error message: {value}");
        }
    }
}
