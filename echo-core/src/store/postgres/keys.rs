//! API keys: stored as SHA-256 hashes, found by hash, listed and revoked per account.
//! Scopes are a `text[]` of scope names.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PgStore;
use super::convert::{from_ms, from_opt_ms, map_db_error, ms, opt_ms};
use super::sql::{API_KEY_COLUMNS, FIND_API_KEY_BY_HASH, LIST_API_KEYS, REVOKE_API_KEY, TOUCH_API_KEYS};
use crate::auth::{ApiKey, KeyEnvironment, KeyHash, Scope};
use crate::model::{AccountId, ApiKeyId, Page, PageRequest};
use crate::store::sqlite::experiments::{into_page, keyset_bound};
use crate::store::{ApiKeyRecord, KeyStore, KeyTouch, KeysetCursor};
use crate::{Error, Result};

/// A row of [`API_KEY_COLUMNS`].
pub(super) fn record(row: &PgRow) -> Result<ApiKeyRecord> {
    let prefix: String = row.try_get("prefix")?;
    let environment = KeyEnvironment::of_prefix(&prefix)
        .ok_or_else(|| Error::Internal(format!("api_keys.prefix {prefix:?} has no known environment prefix")))?;
    let hash: Vec<u8> = row.try_get("key_hash")?;
    let key_hash = KeyHash::from_slice(&hash)
        .ok_or_else(|| Error::Internal(format!("api_keys.key_hash holds {} bytes, not 32", hash.len())))?;
    let scopes = row
        .try_get::<Vec<String>, _>("scopes")?
        .iter()
        .map(|s| {
            s.parse::<Scope>()
                .map_err(|_| Error::Internal(format!("api_keys.scopes holds an unknown scope {s:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ApiKeyRecord {
        key: ApiKey {
            id: row.try_get::<Uuid, _>("id")?.into(),
            account_id: row.try_get::<Uuid, _>("account_id")?.into(),
            name: row.try_get("name")?,
            display_prefix: prefix,
            environment,
            scopes,
            created_at: from_ms(row.try_get("created_at")?, "api_keys.created_at")?,
            expires_at: from_opt_ms(row.try_get("expires_at")?, "api_keys.expires_at")?,
            revoked_at: from_opt_ms(row.try_get("revoked_at")?, "api_keys.revoked_at")?,
            last_used_at: from_opt_ms(row.try_get("last_used_at")?, "api_keys.last_used_at")?,
        },
        key_hash,
    })
}

#[async_trait::async_trait]
impl KeyStore for PgStore {
    async fn insert_api_key(&self, record: &ApiKeyRecord) -> Result<()> {
        self.insert_api_key_with(record, None).await
    }

    async fn find_api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>> {
        sqlx::query(FIND_API_KEY_BY_HASH)
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    async fn get_api_key(&self, account: AccountId, id: ApiKeyId) -> Result<ApiKey> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $2 AND account_id = $1");
        let row = sqlx::query(&sql)
            .bind(account.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(record(&row)?.key),
            None => Err(Error::not_found("API key", id)),
        }
    }

    async fn list_api_keys(&self, account: AccountId, page: &PageRequest) -> Result<Page<ApiKey>> {
        let limit = page.effective_limit()?;
        let (after_ms, after_id) = keyset_bound(page)?;
        let items = sqlx::query(LIST_API_KEYS)
            .bind(account.0)
            .bind(after_ms)
            .bind(after_id)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| record(row).map(|r| r.key))
            .collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, limit, |k| KeysetCursor::new(k.created_at, k.id.0)))
    }

    async fn revoke_api_key(&self, account: AccountId, id: ApiKeyId, now: DateTime<Utc>) -> Result<ApiKey> {
        self.revoke_api_key_with(account, id, now, None).await
    }

    async fn touch_api_keys(&self, touches: &[KeyTouch]) -> Result<u64> {
        if touches.is_empty() {
            return Ok(0);
        }
        let accounts: Vec<Uuid> = touches.iter().map(|t| t.account_id.0).collect();
        let ids: Vec<Uuid> = touches.iter().map(|t| t.key_id.0).collect();
        let ats: Vec<i64> = touches.iter().map(|t| ms(t.at)).collect();
        let done = sqlx::query(TOUCH_API_KEYS)
            .bind(&accounts)
            .bind(&ids)
            .bind(&ats)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

impl PgStore {
    /// Inserts the key and, when given, its audit event in one transaction.
    pub(super) async fn insert_api_key_with(
        &self,
        record: &ApiKeyRecord,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let key = &record.key;
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query(
            "INSERT INTO api_keys (id, account_id, key_hash, prefix, name, scopes, created_at, expires_at, \
             revoked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(key.id.0)
        .bind(key.account_id.0)
        .bind(record.key_hash.as_bytes().as_slice())
        .bind(&key.display_prefix)
        .bind(&key.name)
        .bind(&scopes)
        .bind(ms(key.created_at))
        .bind(opt_ms(key.expires_at))
        .bind(opt_ms(key.revoked_at))
        .bind(opt_ms(key.last_used_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            map_db_error(
                e,
                || Error::Conflict(format!("API key {} (or its hash) already exists", key.id)),
                || Error::not_found("account", key.account_id),
            )
        })?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes the key and, when given, appends its audit event in one transaction.
    pub(super) async fn revoke_api_key_with(
        &self,
        account: AccountId,
        id: ApiKeyId,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<ApiKey> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(REVOKE_API_KEY)
            .bind(account.0)
            .bind(id.0)
            .bind(ms(now))
            .fetch_optional(&mut *tx)
            .await?;
        let key = match row {
            Some(row) => record(&row)?.key,
            None => return Err(Error::not_found("API key", id)),
        };
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(key)
    }
}
