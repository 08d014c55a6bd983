//! The OpenAI-compatible provider against local servers shaped like Ollama, vLLM and
//! OpenRouter: optional auth, the drift in their response bodies, and their error shapes.

use std::collections::HashMap;
use std::time::Duration;

use echo_core::ErrorKind;
use echo_core::provider::{
    ChatRequest, ChatResponse, FinishReason, LlmError, OpenAiCompatible, OpenAiCompatibleConfig, Provider, Usage,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-or-v1-secret-abcdef0123456789";

fn keyless(server: &MockServer) -> OpenAiCompatible {
    OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.uri()))
        .id("ollama")
        .build()
        .expect("valid settings")
}

async fn serve(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn answer(body: Value) -> Result<ChatResponse, LlmError> {
    let server = serve(ResponseTemplate::new(200).set_body_json(body)).await;
    keyless(&server)
        .complete(&ChatRequest::new("llama3.2", "Best CRM?"))
        .await
}

/// What Ollama's `/v1/chat/completions` returns.
fn ollama_completion() -> Value {
    json!({
        "id": "chatcmpl-626",
        "object": "chat.completion",
        "created": 1731000000,
        "model": "llama3.2",
        "system_fingerprint": "fp_ollama",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "HubSpot and Pipedrive are popular."},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 31, "completion_tokens": 9, "total_tokens": 40}
    })
}

#[tokio::test]
async fn keyless_server_gets_no_authorization_header() {
    let server = serve(ResponseTemplate::new(200).set_body_json(ollama_completion())).await;
    let provider = keyless(&server);
    let mut request = ChatRequest::new("llama3.2", "Best CRM?");
    request.max_output_tokens = Some(300);
    request.temperature = Some(0.5);
    request.seed = Some(11);
    let response = provider.complete(&request).await.unwrap();

    assert_eq!(response.text, "HubSpot and Pipedrive are popular.");
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: Some(31),
            output_tokens: Some(9),
            cached_input_tokens: None,
            reasoning_tokens: None,
        }
    );
    assert_eq!(response.served_model.as_deref(), Some("llama3.2"));
    assert_eq!(response.request_id.as_deref(), Some("chatcmpl-626"));
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].headers.get("authorization").is_none(),
        "no key, no Authorization header"
    );
    let sent: Value = requests[0].body_json().unwrap();
    assert_eq!(sent["model"], "llama3.2");
    assert_eq!(sent["messages"], json!([{"role": "user", "content": "Best CRM?"}]));
    assert_eq!(sent["max_tokens"], 300, "the spelling these servers document");
    assert!(sent.get("max_completion_tokens").is_none());
    assert_eq!(sent["temperature"], 0.5);
    assert_eq!(sent["seed"], 11);
    assert!(sent.get("web_search_options").is_none());
}

#[tokio::test]
async fn a_key_is_sent_as_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(
            json!({"model": "openai/gpt-4o", "web_search_options": {}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "gen-1740000000-abc",
            "provider": "OpenAI",
            "model": "openai/gpt-4o",
            "object": "chat.completion",
            "created": 1740000000,
            "choices": [{
                "logprobs": null,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "HubSpot leads.",
                    "refusal": null,
                    "reasoning": null,
                    "annotations": [{"type": "url_citation", "url_citation": {
                        "url": "https://www.hubspot.com/", "title": "HubSpot",
                        "content": "snippet", "start_index": 0, "end_index": 7}}]
                }
            }],
            "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14,
                      "prompt_tokens_details": {"cached_tokens": 0}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let provider = OpenAiCompatible::builder()
        .base_url(format!("{}/api/v1", server.uri()))
        .api_key(KEY)
        .id("openrouter")
        .build()
        .unwrap();
    let mut request = ChatRequest::new("openai/gpt-4o", "Best CRM?");
    request.web_search = true;
    let response = provider.complete(&request).await.expect("the mock matched the request");
    assert_eq!(provider.id(), "openrouter");
    assert_eq!(response.text, "HubSpot leads.");
    assert_eq!(response.citations.len(), 1);
    assert_eq!(response.citations[0].cited_text.as_deref(), Some("HubSpot"));
    assert_eq!(response.usage.cached_input_tokens, Some(0), "a reported 0 stays 0");
}

#[tokio::test]
async fn lenient_parsing_of_server_drift() {
    // No usage, no finish_reason, no content, no id, unknown fields everywhere.
    let response = answer(json!({
        "object": "chat.completion",
        "model": "qwen2.5",
        "choices": [{"index": 0, "message": {"role": "assistant"}, "stop_reason": 128001}],
        "prompt_logprobs": null,
        "kv_transfer_params": null
    }))
    .await
    .unwrap();
    assert_eq!(response.text, "");
    assert_eq!(response.usage, Usage::default(), "missing usage: every field None");
    assert_eq!(response.finish_reason, None);
    assert_eq!(response.request_id, None);

    for finish in [json!(null), json!("")] {
        let response = answer(json!({
            "choices": [{"message": {"content": "ok"}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": null}
        }))
        .await
        .unwrap();
        assert_eq!(response.finish_reason, None, "finish_reason {finish}");
        assert_eq!(response.usage.input_tokens, Some(3));
        assert_eq!(response.usage.output_tokens, None);
    }

    let response = answer(json!({
        "choices": [{"message": {"content": null}, "finish_reason": "eos"}],
        "usage": {"prompt_tokens": 12.0, "completion_tokens": "7"}
    }))
    .await
    .unwrap();
    assert_eq!(response.text, "", "null content is an empty answer");
    assert_eq!(response.finish_reason, Some(FinishReason::Other("eos".into())));
    assert_eq!(response.usage.input_tokens, Some(12), "an integral float count is read");
    assert_eq!(
        response.usage.output_tokens, None,
        "a non-numeric count is not reported"
    );

    let response = answer(json!({
        "choices": [{"message": {"content": [{"type": "text", "text": "Hub"}, {"type": "text", "text": "Spot"}]},
                     "finish_reason": "stop"}]
    }))
    .await
    .unwrap();
    assert_eq!(response.text, "HubSpot", "content parts are joined");
}

#[tokio::test]
async fn empty_or_missing_choices_are_decode_errors() {
    for body in [
        json!({"id": "x", "choices": []}),
        json!({"id": "x", "model": "m"}),
        json!({"choices": null}),
    ] {
        let err = answer(body.clone()).await.unwrap_err();
        match err {
            LlmError::Decode { message, .. } => {
                assert!(message.contains("no choices"), "{message}");
                assert!(message.contains("model"), "the message says what to check: {message}");
            }
            other => panic!("{body}: expected Decode, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn openrouter_errors_inside_a_200_are_classified() {
    let limited = answer(json!({
        "error": {"message": "Rate limit exceeded: free-models-per-min", "code": 429,
                  "metadata": {"headers": {"X-RateLimit-Limit": "20"}}},
        "user_id": "user_2abc"
    }))
    .await
    .unwrap_err();
    assert_eq!(limited.class(), "rate_limited");
    assert!(limited.to_string().contains("free-models-per-min"));

    let upstream = answer(json!({
        "id": "gen-1", "provider": "Together",
        "error": {"message": "Upstream error from Together: timeout", "code": 502}
    }))
    .await
    .unwrap_err();
    assert_eq!(upstream.class(), "server");
    assert!(upstream.is_transient());

    let in_choice = answer(json!({
        "id": "gen-2",
        "choices": [{"message": {"content": ""}, "finish_reason": "error",
                     "error": {"message": "Provider returned error", "code": 503}}]
    }))
    .await
    .unwrap_err();
    assert_eq!(in_choice.class(), "server");

    let broke = answer(json!({"error": {"message": "Insufficient credits", "code": 402}}))
        .await
        .unwrap_err();
    assert_eq!(broke.class(), "quota_exhausted");

    let context = answer(json!({
        "error": {"message": "This endpoint's maximum context length is 8192 tokens.", "code": 400}
    }))
    .await
    .unwrap_err();
    assert_eq!(context.class(), "context_length");
}

#[tokio::test]
async fn error_statuses_in_the_shapes_these_servers_send() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        // Ollama: an unknown model.
        (
            ResponseTemplate::new(404).set_body_json(json!({"error": {
                "message": "model \"llama9\" not found, try pulling it first",
                "type": "api_error", "param": null, "code": null}})),
            "invalid_request",
        ),
        // vLLM: fields at the top level.
        (
            ResponseTemplate::new(400).set_body_json(json!({
                "object": "error",
                "message": "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
                "type": "BadRequestError", "param": null, "code": 400})),
            "context_length",
        ),
        // A bare string error.
        (
            ResponseTemplate::new(500).set_body_json(json!({"error": "llama runner process has terminated"})),
            "server",
        ),
        (
            ResponseTemplate::new(429)
                .set_body_json(json!({"error": {"message": "Rate limit exceeded", "code": 429}}))
                .insert_header("retry-after", "2"),
            "rate_limited",
        ),
        (
            ResponseTemplate::new(402).set_body_json(json!({"error": {
                "message": "Insufficient credits. Add more using https://openrouter.ai/credits",
                "code": 402}})),
            "quota_exhausted",
        ),
        (
            ResponseTemplate::new(429).set_body_json(json!({"error": {
                "message": "You exceeded your current quota", "type": "insufficient_quota",
                "code": "insufficient_quota"}})),
            "quota_exhausted",
        ),
        (
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"message": "No auth credentials found", "code": 401}})),
            "auth",
        ),
        (
            ResponseTemplate::new(503)
                .set_body_string("Service Unavailable")
                .insert_header("x-should-retry", "false"),
            "rejected",
        ),
    ];
    for (template, class) in cases {
        let server = serve(template).await;
        let err = keyless(&server)
            .complete(&ChatRequest::new("m", "q"))
            .await
            .unwrap_err();
        assert_eq!(err.class(), class, "{err}");
    }

    let server = serve(
        ResponseTemplate::new(429)
            .set_body_json(json!({"error": {"message": "slow down"}}))
            .insert_header("retry-after", "2"),
    )
    .await;
    let err = keyless(&server)
        .complete(&ChatRequest::new("m", "q"))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn faults_truncation_timeouts_and_refused_connections() {
    let full = serde_json::to_string(&ollama_completion()).unwrap();
    let server =
        serve(ResponseTemplate::new(200).set_body_raw(full.as_bytes()[..40].to_vec(), "application/json")).await;
    let err = keyless(&server)
        .complete(&ChatRequest::new("m", "q"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), "decode", "{err:?}");

    let server = serve(
        ResponseTemplate::new(200)
            .set_body_json(ollama_completion())
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let slow = OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.uri()))
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let err = slow.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout(Duration::from_millis(150)));

    let server = serve(ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"message": {"content": "y".repeat(5_000)}}]
    })))
    .await;
    let small = OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.uri()))
        .max_body_bytes(512)
        .build()
        .unwrap();
    let err = small.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Decode { message, .. } if message.contains("512-byte limit")),
        "{err:?}"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let gone = OpenAiCompatible::builder()
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .build()
        .unwrap();
    let err = gone.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert_eq!(err.class(), "transport", "{err:?}");
}

#[tokio::test]
async fn the_key_never_shows_in_debug_or_errors() {
    let server = serve(ResponseTemplate::new(401).set_body_json(json!({
        "error": {"message": format!("Invalid key {KEY}"), "code": 401}
    })))
    .await;
    let provider = OpenAiCompatible::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key(KEY)
        .build()
        .unwrap();
    let err = provider.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert_eq!(err.class(), "auth");
    assert!(!err.to_string().contains(KEY), "{err}");
    let shown = format!("{provider:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("ApiKey(***)"));
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

#[test]
fn configuration_from_env_and_builder() {
    let err = OpenAiCompatible::from_env_with(env(&[("OPENAI_COMPATIBLE_API_KEY", KEY)])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("OPENAI_COMPATIBLE_BASE_URL"), "{err}");

    let local =
        OpenAiCompatible::from_env_with(env(&[("OPENAI_COMPATIBLE_BASE_URL", "http://localhost:11434/v1/")])).unwrap();
    assert_eq!(local.id(), "openai_compatible");
    assert_eq!(local.config().base_url, "http://localhost:11434/v1");
    assert!(local.config().api_key.is_none(), "the key is optional");
    assert_eq!(local.limits().max_concurrency, 8);

    let named = OpenAiCompatibleConfig::from_env_with(env(&[
        ("OPENAI_COMPATIBLE_BASE_URL", "https://openrouter.ai/api/v1"),
        ("OPENAI_COMPATIBLE_API_KEY", KEY),
        ("OPENAI_COMPATIBLE_ID", "openrouter"),
    ]))
    .unwrap();
    assert_eq!(named.id, "openrouter");
    assert_eq!(named.api_key.as_ref().map(|k| k.expose()), Some(KEY));

    let err = OpenAiCompatible::from_env_with(env(&[
        ("OPENAI_COMPATIBLE_BASE_URL", "http://localhost:11434/v1"),
        ("OPENAI_COMPATIBLE_ID", "my/server"),
    ]))
    .unwrap_err();
    assert_eq!(err.field(), Some("OPENAI_COMPATIBLE_ID"));
    let err = OpenAiCompatible::from_env_with(env(&[("OPENAI_COMPATIBLE_BASE_URL", "localhost:11434")])).unwrap_err();
    assert_eq!(err.field(), Some("OPENAI_COMPATIBLE_BASE_URL"));

    let err = OpenAiCompatible::builder().build().unwrap_err();
    assert_eq!(err.field(), Some("openai_compatible.base_url"));
    let err = OpenAiCompatible::builder()
        .base_url("http://localhost:8000/v1")
        .id("")
        .build()
        .unwrap_err();
    assert_eq!(err.field(), Some("openai_compatible.id"));
    let vllm = OpenAiCompatible::builder()
        .base_url("http://localhost:8000/v1")
        .id("vllm")
        .max_concurrency(64)
        .build()
        .unwrap();
    assert_eq!(vllm.id(), "vllm");
    assert_eq!(vllm.limits().max_concurrency, 64);
}
