//! Per-account privacy settings on SQLite.

use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::convert::{from_json, map_db_error, ms, to_json};
use crate::model::AccountId;
use crate::privacy::PrivacySettings;
use crate::store::PrivacySettingsStore;
use crate::{Error, Result};

/// `?1` account, `?2` redact_pii, `?3` phone regions (JSON array), `?4` now.
const UPSERT_PRIVACY: &str = "INSERT INTO account_privacy (account_id, redact_pii, phone_regions, updated_at) \
     VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT (account_id) DO UPDATE SET redact_pii = excluded.redact_pii, \
        phone_regions = excluded.phone_regions, updated_at = excluded.updated_at";

#[async_trait::async_trait]
impl PrivacySettingsStore for SqliteStore {
    async fn set_privacy_settings(
        &self,
        account: AccountId,
        settings: &PrivacySettings,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(UPSERT_PRIVACY)
            .bind(account.0)
            .bind(i64::from(settings.redact_pii))
            .bind(to_json(&settings.phone_regions, "phone regions")?)
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                map_db_error(
                    e,
                    || Error::Internal("account_privacy upsert hit a unique violation".into()),
                    || Error::not_found("account", account),
                )
            })?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn privacy_settings(&self, account: AccountId) -> Result<PrivacySettings> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT redact_pii, phone_regions FROM account_privacy WHERE account_id = ?1")
                .bind(account.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some((redact, regions)) => PrivacySettings {
                redact_pii: redact != 0,
                phone_regions: from_json(&regions, "account_privacy.phone_regions")?,
            },
            None => PrivacySettings::default(),
        })
    }
}
