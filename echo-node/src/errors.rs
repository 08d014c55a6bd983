//! Conversion of core errors into JavaScript errors.
//!
//! JavaScript callers branch on `err.code`, which is the core's [`ErrorKind`] name
//! (`invalid_input`, `not_found`, ...), and on the class (`err instanceof RateLimitedError`).
//! The classes are plain JavaScript (`lib/errors.js`), so they subclass `Error` properly and
//! type checkers see them; at load time the package hands this module a factory
//! ([`register_error_factory`]) that builds the right class from an [`ErrorInfo`]. Errors
//! are built on the JavaScript thread (in a Promise's settle callback, or in a synchronous
//! call), so the rejection value *is* the class instance: no re-wrapping on the hot path.
//!
//! Without a registered factory (the raw native module loaded directly) errors are plain
//! `Error`s that still carry `code` and the details.

use std::cell::RefCell;

use echo_core::{Error, ErrorKind};
use napi::bindgen_prelude::JsObjectValue;
use napi::bindgen_prelude::{FunctionRef, Unknown};
use napi::{Env, JsValue};
use napi_derive::napi;

use crate::convert::time_string;
use crate::quota::QuotaDenial;

/// The `code` of a thrown error: the core's error kind name (`invalid_input`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub ErrorKind);

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

/// Every [`ErrorKind`] the core defines ([`ErrorKind::ALL`]). The Node tests check that each
/// has its own class, so a kind added to the core fails them until `lib/errors.js` gives it one.
pub const ALL_KINDS: &[ErrorKind] = &ErrorKind::ALL;

/// The names of all error kinds: the possible values of `EchoError.code`.
#[napi]
pub fn error_kinds() -> Vec<&'static str> {
    ALL_KINDS.iter().map(|k| k.as_str()).collect()
}

/// What the error factory receives: everything a core error says, as plain data.
#[napi(object)]
pub struct ErrorInfo {
    /// The core's error kind (`invalid_input`, `rate_limited`, ...).
    pub code: String,
    /// The message, with its cause chain.
    pub message: String,
    /// `invalid_input`: the offending field (`spec.prompts[2]`).
    pub field: Option<String>,
    /// `unauthenticated`: why (`malformed`, `bad_checksum`, `unknown`, `revoked`,
    /// `expired`). For the host's logs; do not show it to callers.
    pub reason: Option<String>,
    /// `provider`: the provider id.
    pub provider: Option<String>,
    /// `rate_limited`: seconds until a retry will be admitted.
    pub retry_after: Option<f64>,
    /// `quota_exceeded`: which limit, what was asked, what is left, when it resets.
    pub quota: Option<QuotaDenial>,
    /// `consent_required`: the purpose the deployment requires.
    pub purpose: Option<String>,
    /// `consent_required`: whether the account withdrew that consent (else never gave it).
    pub withdrawn: Option<bool>,
    /// `permission_denied` because the account may not act: `deletion_pending` or
    /// `blocked`.
    pub account_status: Option<String>,
    /// With `accountStatus: 'deletion_pending'`: when the erasure runs (ISO 8601).
    pub deadline: Option<String>,
}

impl ErrorInfo {
    pub fn from_error(err: &Error) -> Self {
        let provider = match err {
            Error::Provider { provider, .. } => Some(provider.clone()),
            _ => None,
        };
        let (purpose, withdrawn) = match err {
            Error::ConsentRequired { purpose, withdrawn } => (Some(purpose.clone()), Some(*withdrawn)),
            _ => (None, None),
        };
        let deadline = match err {
            Error::AccountBlocked { deadline, .. } => deadline.map(time_string),
            _ => None,
        };
        Self {
            code: err.kind().as_str().to_string(),
            message: node_message(err),
            field: err.field().map(str::to_string),
            reason: err.auth_failure().map(|r| r.as_str().to_string()),
            provider,
            retry_after: err.retry_after().map(|d| d.as_secs_f64()),
            quota: err.quota_denial().map(QuotaDenial::from_core),
            purpose,
            withdrawn,
            account_status: err.account_status().map(|s| s.as_str().to_string()),
            deadline,
        }
    }
}

type Factory = FunctionRef<ErrorInfo, Unknown<'static>>;

thread_local! {
    /// One factory per JavaScript thread (main thread and each worker_thread load the
    /// module in their own environment, on their own thread).
    static FACTORY: RefCell<Option<Factory>> = const { RefCell::new(None) };
}

/// Called once by the package entry (`lib/index.js`) with `(info) => EchoError`; every
/// error thrown or rejected afterwards is what the factory returns.
#[napi]
pub fn register_error_factory(factory: FunctionRef<ErrorInfo, Unknown<'static>>) {
    FACTORY.with(|f| *f.borrow_mut() = Some(factory));
}

/// The message a Node caller sees. The core's message, except where it tells the reader to
/// call a Rust API: there the Node method is named instead, so the message says what to do
/// in the language the caller writes.
fn node_message(err: &Error) -> String {
    match err {
        Error::ConsentRequired { purpose, withdrawn } => format!(
            "consent required: the account has {state} consent for purpose {purpose:?}, which this deployment \
             requires before runs start; record it with echo.recordConsent(principal, {{ purpose: {purpose:?}, \
             policyVersion, granted: true }}) and start the run again",
            state = if *withdrawn { "withdrawn its" } else { "not given" }
        ),
        Error::AccountBlocked { .. } => message_with_causes(err).replace(
            "Echo::cancel_deletion",
            "echo.cancelDeletion(Principal.admin().actingFor(accountId))",
        ),
        _ => message_with_causes(err),
    }
}

/// The error's message followed by its cause chain; causes the message already quotes are
/// not repeated.
pub fn message_with_causes(err: &Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Converts a core error into a napi error with the kind as its code (no details). Used
/// where no JavaScript environment is at hand; [`to_js`] is preferred.
pub fn to_js_error(err: Error) -> napi::Error<ErrorCode> {
    napi::Error::new(ErrorCode(err.kind()), message_with_causes(&err))
}

/// Converts a core error into the JavaScript error thrown or rejected: an instance of the
/// registered class when a factory is registered, else an `Error` with `code` and the
/// details as properties.
pub fn to_js(env: &Env, err: Error) -> napi::Error {
    let info = ErrorInfo::from_error(&err);
    let code = info.code.clone();
    let message = info.message.clone();
    match build(env, info) {
        Ok(error) => error,
        // The factory itself failed (a bug in lib/errors.js): still report the real error.
        Err(build_err) => napi::Error::new(
            napi::Status::GenericFailure,
            format!("{message} (code {code}; building the error failed: {build_err})"),
        ),
    }
}

fn build(env: &Env, info: ErrorInfo) -> napi::Result<napi::Error> {
    let value = FACTORY.with(|f| -> napi::Result<Option<Unknown<'static>>> {
        let slot = f.borrow();
        let Some(factory) = slot.as_ref() else { return Ok(None) };
        let function = factory.borrow_back(env)?;
        Ok(Some(function.call(info.clone_for_call())?))
    })?;
    match value {
        Some(value) => Ok(napi::Error::from(value)),
        None => {
            let mut error = env.create_error(napi::Error::new(napi::Status::GenericFailure, info.message.clone()))?;
            error.set_named_property("code", info.code.as_str())?;
            if let Some(field) = info.field {
                error.set_named_property("field", field)?;
            }
            if let Some(reason) = info.reason {
                error.set_named_property("reason", reason)?;
            }
            if let Some(provider) = info.provider {
                error.set_named_property("provider", provider)?;
            }
            if let Some(retry_after) = info.retry_after {
                error.set_named_property("retryAfter", retry_after)?;
            }
            if let Some(quota) = info.quota {
                error.set_named_property("quota", quota)?;
            }
            if let Some(purpose) = info.purpose {
                error.set_named_property("purpose", purpose)?;
            }
            if let Some(withdrawn) = info.withdrawn {
                error.set_named_property("withdrawn", withdrawn)?;
            }
            if let Some(status) = info.account_status {
                error.set_named_property("accountStatus", status)?;
            }
            if let Some(deadline) = info.deadline {
                error.set_named_property("deadline", deadline)?;
            }
            Ok(napi::Error::from(error.to_unknown()))
        }
    }
}

impl ErrorInfo {
    fn clone_for_call(&self) -> ErrorInfo {
        ErrorInfo {
            code: self.code.clone(),
            message: self.message.clone(),
            field: self.field.clone(),
            reason: self.reason.clone(),
            provider: self.provider.clone(),
            retry_after: self.retry_after,
            quota: self.quota.clone(),
            purpose: self.purpose.clone(),
            withdrawn: self.withdrawn,
            account_status: self.account_status.clone(),
            deadline: self.deadline.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn code_is_the_core_kind_name() {
        let err = to_js_error(Error::invalid("target", "\"x\" is not of the form provider/model"));
        assert_eq!(err.status.as_ref(), "invalid_input");
        assert_eq!(err.reason, "invalid target: \"x\" is not of the form provider/model");
    }

    #[test]
    fn every_kind_is_listed_once_and_is_the_core_kind_of_its_name() {
        let names: HashSet<_> = ALL_KINDS.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ALL_KINDS.len());
        for kind in ALL_KINDS {
            let back: ErrorKind = serde_json::from_value(serde_json::json!(kind.as_str())).unwrap();
            assert_eq!(back, *kind);
        }
        assert!(ALL_KINDS.contains(&ErrorKind::ConsentRequired));
    }

    #[test]
    fn consent_and_blocked_accounts_carry_their_details() {
        let info = ErrorInfo::from_error(&Error::ConsentRequired {
            purpose: "data_processing".into(),
            withdrawn: true,
        });
        assert_eq!(info.code, "consent_required");
        assert_eq!(
            (info.purpose.as_deref(), info.withdrawn),
            (Some("data_processing"), Some(true))
        );
        assert!(info.message.contains("withdrawn its consent"), "{}", info.message);
        assert!(info.message.contains("echo.recordConsent("), "{}", info.message);
    }

    #[test]
    fn info_carries_the_details_of_each_kind() {
        let info = ErrorInfo::from_error(&Error::invalid("spec.prompts[2]", "must not be blank"));
        assert_eq!(info.code, "invalid_input");
        assert_eq!(info.field.as_deref(), Some("spec.prompts[2]"));
        let info = ErrorInfo::from_error(&Error::RateLimited {
            retry_after: std::time::Duration::from_millis(1500),
            policy: "runs.start".into(),
            limit: 10,
            window: std::time::Duration::from_secs(60),
        });
        assert_eq!((info.code.as_str(), info.retry_after), ("rate_limited", Some(1.5)));
        let info = ErrorInfo::from_error(&Error::Unauthenticated(echo_core::auth::AuthFailure::Revoked));
        assert_eq!(info.reason.as_deref(), Some("revoked"));
    }

    #[test]
    fn cause_already_in_the_message_is_not_repeated() {
        let err = Error::Provider {
            provider: "openai".into(),
            source: echo_core::provider::LlmError::Auth("key revoked".into()),
        };
        assert_eq!(
            message_with_causes(&err),
            "provider openai failed: authentication failed (check the API key): key revoked"
        );
        assert_eq!(ErrorInfo::from_error(&err).provider.as_deref(), Some("openai"));
    }
}
