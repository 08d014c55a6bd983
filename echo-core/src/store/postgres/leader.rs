//! Leader leases on PostgreSQL: each operation is one statement, atomic on its own. The
//! acquisition is an `INSERT ... ON CONFLICT DO UPDATE ... WHERE`: contenders for one name
//! serialize on the row (or on the primary key for the first insert), and each re-checks
//! the takeover condition against the committed holder, so two never both hold the lease.
//! Renewal and release are fenced on the owner.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::PgStore;
use super::convert::{duration_ms, ms};
use super::sql::{ACQUIRE_LEADER, RELEASE_LEADER, RENEW_LEADER};
use crate::Result;
use crate::store::LeaderStore;
use crate::store::sqlite::leader::check;

#[async_trait::async_trait]
impl LeaderStore for PgStore {
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
