//! `Principal`, mirroring `echo_core::auth::Principal`: who calls an operation.
//!
//! An opaque object rather than a dict, so Python code gets a principal only from the same
//! three doors as Rust code: `Principal.host` (the host vouches for an account),
//! `Principal.admin` (the host's operator) and `Echo.authenticate` (an API key).

use echo_core::auth::{Actor, Principal as CorePrincipal, RequestContext, Scope};
use echo_core::model::AccountId;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::convert;
use crate::errors::to_py_err;

/// The caller of an operation: its account, its scopes, and how it was established.
#[pyclass(frozen, eq, module = "echo_ai._native")]
#[derive(Clone, PartialEq)]
pub struct Principal(pub CorePrincipal);

impl Principal {
    pub fn core(&self) -> &CorePrincipal {
        &self.0
    }
}

fn scopes_from(py: Python<'_>, names: &[String]) -> PyResult<Vec<Scope>> {
    names
        .iter()
        .map(|n| n.parse::<Scope>().map_err(|e| to_py_err(py, &e)))
        .collect()
}

#[pymethods]
impl Principal {
    /// The host vouches for `account_id` (its own login checked the user): every scope but
    /// `admin`, or exactly `scopes` when given.
    #[staticmethod]
    #[pyo3(signature = (account_id, scopes = None))]
    fn host(account_id: &Bound<'_, PyAny>, scopes: Option<Vec<String>>) -> PyResult<Self> {
        let account = convert::id(account_id, AccountId::parse)?;
        Ok(Self(match scopes {
            None => CorePrincipal::host(account),
            Some(names) => {
                let scopes = scopes_from(account_id.py(), &names)?;
                if scopes.contains(&Scope::Admin) {
                    return Err(to_py_err(
                        account_id.py(),
                        &echo_core::Error::invalid("scopes", "use Principal.admin() for the admin scope"),
                    ));
                }
                CorePrincipal::with_scopes(account, scopes, Actor::Host)
            }
        }))
    }

    /// The host's operator, not yet acting for any account: may create accounts; name an
    /// account with `acting_for` for anything inside one.
    #[staticmethod]
    fn admin() -> Self {
        Self(CorePrincipal::admin())
    }

    /// The same operator acting for `account_id`; `PermissionDeniedError` for any other
    /// principal.
    fn acting_for(&self, account_id: &Bound<'_, PyAny>) -> PyResult<Self> {
        let account = convert::id(account_id, AccountId::parse)?;
        self.0
            .acting_for(account)
            .map(Self)
            .map_err(|e| to_py_err(account_id.py(), &e))
    }

    /// The same principal serving one request of the host: its client `ip` and
    /// `user_agent`, and the host's `request_id` / `correlation_id`, go into the audit
    /// events of the operations it performs (the core trims and caps them). The ip and
    /// user agent are personal data: `Echo.erase_audit_personal_data` clears them.
    #[pyo3(signature = (*, ip = None, user_agent = None, request_id = None, correlation_id = None))]
    fn with_request(
        &self,
        ip: Option<String>,
        user_agent: Option<String>,
        request_id: Option<String>,
        correlation_id: Option<String>,
    ) -> Self {
        Self(self.0.clone().with_request(RequestContext {
            ip,
            user_agent,
            request_id,
            correlation_id,
        }))
    }

    /// The account acted for (a UUID string); `None` for an operator that named none.
    #[getter]
    fn account_id(&self) -> Option<String> {
        self.0.account().map(|a| a.to_string())
    }

    /// The scopes held (`experiments:read`, `experiments:write`, `runs:write`,
    /// `keys:manage`, `admin`).
    #[getter]
    fn scopes(&self) -> Vec<&'static str> {
        self.0.scopes().iter().map(|s| s.as_str()).collect()
    }

    /// How the principal was established: `host`, `api_key` or `admin`.
    #[getter]
    fn actor(&self) -> &'static str {
        match self.0.actor() {
            Actor::Host => "host",
            Actor::ApiKey(_) => "api_key",
            Actor::Admin => "admin",
        }
    }

    /// The id of the API key for key principals, else `None`.
    #[getter]
    fn api_key_id(&self) -> Option<String> {
        match self.0.actor() {
            Actor::ApiKey(id) => Some(id.clone()),
            _ => None,
        }
    }

    /// Whether the principal holds `scope` (an admin holds every scope).
    fn has(&self, py: Python<'_>, scope: &str) -> PyResult<bool> {
        let scope: Scope = scope.parse().map_err(|e| to_py_err(py, &e))?;
        Ok(self.0.has(scope))
    }

    fn __repr__(&self) -> String {
        format!(
            "Principal(actor={:?}, account_id={}, scopes={:?})",
            self.actor(),
            self.account_id().map_or("None".to_string(), |a| format!("{a:?}")),
            self.scopes()
        )
    }
}

/// Every scope name, for hosts building key-creation forms.
#[pyfunction]
pub fn scopes() -> Vec<&'static str> {
    Scope::ALL.iter().map(|s| s.as_str()).collect()
}
