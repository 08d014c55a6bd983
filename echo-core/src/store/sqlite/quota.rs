//! The quota books on SQLite.
//!
//! Each operation is one `BEGIN IMMEDIATE` transaction: SQLite has a single writer, so the
//! conditional UPDATE of [`QUOTA_RESERVE`] — which also counts held reservations — sees
//! every reservation committed before it, and nothing can slip in between it and the
//! reservation's INSERT.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::SqliteStore;
use super::convert::{from_ms, from_opt_ms, i64_to_u64, map_db_error, ms};
use super::sql::{
    EXPIRE_RESERVATIONS, QUOTA_ACTIVE_RESERVATIONS, QUOTA_APPLY, QUOTA_PERIOD_CREATE, QUOTA_RESERVE,
    RESERVATION_COLUMNS, RESERVATION_INSERT, SETTLE_EXPIRED, SETTLE_HELD,
};
use crate::model::{AccountId, ReservationId};
use crate::quota::{QuotaUsage, Reservation, ReservationStatus, ReserveRequest};
use crate::store::QuotaStore;
use crate::{Error, Result};

fn reservation(row: &SqliteRow) -> Result<Reservation> {
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

#[async_trait::async_trait]
impl QuotaStore for SqliteStore {
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation> {
        let (samples, limit) = request.validate()?;
        let (account, start, now) = (request.account.0, ms(request.period.start), ms(request.now));

        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(QUOTA_PERIOD_CREATE)
            .bind(account)
            .bind(start)
            .bind(ms(request.period.end))
            .bind(limit)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                map_db_error(
                    e,
                    || Error::Internal("the period insert ignores conflicts".into()),
                    || Error::not_found("account", request.account),
                )
            })?;
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
            // Refused. Read the books (inside the same transaction, so they are the ones the
            // refusal saw) to say which limit and what is left; nothing is kept.
            let row = sqlx::query(
                "SELECT samples_used, samples_reserved FROM quota_periods WHERE account_id = ?1 AND period_start = ?2",
            )
            .bind(account)
            .bind(start)
            .fetch_one(&mut *tx)
            .await?;
            let used = i64_to_u64(row.try_get("samples_used")?, "quota_periods.samples_used")?;
            let held = i64_to_u64(row.try_get("samples_reserved")?, "quota_periods.samples_reserved")?;
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Held: release the hold and charge. Expired: the hold is already released; charge.
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rows = sqlx::query(EXPIRE_RESERVATIONS).bind(now).fetch_all(&mut *tx).await?;
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
        let row = sqlx::query(
            "SELECT samples_used, samples_reserved FROM quota_periods WHERE account_id = ?1 AND period_start = ?2",
        )
        .bind(account.0)
        .bind(ms(period_start))
        .fetch_optional(&self.pool)
        .await?;
        let active: i64 = sqlx::query_scalar(QUOTA_ACTIVE_RESERVATIONS)
            .bind(account.0)
            .bind(ms(now))
            .fetch_one(&self.pool)
            .await?;
        let mut usage = QuotaUsage {
            active_reservations: i64_to_u64(active, "active reservations")?,
            ..QuotaUsage::default()
        };
        if let Some(row) = row {
            usage.used = i64_to_u64(row.try_get("samples_used")?, "quota_periods.samples_used")?;
            usage.reserved = i64_to_u64(row.try_get("samples_reserved")?, "quota_periods.samples_reserved")?;
        }
        Ok(usage)
    }

    async fn get_reservation(&self, account: AccountId, id: ReservationId) -> Result<Reservation> {
        let sql = format!("SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = ?1 AND account_id = ?2");
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
