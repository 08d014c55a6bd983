//! Moving values between the core's serde types and the bindings' `#[napi(object)]` types.
//!
//! The JavaScript types (`model.rs`, `report.rs`, ...) mirror the core's field by field
//! with the same snake_case Rust names (napi presents them in camelCase), so one serde
//! round trip converts either way and a field renamed in the core fails the binding's tests
//! rather than silently vanishing. Ids travel as strings, times as ISO 8601 strings (UTC,
//! milliseconds), counts as numbers.

use std::str::FromStr;

use echo_core::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Converts a core value into its JavaScript mirror (or a JavaScript value into the core
/// type). A failure is a bug in a mirror when converting out, and bad input when
/// converting in: `what` names the value for the message.
pub fn via_serde<T: Serialize, U: DeserializeOwned>(value: &T, what: &str) -> Result<U> {
    let json = serde_json::to_value(value).map_err(|e| Error::Internal(format!("{what}: {e}")))?;
    serde_json::from_value(json).map_err(|e| Error::invalid(what, e.to_string()))
}

/// A core value out to JavaScript: a mismatch is a bug in the binding, reported as internal.
pub fn out<T: Serialize, U: DeserializeOwned>(value: &T, what: &str) -> Result<U> {
    via_serde(value, what).map_err(|e| Error::Internal(format!("converting {what} for JavaScript: {e}")))
}

/// Parses an id (or any `FromStr` value) given by JavaScript, naming the argument in the
/// error.
pub fn parse<T: FromStr<Err = Error>>(text: &str, field: &str) -> Result<T> {
    T::from_str(text).map_err(|e| match e {
        Error::InvalidInput { message, .. } => Error::invalid(field, message),
        other => other,
    })
}

/// Seconds given by JavaScript as a duration; refuses negative, NaN and infinite values.
pub fn seconds(value: f64, field: &str) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(value)
        .map_err(|_| Error::invalid(field, format!("must be a finite number of seconds >= 0, got {value}")))
}

/// A JavaScript number that must be a whole number in `0..=max` (napi hands numbers over as
/// f64 or i64; this names the field when one is fractional, negative or too large).
pub fn whole(value: i64, field: &str, max: u64) -> Result<u64> {
    u64::try_from(value).ok().filter(|v| *v <= max).ok_or_else(|| {
        Error::invalid(
            field,
            format!("must be a whole number between 0 and {max}, got {value}"),
        )
    })
}

/// A time given by JavaScript as an ISO 8601 / RFC 3339 string.
pub fn time(text: &str, field: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| Error::invalid(field, format!("{text:?} is not an ISO 8601 time with a zone ({e})")))
}

/// A time as JavaScript receives it: RFC 3339 in UTC with milliseconds, as serde writes it.
pub fn time_string(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Deserializes a core time into the string JavaScript receives ([`time_string`]): serde's
/// own form drops the fraction when it is zero (`09:00:00Z`), so the same instant would
/// read differently in two places, and string comparisons of times would fail once in a
/// thousand. Every time field of a mirror uses this (or [`iso_opt`]).
pub fn iso<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    use serde::Deserialize;
    chrono::DateTime::<chrono::Utc>::deserialize(d).map(time_string)
}

/// [`iso`] for an optional time.
pub fn iso_opt<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Option::<chrono::DateTime<chrono::Utc>>::deserialize(d).map(|t| t.map(time_string))
}

/// Free-form JSON the core carries as `serde_json::Value` (audit event details, an erasure's
/// record), handed to JavaScript as the plain object it describes. napi's own conversion of
/// `serde_json::Value` sits behind a feature that would pull serde into napi's dependency
/// list; this is the same few lines, for output only.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Json(pub serde_json::Value);

impl napi::bindgen_prelude::TypeName for Json {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Unknown
    }
}

impl napi::bindgen_prelude::ToNapiValue for Json {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        use napi::bindgen_prelude::Null;
        use serde_json::Value;
        // JavaScript numbers hold integers exactly up to 2^53.
        const EXACT: i64 = 1 << 53;
        // SAFETY: `env` is the live environment napi passed in; each arm delegates to napi's
        // own conversion of a plain Rust value.
        unsafe {
            match val.0 {
                Value::Null => Null::to_napi_value(env, Null),
                Value::Bool(b) => bool::to_napi_value(env, b),
                Value::Number(n) => match n.as_i64() {
                    Some(i) if (-EXACT..=EXACT).contains(&i) => i64::to_napi_value(env, i),
                    _ => f64::to_napi_value(env, n.as_f64().unwrap_or(f64::NAN)),
                },
                Value::String(s) => String::to_napi_value(env, s),
                Value::Array(items) => Vec::to_napi_value(env, items.into_iter().map(Json).collect::<Vec<_>>()),
                Value::Object(map) => std::collections::BTreeMap::to_napi_value(
                    env,
                    map.into_iter()
                        .map(|(k, v)| (k, Json(v)))
                        .collect::<std::collections::BTreeMap<_, _>>(),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use echo_core::model::RunId;

    #[test]
    fn bad_ids_name_the_argument() {
        let err = parse::<RunId>("nope", "runId").unwrap_err();
        assert_eq!(err.field(), Some("runId"));
    }

    #[test]
    fn seconds_refuse_negative_and_nan() {
        assert!(seconds(-1.0, "grace").is_err());
        assert!(seconds(f64::NAN, "grace").is_err());
        assert_eq!(seconds(1.5, "grace").unwrap(), std::time::Duration::from_millis(1500));
    }

    #[test]
    fn core_times_always_carry_milliseconds() {
        #[derive(serde::Deserialize)]
        struct Mirror {
            #[serde(deserialize_with = "iso")]
            at: String,
            #[serde(default, deserialize_with = "iso_opt")]
            maybe: Option<String>,
        }
        let t = time("2026-03-01T09:00:00Z", "t").unwrap();
        let m: Mirror = serde_json::from_value(serde_json::json!({ "at": t, "maybe": t })).unwrap();
        assert_eq!(m.at, "2026-03-01T09:00:00.000Z");
        assert_eq!(m.maybe.as_deref(), Some("2026-03-01T09:00:00.000Z"));
        let m: Mirror = serde_json::from_value(serde_json::json!({ "at": t })).unwrap();
        assert_eq!(m.maybe, None);
    }

    #[test]
    fn times_round_trip() {
        let t = time("2026-01-02T03:04:05.678Z", "slot").unwrap();
        assert_eq!(time_string(t), "2026-01-02T03:04:05.678Z");
        assert!(time("yesterday", "slot").is_err());
    }
}
