//! Export, deletion requests and erasure on SQLite (see [`crate::store::gdpr`]).
//!
//! Every write runs under `BEGIN IMMEDIATE`. Erasure batches pick their rows through the
//! account's indexes (runs by account, then samples by run), never by scanning `samples`;
//! only the final verification counts `samples` by its `account_id` column, once per
//! erasure, because that denormalized column is the strongest check that nothing remains.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::SqliteStore;
use super::convert::{from_json, from_ms, from_opt_ms, map_db_error, ms, to_json};
use super::keys::record as key_record;
use super::rows;
use super::sql::{API_KEY_COLUMNS, EXPERIMENT_COLUMNS, RUN_COLUMNS};
use crate::auth::{ApiKey, KeyHash};
use crate::model::{AccountId, ApiKeyId, Citation, ExperimentId, Mention, Run, RunId, SampleRecord};
use crate::store::gdpr::{
    AccountState, AccountStatus, DeletionCancelled, DeletionRecord, DeletionStarted, DeletionStatus, ERASED_TABLES,
    ErasureBatch, ErasureReport, ExperimentExport, GdprStore, NewDeletion, PausedSchedule, RETAINED_TABLES,
    SampleExport, SampleKey, deadline_passed, not_active_conflict, paused_details, paused_from_details,
};
use crate::store::{ApiKeyRecord, ScheduleKind};
use crate::{Error, Result};

const DELETION_COLUMNS: &str = "id, account_id, requested_by, requested_at, execute_after, status, completed_at, \
     cancelled_at, cancelled_by, details";

/// Columns of an exported sample: [`super::sql::LOAD_SAMPLES`]'s and the raw response.
const EXPORT_SAMPLE_COLUMNS: &str = "id, run_id, provider, model, prompt_index, repeat_index, status, attempt, \
     raw_answer, answer_sha256, served_model, request_id, finish_reason, input_tokens, output_tokens, latency_ms, \
     cost_nano_usd, error_class, error_message, completed_at, anonymized_at, redactions, raw_response";

fn deletion(row: &SqliteRow) -> Result<DeletionRecord> {
    let details: String = row.try_get("details")?;
    Ok(DeletionRecord {
        id: row.try_get("id")?,
        account_id: row.try_get::<Uuid, _>("account_id")?.into(),
        requested_by: row.try_get("requested_by")?,
        requested_at: from_ms(row.try_get("requested_at")?, "deletion_requests.requested_at")?,
        deadline: from_ms(row.try_get("execute_after")?, "deletion_requests.execute_after")?,
        status: DeletionStatus::parse(row.try_get("status")?)?,
        completed_at: from_opt_ms(row.try_get("completed_at")?, "deletion_requests.completed_at")?,
        cancelled_at: from_opt_ms(row.try_get("cancelled_at")?, "deletion_requests.cancelled_at")?,
        cancelled_by: row.try_get("cancelled_by")?,
        details: from_json(&details, "deletion_requests.details")?,
    })
}

/// `?, ?, ...` for `n` anonymous parameters.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Runs `DELETE ... WHERE <column> IN (ids)` and returns the rows deleted.
async fn delete_in(tx: &mut Transaction<'_, Sqlite>, table: &str, column: &str, ids: &[Uuid]) -> Result<u64> {
    let sql = format!("DELETE FROM {table} WHERE {column} IN ({})", placeholders(ids.len()));
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    Ok(q.execute(&mut **tx).await?.rows_affected())
}

async fn ids(tx: &mut Transaction<'_, Sqlite>, sql: &str, account: Uuid, limit: i64) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(sql)
        .bind(account)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
}

/// The rate-limit bucket names of an account and of one of its keys (`engine::quotas`).
fn account_bucket(account: Uuid) -> String {
    format!("account:{}", AccountId(account))
}

fn key_bucket(key: Uuid) -> String {
    format!("key:{}", ApiKeyId(key))
}

/// Deletes the next batch of the account's rows, children first; the counts of the first
/// step that found anything.
async fn erase_next(
    tx: &mut Transaction<'_, Sqlite>,
    account: Uuid,
    limit: i64,
) -> Result<BTreeMap<&'static str, u64>> {
    let mut deleted = BTreeMap::new();
    // Samples with their mentions and citations, found through the account's runs.
    let samples = ids(
        tx,
        "SELECT s.id FROM runs r JOIN samples s ON s.run_id = r.id WHERE r.account_id = ?1 LIMIT ?2",
        account,
        limit,
    )
    .await?;
    if !samples.is_empty() {
        deleted.insert("mentions", delete_in(tx, "mentions", "sample_id", &samples).await?);
        deleted.insert("citations", delete_in(tx, "citations", "sample_id", &samples).await?);
        deleted.insert("samples", delete_in(tx, "samples", "id", &samples).await?);
        return Ok(deleted);
    }
    // Runs (no samples left) with their dashboard rollups.
    let runs = ids(tx, "SELECT id FROM runs WHERE account_id = ?1 LIMIT ?2", account, limit).await?;
    if !runs.is_empty() {
        deleted.insert(
            "sample_rollups",
            delete_in(tx, "sample_rollups", "run_id", &runs).await?,
        );
        deleted.insert(
            "mention_rollups",
            delete_in(tx, "mention_rollups", "run_id", &runs).await?,
        );
        deleted.insert("runs", delete_in(tx, "runs", "id", &runs).await?);
        return Ok(deleted);
    }
    for (table, sql) in [
        (
            "reservations",
            "DELETE FROM reservations WHERE id IN (SELECT id FROM reservations WHERE account_id = ?1 LIMIT ?2)",
        ),
        (
            "quota_periods",
            "DELETE FROM quota_periods WHERE account_id = ?1 AND period_start IN \
             (SELECT period_start FROM quota_periods WHERE account_id = ?1 LIMIT ?2)",
        ),
        (
            "experiments",
            "DELETE FROM experiments WHERE id IN (SELECT id FROM experiments WHERE account_id = ?1 LIMIT ?2)",
        ),
    ] {
        let n = sqlx::query(sql)
            .bind(account)
            .bind(limit)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n > 0 {
            deleted.insert(table, n);
            return Ok(deleted);
        }
    }
    // Keys, with the rate-limit buckets named after them.
    let keys = ids(
        tx,
        "SELECT id FROM api_keys WHERE account_id = ?1 LIMIT ?2",
        account,
        limit,
    )
    .await?;
    if !keys.is_empty() {
        let buckets: Vec<String> = keys.iter().map(|k| key_bucket(*k)).collect();
        let sql = format!("DELETE FROM rate_limits WHERE key IN ({})", placeholders(buckets.len()));
        let mut q = sqlx::query(&sql);
        for b in &buckets {
            q = q.bind(b);
        }
        deleted.insert("rate_limits", q.execute(&mut **tx).await?.rows_affected());
        deleted.insert("api_keys", delete_in(tx, "api_keys", "id", &keys).await?);
        return Ok(deleted);
    }
    let n = sqlx::query("DELETE FROM rate_limits WHERE key = ?1")
        .bind(account_bucket(account))
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n > 0 {
        deleted.insert("rate_limits", n);
    }
    Ok(deleted)
}

/// Rows of the account left in each table of [`ERASED_TABLES`].
async fn remaining(tx: &mut Transaction<'_, Sqlite>, account: Uuid) -> Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for table in ERASED_TABLES {
        let n: i64 = match table {
            "accounts" => {
                sqlx::query_scalar("SELECT count(*) FROM accounts WHERE id = ?1")
                    .bind(account)
                    .fetch_one(&mut **tx)
                    .await?
            }
            "rate_limits" => {
                sqlx::query_scalar("SELECT count(*) FROM rate_limits WHERE key = ?1")
                    .bind(account_bucket(account))
                    .fetch_one(&mut **tx)
                    .await?
            }
            "mentions" | "citations" => {
                let sql = format!(
                    "SELECT count(*) FROM samples s JOIN {table} c ON c.sample_id = s.id WHERE s.account_id = ?1"
                );
                sqlx::query_scalar(&sql).bind(account).fetch_one(&mut **tx).await?
            }
            _ => {
                let sql = format!("SELECT count(*) FROM {table} WHERE account_id = ?1");
                sqlx::query_scalar(&sql).bind(account).fetch_one(&mut **tx).await?
            }
        };
        counts.insert(table.to_string(), u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

async fn add_progress(
    tx: &mut Transaction<'_, Sqlite>,
    request: Uuid,
    deleted: &BTreeMap<&'static str, u64>,
) -> Result<()> {
    for (table, n) in deleted {
        sqlx::query(
            "INSERT INTO erasure_progress (request_id, table_name, rows_deleted) VALUES (?1, ?2, ?3) \
             ON CONFLICT (request_id, table_name) DO UPDATE SET rows_deleted = rows_deleted + excluded.rows_deleted",
        )
        .bind(request)
        .bind(*table)
        .bind(i64::try_from(*n).unwrap_or(i64::MAX))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl GdprStore for SqliteStore {
    async fn account_state(&self, account: AccountId) -> Result<AccountState> {
        let row = sqlx::query(
            "SELECT id, name, external_id, tier, created_at, status, deletion_requested_at FROM accounts WHERE id = ?1",
        )
        .bind(account.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Err(Error::not_found("account", account));
        };
        Ok(AccountState {
            account: rows::account(&row)?,
            status: AccountStatus::from_stored(row.try_get("status")?)?,
            deletion_requested_at: from_opt_ms(
                row.try_get("deletion_requested_at")?,
                "accounts.deletion_requested_at",
            )?,
        })
    }

    async fn find_api_key_for_auth(&self, hash: &KeyHash) -> Result<Option<(ApiKeyRecord, AccountStatus)>> {
        // The lookup of FIND_API_KEY_BY_HASH plus the account's primary key: still one
        // indexed probe per table.
        let row = sqlx::query(
            "SELECT k.id AS id, k.account_id AS account_id, k.key_hash AS key_hash, k.prefix AS prefix, \
             k.name AS name, k.scopes AS scopes, k.created_at AS created_at, k.expires_at AS expires_at, \
             k.revoked_at AS revoked_at, k.last_used_at AS last_used_at, a.status AS account_status \
             FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = ?1",
        )
        .bind(hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                key_record(&row)?,
                AccountStatus::from_stored(row.try_get("account_status")?)?,
            ))
        })
        .transpose()
    }

    async fn begin_deletion(
        &self,
        new: &NewDeletion,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<DeletionStarted> {
        let account = new.account.0;
        let now = ms(new.now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM accounts WHERE id = ?1")
            .bind(account)
            .fetch_optional(&mut *tx)
            .await?;
        match status.as_deref().map(AccountStatus::from_stored).transpose()? {
            None => return Err(Error::not_found("account", new.account)),
            Some(AccountStatus::Active) => {}
            Some(other) => return Err(not_active_conflict(new.account, other)),
        }
        sqlx::query("UPDATE accounts SET status = 'deleting', deletion_requested_at = ?2 WHERE id = ?1")
            .bind(account)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let keys_revoked =
            sqlx::query("UPDATE api_keys SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL")
                .bind(account)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        // Pause the schedules: the columns are cleared (a schedule is all three or none) and
        // kept in the request's details for a cancellation to re-arm.
        let paused = sqlx::query("SELECT id, schedule_kind, schedule_expr FROM experiments WHERE account_id = ?1 AND schedule_kind IS NOT NULL")
            .bind(account)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| {
                Ok(PausedSchedule {
                    experiment_id: row.try_get::<Uuid, _>("id")?.into(),
                    kind: ScheduleKind::parse(row.try_get("schedule_kind")?)?,
                    expr: row.try_get::<Option<String>, _>("schedule_expr")?.unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        sqlx::query("UPDATE experiments SET schedule_kind = NULL, schedule_expr = NULL, next_run_at = NULL WHERE account_id = ?1 AND schedule_kind IS NOT NULL")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        let schedules_paused = paused.len() as u64;
        let details = paused_details(&paused);
        sqlx::query(
            "INSERT INTO deletion_requests (id, account_id, requested_by, requested_at, execute_after, status, details) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
        )
        .bind(new.id)
        .bind(account)
        .bind(&new.requested_by)
        .bind(now)
        .bind(ms(new.deadline))
        .bind(to_json(&details, "deletion details")?)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            map_db_error(
                e,
                || Error::Conflict(format!("a deletion of account {} is already pending", new.account)),
                || Error::Internal("deletion_requests has no foreign keys".into()),
            )
        })?;
        let unfinished: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM runs WHERE account_id = ?1 AND status IN ('pending', 'running')")
                .bind(account)
                .fetch_all(&mut *tx)
                .await?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(DeletionStarted {
            request: DeletionRecord {
                id: new.id,
                account_id: new.account,
                requested_by: new.requested_by.clone(),
                requested_at: new.now,
                deadline: new.deadline,
                status: DeletionStatus::Pending,
                completed_at: None,
                cancelled_at: None,
                cancelled_by: None,
                details,
            },
            keys_revoked,
            schedules_paused,
            unfinished_runs: unfinished.into_iter().map(RunId).collect(),
        })
    }

    async fn cancel_deletion(
        &self,
        account: AccountId,
        by: &str,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<DeletionCancelled> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(&format!(
            "SELECT {DELETION_COLUMNS} FROM deletion_requests WHERE account_id = ?1 AND status = 'pending'"
        ))
        .bind(account.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(Error::Conflict(format!(
                "no deletion is pending for account {account}; there is nothing to cancel"
            )));
        };
        let mut request = deletion(&row)?;
        if request.deadline <= now {
            return Err(deadline_passed(account, request.deadline));
        }
        sqlx::query(
            "UPDATE deletion_requests SET status = 'cancelled', cancelled_at = ?2, cancelled_by = ?3 \
             WHERE id = ?1 AND status = 'pending'",
        )
        .bind(request.id)
        .bind(ms(now))
        .bind(by)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE accounts SET status = 'active', deletion_requested_at = NULL WHERE id = ?1 AND status = 'deleting'",
        )
        .bind(account.0)
        .execute(&mut *tx)
        .await?;
        let paused = paused_from_details(&request.details)?;
        super::audit::append_opt(&mut tx, audit).await?;
        tx.commit().await?;
        request.status = DeletionStatus::Cancelled;
        request.cancelled_at = Some(now);
        request.cancelled_by = Some(by.to_string());
        Ok(DeletionCancelled {
            request,
            paused_schedules: paused,
        })
    }

    async fn deletion_requests(&self, account: AccountId) -> Result<Vec<DeletionRecord>> {
        sqlx::query(&format!(
            "SELECT {DELETION_COLUMNS} FROM deletion_requests WHERE account_id = ?1 ORDER BY requested_at DESC, id DESC"
        ))
        .bind(account.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(deletion)
        .collect()
    }

    async fn due_deletions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DeletionRecord>> {
        sqlx::query(&format!(
            "SELECT {DELETION_COLUMNS} FROM deletion_requests WHERE status = 'pending' AND execute_after <= ?1 \
             ORDER BY execute_after LIMIT ?2"
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(deletion)
        .collect()
    }

    async fn erase_batch(&self, request: Uuid, now: DateTime<Utc>, batch: u32) -> Result<ErasureBatch> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let account: Option<Uuid> = sqlx::query_scalar(
            "SELECT account_id FROM deletion_requests WHERE id = ?1 AND status = 'pending' AND execute_after <= ?2",
        )
        .bind(request)
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(account) = account else {
            return Ok(ErasureBatch::default());
        };
        let deleted = erase_next(&mut tx, account, i64::from(batch.max(1))).await?;
        add_progress(&mut tx, request, &deleted).await?;
        tx.commit().await?;
        Ok(ErasureBatch { deleted })
    }

    async fn finish_erasure(
        &self,
        request: Uuid,
        now: DateTime<Utc>,
        audit: Option<&crate::audit::AuditRecord>,
    ) -> Result<Option<ErasureReport>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(&format!(
            "SELECT {DELETION_COLUMNS} FROM deletion_requests WHERE id = ?1"
        ))
        .bind(request)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(Error::not_found("deletion request", request));
        };
        let record = deletion(&row)?;
        if record.status != DeletionStatus::Pending {
            return Ok(None);
        }
        if record.deadline > now {
            return Err(Error::Conflict(format!(
                "the erasure of account {} is not due before {}",
                record.account_id, record.deadline
            )));
        }
        let account = record.account_id.0;
        let before = remaining(&mut tx, account).await?;
        let left: Vec<String> = before
            .iter()
            .filter(|(table, n)| table.as_str() != "accounts" && **n > 0)
            .map(|(table, n)| format!("{table}: {n}"))
            .collect();
        if !left.is_empty() {
            return Err(Error::Internal(format!(
                "erasure of account {} cannot complete, rows remain ({}); the next pass erases them",
                record.account_id,
                left.join(", ")
            )));
        }
        let accounts = sqlx::query("DELETE FROM accounts WHERE id = ?1")
            .bind(account)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        add_progress(&mut tx, request, &BTreeMap::from([("accounts", accounts)])).await?;
        let remaining = remaining(&mut tx, account).await?;
        if remaining.values().any(|n| *n > 0) {
            return Err(Error::Internal(format!(
                "erasure of account {} left rows after deleting the account: {remaining:?}",
                record.account_id
            )));
        }
        let mut rows_deleted: BTreeMap<String, u64> = ERASED_TABLES.iter().map(|t| (t.to_string(), 0)).collect();
        for row in sqlx::query("SELECT table_name, rows_deleted FROM erasure_progress WHERE request_id = ?1")
            .bind(request)
            .fetch_all(&mut *tx)
            .await?
        {
            let n: i64 = row.try_get("rows_deleted")?;
            rows_deleted.insert(row.try_get("table_name")?, u64::try_from(n).unwrap_or(0));
        }
        let report = ErasureReport {
            request_id: request,
            account_id: record.account_id,
            requested_at: record.requested_at,
            erased_at: now,
            rows_deleted,
            remaining,
            retained: RETAINED_TABLES.iter().map(|t| t.to_string()).collect(),
        };
        sqlx::query(
            "UPDATE deletion_requests SET status = 'completed', completed_at = ?2, details = ?3 \
             WHERE id = ?1 AND status = 'pending'",
        )
        .bind(request)
        .bind(ms(now))
        .bind(to_json(&report, "erasure report")?)
        .execute(&mut *tx)
        .await?;
        if let Some(audit) = audit {
            let audit = audit
                .clone()
                .detail("rows_deleted", report.rows_deleted.values().sum::<u64>());
            super::audit::append(&mut tx, &audit).await?;
        }
        tx.commit().await?;
        Ok(Some(report))
    }

    async fn export_api_keys(&self, account: AccountId, after: Option<ApiKeyId>, limit: u32) -> Result<Vec<ApiKey>> {
        sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))
        .bind(account.0)
        .bind(after.map_or(Uuid::nil(), |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| key_record(row).map(|r| r.key))
        .collect()
    }

    async fn export_experiments(
        &self,
        account: AccountId,
        after: Option<ExperimentId>,
        limit: u32,
    ) -> Result<Vec<ExperimentExport>> {
        sqlx::query(&format!(
            "SELECT {EXPERIMENT_COLUMNS}, schedule_kind, schedule_expr, next_run_at FROM experiments \
             WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))
        .bind(account.0)
        .bind(after.map_or(Uuid::nil(), |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ExperimentExport {
                experiment: rows::experiment(row)?,
                schedule_kind: row
                    .try_get::<Option<String>, _>("schedule_kind")?
                    .as_deref()
                    .map(ScheduleKind::parse)
                    .transpose()?,
                schedule_expr: row.try_get("schedule_expr")?,
                next_run_at: from_opt_ms(row.try_get("next_run_at")?, "experiments.next_run_at")?,
            })
        })
        .collect()
    }

    async fn export_runs(&self, account: AccountId, after: Option<RunId>, limit: u32) -> Result<Vec<Run>> {
        sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))
        .bind(account.0)
        .bind(after.map_or(Uuid::nil(), |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::run)
        .collect()
    }

    async fn export_samples(
        &self,
        account: AccountId,
        run: RunId,
        after: Option<&SampleKey>,
        limit: u32,
    ) -> Result<Vec<SampleExport>> {
        // One read transaction: the samples and their facts come from the same snapshot.
        let mut tx = self.pool.begin().await?;
        let sample_rows = match after {
            None => {
                sqlx::query(&format!(
                    "SELECT {EXPORT_SAMPLE_COLUMNS} FROM samples WHERE run_id = ?1 AND account_id = ?2 \
                     ORDER BY provider, model, prompt_index, repeat_index LIMIT ?3"
                ))
                .bind(run.0)
                .bind(account.0)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?
            }
            Some(key) => {
                sqlx::query(&format!(
                    "SELECT {EXPORT_SAMPLE_COLUMNS} FROM samples WHERE run_id = ?1 AND account_id = ?2 \
                     AND (provider, model, prompt_index, repeat_index) > (?3, ?4, ?5, ?6) \
                     ORDER BY provider, model, prompt_index, repeat_index LIMIT ?7"
                ))
                .bind(run.0)
                .bind(account.0)
                .bind(&key.target.provider)
                .bind(&key.target.model)
                .bind(i64::from(key.prompt_index))
                .bind(i64::from(key.repeat_index))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?
            }
        };
        if sample_rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = sample_rows
            .iter()
            .map(|r| r.try_get::<Uuid, _>("id"))
            .collect::<std::result::Result<_, _>>()?;
        let mut mentions: HashMap<Uuid, Vec<Mention>> = HashMap::new();
        let sql = format!(
            "SELECT sample_id, brand, byte_offset, byte_len, count, rank, list_index FROM mentions \
             WHERE sample_id IN ({})",
            placeholders(ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *tx).await? {
            let (sample, mention) = rows::mention(&row)?;
            mentions.entry(sample).or_default().push(mention);
        }
        let mut citations: HashMap<Uuid, Vec<(i64, Citation)>> = HashMap::new();
        let sql = format!(
            "SELECT sample_id, position, url, domain, title, cited_text FROM citations WHERE sample_id IN ({})",
            placeholders(ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *tx).await? {
            let (sample, position, citation) = rows::citation(&row)?;
            citations.entry(sample).or_default().push((position, citation));
        }
        tx.commit().await?;
        sample_rows
            .iter()
            .map(|row| {
                let sample = rows::sample(row)?;
                let mut m = mentions.remove(&sample.id.0).unwrap_or_default();
                m.sort_by_key(|m| m.rank);
                let mut c = citations.remove(&sample.id.0).unwrap_or_default();
                c.sort_by_key(|(p, _)| *p);
                Ok(SampleExport {
                    raw_response: row.try_get("raw_response")?,
                    record: SampleRecord {
                        sample,
                        mentions: m,
                        citations: c.into_iter().map(|(_, c)| c).collect(),
                    },
                })
            })
            .collect()
    }
}
