//! The decision after the lookup: constant work whatever the lookup found.
//!
//! `authenticate` runs parse → checksum → hash → one indexed lookup by hash, then
//! [`decide`]. The decision must not reveal, through the work it does, whether a key
//! exists: for an unknown key it evaluates the same checks against a dummy record whose
//! hash no key has, so the expiry check, the revocation check and the constant-time hash
//! comparison (`subtle`) all run on every path. The branch on the combined result comes
//! last and only picks which error to return.
//!
//! The steps are reported to a [`Trace`], a no-op in production; tests record them and
//! check that known, unknown, revoked and expired keys walk the same path (wall time is
//! too noisy to test, the path is not).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use subtle::Choice;

use super::{ApiKey, AuthFailure, KeyEnvironment, KeyHash};
use crate::model::{AccountId, ApiKeyId};
use crate::store::ApiKeyRecord;

/// One step of authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Shape and checksum of the presented text (no I/O).
    Parse,
    /// SHA-256 of the presented key.
    Hash,
    /// The one indexed lookup by hash.
    Lookup,
    /// Expiry of the candidate record (the found one, or the dummy).
    CheckExpiry,
    /// Revocation of the candidate record.
    CheckRevocation,
    /// Constant-time comparison of the candidate's stored hash with the computed one.
    CompareHash,
    /// The combined outcome is turned into a result.
    Decide,
}

/// Receives the steps of one authentication.
pub(crate) trait Trace {
    fn step(&mut self, step: Step);
}

/// Production: records nothing, compiles to nothing.
pub(crate) struct NoTrace;

impl Trace for NoTrace {
    #[inline(always)]
    fn step(&mut self, _: Step) {}
}

impl Trace for Vec<Step> {
    fn step(&mut self, step: Step) {
        self.push(step);
    }
}

/// Stands in for the record of an unknown key. Its hash is 32 zero bytes: finding a key
/// whose SHA-256 is all zeros would be a preimage attack on SHA-256. The extra `found` flag
/// in [`decide`] refuses it even then.
static DUMMY: LazyLock<ApiKeyRecord> = LazyLock::new(|| ApiKeyRecord {
    key: ApiKey {
        id: ApiKeyId(uuid::Uuid::nil()),
        account_id: AccountId(uuid::Uuid::nil()),
        name: String::new(),
        display_prefix: String::new(),
        environment: KeyEnvironment::Live,
        scopes: Vec::new(),
        created_at: DateTime::UNIX_EPOCH,
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    },
    key_hash: KeyHash::from_slice(&[0u8; 32]).expect("32 bytes"),
});

/// Decides whether the key whose hash is `computed` authenticates at `now`, given what the
/// lookup by that hash returned. Same steps, same comparisons, on every path.
pub(crate) fn decide<'a>(
    computed: &KeyHash,
    found: Option<&'a ApiKeyRecord>,
    now: DateTime<Utc>,
    trace: &mut impl Trace,
) -> Result<&'a ApiKey, AuthFailure> {
    let found_flag = Choice::from(u8::from(found.is_some()));
    let candidate: &ApiKeyRecord = found.unwrap_or(&DUMMY);

    trace.step(Step::CheckExpiry);
    let expired = Choice::from(u8::from(candidate.key.expires_at.is_some_and(|e| now >= e)));
    trace.step(Step::CheckRevocation);
    let revoked = Choice::from(u8::from(candidate.key.revoked_at.is_some()));
    trace.step(Step::CompareHash);
    let matches = candidate.key_hash.ct_eq(computed) & found_flag;

    trace.step(Step::Decide);
    let usable = matches & !revoked & !expired;
    match (found, bool::from(usable)) {
        (Some(record), true) => Ok(&record.key),
        _ if !bool::from(matches) => Err(AuthFailure::Unknown),
        _ if bool::from(revoked) => Err(AuthFailure::Revoked),
        _ => Err(AuthFailure::Expired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_735_689_600_000 + ms).unwrap()
    }

    fn record(hash: KeyHash) -> ApiKeyRecord {
        ApiKeyRecord {
            key: ApiKey {
                id: ApiKeyId::new(),
                account_id: AccountId::new(),
                name: "k".into(),
                display_prefix: "echo_live_abcd…".into(),
                environment: KeyEnvironment::Live,
                scopes: vec![Scope::ExperimentsRead],
                created_at: t(0),
                expires_at: Some(t(100)),
                revoked_at: None,
                last_used_at: None,
            },
            key_hash: hash,
        }
    }

    #[test]
    fn outcomes_and_their_paths() {
        let hash = KeyHash::of("echo_live_whatever");
        let valid = record(hash);
        let revoked = ApiKeyRecord {
            key: ApiKey {
                revoked_at: Some(t(1)),
                ..valid.key.clone()
            },
            ..valid.clone()
        };
        let other_hash = record(KeyHash::of("echo_live_other"));
        type Case<'a> = (Option<&'a ApiKeyRecord>, DateTime<Utc>, Result<(), AuthFailure>);
        let cases: [Case<'_>; 5] = [
            (Some(&valid), t(50), Ok(())),
            (None, t(50), Err(AuthFailure::Unknown)),
            (Some(&revoked), t(50), Err(AuthFailure::Revoked)),
            (Some(&valid), t(100), Err(AuthFailure::Expired)),
            // A record whose hash differs (cannot come from a lookup by hash, but the
            // comparison must still refuse it).
            (Some(&other_hash), t(50), Err(AuthFailure::Unknown)),
        ];
        let mut paths = Vec::new();
        for (found, now, expected) in cases {
            let mut trace = Vec::new();
            let outcome = decide(&hash, found, now, &mut trace).map(|_| ());
            assert_eq!(outcome, expected);
            paths.push(trace);
        }
        assert!(paths.windows(2).all(|w| w[0] == w[1]), "{paths:?}");
        assert_eq!(
            paths[0],
            vec![
                Step::CheckExpiry,
                Step::CheckRevocation,
                Step::CompareHash,
                Step::Decide
            ]
        );
    }

    #[test]
    fn the_dummy_never_authenticates_even_with_its_own_hash() {
        let zero = KeyHash::from_slice(&[0u8; 32]).unwrap();
        assert_eq!(
            decide(&zero, None, t(0), &mut NoTrace).map(|_| ()),
            Err(AuthFailure::Unknown)
        );
    }
}
