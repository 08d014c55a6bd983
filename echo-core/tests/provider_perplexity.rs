//! The Perplexity provider against a local server speaking Sonar chat completions:
//! response shapes as Perplexity documents them, the request Echo sends, and every
//! failure class.

use std::time::Duration;

use echo_core::ErrorKind;
use echo_core::provider::http::HttpConfig;
use echo_core::provider::perplexity::SearchContextSize;
use echo_core::provider::{ChatRequest, ChatResponse, FinishReason, LlmError, Message, Perplexity, Provider, Usage};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "pplx-test-secret-key-abcdef0123456789";

fn provider(server: &MockServer) -> Perplexity {
    Perplexity::builder()
        .api_key(KEY)
        .base_url(server.uri())
        .build()
        .unwrap()
}

async fn answer(body: Value) -> Result<ChatResponse, LlmError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    provider(&server)
        .complete(&ChatRequest::new("sonar", "Best CRM?"))
        .await
}

async fn failure(reply: ResponseTemplate) -> LlmError {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(reply).mount(&server).await;
    provider(&server)
        .complete(&ChatRequest::new("sonar", "Best CRM?"))
        .await
        .unwrap_err()
}

fn error_reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A completion shaped as the API reference documents it.
fn documented(content: Value) -> Value {
    json!({
        "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "model": "sonar",
        "created": 1724369245,
        "object": "chat.completion",
        "usage": {
            "prompt_tokens": 14,
            "completion_tokens": 318,
            "total_tokens": 332,
            "search_context_size": "low",
            "citation_tokens": null,
            "num_search_queries": 1,
            "reasoning_tokens": null,
            "cost": {"input_tokens_cost": 0.0, "output_tokens_cost": 0.0003, "request_cost": 0.005, "total_cost": 0.0053}
        },
        "choices": [{
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": content},
            "delta": {"role": "assistant", "content": ""}
        }],
        "citations": [
            "https://www.g2.com/categories/crm",
            "https://www.capterra.com/crm-software/",
            "https://www.reddit.com/r/startups/comments/crm"
        ],
        "search_results": [
            {"title": "Best CRM Software", "url": "https://www.g2.com/categories/crm", "date": "2025-03-01",
             "last_updated": "2025-06-02", "snippet": "HubSpot CRM is rated 4.4...", "source": "web"},
            {"title": "CRM Software 2025", "url": "https://www.capterra.com/crm-software/", "date": null}
        ]
    })
}

// ---------------------------------------------------------------- response shapes

#[tokio::test]
async fn documented_answer_with_citations_and_search_results() {
    let r = answer(documented(json!(
        "HubSpot is the usual pick [1], Pipedrive for sales teams [2][3]."
    )))
    .await
    .unwrap();
    assert_eq!(
        r.text,
        "HubSpot is the usual pick [1], Pipedrive for sales teams [2][3]."
    );
    // search_results first (with titles), then citation URLs not already listed.
    let urls: Vec<&str> = r.citations.iter().map(|c| c.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://www.g2.com/categories/crm",
            "https://www.capterra.com/crm-software/",
            "https://www.reddit.com/r/startups/comments/crm"
        ]
    );
    assert_eq!(r.citations[0].title.as_deref(), Some("Best CRM Software"));
    assert_eq!(r.citations[0].domain, "g2.com");
    assert_eq!(r.citations[2].title, None);
    assert_eq!(r.citations[2].domain, "reddit.com");
    assert!(
        r.citations.iter().all(|c| c.cited_text.is_none()),
        "snippets are not answer spans"
    );
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: Some(14),
            output_tokens: Some(318),
            cached_input_tokens: None,
            reasoning_tokens: None
        }
    );
    assert_eq!(r.served_model.as_deref(), Some("sonar"));
    assert_eq!(r.request_id.as_deref(), Some("3c90c3cc-0d44-4b50-8888-8dd25736052a"));
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let raw = r.raw.unwrap();
    assert_eq!(raw["usage"]["cost"]["request_cost"], 0.005);
    assert_eq!(raw["usage"]["num_search_queries"], 1);
}

#[tokio::test]
async fn citations_only_or_search_results_only() {
    let mut body = documented(json!("Answer [1]."));
    body.as_object_mut().unwrap().remove("search_results");
    let r = answer(body).await.unwrap();
    assert_eq!(r.citations.len(), 3);
    assert!(r.citations.iter().all(|c| c.title.is_none()));

    let mut body = documented(json!("Answer [1]."));
    body["citations"] = Value::Null;
    let r = answer(body).await.unwrap();
    assert_eq!(r.citations.len(), 2);
    assert_eq!(r.citations[1].title.as_deref(), Some("CRM Software 2025"));

    let mut body = documented(json!("No sources."));
    body["citations"] = json!([]);
    body["search_results"] = json!([]);
    assert!(answer(body).await.unwrap().citations.is_empty());
}

#[tokio::test]
async fn duplicate_and_odd_citation_entries_are_cleaned() {
    let mut body = documented(json!("Answer."));
    body["citations"] = json!([
        "https://a.example.com/x",
        "https://a.example.com/x",
        42,
        null,
        "",
        "https://b.example.com"
    ]);
    body["search_results"] = json!([
        {"title": "", "url": "https://b.example.com"},
        {"title": "No URL"},
        {"title": "A", "url": "https://a.example.com/x"}
    ]);
    let r = answer(body).await.unwrap();
    let urls: Vec<&str> = r.citations.iter().map(|c| c.url.as_str()).collect();
    assert_eq!(urls, ["https://b.example.com", "https://a.example.com/x"]);
    assert_eq!(r.citations[0].title, None, "an empty title is no title");
    assert_eq!(r.citations[1].title.as_deref(), Some("A"));
}

#[tokio::test]
async fn reasoning_models_think_section_is_not_answer_text() {
    let mut body = documented(json!(
        "<think>\nThe user wants a CRM. Salesforce is heavy...\n</think>\n\nPipedrive or HubSpot."
    ));
    body["model"] = json!("sonar-reasoning-pro");
    body["usage"]["reasoning_tokens"] = json!(1200);
    let r = answer(body).await.unwrap();
    assert_eq!(r.text, "Pipedrive or HubSpot.");
    assert_eq!(r.usage.reasoning_tokens, Some(1200));
    assert!(
        r.raw.unwrap()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("Salesforce")
    );
}

#[tokio::test]
async fn structured_null_and_empty_content() {
    let r = answer(documented(json!([
        {"type": "text", "text": "HubSpot "},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "text", "text": "wins."}
    ])))
    .await
    .unwrap();
    assert_eq!(r.text, "HubSpot wins.");
    assert_eq!(answer(documented(Value::Null)).await.unwrap().text, "");
    assert_eq!(answer(documented(json!(""))).await.unwrap().text, "");
}

#[tokio::test]
async fn absent_null_and_unknown_fields() {
    let r = answer(json!({
        "id": "abc",
        "choices": [{"message": {"content": "ok"}, "finish_reason": null, "brand_new": true}],
        "usage": null,
        "citations": null,
        "search_results": null,
        "related_questions": ["What about Zoho?"],
        "images": null,
        "future_field": {"nested": [1, 2]}
    }))
    .await
    .unwrap();
    assert_eq!(r.text, "ok");
    assert_eq!(r.usage, Usage::default());
    assert_eq!(r.finish_reason, None);
    assert_eq!(r.served_model, None);
    assert!(r.citations.is_empty());
    assert!(r.rate_limit.is_none());

    let r = answer(
        json!({"choices": [{"message": {"content": "x"}, "finish_reason": "length"}],
                          "usage": {"prompt_tokens": 3}}),
    )
    .await
    .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
    assert_eq!(r.usage.input_tokens, Some(3));
    assert_eq!(r.usage.output_tokens, None);
}

#[tokio::test]
async fn content_filter_finish_is_content_filtered() {
    let mut body = documented(json!(""));
    body["choices"][0]["finish_reason"] = json!("content_filter");
    let e = answer(body).await.unwrap_err();
    assert_eq!(e.class(), "content_filtered");
    assert!(!e.is_transient());
}

#[tokio::test]
async fn missing_or_empty_choices_are_decode_errors() {
    assert_eq!(answer(json!({"id": "x"})).await.unwrap_err().class(), "decode");
    assert_eq!(
        answer(json!({"id": "x", "choices": []})).await.unwrap_err().class(),
        "decode"
    );
}

// ---------------------------------------------------------------- the request Echo sends

#[tokio::test]
async fn request_has_documented_path_auth_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "model": "sonar-pro",
            "messages": [
                {"role": "system", "content": "Be concise."},
                {"role": "user", "content": "Best CRM?"}
            ],
            "temperature": 0.2,
            "max_tokens": 400
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(documented(json!("ok"))))
        .expect(1)
        .mount(&server)
        .await;
    let mut request = ChatRequest::new("sonar-pro", "Best CRM?");
    request.messages.insert(0, Message::system("Be concise."));
    request.temperature = Some(0.2);
    request.max_output_tokens = Some(400);
    request.web_search = true;
    request.seed = Some(9);
    provider(&server).complete(&request).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["temperature"].to_string(), "0.2");
    for absent in ["seed", "tools", "web_search_options", "stream"] {
        assert!(body.get(absent).is_none(), "{absent} should not be sent: {body}");
    }
}

#[tokio::test]
async fn minimal_request_and_search_context_size() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(documented(json!("ok"))))
        .expect(2)
        .mount(&server)
        .await;
    let plain = Perplexity::builder()
        .api_key(KEY)
        .base_url(format!("{}/api", server.uri()))
        .build()
        .unwrap();
    plain.complete(&ChatRequest::new("sonar", "q")).await.unwrap();
    let wide = Perplexity::builder()
        .api_key(KEY)
        .base_url(format!("{}/api/", server.uri()))
        .search_context_size(SearchContextSize::Medium)
        .build()
        .unwrap();
    wide.complete(&ChatRequest::new("sonar", "q")).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        first,
        json!({"model": "sonar", "messages": [{"role": "user", "content": "q"}]})
    );
    let second: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(second["web_search_options"], json!({"search_context_size": "medium"}));
}

// ---------------------------------------------------------------- error classification

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let e = failure(
        error_reply(
            429,
            json!({"error": {"message": "Rate limit exceeded", "type": "rate_limit_exceeded", "code": 429}}),
        )
        .insert_header("retry-after", "4"),
    )
    .await;
    assert_eq!(e.class(), "rate_limited");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(4)));
    assert!(e.to_string().contains("Rate limit exceeded"), "{e}");
}

#[tokio::test]
async fn quota_and_credit_errors_are_final() {
    let e = failure(error_reply(
            429,
            json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
        ),
    )
    .await;
    assert_eq!(e.class(), "quota_exhausted");
    assert!(!e.is_transient());
    let e = failure(error_reply(402, json!({"detail": "Payment required"}))).await;
    assert_eq!(e.class(), "quota_exhausted");
    let e = failure(error_reply(
            401,
            json!({"error": {"message": "Insufficient credits. Add credits to continue.", "type": "invalid_request_error", "code": 401}}),
        ),
    )
    .await;
    assert_eq!(e.class(), "quota_exhausted");
}

#[tokio::test]
async fn auth_errors_in_every_shape() {
    let e = failure(error_reply(
        401,
        json!({"error": {"message": "Invalid API key provided", "type": "invalid_api_key", "code": 401}}),
    ))
    .await;
    assert_eq!(e.class(), "auth");
    assert!(!e.to_string().contains(KEY));
    let e = failure(ResponseTemplate::new(401).set_body_raw(
        b"<html><head><title>401 Authorization Required</title></head></html>".to_vec(),
        "text/html",
    ))
    .await;
    assert_eq!(e.class(), "auth");
    assert!(e.to_string().contains("401 Authorization Required"), "{e}");
    let e = failure(error_reply(403, json!({"detail": "Not authenticated"}))).await;
    assert_eq!(e.class(), "auth");
}

#[tokio::test]
async fn invalid_requests_and_context_length() {
    let e = failure(error_reply(
        400,
        json!({"error": {"message": "Invalid model 'sonar-xl'. Permitted models can be found in the documentation.",
                             "type": "invalid_model", "code": 400}}),
    ))
    .await;
    assert_eq!(e.class(), "invalid_request");
    assert!(e.to_string().contains("sonar-xl"), "{e}");
    let e = failure(error_reply(
        422,
        json!({"detail": [{"loc": ["body", "messages"], "msg": "Field required", "type": "missing"}]}),
    ))
    .await;
    assert_eq!(e.class(), "invalid_request");
    assert!(e.to_string().contains("body.messages: Field required"), "{e}");
    let e = failure(error_reply(
            400,
            json!({"error": {"message": "This model's maximum context length is 127072 tokens", "type": "invalid_request_error", "code": 400}}),
        ),
    )
    .await;
    assert_eq!(e.class(), "context_length");
}

#[tokio::test]
async fn server_errors_are_retryable() {
    let e = failure(error_reply(
        500,
        json!({"error": {"message": "Internal server error", "type": "server_error", "code": 500}}),
    ))
    .await;
    assert!(matches!(e, LlmError::Server { status: Some(500), .. }), "{e:?}");
    assert!(e.is_transient());
    let e = failure(ResponseTemplate::new(503).insert_header("retry-after", "2")).await;
    assert_eq!(e.class(), "server");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    assert!(e.to_string().contains("HTTP 503"), "{e}");
}

// ---------------------------------------------------------------- broken bodies and transport

async fn raw_reply(body: &str, http: HttpConfig) -> LlmError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json"))
        .mount(&server)
        .await;
    Perplexity::builder()
        .api_key(KEY)
        .base_url(server.uri())
        .http(http)
        .build()
        .unwrap()
        .complete(&ChatRequest::new("sonar", "q"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn truncated_malformed_and_oversized_bodies_are_decode_errors() {
    let full = documented(json!("HubSpot is the usual pick.")).to_string();
    let truncated = &full[..full.len() / 2];
    let e = raw_reply(truncated, HttpConfig::default()).await;
    let LlmError::Decode { body, .. } = &e else {
        panic!("expected Decode, got {e:?}");
    };
    assert!(!body.is_empty());
    assert_eq!(raw_reply("{not json", HttpConfig::default()).await.class(), "decode");
    assert_eq!(
        raw_reply(r#"{"choices": "nope"}"#, HttpConfig::default()).await.class(),
        "decode"
    );
    assert_eq!(raw_reply("", HttpConfig::default()).await.class(), "decode");

    let big = documented(json!("y".repeat(20_000))).to_string();
    let e = raw_reply(
        &big,
        HttpConfig {
            max_body_bytes: 8192,
            ..HttpConfig::default()
        },
    )
    .await;
    assert_eq!(e.class(), "decode");
    assert!(e.to_string().contains("8192"), "{e}");
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(documented(json!("late")))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let provider = Perplexity::builder()
        .api_key(KEY)
        .base_url(server.uri())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let e = provider.complete(&ChatRequest::new("sonar", "q")).await.unwrap_err();
    assert_eq!(e, LlmError::Timeout(Duration::from_millis(200)));
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let provider = Perplexity::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let e = provider.complete(&ChatRequest::new("sonar", "q")).await.unwrap_err();
    assert_eq!(e.class(), "transport");
    assert!(e.is_transient());
    assert!(!e.to_string().contains(KEY));
}

// ---------------------------------------------------------------- configuration and secrets

#[tokio::test]
async fn key_never_appears_in_debug_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error_reply(
            401,
            json!({"error": {"message": "Invalid API key", "type": "invalid_api_key", "code": 401}}),
        ))
        .mount(&server)
        .await;
    let provider = provider(&server);
    let debug = format!("{provider:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("ApiKey(***)"), "{debug}");
    let e = provider.complete(&ChatRequest::new("sonar", "q")).await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains(KEY));
    assert!(!format!("{:?}", Perplexity::builder().api_key(KEY)).contains(KEY));
}

#[test]
fn from_env_with_missing_key_names_the_variable() {
    let err = Perplexity::from_env_with(|_| None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("PERPLEXITY_API_KEY"), "{err}");

    let provider = Perplexity::from_env_with(|name| (name == "PERPLEXITY_API_KEY").then(|| KEY.to_string())).unwrap();
    assert_eq!(provider.id(), "perplexity");
    assert_eq!(provider.config().base_url, "https://api.perplexity.ai");
    assert_eq!(provider.limits().max_concurrency, 16);

    let err = Perplexity::from_env_with(|name| match name {
        "PERPLEXITY_API_KEY" => Some(KEY.to_string()),
        "PERPLEXITY_BASE_URL" => Some("ftp://example.com".to_string()),
        _ => None,
    })
    .unwrap_err();
    assert_eq!(err.field(), Some("PERPLEXITY_BASE_URL"));
}
