//! Node.js bindings for Echo (issue 8), loaded by `index.js` as `echo-ai.<platform>.node`.
//!
//! The bindings stay thin: every behaviour lives in `echo-core`; this crate only converts
//! arguments, results and errors. Errors thrown into JavaScript carry a stable `code` equal
//! to the core's error kind (see [`errors`]).

pub mod errors;
pub mod target;

use napi_derive::napi;

/// The package version (the workspace version, which package.json mirrors).
#[napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
