//! The API key operations of the [`Echo`] facade: create, list, revoke, authenticate.
//!
//! `authenticate` is the hot path of every keyed request:
//!
//! ```text
//! parse + checksum (no I/O) → SHA-256 → one indexed lookup by hash
//!   → expiry, revocation, constant-time hash comparison (same work if nothing was found)
//!   → Principal, and the use recorded in memory (last_used_at is written in batches)
//! ```
//!
//! Nothing positive is cached between calls, so a revocation takes effect on the next
//! request, in every process sharing the store.

use super::Echo;
use crate::audit::AuditAction;
use crate::auth::key_format;
use crate::auth::verify::{self, NoTrace, Step, Trace};
use crate::auth::{ApiKey, AuthFailure, CreatedApiKey, NewApiKey, Principal, Scope};
use crate::model::{ApiKeyId, Page, PageRequest};
use crate::store::{AccountStatus, ApiKeyRecord, KeyTouch, truncate_to_millis};
use crate::{Error, Result};

impl Echo {
    /// Creates an API key for the principal's account and returns it with its plaintext,
    /// which is shown this once (only its SHA-256 is stored). Needs `keys:manage`; the key's
    /// scopes must be held by the principal (`PermissionDenied` otherwise) and cannot
    /// include `admin`.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn create_api_key(&self, principal: &Principal, new: NewApiKey) -> Result<CreatedApiKey> {
        let audit = self.audit_record(principal, AuditAction::ApiKeyCreate);
        self.audited(audit.clone(), async {
            principal.require(Scope::KeysManage)?;
            self.ensure_active(principal).await?;
            let now = self.now();
            let new = NewApiKey {
                expires_at: new.expires_at.map(truncate_to_millis),
                ..new
            };
            let (name, scopes) = new.validate(principal, now)?;
            let generated = key_format::generate(new.environment);
            let key = ApiKey {
                id: ApiKeyId::new(),
                account_id: principal.account_id(),
                name,
                display_prefix: generated.display_prefix,
                environment: new.environment,
                scopes,
                created_at: now,
                expires_at: new.expires_at,
                revoked_at: None,
                last_used_at: None,
            };
            // Metadata only: never the secret, nor its hash.
            let audit = audit
                .target("api_key", key.id)
                .detail("name", &key.name)
                .detail("display_prefix", &key.display_prefix)
                .detail("scopes", &key.scopes)
                .detail("expires_at", key.expires_at);
            self.store()
                .insert_api_key_audited(
                    &ApiKeyRecord {
                        key: key.clone(),
                        key_hash: generated.hash,
                    },
                    &audit,
                )
                .await?;
            tracing::info!(api_key_id = %key.id, prefix = %key.display_prefix, "API key created");
            Ok(CreatedApiKey {
                key,
                secret: generated.secret,
            })
        })
        .await
    }

    /// The account's keys (revoked and expired included), newest first, keyset-paginated.
    /// Needs `keys:manage`.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn list_api_keys(&self, principal: &Principal, page: &PageRequest) -> Result<Page<ApiKey>> {
        principal.require(Scope::KeysManage)?;
        self.ensure_active(principal).await?;
        page.effective_limit()?;
        let listed = self.store().list_api_keys(principal.account_id(), page).await?;
        self.audit_admin_read(principal, "list_api_keys", None).await?;
        Ok(listed)
    }

    /// Revokes a key of the principal's account; it stops authenticating at once, in every
    /// process. Revoking again is harmless. Needs `keys:manage`; another account's key is
    /// `NotFound`.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id(), api_key_id = %id))]
    pub async fn revoke_api_key(&self, principal: &Principal, id: ApiKeyId) -> Result<ApiKey> {
        let audit = self
            .audit_record(principal, AuditAction::ApiKeyRevoke)
            .target("api_key", id);
        self.audited(audit.clone(), async {
            principal.require(Scope::KeysManage)?;
            self.ensure_active(principal).await?;
            let key = self
                .store()
                .revoke_api_key_audited(principal.account_id(), id, self.now(), &audit)
                .await?;
            tracing::info!("API key revoked");
            Ok(key)
        })
        .await
    }

    /// Turns a presented API key into the [`Principal`] it stands for: its account and
    /// exactly its scopes.
    ///
    /// Fails with `Unauthenticated`; [`Error::auth_failure`] tells the host why
    /// ([`AuthFailure`]: malformed and bad-checksum keys are refused without touching the
    /// database; unknown, revoked and expired keys after one indexed lookup). The message
    /// of the last three is the same, so a caller cannot learn whether a key exists.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, presented_key: &str) -> Result<Principal> {
        self.authenticate_traced(presented_key, &mut NoTrace).await
    }

    /// [`Echo::authenticate`], reporting each step to `trace` (tests check that every key
    /// that reaches the lookup walks the same path).
    pub(crate) async fn authenticate_traced(&self, presented_key: &str, trace: &mut impl Trace) -> Result<Principal> {
        trace.step(Step::Parse);
        let parsed = key_format::parse(presented_key).map_err(|reason| {
            tracing::debug!(reason = reason.as_str(), "API key refused before lookup");
            Error::Unauthenticated(reason)
        })?;
        trace.step(Step::Hash);
        let hash = parsed.hash();
        trace.step(Step::Lookup);
        // The lookup also reads the key's account status (a join on the account's primary
        // key), so refusing the keys of a blocked account costs no extra round trip.
        let (found, account_status) = match self.store().find_api_key_for_auth(&hash).await? {
            Some((record, status)) => (Some(record), Some(status)),
            None => (None, None),
        };
        let now = self.now();
        match verify::decide(&hash, found.as_ref(), now, trace) {
            // A valid key of an account that is not active (deletion pending, blocked). Decided
            // after the constant-work step and only for keys that passed it, so it reveals
            // nothing to callers without a valid key; revoked keys keep answering "invalid".
            Ok(key) if account_status.is_some_and(|s| s != AccountStatus::Active) => {
                let status = account_status.unwrap_or(AccountStatus::Blocked);
                tracing::info!(api_key_id = %key.id, account_id = %key.account_id, status = status.as_str(),
                    "API key of an inactive account refused");
                Err(self.blocked(key.account_id, status).await)
            }
            Ok(key) => {
                self.key_usage().record(KeyTouch {
                    account_id: key.account_id,
                    key_id: key.id,
                    at: now,
                });
                tracing::debug!(api_key_id = %key.id, account_id = %key.account_id, "API key authenticated");
                Ok(Principal::from_api_key(key))
            }
            Err(reason) => {
                match (&found, reason) {
                    // A revoked or expired key still in use is worth a look by the operator.
                    (Some(record), AuthFailure::Revoked | AuthFailure::Expired) => tracing::info!(
                        reason = reason.as_str(),
                        api_key_id = %record.key.id,
                        account_id = %record.key.account_id,
                        "API key refused"
                    ),
                    _ => tracing::debug!(reason = reason.as_str(), "API key refused"),
                }
                Err(Error::Unauthenticated(reason))
            }
        }
    }

    /// Writes the pending `last_used_at` updates now instead of at the next interval
    /// ([`close`](Echo::close) does this too). Returns how many keys changed.
    #[tracing::instrument(skip_all)]
    pub async fn flush_key_usage(&self) -> Result<u64> {
        self.key_usage().flush().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::DateTime;
    use secrecy::ExposeSecret;

    use super::*;
    use crate::ErrorKind;
    use crate::auth::KeyEnvironment;
    use crate::clock::{Clock, ManualClock};
    use crate::model::NewAccount;

    fn t0() -> DateTime<chrono::Utc> {
        DateTime::from_timestamp_millis(1_735_689_600_000).unwrap()
    }

    async fn engine() -> (Echo, Arc<ManualClock>, Principal) {
        let clock = Arc::new(ManualClock::new(t0()));
        let echo = Echo::builder()
            .clock(clock.clone() as Arc<dyn Clock>)
            // Long enough that the timer never fires during a test: flushes are explicit.
            .key_usage_flush_interval(Duration::from_secs(3600))
            .build()
            .await
            .unwrap();
        let account = echo
            .create_account(
                &Principal::admin(),
                NewAccount {
                    name: "acme".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        (echo, clock, Principal::host(account.id))
    }

    #[tokio::test]
    async fn every_key_that_reaches_the_lookup_walks_the_same_path() {
        let (echo, clock, owner) = engine().await;
        let valid = echo
            .create_api_key(&owner, NewApiKey::new("valid", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        let revoked = echo
            .create_api_key(&owner, NewApiKey::new("revoked", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        echo.revoke_api_key(&owner, revoked.key.id).await.unwrap();
        let expiring = echo
            .create_api_key(
                &owner,
                NewApiKey::new("expiring", [Scope::ExperimentsRead]).expires_at(t0() + chrono::Duration::seconds(10)),
            )
            .await
            .unwrap();
        clock.advance(Duration::from_secs(10));
        // Well formed, right checksum, never stored.
        let unknown = key_format::generate(KeyEnvironment::Live);

        let cases = [
            (valid.secret.expose_secret(), None),
            (unknown.secret.expose_secret(), Some(AuthFailure::Unknown)),
            (revoked.secret.expose_secret(), Some(AuthFailure::Revoked)),
            (expiring.secret.expose_secret(), Some(AuthFailure::Expired)),
        ];
        let mut paths = Vec::new();
        for (key, expected) in cases {
            let mut trace: Vec<Step> = Vec::new();
            let outcome = echo.authenticate_traced(key, &mut trace).await;
            assert_eq!(outcome.as_ref().err().and_then(Error::auth_failure), expected);
            paths.push(trace);
        }
        let expected_path = vec![
            Step::Parse,
            Step::Hash,
            Step::Lookup,
            Step::CheckExpiry,
            Step::CheckRevocation,
            Step::CompareHash,
            Step::Decide,
        ];
        for path in &paths {
            assert_eq!(path, &expected_path);
        }

        // Malformed and mistyped keys stop before the lookup.
        for (bad, reason) in [
            ("echo_live_short".to_string(), AuthFailure::Malformed),
            (
                {
                    let mut k = valid.secret.expose_secret().to_string().into_bytes();
                    k[12] = if k[12] == b'x' { b'y' } else { b'x' };
                    String::from_utf8(k).unwrap()
                },
                AuthFailure::BadChecksum,
            ),
        ] {
            let mut trace: Vec<Step> = Vec::new();
            let err = echo.authenticate_traced(&bad, &mut trace).await.unwrap_err();
            assert_eq!(err.auth_failure(), Some(reason));
            assert_eq!(trace, vec![Step::Parse], "no lookup for {reason:?}");
        }
    }

    #[tokio::test]
    async fn errors_are_distinct_for_the_host_and_alike_for_the_caller() {
        let (echo, clock, owner) = engine().await;
        let revoked = echo
            .create_api_key(&owner, NewApiKey::new("r", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        echo.revoke_api_key(&owner, revoked.key.id).await.unwrap();
        let expiring = echo
            .create_api_key(
                &owner,
                NewApiKey::new("e", [Scope::ExperimentsRead]).expires_at(t0() + chrono::Duration::seconds(1)),
            )
            .await
            .unwrap();
        clock.advance(Duration::from_secs(1));
        let unknown = key_format::generate(KeyEnvironment::Test);
        let mut messages = std::collections::HashSet::new();
        for (key, reason) in [
            (unknown.secret.expose_secret(), AuthFailure::Unknown),
            (revoked.secret.expose_secret(), AuthFailure::Revoked),
            (expiring.secret.expose_secret(), AuthFailure::Expired),
        ] {
            let err = echo.authenticate(key).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated);
            assert_eq!(err.auth_failure(), Some(reason));
            messages.insert(err.to_string());
        }
        assert_eq!(
            messages.into_iter().collect::<Vec<_>>(),
            vec![crate::auth::INVALID_KEY_MESSAGE.to_string()]
        );
    }

    #[tokio::test]
    async fn revocation_takes_effect_on_the_next_call() {
        let (echo, _clock, owner) = engine().await;
        let created = echo
            .create_api_key(&owner, NewApiKey::new("k", [Scope::ExperimentsRead, Scope::RunsWrite]))
            .await
            .unwrap();
        let principal = echo.authenticate(created.secret.expose_secret()).await.unwrap();
        assert_eq!(principal.account_id(), owner.account_id());
        assert_eq!(principal.scopes(), &[Scope::ExperimentsRead, Scope::RunsWrite]);
        assert_eq!(
            principal.actor(),
            &crate::auth::Actor::ApiKey(created.key.id.to_string())
        );
        echo.revoke_api_key(&owner, created.key.id).await.unwrap();
        let err = echo.authenticate(created.secret.expose_secret()).await.unwrap_err();
        assert_eq!(err.auth_failure(), Some(AuthFailure::Revoked));
    }

    #[tokio::test]
    async fn last_used_at_is_buffered_and_flushed_in_one_batch() {
        let (echo, clock, owner) = engine().await;
        let a = echo
            .create_api_key(&owner, NewApiKey::new("a", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        let b = echo
            .create_api_key(&owner, NewApiKey::new("b", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        for _ in 0..3 {
            echo.authenticate(a.secret.expose_secret()).await.unwrap();
            clock.advance(Duration::from_secs(1));
        }
        echo.authenticate(b.secret.expose_secret()).await.unwrap();
        // Nothing written yet: authentication does not write.
        let stored = |id| {
            let echo = echo.clone();
            let account = owner.account_id();
            async move { echo.store().get_api_key(account, id).await.unwrap().last_used_at }
        };
        assert_eq!(stored(a.key.id).await, None);
        assert_eq!(echo.key_usage().pending(), 2);
        assert_eq!(echo.flush_key_usage().await.unwrap(), 2);
        assert_eq!(stored(a.key.id).await, Some(t0() + chrono::Duration::seconds(2)));
        assert_eq!(stored(b.key.id).await, Some(t0() + chrono::Duration::seconds(3)));
        assert_eq!(echo.key_usage().pending(), 0);
        assert_eq!(echo.flush_key_usage().await.unwrap(), 0, "nothing pending");
    }

    /// The timer writes without an explicit flush. (Real time: sqlx's pool timeouts do not
    /// survive tokio's paused clock. No timing is asserted, the test only waits.)
    #[tokio::test]
    async fn the_timer_writes_pending_uses() {
        let clock = Arc::new(ManualClock::new(t0()));
        let echo = Echo::builder()
            .clock(clock.clone() as Arc<dyn Clock>)
            .key_usage_flush_interval(Duration::from_millis(50))
            .build()
            .await
            .unwrap();
        let account = echo
            .create_account(
                &Principal::admin(),
                NewAccount {
                    name: "acme".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let owner = Principal::host(account.id);
        let key = echo
            .create_api_key(&owner, NewApiKey::new("k", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        clock.advance(Duration::from_secs(7));
        echo.authenticate(key.secret.expose_secret()).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let stored = loop {
            let stored = echo.store().get_api_key(account.id, key.key.id).await.unwrap();
            if stored.last_used_at.is_some() || std::time::Instant::now() > deadline {
                break stored;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(stored.last_used_at, Some(t0() + chrono::Duration::seconds(7)));
        assert_eq!(echo.key_usage().pending(), 0);
    }
}
