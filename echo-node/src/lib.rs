//! Node.js bindings for Echo (issue 8), loaded by `index.js` as `echo-ai.<platform>.node`
//! and wrapped by the package entry `lib/index.js` (typed error classes, async iterator).
//!
//! The bindings stay thin: every behaviour lives in `echo-core`; this crate only converts
//! arguments, results and errors. Modules mirror the core's: `engine` (the `Echo` class:
//! opening, accounts, experiments, runs), `principal` (auth), `keys`, `quota`, `report`
//! (reports, comparisons, series, plans, estimates), `adaptive` (adaptive runs),
//! `schedule`, `progress` (`RunHandle`), `worker`, `providers`, `audit` (`audit_api`),
//! `gdpr` (`gdpr_api`: export, deletion, erasure), `privacy` (`privacy_api`: settings,
//! consent, retention), `clock` (`ManualClock`), `model` (plain data) and `errors`;
//! `convert` and `promise` are the plumbing every module shares.

pub mod adaptive;
pub mod audit;
pub mod clock;
pub mod convert;
pub mod engine;
pub mod errors;
pub mod gdpr;
pub mod keys;
pub mod model;
pub mod principal;
pub mod privacy;
pub mod progress;
pub mod promise;
pub mod providers;
pub mod quota;
pub mod report;
pub mod schedule;
pub mod target;
pub mod worker;

use napi_derive::napi;

/// The package version (the workspace version, which package.json mirrors).
#[napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
