//! The audit trail on PostgreSQL. Appends run inside the caller's transaction and start by
//! locking the single chain-head row (`FOR UPDATE`): concurrent appends queue on it, so
//! each reads the head the previous one committed and seqs stay gap-free. The append is
//! the last statement of its transaction, so the lock is held only until the commit.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgRow, Postgres};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::PgStore;
use super::convert::{from_ms, ms};
use crate::audit::{
    AuditAction, AuditCheckpoint, AuditEvent, AuditHead, AuditPage, AuditPurgeReport, AuditQuery, AuditRecord,
    StoredAuditRow, chain,
};
use crate::auth::ApiKey;
use crate::model::{Account, AccountId, ApiKeyId, Experiment, ExperimentId, ExperimentSpec, Run, RunId, RunStatus};
use crate::store::{
    ApiKeyRecord, AuditStore, AuditedWrites, NewSample, ScheduledRun, ScheduledRunOutcome, StoredSchedule,
};
use crate::{Error, Result};

const ROW_COLUMNS: &str = "seq, account_id, at, actor, actor_id, action, target_type, target_id, result, \
     error_kind, request_id, correlation_id, details, ip, user_agent, personal_salt, personal_digest, prev_hash, hash";

/// Appends `record` as the next event, inside the caller's write transaction.
pub(crate) async fn append(conn: &mut PgConnection, record: &AuditRecord) -> Result<StoredAuditRow> {
    let (head_seq, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *conn)
            .await?;
    let row = chain::seal(record, head_seq + 1, &head_hash);
    let sql = format!(
        "INSERT INTO audit_events ({ROW_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    );
    sqlx::query(&sql)
        .bind(row.seq)
        .bind(row.account_id.map(|a| a.0))
        .bind(row.at_ms)
        .bind(&row.actor_kind)
        .bind(&row.actor_id)
        .bind(&row.action)
        .bind(&row.target_type)
        .bind(&row.target_id)
        .bind(&row.result)
        .bind(&row.error_kind)
        .bind(&row.request_id)
        .bind(&row.correlation_id)
        .bind(Json(&row.details))
        .bind(&row.ip)
        .bind(&row.user_agent)
        .bind(&row.personal_salt)
        .bind(&row.personal_digest)
        .bind(&row.prev_hash)
        .bind(&row.hash)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE audit_chain_head SET seq = $1, hash = $2, updated_at = $3 WHERE id = 1")
        .bind(row.seq)
        .bind(&row.hash)
        .bind(row.at_ms)
        .execute(&mut *conn)
        .await?;
    Ok(row)
}

/// Appends when `audit` is given (the audited forms of the store's writes).
pub(crate) async fn append_opt(conn: &mut PgConnection, audit: Option<&AuditRecord>) -> Result<()> {
    if let Some(record) = audit {
        append(conn, record).await?;
    }
    Ok(())
}

fn stored_row(row: &PgRow) -> Result<StoredAuditRow> {
    Ok(StoredAuditRow {
        seq: row.try_get("seq")?,
        at_ms: row.try_get("at")?,
        account_id: row.try_get::<Option<Uuid>, _>("account_id")?.map(Into::into),
        actor_kind: row.try_get("actor")?,
        actor_id: row.try_get("actor_id")?,
        action: row.try_get("action")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        result: row.try_get("result")?,
        error_kind: row.try_get("error_kind")?,
        request_id: row.try_get("request_id")?,
        correlation_id: row.try_get("correlation_id")?,
        details: row.try_get::<Json<serde_json::Value>, _>("details")?.0,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        personal_salt: row.try_get("personal_salt")?,
        personal_digest: row.try_get("personal_digest")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

#[async_trait::async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, record: &AuditRecord) -> Result<AuditEvent> {
        let mut tx = self.pool.begin().await?;
        let row = append(&mut tx, record).await?;
        tx.commit().await?;
        row.to_event()
    }

    async fn audit_head(&self) -> Result<AuditHead> {
        let (seq, hash, updated): (i64, Vec<u8>, Option<i64>) =
            sqlx::query_as("SELECT seq, hash, updated_at FROM audit_chain_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(AuditHead {
            seq,
            hash: hex::encode(hash),
            updated_at: updated.map(|v| from_ms(v, "audit_chain_head.updated_at")).transpose()?,
        })
    }

    async fn audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>> {
        let row: Option<(i64, Vec<u8>, i64, i64)> = sqlx::query_as(
            "SELECT seq, hash, created_at, purged_before FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(seq, hash, created, before)| {
            Ok(AuditCheckpoint {
                seq,
                hash: hex::encode(hash),
                created_at: from_ms(created, "audit_checkpoints.created_at")?,
                purged_before: from_ms(before, "audit_checkpoints.purged_before")?,
            })
        })
        .transpose()
    }

    async fn audit_events(&self, query: &AuditQuery) -> Result<AuditPage> {
        let limit = query.effective_limit()?;
        let mut qb: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("SELECT {ROW_COLUMNS} FROM audit_events WHERE seq > "));
        qb.push_bind(query.after_seq.unwrap_or(0));
        if let Some(account) = query.account {
            qb.push(" AND account_id = ").push_bind(account.0);
        }
        if let Some(action) = query.action {
            qb.push(" AND action = ").push_bind(action.as_str());
        }
        if let Some(from) = query.from {
            qb.push(" AND at >= ").push_bind(ms(from));
        }
        if let Some(to) = query.to {
            qb.push(" AND at < ").push_bind(ms(to));
        }
        qb.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit) + 1);
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut events = rows
            .iter()
            .map(|r| stored_row(r)?.to_event())
            .collect::<Result<Vec<_>>>()?;
        let next_after_seq = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(AuditPage { events, next_after_seq })
    }

    async fn audit_rows(&self, from_seq: i64, limit: u32) -> Result<Vec<StoredAuditRow>> {
        let sql = format!("SELECT {ROW_COLUMNS} FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2");
        sqlx::query(&sql)
            .bind(from_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(stored_row)
            .collect()
    }

    async fn purge_audit_before(
        &self,
        before: DateTime<Utc>,
        batch: u32,
        now: DateTime<Utc>,
    ) -> Result<AuditPurgeReport> {
        if batch == 0 {
            return Err(Error::invalid("audit.purge.batch", "must be at least 1"));
        }
        let mut report = AuditPurgeReport::default();
        loop {
            let mut tx = self.pool.begin().await?;
            // Retention is one process at a time per chain: the head lock keeps appends
            // (which never touch old rows) and a second purge out of each other's way.
            sqlx::query("SELECT 1 FROM audit_chain_head WHERE id = 1 FOR UPDATE")
                .execute(&mut *tx)
                .await?;
            // Only a whole prefix goes: everything before the first event at or after the
            // cutoff (clocks of several processes may disagree a little; an older-looking
            // event after a newer one waits for the next purge).
            let bound: Option<i64> = sqlx::query_scalar("SELECT min(seq) FROM audit_events WHERE at >= $1")
                .bind(ms(before))
                .fetch_one(&mut *tx)
                .await?;
            let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT seq, hash FROM (SELECT seq, hash FROM audit_events WHERE seq < $1 ORDER BY seq LIMIT $2) AS b \
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(bound.unwrap_or(i64::MAX))
            .bind(i64::from(batch))
            .fetch_optional(&mut *tx)
            .await?;
            let Some((last_seq, last_hash)) = last else {
                break;
            };
            let deleted = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
                .bind(last_seq)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(
                "INSERT INTO audit_checkpoints (seq, hash, created_at, purged_before) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (seq) DO NOTHING",
            )
            .bind(last_seq)
            .bind(&last_hash)
            .bind(ms(now))
            .bind(ms(before))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            report.events_deleted += deleted;
            report.checkpoint_seq = Some(last_seq);
        }
        if report.events_deleted > 0 {
            let record = AuditRecord::system("retention", None, AuditAction::AuditPurge, now)
                .detail("before", before)
                .detail("events_deleted", report.events_deleted)
                .detail("checkpoint_seq", report.checkpoint_seq);
            self.append_audit(&record).await?;
        }
        Ok(report)
    }

    async fn erase_audit_personal_data(&self, account: AccountId, record: &AuditRecord) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let erased = sqlx::query(
            "UPDATE audit_events SET ip = NULL, user_agent = NULL, personal_salt = NULL \
             WHERE account_id = $1 AND (ip IS NOT NULL OR user_agent IS NOT NULL OR personal_salt IS NOT NULL)",
        )
        .bind(account.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        append(&mut tx, record).await?;
        tx.commit().await?;
        Ok(erased)
    }
}

#[async_trait::async_trait]
impl AuditedWrites for PgStore {
    async fn insert_account_audited(&self, account: &Account, audit: &AuditRecord) -> Result<()> {
        self.insert_account_with(account, Some(audit)).await
    }

    async fn insert_experiment_audited(&self, experiment: &Experiment, audit: &AuditRecord) -> Result<()> {
        self.insert_experiment_with(experiment, Some(audit)).await
    }

    async fn update_experiment_audited(
        &self,
        account: AccountId,
        id: ExperimentId,
        spec: &ExperimentSpec,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<Experiment> {
        self.update_experiment_with(account, id, spec, now, Some(audit)).await
    }

    async fn delete_experiment_audited(&self, account: AccountId, id: ExperimentId, audit: &AuditRecord) -> Result<()> {
        self.delete_experiment_with(account, id, Some(audit)).await
    }

    async fn set_schedule_audited(
        &self,
        account: AccountId,
        experiment: ExperimentId,
        schedule: Option<&StoredSchedule>,
        audit: &AuditRecord,
    ) -> Result<()> {
        self.set_schedule_with(account, experiment, schedule, Some(audit)).await
    }

    async fn enqueue_run_audited(&self, run: &Run, samples: &[NewSample], audit: &AuditRecord) -> Result<()> {
        self.enqueue(run, samples, Some(audit)).await
    }

    async fn set_run_status_audited(
        &self,
        account: AccountId,
        id: RunId,
        status: RunStatus,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<bool> {
        self.set_run_status_with(account, id, status, now, Some(audit)).await
    }

    async fn finalize_run_audited(
        &self,
        account: AccountId,
        run: RunId,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<Option<RunStatus>> {
        self.finalize_run_with(account, run, now, Some(audit)).await
    }

    async fn create_scheduled_run_audited(
        &self,
        scheduled: ScheduledRun<'_>,
        audit: &AuditRecord,
    ) -> Result<ScheduledRunOutcome> {
        self.create_scheduled_run_with(scheduled, Some(audit)).await
    }

    async fn insert_api_key_audited(&self, record: &ApiKeyRecord, audit: &AuditRecord) -> Result<()> {
        self.insert_api_key_with(record, Some(audit)).await
    }

    async fn revoke_api_key_audited(
        &self,
        account: AccountId,
        id: ApiKeyId,
        now: DateTime<Utc>,
        audit: &AuditRecord,
    ) -> Result<ApiKey> {
        self.revoke_api_key_with(account, id, now, Some(audit)).await
    }
}
