//! What the host knows about the request behind an operation, carried by the
//! [`Principal`](super::Principal) into the audit trail.

use serde::{Deserialize, Serialize};

/// The request an operation serves, as the host saw it. Every field is optional: Echo
/// records what it is given and never invents anything.
///
/// `ip` and `user_agent` are personal data: the audit trail stores them apart from the
/// hashed event (only a salted digest is chained) so erasing an account can remove them
/// without breaking the chain. `request_id` and `correlation_id` are the host's opaque
/// identifiers (the correlation id ties an operation to its logs) and are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// The client's address as the host determined it (e.g. from a trusted proxy header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The host's id of this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// An id that follows one piece of work across requests, tasks and processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// Longest value kept per field; longer values are cut (a user agent can be arbitrarily
/// long, and an audit row must not be a way to store megabytes).
pub const MAX_REQUEST_FIELD_CHARS: usize = 512;

impl RequestContext {
    /// The same context with blank fields dropped and every field cut to
    /// [`MAX_REQUEST_FIELD_CHARS`] characters.
    pub fn normalized(&self) -> Self {
        fn clean(v: &Option<String>) -> Option<String> {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(MAX_REQUEST_FIELD_CHARS).collect())
        }
        Self {
            ip: clean(&self.ip),
            user_agent: clean(&self.user_agent),
            request_id: clean(&self.request_id),
            correlation_id: clean(&self.correlation_id),
        }
    }

    /// Whether any personal field (ip, user agent) is present.
    pub fn has_personal_data(&self) -> bool {
        self.ip.is_some() || self.user_agent.is_some()
    }
}
