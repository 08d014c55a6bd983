//! Consent records (see `crate::privacy::consent`).

use crate::Result;
use crate::model::AccountId;
use crate::privacy::Consent;

/// Append-only consent records, scoped to an account in every query.
#[async_trait::async_trait]
pub trait ConsentStore: Send + Sync {
    /// Appends a record (`consent.account_id` must be `account`). NotFound if the account
    /// does not exist.
    async fn insert_consent(
        &self,
        account: AccountId,
        consent: &Consent,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()>;
    /// Every record of the account, oldest first (by time, then id).
    async fn consent_history(&self, account: AccountId) -> Result<Vec<Consent>>;
    /// The account's latest record for `purpose`, if any.
    async fn latest_consent(&self, account: AccountId, purpose: &str) -> Result<Option<Consent>>;
}
