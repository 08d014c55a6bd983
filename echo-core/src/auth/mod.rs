//! Who is calling: principals, scopes and API keys.
//!
//! Every public operation of [`Echo`](crate::engine::Echo) takes a [`Principal`] and
//! checks it: the principal's account must own the object (enforced in the store query,
//! so another account's object answers `NotFound`) and the principal must hold the
//! operation's [`Scope`].
//!
//! A principal comes from the host (it vouches for an account: [`Principal::host`]), from
//! the host's operator ([`Principal::admin`]), or from an API key
//! ([`Echo::authenticate`](crate::engine::Echo::authenticate)): [`key_format`] defines
//! the key text, [`verify`] the constant-work decision after the lookup, [`usage`] the
//! batched `last_used_at` bookkeeping. See `docs/security.md`.

mod api_key;
mod failure;
pub mod key_format;
mod principal;
mod request_context;
pub(crate) mod usage;
pub(crate) mod verify;

pub use api_key::{ApiKey, CreatedApiKey, MAX_KEY_NAME_CHARS, NewApiKey};
pub use failure::{AuthFailure, INVALID_KEY_MESSAGE};
pub use key_format::{KeyEnvironment, KeyHash};
pub use principal::{Actor, Principal, Scope};
pub use request_context::{MAX_REQUEST_FIELD_CHARS, RequestContext};
