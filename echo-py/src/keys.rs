//! API keys, mirroring `echo_core::engine::keys`: create (the plaintext is returned once),
//! list, revoke, authenticate.

use echo_core::auth::{ApiKey, KeyEnvironment, NewApiKey, Scope};
use echo_core::model::ApiKeyId;
use pyo3::prelude::*;
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::auth::Principal;
use crate::convert::{self, Typed, core};
use crate::engine::{echo_methods, page};
use crate::errors::to_py_err;

/// What `create_api_key` hands to Python: the key and its plaintext, which exists nowhere
/// else (only its SHA-256 is stored). `echo_ai.auth.CreatedApiKey` keeps it out of `repr`.
#[derive(Serialize)]
struct CreatedOut<'a> {
    key: &'a ApiKey,
    secret: &'a str,
}

echo_methods! {
    /// Creates an API key for the principal's account and returns a `CreatedApiKey` whose
    /// `secret` is the plaintext key: show it once, it cannot be read again. `scopes` are
    /// scope names (`experiments:read`, ...), each held by the principal; `expires_at` a
    /// timezone-aware datetime; `environment` `"live"` or `"test"`.
    #[pyo3(signature = (principal, name, scopes, *, expires_at = None, environment = "live"))]
    fn create_api_key(&self, echo, py, principal: &Principal, name: String, scopes: Vec<String>,
        expires_at: Option<&Bound<'_, PyAny>>, environment: &str) -> Typed {
        let p = principal.core().clone();
        let scopes = scopes
            .iter()
            .map(|s| s.parse::<Scope>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| to_py_err(py, &e))?;
        let environment: KeyEnvironment = serde_json::from_value(serde_json::Value::String(environment.into()))
            .map_err(|_| {
                to_py_err(py, &echo_core::Error::invalid("key.environment", format!("{environment:?} is not \"live\" or \"test\"")))
            })?;
        let mut new = NewApiKey::new(name, scopes).environment(environment);
        if let Some(at) = expires_at.filter(|a| !a.is_none()) {
            new = new.expires_at(convert::datetime(at, "key.expires_at")?);
        }
        Ok::<_, PyErr>(async move {
            let created = core(echo.create_api_key(&p, new).await)?;
            Typed::one(
                &CreatedOut { key: &created.key, secret: created.secret.expose_secret() },
                "CreatedApiKey",
            )
        })
    }

    /// The account's keys (revoked and expired included), newest first (a `Page` of
    /// `ApiKey`, never with secrets).
    #[pyo3(signature = (principal, *, limit = None, after = None))]
    fn list_api_keys(&self, echo, py, principal: &Principal, limit: Option<u32>, after: Option<String>) -> Typed {
        let p = principal.core().clone();
        Ok::<_, PyErr>(async move { Typed::page(&core(echo.list_api_keys(&p, &page(limit, after)).await)?, "ApiKey") })
    }

    /// Revokes a key of the principal's account: it stops authenticating at once, in every
    /// process. Returns the revoked `ApiKey`.
    fn revoke_api_key(&self, echo, py, principal: &Principal, key_id: &Bound<'_, PyAny>) -> Typed {
        let p = principal.core().clone();
        let id = convert::id(key_id, ApiKeyId::parse)?;
        Ok::<_, PyErr>(async move { Typed::one(&core(echo.revoke_api_key(&p, id).await)?, "ApiKey") })
    }

    /// The `Principal` a presented API key stands for, or `UnauthenticatedError` (its
    /// `reason` is for the host's logs; the message is the same for unknown, revoked and
    /// expired keys).
    fn authenticate(&self, echo, py, key: String) -> Principal {
        Ok::<_, PyErr>(async move { core(echo.authenticate(&key).await).map(Principal) })
    }

    /// Writes pending `last_used_at` updates now; returns how many keys changed.
    fn flush_key_usage(&self, echo, py) -> u64 {
        Ok::<_, PyErr>(async move { core(echo.flush_key_usage().await) })
    }
}
