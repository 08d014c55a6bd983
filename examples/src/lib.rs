//! Runnable examples live beside this file; see `examples/*.rs`.
