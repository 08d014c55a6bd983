//! The HTTP client and bounded response reading.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use crate::provider::LlmError;

/// Largest response body read by default (8 MiB). LLM answers are far smaller; anything
/// larger is a broken or hostile server, refused before it exhausts memory.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Bytes of a bad body kept in a `Decode` error (enough to diagnose, bounded for logs).
const KEPT_BODY_BYTES: usize = 2048;

/// Transport settings of a provider.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for the whole request, body included.
    pub timeout: Duration,
    /// Largest accepted response body.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl HttpConfig {
    /// Builds a client with these timeouts (rustls; no system OpenSSL needed).
    pub fn client(&self) -> crate::Result<reqwest::Client> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(concat!("echo-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::Error::Config(format!("could not build the HTTP client: {e}")))
    }
}

/// A response whose body was read within the size limit.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub latency: Duration,
}

impl HttpReply {
    /// Parses the body as JSON, or a `Decode` error keeping a bounded copy of the body.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, LlmError> {
        serde_json::from_slice(&self.body).map_err(|e| LlmError::Decode {
            message: format!("invalid JSON in a {} response: {e}", self.status),
            body: bounded_text(&self.body),
        })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// POSTs `body` as JSON and reads the reply within `max_body_bytes`. Transport failures
/// become `Timeout` or `Transport`; HTTP error statuses are returned as replies for the
/// provider to classify (it knows its error body format).
pub async fn post_json(
    request: reqwest::RequestBuilder,
    body: &serde_json::Value,
    max_body_bytes: usize,
    timeout: Duration,
) -> Result<HttpReply, LlmError> {
    let started = Instant::now();
    let bytes = serde_json::to_vec(body).map_err(|e| LlmError::InvalidRequest(format!("unserializable body: {e}")))?;
    let mut response = request
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(bytes)
        .send()
        .await
        .map_err(|e| transport_error(e, timeout))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    if let Some(len) = response.content_length() {
        if len > max_body_bytes as u64 {
            return Err(too_large(max_body_bytes));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(e, timeout))? {
        if body.len() + chunk.len() > max_body_bytes {
            return Err(too_large(max_body_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpReply {
        status,
        headers,
        body,
        latency: started.elapsed(),
    })
}

fn too_large(limit: usize) -> LlmError {
    LlmError::Decode {
        message: format!(
            "the response body exceeds the {limit}-byte limit (raise HttpConfig::max_body_bytes if this is expected)"
        ),
        body: String::new(),
    }
}

fn transport_error(e: reqwest::Error, timeout: Duration) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout(timeout)
    } else if e.is_body() || e.is_decode() {
        // The connection broke while the body was being read (e.g. truncated).
        LlmError::Transport(format!("the response body could not be read: {}", without_url(&e)))
    } else {
        LlmError::Transport(without_url(&e))
    }
}

/// reqwest errors print the URL; some providers (Gemini) may carry keys in query strings,
/// so the URL is dropped from messages that end up in logs and stored samples.
fn without_url(e: &reqwest::Error) -> String {
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        chain.push(err.to_string());
        source = err.source();
    }
    let text = chain.join(": ");
    match e.url() {
        Some(url) => text.replace(url.as_str(), "<url>"),
        None => text,
    }
}

/// A bounded, lossy UTF-8 copy of a body for error messages.
pub fn bounded_text(body: &[u8]) -> String {
    let cut = body.len().min(KEPT_BODY_BYTES);
    let mut text = String::from_utf8_lossy(&body[..cut]).into_owned();
    if body.len() > cut {
        text.push_str("…(truncated)");
    }
    text
}
