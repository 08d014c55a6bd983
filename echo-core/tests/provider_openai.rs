//! The OpenAI provider against local servers speaking OpenAI's wire formats: response
//! bodies shaped as OpenAI documents them (Chat Completions and Responses), the requests
//! Echo sends, and every failure class.

use std::collections::HashMap;
use std::time::Duration;

use echo_core::ErrorKind;
use echo_core::provider::http::HttpConfig;
use echo_core::provider::{
    ChatRequest, FinishReason, LlmError, Message, OpenAi, OpenAiApi, OpenAiConfig, Provider, Usage,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-test-0123456789abcdef";

fn provider(server: &MockServer, api: OpenAiApi) -> OpenAi {
    OpenAi::builder()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .api(api)
        .build()
        .expect("valid settings")
}

async fn serve(api_path: &str, template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(api_path))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn chat_with(template: ResponseTemplate) -> Result<echo_core::provider::ChatResponse, LlmError> {
    let server = serve("/v1/chat/completions", template).await;
    provider(&server, OpenAiApi::ChatCompletions)
        .complete(&ChatRequest::new("gpt-4o-mini", "Best CRM?"))
        .await
}

async fn responses_with(template: ResponseTemplate) -> Result<echo_core::provider::ChatResponse, LlmError> {
    let server = serve("/v1/responses", template).await;
    provider(&server, OpenAiApi::Responses)
        .complete(&ChatRequest::new("gpt-4.1", "Best CRM?"))
        .await
}

/// A Chat Completions body exactly as the API reference documents it.
fn documented_chat_completion() -> Value {
    json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "1. **HubSpot** is a strong free option.\n2. **Pipedrive** suits sales teams.",
                "refusal": null,
                "annotations": []
            },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": 1117,
            "completion_tokens": 46,
            "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306"
    })
}

/// A Responses API body with a web search, as the web search guide documents it.
fn documented_web_search_response() -> Value {
    let text = "HubSpot's free CRM suits small teams [hubspot.com]. Pipedrive focuses on pipelines.";
    json!({
        "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        "object": "response",
        "created_at": 1741476542,
        "status": "completed",
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "model": "gpt-4.1-2025-04-14",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "web_search_call",
                "id": "ws_67c9fa0502748190b7dd390736892e100be649c1a5ff9609",
                "status": "completed",
                "action": {"type": "search", "query": "best CRM small business"}
            },
            {
                "type": "message",
                "id": "msg_67c9fa077e288190af08fdffda2e34f20be649c1a5ff9609",
                "status": "completed",
                "role": "assistant",
                "content": [{
                    "type": "output_text",
                    "text": text,
                    "annotations": [
                        {
                            "type": "url_citation",
                            "start_index": 0,
                            "end_index": 50,
                            "url": "https://www.hubspot.com/products/crm?utm_source=openai",
                            "title": "Free CRM Software | HubSpot"
                        },
                        {
                            "type": "url_citation",
                            "start_index": 52,
                            "end_index": 9999,
                            "url": "https://www.pipedrive.com/",
                            "title": "Pipedrive"
                        }
                    ],
                    "logprobs": []
                }]
            }
        ],
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [{"type": "web_search", "search_context_size": "medium"}],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 328,
            "input_tokens_details": {"cached_tokens": 128},
            "output_tokens": 356,
            "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 684
        },
        "user": null,
        "metadata": {}
    })
}

fn openai_error(status: u16, message: &str, kind: &str, code: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    }))
}

// ---------------------------------------------------------------- Chat Completions

#[tokio::test]
async fn chat_documented_response_maps_every_field() {
    let body = documented_chat_completion();
    let response = chat_with(
        ResponseTemplate::new(200)
            .set_body_json(body.clone())
            .insert_header("x-request-id", "req_8a7b6c")
            .insert_header("x-ratelimit-limit-requests", "10000")
            .insert_header("x-ratelimit-remaining-requests", "9999")
            .insert_header("x-ratelimit-remaining-tokens", "199000")
            .insert_header("x-ratelimit-reset-requests", "6ms"),
    )
    .await
    .expect("a documented response parses");

    assert!(response.text.starts_with("1. **HubSpot**"));
    assert!(response.citations.is_empty());
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: Some(1117),
            output_tokens: Some(46),
            cached_input_tokens: Some(1024),
            reasoning_tokens: Some(0),
        }
    );
    assert_eq!(response.served_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    assert_eq!(
        response.request_id.as_deref(),
        Some("req_8a7b6c"),
        "the header wins over the body id"
    );
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    let limits = response.rate_limit.expect("rate-limit headers parsed");
    assert_eq!(limits.limit_requests, Some(10000));
    assert_eq!(limits.remaining_tokens, Some(199000));
    assert_eq!(limits.reset_requests, Some(Duration::from_millis(6)));
    assert_eq!(response.raw, Some(body));
}

#[tokio::test]
async fn chat_request_carries_auth_org_project_and_every_option() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("openai-organization", "org-echo"))
        .and(header("openai-project", "proj_echo"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "model": "gpt-4o-search-preview",
            "messages": [
                {"role": "system", "content": "Answer as a buyer's guide."},
                {"role": "user", "content": "Best CRM?"}
            ],
            "temperature": 0.7,
            "max_completion_tokens": 256,
            "seed": 42,
            "web_search_options": {}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(documented_chat_completion()))
        .expect(1)
        .mount(&server)
        .await;
    let provider = OpenAi::builder()
        .api_key(KEY)
        .base_url(format!("{}/v1/", server.uri()))
        .organization("org-echo")
        .project("proj_echo")
        .build()
        .unwrap();
    let request = ChatRequest {
        model: "gpt-4o-search-preview".into(),
        messages: vec![
            Message::system("Answer as a buyer's guide."),
            Message::user("Best CRM?"),
        ],
        temperature: Some(0.7),
        max_output_tokens: Some(256),
        web_search: true,
        seed: Some(42),
    };
    provider.complete(&request).await.expect("the mock matched the request");

    let sent: Value = server.received_requests().await.unwrap()[0].body_json().unwrap();
    assert!(sent.get("max_tokens").is_none(), "only the current spelling is sent");
}

#[tokio::test]
async fn chat_request_omits_unset_options_and_fits_large_seeds() {
    let server = serve(
        "/v1/chat/completions",
        ResponseTemplate::new(200).set_body_json(documented_chat_completion()),
    )
    .await;
    let provider = provider(&server, OpenAiApi::ChatCompletions);
    provider
        .complete(&ChatRequest::new("gpt-4o-mini", "Best CRM?"))
        .await
        .unwrap();
    let mut seeded = ChatRequest::new("gpt-4o-mini", "Best CRM?");
    seeded.seed = Some(9_662_374_541_818_093_670);
    provider.complete(&seeded).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let plain: Value = requests[0].body_json().unwrap();
    for absent in [
        "temperature",
        "max_completion_tokens",
        "seed",
        "web_search_options",
        "tools",
    ] {
        assert!(
            plain.get(absent).is_none(),
            "{absent} must not be sent when unset: {plain}"
        );
    }
    assert!(requests[0].headers.get("openai-organization").is_none());
    let seed = json_u64(&requests[1].body_json::<Value>().unwrap()["seed"]);
    assert!(seed <= i64::MAX as u64, "OpenAI reads seed as a signed 64-bit integer");
    assert_eq!(seed, 9_662_374_541_818_093_670 & (i64::MAX as u64));
}

fn json_u64(v: &Value) -> u64 {
    v.as_u64().expect("an unsigned integer")
}

#[tokio::test]
async fn chat_optional_fields_absent_null_or_unknown() {
    let response = chat_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-minimal",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null}, "finish_reason": null}],
        "some_future_field": {"nested": [1, 2, 3]}
    })))
    .await
    .expect("optional fields may be missing");
    assert_eq!(response.text, "", "null content is an empty answer, not an error");
    assert_eq!(response.usage, Usage::default(), "no usage reported: every field None");
    assert_eq!(response.finish_reason, None);
    assert_eq!(
        response.request_id.as_deref(),
        Some("chatcmpl-minimal"),
        "body id without a header"
    );
    assert_eq!(response.rate_limit, None);

    let response = chat_with(ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"message": {"role": "assistant", "content": "Hi", "refusal": null, "annotations": null},
                     "finish_reason": "stop", "logprobs": null}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "prompt_tokens_details": null,
                  "completion_tokens_details": null}
    })))
    .await
    .unwrap();
    assert_eq!(response.text, "Hi");
    assert_eq!(response.served_model, None);
    assert_eq!(response.request_id, None);
    assert_eq!(response.usage.input_tokens, Some(5));
    assert_eq!(
        response.usage.cached_input_tokens, None,
        "null details are not reported, not 0"
    );
    assert_eq!(response.usage.reasoning_tokens, None);
}

#[tokio::test]
async fn chat_url_citations_become_citations_with_the_cited_span() {
    let text = "Según G2, HubSpot lidera — Pipedrive sigue.";
    // Character (not byte) indices: "HubSpot" is characters 10..17.
    let response = chat_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-search",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-search-preview-2025-03-11",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": text,
                "refusal": null,
                "annotations": [
                    {"type": "url_citation", "url_citation": {
                        "url": "https://www.g2.com/categories/crm?utm_source=openai",
                        "title": "Best CRM Software", "start_index": 10, "end_index": 17}},
                    {"type": "url_citation", "url_citation": {
                        "url": "https://www.pipedrive.com/", "title": "", "start_index": 40, "end_index": 400}}
                ]
            },
            "finish_reason": "stop"
        }]
    })))
    .await
    .unwrap();
    assert_eq!(response.citations.len(), 2);
    let g2 = &response.citations[0];
    assert_eq!(g2.url, "https://www.g2.com/categories/crm?utm_source=openai");
    assert_eq!(g2.domain, "g2.com");
    assert_eq!(g2.title.as_deref(), Some("Best CRM Software"));
    assert_eq!(g2.cited_text.as_deref(), Some("HubSpot"));
    let pipedrive = &response.citations[1];
    assert_eq!(pipedrive.domain, "pipedrive.com");
    assert_eq!(pipedrive.title, None, "an empty title is no title");
    assert_eq!(pipedrive.cited_text, None, "indices past the end give no span");
}

#[tokio::test]
async fn chat_finish_reasons() {
    for (raw, expected) in [
        ("length", Some(FinishReason::Length)),
        ("tool_calls", Some(FinishReason::ToolUse)),
        ("", None),
        ("something_new", Some(FinishReason::Other("something_new".into()))),
    ] {
        let response = chat_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"content": "partial"}, "finish_reason": raw}]
        })))
        .await
        .unwrap();
        assert_eq!(response.finish_reason, expected, "finish_reason {raw:?}");
    }
}

#[tokio::test]
async fn chat_refusals_and_content_filter_are_content_filtered() {
    let refusal = chat_with(ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"message": {"role": "assistant", "content": null,
                                 "refusal": "I'm sorry, I can't help with that."},
                     "finish_reason": "stop"}]
    })))
    .await
    .unwrap_err();
    assert_eq!(refusal.class(), "content_filtered");
    assert!(refusal.to_string().contains("can't help"));

    let filtered = chat_with(ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"message": {"role": "assistant", "content": "Partial"}, "finish_reason": "content_filter"}]
    })))
    .await
    .unwrap_err();
    assert_eq!(filtered.class(), "content_filtered");
    assert!(!filtered.is_transient());
}

#[tokio::test]
async fn chat_without_choices_is_a_decode_error() {
    let err = chat_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x", "choices": []})))
        .await
        .unwrap_err();
    match err {
        LlmError::Decode { message, body } => {
            assert!(message.contains("no choices"), "{message}");
            assert!(body.contains("\"choices\""));
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

// ---------------------------------------------------------------- Responses API

#[tokio::test]
async fn responses_documented_web_search_answer() {
    let body = documented_web_search_response();
    let response = responses_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .await
        .expect("a documented response parses");
    assert_eq!(
        response.text,
        "HubSpot's free CRM suits small teams [hubspot.com]. Pipedrive focuses on pipelines."
    );
    assert_eq!(response.citations.len(), 2);
    assert_eq!(response.citations[0].domain, "hubspot.com");
    assert_eq!(
        response.citations[0].title.as_deref(),
        Some("Free CRM Software | HubSpot")
    );
    assert_eq!(
        response.citations[0].cited_text.as_deref(),
        Some("HubSpot's free CRM suits small teams [hubspot.com]")
    );
    assert_eq!(response.citations[1].cited_text, None);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: Some(328),
            output_tokens: Some(356),
            cached_input_tokens: Some(128),
            reasoning_tokens: Some(64),
        }
    );
    assert_eq!(response.served_model.as_deref(), Some("gpt-4.1-2025-04-14"));
    assert_eq!(
        response.request_id.as_deref(),
        Some("resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b")
    );
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    assert_eq!(response.raw, Some(body));
}

#[tokio::test]
async fn responses_request_uses_instructions_input_and_the_search_tool() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(json!({
            "model": "gpt-4.1",
            "instructions": "Answer as a buyer's guide.",
            "input": "Best CRM?",
            "max_output_tokens": 512,
            "temperature": 0.2,
            "tools": [{"type": "web_search"}],
            "store": false
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(documented_web_search_response()))
        .expect(1)
        .mount(&server)
        .await;
    let request = ChatRequest {
        model: "gpt-4.1".into(),
        messages: vec![
            Message::system("Answer as a buyer's guide."),
            Message::user("Best CRM?"),
        ],
        temperature: Some(0.2),
        max_output_tokens: Some(512),
        web_search: true,
        seed: Some(7),
    };
    provider(&server, OpenAiApi::Responses)
        .complete(&request)
        .await
        .unwrap();
    let sent: Value = server.received_requests().await.unwrap()[0].body_json().unwrap();
    assert!(sent.get("seed").is_none(), "the Responses API has no seed parameter");
    assert!(sent.get("messages").is_none());

    let server = serve(
        "/v1/responses",
        ResponseTemplate::new(200).set_body_json(documented_web_search_response()),
    )
    .await;
    provider(&server, OpenAiApi::Responses)
        .complete(&ChatRequest::new("gpt-4.1", "Best CRM?"))
        .await
        .unwrap();
    let sent: Value = server.received_requests().await.unwrap()[0].body_json().unwrap();
    for absent in ["instructions", "tools", "temperature", "max_output_tokens"] {
        assert!(
            sent.get(absent).is_none(),
            "{absent} must not be sent when unset: {sent}"
        );
    }
}

#[tokio::test]
async fn responses_minimal_and_unknown_items() {
    let response = responses_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_1",
        "status": "completed",
        "output": [
            {"type": "some_future_item", "content": "not a list"},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Hub", "annotations": []},
                {"type": "output_text", "text": "Spot"}
            ]}
        ],
        "usage": null
    })))
    .await
    .unwrap();
    assert_eq!(response.text, "HubSpot");
    assert_eq!(response.usage, Usage::default());
    assert_eq!(response.served_model, None);

    let empty = responses_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_2", "status": "completed", "output": []
    })))
    .await
    .unwrap();
    assert_eq!(empty.text, "", "no output text is a valid empty answer");
}

#[tokio::test]
async fn responses_incomplete_statuses() {
    let truncated = responses_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_1", "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "1. HubSpot", "annotations": []}]}]
    })))
    .await
    .unwrap();
    assert_eq!(truncated.finish_reason, Some(FinishReason::Length));
    assert_eq!(truncated.text, "1. HubSpot");

    let filtered = responses_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_2", "status": "incomplete",
        "incomplete_details": {"reason": "content_filter"}, "output": []
    })))
    .await
    .unwrap_err();
    assert_eq!(filtered.class(), "content_filtered");

    let refused = responses_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_3", "status": "completed",
        "output": [{"type": "message", "content": [{"type": "refusal", "refusal": "I can't help with that."}]}]
    })))
    .await
    .unwrap_err();
    assert_eq!(refused.class(), "content_filtered");
}

#[tokio::test]
async fn responses_error_object_in_a_200_is_classified() {
    let failed = responses_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_1", "object": "response", "status": "failed",
        "error": {"code": "server_error", "message": "The model failed to generate a response."},
        "output": []
    })))
    .await
    .unwrap_err();
    assert_eq!(failed.class(), "server");
    assert!(failed.is_transient());

    let limited = responses_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_2", "status": "failed",
        "error": {"code": "rate_limit_exceeded", "message": "Too many requests"}, "output": []
    })))
    .await
    .unwrap_err();
    assert_eq!(limited.class(), "rate_limited");

    let invalid = responses_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_3", "status": "failed",
        "error": {"code": "invalid_prompt", "message": "Invalid prompt"}, "output": []
    })))
    .await
    .unwrap_err();
    assert_eq!(invalid.class(), "invalid_request");
}

// ---------------------------------------------------------------- errors and faults

#[tokio::test]
async fn error_statuses_map_to_their_classes() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (
            openai_error(
                429,
                "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.",
                "requests",
                Some("rate_limit_exceeded"),
            )
            .insert_header("retry-after", "7"),
            "rate_limited",
        ),
        (
            openai_error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                Some("insufficient_quota"),
            ),
            "quota_exhausted",
        ),
        (
            openai_error(
                401,
                "Incorrect API key provided: sk-test-****cdef.",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            "auth",
        ),
        (
            openai_error(
                400,
                "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
                "invalid_request_error",
                Some("context_length_exceeded"),
            ),
            "context_length",
        ),
        (
            openai_error(
                400,
                "Unrecognized request argument supplied: foo",
                "invalid_request_error",
                None,
            ),
            "invalid_request",
        ),
        (
            openai_error(
                404,
                "The model `gpt-9` does not exist or you do not have access to it.",
                "invalid_request_error",
                Some("model_not_found"),
            ),
            "invalid_request",
        ),
        (
            openai_error(
                500,
                "The server had an error while processing your request.",
                "server_error",
                None,
            ),
            "server",
        ),
        (
            openai_error(503, "The engine is currently overloaded.", "server_error", None)
                .insert_header("x-should-retry", "false"),
            "rejected",
        ),
        (
            ResponseTemplate::new(502).set_body_string("<html><body>502 Bad Gateway</body></html>"),
            "server",
        ),
    ];
    for api in [OpenAiApi::ChatCompletions, OpenAiApi::Responses] {
        let api_path = match api {
            OpenAiApi::ChatCompletions => "/v1/chat/completions",
            OpenAiApi::Responses => "/v1/responses",
        };
        for (template, class) in &cases {
            let server = serve(api_path, template.clone()).await;
            let err = provider(&server, api)
                .complete(&ChatRequest::new("gpt-4o-mini", "q"))
                .await
                .unwrap_err();
            assert_eq!(err.class(), *class, "{api:?}: {err}");
        }
    }
}

#[tokio::test]
async fn rate_limit_carries_the_retry_after_and_quota_is_final() {
    let err = chat_with(
        openai_error(429, "Rate limit reached", "requests", Some("rate_limit_exceeded"))
            .insert_header("retry-after", "7"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
            message: "Rate limit reached".into()
        }
    );
    assert!(err.is_transient());

    let err = chat_with(openai_error(
        429,
        "You exceeded your current quota",
        "insufficient_quota",
        Some("insufficient_quota"),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, LlmError::QuotaExhausted(_)), "{err:?}");
    assert!(!err.is_transient(), "a 429 for quota must not be retried");

    let err = chat_with(openai_error(503, "busy", "server_error", None).insert_header("x-should-retry", "false"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LlmError::Rejected {
            status: 503,
            message: "busy".into()
        }
    );
}

#[tokio::test]
async fn truncated_body_is_a_decode_error() {
    let full = serde_json::to_string(&documented_chat_completion()).unwrap();
    let cut = &full[..full.len() / 2];
    let err = chat_with(ResponseTemplate::new(200).set_body_raw(cut.as_bytes().to_vec(), "application/json"))
        .await
        .unwrap_err();
    match err {
        LlmError::Decode { body, .. } => assert_eq!(body, cut),
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_with_a_bounded_body() {
    let garbage = format!("{{\"choices\": [{}", "x".repeat(100_000));
    let err = chat_with(ResponseTemplate::new(200).set_body_raw(garbage.into_bytes(), "application/json"))
        .await
        .unwrap_err();
    match err {
        LlmError::Decode { message, body } => {
            assert!(message.contains("invalid JSON"), "{message}");
            assert!(body.len() < 4_096, "the kept body is bounded, got {} bytes", body.len());
            assert!(body.starts_with("{\"choices\""));
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = serve(
        "/v1/chat/completions",
        ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"content": "x".repeat(10_000)}, "finish_reason": "stop"}]
        })),
    )
    .await;
    let provider = OpenAi::builder()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .max_body_bytes(1_024)
        .build()
        .unwrap();
    let err = provider.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    match err {
        LlmError::Decode { message, .. } => assert!(message.contains("1024-byte limit"), "{message}"),
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = serve(
        "/v1/chat/completions",
        ResponseTemplate::new(200)
            .set_body_json(documented_chat_completion())
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let provider = OpenAi::builder()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.uri()))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = provider.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout(Duration::from_millis(200)));
    assert!(err.is_transient());
}

#[tokio::test]
async fn refused_connection_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let provider = OpenAi::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .build()
        .unwrap();
    let err = provider.complete(&ChatRequest::new("m", "q")).await.unwrap_err();
    assert_eq!(err.class(), "transport", "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn the_key_never_shows_in_debug_or_errors() {
    let leaky = openai_error(
        401,
        &format!("Incorrect API key provided: {KEY}."),
        "invalid_request_error",
        Some("invalid_api_key"),
    );
    let err = chat_with(leaky).await.unwrap_err();
    assert_eq!(err.class(), "auth");
    assert!(!err.to_string().contains(KEY), "{err}");
    assert!(!format!("{err:?}").contains(KEY));

    let echo = chat_with(ResponseTemplate::new(200).set_body_string(format!("not json, but {KEY}")))
        .await
        .unwrap_err();
    assert!(!format!("{echo:?}").contains(KEY), "{echo:?}");

    let server = MockServer::start().await;
    let provider = provider(&server, OpenAiApi::Responses);
    let shown = format!("{provider:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("ApiKey(***)"));
    assert!(!format!("{:?}", provider.config()).contains(KEY));
    assert!(!format!("{:?}", OpenAi::builder().api_key(KEY)).contains(KEY));
}

// ---------------------------------------------------------------- configuration

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

#[test]
fn from_env_requires_the_key_and_reads_the_overrides() {
    for missing in [env(&[]), env(&[("OPENAI_API_KEY", "  ")])] {
        let err = OpenAi::from_env_with(missing).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    }

    let provider = OpenAi::from_env_with(env(&[
        ("OPENAI_API_KEY", KEY),
        ("OPENAI_BASE_URL", "https://gateway.example.com/openai/v1/"),
        ("OPENAI_ORG_ID", "org-echo"),
        ("OPENAI_PROJECT_ID", "proj_echo"),
    ]))
    .unwrap();
    assert_eq!(provider.id(), "openai");
    let config = provider.config();
    assert_eq!(config.base_url, "https://gateway.example.com/openai/v1");
    assert_eq!(config.organization.as_deref(), Some("org-echo"));
    assert_eq!(config.project.as_deref(), Some("proj_echo"));
    assert_eq!(config.api, OpenAiApi::ChatCompletions);
    assert_eq!(config.api_key.expose(), KEY);

    let defaults = OpenAiConfig::from_env_with(env(&[("OPENAI_API_KEY", KEY)])).unwrap();
    assert_eq!(defaults.base_url, "https://api.openai.com/v1");
    assert_eq!(defaults.organization, None);

    let err =
        OpenAi::from_env_with(env(&[("OPENAI_API_KEY", KEY), ("OPENAI_BASE_URL", "api.openai.com")])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("OPENAI_BASE_URL"));
}

#[test]
fn builder_validates_and_sets_limits() {
    let err = OpenAi::builder().build().unwrap_err();
    assert_eq!(err.field(), Some("openai.api_key"));
    assert!(err.to_string().contains("OPENAI_API_KEY"));

    let err = OpenAi::builder()
        .api_key(KEY)
        .base_url("ftp://example.com")
        .build()
        .unwrap_err();
    assert_eq!(err.field(), Some("openai.base_url"));
    let err = OpenAi::builder()
        .api_key(KEY)
        .base_url("not a url")
        .build()
        .unwrap_err();
    assert_eq!(err.field(), Some("openai.base_url"));
    let err = OpenAi::builder().api_key(KEY).max_concurrency(0).build().unwrap_err();
    assert_eq!(err.field(), Some("openai.limits.max_concurrency"));
    let err = OpenAi::builder()
        .api_key(KEY)
        .organization("org\nx")
        .build()
        .unwrap_err();
    assert_eq!(err.field(), Some("openai.organization"));
    let err = OpenAi::builder().api_key(" ").build().unwrap_err();
    assert_eq!(err.field(), Some("openai.api_key"));

    let provider = OpenAi::builder().api_key(KEY).build().unwrap();
    assert_eq!(provider.limits().max_concurrency, 32);
    assert_eq!(provider.limits().requests_per_minute, None);
    assert!(!provider.is_replay());

    let provider = OpenAi::builder()
        .api_key(KEY)
        .max_concurrency(100)
        .requests_per_minute(5_000)
        .http(HttpConfig {
            max_body_bytes: 4096,
            ..HttpConfig::default()
        })
        .build()
        .unwrap();
    assert_eq!(provider.limits().max_concurrency, 100);
    assert_eq!(provider.limits().requests_per_minute, Some(5_000));
    assert_eq!(provider.config().http.max_body_bytes, 4096);
}
