//! The one error type of Echo.
//!
//! Every fallible public operation returns [`Result`]. Hosts and bindings branch on
//! [`Error::kind`], a stable, flat classification that maps one-to-one onto Python
//! exception classes and Node error codes; the message says what was wrong and what to do.

use crate::auth::AuthFailure;
use crate::provider::LlmError;
use crate::quota::{QuotaDenial, RateLimitDecision, RateLimitPolicy};

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable classification of an [`Error`], for bindings and hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller passed something invalid; nothing was written or spent.
    InvalidInput,
    /// The object does not exist, or belongs to another account.
    NotFound,
    /// The principal lacks a scope for the operation.
    PermissionDenied,
    /// An API key did not authenticate; [`Error::auth_failure`] says why (malformed, bad
    /// checksum, unknown, revoked, expired).
    Unauthenticated,
    /// The operation conflicts with the current state (e.g. editing a running experiment).
    Conflict,
    /// A quota would be exceeded.
    QuotaExceeded,
    /// A rate limit refused the call; retry later.
    RateLimited,
    /// A language-model provider failed.
    Provider,
    /// The database failed.
    Storage,
    /// The operation was cancelled.
    Cancelled,
    /// A configuration problem in the host's setup of Echo.
    Config,
    /// Anything else: a bug in Echo.
    Internal,
    /// The host requires a consent the account has not given (or has withdrawn); nothing
    /// was started, reserved or written.
    ConsentRequired,
}

impl ErrorKind {
    /// Every kind, in declaration order. The enum is `#[non_exhaustive]`, so code outside
    /// this crate cannot match it exhaustively: bindings iterate this list to give every
    /// kind its exception / error class, and their tests fail when a new kind has none.
    /// [`ErrorKind::index`] is an exhaustive match, so a variant missing here does not compile.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::Unauthenticated,
        ErrorKind::Conflict,
        ErrorKind::QuotaExceeded,
        ErrorKind::RateLimited,
        ErrorKind::Provider,
        ErrorKind::Storage,
        ErrorKind::Cancelled,
        ErrorKind::Config,
        ErrorKind::Internal,
        ErrorKind::ConsentRequired,
    ];

    /// The kind's position in [`ErrorKind::ALL`]. An exhaustive match: adding a variant
    /// without listing it fails to compile here (and the unit test checks the positions).
    pub const fn index(self) -> usize {
        match self {
            ErrorKind::InvalidInput => 0,
            ErrorKind::NotFound => 1,
            ErrorKind::PermissionDenied => 2,
            ErrorKind::Unauthenticated => 3,
            ErrorKind::Conflict => 4,
            ErrorKind::QuotaExceeded => 5,
            ErrorKind::RateLimited => 6,
            ErrorKind::Provider => 7,
            ErrorKind::Storage => 8,
            ErrorKind::Cancelled => 9,
            ErrorKind::Config => 10,
            ErrorKind::Internal => 11,
            ErrorKind::ConsentRequired => 12,
        }
    }

    /// The snake_case name used by the bindings (`invalid_input`, `not_found`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Conflict => "conflict",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Provider => "provider",
            ErrorKind::Storage => "storage",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Config => "config",
            ErrorKind::Internal => "internal",
            ErrorKind::ConsentRequired => "consent_required",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in Echo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input, rejected before anything was written or spent. `field` names the culprit
    /// with a path such as `spec.prompts[2]`.
    #[error("invalid {field}: {message}")]
    InvalidInput { field: String, message: String },

    /// The object does not exist or is not visible to the caller's account.
    #[error("{entity} {id} not found (it does not exist or belongs to another account)")]
    NotFound { entity: &'static str, id: String },

    /// The principal is not allowed to perform the operation.
    #[error("permission denied: {0}")]
    PermissionDenied(String),

    /// An API key did not authenticate. The message is the caller-safe
    /// [`AuthFailure::public_message`]: the same for unknown, revoked and expired keys.
    #[error("{0}")]
    Unauthenticated(AuthFailure),

    /// The operation conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),

    /// A quota would be exceeded. The [`QuotaDenial`] says which limit, what was asked,
    /// what is left and when it resets (also through [`Error::quota_denial`]).
    #[error("quota exceeded: {0}")]
    QuotaExceeded(QuotaDenial),

    /// A rate limit refused the operation: `policy` admits `limit` requests per `window`;
    /// retrying after `retry_after` will be admitted (if nothing else spends the allowance).
    #[error(
        "rate limited: {policy} allows {limit} per {window_secs} s; retry after {retry_secs:.1} s",
        window_secs = window.as_secs_f64(),
        retry_secs = retry_after.as_secs_f64()
    )]
    RateLimited {
        retry_after: std::time::Duration,
        /// The policy's name (e.g. `runs.start`).
        policy: String,
        limit: u32,
        window: std::time::Duration,
    },

    /// A provider call failed in a way the caller must see (most provider failures are
    /// recorded on the sample instead).
    #[error("provider {provider} failed: {source}")]
    Provider {
        provider: String,
        #[source]
        source: LlmError,
    },

    /// The database failed.
    #[error("storage error: {0}")]
    Storage(#[from] sqlx::Error),

    /// Applying database migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    /// The run or operation was cancelled.
    #[error("cancelled: {0}")]
    Cancelled(String),

    /// A configuration problem (missing provider, unreadable corpus file...).
    #[error("configuration error: {0}")]
    Config(String),

    /// An invariant was broken; please report it.
    #[error("internal error: {0}")]
    Internal(String),

    /// The host requires consent for `purpose` before runs start, and the account's latest
    /// consent record for it is missing (`withdrawn: false`) or withdraws it
    /// (`withdrawn: true`).
    #[error(
        "consent required: the account has {state} consent for purpose {purpose:?}, which this deployment \
         requires before runs start; record it with Echo::record_consent (ConsentRecord::grant({purpose:?}, \
         <policy version>)) and start the run again",
        state = if *withdrawn { "withdrawn its" } else { "not given" }
    )]
    ConsentRequired { purpose: String, withdrawn: bool },
    /// The account may not act: its erasure is scheduled (`DeletionPending`, until the
    /// operator cancels it or the erasure runs) or the operator blocked it. Every operation of
    /// the account, and authenticating a still-valid key of it, is refused with this.
    /// Classified as [`ErrorKind::PermissionDenied`]; [`Error::account_status`] tells it apart.
    #[error("{}", account_blocked_message(*account, *status, *deadline))]
    AccountBlocked {
        account: crate::model::AccountId,
        status: crate::store::AccountStatus,
        /// When the erasure runs (deletion pending), if known.
        deadline: Option<chrono::DateTime<chrono::Utc>>,
    },
}

fn account_blocked_message(
    account: crate::model::AccountId,
    status: crate::store::AccountStatus,
    deadline: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    use crate::store::AccountStatus;
    match (status, deadline) {
        (AccountStatus::DeletionPending, Some(deadline)) => format!(
            "account {account} is scheduled for erasure at {deadline}: every operation is refused; the operator can \
             cancel the deletion before then (Echo::cancel_deletion)"
        ),
        (AccountStatus::DeletionPending, None) => format!(
            "account {account} is scheduled for erasure: every operation is refused; the operator can cancel the \
             deletion before its deadline (Echo::cancel_deletion)"
        ),
        (other, _) => format!(
            "account {account} is {}: every operation is refused; ask the operator",
            other.as_str()
        ),
    }
}

impl Error {
    /// The stable classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::QuotaExceeded(_) => ErrorKind::QuotaExceeded,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Provider { .. } => ErrorKind::Provider,
            Error::Storage(_) | Error::Migration(_) => ErrorKind::Storage,
            Error::Cancelled(_) => ErrorKind::Cancelled,
            Error::Config(_) => ErrorKind::Config,
            Error::Internal(_) => ErrorKind::Internal,
            Error::ConsentRequired { .. } => ErrorKind::ConsentRequired,
            Error::AccountBlocked { .. } => ErrorKind::PermissionDenied,
        }
    }

    /// Shorthand for an [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::NotFound`].
    pub fn not_found(entity: &'static str, id: impl std::fmt::Display) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// Why an API key was refused, if this is an [`Error::Unauthenticated`]. For the host
    /// (logs, metrics, alerts on revoked keys); the message shown to callers does not tell
    /// unknown, revoked and expired keys apart.
    pub fn auth_failure(&self) -> Option<AuthFailure> {
        match self {
            Error::Unauthenticated(reason) => Some(*reason),
            _ => None,
        }
    }

    /// The refusal of a [`RateLimitDecision`] as an error.
    pub fn rate_limited(policy: &RateLimitPolicy, decision: &RateLimitDecision) -> Self {
        Error::RateLimited {
            retry_after: decision.retry_after,
            policy: policy.name().to_string(),
            limit: policy.limit(),
            window: policy.window(),
        }
    }

    /// The details of an [`Error::QuotaExceeded`], if this is one.
    pub fn quota_denial(&self) -> Option<&QuotaDenial> {
        match self {
            Error::QuotaExceeded(denial) => Some(denial),
            _ => None,
        }
    }

    /// How long to wait before retrying, for errors that say so (rate limits).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The status of the account that refused the operation, if this is an
    /// [`Error::AccountBlocked`].
    pub fn account_status(&self) -> Option<crate::store::AccountStatus> {
        match self {
            Error::AccountBlocked { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The field named by an [`Error::InvalidInput`], if this is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn all_lists_every_kind_once_in_index_order() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind} is out of place in ErrorKind::ALL");
        }
        let names: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len(), "names are distinct");
    }
}
