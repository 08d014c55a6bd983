//! Leader leases on SQLite: each operation is one statement, atomic on its own.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::convert::{duration_ms, ms};
use super::sql::{ACQUIRE_LEADER, RELEASE_LEADER, RENEW_LEADER};
use crate::store::LeaderStore;
use crate::{Error, Result};

/// Rejects a blank name or owner (shared with the PostgreSQL backend).
pub(crate) fn check(name: &str, owner: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("leader.name", "must not be blank"));
    }
    if owner.trim().is_empty() {
        return Err(Error::invalid(
            "leader.owner",
            "must not be blank; use a unique id per worker",
        ));
    }
    Ok(())
}

#[async_trait::async_trait]
impl LeaderStore for SqliteStore {
    async fn try_acquire_leader(&self, name: &str, owner: &str, now: DateTime<Utc>, ttl: Duration) -> Result<bool> {
        check(name, owner)?;
        let changed = sqlx::query(ACQUIRE_LEADER)
            .bind(name)
            .bind(owner)
            .bind(ms(now).saturating_add(duration_ms(ttl)))
            .bind(ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }

    async fn renew_leader(&self, name: &str, owner: &str, now: DateTime<Utc>, ttl: Duration) -> Result<bool> {
        check(name, owner)?;
        let changed = sqlx::query(RENEW_LEADER)
            .bind(name)
            .bind(owner)
            .bind(ms(now).saturating_add(duration_ms(ttl)))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }

    async fn release_leader(&self, name: &str, owner: &str) -> Result<bool> {
        check(name, owner)?;
        let changed = sqlx::query(RELEASE_LEADER)
            .bind(name)
            .bind(owner)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(changed == 1)
    }
}
