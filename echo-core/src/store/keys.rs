//! API keys: the [`KeyStore`] trait.
//!
//! Only the SHA-256 of a key is stored ([`KeyHash`], UNIQUE), so the one lookup that
//! authentication makes is an indexed equality on the hash. That lookup is also the only
//! method here not scoped by account: it is how the account is found. Everything else
//! takes the account id and filters on it in the query, so another account's key is
//! `NotFound`.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::auth::{ApiKey, KeyHash};
use crate::model::{AccountId, ApiKeyId, Page, PageRequest};

/// A key as stored: its metadata and the hash of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key: ApiKey,
    pub key_hash: KeyHash,
}

/// A successful use of a key, for the batched `last_used_at` update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTouch {
    pub account_id: AccountId,
    pub key_id: ApiKeyId,
    pub at: DateTime<Utc>,
}

/// API keys.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync {
    /// Inserts a key. `NotFound` if the account does not exist; `Conflict` if the hash (or
    /// id) is already stored.
    async fn insert_api_key(&self, record: &ApiKeyRecord) -> Result<()>;

    /// The key with this hash, revoked and expired ones included (the caller decides), or
    /// `None`. One indexed equality lookup on the UNIQUE hash; not account-scoped.
    async fn find_api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>>;

    /// One key of the account. `NotFound` if absent or another account's.
    async fn get_api_key(&self, account: AccountId, id: ApiKeyId) -> Result<ApiKey>;

    /// The account's keys (revoked and expired included), newest first, keyset-paginated
    /// on `(created_at, id)` like every listing.
    async fn list_api_keys(&self, account: AccountId, page: &PageRequest) -> Result<Page<ApiKey>>;

    /// Revokes a key of the account at `now` and returns it. Revoking again keeps the first
    /// `revoked_at`. `NotFound` if absent or another account's.
    async fn revoke_api_key(&self, account: AccountId, id: ApiKeyId, now: DateTime<Utc>) -> Result<ApiKey>;

    /// Moves `last_used_at` forward (never back) for each touch whose key belongs to its
    /// account, in one transaction. Returns how many keys changed: a touch older than the
    /// stored value, of a missing key or naming another account changes nothing.
    async fn touch_api_keys(&self, touches: &[KeyTouch]) -> Result<u64>;
}
