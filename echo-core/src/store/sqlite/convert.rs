//! Conversions between Rust values and their SQLite columns, and database-error mapping.

use chrono::{DateTime, Utc};

use crate::{Error, Result};

/// A timestamp as stored: unix milliseconds.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// An optional timestamp as stored.
pub(crate) fn opt_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

/// A stored timestamp back to a `DateTime`; `column` names it if the value is out of range.
pub(crate) fn from_ms(v: i64, column: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| Error::Internal(format!("timestamp {v} in column {column} is out of range")))
}

/// An optional stored timestamp back to a `DateTime`.
pub(crate) fn from_opt_ms(v: Option<i64>, column: &str) -> Result<Option<DateTime<Utc>>> {
    v.map(|v| from_ms(v, column)).transpose()
}

/// A lease or duration length in milliseconds, saturating (a lease of centuries is "forever").
pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A u64 quantity (tokens, latency, counts) as an INTEGER; `field` names it if too large.
pub(crate) fn u64_to_i64(v: u64, field: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid(field, format!("{v} is larger than the store can hold (2^63 - 1)")))
}

/// An optional u64 quantity as an INTEGER.
pub(crate) fn opt_u64_to_i64(v: Option<u64>, field: &str) -> Result<Option<i64>> {
    v.map(|v| u64_to_i64(v, field)).transpose()
}

/// A stored non-negative INTEGER back to u64; `column` names it if negative.
pub(crate) fn i64_to_u64(v: i64, column: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Internal(format!("negative value {v} in column {column}")))
}

/// A stored non-negative INTEGER back to u32; `column` names it if out of range.
pub(crate) fn i64_to_u32(v: i64, column: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Internal(format!("value {v} in column {column} does not fit a u32")))
}

/// The run seed: a full-range u64 stored as the i64 with the same bits.
pub(crate) fn seed_to_i64(seed: u64) -> i64 {
    i64::from_ne_bytes(seed.to_ne_bytes())
}

/// Inverse of [`seed_to_i64`].
pub(crate) fn seed_from_i64(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// JSON text of a serializable value (specs).
pub(crate) fn to_json<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot serialize {what}: {e}")))
}

/// A JSON column back to its value.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Internal(format!("column {column} holds invalid JSON: {e}")))
}

/// How a database error maps onto Echo's errors for one statement: unique and foreign-key
/// violations become the errors the caller documents; everything else is `Storage`.
pub(crate) fn map_db_error(
    e: sqlx::Error,
    on_unique: impl FnOnce() -> Error,
    on_foreign_key: impl FnOnce() -> Error,
) -> Error {
    if let sqlx::Error::Database(db) = &e {
        match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => return on_unique(),
            sqlx::error::ErrorKind::ForeignKeyViolation => return on_foreign_key(),
            _ => {}
        }
    }
    Error::Storage(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_round_trip_over_the_full_range() {
        for seed in [0, 1, u64::MAX, u64::MAX / 2 + 1, 0xDEAD_BEEF_CAFE_F00D] {
            assert_eq!(seed_from_i64(seed_to_i64(seed)), seed);
        }
    }

    #[test]
    fn timestamps_round_trip_at_millisecond_precision() {
        let t = DateTime::from_timestamp_millis(1_735_689_600_123).unwrap();
        assert_eq!(from_ms(ms(t), "t").unwrap(), t);
        assert!(from_ms(i64::MAX, "t").is_err());
    }

    #[test]
    fn out_of_range_quantities_name_the_field() {
        assert_eq!(
            u64_to_i64(u64::MAX, "input_tokens").unwrap_err().field(),
            Some("input_tokens")
        );
        assert!(i64_to_u64(-1, "c").is_err());
        assert!(i64_to_u32(i64::from(u32::MAX) + 1, "c").is_err());
    }
}
