//! API keys: stored as SHA-256 hashes, found by hash, listed and revoked per account.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::SqliteStore;
use super::convert::{from_json, from_ms, from_opt_ms, map_db_error, ms, opt_ms, to_json};
use super::experiments::{into_page, keyset_bound};
use super::sql::{FIND_API_KEY_BY_HASH, LIST_API_KEYS, REVOKE_API_KEY, TOUCH_API_KEY};
use crate::auth::{ApiKey, KeyEnvironment, KeyHash};
use crate::model::{AccountId, ApiKeyId, Page, PageRequest};
use crate::store::{ApiKeyRecord, KeyStore, KeyTouch, KeysetCursor};
use crate::{Error, Result};

/// A row of [`super::sql::API_KEY_COLUMNS`].
pub(super) fn record(row: &SqliteRow) -> Result<ApiKeyRecord> {
    let prefix: String = row.try_get("prefix")?;
    let environment = KeyEnvironment::of_prefix(&prefix)
        .ok_or_else(|| Error::Internal(format!("api_keys.prefix {prefix:?} has no known environment prefix")))?;
    let hash: Vec<u8> = row.try_get("key_hash")?;
    let key_hash = KeyHash::from_slice(&hash)
        .ok_or_else(|| Error::Internal(format!("api_keys.key_hash holds {} bytes, not 32", hash.len())))?;
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiKeyRecord {
        key: ApiKey {
            id: row.try_get::<Uuid, _>("id")?.into(),
            account_id: row.try_get::<Uuid, _>("account_id")?.into(),
            name: row.try_get("name")?,
            display_prefix: prefix,
            environment,
            scopes: from_json(&scopes, "api_keys.scopes")?,
            created_at: from_ms(row.try_get("created_at")?, "api_keys.created_at")?,
            expires_at: from_opt_ms(row.try_get("expires_at")?, "api_keys.expires_at")?,
            revoked_at: from_opt_ms(row.try_get("revoked_at")?, "api_keys.revoked_at")?,
            last_used_at: from_opt_ms(row.try_get("last_used_at")?, "api_keys.last_used_at")?,
        },
        key_hash,
    })
}

#[async_trait::async_trait]
impl KeyStore for SqliteStore {
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
        let sql = format!(
            "SELECT {} FROM api_keys WHERE id = ?2 AND account_id = ?1",
            super::sql::API_KEY_COLUMNS
        );
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut updated = 0;
        for touch in touches {
            updated += sqlx::query(TOUCH_API_KEY)
                .bind(touch.account_id.0)
                .bind(touch.key_id.0)
                .bind(ms(touch.at))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(updated)
    }
}

impl SqliteStore {
    /// Inserts the key and, when given, its audit event in one transaction.
    pub(super) async fn insert_api_key_with(
        &self,
        record: &ApiKeyRecord,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let key = &record.key;
        sqlx::query(
            "INSERT INTO api_keys (id, account_id, key_hash, prefix, name, scopes, created_at, expires_at, \
             revoked_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(key.id.0)
        .bind(key.account_id.0)
        .bind(record.key_hash.as_bytes().as_slice())
        .bind(&key.display_prefix)
        .bind(&key.name)
        .bind(to_json(&key.scopes, "key scopes")?)
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
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

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::super::SqliteConfig;
    use super::*;
    use crate::auth::{Scope, key_format};
    use crate::model::Account;
    use crate::store::AccountStore;

    /// The plans of authentication's lookup and of the listing, over 3 accounts with 2,000
    /// keys, after ANALYZE: the lookup is one probe of the UNIQUE index on the hash, the
    /// listing reads `api_keys_by_account` in order (no sort step).
    #[tokio::test]
    async fn key_statements_use_their_indexes() {
        let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
        let t = DateTime::from_timestamp_millis(1_735_689_600_000).unwrap();
        let mut accounts = Vec::new();
        for i in 0..3 {
            let account = Account {
                id: AccountId::new(),
                name: format!("a{i}"),
                external_id: None,
                tier: "free".into(),
                created_at: t,
            };
            store.insert_account(&account).await.unwrap();
            accounts.push(account.id);
        }
        for i in 0..2_000i64 {
            let generated = key_format::generate(KeyEnvironment::Live);
            let record = ApiKeyRecord {
                key: ApiKey {
                    id: ApiKeyId::new(),
                    account_id: accounts[(i % 3) as usize],
                    name: format!("k{i}"),
                    display_prefix: generated.display_prefix,
                    environment: KeyEnvironment::Live,
                    scopes: vec![Scope::ExperimentsRead],
                    created_at: t + chrono::Duration::milliseconds(i),
                    expires_at: None,
                    revoked_at: None,
                    last_used_at: None,
                },
                key_hash: generated.hash,
            };
            store.insert_api_key(&record).await.unwrap();
        }
        sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
        for (statement, index, no_sort) in [
            // _1 is the primary key on id, _2 the UNIQUE constraint on key_hash.
            (FIND_API_KEY_BY_HASH, "sqlite_autoindex_api_keys_2 (key_hash=?)", false),
            (LIST_API_KEYS, "api_keys_by_account", true),
            (REVOKE_API_KEY, "sqlite_autoindex_api_keys_1 (id=?)", false),
            (TOUCH_API_KEY, "sqlite_autoindex_api_keys_1 (id=?)", false),
        ] {
            let plan: Vec<String> = sqlx::query(&format!("EXPLAIN QUERY PLAN {statement}"))
                .fetch_all(store.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>("detail"))
                .collect();
            let text = plan.join("\n");
            assert!(
                text.contains(index),
                "{statement}: expected index {index}, plan:\n{text}"
            );
            assert!(
                !plan.iter().any(|l| l.starts_with("SCAN ") && !l.contains(" INDEX ")),
                "{statement}: full scan:\n{text}"
            );
            if no_sort {
                assert!(!text.contains("TEMP B-TREE"), "{statement}: sorts:\n{text}");
            }
        }
    }
}
