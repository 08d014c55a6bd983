//! An audit event: what is appended ([`AuditRecord`]) and what is read back ([`AuditEvent`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AuditAction;
use crate::auth::{Actor, Principal, RequestContext};
use crate::model::AccountId;
use crate::{Error, ErrorKind};

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An API key (its id is the actor id).
    ApiKey,
    /// The host, vouching for an account.
    Host,
    /// The host's operator.
    Admin,
    /// Echo itself: finalization, the scheduler, retention.
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::ApiKey => "api_key",
            ActorKind::Host => "host",
            ActorKind::Admin => "admin",
            ActorKind::System => "system",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [ActorKind::ApiKey, ActorKind::Host, ActorKind::Admin, ActorKind::System]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The actor of an event: its kind and, for API keys and system components, an id
/// (an API key id — never the key — or a component name such as `scheduler`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditActor {
    pub kind: ActorKind,
    pub id: Option<String>,
}

impl AuditActor {
    /// Echo itself, as `component` (`finalizer`, `scheduler`, `retention`, ...).
    pub fn system(component: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: Some(component.to_string()),
        }
    }

    /// The actor behind a principal.
    pub fn of(principal: &Principal) -> Self {
        match principal.actor() {
            Actor::Host => Self {
                kind: ActorKind::Host,
                id: None,
            },
            Actor::Admin => Self {
                kind: ActorKind::Admin,
                id: None,
            },
            Actor::ApiKey(id) => Self {
                kind: ActorKind::ApiKey,
                id: Some(id.clone()),
            },
        }
    }
}

/// What an event is about: a type (`account`, `experiment`, `run`, `api_key`, ...) and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTarget {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

impl AuditTarget {
    pub fn new(kind: &str, id: impl std::fmt::Display) -> Self {
        Self {
            kind: kind.to_string(),
            id: id.to_string(),
        }
    }
}

/// How the operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditResult {
    Success,
    /// Refused: permission, authentication, not found (or another account's), quota, rate limit,
    /// missing consent.
    Denied,
    /// Attempted and failed: invalid input, conflict, storage or provider errors.
    Failed,
}

impl AuditResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditResult::Success => "success",
            AuditResult::Denied => "denied",
            AuditResult::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [AuditResult::Success, AuditResult::Denied, AuditResult::Failed]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// The result an error stands for.
    pub fn of_error(error: &Error) -> Self {
        match error.kind() {
            ErrorKind::PermissionDenied
            | ErrorKind::Unauthenticated
            | ErrorKind::NotFound
            | ErrorKind::QuotaExceeded
            | ErrorKind::RateLimited
            | ErrorKind::ConsentRequired => AuditResult::Denied,
            _ => AuditResult::Failed,
        }
    }
}

/// An event to append. The store assigns its sequence number and chains it.
///
/// Never put secrets here: `details` is stored and exported as is. Personal data belongs
/// in `request.ip` / `request.user_agent` only, which are kept out of the hashed body.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Whole milliseconds (what the store keeps); see [`crate::store::truncate_to_millis`].
    pub occurred_at: DateTime<Utc>,
    /// The account the event concerns; `None` for events about no account.
    pub account_id: Option<AccountId>,
    pub actor: AuditActor,
    pub action: AuditAction,
    pub target: Option<AuditTarget>,
    pub result: AuditResult,
    /// The error kind of a denied or failed operation.
    pub error_kind: Option<ErrorKind>,
    pub request: RequestContext,
    /// A JSON object with facts about the event (never secrets).
    pub details: serde_json::Value,
}

impl AuditRecord {
    /// A successful `action` by `principal` on its own account.
    pub fn by(principal: &Principal, action: AuditAction, at: DateTime<Utc>) -> Self {
        Self {
            occurred_at: crate::store::truncate_to_millis(at),
            account_id: principal.account(),
            actor: AuditActor::of(principal),
            action,
            target: None,
            result: AuditResult::Success,
            error_kind: None,
            request: principal.request().cloned().unwrap_or_default(),
            details: serde_json::Value::Object(Default::default()),
        }
    }

    /// A successful `action` by Echo itself (`component`) on `account`.
    pub fn system(component: &str, account: Option<AccountId>, action: AuditAction, at: DateTime<Utc>) -> Self {
        Self {
            occurred_at: crate::store::truncate_to_millis(at),
            account_id: account,
            actor: AuditActor::system(component),
            action,
            target: None,
            result: AuditResult::Success,
            error_kind: None,
            request: RequestContext::default(),
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn target(mut self, kind: &str, id: impl std::fmt::Display) -> Self {
        self.target = Some(AuditTarget::new(kind, id));
        self
    }

    pub fn account(mut self, account: AccountId) -> Self {
        self.account_id = Some(account);
        self
    }

    /// Adds one fact to `details`.
    pub fn detail(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut self.details {
            map.insert(key.to_string(), value);
        }
        self
    }

    /// The same event, refused or failed with `error` (its kind is recorded, not its
    /// message, which may quote input).
    pub fn failed_with(mut self, error: &Error) -> Self {
        self.result = AuditResult::of_error(error);
        self.error_kind = Some(error.kind());
        self
    }
}

/// A stored event, as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain: 1, 2, 3... without gaps (retention removes a prefix).
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub account_id: Option<AccountId>,
    pub actor: AuditActor,
    /// The wire name of the action (kept as text so events of newer versions still read).
    pub action: String,
    pub target: Option<AuditTarget>,
    pub result: AuditResult,
    pub error_kind: Option<String>,
    /// `ip` and `user_agent` are `None` once erased.
    pub request: RequestContext,
    pub details: serde_json::Value,
    /// Whether this event's personal data was erased.
    pub personal_data_erased: bool,
    /// Hex SHA-256 of the previous event (or the checkpoint) and of this one.
    pub prev_hash: String,
    pub hash: String,
}

/// A row exactly as stored: everything [`super::verify`] needs to recompute the hash.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAuditRow {
    pub seq: i64,
    pub at_ms: i64,
    pub account_id: Option<AccountId>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub result: String,
    pub error_kind: Option<String>,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub personal_salt: Option<Vec<u8>>,
    pub personal_digest: Option<Vec<u8>>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl StoredAuditRow {
    /// The public form. Rows that do not parse (an unknown actor kind or result: a forged
    /// row) are reported as they are, with the closest reading; `verify` flags them.
    pub fn to_event(&self) -> crate::Result<AuditEvent> {
        let occurred_at = DateTime::from_timestamp_millis(self.at_ms)
            .ok_or_else(|| Error::Internal(format!("audit_events.at {} is out of range", self.at_ms)))?;
        let kind = ActorKind::parse(&self.actor_kind)
            .ok_or_else(|| Error::Internal(format!("audit_events.actor {:?} is not an actor kind", self.actor_kind)))?;
        let result = AuditResult::parse(&self.result)
            .ok_or_else(|| Error::Internal(format!("audit_events.result {:?} is not a result", self.result)))?;
        Ok(AuditEvent {
            seq: self.seq,
            occurred_at,
            account_id: self.account_id,
            actor: AuditActor {
                kind,
                id: self.actor_id.clone(),
            },
            action: self.action.clone(),
            target: match (&self.target_type, &self.target_id) {
                (Some(kind), Some(id)) => Some(AuditTarget {
                    kind: kind.clone(),
                    id: id.clone(),
                }),
                _ => None,
            },
            result,
            error_kind: self.error_kind.clone(),
            request: RequestContext {
                ip: self.ip.clone(),
                user_agent: self.user_agent.clone(),
                request_id: self.request_id.clone(),
                correlation_id: self.correlation_id.clone(),
            },
            details: self.details.clone(),
            personal_data_erased: self.personal_digest.is_some() && self.personal_salt.is_none(),
            prev_hash: hex::encode(&self.prev_hash),
            hash: hex::encode(&self.hash),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::AuditResult;
    use crate::Error;

    /// A refusal by policy (permission, quota, missing consent) is `denied`; a request that
    /// was allowed but could not be carried out is `failed`. Reviewers filter on this.
    #[test]
    fn refusals_are_denied_and_faults_failed() {
        let consent = Error::ConsentRequired {
            purpose: "data_processing".into(),
            withdrawn: false,
        };
        assert_eq!(AuditResult::of_error(&consent), AuditResult::Denied);
        assert_eq!(
            AuditResult::of_error(&Error::not_found("run", "x")),
            AuditResult::Denied
        );
        assert_eq!(
            AuditResult::of_error(&Error::invalid("name", "empty")),
            AuditResult::Failed
        );
    }
}
