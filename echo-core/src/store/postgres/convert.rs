//! Conversions between Rust values and their PostgreSQL columns.
//!
//! Both backends store times as unix milliseconds, u64 quantities as 64-bit integers and
//! the seed by its bit pattern, so the conversions are shared with SQLite (where they were
//! written first); what is PostgreSQL's own lives here.

pub(super) use crate::store::sqlite::convert::{
    duration_ms, from_ms, from_opt_ms, i64_to_u32, i64_to_u64, map_db_error, ms, opt_ms, opt_u64_to_i64, seed_from_i64,
    seed_to_i64, u64_to_i64,
};

/// A u32 quantity as a `bigint` (every integer column is `bigint`, see the migration).
pub(super) fn u32_to_i64(v: u32) -> i64 {
    i64::from(v)
}
