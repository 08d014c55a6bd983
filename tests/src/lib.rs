//! Cross-crate integration tests live in `tests/tests/`. The library holds what test
//! processes share: the worker process of the distributed tests and benchmarks
//! ([`worker_cli`]).

pub mod worker_cli;
