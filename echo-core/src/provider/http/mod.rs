//! HTTP plumbing shared by every real provider: the client, bounded body reading, error
//! classification by status, and the headers providers use to talk about retries and
//! rate limits. Each provider file only knows its own wire format.

mod base_url;
mod classify;
mod client;
mod headers;
mod secret;

pub use base_url::normalize_base_url;
pub use classify::{ErrorBody, classify_status};
pub use client::{DEFAULT_MAX_BODY_BYTES, HttpConfig, HttpReply, bounded_text, post_json};
pub use headers::{parse_duration_hint, rate_limit_info, retry_after, should_retry};
pub use secret::ApiKey;
