//! The Anthropic provider against a local server speaking the Messages API: response
//! shapes as Anthropic documents them, the request Echo sends, and every failure class.

use std::time::Duration;

use echo_core::ErrorKind;
use echo_core::provider::http::HttpConfig;
use echo_core::provider::{Anthropic, ChatRequest, FinishReason, LlmError, Message, Provider};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-ant-api03-test-secret-key-0123456789";

fn provider(server: &MockServer) -> Anthropic {
    Anthropic::builder()
        .api_key(KEY)
        .base_url(server.uri())
        .build()
        .unwrap()
}

async fn answer(body: Value) -> Result<echo_core::provider::ChatResponse, LlmError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    provider(&server)
        .complete(&ChatRequest::new("claude-sonnet-4-5", "Best CRM?"))
        .await
}

async fn failure(status: u16, body: Value, headers: &[(&str, &str)]) -> LlmError {
    let server = MockServer::start().await;
    let mut template = ResponseTemplate::new(status).set_body_json(body);
    for (k, v) in headers {
        template = template.insert_header(*k, *v);
    }
    Mock::given(method("POST")).respond_with(template).mount(&server).await;
    provider(&server)
        .complete(&ChatRequest::new("claude-sonnet-4-5", "Best CRM?"))
        .await
        .unwrap_err()
}

fn api_error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
}

// ---------------------------------------------------------------- response shapes

#[tokio::test]
async fn plain_text_answer_as_documented() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("request-id", "req_018EeWyXxfu5pfWkrYcMdjWG")
                .insert_header("anthropic-ratelimit-requests-limit", "50")
                .insert_header("anthropic-ratelimit-requests-remaining", "49")
                .insert_header("anthropic-ratelimit-tokens-limit", "40000")
                .insert_header("anthropic-ratelimit-tokens-remaining", "38000")
                .set_body_json(json!({
                    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-5-20250929",
                    "content": [{"type": "text", "text": "1. **HubSpot** is a strong pick."}],
                    "stop_reason": "end_turn",
                    "stop_sequence": null,
                    "usage": {
                        "input_tokens": 2095,
                        "output_tokens": 503,
                        "cache_creation_input_tokens": 120,
                        "cache_read_input_tokens": 1800,
                        "cache_creation": {"ephemeral_5m_input_tokens": 120, "ephemeral_1h_input_tokens": 0},
                        "server_tool_use": null,
                        "service_tier": "standard"
                    }
                })),
        )
        .mount(&server)
        .await;
    let r = provider(&server)
        .complete(&ChatRequest::new("claude-sonnet-4-5", "Best CRM?"))
        .await
        .unwrap();
    assert_eq!(r.text, "1. **HubSpot** is a strong pick.");
    assert!(r.citations.is_empty());
    assert_eq!(r.usage.input_tokens, Some(2095));
    assert_eq!(r.usage.output_tokens, Some(503));
    assert_eq!(r.usage.cached_input_tokens, Some(1800));
    assert_eq!(r.usage.reasoning_tokens, None);
    assert_eq!(r.served_model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(r.request_id.as_deref(), Some("req_018EeWyXxfu5pfWkrYcMdjWG"));
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let limits = r.rate_limit.unwrap();
    assert_eq!(limits.limit_requests, Some(50));
    assert_eq!(limits.remaining_requests, Some(49));
    assert_eq!(limits.remaining_tokens, Some(38000));
    // Cache writes have no Usage field: they are kept in the raw body.
    assert_eq!(r.raw.unwrap()["usage"]["cache_creation_input_tokens"], 120);
}

#[tokio::test]
async fn web_search_answer_with_citations_as_documented() {
    let r = answer(json!({
        "id": "msg_a930390d3a",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "text", "text": "I'll search for CRM reviews."},
            {"type": "server_tool_use", "id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE", "name": "web_search",
             "input": {"query": "best CRM for small startups"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE", "content": [
                {"type": "web_search_result", "url": "https://www.g2.com/categories/crm",
                 "title": "Best CRM Software", "encrypted_content": "EqgfCioIARgBIiQ3YTAw...", "page_age": "April 30, 2025"},
                {"type": "web_search_result", "url": "https://www.capterra.com/crm-software/",
                 "title": "CRM Software 2025", "encrypted_content": "EqgfCioIARgBIiQ3YTAx...", "page_age": null},
                {"type": "web_search_result", "url": "https://uncited.example.com/crm",
                 "title": "Never cited", "encrypted_content": "Eqgf..."}
            ]},
            {"text": "Based on the search results, ", "type": "text"},
            {"text": "HubSpot is the most recommended free CRM", "type": "text", "citations": [
                {"type": "web_search_result_location", "url": "https://www.g2.com/categories/crm",
                 "title": "Best CRM Software", "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm..",
                 "cited_text": "HubSpot CRM is rated 4.4 out of 5 by 11,000 reviewers..."}
            ]},
            {"text": ", while Pipedrive suits sales-led teams", "type": "text", "citations": [
                {"type": "web_search_result_location", "url": "https://www.capterra.com/crm-software/",
                 "title": "CRM Software 2025", "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNn..",
                 "cited_text": "Pipedrive is built around the sales pipeline..."},
                {"type": "web_search_result_location", "url": "https://www.g2.com/categories/crm",
                 "title": "Best CRM Software", "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNo..",
                 "cited_text": "A second span from the same page."}
            ]},
            {"text": ".", "type": "text"}
        ],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 6039, "output_tokens": 931, "server_tool_use": {"web_search_requests": 1}}
    }))
    .await
    .unwrap();
    assert_eq!(
        r.text,
        "I'll search for CRM reviews.\n\nBased on the search results, HubSpot is the most recommended free CRM, \
         while Pipedrive suits sales-led teams."
    );
    // Text citations only, deduplicated by URL in first-seen order; the uncited search
    // result is not a citation.
    assert_eq!(r.citations.len(), 2);
    assert_eq!(r.citations[0].url, "https://www.g2.com/categories/crm");
    assert_eq!(r.citations[0].domain, "g2.com");
    assert_eq!(r.citations[0].title.as_deref(), Some("Best CRM Software"));
    assert_eq!(
        r.citations[0].cited_text.as_deref(),
        Some("HubSpot CRM is rated 4.4 out of 5 by 11,000 reviewers...")
    );
    assert_eq!(r.citations[1].domain, "capterra.com");
    assert!(r.citations.iter().all(|c| c.domain != "uncited.example.com"));
    assert_eq!(r.usage.cached_input_tokens, None);
    assert_eq!(
        r.request_id.as_deref(),
        Some("msg_a930390d3a"),
        "body id without a request-id header"
    );
    assert_eq!(r.raw.unwrap()["usage"]["server_tool_use"]["web_search_requests"], 1);
}

#[tokio::test]
async fn search_results_without_text_citations_invent_none() {
    let r = answer(json!({
        "type": "message",
        "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "crm"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
                {"type": "web_search_result", "url": "https://www.g2.com/categories/crm", "title": "G2"}
            ]},
            {"type": "text", "text": "HubSpot and Zoho are popular."}
        ],
        "stop_reason": "end_turn"
    }))
    .await
    .unwrap();
    assert_eq!(r.text, "HubSpot and Zoho are popular.");
    assert!(r.citations.is_empty());
}

#[tokio::test]
async fn failed_web_search_still_answers() {
    let r = answer(json!({
        "type": "message",
        "content": [
            {"type": "server_tool_use", "id": "servertoolu_a93jad", "name": "web_search", "input": {"query": "crm"}},
            {"type": "web_search_tool_result", "tool_use_id": "servertoolu_a93jad",
             "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}},
            {"type": "text", "text": "From what I know, HubSpot."}
        ],
        "stop_reason": "end_turn"
    }))
    .await
    .unwrap();
    assert_eq!(r.text, "From what I know, HubSpot.");
    assert!(r.citations.is_empty());
}

#[tokio::test]
async fn thinking_and_unknown_blocks_are_not_answer_text() {
    let r = answer(json!({
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-5",
        "content": [
            {"type": "thinking", "thinking": "Salesforce might be too big for them.", "signature": "EqQBCgIYAhIM..."},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a..."},
            {"type": "brand_new_block", "payload": {"anything": [1, 2, 3]}},
            {"type": "text", "text": "Try Pipedrive.", "citations": null}
        ],
        "stop_reason": "end_turn",
        "some_future_field": {"x": 1},
        "usage": {"input_tokens": 10, "output_tokens": 80}
    }))
    .await
    .unwrap();
    assert_eq!(r.text, "Try Pipedrive.");
    assert!(!r.text.contains("Salesforce"));
    assert_eq!(r.usage.output_tokens, Some(80));
}

#[tokio::test]
async fn empty_content_is_an_empty_answer() {
    let r = answer(json!({
        "id": "msg_02", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 2}
    }))
    .await
    .unwrap();
    assert_eq!(r.text, "");
    assert!(r.citations.is_empty());
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
}

#[tokio::test]
async fn absent_and_null_usage_fields_are_none() {
    let r = answer(json!({
        "type": "message",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": null,
        "model": null,
        "usage": {"input_tokens": 7, "output_tokens": null, "cache_read_input_tokens": null}
    }))
    .await
    .unwrap();
    assert_eq!(r.usage.input_tokens, Some(7));
    assert_eq!(r.usage.output_tokens, None);
    assert_eq!(r.usage.cached_input_tokens, None);
    assert_eq!(r.finish_reason, None);
    assert_eq!(r.served_model, None);
    assert_eq!(r.request_id, None);

    let r = answer(json!({"content": [{"type": "text", "text": "ok"}]}))
        .await
        .unwrap();
    assert_eq!(r.usage, echo_core::provider::Usage::default());
    assert!(r.rate_limit.is_none());
}

#[tokio::test]
async fn stop_reasons_map_to_finish_reasons() {
    for (stop, expected) in [
        ("max_tokens", FinishReason::Length),
        ("stop_sequence", FinishReason::Stop),
        ("tool_use", FinishReason::ToolUse),
        ("pause_turn", FinishReason::Other("pause_turn".into())),
        ("model_context_window_exceeded", FinishReason::Length),
    ] {
        let r =
            answer(json!({"type": "message", "content": [{"type": "text", "text": "partial"}], "stop_reason": stop}))
                .await
                .unwrap();
        assert_eq!(r.finish_reason, Some(expected), "{stop}");
        assert_eq!(r.text, "partial");
    }
}

#[tokio::test]
async fn refusal_is_content_filtered() {
    let e = answer(json!({
        "id": "msg_xxxxxxxx", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [], "stop_reason": "refusal", "stop_sequence": null,
        "stop_details": {"type": "refusal", "category": "cyber", "explanation": "This request triggered cyber-related safeguards."},
        "usage": {"input_tokens": 20, "output_tokens": 0}
    }))
    .await
    .unwrap_err();
    assert_eq!(e.class(), "content_filtered");
    assert!(!e.is_transient());
    assert!(e.to_string().contains("cyber"), "{e}");

    let e = answer(
        json!({"type": "message", "content": [{"type": "text", "text": "I"}], "stop_reason": "refusal",
                          "stop_details": null}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.class(), "content_filtered");
}

// ---------------------------------------------------------------- the request Echo sends

#[tokio::test]
async fn request_has_documented_path_headers_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Best CRM?"}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"content": [{"type": "text", "text": "ok"}]})))
        .expect(1)
        .mount(&server)
        .await;
    provider(&server)
        .complete(&ChatRequest::new("claude-sonnet-4-5", "Best CRM?"))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    // Nothing optional is sent when not asked for.
    for absent in ["system", "temperature", "tools", "seed", "stream"] {
        assert!(body.get(absent).is_none(), "{absent} should not be sent: {body}");
    }
    assert!(
        requests[0].headers.get("authorization").is_none(),
        "Anthropic uses x-api-key, not a bearer"
    );
    assert!(requests[0].headers.get("anthropic-beta").is_none());
}

#[tokio::test]
async fn request_with_system_temperature_limit_and_web_search() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/proxy/v1/messages"))
        .and(header("anthropic-version", "2024-01-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"content": []})))
        .expect(2)
        .mount(&server)
        .await;
    let provider = Anthropic::builder()
        .api_key(KEY)
        .base_url(format!("{}/proxy/", server.uri()))
        .api_version("2024-01-01")
        .beta("feature-a")
        .beta("feature-b")
        .web_search_tool("web_search_20260209")
        .web_search_max_uses(Some(3))
        .default_max_tokens(2048)
        .build()
        .unwrap();
    let mut request = ChatRequest::new("claude-opus-4-6", "Best CRM?");
    request
        .messages
        .insert(0, Message::system("You are a buyer's assistant."));
    request.temperature = Some(1.0);
    request.web_search = true;
    request.seed = Some(42);
    provider.complete(&request).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].headers.get("anthropic-beta").unwrap().to_str().unwrap(),
        "feature-a,feature-b"
    );
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["system"], "You are a buyer's assistant.");
    assert_eq!(body["max_tokens"], 2048);
    assert_eq!(body["temperature"], 1.0);
    assert_eq!(body["messages"], json!([{"role": "user", "content": "Best CRM?"}]));
    assert_eq!(
        body["tools"],
        json!([{"type": "web_search_20260209", "name": "web_search", "max_uses": 3}])
    );
    assert!(body.get("seed").is_none());

    // The request's own limit wins over the default.
    request.max_output_tokens = Some(64);
    provider.complete(&request).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(body["max_tokens"], 64);
}

// ---------------------------------------------------------------- error classification

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let e = failure(
        429,
        api_error(
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ),
        &[("retry-after", "7"), ("request-id", "req_rl")],
    )
    .await;
    assert_eq!(e.class(), "rate_limited");
    assert!(e.is_transient());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.to_string().contains("req_rl"), "{e}");
}

#[tokio::test]
async fn overloaded_529_is_retryable() {
    let e = failure(529, api_error("overloaded_error", "Overloaded"), &[]).await;
    assert!(matches!(e, LlmError::Overloaded { .. }), "{e:?}");
    assert!(e.is_transient());
    let e = failure(
        529,
        api_error("overloaded_error", "Overloaded"),
        &[("retry-after", "3")],
    )
    .await;
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
}

#[tokio::test]
async fn auth_and_permission_errors_are_final() {
    let e = failure(401, api_error("authentication_error", "invalid x-api-key"), &[]).await;
    assert_eq!(e.class(), "auth");
    assert!(!e.is_transient());
    assert!(!e.to_string().contains(KEY));
    let e = failure(
        403,
        api_error(
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        &[],
    )
    .await;
    assert_eq!(e.class(), "auth");
}

#[tokio::test]
async fn prompt_too_long_is_context_length() {
    let e = failure(
        400,
        api_error(
            "invalid_request_error",
            "prompt is too long: 210345 tokens > 200000 maximum",
        ),
        &[],
    )
    .await;
    assert_eq!(e.class(), "context_length");
}

#[tokio::test]
async fn credit_balance_and_spend_limits_are_quota_exhausted() {
    let e = failure(
        400,
        api_error(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        ),
        &[],
    )
    .await;
    assert_eq!(e.class(), "quota_exhausted");
    let e = failure(
        429,
        api_error(
            "rate_limit_error",
            "Your credit balance is too low to access the Anthropic API.",
        ),
        &[("retry-after", "30")],
    )
    .await;
    assert_eq!(e.class(), "quota_exhausted", "a credit 429 must not be retried");
    let e = failure(
        429,
        json!({"type": "error", "error": {"type": "rate_limit_error",
               "message": "You have reached your monthly usage tier spend limit.",
               "details": {"error_code": "enforced_spend_limit_reached"}}}),
        &[],
    )
    .await;
    assert_eq!(e.class(), "quota_exhausted");
    assert!(!e.is_transient());
    let e = failure(
        400,
        api_error(
            "invalid_request_error",
            "You have reached your specified API usage limits. You will regain access on 2026-04-01 at 00:00 UTC.",
        ),
        &[],
    )
    .await;
    assert_eq!(e.class(), "quota_exhausted");
    let e = failure(
        402,
        api_error("billing_error", "There's an issue with your payment method."),
        &[],
    )
    .await;
    assert_eq!(e.class(), "quota_exhausted");
}

#[tokio::test]
async fn server_and_request_errors() {
    let e = failure(500, api_error("api_error", "Internal server error"), &[]).await;
    assert!(matches!(e, LlmError::Server { status: Some(500), .. }), "{e:?}");
    assert!(e.is_transient());
    let e = failure(504, api_error("timeout_error", "Request timed out"), &[]).await;
    assert_eq!(e.class(), "server");
    let e = failure(404, api_error("not_found_error", "model: claude-nope"), &[]).await;
    assert_eq!(e.class(), "invalid_request");
    let e = failure(
        413,
        api_error(
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        &[],
    )
    .await;
    assert_eq!(e.class(), "invalid_request");
    let e = failure(400, api_error("invalid_request_error", "temperature: range: 0..1"), &[]).await;
    assert_eq!(e.class(), "invalid_request");
    let e = failure(500, api_error("api_error", "boom"), &[("x-should-retry", "false")]).await;
    assert_eq!(e.class(), "rejected");
}

#[tokio::test]
async fn non_json_error_bodies_are_still_classified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html><h1>502 Bad Gateway</h1></html>"))
        .mount(&server)
        .await;
    let e = provider(&server)
        .complete(&ChatRequest::new("m", "q"))
        .await
        .unwrap_err();
    assert_eq!(e.class(), "server");
    assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
}

// ---------------------------------------------------------------- broken bodies and transport

async fn raw_reply(body: &str, http: HttpConfig) -> LlmError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json"))
        .mount(&server)
        .await;
    Anthropic::builder()
        .api_key(KEY)
        .base_url(server.uri())
        .http(http)
        .build()
        .unwrap()
        .complete(&ChatRequest::new("m", "q"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn truncated_malformed_and_oversized_bodies_are_decode_errors() {
    let truncated = r#"{"id":"msg_1","type":"message","content":[{"type":"text","text":"HubSpot is"#;
    let e = raw_reply(truncated, HttpConfig::default()).await;
    let LlmError::Decode { message, body } = &e else {
        panic!("expected Decode, got {e:?}");
    };
    assert!(message.contains("200"), "{message}");
    assert!(body.contains("HubSpot is"), "the bounded body is kept: {body}");

    assert_eq!(
        raw_reply("not json at all", HttpConfig::default()).await.class(),
        "decode"
    );
    assert_eq!(
        raw_reply(r#"{"content": [{"type": "text", "text": 42}]}"#, HttpConfig::default())
            .await
            .class(),
        "decode"
    );
    assert_eq!(
        raw_reply(r#"{"id": "msg_1"}"#, HttpConfig::default()).await.class(),
        "decode"
    );
    assert_eq!(raw_reply("[]", HttpConfig::default()).await.class(), "decode");

    let big = json!({"content": [{"type": "text", "text": "x".repeat(10_000)}]}).to_string();
    let small = HttpConfig {
        max_body_bytes: 4096,
        ..HttpConfig::default()
    };
    let e = raw_reply(&big, small).await;
    assert_eq!(e.class(), "decode");
    assert!(e.to_string().contains("4096"), "{e}");
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"content": []}))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let provider = Anthropic::builder()
        .api_key(KEY)
        .base_url(server.uri())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let e = provider.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert_eq!(e, LlmError::Timeout(Duration::from_millis(200)));
    assert!(e.is_transient());
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let provider = Anthropic::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let e = provider.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert_eq!(e.class(), "transport");
    assert!(e.is_transient());
    assert!(!e.to_string().contains(KEY));
}

// ---------------------------------------------------------------- configuration and secrets

#[tokio::test]
async fn key_never_appears_in_debug_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(api_error("authentication_error", "invalid x-api-key")))
        .mount(&server)
        .await;
    let provider = provider(&server);
    let debug = format!("{provider:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("ApiKey(***)"), "{debug}");
    let e = provider.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains(KEY));
    assert!(!format!("{:?}", Anthropic::builder().api_key(KEY)).contains(KEY));
}

#[test]
fn from_env_with_missing_key_names_the_variable() {
    let err = Anthropic::from_env_with(|_| None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("ANTHROPIC_API_KEY"), "{err}");

    let provider = Anthropic::from_env_with(|name| match name {
        "ANTHROPIC_API_KEY" => Some(KEY.to_string()),
        "ANTHROPIC_BASE_URL" => Some("http://127.0.0.1:9/".to_string()),
        _ => None,
    })
    .unwrap();
    assert_eq!(provider.id(), "anthropic");
    assert_eq!(provider.config().base_url, "http://127.0.0.1:9/");
    assert_eq!(provider.limits().max_concurrency, 16);
    assert!(!provider.is_replay());

    let err = Anthropic::from_env_with(|name| match name {
        "ANTHROPIC_API_KEY" => Some(KEY.to_string()),
        "ANTHROPIC_BASE_URL" => Some("not a url".to_string()),
        _ => None,
    })
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("ANTHROPIC_BASE_URL"));
}
