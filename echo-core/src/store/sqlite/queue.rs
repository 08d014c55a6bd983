//! The sample work queue: claim (lease), fenced completion, cancellation.
//!
//! SQLite has one writer at a time, so a claim is made atomic simply by running it under
//! `BEGIN IMMEDIATE`: no other connection can claim between our SELECT of candidates and
//! our UPDATE of them (both are one `UPDATE … WHERE rowid IN (SELECT …) RETURNING`
//! statement anyway). Completion is fenced on `(status = 'leased', lease_owner, attempt)`:
//! a worker whose lease expired and was taken over has a stale attempt number and its late
//! result is discarded.

use chrono::{DateTime, Utc};
use sqlx::Sqlite;
use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;

use super::convert::{duration_ms, ms, opt_u64_to_i64, to_json, u64_to_i64};
use super::rows;
use super::sql::{
    CANCEL_PENDING, CITATION_INSERT_COLUMNS, CITATION_INSERT_WIDTH, CLAIM_EXPIRED, CLAIM_PENDING_ANY_RUN,
    CLAIM_PENDING_FOR_RUN, COMPLETE_FAILED, COMPLETE_RETRY, COMPLETE_SUCCEEDED, FAIL_EXHAUSTED_LEASES,
    MENTION_INSERT_COLUMNS, MENTION_INSERT_WIDTH, MENTION_ROLLUP_UPSERT, MENTION_ROLLUP_WIDTH, ROLLUP_CANCEL_PENDING,
    ROLLUP_EXHAUSTED_LEASES, SAMPLE_ROLLUP_UPSERT, SAMPLE_ROLLUP_WIDTH, in_list, multi_row, pow2_chunks,
};
use crate::model::{AccountId, Citation, Mention, RunId, SampleTask};
use crate::store::pool::MeteredPool;
use crate::store::rollup::{Rollup, RollupKey, day_of};
use crate::store::usd_to_nanos;
use crate::store::{ClaimRequest, SampleOutcome};
use crate::{Error, Result};

/// Largest multi-row statement for mentions, citations and id lists (a power of two whose
/// parameters stay far below SQLite's limit: 512 × 7 = 3,584).
const FACT_CHUNK_ROWS: usize = 512;

pub(super) async fn claim(pool: &MeteredPool<Sqlite>, request: &ClaimRequest<'_>) -> Result<Vec<SampleTask>> {
    if request.owner.trim().is_empty() {
        return Err(Error::invalid(
            "claim.owner",
            "must not be blank; use a unique id per worker",
        ));
    }
    if request.max_attempts == 0 {
        return Err(Error::invalid("claim.max_attempts", "must be at least 1"));
    }
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let now = ms(request.now);
    let expires = now.saturating_add(duration_ms(request.lease));
    let run = request.run_id.map(|r| r.0);
    let owner = request.owner;

    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // Count what step 1 is about to fail (same predicate, same write transaction).
    sqlx::query(ROLLUP_EXHAUSTED_LEASES)
        .bind(now)
        .bind(request.max_attempts)
        .bind(run)
        .bind(day_of(now))
        .execute(&mut *tx)
        .await?;
    let exhausted = sqlx::query(FAIL_EXHAUSTED_LEASES)
        .bind(now)
        .bind(request.max_attempts)
        .bind(run)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if exhausted > 0 {
        tracing::warn!(
            samples = exhausted,
            max_attempts = request.max_attempts,
            "leases expired on their last attempt"
        );
    }

    let mut tasks = sqlx::query(CLAIM_EXPIRED)
        .bind(owner)
        .bind(expires)
        .bind(now)
        .bind(run)
        .bind(request.limit)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| rows::task(row, owner))
        .collect::<Result<Vec<_>>>()?;

    let remaining = request.limit as usize - tasks.len().min(request.limit as usize);
    if remaining > 0 {
        let query = match run {
            Some(run) => sqlx::query(CLAIM_PENDING_FOR_RUN).bind(owner).bind(expires).bind(run),
            None => sqlx::query(CLAIM_PENDING_ANY_RUN).bind(owner).bind(expires),
        };
        for row in query.bind(remaining as i64).fetch_all(&mut *tx).await? {
            tasks.push(rows::task(&row, owner)?);
        }
    }
    tx.commit().await?;
    Ok(tasks)
}

/// What an applied success leaves to write after the sample rows: its facts.
#[derive(Default)]
struct Facts<'a> {
    samples: Vec<Uuid>,
    mentions: Vec<(Uuid, &'a Mention)>,
    citations: Vec<(Uuid, i64, &'a Citation)>,
}

pub(super) async fn complete(pool: &MeteredPool<Sqlite>, outcomes: &[SampleOutcome]) -> Result<Vec<bool>> {
    if outcomes.is_empty() {
        return Ok(Vec::new());
    }
    let mut applied = Vec::with_capacity(outcomes.len());
    let mut facts = Facts::default();
    let mut rollup = Rollup::default();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for outcome in outcomes {
        let fence = outcome.fence();
        // The applied sample's (run, account, provider, model); None when the fence failed.
        let changed: Option<(Uuid, Uuid, String, String)> = match outcome {
            SampleOutcome::Succeeded(a) => {
                sqlx::query_as(COMPLETE_SUCCEEDED)
                    .bind(&a.raw_answer)
                    .bind(&a.answer_sha256)
                    .bind(&a.served_model)
                    .bind(&a.request_id)
                    .bind(&a.finish_reason)
                    .bind(opt_u64_to_i64(a.input_tokens, "input_tokens")?)
                    .bind(opt_u64_to_i64(a.output_tokens, "output_tokens")?)
                    .bind(u64_to_i64(a.latency_ms, "latency_ms")?)
                    .bind(ms(a.completed_at))
                    .bind(fence.sample_id.0)
                    .bind(&fence.owner)
                    .bind(fence.attempt)
                    .bind(a.cost_usd.map(usd_to_nanos))
                    .bind(&a.raw_response)
                    .bind(a.redactions.map(|r| to_json(&r, "redactions")).transpose()?)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            SampleOutcome::Failed {
                error_class,
                error_message,
                at,
                ..
            } => {
                sqlx::query_as(COMPLETE_FAILED)
                    .bind(error_class)
                    .bind(error_message)
                    .bind(ms(*at))
                    .bind(fence.sample_id.0)
                    .bind(&fence.owner)
                    .bind(fence.attempt)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            SampleOutcome::Retry {
                error_class,
                error_message,
                at,
                ..
            } => {
                sqlx::query_as(COMPLETE_RETRY)
                    .bind(error_class)
                    .bind(error_message)
                    .bind(ms(*at))
                    .bind(fence.sample_id.0)
                    .bind(&fence.owner)
                    .bind(fence.attempt)
                    .fetch_optional(&mut *tx)
                    .await?
            }
        };
        let ok = changed.is_some();
        if let Some((run, account, provider, model)) = changed {
            let key = |at: DateTime<Utc>| RollupKey {
                run,
                provider: provider.clone(),
                model: model.clone(),
                day: day_of(ms(at)),
            };
            match outcome {
                SampleOutcome::Succeeded(a) => rollup.answered(
                    key(a.completed_at),
                    account,
                    a.cost_usd.map(usd_to_nanos),
                    a.mentions.iter().map(|m| m.brand.as_str()),
                ),
                SampleOutcome::Failed { at, .. } => rollup.failed(key(*at), account),
                SampleOutcome::Retry { .. } => {}
            }
        }
        if let (true, SampleOutcome::Succeeded(a)) = (ok, outcome) {
            let id = fence.sample_id.0;
            facts.samples.push(id);
            facts.mentions.extend(a.mentions.iter().map(|m| (id, m)));
            facts
                .citations
                .extend(a.citations.iter().enumerate().map(|(i, c)| (id, i as i64, c)));
        }
        applied.push(ok);
    }
    write_facts(&mut tx, &facts).await?;
    write_rollup(&mut tx, &rollup).await?;
    tx.commit().await?;
    Ok(applied)
}

/// Adds a batch's rollup deltas in multi-row upserts, keys in order (see
/// [`crate::store::rollup`]).
async fn write_rollup(conn: &mut SqliteConnection, rollup: &Rollup) -> Result<()> {
    let rows: Vec<_> = rollup.samples.iter().collect();
    let mut rest = rows.as_slice();
    for n in pow2_chunks(rest.len(), FACT_CHUNK_ROWS) {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let (head, conflict) = SAMPLE_ROLLUP_UPSERT;
        let sql = format!("{}{conflict}", multi_row(head, n, SAMPLE_ROLLUP_WIDTH));
        let mut query = sqlx::query(&sql);
        for (k, d) in chunk {
            query = query
                .bind(k.run)
                .bind(d.account)
                .bind(&k.provider)
                .bind(&k.model)
                .bind(k.day)
                .bind(d.answered)
                .bind(d.failed)
                .bind(d.cancelled)
                .bind(d.cost_nano_usd)
                .bind(d.priced);
        }
        query.execute(&mut *conn).await?;
    }
    let brands: Vec<_> = rollup.mentions.iter().collect();
    let mut rest = brands.as_slice();
    for n in pow2_chunks(rest.len(), FACT_CHUNK_ROWS) {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let (head, conflict) = MENTION_ROLLUP_UPSERT;
        let sql = format!("{}{conflict}", multi_row(head, n, MENTION_ROLLUP_WIDTH));
        let mut query = sqlx::query(&sql);
        for ((k, brand), (account, samples)) in chunk {
            query = query
                .bind(k.run)
                .bind(*account)
                .bind(&k.provider)
                .bind(&k.model)
                .bind(k.day)
                .bind(brand)
                .bind(*samples);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Replaces the mentions and citations of the applied successes: delete first, then insert,
/// so a sample's facts are exactly those of its accepted answer however often it arrives.
/// Batched into multi-row statements of power-of-two sizes (see [`pow2_chunks`]).
async fn write_facts(conn: &mut SqliteConnection, facts: &Facts<'_>) -> Result<()> {
    for table in ["mentions", "citations"] {
        let mut rest = facts.samples.as_slice();
        for n in pow2_chunks(rest.len(), FACT_CHUNK_ROWS) {
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let sql = in_list(&format!("DELETE FROM {table} WHERE sample_id IN "), n);
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *conn).await?;
        }
    }

    let mut rest = facts.mentions.as_slice();
    for n in pow2_chunks(rest.len(), FACT_CHUNK_ROWS) {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let sql = multi_row(MENTION_INSERT_COLUMNS, n, MENTION_INSERT_WIDTH);
        let mut query = sqlx::query(&sql);
        for (id, m) in chunk {
            query = query
                .bind(*id)
                .bind(&m.brand)
                .bind(m.offset)
                .bind(m.len)
                .bind(m.count)
                .bind(m.rank)
                .bind(m.list_index);
        }
        query
            .execute(&mut *conn)
            .await
            .map_err(|e| fact_error(e, "mentions", "a brand appears twice"))?;
    }

    let mut rest = facts.citations.as_slice();
    for n in pow2_chunks(rest.len(), FACT_CHUNK_ROWS) {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let sql = multi_row(CITATION_INSERT_COLUMNS, n, CITATION_INSERT_WIDTH);
        let mut query = sqlx::query(&sql);
        for (id, position, c) in chunk {
            query = query
                .bind(*id)
                .bind(*position)
                .bind(&c.url)
                .bind(&c.domain)
                .bind(&c.title)
                .bind(&c.cited_text);
        }
        query
            .execute(&mut *conn)
            .await
            .map_err(|e| fact_error(e, "citations", "a position repeats"))?;
    }
    Ok(())
}

fn fact_error(e: sqlx::Error, field: &'static str, what: &str) -> Error {
    super::convert::map_db_error(
        e,
        || {
            Error::invalid(
                field,
                format!("{what} within one answer; merge duplicates (one mention per brand) before completing"),
            )
        },
        || {
            Error::Internal(format!(
                "{field} insert violated a foreign key inside its own transaction"
            ))
        },
    )
}

pub(super) async fn cancel_pending(
    pool: &MeteredPool<Sqlite>,
    account: AccountId,
    run: RunId,
    now: DateTime<Utc>,
) -> Result<u64> {
    // Counted into the rollups first, under the same write lock, with the same predicate.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(ROLLUP_CANCEL_PENDING)
        .bind(account.0)
        .bind(run.0)
        .bind(day_of(ms(now)))
        .execute(&mut *tx)
        .await?;
    let cancelled = sqlx::query(CANCEL_PENDING)
        .bind(account.0)
        .bind(run.0)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    if cancelled == 0 {
        // Nothing pending, or not this account's run: only the latter is an error.
        let visible = sqlx::query("SELECT 1 FROM runs WHERE id = ?1 AND account_id = ?2")
            .bind(run.0)
            .bind(account.0)
            .fetch_optional(pool)
            .await?;
        if visible.is_none() {
            return Err(Error::not_found("run", run));
        }
    }
    Ok(cancelled)
}
