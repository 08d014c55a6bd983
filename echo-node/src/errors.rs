//! Conversion of core errors into JavaScript errors.
//!
//! napi-rs sets the thrown error's `code` property from the error's status, so using the
//! core's [`ErrorKind`] name as the status gives JavaScript callers a stable
//! `err.code === 'invalid_input'` to branch on, instead of parsing messages.

use echo_core::{Error, ErrorKind};

/// The `code` of a thrown error: the core's error kind name (`invalid_input`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub ErrorKind);

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

/// Result of a binding function whose failures are core errors.
pub type Result<T> = napi::Result<T, ErrorCode>;

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

/// Converts a core error into the error thrown into JavaScript.
pub fn to_js_error(err: Error) -> napi::Error<ErrorCode> {
    napi::Error::new(ErrorCode(err.kind()), message_with_causes(&err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_the_core_kind_name() {
        let err = to_js_error(Error::invalid("target", "\"x\" is not of the form provider/model"));
        assert_eq!(err.status.as_ref(), "invalid_input");
        assert_eq!(err.reason, "invalid target: \"x\" is not of the form provider/model");
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
    }
}
