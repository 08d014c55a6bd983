//! Running core futures as JavaScript Promises.
//!
//! Every async binding is a synchronous napi method that takes what it needs from its
//! arguments (ids parsed, specs converted: bad input is refused before anything runs) and
//! returns [`spawn`]'s Promise. The future runs on napi's tokio runtime; its result is
//! converted to the JavaScript shape on the runtime too, and only the last step — building
//! the resolved value, or the typed error (`errors::to_js`) — happens on the JavaScript
//! thread.

use std::future::Future;

use napi::Env;
use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};

use crate::errors;

/// Runs `fut` on the runtime and settles the returned Promise with `convert(output)`, or
/// rejects it with the typed JavaScript error of the core error.
pub fn spawn<'env, T, V, F, C>(env: &'env Env, fut: F, convert: C) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue + Send + 'static,
    F: Future<Output = echo_core::Result<T>> + Send + 'static,
    C: FnOnce(T) -> echo_core::Result<V> + Send + 'static,
{
    env.spawn_future_with_callback(
        async move { Ok::<_, napi::Error>(fut.await.and_then(convert)) },
        |env, outcome| outcome.map_err(|e| errors::to_js(env, e)),
    )
}

/// A synchronous core result as a napi result with the typed JavaScript error.
pub fn sync<T>(env: &Env, result: echo_core::Result<T>) -> napi::Result<T> {
    result.map_err(|e| errors::to_js(env, e))
}
