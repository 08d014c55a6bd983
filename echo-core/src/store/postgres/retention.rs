//! Retention on PostgreSQL: one transaction per batch; concurrent sweeps take disjoint rows.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::PgStore;
use super::convert::ms;
use crate::Result;
use crate::audit::AuditRecord;
use crate::store::RetentionStore;

/// Anonymizes the oldest due samples. `$1` now, `$2` cutoff, `$3` limit. Returns their ids.
/// Index: `samples_retention_due` (partial: not anonymized, finished), read in
/// `completed_at` order so the LIMIT stops the scan; `SKIP LOCKED` lets two sweeps (a
/// paused leader and its successor) share the work instead of waiting on each other.
/// `ANY(ARRAY(...))` as in the claims: the array is built once and probed by primary key.
pub const ANONYMIZE_SAMPLES: &str = "UPDATE samples SET raw_answer = NULL, raw_response = NULL, anonymized_at = $1 \
     WHERE id = ANY(ARRAY(SELECT id FROM samples WHERE anonymized_at IS NULL AND completed_at < $2 \
                          ORDER BY completed_at LIMIT $3 FOR UPDATE SKIP LOCKED)) \
     RETURNING id";

/// Erases the quoted answer text of the anonymized samples' citations. `$1` sample ids.
/// Index: citations' primary key `(sample_id, position)`.
pub const ERASE_CITED_TEXT: &str =
    "UPDATE citations SET cited_text = NULL WHERE sample_id = ANY($1::uuid[]) AND cited_text IS NOT NULL";

#[async_trait::async_trait]
impl RetentionStore for PgStore {
    async fn anonymize_samples(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
        audit: &AuditRecord,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(ANONYMIZE_SAMPLES)
            .bind(ms(now))
            .bind(ms(cutoff))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        if !ids.is_empty() {
            sqlx::query(ERASE_CITED_TEXT).bind(&ids).execute(&mut *tx).await?;
        }
        if !ids.is_empty() {
            let record = audit.clone().detail("samples_anonymized", ids.len());
            super::audit::append(&mut tx, &record).await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }
}
