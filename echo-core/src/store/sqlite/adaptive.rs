//! Adaptive runs on SQLite: a target's progress in one statement, and the append of a wave
//! as a compare-and-set inside one `BEGIN IMMEDIATE` transaction (SQLite has one writer at
//! a time, so the check and the insert see and change the same state).

use super::SqliteStore;
use super::convert::{i64_to_u64, map_db_error, ms};
use super::sql::{MAX_BOUND_PARAMETERS, multi_row, pow2_chunks};
use crate::model::{AccountId, RunId, RunStatus, Target};
use crate::store::{AdaptiveStore, RunProgress, TargetProgress, Wave};
use crate::{Error, Result};

/// The run's status, then per target its open samples (queue), its finished samples
/// (`sample_rollups`) and per brand the answers naming it (`mention_rollups`): one
/// statement, so one snapshot. `?1` account, `?2` run. Indexes: primary keys of `runs` and
/// of both rollups (leading `run_id`), `samples_by_run_status` for the open samples.
const RUN_PROGRESS: &str = "\
    SELECT 'run' AS kind, NULL AS provider, NULL AS model, status AS brand, 0 AS a, 0 AS b, 0 AS c \
      FROM runs WHERE id = ?2 AND account_id = ?1 \
    UNION ALL \
    SELECT 'open', provider, model, NULL, count(*), 0, 0 FROM samples \
      WHERE run_id = ?2 AND +account_id = ?1 AND status IN ('pending', 'leased') GROUP BY provider, model \
    UNION ALL \
    SELECT 'done', provider, model, NULL, sum(answered), sum(failed), sum(cancelled) FROM sample_rollups \
      WHERE run_id = ?2 AND account_id = ?1 GROUP BY provider, model \
    UNION ALL \
    SELECT 'brand', provider, model, brand, sum(samples), 0, 0 FROM mention_rollups \
      WHERE run_id = ?2 AND account_id = ?1 GROUP BY provider, model, brand";

/// The run's status, for the append's check. `?1` account, `?2` run.
const RUN_STATUS: &str = "SELECT status FROM runs WHERE id = ?2 AND account_id = ?1";

/// A target's samples and how many are open. `?1` run, `?2` provider, `?3` model.
/// Index: the natural-key unique index `(run_id, provider, model, ...)`.
const TARGET_SAMPLES: &str = "SELECT count(*), coalesce(sum(status IN ('pending', 'leased')), 0) \
     FROM samples WHERE run_id = ?1 AND provider = ?2 AND model = ?3";

const WAVE_INSERT_COLUMNS: &str =
    "INSERT INTO samples (id, run_id, account_id, provider, model, prompt_index, repeat_index, created_at) VALUES ";
const WAVE_INSERT_WIDTH: usize = 8;

/// Rows per multi-row INSERT (as the enqueue's): the largest power of two that fits.
const WAVE_CHUNK_ROWS: usize = {
    let mut rows = 1;
    while rows * 2 * WAVE_INSERT_WIDTH <= MAX_BOUND_PARAMETERS {
        rows *= 2;
    }
    rows
};

pub(crate) type ProgressRow = (String, Option<String>, Option<String>, Option<String>, i64, i64, i64);

/// Folds the rows of a progress statement (shared with PostgreSQL, which returns the same
/// columns) into the run's progress. NotFound when no `run` row came back.
pub(crate) fn fold_progress(run: RunId, rows: Vec<ProgressRow>) -> Result<RunProgress> {
    let mut status = None;
    let mut targets: Vec<TargetProgress> = Vec::new();
    for (kind, provider, model, text, a, b, c) in rows {
        if kind == "run" {
            let text = text.ok_or_else(|| Error::Internal("run progress without a status".into()))?;
            status = Some(RunStatus::parse(&text)?);
            continue;
        }
        let target = Target {
            provider: provider.unwrap_or_default(),
            model: model.unwrap_or_default(),
        };
        let i = match targets.iter().position(|t| t.target == target) {
            Some(i) => i,
            None => {
                targets.push(TargetProgress::new(target));
                targets.len() - 1
            }
        };
        let t = &mut targets[i];
        match kind.as_str() {
            "open" => t.open = i64_to_u64(a, "open samples")?,
            "done" => {
                t.answered = i64_to_u64(a, "sample_rollups.answered")?;
                t.failed = i64_to_u64(b, "sample_rollups.failed")?;
                t.cancelled = i64_to_u64(c, "sample_rollups.cancelled")?;
            }
            "brand" => {
                let brand = text.ok_or_else(|| Error::Internal("mention rollup without a brand".into()))?;
                t.brands.push((brand, i64_to_u64(a, "mention_rollups.samples")?));
            }
            other => return Err(Error::Internal(format!("unknown progress row {other:?}"))),
        }
    }
    let status = status.ok_or_else(|| Error::not_found("run", run))?;
    for t in &mut targets {
        t.brands.sort();
    }
    targets.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(RunProgress { status, targets })
}

#[async_trait::async_trait]
impl AdaptiveStore for SqliteStore {
    async fn run_progress(&self, account: AccountId, run: RunId) -> Result<RunProgress> {
        let rows: Vec<ProgressRow> = sqlx::query_as(RUN_PROGRESS)
            .bind(account.0)
            .bind(run.0)
            .fetch_all(&self.pool)
            .await?;
        fold_progress(run, rows)
    }

    async fn append_wave(&self, account: AccountId, run: RunId, wave: &Wave) -> Result<u64> {
        if let Some(s) = wave.samples.iter().find(|s| s.target != wave.target) {
            return Err(Error::invalid(
                "wave.samples",
                format!("sample of {} in a wave of {}", s.target, wave.target),
            ));
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let status: Option<(String,)> = sqlx::query_as(RUN_STATUS)
            .bind(account.0)
            .bind(run.0)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((status,)) = status else {
            return Err(Error::not_found("run", run));
        };
        if RunStatus::parse(&status)?.is_terminal() {
            return Ok(0);
        }
        let (enqueued, open): (i64, i64) = sqlx::query_as(TARGET_SAMPLES)
            .bind(run.0)
            .bind(&wave.target.provider)
            .bind(&wave.target.model)
            .fetch_one(&mut *tx)
            .await?;
        if open != 0 || i64_to_u64(enqueued, "samples")? != wave.expected_enqueued {
            return Ok(0);
        }
        let created_at = ms(wave.now);
        let mut inserted = 0;
        let mut rest = wave.samples.as_slice();
        for rows in pow2_chunks(rest.len(), WAVE_CHUNK_ROWS) {
            let (chunk, tail) = rest.split_at(rows);
            rest = tail;
            let sql = format!(
                "{} ON CONFLICT DO NOTHING",
                multi_row(WAVE_INSERT_COLUMNS, rows, WAVE_INSERT_WIDTH)
            );
            let mut query = sqlx::query(&sql);
            for s in chunk {
                query = query
                    .bind(s.id.0)
                    .bind(run.0)
                    .bind(account.0)
                    .bind(&s.target.provider)
                    .bind(&s.target.model)
                    .bind(s.prompt_index)
                    .bind(s.repeat_index)
                    .bind(created_at);
            }
            inserted += query
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    map_db_error(
                        e,
                        || Error::Internal("wave insert violated a unique constraint despite DO NOTHING".into()),
                        || Error::Internal("wave insert violated a foreign key inside its own transaction".into()),
                    )
                })?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_rows_fold_per_target() {
        let t = |p: &str| (Some(p.to_string()), Some("m".to_string()));
        let (pa, ma) = t("a");
        let (pb, mb) = t("b");
        let rows: Vec<ProgressRow> = vec![
            ("run".into(), None, None, Some("running".into()), 0, 0, 0),
            ("open".into(), pb.clone(), mb.clone(), None, 3, 0, 0),
            ("done".into(), pa.clone(), ma.clone(), None, 7, 2, 0),
            ("brand".into(), pa.clone(), ma.clone(), Some("Zed".into()), 4, 0, 0),
            ("brand".into(), pa, ma, Some("Acme".into()), 5, 0, 0),
        ];
        let p = fold_progress(RunId::new(), rows).unwrap();
        assert_eq!(p.status, RunStatus::Running);
        assert_eq!(p.targets.len(), 2);
        let a = &p.targets[0];
        assert_eq!((a.enqueued(), a.answered, a.failed, a.open), (9, 7, 2, 0));
        assert_eq!((a.naming("Acme"), a.naming("Zed"), a.naming("Nope")), (5, 4, 0));
        assert_eq!((p.targets[1].open, p.targets[1].enqueued()), (3, 3));
        assert_eq!(
            fold_progress(RunId::new(), vec![]).unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
    }
}
