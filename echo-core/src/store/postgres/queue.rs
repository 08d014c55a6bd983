//! The sample work queue: claim (lease), fenced completion, cancellation.
//!
//! Claims select their rows with `FOR UPDATE SKIP LOCKED` inside the UPDATE that leases
//! them: concurrent claimers lock disjoint rows without waiting for each other, and a row
//! that changed between a claimer's snapshot and its lock is re-checked against the WHERE
//! clause (PostgreSQL's re-evaluation under READ COMMITTED), so a sample is never handed to
//! two owners. Each claim step is one atomic statement, so no transaction spans them.
//!
//! Completion is fenced on `(status = 'leased', lease_owner, attempt)`: a worker whose lease
//! expired and was taken over has a stale attempt number and its late result is discarded.
//! A batch is one transaction of a few statements whatever its size: the outcomes of each
//! kind, the facts to delete and insert, and the dashboard rollup deltas are bound as arrays
//! and `UNNEST`ed. Samples that reach a final state are counted into the rollups in the same
//! transaction (or the same statement, for cancellation and exhausted leases).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, Postgres};
use uuid::Uuid;

use super::convert::{duration_ms, map_db_error, ms, opt_u64_to_i64, u32_to_i64, u64_to_i64};
use super::rows;
use super::sql::{
    CANCEL_PENDING, CLAIM_EXPIRED, CLAIM_PENDING_ANY_RUN, CLAIM_PENDING_FOR_RUN, COMPLETE_FAILED, COMPLETE_RETRY,
    COMPLETE_SUCCEEDED, DELETE_CITATIONS, DELETE_MENTIONS, FAIL_EXHAUSTED_LEASES, INSERT_CITATIONS, INSERT_MENTIONS,
    UPSERT_MENTION_ROLLUPS, UPSERT_SAMPLE_ROLLUPS,
};
use crate::model::{AccountId, RunId, SampleTask};
use crate::store::pool::MeteredPool;
use crate::store::rollup::{Rollup, RollupKey, day_of};
use crate::store::{ClaimRequest, SampleOutcome, usd_to_nanos};
use crate::{Error, Result};

pub(super) async fn claim(pool: &MeteredPool<Postgres>, request: &ClaimRequest<'_>) -> Result<Vec<SampleTask>> {
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
    let max_attempts = u32_to_i64(request.max_attempts);
    let limit = i64::from(request.limit);

    let mut conn = pool.acquire().await?;
    let exhausted: i64 = sqlx::query_scalar(FAIL_EXHAUSTED_LEASES)
        .bind(now)
        .bind(max_attempts)
        .bind(run)
        .bind(day_of(now))
        .fetch_one(&mut *conn)
        .await?;
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
        .bind(limit)
        .bind(max_attempts)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| rows::task(row, owner))
        .collect::<Result<Vec<_>>>()?;

    let remaining = limit - tasks.len() as i64;
    if remaining > 0 {
        let query = match run {
            Some(run) => sqlx::query(CLAIM_PENDING_FOR_RUN).bind(owner).bind(expires).bind(run),
            None => sqlx::query(CLAIM_PENDING_ANY_RUN).bind(owner).bind(expires),
        };
        for row in query.bind(remaining).fetch_all(&mut *conn).await? {
            tasks.push(rows::task(&row, owner)?);
        }
    }
    Ok(tasks)
}

/// A fence as the database returns it for an applied outcome.
type AppliedFence = (Uuid, String, i64);

/// What a completion statement returns per applied outcome: the fence, then the sample's
/// run, account, provider and model (the rollup key).
type AppliedRow = (Uuid, String, i64, Uuid, Uuid, String, String);

/// Where an applied sample's counts go.
struct Applied {
    run: Uuid,
    account: Uuid,
    provider: String,
    model: String,
}

/// The columns of one kind of outcome, bound as arrays.
#[derive(Default)]
struct FencedColumns {
    ids: Vec<Uuid>,
    owners: Vec<String>,
    attempts: Vec<i64>,
}

impl FencedColumns {
    fn push(&mut self, fence: &crate::store::Fence) {
        self.ids.push(fence.sample_id.0);
        self.owners.push(fence.owner.clone());
        self.attempts.push(u32_to_i64(fence.attempt));
    }
}

#[derive(Default)]
struct Successes {
    fences: FencedColumns,
    raw_answer: Vec<String>,
    answer_sha256: Vec<String>,
    served_model: Vec<Option<String>>,
    request_id: Vec<Option<String>>,
    finish_reason: Vec<Option<String>>,
    input_tokens: Vec<Option<i64>>,
    output_tokens: Vec<Option<i64>>,
    latency_ms: Vec<i64>,
    completed_at: Vec<i64>,
    cost_nano_usd: Vec<Option<i64>>,
    raw_response: Vec<Option<String>>,
    /// Redaction counts as JSON text (cast to jsonb in the statement).
    redactions: Vec<Option<String>>,
}

#[derive(Default)]
struct Failures {
    fences: FencedColumns,
    class: Vec<String>,
    message: Vec<String>,
    at: Vec<i64>,
}

impl Failures {
    fn push(&mut self, fence: &crate::store::Fence, class: &str, message: &str, at: DateTime<Utc>) {
        self.fences.push(fence);
        self.class.push(class.to_string());
        self.message.push(message.to_string());
        self.at.push(ms(at));
    }
}

pub(super) async fn complete(pool: &MeteredPool<Postgres>, outcomes: &[SampleOutcome]) -> Result<Vec<bool>> {
    if outcomes.is_empty() {
        return Ok(Vec::new());
    }
    // Outcomes are applied as if one by one, in order. A fence (sample, owner, attempt) can
    // hold only for the first outcome carrying it (any outcome moves the sample out of
    // `leased`), and of several fences of one sample at most one matches the row, so
    // sending each fence once -- its first outcome -- and applying the kinds in separate
    // statements gives exactly the sequential result. Sorting by id makes concurrent
    // batches lock shared rows in one order (no deadlock).
    let mut order: Vec<usize> = (0..outcomes.len()).collect();
    order.sort_by_key(|&i| outcomes[i].fence().sample_id.0);
    let mut seen: HashSet<(Uuid, &str, u32)> = HashSet::new();
    let mut first_of_fence = vec![false; outcomes.len()];
    for (i, outcome) in outcomes.iter().enumerate() {
        let f = outcome.fence();
        first_of_fence[i] = seen.insert((f.sample_id.0, f.owner.as_str(), f.attempt));
    }

    let mut ok = Successes::default();
    let mut failed = Failures::default();
    let mut retry = Failures::default();
    for &i in order.iter().filter(|&&i| first_of_fence[i]) {
        match &outcomes[i] {
            SampleOutcome::Succeeded(a) => {
                ok.fences.push(&a.fence);
                ok.raw_answer.push(a.raw_answer.clone());
                ok.answer_sha256.push(a.answer_sha256.clone());
                ok.served_model.push(a.served_model.clone());
                ok.request_id.push(a.request_id.clone());
                ok.finish_reason.push(a.finish_reason.clone());
                ok.input_tokens.push(opt_u64_to_i64(a.input_tokens, "input_tokens")?);
                ok.output_tokens.push(opt_u64_to_i64(a.output_tokens, "output_tokens")?);
                ok.latency_ms.push(u64_to_i64(a.latency_ms, "latency_ms")?);
                ok.completed_at.push(ms(a.completed_at));
                ok.cost_nano_usd.push(a.cost_usd.map(usd_to_nanos));
                ok.raw_response.push(a.raw_response.clone());
                ok.redactions.push(
                    a.redactions
                        .map(|r| serde_json::to_string(&r))
                        .transpose()
                        .map_err(|e| Error::Internal(format!("cannot serialize redactions: {e}")))?,
                );
            }
            SampleOutcome::Failed {
                fence,
                error_class,
                error_message,
                at,
            } => failed.push(fence, error_class, error_message, *at),
            SampleOutcome::Retry {
                fence,
                error_class,
                error_message,
                at,
            } => retry.push(fence, error_class, error_message, *at),
        }
    }

    let mut tx = pool.begin().await?;
    let mut applied: HashMap<AppliedFence, Applied> = HashMap::new();
    let mut collect = |rows: Vec<AppliedRow>| {
        for (id, owner, attempt, run, account, provider, model) in rows {
            let sample = Applied {
                run,
                account,
                provider,
                model,
            };
            applied.insert((id, owner, attempt), sample);
        }
    };
    if !ok.fences.ids.is_empty() {
        let rows: Vec<AppliedRow> = sqlx::query_as(COMPLETE_SUCCEEDED)
            .bind(&ok.fences.ids)
            .bind(&ok.fences.owners)
            .bind(&ok.fences.attempts)
            .bind(&ok.raw_answer)
            .bind(&ok.answer_sha256)
            .bind(&ok.served_model)
            .bind(&ok.request_id)
            .bind(&ok.finish_reason)
            .bind(&ok.input_tokens)
            .bind(&ok.output_tokens)
            .bind(&ok.latency_ms)
            .bind(&ok.completed_at)
            .bind(&ok.cost_nano_usd)
            .bind(&ok.raw_response)
            .bind(&ok.redactions)
            .fetch_all(&mut *tx)
            .await?;
        collect(rows);
    }
    for (sql, columns) in [(COMPLETE_FAILED, &failed), (COMPLETE_RETRY, &retry)] {
        if columns.fences.ids.is_empty() {
            continue;
        }
        let rows: Vec<AppliedRow> = sqlx::query_as(sql)
            .bind(&columns.fences.ids)
            .bind(&columns.fences.owners)
            .bind(&columns.fences.attempts)
            .bind(&columns.class)
            .bind(&columns.message)
            .bind(&columns.at)
            .fetch_all(&mut *tx)
            .await?;
        collect(rows);
    }

    let mut rollup = Rollup::default();
    let mut result = Vec::with_capacity(outcomes.len());
    for (i, outcome) in outcomes.iter().enumerate() {
        let f = outcome.fence();
        let sample = first_of_fence[i]
            .then(|| applied.get(&(f.sample_id.0, f.owner.clone(), u32_to_i64(f.attempt))))
            .flatten();
        result.push(sample.is_some());
        let Some(s) = sample else { continue };
        let key = |at: DateTime<Utc>| RollupKey {
            run: s.run,
            provider: s.provider.clone(),
            model: s.model.clone(),
            day: day_of(ms(at)),
        };
        match outcome {
            SampleOutcome::Succeeded(a) => rollup.answered(
                key(a.completed_at),
                s.account,
                a.cost_usd.map(usd_to_nanos),
                a.mentions.iter().map(|m| m.brand.as_str()),
            ),
            SampleOutcome::Failed { at, .. } => rollup.failed(key(*at), s.account),
            SampleOutcome::Retry { .. } => {}
        }
    }
    let successes = outcomes
        .iter()
        .zip(&result)
        .filter_map(|(o, &applied)| match (applied, o) {
            (true, SampleOutcome::Succeeded(a)) => Some(a),
            _ => None,
        });
    write_facts(&mut tx, successes).await?;
    write_rollup(&mut tx, &rollup).await?;
    tx.commit().await?;
    Ok(result)
}

/// Adds a batch's rollup deltas (keys in order, see [`crate::store::rollup`]).
async fn write_rollup(conn: &mut PgConnection, rollup: &Rollup) -> Result<()> {
    if rollup.is_empty() {
        return Ok(());
    }
    let rows = &rollup.samples;
    sqlx::query(UPSERT_SAMPLE_ROLLUPS)
        .bind(rows.keys().map(|k| k.run).collect::<Vec<_>>())
        .bind(rows.values().map(|d| d.account).collect::<Vec<_>>())
        .bind(rows.keys().map(|k| k.provider.as_str()).collect::<Vec<_>>())
        .bind(rows.keys().map(|k| k.model.as_str()).collect::<Vec<_>>())
        .bind(rows.keys().map(|k| k.day).collect::<Vec<_>>())
        .bind(rows.values().map(|d| d.answered).collect::<Vec<_>>())
        .bind(rows.values().map(|d| d.failed).collect::<Vec<_>>())
        .bind(rows.values().map(|d| d.cancelled).collect::<Vec<_>>())
        .bind(rows.values().map(|d| d.cost_nano_usd).collect::<Vec<_>>())
        .bind(rows.values().map(|d| d.priced).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    let brands = &rollup.mentions;
    if !brands.is_empty() {
        sqlx::query(UPSERT_MENTION_ROLLUPS)
            .bind(brands.keys().map(|(k, _)| k.run).collect::<Vec<_>>())
            .bind(brands.values().map(|(account, _)| *account).collect::<Vec<_>>())
            .bind(brands.keys().map(|(k, _)| k.provider.as_str()).collect::<Vec<_>>())
            .bind(brands.keys().map(|(k, _)| k.model.as_str()).collect::<Vec<_>>())
            .bind(brands.keys().map(|(k, _)| k.day).collect::<Vec<_>>())
            .bind(brands.keys().map(|(_, brand)| brand.as_str()).collect::<Vec<_>>())
            .bind(brands.values().map(|(_, n)| *n).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Replaces the mentions and citations of the applied successes: delete first, then insert,
/// so a sample's facts are exactly those of its accepted answer however often it arrives.
async fn write_facts<'a>(
    conn: &mut PgConnection,
    successes: impl Iterator<Item = &'a crate::store::AnsweredSample>,
) -> Result<()> {
    let mut samples = Vec::new();
    let mut m = MentionColumns::default();
    let mut c = CitationColumns::default();
    for a in successes {
        let id = a.fence.sample_id.0;
        samples.push(id);
        for mention in &a.mentions {
            m.sample_id.push(id);
            m.brand.push(mention.brand.as_str());
            m.offset.push(u32_to_i64(mention.offset));
            m.len.push(u32_to_i64(mention.len));
            m.count.push(u32_to_i64(mention.count));
            m.rank.push(u32_to_i64(mention.rank));
            m.list_index.push(mention.list_index.map(u32_to_i64));
        }
        for (position, citation) in a.citations.iter().enumerate() {
            c.sample_id.push(id);
            c.position.push(position as i64);
            c.url.push(citation.url.as_str());
            c.domain.push(citation.domain.as_str());
            c.title.push(citation.title.as_deref());
            c.cited_text.push(citation.cited_text.as_deref());
        }
    }
    if samples.is_empty() {
        return Ok(());
    }
    for sql in [DELETE_MENTIONS, DELETE_CITATIONS] {
        sqlx::query(sql).bind(&samples).execute(&mut *conn).await?;
    }
    if !m.sample_id.is_empty() {
        sqlx::query(INSERT_MENTIONS)
            .bind(&m.sample_id)
            .bind(&m.brand)
            .bind(&m.offset)
            .bind(&m.len)
            .bind(&m.count)
            .bind(&m.rank)
            .bind(&m.list_index)
            .execute(&mut *conn)
            .await
            .map_err(|e| fact_error(e, "mentions", "a brand appears twice"))?;
    }
    if !c.sample_id.is_empty() {
        sqlx::query(INSERT_CITATIONS)
            .bind(&c.sample_id)
            .bind(&c.position)
            .bind(&c.url)
            .bind(&c.domain)
            .bind(&c.title)
            .bind(&c.cited_text)
            .execute(&mut *conn)
            .await
            .map_err(|e| fact_error(e, "citations", "a position repeats"))?;
    }
    Ok(())
}

#[derive(Default)]
struct MentionColumns<'a> {
    sample_id: Vec<Uuid>,
    brand: Vec<&'a str>,
    offset: Vec<i64>,
    len: Vec<i64>,
    count: Vec<i64>,
    rank: Vec<i64>,
    list_index: Vec<Option<i64>>,
}

#[derive(Default)]
struct CitationColumns<'a> {
    sample_id: Vec<Uuid>,
    position: Vec<i64>,
    url: Vec<&'a str>,
    domain: Vec<&'a str>,
    title: Vec<Option<&'a str>>,
    cited_text: Vec<Option<&'a str>>,
}

fn fact_error(e: sqlx::Error, field: &'static str, what: &str) -> Error {
    map_db_error(
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

/// Marks the run's pending samples cancelled; the caller tells "none pending" from "not
/// visible".
pub(super) async fn cancel_pending(
    pool: &MeteredPool<Postgres>,
    account: AccountId,
    run: RunId,
    now: DateTime<Utc>,
) -> Result<u64> {
    let cancelled: i64 = sqlx::query_scalar(CANCEL_PENDING)
        .bind(account.0)
        .bind(run.0)
        .bind(ms(now))
        .bind(day_of(ms(now)))
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(cancelled).unwrap_or(0))
}
