//! The Gemini provider against a local server speaking the `generateContent` wire format,
//! with bodies shaped as the Gemini API documents them.

use std::collections::HashMap;
use std::time::Duration;

use echo_core::provider::http::HttpConfig;
use echo_core::provider::{ChatRequest, ChatResponse, FinishReason, Gemini, LlmError, Message, Provider};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "AIzaSyTEST-gemini-key-0123456789abcdef";
const FLASH_PATH: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const REDIRECT: &str = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/";

fn provider(server: &MockServer) -> Gemini {
    Gemini::builder().api_key(KEY).base_url(server.uri()).build().unwrap()
}

fn question() -> ChatRequest {
    ChatRequest::new("gemini-2.5-flash", "What is the best CRM for a 10-person startup?")
}

/// Serves `template` for any generateContent call and asks one question.
async fn ask_with(template: ResponseTemplate, request: &ChatRequest) -> (Result<ChatResponse, LlmError>, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(template).mount(&server).await;
    let result = provider(&server).complete(request).await;
    (result, server)
}

async fn ask(template: ResponseTemplate) -> Result<ChatResponse, LlmError> {
    ask_with(template, &question()).await.0
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Google's error envelope.
fn google_error(code: u16, status: &str, message: &str, details: Value) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({
        "error": { "code": code, "message": message, "status": status, "details": details }
    }))
}

/// The documented shape of a plain answer.
fn plain_answer() -> Value {
    json!({
        "candidates": [{
            "content": {
                "parts": [{ "text": "For a 10-person startup, HubSpot CRM and Pipedrive are popular choices." }],
                "role": "model"
            },
            "finishReason": "STOP",
            "avgLogprobs": -0.31,
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": 12,
            "candidatesTokenCount": 17,
            "totalTokenCount": 29,
            "promptTokensDetails": [{ "modality": "TEXT", "tokenCount": 12 }]
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "mJ4gaLnAJ8Kd1dkP9ZqgqAI"
    })
}

/// The documented shape of a Google Search grounded answer (redirect links whose titles
/// are the sources' domains), plus a direct link and a non-web chunk.
fn grounded_answer() -> Value {
    json!({
        "candidates": [{
            "content": {
                "parts": [{ "text": "HubSpot offers a free CRM tier. Pipedrive focuses on sales pipelines. Both integrate with Gmail." }],
                "role": "model"
            },
            "finishReason": "STOP",
            "groundingMetadata": {
                "webSearchQueries": ["best CRM for small startup"],
                "searchEntryPoint": { "renderedContent": "<style>.container{}</style><div class=\"container\"></div>" },
                "groundingChunks": [
                    { "web": { "uri": format!("{REDIRECT}AbF9wXHubspot"), "title": "hubspot.com" } },
                    { "web": { "uri": format!("{REDIRECT}AbF9wXPipedrive"), "title": "www.Pipedrive.com" } },
                    { "web": { "uri": format!("{REDIRECT}AbF9wXHubspot"), "title": "hubspot.com" } },
                    { "web": { "uri": "https://www.g2.com/categories/crm", "title": "Best CRM Software - G2" } },
                    { "retrievedContext": { "uri": "gs://bucket/doc.pdf", "title": "doc" } },
                    { "web": { "uri": format!("{REDIRECT}AbF9wXOpaque"), "title": "Top 10 CRMs of 2025" } }
                ],
                "groundingSupports": [
                    {
                        "segment": { "endIndex": 31, "text": "HubSpot offers a free CRM tier." },
                        "groundingChunkIndices": [0, 3],
                        "confidenceScores": [0.97, 0.61]
                    },
                    {
                        "segment": { "startIndex": 32, "endIndex": 69 },
                        "groundingChunkIndices": [1, 2, 99, -1]
                    },
                    {
                        "segment": { "startIndex": 70, "endIndex": 96, "text": "Both integrate with Gmail." },
                        "groundingChunkIndices": [1, 5]
                    }
                ]
            }
        }],
        "usageMetadata": {
            "promptTokenCount": 10,
            "candidatesTokenCount": 21,
            "toolUsePromptTokenCount": 180,
            "totalTokenCount": 211
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "grounded-1"
    })
}

#[tokio::test]
async fn plain_answer_is_normalized() {
    let response = ask(ok_json(plain_answer())).await.unwrap();
    assert_eq!(
        response.text,
        "For a 10-person startup, HubSpot CRM and Pipedrive are popular choices."
    );
    assert!(response.citations.is_empty());
    assert_eq!(response.usage.input_tokens, Some(12));
    assert_eq!(response.usage.output_tokens, Some(17));
    assert_eq!(response.usage.reasoning_tokens, None);
    assert_eq!(response.usage.cached_input_tokens, None);
    assert_eq!(response.served_model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(response.request_id.as_deref(), Some("mJ4gaLnAJ8Kd1dkP9ZqgqAI"));
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    assert_eq!(response.rate_limit, None);
    assert_eq!(response.raw, Some(plain_answer()));
}

#[tokio::test]
async fn request_carries_path_key_header_and_documented_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FLASH_PATH))
        .and(header("x-goog-api-key", KEY))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "contents": [{ "role": "user", "parts": [{ "text": "Which CRM?" }] }],
            "systemInstruction": { "parts": [{ "text": "Answer briefly." }] },
            "generationConfig": { "temperature": 0.7, "maxOutputTokens": 512, "seed": 42 },
            "tools": [{ "google_search": {} }]
        })))
        .respond_with(ok_json(plain_answer()))
        .expect(1)
        .mount(&server)
        .await;
    let request = ChatRequest {
        messages: vec![Message::system("Answer briefly."), Message::user("Which CRM?")],
        temperature: Some(0.7),
        max_output_tokens: Some(512),
        web_search: true,
        seed: Some(42),
        ..ChatRequest::new("models/gemini-2.5-flash", "")
    };
    provider(&server).complete(&request).await.unwrap();

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let sent = &received[0];
    assert_eq!(sent.url.query(), None, "nothing may travel in the query string");
    assert!(!sent.url.as_str().contains(KEY));
    let body: Value = sent.body_json().unwrap();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(body["generationConfig"].as_object().unwrap().len(), 3);
    assert_eq!(body["contents"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn optional_fields_are_omitted_and_large_seeds_fit_int32() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FLASH_PATH))
        .respond_with(ok_json(plain_answer()))
        .mount(&server)
        .await;
    let gemini = provider(&server);
    gemini.complete(&question()).await.unwrap();
    let seeded = ChatRequest {
        seed: Some(9_662_374_541_818_093_670),
        messages: vec![
            Message::user("first question"),
            Message {
                role: echo_core::provider::Role::Assistant,
                content: "first answer".into(),
            },
            Message::user("follow-up"),
        ],
        ..question()
    };
    gemini.complete(&seeded).await.unwrap();

    let received = server.received_requests().await.unwrap();
    let plain: Value = received[0].body_json().unwrap();
    assert_eq!(
        plain,
        json!({ "contents": [{ "role": "user", "parts": [{ "text": "What is the best CRM for a 10-person startup?" }] }] })
    );
    let seeded: Value = received[1].body_json().unwrap();
    let seed = seeded["generationConfig"]["seed"].as_i64().unwrap();
    assert!((0..=i64::from(i32::MAX)).contains(&seed), "{seed}");
    assert_eq!(seeded["generationConfig"].as_object().unwrap().len(), 1);
    let roles: Vec<&str> = seeded["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"]);
    assert!(seeded.get("tools").is_none() && seeded.get("systemInstruction").is_none());
}

#[tokio::test]
async fn unsafe_model_names_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_json(plain_answer()))
        .mount(&server)
        .await;
    let gemini = provider(&server);
    for model in [
        "",
        "models/",
        "../v1/files",
        "models/gemini/../../files",
        "tunedModels/my-model",
        "gemini-2.5-flash?alt=sse",
        "gemini-2.5-flash#x",
        "gemini 2.5",
        "gemini-2.5-flash:streamGenerateContent",
        "gemini%2F..",
    ] {
        let err = gemini.complete(&ChatRequest::new(model, "hi")).await.unwrap_err();
        assert!(matches!(err, LlmError::InvalidRequest(_)), "{model:?}: {err:?}");
        assert!(err.to_string().contains("model"), "{err}");
    }
    let err = gemini
        .complete(&ChatRequest {
            messages: vec![Message::system("only a system prompt")],
            ..question()
        })
        .await
        .unwrap_err();
    assert_eq!(err.class(), "invalid_request");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn grounding_metadata_becomes_citations() {
    let response = ask(ok_json(grounded_answer())).await.unwrap();
    let got: Vec<(&str, &str, Option<&str>, Option<&str>)> = response
        .citations
        .iter()
        .map(|c| {
            (
                c.url.as_str(),
                c.domain.as_str(),
                c.title.as_deref(),
                c.cited_text.as_deref(),
            )
        })
        .collect();
    let hubspot = format!("{REDIRECT}AbF9wXHubspot");
    let pipedrive = format!("{REDIRECT}AbF9wXPipedrive");
    let opaque = format!("{REDIRECT}AbF9wXOpaque");
    assert_eq!(
        got,
        vec![
            (
                hubspot.as_str(),
                "hubspot.com",
                Some("hubspot.com"),
                Some("HubSpot offers a free CRM tier.")
            ),
            // No segment text: the span is cut from the answer by its byte offsets.
            (
                pipedrive.as_str(),
                "pipedrive.com",
                Some("www.Pipedrive.com"),
                Some("Pipedrive focuses on sales pipelines.")
            ),
            (
                "https://www.g2.com/categories/crm",
                "g2.com",
                Some("Best CRM Software - G2"),
                Some("HubSpot offers a free CRM tier.")
            ),
            // A redirect whose title is not a domain keeps the redirect host.
            (
                opaque.as_str(),
                "vertexaisearch.cloud.google.com",
                Some("Top 10 CRMs of 2025"),
                Some("Both integrate with Gmail.")
            ),
        ]
    );
    assert_eq!(response.usage.input_tokens, Some(10));
    assert_eq!(response.usage.output_tokens, Some(21));
}

#[tokio::test]
async fn thought_parts_are_skipped_and_thinking_tokens_reported_apart() {
    let body = json!({
        "candidates": [{
            "content": {
                "parts": [
                    { "text": "**Weighing the options** The user wants a CRM...", "thought": true },
                    { "text": "HubSpot is a strong free option", "thoughtSignature": "CiQB0e2Kb..." },
                    { "text": ", and Pipedrive suits sales-led teams.", "thought": false }
                ],
                "role": "model"
            },
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": 11,
            "candidatesTokenCount": 14,
            "totalTokenCount": 1125,
            "thoughtsTokenCount": 1100,
            "cachedContentTokenCount": 4
        },
        "modelVersion": "gemini-2.5-pro",
        "responseId": "think-1"
    });
    let response = ask(ok_json(body)).await.unwrap();
    assert_eq!(
        response.text,
        "HubSpot is a strong free option, and Pipedrive suits sales-led teams."
    );
    assert_eq!(response.usage.output_tokens, Some(14));
    assert_eq!(response.usage.reasoning_tokens, Some(1100));
    assert_eq!(response.usage.cached_input_tokens, Some(4));
    assert_eq!(response.served_model.as_deref(), Some("gemini-2.5-pro"));
}

#[tokio::test]
async fn absent_null_and_unknown_fields_parse() {
    let body = json!({
        "candidates": [{
            "content": { "parts": [{ "text": "Answer" }, { "inlineData": { "mimeType": "image/png", "data": "AA==" } }], "role": "model" },
            "finishReason": null,
            "groundingMetadata": null,
            "citationMetadata": { "citationSources": [{ "startIndex": 0, "endIndex": 6 }] },
            "someFutureField": { "nested": [1, 2, 3] }
        }],
        "usageMetadata": null,
        "modelVersion": null,
        "createTime": "2025-09-01T10:00:00Z",
        "anotherNewField": true
    });
    let template = ok_json(body).insert_header("x-request-id", "req-from-header");
    let response = ask(template).await.unwrap();
    assert_eq!(response.text, "Answer");
    assert_eq!(response.usage, echo_core::provider::Usage::default());
    assert_eq!(response.served_model, None);
    assert_eq!(response.finish_reason, None);
    assert_eq!(response.request_id.as_deref(), Some("req-from-header"));

    // No usage at all, empty content, an empty candidate list: valid, with nothing made up.
    let response = ask(ok_json(
        json!({ "candidates": [{ "content": { "role": "model" }, "finishReason": "STOP" }] }),
    ))
    .await
    .unwrap();
    assert_eq!(response.text, "");
    assert_eq!(response.usage.input_tokens, None);
    assert_eq!(response.request_id, None);
    let response = ask(ok_json(json!({ "candidates": [] }))).await.unwrap();
    assert_eq!(response.text, "");
    assert_eq!(response.finish_reason, None);
}

#[tokio::test]
async fn finish_reasons_map() {
    for (raw, expected) in [
        ("MAX_TOKENS", FinishReason::Length),
        ("LANGUAGE", FinishReason::Other("LANGUAGE".into())),
        ("OTHER", FinishReason::Other("OTHER".into())),
        (
            "MALFORMED_FUNCTION_CALL",
            FinishReason::Other("MALFORMED_FUNCTION_CALL".into()),
        ),
    ] {
        let mut body = plain_answer();
        body["candidates"][0]["finishReason"] = json!(raw);
        let response = ask(ok_json(body)).await.unwrap();
        assert_eq!(response.finish_reason, Some(expected));
    }
}

#[tokio::test]
async fn blocked_answers_and_prompts_are_content_filtered() {
    for reason in ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"] {
        let body = json!({
            "candidates": [{
                "finishReason": reason,
                "index": 0,
                "safetyRatings": [
                    { "category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true },
                    { "category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE" }
                ]
            }],
            "usageMetadata": { "promptTokenCount": 9, "totalTokenCount": 9 },
            "modelVersion": "gemini-2.5-flash"
        });
        let err = ask(ok_json(body)).await.unwrap_err();
        assert!(matches!(err, LlmError::ContentFiltered(_)), "{reason}: {err:?}");
        assert!(err.to_string().contains(reason));
        assert!(!err.is_transient());
        if reason == "SAFETY" {
            assert!(err.to_string().contains("HARM_CATEGORY_DANGEROUS_CONTENT"), "{err}");
            assert!(!err.to_string().contains("HARM_CATEGORY_HARASSMENT"), "{err}");
        }
    }

    let body = json!({
        "promptFeedback": {
            "blockReason": "PROHIBITED_CONTENT",
            "safetyRatings": [{ "category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "HIGH", "blocked": true }]
        },
        "usageMetadata": { "promptTokenCount": 7, "totalTokenCount": 7 },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "blocked-1"
    });
    let err = ask(ok_json(body)).await.unwrap_err();
    assert_eq!(err.class(), "content_filtered");
    assert!(err.to_string().contains("blockReason PROHIBITED_CONTENT"), "{err}");
}

#[tokio::test]
async fn rate_limits_use_retry_after_else_retry_info() {
    let details = json!([
        { "@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
            { "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
              "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
              "quotaDimensions": { "location": "global", "model": "gemini-2.5-flash" }, "quotaValue": "10" }
        ]},
        { "@type": "type.googleapis.com/google.rpc.Help", "links": [
            { "description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits" }
        ]},
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s" }
    ]);
    let message = "You exceeded your current quota, please check your plan and billing details.";
    let err = ask(google_error(429, "RESOURCE_EXHAUSTED", message, details.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LlmError::RateLimited { retry_after: Some(d), message } if *d == Duration::from_secs(17) && message.contains("RESOURCE_EXHAUSTED")),
        "{err:?}"
    );
    assert!(err.is_transient());

    let with_header = google_error(429, "RESOURCE_EXHAUSTED", message, details).insert_header("retry-after", "3");
    let err = ask(with_header).await.unwrap_err();
    assert_eq!(err.class(), "rate_limited");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));

    let err = ask(google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        json!(null),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.class(), "rate_limited");
    assert_eq!(err.retry_after(), None);
}

#[tokio::test]
async fn exhausted_daily_quota_is_not_retried() {
    let details = json!([
        { "@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
            { "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
              "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier" }
        ]},
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "40s" }
    ]);
    let err = ask(google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota.",
        details,
    ))
    .await
    .unwrap_err();
    assert_eq!(err.class(), "quota_exhausted");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn auth_failures() {
    // Google's documented reply to a bad key: 400, not 401.
    let details = json!([
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
          "metadata": { "service": "generativelanguage.googleapis.com" } },
        { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
          "message": "API key not valid. Please pass a valid API key." }
    ]);
    let err = ask(google_error(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        details,
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&err, LlmError::Auth(m) if m.contains("API key not valid")),
        "{err:?}"
    );

    let err = ask(google_error(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity).",
        json!([]),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.class(), "auth");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn oversized_prompt_is_context_length() {
    let err = ask(google_error(
        400,
        "INVALID_ARGUMENT",
        "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
        json!(null),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, LlmError::ContextLength(_)), "{err:?}");
}

#[tokio::test]
async fn other_statuses_map_to_their_class() {
    let err = ask(google_error(
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.",
        json!([{ "@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{ "description": "x" }] }]),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.class(), "invalid_request");

    let err = ask(google_error(
        404,
        "NOT_FOUND",
        "models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.",
        json!(null),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.class(), "invalid_request");

    let err = ask(google_error(
        503,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
        json!(null),
    ))
    .await
    .unwrap_err();
    // Gemini's usual 503 wording says "overloaded": retried as Overloaded.
    assert!(matches!(err, LlmError::Overloaded { .. }), "{err:?}");
    assert!(err.is_transient());

    let err = ask(google_error(
        500,
        "INTERNAL",
        "An internal error has occurred.",
        json!(null),
    ))
    .await
    .unwrap_err();
    assert!(matches!(&err, LlmError::Server { status: Some(500), message, .. } if message.contains("INTERNAL")));

    let retry_info = json!([{ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s" }]);
    let err = ask(google_error(503, "UNAVAILABLE", "Service unavailable.", retry_info))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Server { status: Some(503), .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_millis(1500)));

    let html = ResponseTemplate::new(502).set_body_string("<html><body>502 Bad Gateway</body></html>");
    let err = ask(html).await.unwrap_err();
    assert!(matches!(&err, LlmError::Server { status: Some(502), message, .. } if message.contains("Bad Gateway")));
}

#[tokio::test]
async fn broken_bodies_are_decode_errors() {
    let full = serde_json::to_string(&plain_answer()).unwrap();
    let truncated = full[..full.len() / 2].to_string();
    let err = ask(ResponseTemplate::new(200).set_body_raw(truncated.clone(), "application/json"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LlmError::Decode { body, .. } if *body == truncated),
        "{err:?}"
    );

    for bad in ["not json at all", "[]", "\"text\"", "{\"candidates\": \"oops\"}", ""] {
        let err = ask(ResponseTemplate::new(200).set_body_raw(bad, "application/json"))
            .await
            .unwrap_err();
        assert_eq!(err.class(), "decode", "{bad:?}: {err:?}");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let server = MockServer::start().await;
    let mut big = plain_answer();
    big["candidates"][0]["content"]["parts"][0]["text"] = json!("x".repeat(64 * 1024));
    Mock::given(method("POST"))
        .respond_with(ok_json(big))
        .mount(&server)
        .await;
    let gemini = Gemini::builder()
        .api_key(KEY)
        .base_url(server.uri())
        .http(HttpConfig {
            max_body_bytes: 16 * 1024,
            ..HttpConfig::default()
        })
        .build()
        .unwrap();
    let err = gemini.complete(&question()).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Decode { message, .. } if message.contains("16384-byte limit")),
        "{err:?}"
    );
}

#[tokio::test]
async fn slow_replies_time_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_json(plain_answer()).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let gemini = Gemini::builder()
        .api_key(KEY)
        .base_url(server.uri())
        .http(HttpConfig {
            timeout: Duration::from_millis(200),
            ..HttpConfig::default()
        })
        .build()
        .unwrap();
    let err = gemini.complete(&question()).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout(Duration::from_millis(200)));
    assert!(err.is_transient());
}

#[tokio::test]
async fn refused_connections_are_transport_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let gemini = Gemini::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = gemini.complete(&question()).await.unwrap_err();
    assert_eq!(err.class(), "transport", "{err:?}");
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn the_key_never_leaks() {
    let server = MockServer::start().await;
    let gemini = provider(&server);
    assert!(!format!("{gemini:?}").contains(KEY));
    assert!(format!("{gemini:?}").contains("ApiKey(***)"));
    assert!(!format!("{:?}", Gemini::builder().api_key(KEY)).contains(KEY));

    // A server echoing the key in an error message or a broken body.
    let echoing = google_error(
        400,
        "INVALID_ARGUMENT",
        &format!("bad request for key {KEY}"),
        json!(null),
    );
    let (err, _) = ask_with(echoing, &question()).await;
    let err = err.unwrap_err();
    assert!(
        !err.to_string().contains(KEY) && !format!("{err:?}").contains(KEY),
        "{err:?}"
    );
    let echoing = ResponseTemplate::new(200).set_body_raw(format!("{{\"key\": \"{KEY}\""), "application/json");
    let (err, server) = ask_with(echoing, &question()).await;
    let err = err.unwrap_err();
    assert_eq!(err.class(), "decode");
    assert!(!format!("{err:?}").contains(KEY), "{err:?}");
    for request in server.received_requests().await.unwrap() {
        assert!(!request.url.as_str().contains(KEY));
        assert_eq!(request.headers.get("x-goog-api-key").unwrap(), KEY);
    }
}

#[tokio::test]
async fn trailing_slash_and_path_prefix_in_base_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/proxy{FLASH_PATH}")))
        .respond_with(ok_json(plain_answer()))
        .expect(1)
        .mount(&server)
        .await;
    let gemini = Gemini::builder()
        .api_key(KEY)
        .base_url(format!("{}/proxy/", server.uri()))
        .build()
        .unwrap();
    assert_eq!(gemini.base_url(), format!("{}/proxy", server.uri()));
    gemini.complete(&question()).await.unwrap();
}

#[test]
fn identity_and_limits() {
    let gemini = Gemini::builder().api_key(KEY).build().unwrap();
    assert_eq!(gemini.id(), "gemini");
    assert_eq!(gemini.limits().max_concurrency, 16);
    assert!(!gemini.is_replay());
    assert_eq!(gemini.base_url(), "https://generativelanguage.googleapis.com");
}

#[test]
fn builder_refuses_bad_settings() {
    let err = Gemini::builder().build().unwrap_err();
    assert_eq!(err.field(), Some("gemini.api_key"));
    let err = Gemini::builder().api_key("   ").build().unwrap_err();
    assert_eq!(err.field(), Some("gemini.api_key"));
    assert!(err.to_string().contains("empty"));
    let err = Gemini::builder().api_key("bad\nkey-with-newline").build().unwrap_err();
    assert_eq!(err.field(), Some("gemini.api_key"));
    assert!(!err.to_string().contains("bad\nkey"));
    for url in [
        "generativelanguage.googleapis.com",
        "ftp://example.com",
        "https://example.com/?key=abc",
    ] {
        let err = Gemini::builder().api_key(KEY).base_url(url).build().unwrap_err();
        assert_eq!(err.field(), Some("gemini.base_url"), "{url}");
    }
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

#[tokio::test]
async fn from_env_reads_key_fallback_and_base_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FLASH_PATH))
        .and(header("x-goog-api-key", "from-google-api-key-var"))
        .respond_with(ok_json(plain_answer()))
        .expect(1)
        .mount(&server)
        .await;
    let uri = server.uri();
    // GEMINI_API_KEY blank: falls back to GOOGLE_API_KEY.
    let gemini = Gemini::from_env_with(env(&[
        ("GEMINI_API_KEY", " "),
        ("GOOGLE_API_KEY", "from-google-api-key-var"),
        ("GEMINI_BASE_URL", &uri),
    ]))
    .unwrap();
    assert_eq!(gemini.base_url(), uri);
    gemini.complete(&question()).await.unwrap();

    // GEMINI_API_KEY wins over GOOGLE_API_KEY.
    Mock::given(method("POST"))
        .and(header("x-goog-api-key", "primary-key-123456"))
        .respond_with(ok_json(plain_answer()))
        .expect(1)
        .mount(&server)
        .await;
    let gemini = Gemini::from_env_with(env(&[
        ("GEMINI_API_KEY", "primary-key-123456"),
        ("GOOGLE_API_KEY", "fallback-key-123456"),
        ("GEMINI_BASE_URL", &uri),
    ]))
    .unwrap();
    assert!(!format!("{gemini:?}").contains("primary-key"));
    gemini.complete(&question()).await.unwrap();

    let gemini = Gemini::from_env_with(env(&[("GEMINI_API_KEY", "primary-key-123456")])).unwrap();
    assert_eq!(gemini.base_url(), "https://generativelanguage.googleapis.com");

    let err = Gemini::from_env_with(env(&[])).unwrap_err();
    assert_eq!(err.kind(), echo_core::ErrorKind::Config);
    assert!(err.to_string().contains("GEMINI_API_KEY"), "{err}");

    let err = Gemini::from_env_with(env(&[
        ("GEMINI_API_KEY", "k-123456789"),
        ("GEMINI_BASE_URL", "not a url"),
    ]))
    .unwrap_err();
    assert_eq!(err.field(), Some("GEMINI_BASE_URL"));
}
