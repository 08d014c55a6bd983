//! Adaptive runs on PostgreSQL: a target's progress in one statement (one snapshot under
//! READ COMMITTED), and the append of a wave as a compare-and-set under the run row's lock
//! (`FOR NO KEY UPDATE`, the lock finalization and status changes take too), so appends of
//! one run are serialized and none can slip in beside a finalization or a cancellation.

use super::PgStore;
use super::convert::{i64_to_u64, map_db_error, ms, u32_to_i64};
use super::sql::LOCK_RUN_FOR_FINALIZE;
use crate::model::{AccountId, RunId, RunStatus};
use crate::store::sqlite::adaptive::{ProgressRow, fold_progress};
use crate::store::{AdaptiveStore, RunProgress, Wave};
use crate::{Error, Result};

/// As SQLite's: the run's status, then per target its open samples, finished samples and
/// brands named. `$1` account, `$2` run. Indexes: primary keys of `runs` and both rollups,
/// `samples_by_run_status` for the open samples.
const RUN_PROGRESS: &str = "\
    SELECT 'run'::text AS kind, NULL::text AS provider, NULL::text AS model, status AS brand, \
           0::bigint AS a, 0::bigint AS b, 0::bigint AS c \
      FROM runs WHERE id = $2 AND account_id = $1 \
    UNION ALL \
    SELECT 'open', provider, model, NULL, count(*), 0, 0 FROM samples \
      WHERE run_id = $2 AND account_id = $1 AND status IN ('pending', 'leased') GROUP BY provider, model \
    UNION ALL \
    SELECT 'done', provider, model, NULL, sum(answered)::bigint, sum(failed)::bigint, sum(cancelled)::bigint \
      FROM sample_rollups WHERE run_id = $2 AND account_id = $1 GROUP BY provider, model \
    UNION ALL \
    SELECT 'brand', provider, model, brand, sum(samples)::bigint, 0, 0 FROM mention_rollups \
      WHERE run_id = $2 AND account_id = $1 GROUP BY provider, model, brand";

/// A target's samples and how many are open. `$1` run, `$2` provider, `$3` model.
/// Index: the natural-key unique index `(run_id, provider, model, ...)`.
const TARGET_SAMPLES: &str = "SELECT count(*), count(*) FILTER (WHERE status IN ('pending', 'leased')) \
     FROM samples WHERE run_id = $1 AND provider = $2 AND model = $3";

/// The wave's samples, skipping any whose natural key (or id) exists.
/// Parameters as the enqueue's `INSERT_SAMPLES`.
const INSERT_WAVE: &str = "INSERT INTO samples (id, run_id, account_id, provider, model, prompt_index, \
        repeat_index, created_at) \
     SELECT u.id, $6, $7, u.provider, u.model, u.prompt_index, u.repeat_index, $8 \
     FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) WITH ORDINALITY \
          AS u(id, provider, model, prompt_index, repeat_index, ord) \
     ORDER BY u.ord \
     ON CONFLICT DO NOTHING";

#[async_trait::async_trait]
impl AdaptiveStore for PgStore {
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
        let mut tx = self.pool.begin().await?;
        let status: Option<(String,)> = sqlx::query_as(LOCK_RUN_FOR_FINALIZE)
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
        // Read after the lock is granted: sees every append that committed before.
        let (enqueued, open): (i64, i64) = sqlx::query_as(TARGET_SAMPLES)
            .bind(run.0)
            .bind(&wave.target.provider)
            .bind(&wave.target.model)
            .fetch_one(&mut *tx)
            .await?;
        if open != 0 || i64_to_u64(enqueued, "samples")? != wave.expected_enqueued {
            return Ok(0);
        }
        let ids: Vec<_> = wave.samples.iter().map(|s| s.id.0).collect();
        let providers: Vec<&str> = wave.samples.iter().map(|s| s.target.provider.as_str()).collect();
        let models: Vec<&str> = wave.samples.iter().map(|s| s.target.model.as_str()).collect();
        let prompts: Vec<i64> = wave.samples.iter().map(|s| u32_to_i64(s.prompt_index)).collect();
        let repeats: Vec<i64> = wave.samples.iter().map(|s| u32_to_i64(s.repeat_index)).collect();
        let inserted = sqlx::query(INSERT_WAVE)
            .bind(ids)
            .bind(providers)
            .bind(models)
            .bind(prompts)
            .bind(repeats)
            .bind(run.0)
            .bind(account.0)
            .bind(ms(wave.now))
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
        tx.commit().await?;
        Ok(inserted)
    }
}
