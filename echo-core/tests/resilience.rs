//! The resilience layer against real HTTP: a wiremock server fakes an OpenAI-style chat
//! endpoint and a small test-only provider speaks to it through Echo's HTTP plumbing
//! (`post_json` + `classify_status`), so retry decisions are taken on real status codes,
//! headers and error bodies.
//!
//! Time: the HTTP exchange runs on real time (the mock server lives on its own thread),
//! while the wrapper's waits run on paused tokio time. The provider resumes tokio's clock
//! for the duration of each request and pauses it again afterwards, so a paused-time
//! elapsed measures exactly the waits the wrapper chose plus a few real milliseconds of
//! HTTP, and a `retry-after: 2` costs no real seconds.

use std::sync::Arc;
use std::time::Duration;

use echo_core::provider::http::{
    DEFAULT_MAX_BODY_BYTES, ErrorBody, HttpConfig, bounded_text, classify_status, post_json,
};
use echo_core::provider::{ChatRequest, ChatResponse, DynProvider, LlmError, Provider, ResiliencePolicy, Resilient};
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Resumes tokio's clock while alive; pauses it again when dropped (also when the request
/// future is cancelled by a timeout).
struct RealTime;

impl RealTime {
    fn start() -> Self {
        tokio::time::resume();
        RealTime
    }
}

impl Drop for RealTime {
    fn drop(&mut self) {
        tokio::time::pause();
    }
}

/// A minimal OpenAI-style provider for these tests only.
#[derive(Debug)]
struct MockOpenAi {
    client: reqwest::Client,
    url: String,
    timeout: Duration,
}

impl MockOpenAi {
    fn new(base: &str) -> Self {
        let http = HttpConfig {
            timeout: Duration::from_secs(5),
            ..HttpConfig::default()
        };
        Self {
            client: http.client().unwrap(),
            url: format!("{base}/v1/chat/completions"),
            timeout: http.timeout,
        }
    }

    async fn call(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = json!({
            "model": request.model,
            "messages": request.messages.iter().map(|m| json!({"role": "user", "content": m.content})).collect::<Vec<_>>(),
        });
        let reply = post_json(
            self.client.post(&self.url).bearer_auth("sk-test"),
            &body,
            DEFAULT_MAX_BODY_BYTES,
            self.timeout,
        )
        .await?;
        if !reply.is_success() {
            let error = match serde_json::from_slice::<Value>(&reply.body) {
                Ok(v) => ErrorBody {
                    code: v["error"]["code"].as_str().map(String::from),
                    kind: v["error"]["type"].as_str().map(String::from),
                    message: v["error"]["message"].as_str().unwrap_or_default().to_string(),
                },
                Err(_) => ErrorBody {
                    message: bounded_text(&reply.body),
                    ..ErrorBody::default()
                },
            };
            return Err(classify_status(
                reply.status,
                &error,
                &reply.headers,
                chrono::Utc::now(),
            ));
        }
        let v: Value = reply.json()?;
        Ok(ChatResponse::text(
            v["choices"][0]["message"]["content"].as_str().unwrap_or_default(),
        ))
    }
}

#[async_trait::async_trait]
impl Provider for MockOpenAi {
    fn id(&self) -> &str {
        "mock_openai"
    }
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let _real = RealTime::start();
        self.call(request).await
    }
}

fn ok_body() -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "HubSpot is a good start."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    })
}

fn error_body(kind: &str, code: Option<&str>, message: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn wrapper(server: &MockServer, policy: ResiliencePolicy) -> Resilient {
    let inner: DynProvider = Arc::new(MockOpenAi::new(&server.uri()));
    Resilient::new(inner, policy.jitter_seed(Some(11))).unwrap()
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini", "best CRM for a 10-person startup?")
}

/// Mounts `first` for the first `times` requests, then a 200.
async fn fail_then_ok(server: &MockServer, first: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body()))
        .with_priority(2)
        .mount(server)
        .await;
}

async fn always(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_is_retried_after_that_delay() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "2")
        .set_body_json(error_body(
            "requests",
            Some("rate_limit_exceeded"),
            "Rate limit reached",
        ));
    fail_then_ok(&server, limited, 1).await;

    let t0 = Instant::now();
    let answer = wrapper(&server, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap();
    let elapsed = t0.elapsed();
    assert_eq!(answer.text, "HubSpot is a good start.");
    assert_eq!(requests(&server).await, 2);
    // 2 s asked (jitter of the first retry is at most 0.5 s), plus real HTTP time.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_500), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_ms_is_preferred_and_mixed_failures_recover() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(error_body("server_error", None, "oops")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after-ms", "1500")
        .insert_header("retry-after", "30")
        .set_body_json(error_body("tokens", Some("rate_limit_exceeded"), "TPM"));
    Mock::given(method("POST"))
        .respond_with(limited)
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body()))
        .with_priority(3)
        .mount(&server)
        .await;

    let t0 = Instant::now();
    wrapper(&server, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap();
    let elapsed = t0.elapsed();
    assert_eq!(requests(&server).await, 3);
    // ≤ 0.5 s jitter after the 500, then max(1.5 s, ≤ 1 s jitter) = 1.5 s; not 30 s.
    assert!(elapsed >= Duration::from_millis(1_500), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_500), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn insufficient_quota_is_not_retried() {
    let server = MockServer::start().await;
    always(
        &server,
        ResponseTemplate::new(429).set_body_json(error_body(
            "insufficient_quota",
            Some("insufficient_quota"),
            "You exceeded your current quota, please check your plan and billing details.",
        )),
    )
    .await;
    let error = wrapper(&server, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(error.class(), "quota_exhausted");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_401_is_not_retried() {
    let server = MockServer::start().await;
    always(
        &server,
        ResponseTemplate::new(401).set_body_json(error_body(
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided.",
        )),
    )
    .await;
    let error = wrapper(&server, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(error.class(), "auth");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_500_is_retried_up_to_max_attempts_then_fails_as_server() {
    let server = MockServer::start().await;
    always(
        &server,
        ResponseTemplate::new(500).set_body_json(error_body("server_error", None, "The server had an error")),
    )
    .await;
    let error = wrapper(&server, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::Server { status: Some(500), .. }), "{error:?}");
    assert_eq!(requests(&server).await, 4);
}

#[tokio::test(start_paused = true)]
async fn a_529_is_retried_up_to_max_attempts_then_fails_as_overloaded() {
    let server = MockServer::start().await;
    always(
        &server,
        ResponseTemplate::new(529).set_body_json(json!({
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"}
        })),
    )
    .await;
    let error = wrapper(&server, ResiliencePolicy::default().max_attempts(3))
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(error.class(), "overloaded");
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test(start_paused = true)]
async fn a_server_saying_do_not_retry_is_believed() {
    let server = MockServer::start().await;
    always(
        &server,
        ResponseTemplate::new(503)
            .insert_header("x-should-retry", "false")
            .set_body_json(error_body("server_error", None, "maintenance")),
    )
    .await;
    let error = wrapper(&server, ResiliencePolicy::default())
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(error.class(), "rejected");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_server_times_out_per_attempt() {
    let server = MockServer::start().await;
    always(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(ok_body())
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    let policy = ResiliencePolicy::default()
        .max_attempts(2)
        .attempt_timeout(Duration::from_millis(300));
    let error = wrapper(&server, policy).complete(&request()).await.unwrap_err();
    assert_eq!(error, LlmError::Timeout(Duration::from_millis(300)));
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test(start_paused = true)]
async fn connection_refused_is_retried_as_transport_then_returned() {
    // Bind a port, then free it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let inner: DynProvider = Arc::new(MockOpenAi::new(&format!("http://127.0.0.1:{port}")));
    let wrapper = Resilient::new(inner, ResiliencePolicy::default().max_attempts(2).jitter_seed(Some(1))).unwrap();
    let error = wrapper.complete(&request()).await.unwrap_err();
    assert_eq!(error.class(), "transport");
}
