//! Per-account privacy settings on PostgreSQL.

use chrono::{DateTime, Utc};

use super::PgStore;
use super::convert::{map_db_error, ms};
use crate::model::AccountId;
use crate::privacy::PrivacySettings;
use crate::store::PrivacySettingsStore;
use crate::{Error, Result};

/// `$1` account, `$2` redact_pii, `$3` phone regions, `$4` now.
const UPSERT_PRIVACY: &str = "INSERT INTO account_privacy (account_id, redact_pii, phone_regions, updated_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (account_id) DO UPDATE SET redact_pii = excluded.redact_pii, \
        phone_regions = excluded.phone_regions, updated_at = excluded.updated_at";

#[async_trait::async_trait]
impl PrivacySettingsStore for PgStore {
    async fn set_privacy_settings(
        &self,
        account: AccountId,
        settings: &PrivacySettings,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(UPSERT_PRIVACY)
            .bind(account.0)
            .bind(settings.redact_pii)
            .bind(&settings.phone_regions)
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
        let row: Option<(bool, Vec<String>)> =
            sqlx::query_as("SELECT redact_pii, phone_regions FROM account_privacy WHERE account_id = $1")
                .bind(account.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some((redact_pii, phone_regions)) => PrivacySettings {
                redact_pii,
                phone_regions,
            },
            None => PrivacySettings::default(),
        })
    }
}
