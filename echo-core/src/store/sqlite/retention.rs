//! Retention on SQLite: one `BEGIN IMMEDIATE` transaction per batch.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SqliteStore;
use super::convert::ms;
use super::sql::{in_list, pow2_chunks};
use crate::Result;
use crate::audit::AuditRecord;
use crate::store::RetentionStore;

/// Anonymizes the oldest due samples. `?1` now, `?2` cutoff, `?3` limit. Returns their ids.
/// Index: `samples_retention_due` (partial: not anonymized, finished), read in
/// `completed_at` order so the LIMIT stops the scan.
pub const ANONYMIZE_SAMPLES: &str = "UPDATE samples SET raw_answer = NULL, raw_response = NULL, anonymized_at = ?1 \
     WHERE id IN (SELECT id FROM samples WHERE anonymized_at IS NULL AND completed_at < ?2 \
                  ORDER BY completed_at LIMIT ?3) \
     RETURNING id";

/// Erases the quoted answer text of the anonymized samples' citations (an `IN` list of
/// sample ids follows). Index: citations' primary key `(sample_id, position)`.
pub const ERASE_CITED_TEXT: &str =
    "UPDATE citations SET cited_text = NULL WHERE cited_text IS NOT NULL AND sample_id IN ";

/// Sample ids per citations statement.
const CHUNK: usize = 256;

#[async_trait::async_trait]
impl RetentionStore for SqliteStore {
    async fn anonymize_samples(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
        audit: &AuditRecord,
    ) -> Result<u64> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(ANONYMIZE_SAMPLES)
            .bind(ms(now))
            .bind(ms(cutoff))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        let mut rest = ids.as_slice();
        for n in pow2_chunks(rest.len(), CHUNK) {
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let sql = in_list(ERASE_CITED_TEXT, n);
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        if !ids.is_empty() {
            let record = audit.clone().detail("samples_anonymized", ids.len());
            super::audit::append(&mut tx, &record).await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }
}
