//! Per-account privacy settings (see `crate::privacy::settings`).

use chrono::{DateTime, Utc};

use crate::Result;
use crate::model::AccountId;
use crate::privacy::PrivacySettings;

/// Privacy settings, one row per account that has set them.
#[async_trait::async_trait]
pub trait PrivacySettingsStore: Send + Sync {
    /// Replaces the account's settings. NotFound if the account does not exist.
    async fn set_privacy_settings(
        &self,
        account: AccountId,
        settings: &PrivacySettings,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()>;
    /// The account's settings; the defaults (redaction off) when it never set any.
    async fn privacy_settings(&self, account: AccountId) -> Result<PrivacySettings>;
}
