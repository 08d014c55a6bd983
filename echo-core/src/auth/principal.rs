//! The caller of an operation.

use serde::{Deserialize, Serialize};

use super::{ApiKey, RequestContext};
use crate::model::AccountId;
use crate::{Error, Result};

/// A permission an operation requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Scope {
    /// Read experiments, runs and reports.
    #[serde(rename = "experiments:read")]
    ExperimentsRead,
    /// Create, change and delete experiments.
    #[serde(rename = "experiments:write")]
    ExperimentsWrite,
    /// Start, resume and cancel runs (spends quota and provider money).
    #[serde(rename = "runs:write")]
    RunsWrite,
    /// Create and revoke API keys.
    #[serde(rename = "keys:manage")]
    KeysManage,
    /// Operations across accounts.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 5] = [
        Scope::ExperimentsRead,
        Scope::ExperimentsWrite,
        Scope::RunsWrite,
        Scope::KeysManage,
        Scope::Admin,
    ];

    /// The wire name (`experiments:read`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ExperimentsRead => "experiments:read",
            Scope::ExperimentsWrite => "experiments:write",
            Scope::RunsWrite => "runs:write",
            Scope::KeysManage => "keys:manage",
            Scope::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = Error;

    /// Parses a wire name (`experiments:read`, ...), e.g. from a host's create-key request.
    fn from_str(s: &str) -> Result<Self> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| {
                Error::invalid(
                    "scope",
                    format!(
                        "{s:?} is not a scope; expected one of {}",
                        Scope::ALL.map(Scope::as_str).join(", ")
                    ),
                )
            })
    }
}

/// How the principal was established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The embedding host vouches for the account (its own session/login checks passed).
    Host,
    /// An API key, by its id (the text form of its [`ApiKeyId`](crate::model::ApiKeyId)).
    ApiKey(String),
    /// The host's operator ([`Principal::admin`]): may act for any account.
    Admin,
}

/// The caller of an operation: the account it acts for, the scopes it holds, and how it
/// was established.
///
/// Three kinds exist:
/// - [`Principal::host`]: the host vouches for an account (its own login checked the user).
/// - a key principal, returned by [`Echo::authenticate`](crate::engine::Echo::authenticate),
///   holding exactly the key's scopes.
/// - [`Principal::admin`]: the host's operator. It holds every scope and may act for any
///   account, but must name the account first: `Principal::admin().acting_for(account)?`.
///   Unbound, it can only do what concerns no account (creating accounts).
///
/// Principals are made by host code, which Echo trusts: nothing a remote caller sends can
/// become an admin principal, because no API key can hold the `admin` scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// `None` only for an operator that has not named an account yet.
    account_id: Option<AccountId>,
    scopes: Vec<Scope>,
    actor: Actor,
    /// The request being served, when the host passed it ([`Principal::with_request`]);
    /// recorded in the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<RequestContext>,
}

impl Principal {
    /// A trusted host context acting for `account` with every non-admin scope. Use this
    /// when the host has authenticated the user itself.
    pub fn host(account: AccountId) -> Self {
        Self {
            account_id: Some(account),
            scopes: vec![
                Scope::ExperimentsRead,
                Scope::ExperimentsWrite,
                Scope::RunsWrite,
                Scope::KeysManage,
            ],
            actor: Actor::Host,
            request: None,
        }
    }

    /// The host's operator, not yet acting for any account: may create accounts; for
    /// anything inside an account, name it with [`acting_for`](Self::acting_for).
    pub fn admin() -> Self {
        Self {
            account_id: None,
            scopes: Scope::ALL.to_vec(),
            actor: Actor::Admin,
            request: None,
        }
    }

    /// The same operator acting for `account`. Only a principal holding the `admin` scope
    /// may switch accounts; any other gets `PermissionDenied` (so a bug that feeds a key
    /// principal and a URL's account id into this cannot cross tenants).
    pub fn acting_for(&self, account: AccountId) -> Result<Self> {
        if !self.scopes.contains(&Scope::Admin) {
            return Err(Error::PermissionDenied(
                "only an admin principal (Principal::admin) may act for another account".into(),
            ));
        }
        Ok(Self {
            account_id: Some(account),
            ..self.clone()
        })
    }

    /// A principal with exactly `scopes` on `account`.
    pub fn with_scopes(account: AccountId, scopes: impl IntoIterator<Item = Scope>, actor: Actor) -> Self {
        let mut scopes: Vec<Scope> = scopes.into_iter().collect();
        scopes.sort();
        scopes.dedup();
        Self {
            account_id: Some(account),
            scopes,
            actor,
            request: None,
        }
    }

    /// The principal of an authenticated API key: its account, exactly its scopes.
    pub(crate) fn from_api_key(key: &ApiKey) -> Self {
        Self::with_scopes(
            key.account_id,
            key.scopes.iter().copied(),
            Actor::ApiKey(key.id.to_string()),
        )
    }

    /// The account the principal acts for. An operator that has not named one
    /// ([`Principal::admin`] without [`acting_for`](Self::acting_for)) answers the nil id,
    /// which owns nothing; [`require`](Self::require) refuses such a principal before any
    /// account-scoped operation gets this far.
    pub fn account_id(&self) -> AccountId {
        self.account_id.unwrap_or(AccountId(uuid::Uuid::nil()))
    }

    /// The account the principal acts for, `None` for an unbound operator.
    pub fn account(&self) -> Option<AccountId> {
        self.account_id
    }

    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The same principal serving `request`: its ip, user agent, request and correlation
    /// ids go into the audit events of the operations it performs.
    pub fn with_request(mut self, request: RequestContext) -> Self {
        self.request = Some(request.normalized());
        self
    }

    /// The request this principal serves, if the host passed one.
    pub fn request(&self) -> Option<&RequestContext> {
        self.request.as_ref()
    }

    /// Whether the principal holds `scope` (admin holds every scope).
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// Whether this is an operator (holds the `admin` scope).
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// The check at the top of every account-scoped operation: `PermissionDenied` unless the
    /// principal holds `scope`; `InvalidInput` (field `principal`) for an operator that has
    /// not named the account it acts for. Ownership itself is checked by the store query
    /// (the account id in the WHERE clause), so another account's object is `NotFound`.
    pub fn require(&self, scope: Scope) -> Result<()> {
        if !self.has(scope) {
            return Err(Error::PermissionDenied(format!(
                "this operation needs the {} scope; the caller has [{}]",
                scope.as_str(),
                self.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        if self.account_id.is_none() {
            return Err(Error::invalid(
                "principal",
                "an admin principal must name the account it acts for: Principal::admin().acting_for(account_id)",
            ));
        }
        Ok(())
    }

    /// `PermissionDenied` unless the principal is an operator. For operations that concern
    /// no single account (creating accounts); an unbound operator passes.
    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::PermissionDenied(
                "this operation needs the admin scope (Principal::admin, the host's operator)".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked() {
        let p = Principal::with_scopes(AccountId::new(), [Scope::ExperimentsRead], Actor::Host);
        assert!(p.require(Scope::ExperimentsRead).is_ok());
        let err = p.require(Scope::RunsWrite).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("runs:write"));
        let admin = Principal::with_scopes(AccountId::new(), [Scope::Admin], Actor::Host);
        assert!(admin.require(Scope::RunsWrite).is_ok());
    }

    #[test]
    fn scope_names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
            assert_eq!(serde_json::to_string(&scope).unwrap(), format!("\"{scope}\""));
        }
        assert_eq!("runs:read".parse::<Scope>().unwrap_err().field(), Some("scope"));
    }

    #[test]
    fn an_operator_must_name_its_account() {
        let operator = Principal::admin();
        assert!(operator.require_admin().is_ok());
        assert_eq!(operator.account(), None);
        let err = operator.require(Scope::ExperimentsRead).unwrap_err();
        assert_eq!(err.field(), Some("principal"));
        let account = AccountId::new();
        let bound = operator.acting_for(account).unwrap();
        assert_eq!(bound.account_id(), account);
        assert_eq!(bound.actor(), &Actor::Admin);
        assert!(bound.require(Scope::RunsWrite).is_ok());
        assert!(bound.require_admin().is_ok());
    }

    #[test]
    fn only_an_operator_switches_accounts() {
        let host = Principal::host(AccountId::new());
        let err = host.acting_for(AccountId::new()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::PermissionDenied);
        assert_eq!(
            host.require_admin().unwrap_err().kind(),
            crate::ErrorKind::PermissionDenied
        );
    }
}
