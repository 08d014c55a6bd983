//! Retention: erasing the text of old answers (see `crate::privacy::retention`).

use chrono::{DateTime, Utc};

use crate::Result;
use crate::audit::AuditRecord;

/// Anonymization of old samples, across all accounts (a maintenance operation).
#[async_trait::async_trait]
pub trait RetentionStore: Send + Sync {
    /// Anonymizes up to `limit` samples completed before `cutoff` and not yet anonymized,
    /// oldest first, in one transaction: `raw_answer`, `raw_response` and their citations'
    /// `cited_text` become NULL and `anonymized_at` is set to `now`. Mentions, citations
    /// (URL, domain, title), `answer_sha256`, tokens, cost and rollups are kept. Returns how
    /// many samples were anonymized; fewer than `limit` means none is left due.
    ///
    /// When the batch anonymizes any sample, `audit` (a `samples.anonymize` record) is
    /// appended with the detail `samples_anonymized` as the last statement of the same
    /// transaction: the erasure and its record commit together or not at all. An empty
    /// batch writes nothing.
    async fn anonymize_samples(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
        audit: &AuditRecord,
    ) -> Result<u64>;
}
