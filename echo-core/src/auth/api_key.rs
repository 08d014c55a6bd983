//! API keys as an account sees them: what is stored about a key, what a caller asks for
//! when creating one, and the one-time result holding the plaintext.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{KeyEnvironment, Principal, Scope};
use crate::model::{AccountId, ApiKeyId};
use crate::{Error, Result};

/// Longest key name accepted, in characters.
pub const MAX_KEY_NAME_CHARS: usize = 200;

/// What is known about a key, without its secret (only its hash is stored, and that is not
/// part of this type either). Safe to list, log and show in a UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    /// The owner's label ("CI pipeline", "reporting dashboard").
    pub name: String,
    /// The key's first characters and an ellipsis (`echo_live_4kZ9…`), so a person can tell
    /// which key is which.
    pub display_prefix: String,
    pub environment: KeyEnvironment,
    /// What the key may do; never more than the principal that created it.
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    /// The key stops working at this instant, when set.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key never works again.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The latest successful authentication that has been flushed to the store. Recorded in
    /// memory and written in batches (at most once per key per flush interval, a minute by
    /// default), so it may lag by up to that interval.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key authenticates at `now`: not revoked and not expired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// What a caller asks for when creating a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    /// A label for the owner; not blank, at most [`MAX_KEY_NAME_CHARS`] characters.
    pub name: String,
    /// At least one; each must be held by the creating principal. `admin` is never given
    /// to a key (it belongs to the host's operator, see [`Principal::admin`]).
    pub scopes: Vec<Scope>,
    /// Must be in the future when given; `None` never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// `live` (default) or `test`, written into the key's prefix.
    #[serde(default)]
    pub environment: KeyEnvironment,
}

impl NewApiKey {
    /// A live key named `name` with `scopes` and no expiry.
    pub fn new(name: impl Into<String>, scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self {
            name: name.into(),
            scopes: scopes.into_iter().collect(),
            expires_at: None,
            environment: KeyEnvironment::Live,
        }
    }

    /// Sets the expiry.
    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets the environment.
    pub fn environment(mut self, environment: KeyEnvironment) -> Self {
        self.environment = environment;
        self
    }

    /// Checks the request against its creator at `now`; returns the trimmed name and the
    /// sorted, deduplicated scopes. Bad input is `InvalidInput` naming the field; a scope
    /// the creator lacks is `PermissionDenied` (a key can never widen its creator's reach).
    pub(crate) fn validate(&self, creator: &Principal, now: DateTime<Utc>) -> Result<(String, Vec<Scope>)> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Error::invalid("key.name", "must not be blank"));
        }
        if name.chars().count() > MAX_KEY_NAME_CHARS {
            return Err(Error::invalid(
                "key.name",
                format!("must be at most {MAX_KEY_NAME_CHARS} characters"),
            ));
        }
        if self.scopes.is_empty() {
            return Err(Error::invalid(
                "key.scopes",
                "must name at least one scope (e.g. experiments:read)",
            ));
        }
        if self.scopes.contains(&Scope::Admin) {
            return Err(Error::invalid(
                "key.scopes",
                "the admin scope cannot be given to an API key: it belongs to the host's operator \
                 (Principal::admin), who is never authenticated by a key",
            ));
        }
        if let Some(expires_at) = self.expires_at {
            if expires_at <= now {
                return Err(Error::invalid(
                    "key.expires_at",
                    format!("{expires_at} is not in the future; give a later instant or none"),
                ));
            }
        }
        let mut scopes = self.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let missing: Vec<&str> = scopes
            .iter()
            .filter(|s| !creator.has(**s))
            .map(|s| s.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::PermissionDenied(format!(
                "a key cannot hold scopes its creator lacks: [{}]",
                missing.join(", ")
            )));
        }
        Ok((name.to_string(), scopes))
    }
}

/// A key just created: its metadata and the plaintext, which Echo never shows again (only
/// its hash is stored). Hand `secret` to the user once, over TLS, and drop it.
///
/// `Debug` prints the metadata only; `secret` is a [`SecretString`] whose `Debug` is
/// redacted and which has no `Display`, so the plaintext cannot be logged by accident. Read
/// it with `secrecy::ExposeSecret::expose_secret`.
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: SecretString,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &self.key)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_735_689_600_000 + ms).unwrap()
    }

    #[test]
    fn validation_names_the_field_and_caps_scopes_at_the_creators() {
        let creator = Principal::with_scopes(
            AccountId::new(),
            [Scope::ExperimentsRead, Scope::KeysManage],
            super::super::Actor::Host,
        );
        let ok = NewApiKey::new("  ci  ", [Scope::ExperimentsRead, Scope::ExperimentsRead]);
        assert_eq!(
            ok.validate(&creator, t(0)).unwrap(),
            ("ci".to_string(), vec![Scope::ExperimentsRead])
        );
        let cases = [
            (NewApiKey::new(" ", [Scope::ExperimentsRead]), "key.name"),
            (NewApiKey::new("x".repeat(201), [Scope::ExperimentsRead]), "key.name"),
            (NewApiKey::new("ci", []), "key.scopes"),
            (NewApiKey::new("ci", [Scope::Admin]), "key.scopes"),
            (
                NewApiKey::new("ci", [Scope::ExperimentsRead]).expires_at(t(0)),
                "key.expires_at",
            ),
        ];
        for (new, field) in cases {
            assert_eq!(
                new.validate(&creator, t(0)).unwrap_err().field(),
                Some(field),
                "{new:?}"
            );
        }
        let wider = NewApiKey::new("ci", [Scope::ExperimentsRead, Scope::RunsWrite]);
        let err = wider.validate(&creator, t(0)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("runs:write"), "{err}");
        // An operator may give any non-admin scope.
        let admin = Principal::admin().acting_for(AccountId::new()).unwrap();
        assert!(wider.validate(&admin, t(0)).is_ok());
        assert!(
            NewApiKey::new("ci", [Scope::ExperimentsRead])
                .expires_at(t(1))
                .validate(&creator, t(0))
                .is_ok()
        );
    }

    #[test]
    fn activity_depends_on_revocation_and_expiry() {
        let key = ApiKey {
            id: ApiKeyId::new(),
            account_id: AccountId::new(),
            name: "k".into(),
            display_prefix: "echo_live_abcd…".into(),
            environment: KeyEnvironment::Live,
            scopes: vec![Scope::ExperimentsRead],
            created_at: t(0),
            expires_at: Some(t(10)),
            revoked_at: None,
            last_used_at: None,
        };
        assert!(key.is_active(t(9)));
        assert!(!key.is_active(t(10)));
        let revoked = ApiKey {
            revoked_at: Some(t(5)),
            expires_at: None,
            ..key
        };
        assert!(!revoked.is_active(t(1)));
    }
}
