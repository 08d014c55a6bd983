//! Deletion requests: who may make and cancel them, and what the caller gets back.
//!
//! - **Request**: the account's host ([`Principal::host`]) or the operator acting for it
//!   (`Principal::admin().acting_for(account)`). Never an API key: a leaked key must not be
//!   able to destroy an account, and erasure is a decision of the person behind the
//!   account, whom the host authenticates.
//! - **Cancel**: only the operator acting for the account. From the request on the account
//!   is blocked — every one of its principals is refused and all its keys are revoked — so
//!   nothing that speaks for the account can still act; the host lifts the block through
//!   its operator, after its own check that the person asked (support ticket, "undo" link).
//! - **Keys stay revoked after a cancellation.** The request may have been made because a
//!   key leaked, and a revoked key can never be restored without re-issuing its secret;
//!   the account creates new keys once it is active again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::{Actor, Principal};
use crate::model::{AccountId, RunId};
use crate::{Error, Result};

/// Grace period between a deletion request and the erasure, unless configured
/// (`EchoBuilder::deletion_grace`): 30 days.
pub const DEFAULT_DELETION_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

/// What [`Echo::request_deletion`](crate::engine::Echo::request_deletion) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionRequest {
    /// The request's id (it outlives the account as the record of the erasure).
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub requested_at: DateTime<Utc>,
    /// The erasure runs at the first maintenance pass after this; cancellable before.
    pub deadline: DateTime<Utc>,
    /// Keys revoked by the request (keys revoked earlier are not counted).
    pub keys_revoked: u64,
    /// Runs that were still pending or running, now cancelled (their quota is settled).
    pub runs_cancelled: Vec<RunId>,
    /// Scheduled experiments paused (re-armed if the request is cancelled).
    pub schedules_paused: u64,
}

/// Checks that `principal` may request the deletion of (or export) its account: the host
/// or the operator acting for the account, never an API key. Returns the name recorded as
/// `requested_by`.
pub(crate) fn authorize_subject_request(principal: &Principal, operation: &str) -> Result<&'static str> {
    match principal.actor() {
        Actor::Admin if principal.is_admin() && principal.account().is_some() => Ok("admin"),
        Actor::Admin => Err(Error::PermissionDenied(format!(
            "{operation} concerns one account: name it with Principal::admin().acting_for(account)"
        ))),
        Actor::Host => Ok("host"),
        #[allow(unreachable_patterns)] // Actor may grow; only the two above may
        _ => Err(Error::PermissionDenied(format!(
            "{operation} is a host or operator operation (Principal::host or Principal::admin().acting_for); \
             an API key cannot perform it"
        ))),
    }
}

/// Checks that `principal` is the operator acting for an account (cancellation).
pub(crate) fn authorize_cancel(principal: &Principal) -> Result<()> {
    if matches!(principal.actor(), Actor::Admin) && principal.is_admin() && principal.account().is_some() {
        Ok(())
    } else {
        Err(Error::PermissionDenied(
            "only the operator may cancel a deletion (Principal::admin().acting_for(account)): the account is \
             blocked and its keys are revoked, so nothing that speaks for it can act"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::auth::Scope;

    #[test]
    fn who_may_request_and_cancel() {
        let account = AccountId::new();
        let host = Principal::host(account);
        let admin = Principal::admin().acting_for(account).unwrap();
        let key = Principal::with_scopes(account, Scope::ALL, Actor::ApiKey("k".into()));
        assert_eq!(authorize_subject_request(&host, "x").unwrap(), "host");
        assert_eq!(authorize_subject_request(&admin, "x").unwrap(), "admin");
        assert_eq!(
            authorize_subject_request(&key, "x").unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            authorize_subject_request(&Principal::admin(), "x").unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
        assert!(authorize_cancel(&admin).is_ok());
        for p in [host, key, Principal::admin()] {
            assert_eq!(authorize_cancel(&p).unwrap_err().kind(), ErrorKind::PermissionDenied);
        }
    }
}
