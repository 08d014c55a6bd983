//! Reading a run's samples: counts by status, and the full records reports are computed from.

use std::collections::HashMap;

use sqlx::postgres::Postgres;
use uuid::Uuid;

use super::rows;
use super::sql::{LOAD_CITATIONS, LOAD_MENTIONS, LOAD_SAMPLES, SAMPLE_COUNTS};
use crate::model::{AccountId, Citation, Mention, RunId, SampleCounts, SampleRecord, SampleStatus};
use crate::store::pool::MeteredPool;
use crate::{Error, Result};

pub(super) async fn counts(pool: &MeteredPool<Postgres>, account: AccountId, run: RunId) -> Result<SampleCounts> {
    let groups: Vec<(Option<String>, i64)> = sqlx::query_as(SAMPLE_COUNTS)
        .bind(account.0)
        .bind(run.0)
        .fetch_all(pool)
        .await?;
    if groups.is_empty() {
        return Err(Error::not_found("run", run));
    }
    let mut counts = SampleCounts::default();
    for (status, n) in groups {
        // A NULL status is the LEFT JOIN's row for a run without samples.
        let Some(status) = status else { continue };
        let n = u64::try_from(n).unwrap_or(0);
        match SampleStatus::parse(&status)? {
            SampleStatus::Pending => counts.pending = n,
            SampleStatus::Leased => counts.leased = n,
            SampleStatus::Succeeded => counts.succeeded = n,
            SampleStatus::Failed => counts.failed = n,
            SampleStatus::Cancelled => counts.cancelled = n,
        }
    }
    Ok(counts)
}

pub(super) async fn load(pool: &MeteredPool<Postgres>, account: AccountId, run: RunId) -> Result<Vec<SampleRecord>> {
    // One REPEATABLE READ transaction: samples, mentions and citations come from the same
    // snapshot even while workers keep completing samples of the run.
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let visible = sqlx::query("SELECT 1 FROM runs WHERE id = $1 AND account_id = $2")
        .bind(run.0)
        .bind(account.0)
        .fetch_optional(&mut *tx)
        .await?;
    if visible.is_none() {
        return Err(Error::not_found("run", run));
    }

    let mut mentions: HashMap<Uuid, Vec<Mention>> = HashMap::new();
    for row in sqlx::query(LOAD_MENTIONS)
        .bind(account.0)
        .bind(run.0)
        .fetch_all(&mut *tx)
        .await?
    {
        let (sample, mention) = rows::mention(&row)?;
        mentions.entry(sample).or_default().push(mention);
    }
    let mut citations: HashMap<Uuid, Vec<(i64, Citation)>> = HashMap::new();
    for row in sqlx::query(LOAD_CITATIONS)
        .bind(account.0)
        .bind(run.0)
        .fetch_all(&mut *tx)
        .await?
    {
        let (sample, position, citation) = rows::citation(&row)?;
        citations.entry(sample).or_default().push((position, citation));
    }

    let sample_rows = sqlx::query(LOAD_SAMPLES)
        .bind(account.0)
        .bind(run.0)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;

    let mut records = Vec::with_capacity(sample_rows.len());
    for row in &sample_rows {
        let sample = rows::sample(row)?;
        let mut sample_mentions = mentions.remove(&sample.id.0).unwrap_or_default();
        sample_mentions.sort_by_key(|m| m.rank);
        let mut sample_citations = citations.remove(&sample.id.0).unwrap_or_default();
        sample_citations.sort_by_key(|(position, _)| *position);
        records.push(SampleRecord {
            sample,
            mentions: sample_mentions,
            citations: sample_citations.into_iter().map(|(_, c)| c).collect(),
        });
    }
    Ok(records)
}
