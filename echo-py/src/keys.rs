//! API keys, mirroring `echo_core::engine::keys`: create (the plaintext is returned once),
//! list, revoke, authenticate.

use echo_core::auth::{ApiKey, KeyEnvironment, NewApiKey, Scope};
use echo_core::engine::Echo as CoreEcho;
use echo_core::model::ApiKeyId;
use pyo3::prelude::*;
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::engine::page;
use crate::errors::to_py_err;

/// What `create_api_key` hands to Python: the key and its plaintext, which exists nowhere
/// else (only its SHA-256 is stored). `echo_ai.auth.CreatedApiKey` keeps it out of `repr`.
#[derive(Serialize)]
struct CreatedOut<'a> {
    key: &'a ApiKey,
    secret: &'a str,
}

/// The work of `Echo.create_api_key` / `AsyncEcho.create_api_key` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn create_api_key(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    name: String,
    scopes: Vec<String>,
    expires_at: Option<&Bound<'_, PyAny>>,
    environment: &str,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let scopes = scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| to_py_err(py, &e))?;
    let environment: KeyEnvironment =
        serde_json::from_value(serde_json::Value::String(environment.into())).map_err(|_| {
            to_py_err(
                py,
                &echo_core::Error::invalid(
                    "key.environment",
                    format!("{environment:?} is not \"live\" or \"test\""),
                ),
            )
        })?;
    let mut new = NewApiKey::new(name, scopes).environment(environment);
    if let Some(at) = expires_at.filter(|a| !a.is_none()) {
        new = new.expires_at(convert::datetime(at, "key.expires_at")?);
    }
    Ok::<_, PyErr>(async move {
        let created = core(echo.create_api_key(&p, new).await)?;
        Typed::one(
            &CreatedOut {
                key: &created.key,
                secret: created.secret.expose_secret(),
            },
            "CreatedApiKey",
        )
    })
}

/// The work of `Echo.list_api_keys` / `AsyncEcho.list_api_keys` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn list_api_keys(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    limit: Option<u32>,
    after: Option<String>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    Ok::<_, PyErr>(async move { Typed::page(&core(echo.list_api_keys(&p, &page(limit, after)).await)?, "ApiKey") })
}

/// The work of `Echo.revoke_api_key` / `AsyncEcho.revoke_api_key` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn revoke_api_key(
    echo: CoreEcho,
    py: Python<'_>,
    principal: &Principal,
    key_id: &Bound<'_, PyAny>,
) -> PyResult<impl Future<Output = PyResult<Typed>> + Send + 'static + use<>> {
    let p = principal.core().clone();
    let id = convert::id(key_id, ApiKeyId::parse)?;
    Ok::<_, PyErr>(async move { Typed::one(&core(echo.revoke_api_key(&p, id).await)?, "ApiKey") })
}

/// The work of `Echo.authenticate` / `AsyncEcho.authenticate` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn authenticate(
    echo: CoreEcho,
    py: Python<'_>,
    key: String,
) -> PyResult<impl Future<Output = PyResult<Principal>> + Send + 'static + use<>> {
    Ok::<_, PyErr>(async move { core(echo.authenticate(&key).await).map(Principal) })
}

/// The work of `Echo.flush_key_usage` / `AsyncEcho.flush_key_usage` (documented in `api.rs`).
#[allow(unused_variables)]
pub(crate) fn flush_key_usage(
    echo: CoreEcho,
    py: Python<'_>,
) -> PyResult<impl Future<Output = PyResult<u64>> + Send + 'static + use<>> {
    Ok::<_, PyErr>(async move { core(echo.flush_key_usage().await) })
}
