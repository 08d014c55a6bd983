//! Small pieces of the wire format both OpenAI APIs (and their imitators) share.

use reqwest::header::HeaderMap;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::provider::Role;

/// The wire name of a role.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The temperature as the decimal the caller wrote: `0.7f32` widened directly to `f64`
/// would be sent as `0.699999988079071`.
pub(crate) fn temperature(t: f32) -> f64 {
    t.to_string().parse().unwrap_or(f64::from(t))
}

/// The per-sample seed as a non-negative 63-bit integer. Echo's seeds use all 64 bits,
/// but OpenAI (and Go- or Python-based servers) read `seed` as a signed 64-bit integer and
/// reject larger values; dropping the top bit keeps the mapping deterministic.
pub(crate) fn seed(seed: u64) -> u64 {
    seed & (i64::MAX as u64)
}

/// The request id: OpenAI's `x-request-id` header (what its support asks for), else the
/// body's `id`.
pub(crate) fn request_id(headers: &HeaderMap, body_id: Option<String>) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .or(body_id)
}

/// A token count that tolerates the drift of imitating servers: null, absent, a string or
/// a negative number read as "not reported"; an integral float (`12.0`) as its value.
pub(crate) fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(value.and_then(|v| {
        v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        })
    }))
}

/// A string field that tolerates null, absence, non-strings and blanks (all `None`).
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(value
        .as_ref()
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperatures_keep_their_decimal() {
        assert_eq!(temperature(0.7), 0.7);
        assert_eq!(temperature(1.0), 1.0);
        assert_eq!(temperature(0.0), 0.0);
    }

    #[test]
    fn seeds_fit_a_signed_integer() {
        assert_eq!(seed(42), 42);
        assert_eq!(seed(u64::MAX), i64::MAX as u64);
        assert!(seed(9_662_374_541_818_093_670) <= i64::MAX as u64);
    }

    #[test]
    fn lenient_counts() {
        #[derive(Deserialize)]
        struct C {
            #[serde(default, deserialize_with = "count")]
            n: Option<u64>,
        }
        let n = |s: &str| serde_json::from_str::<C>(s).unwrap().n;
        assert_eq!(n(r#"{"n": 12}"#), Some(12));
        assert_eq!(n(r#"{"n": 12.0}"#), Some(12));
        assert_eq!(n(r#"{"n": null}"#), None);
        assert_eq!(n(r#"{}"#), None);
        assert_eq!(n(r#"{"n": -1}"#), None);
        assert_eq!(n(r#"{"n": "12"}"#), None);
    }
}
