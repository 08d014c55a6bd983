//! The caller of an operation.

use serde::{Deserialize, Serialize};

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

/// How the principal was established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The embedding host vouches for the account (its own session/login checks passed).
    Host,
    /// An API key, by its id.
    ApiKey(String),
}

/// The caller of an operation: an account, the scopes it holds, and how it was
/// established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    account_id: AccountId,
    scopes: Vec<Scope>,
    actor: Actor,
}

impl Principal {
    /// A trusted host context acting for `account` with every non-admin scope. Use this
    /// when the host has authenticated the user itself.
    pub fn host(account: AccountId) -> Self {
        Self {
            account_id: account,
            scopes: vec![
                Scope::ExperimentsRead,
                Scope::ExperimentsWrite,
                Scope::RunsWrite,
                Scope::KeysManage,
            ],
            actor: Actor::Host,
        }
    }

    /// A principal with exactly `scopes` on `account`.
    pub fn with_scopes(account: AccountId, scopes: impl IntoIterator<Item = Scope>, actor: Actor) -> Self {
        let mut scopes: Vec<Scope> = scopes.into_iter().collect();
        scopes.sort();
        scopes.dedup();
        Self {
            account_id: account,
            scopes,
            actor,
        }
    }

    /// The account the principal acts for.
    pub fn account_id(&self) -> AccountId {
        self.account_id
    }

    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Whether the principal holds `scope` (admin holds every scope).
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// `PermissionDenied` unless the principal holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "this operation needs the {} scope; the caller has [{}]",
                scope.as_str(),
                self.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )))
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
}
