//! Decoding rows into model types. Column names match the SELECT lists in [`super::sql`]
//! and in the backend modules.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::convert::{from_json, from_ms, from_opt_ms, i64_to_u32, i64_to_u64, seed_from_i64};
use crate::Result;
use crate::model::{Account, Citation, Experiment, Mention, Run, RunStatus, Sample, SampleStatus, SampleTask, Target};
use crate::store::nanos_to_usd;

fn opt_u64(row: &SqliteRow, column: &str) -> Result<Option<u64>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|v| i64_to_u64(v, column))
        .transpose()
}

fn u32_col(row: &SqliteRow, column: &str) -> Result<u32> {
    i64_to_u32(row.try_get(column)?, column)
}

/// `SELECT id, name, external_id, tier, created_at FROM accounts`.
pub(super) fn account(row: &SqliteRow) -> Result<Account> {
    Ok(Account {
        id: row.try_get::<Uuid, _>("id")?.into(),
        name: row.try_get("name")?,
        external_id: row.try_get("external_id")?,
        tier: row.try_get("tier")?,
        created_at: from_ms(row.try_get("created_at")?, "accounts.created_at")?,
    })
}

/// [`super::sql::EXPERIMENT_COLUMNS`].
pub(super) fn experiment(row: &SqliteRow) -> Result<Experiment> {
    Ok(Experiment {
        id: row.try_get::<Uuid, _>("id")?.into(),
        account_id: row.try_get::<Uuid, _>("account_id")?.into(),
        spec: from_json(row.try_get("spec")?, "experiments.spec")?,
        created_at: from_ms(row.try_get("created_at")?, "experiments.created_at")?,
        updated_at: from_ms(row.try_get("updated_at")?, "experiments.updated_at")?,
    })
}

/// [`super::sql::RUN_COLUMNS`].
pub(super) fn run(row: &SqliteRow) -> Result<Run> {
    Ok(Run {
        id: row.try_get::<Uuid, _>("id")?.into(),
        account_id: row.try_get::<Uuid, _>("account_id")?.into(),
        experiment_id: row.try_get::<Uuid, _>("experiment_id")?.into(),
        spec: from_json(row.try_get("spec")?, "runs.spec")?,
        status: RunStatus::parse(row.try_get("status")?)?,
        planned_samples: i64_to_u64(row.try_get("planned_samples")?, "runs.planned_samples")?,
        seed: seed_from_i64(row.try_get("seed")?),
        created_at: from_ms(row.try_get("created_at")?, "runs.created_at")?,
        started_at: from_opt_ms(row.try_get("started_at")?, "runs.started_at")?,
        finished_at: from_opt_ms(row.try_get("finished_at")?, "runs.finished_at")?,
        adaptive: row
            .try_get::<Option<&str>, _>("adaptive")?
            .map(|text| from_json(text, "runs.adaptive"))
            .transpose()?,
        correlation_id: row.try_get("correlation_id")?,
    })
}

/// The `RETURNING` list of the claim statements; `owner` is the claimer.
pub(super) fn task(row: &SqliteRow, owner: &str) -> Result<SampleTask> {
    Ok(SampleTask {
        id: row.try_get::<Uuid, _>("id")?.into(),
        run_id: row.try_get::<Uuid, _>("run_id")?.into(),
        account_id: row.try_get::<Uuid, _>("account_id")?.into(),
        target: Target {
            provider: row.try_get("provider")?,
            model: row.try_get("model")?,
        },
        prompt_index: u32_col(row, "prompt_index")?,
        repeat_index: u32_col(row, "repeat_index")?,
        attempt: u32_col(row, "attempt")?,
        lease_owner: owner.to_string(),
    })
}

/// [`super::sql::LOAD_SAMPLES`].
pub(super) fn sample(row: &SqliteRow) -> Result<Sample> {
    Ok(Sample {
        id: row.try_get::<Uuid, _>("id")?.into(),
        run_id: row.try_get::<Uuid, _>("run_id")?.into(),
        target: Target {
            provider: row.try_get("provider")?,
            model: row.try_get("model")?,
        },
        prompt_index: u32_col(row, "prompt_index")?,
        repeat_index: u32_col(row, "repeat_index")?,
        status: SampleStatus::parse(row.try_get("status")?)?,
        attempt: u32_col(row, "attempt")?,
        raw_answer: row.try_get("raw_answer")?,
        answer_sha256: row.try_get("answer_sha256")?,
        served_model: row.try_get("served_model")?,
        request_id: row.try_get("request_id")?,
        finish_reason: row.try_get("finish_reason")?,
        input_tokens: opt_u64(row, "input_tokens")?,
        output_tokens: opt_u64(row, "output_tokens")?,
        latency_ms: opt_u64(row, "latency_ms")?,
        cost_usd: row.try_get::<Option<i64>, _>("cost_nano_usd")?.map(nanos_to_usd),
        error_class: row.try_get("error_class")?,
        error_message: row.try_get("error_message")?,
        completed_at: from_opt_ms(row.try_get("completed_at")?, "samples.completed_at")?,
        anonymized_at: from_opt_ms(row.try_get("anonymized_at")?, "samples.anonymized_at")?,
        redactions: row
            .try_get::<Option<String>, _>("redactions")?
            .map(|j| from_json(&j, "samples.redactions"))
            .transpose()?,
    })
}

/// [`super::sql::LOAD_MENTIONS`]: the sample id and the mention.
pub(super) fn mention(row: &SqliteRow) -> Result<(Uuid, Mention)> {
    let list_index: Option<i64> = row.try_get("list_index")?;
    Ok((
        row.try_get("sample_id")?,
        Mention {
            brand: row.try_get("brand")?,
            offset: u32_col(row, "byte_offset")?,
            len: u32_col(row, "byte_len")?,
            count: u32_col(row, "count")?,
            rank: u32_col(row, "rank")?,
            list_index: list_index.map(|v| i64_to_u32(v, "mentions.list_index")).transpose()?,
        },
    ))
}

/// [`super::sql::LOAD_CITATIONS`]: the sample id, the position and the citation.
pub(super) fn citation(row: &SqliteRow) -> Result<(Uuid, i64, Citation)> {
    Ok((
        row.try_get("sample_id")?,
        row.try_get("position")?,
        Citation {
            url: row.try_get("url")?,
            domain: row.try_get("domain")?,
            title: row.try_get("title")?,
            cited_text: row.try_get("cited_text")?,
        },
    ))
}
