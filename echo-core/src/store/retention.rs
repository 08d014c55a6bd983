//! Retention: erasing the text of old answers (see `crate::privacy::retention`).

use chrono::{DateTime, Utc};

use crate::Result;

/// Anonymization of old samples, across all accounts (a maintenance operation).
#[async_trait::async_trait]
pub trait RetentionStore: Send + Sync {
    /// Anonymizes up to `limit` samples completed before `cutoff` and not yet anonymized,
    /// oldest first, in one transaction: `raw_answer`, `raw_response` and their citations'
    /// `cited_text` become NULL and `anonymized_at` is set to `now`. Mentions, citations
    /// (URL, domain, title), `answer_sha256`, tokens, cost and rollups are kept. Returns how
    /// many samples were anonymized; fewer than `limit` means none is left due.
    async fn anonymize_samples(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>, limit: u32) -> Result<u64>;
}
