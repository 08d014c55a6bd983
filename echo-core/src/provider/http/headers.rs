//! Headers providers use to advise on retries and report rate-limit state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use crate::provider::RateLimitInfo;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The wait a response asks for: `retry-after-ms` (milliseconds, preferred as more
/// precise), else `retry-after` as seconds (integer or decimal) or an HTTP date relative
/// to `now`. Negative or unparsable values are ignored.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = header(headers, "retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// The server's explicit retry advice (`x-should-retry: true|false`), if any.
pub fn should_retry(headers: &HeaderMap) -> Option<bool> {
    match header(headers, "x-should-retry")? {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parses the duration formats rate-limit reset headers use: `"1s"`, `"6m0s"`, `"20ms"`,
/// `"1h2m3.5s"`, or plain seconds `"12"` / `"0.5"`.
pub fn parse_duration_hint(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0f64;
    let mut number = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => return None,
        };
        let n: f64 = number.parse().ok()?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() {
        return None;
    }
    Some(Duration::from_secs_f64(total))
}

/// Rate-limit state from OpenAI-style `x-ratelimit-*` headers or Anthropic's
/// `anthropic-ratelimit-*` headers; `None` when neither is present.
pub fn rate_limit_info(headers: &HeaderMap, now: DateTime<Utc>) -> Option<RateLimitInfo> {
    let num = |name: &str| header(headers, name).and_then(|v| v.parse::<u64>().ok());
    let openai = RateLimitInfo {
        limit_requests: num("x-ratelimit-limit-requests"),
        remaining_requests: num("x-ratelimit-remaining-requests"),
        limit_tokens: num("x-ratelimit-limit-tokens"),
        remaining_tokens: num("x-ratelimit-remaining-tokens"),
        reset_requests: header(headers, "x-ratelimit-reset-requests").and_then(parse_duration_hint),
        reset_tokens: header(headers, "x-ratelimit-reset-tokens").and_then(parse_duration_hint),
    };
    if openai != RateLimitInfo::default() {
        return Some(openai);
    }
    // Anthropic reports resets as RFC 3339 instants.
    let reset = |name: &str| {
        header(headers, name)
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| (t.with_timezone(&Utc) - now).to_std().unwrap_or(Duration::ZERO))
    };
    let anthropic = RateLimitInfo {
        limit_requests: num("anthropic-ratelimit-requests-limit"),
        remaining_requests: num("anthropic-ratelimit-requests-remaining"),
        limit_tokens: num("anthropic-ratelimit-tokens-limit"),
        remaining_tokens: num("anthropic-ratelimit-tokens-remaining"),
        reset_requests: reset("anthropic-ratelimit-requests-reset"),
        reset_tokens: reset("anthropic-ratelimit-tokens-reset"),
    };
    (anthropic != RateLimitInfo::default()).then_some(anthropic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2"), ("retry-after-ms", "250")]), now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")]), now), None);
        assert_eq!(retry_after(&headers(&[]), now), None);
    }

    #[test]
    fn should_retry_header() {
        assert_eq!(should_retry(&headers(&[("x-should-retry", "true")])), Some(true));
        assert_eq!(should_retry(&headers(&[("x-should-retry", "false")])), Some(false));
        assert_eq!(should_retry(&headers(&[("x-should-retry", "maybe")])), None);
    }

    #[test]
    fn duration_hints() {
        assert_eq!(parse_duration_hint("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration_hint("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_duration_hint("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(parse_duration_hint("1h2m3.5s"), Some(Duration::from_millis(3_723_500)));
        assert_eq!(parse_duration_hint("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration_hint("abc"), None);
        assert_eq!(parse_duration_hint("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration_hint("5x"), None);
    }

    #[test]
    fn rate_limit_headers() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let info = rate_limit_info(
            &headers(&[
                ("x-ratelimit-limit-requests", "500"),
                ("x-ratelimit-remaining-requests", "499"),
                ("x-ratelimit-reset-requests", "120ms"),
                ("x-ratelimit-remaining-tokens", "29000"),
            ]),
            now,
        )
        .unwrap();
        assert_eq!(info.limit_requests, Some(500));
        assert_eq!(info.remaining_requests, Some(499));
        assert_eq!(info.reset_requests, Some(Duration::from_millis(120)));
        assert_eq!(info.remaining_tokens, Some(29000));
        assert_eq!(info.limit_tokens, None);

        let info = rate_limit_info(
            &headers(&[
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "49"),
                ("anthropic-ratelimit-requests-reset", "2026-01-01T00:00:07Z"),
            ]),
            now,
        )
        .unwrap();
        assert_eq!(info.limit_requests, Some(50));
        assert_eq!(info.reset_requests, Some(Duration::from_secs(7)));
        assert!(rate_limit_info(&headers(&[]), now).is_none());
    }
}
