//! API keys and authentication, mirroring `echo_core::auth` and `engine/keys.rs`.
//!
//! The secret of a new key is returned once, in `CreatedApiKey.secret`; only its SHA-256
//! is stored. `authenticate` turns a presented key into a `Principal` with exactly the
//! key's scopes.

use echo_core::auth::NewApiKey as CoreNewApiKey;
use echo_core::model::{ApiKeyId, PageRequest as CorePage};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::convert::{out, parse, via_serde};
use crate::engine::{Echo, clone_parts};
use crate::model::PageRequest;
use crate::principal::Principal;
use crate::promise::{spawn, sync};

/// What is needed to create an API key.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct NewApiKey {
    /// A name for people ("CI pipeline").
    pub name: String,
    /// The scopes the key holds; never more than its creator's, never `admin`.
    #[napi(ts_type = "Array<'experiments:read' | 'experiments:write' | 'runs:write' | 'keys:manage'>")]
    pub scopes: Vec<String>,
    /// When the key stops working (ISO 8601), if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `live` (default, `echo_live_...`) or `test` (`echo_test_...`).
    #[napi(ts_type = "'live' | 'test'")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// An API key as stored (never the secret).
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// The first characters of the key, to recognise it in a list.
    pub display_prefix: String,
    #[napi(ts_type = "'live' | 'test'")]
    pub environment: String,
    pub scopes: Vec<String>,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub created_at: String,
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub expires_at: Option<String>,
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub revoked_at: Option<String>,
    /// Written in batches (about once a minute), not on every use.
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub last_used_at: Option<String>,
}

/// A new key and its secret, shown once: give it to the user and do not store or log it.
#[napi(object)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// A page of API keys.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ApiKeyPage {
    pub items: Vec<ApiKey>,
    pub next_cursor: Option<String>,
}

#[napi]
impl Echo {
    /// Creates an API key for the principal's account (scope `keys:manage`).
    #[napi(strict, ts_return_type = "Promise<CreatedApiKey>")]
    pub fn create_api_key<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        key: NewApiKey,
    ) -> napi::Result<PromiseRaw<'env, CreatedApiKey>> {
        let new: CoreNewApiKey = sync(env, via_serde(&key, "key"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move { echo.create_api_key(&principal, new).await },
            |created| {
                Ok(CreatedApiKey {
                    key: out(&created.key, "API key")?,
                    secret: created.secret.expose_secret().to_string(),
                })
            },
        )
    }

    /// The account's API keys, newest first.
    #[napi(
        strict,
        ts_args_type = "principal: Principal, page?: PageRequest",
        ts_return_type = "Promise<ApiKeyPage>"
    )]
    pub fn list_api_keys<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        page: Option<PageRequest>,
    ) -> napi::Result<PromiseRaw<'env, ApiKeyPage>> {
        let page: CorePage = sync(env, via_serde(&page.unwrap_or_default(), "page"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.list_api_keys(&principal, &page).await }, |p| {
            out(&p, "API keys")
        })
    }

    /// Revokes a key; it is refused from the next request on, in every process.
    #[napi(strict, ts_return_type = "Promise<ApiKey>")]
    pub fn revoke_api_key<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        key_id: String,
    ) -> napi::Result<PromiseRaw<'env, ApiKey>> {
        let id: ApiKeyId = sync(env, parse(&key_id, "keyId"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.revoke_api_key(&principal, id).await }, |k| {
            out(&k, "API key")
        })
    }

    /// The principal of a presented API key (e.g. from `Authorization: Bearer ...`).
    /// Rejects with an `UnauthenticatedError` whose message is the same for unknown,
    /// revoked and expired keys (send it to the caller); `reason` tells the host which.
    #[napi(ts_return_type = "Promise<Principal>")]
    pub fn authenticate<'env>(&self, env: &'env Env, key: String) -> napi::Result<PromiseRaw<'env, Principal>> {
        let echo = self.inner.clone();
        spawn(env, async move { echo.authenticate(&key).await }, |inner| {
            Ok(Principal { inner })
        })
    }

    /// Writes buffered `lastUsedAt` updates now (also done periodically and on `close`);
    /// returns how many keys were written.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn flush_key_usage<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, i64>> {
        let echo = self.inner.clone();
        spawn(env, async move { echo.flush_key_usage().await }, |n| Ok(n as i64))
    }
}
