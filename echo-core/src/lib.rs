//! # Echo
//!
//! Echo measures how large language models talk about brands. It asks a buyer's question
//! of several models many times, keeps every answer, finds which brands each answer names
//! and where, and reports visibility, share of voice, rank and cited sources, each with an
//! honest confidence interval.
//!
//! The flow of a run: authorize → plan → enqueue (run + samples in one transaction) →
//! execute (claim samples, call providers, extract mentions, persist) → finalize (report).
//! See `docs/architecture.md`.

pub mod analysis;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod engine;
mod error;
pub mod gdpr;
pub mod model;
pub mod privacy;
pub mod provider;
pub mod quota;
pub mod store;

pub use error::{Error, ErrorKind, Result};

/// The README's Rust example is compiled as a doctest so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The provider guide's Rust example is compiled as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../../docs/providers.md")]
pub struct ProvidersDoctests;
