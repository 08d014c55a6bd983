//! Consent records on SQLite: appended, never updated (triggers refuse edits, and deletes
//! while the account lives).

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::SqliteStore;
use super::convert::{from_ms, ms};
use crate::model::AccountId;
use crate::privacy::Consent;
use crate::store::ConsentStore;
use crate::{Error, Result};

/// Appends a record if the account exists. `?1` id, `?2` account, `?3` purpose, `?4`
/// granted, `?5` at, `?6` source, `?7` policy version, `?8` recorded by. The records are
/// the account's own decisions, so `subject` is always `account`.
pub const INSERT_CONSENT: &str = "INSERT INTO consents (id, account_id, subject, purpose, granted, at, source, \
        policy_version, recorded_by) \
     SELECT ?1, ?2, 'account', ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?2)";

const CONSENT_COLUMNS: &str = "id, account_id, purpose, policy_version, granted, at, source, recorded_by";

/// The latest record of a purpose. `?1` account, `?2` purpose. Index: `consents_by_purpose`,
/// read backwards.
pub const LATEST_CONSENT: &str = "SELECT id, account_id, purpose, policy_version, granted, at, source, recorded_by \
     FROM consents WHERE account_id = ?1 AND subject = 'account' AND purpose = ?2 \
     ORDER BY at DESC, id DESC LIMIT 1";

fn consent(row: &SqliteRow) -> Result<Consent> {
    Ok(Consent {
        id: row.try_get::<Uuid, _>("id")?,
        account_id: row.try_get::<Uuid, _>("account_id")?.into(),
        purpose: row.try_get("purpose")?,
        policy_version: row.try_get("policy_version")?,
        granted: row.try_get::<i64, _>("granted")? != 0,
        at: from_ms(row.try_get("at")?, "consents.at")?,
        source: row.try_get("source")?,
        recorded_by: row.try_get("recorded_by")?,
    })
}

#[async_trait::async_trait]
impl ConsentStore for SqliteStore {
    async fn insert_consent(
        &self,
        account: AccountId,
        c: &Consent,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<()> {
        if c.account_id != account {
            return Err(Error::Internal(
                "a consent must be recorded under its own account".into(),
            ));
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = sqlx::query(INSERT_CONSENT)
            .bind(c.id)
            .bind(account.0)
            .bind(&c.purpose)
            .bind(i64::from(c.granted))
            .bind(ms(c.at))
            .bind(&c.source)
            .bind(&c.policy_version)
            .bind(&c.recorded_by)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            return Err(Error::not_found("account", account));
        }
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consent_history(&self, account: AccountId) -> Result<Vec<Consent>> {
        let sql = format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE account_id = ?1 ORDER BY at, id");
        let rows = sqlx::query(&sql).bind(account.0).fetch_all(&self.pool).await?;
        rows.iter().map(consent).collect()
    }

    async fn latest_consent(&self, account: AccountId, purpose: &str) -> Result<Option<Consent>> {
        let row = sqlx::query(LATEST_CONSENT)
            .bind(account.0)
            .bind(purpose)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(consent).transpose()
    }
}
