//! The quota books on PostgreSQL.
//!
//! Transactions run at READ COMMITTED, where each statement sees the data committed before
//! it started. A reservation first locks its account row ([`QUOTA_LOCK_ACCOUNT`], which says
//! why), so the conditional UPDATE that follows — the check and the increment in one
//! statement, as on SQLite — counts every held reservation, and concurrent reservations of
//! one account go through one at a time. Settlements are guarded by the reservation's
//! status in the UPDATE's WHERE, which PostgreSQL re-checks on the newest row version when
//! two settlements race, so exactly one of them moves the books.
//!
//! Lock order, so nothing deadlocks: a reservation takes account → period row; a
//! settlement takes reservation → period row; the expiry sweep skips reservations held by
//! others and then takes period rows in key order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PgStore;
use super::convert::{from_ms, from_opt_ms, i64_to_u64, map_db_error, ms};
use super::sql::{
    EXPIRE_RESERVATIONS, QUOTA_ACTIVE_RESERVATIONS, QUOTA_APPLY, QUOTA_LOCK_ACCOUNT, QUOTA_PERIOD_BOOKS,
    QUOTA_PERIOD_CREATE, QUOTA_RESERVE, RESERVATION_COLUMNS, RESERVATION_INSERT, SETTLE_EXPIRED, SETTLE_HELD,
};
use crate::model::{AccountId, ReservationId};
use crate::quota::{QuotaUsage, Reservation, ReservationStatus, ReserveRequest};
use crate::store::QuotaStore;
use crate::{Error, Result};

fn reservation(row: &PgRow) -> Result<Reservation> {
    Ok(Reservation {
        id: row.try_get::<Uuid, _>("id")?.into(),
        account_id: row.try_get::<Uuid, _>("account_id")?.into(),
        period_start: from_ms(row.try_get("period_start")?, "reservations.period_start")?,
        samples: i64_to_u64(row.try_get("samples")?, "reservations.samples")?,
        committed: row
            .try_get::<Option<i64>, _>("samples_committed")?
            .map(|v| i64_to_u64(v, "reservations.samples_committed"))
            .transpose()?,
        status: ReservationStatus::parse(row.try_get("status")?)?,
        created_at: from_ms(row.try_get("created_at")?, "reservations.created_at")?,
        expires_at: from_ms(row.try_get("expires_at")?, "reservations.expires_at")?,
        settled_at: from_opt_ms(row.try_get("settled_at")?, "reservations.settled_at")?,
    })
}

/// `(used, reserved)` of a period row, zeros when there is none.
fn books(row: Option<&PgRow>) -> Result<(u64, u64)> {
    let Some(row) = row else { return Ok((0, 0)) };
    Ok((
        i64_to_u64(row.try_get("samples_used")?, "quota_periods.samples_used")?,
        i64_to_u64(row.try_get("samples_reserved")?, "quota_periods.samples_reserved")?,
    ))
}

#[async_trait::async_trait]
impl QuotaStore for PgStore {
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation> {
        let (samples, limit) = request.validate()?;
        let (account, start, now) = (request.account.0, ms(request.period.start), ms(request.now));

        let mut tx = self.pool.begin().await?;
        let locked = sqlx::query(QUOTA_LOCK_ACCOUNT)
            .bind(account)
            .fetch_optional(&mut *tx)
            .await?;
        if locked.is_none() {
            tx.rollback().await?;
            return Err(Error::not_found("account", request.account));
        }
        sqlx::query(QUOTA_PERIOD_CREATE)
            .bind(account)
            .bind(start)
            .bind(ms(request.period.end))
            .bind(limit)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let reserved = sqlx::query(QUOTA_RESERVE)
            .bind(account)
            .bind(start)
            .bind(samples)
            .bind(limit)
            .bind(now)
            .bind(i64::from(request.max_concurrent))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if reserved == 0 {
            // Refused. Read the books under the same account lock, so they are the ones the
            // refusal saw, to say which limit and what is left; nothing is kept.
            let row = sqlx::query(QUOTA_PERIOD_BOOKS)
                .bind(account)
                .bind(start)
                .fetch_optional(&mut *tx)
                .await?;
            let (used, held) = books(row.as_ref())?;
            let active: i64 = sqlx::query_scalar(QUOTA_ACTIVE_RESERVATIONS)
                .bind(account)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            tx.rollback().await?;
            let denial = request.denial(used, held, i64_to_u64(active, "active reservations")?);
            return Err(Error::QuotaExceeded(denial));
        }
        sqlx::query(RESERVATION_INSERT)
            .bind(request.id.0)
            .bind(account)
            .bind(start)
            .bind(samples)
            .bind(now)
            .bind(ms(request.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                map_db_error(
                    e,
                    || Error::Conflict(format!("reservation {} already exists", request.id)),
                    || Error::not_found("account", request.account),
                )
            })?;
        tx.commit().await?;
        Ok(request.held())
    }

    async fn settle_reservation(
        &self,
        account: AccountId,
        id: ReservationId,
        committed: u64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let committed = i64::try_from(committed).unwrap_or(i64::MAX);
        let now = ms(now);
        let mut tx = self.pool.begin().await?;
        // Held: release the hold and charge. Expired: the hold is already released; charge.
        // If an expiry sweep holds the row, SETTLE_HELD waits for it, finds it expired and
        // changes nothing; SETTLE_EXPIRED, a new statement, then sees it expired.
        for (statement, releases_hold) in [(SETTLE_HELD, true), (SETTLE_EXPIRED, false)] {
            let row = sqlx::query(statement)
                .bind(id.0)
                .bind(account.0)
                .bind(committed)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else { continue };
            let period_start: i64 = row.try_get("period_start")?;
            let samples: i64 = row.try_get("samples")?;
            let charged: i64 = row.try_get("samples_committed")?;
            sqlx::query(QUOTA_APPLY)
                .bind(account.0)
                .bind(period_start)
                .bind(if releases_hold { samples } else { 0 })
                .bind(charged)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(true);
        }
        tx.rollback().await?;
        Ok(false)
    }

    async fn expire_reservations(&self, now: DateTime<Utc>) -> Result<u64> {
        let now = ms(now);
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(EXPIRE_RESERVATIONS).bind(now).fetch_all(&mut *tx).await?;
        // Summed per period and applied in key order (uuid and PostgreSQL agree on it), so
        // concurrent sweeps lock period rows in the same order.
        let mut released: BTreeMap<(Uuid, i64), i64> = BTreeMap::new();
        for row in &rows {
            let key = (
                row.try_get::<Uuid, _>("account_id")?,
                row.try_get::<i64, _>("period_start")?,
            );
            *released.entry(key).or_default() += row.try_get::<i64, _>("samples")?;
        }
        for ((account, period_start), samples) in released {
            sqlx::query(QUOTA_APPLY)
                .bind(account)
                .bind(period_start)
                .bind(samples)
                .bind(0i64)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if !rows.is_empty() {
            tracing::warn!(
                reservations = rows.len(),
                "quota reservations expired before their runs settled"
            );
        }
        Ok(rows.len() as u64)
    }

    async fn quota_usage(
        &self,
        account: AccountId,
        period_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<QuotaUsage> {
        // One snapshot for both reads, so the numbers belong together.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let row = sqlx::query(QUOTA_PERIOD_BOOKS)
            .bind(account.0)
            .bind(ms(period_start))
            .fetch_optional(&mut *tx)
            .await?;
        let active: i64 = sqlx::query_scalar(QUOTA_ACTIVE_RESERVATIONS)
            .bind(account.0)
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let (used, reserved) = books(row.as_ref())?;
        Ok(QuotaUsage {
            used,
            reserved,
            active_reservations: i64_to_u64(active, "active reservations")?,
        })
    }

    async fn get_reservation(&self, account: AccountId, id: ReservationId) -> Result<Reservation> {
        let sql = format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = $1 AND account_id = $2");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => reservation(&row),
            None => Err(Error::not_found("reservation", id)),
        }
    }
}
