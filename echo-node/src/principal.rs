//! Who is calling, mirroring `echo_core::auth::Principal`.
//!
//! A `Principal` is an opaque object: JavaScript can make one for an account it vouches
//! for (`Principal.host`), the operator (`Principal.admin`), or get one from
//! `echo.authenticate(key)` — it cannot forge a key's principal or widen its scopes.

use echo_core::auth::{Actor, Principal as CorePrincipal};
use echo_core::model::AccountId;
use napi::Env;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::convert::{parse, via_serde};
use crate::promise::sync;

/// The request a principal serves, as the host determined it. Echo records it on the audit
/// events the principal's operations write; `ip` and `userAgent` are personal data, kept
/// out of the hash chain's body so they can be erased without breaking it. Blank fields are
/// dropped and long ones cut to 512 characters.
#[napi(object)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct RequestContext {
    /// The client's address (e.g. from a trusted proxy's header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Your id of this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// An id that follows one piece of work across requests and processes. Runs the
    /// principal enqueues store it and log it wherever they execute, unless
    /// `RunOptions.correlationId` names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// The caller of an operation: an account, its scopes and who acts.
#[napi]
#[derive(Clone)]
pub struct Principal {
    pub(crate) inner: CorePrincipal,
}

#[napi]
impl Principal {
    /// The host vouches for `accountId` (e.g. its session says the user belongs to that
    /// tenant): every scope except `admin`.
    #[napi(factory)]
    pub fn host(env: Env, account_id: String) -> napi::Result<Self> {
        let account: AccountId = sync(&env, parse(&account_id, "accountId"))?;
        Ok(Self {
            inner: CorePrincipal::host(account),
        })
    }

    /// The host's operator: the only principal that may create accounts. It must name the
    /// account it acts on (`actingFor`) before any account-scoped operation.
    #[napi(factory)]
    pub fn admin() -> Self {
        Self {
            inner: CorePrincipal::admin(),
        }
    }

    /// The operator acting on one account. `permission_denied` for any other principal.
    #[napi]
    pub fn acting_for(&self, env: Env, account_id: String) -> napi::Result<Principal> {
        let account: AccountId = sync(&env, parse(&account_id, "accountId"))?;
        Ok(Self {
            inner: sync(&env, self.inner.acting_for(account))?,
        })
    }

    /// The account this principal acts on; absent for an operator not acting for one.
    #[napi(getter)]
    pub fn account_id(&self) -> Option<String> {
        self.inner.account().map(|a| a.to_string())
    }

    /// The scopes held (`experiments:read`, `experiments:write`, `runs:write`,
    /// `keys:manage`, `admin`).
    #[napi(getter)]
    pub fn scopes(&self) -> Vec<&'static str> {
        self.inner.scopes().iter().map(|s| s.as_str()).collect()
    }

    /// Who acts: `host`, `admin`, or `api_key:<key id>`.
    #[napi(getter)]
    pub fn actor(&self) -> String {
        match self.inner.actor() {
            Actor::Host => "host".to_string(),
            Actor::Admin => "admin".to_string(),
            Actor::ApiKey(id) => format!("api_key:{id}"),
            #[allow(unreachable_patterns)]
            other => format!("{other:?}"),
        }
    }

    /// The same principal serving `request`: the audit events of its operations record it.
    /// Call it per request
    /// (`Principal.host(id).withRequest({ ip, userAgent, requestId, correlationId })`).
    #[napi]
    pub fn with_request(&self, env: Env, request: RequestContext) -> napi::Result<Principal> {
        let request = sync(&env, via_serde(&request, "request"))?;
        Ok(Self {
            inner: self.inner.clone().with_request(request),
        })
    }

    /// The request context given with `withRequest`, if any.
    #[napi(getter)]
    pub fn request(&self) -> Option<RequestContext> {
        self.inner.request().and_then(|r| via_serde(r, "request").ok())
    }

    /// Whether the principal holds `scope`.
    #[napi]
    pub fn has(&self, env: Env, scope: String) -> napi::Result<bool> {
        let scope = sync(&env, parse(&scope, "scope"))?;
        Ok(self.inner.has(scope))
    }
}
