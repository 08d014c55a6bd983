//! Accounts: the tenants.

use super::PgStore;
use super::convert::{map_db_error, ms};
use super::rows;
use crate::audit::AuditRecord;
use crate::model::{Account, AccountId};
use crate::store::AccountStore;
use crate::{Error, Result};

#[async_trait::async_trait]
impl AccountStore for PgStore {
    async fn insert_account(&self, account: &Account) -> Result<()> {
        self.insert_account_with(account, None).await
    }

    async fn get_account(&self, id: AccountId) -> Result<Account> {
        let row = sqlx::query("SELECT id, name, external_id, tier, created_at FROM accounts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => rows::account(&row),
            None => Err(Error::not_found("account", id)),
        }
    }
}

impl PgStore {
    /// Inserts the account and, when given, its audit event in one transaction.
    pub(super) async fn insert_account_with(&self, account: &Account, audit: Option<&AuditRecord>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO accounts (id, name, external_id, tier, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(account.id.0)
            .bind(&account.name)
            .bind(&account.external_id)
            .bind(&account.tier)
            .bind(ms(account.created_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                map_db_error(
                    e,
                    || match &account.external_id {
                        Some(ext) => Error::Conflict(format!(
                            "an account with external_id {ext:?} (or id {}) already exists; look it up instead of \
                             creating it again",
                            account.id
                        )),
                        None => Error::Conflict(format!("account {} already exists", account.id)),
                    },
                    || Error::Internal("accounts has no foreign keys".into()),
                )
            })?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
