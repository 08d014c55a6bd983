//! Why an API key was refused.
//!
//! The host needs the exact reason (to count mistyped keys apart from revoked ones, to
//! alert on use of a revoked key), but the caller must not learn whether a key exists:
//! the [`public_message`](AuthFailure::public_message) of an unknown, revoked or expired
//! key is the same sentence. Malformed keys and bad checksums are told apart in the
//! message because they are decided from the presented text alone, before any lookup, so
//! saying so reveals nothing about the database.

use serde::{Deserialize, Serialize};

/// The reason an API key did not authenticate. Reach it with
/// [`Error::auth_failure`](crate::Error::auth_failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthFailure {
    /// Not shaped like an Echo key (wrong prefix, length or characters). Decided without
    /// touching the database.
    Malformed,
    /// Shaped like a key, but its CRC32 checksum does not match: mistyped or truncated.
    /// Decided without touching the database.
    BadChecksum,
    /// Well formed, but no such key is stored.
    Unknown,
    /// The key was revoked.
    Revoked,
    /// The key's expiry has passed.
    Expired,
}

/// What unknown, revoked and expired keys all answer, so a caller cannot probe which
/// keys exist.
pub const INVALID_KEY_MESSAGE: &str = "invalid or expired API key";

impl AuthFailure {
    /// Stable snake_case name for logs, metrics and bindings (`malformed`, `bad_checksum`,
    /// `unknown`, `revoked`, `expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Malformed => "malformed",
            AuthFailure::BadChecksum => "bad_checksum",
            AuthFailure::Unknown => "unknown",
            AuthFailure::Revoked => "revoked",
            AuthFailure::Expired => "expired",
        }
    }

    /// The message a caller may see. Identical for `Unknown`, `Revoked` and `Expired`.
    pub fn public_message(self) -> &'static str {
        match self {
            AuthFailure::Malformed => {
                "malformed API key: expected echo_live_ or echo_test_ followed by 33 letters and digits"
            }
            AuthFailure::BadChecksum => {
                "API key checksum does not match: the key was mistyped or truncated; copy it again"
            }
            AuthFailure::Unknown | AuthFailure::Revoked | AuthFailure::Expired => INVALID_KEY_MESSAGE,
        }
    }
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.public_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_outcomes_share_one_message() {
        let messages: std::collections::HashSet<_> = [AuthFailure::Unknown, AuthFailure::Revoked, AuthFailure::Expired]
            .iter()
            .map(|f| f.public_message())
            .collect();
        assert_eq!(messages.len(), 1);
        assert_ne!(AuthFailure::Malformed.public_message(), INVALID_KEY_MESSAGE);
        assert_ne!(AuthFailure::BadChecksum.public_message(), INVALID_KEY_MESSAGE);
    }
}
