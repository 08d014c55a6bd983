//! Dashboard aggregations over a whole account, computed by the database.

use chrono::NaiveDate;

use super::SqliteStore;
use super::sql::{ACCOUNT_SUMMARY, VISIBILITY_BY_TARGET};
use crate::Result;
use crate::model::AccountId;
use crate::store::dashboard::{
    AccountSummary, DashboardStore, SummaryRow, TargetVisibility, VisibilityRow, first_day_ms, fold_summary,
    fold_visibility,
};

#[async_trait::async_trait]
impl DashboardStore for SqliteStore {
    async fn account_summary(&self, account: AccountId) -> Result<AccountSummary> {
        let rows: Vec<SummaryRow> = sqlx::query_as(ACCOUNT_SUMMARY)
            .bind(account.0)
            .fetch_all(&self.pool)
            .await?;
        fold_summary(account, rows)
    }

    async fn visibility_by_target(
        &self,
        account: AccountId,
        since: Option<NaiveDate>,
    ) -> Result<Vec<TargetVisibility>> {
        let rows: Vec<VisibilityRow> = sqlx::query_as(VISIBILITY_BY_TARGET)
            .bind(account.0)
            .bind(first_day_ms(since))
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            // No answered sample: an empty dashboard, unless the account does not exist.
            let exists = sqlx::query("SELECT 1 FROM accounts WHERE id = ?1")
                .bind(account.0)
                .fetch_optional(&self.pool)
                .await?;
            if exists.is_none() {
                return Err(crate::Error::not_found("account", account));
            }
        }
        Ok(fold_visibility(rows))
    }
}
