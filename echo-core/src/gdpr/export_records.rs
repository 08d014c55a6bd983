//! The bundle sections read from the consent and audit stores: an account's consent
//! records (whole history; a handful per purpose) and the audit events about it.

use crate::audit::AuditQuery;
use crate::model::AccountId;
use crate::store::Store;
use crate::{Error, Result};

use super::export::{ExportSection, SectionPage};

/// Every consent record of the account, oldest first (`Echo::consents` gives the history
/// and the latest per purpose; the bundle keeps the raw history, which implies both).
#[derive(Debug, Clone, Copy)]
pub struct ConsentsSection;

#[async_trait::async_trait]
impl ExportSection for ConsentsSection {
    fn name(&self) -> &str {
        "consents"
    }

    async fn page(&self, store: &dyn Store, account: AccountId, after: Option<&str>, _: u32) -> Result<SectionPage> {
        // The history is small (one record per decision), so it comes in one page: a
        // cursor can only mean the page was already written.
        if after.is_some() {
            return Ok(SectionPage::default());
        }
        let history = store.consent_history(account).await?;
        let items = history
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .map_err(|e| Error::Internal(format!("cannot serialize a consent record for export: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(SectionPage { items, next: None })
    }
}

/// The audit events about the account, in chain order (keyset pages on `seq`), with their
/// request context where it has not been erased.
#[derive(Debug, Clone, Copy)]
pub struct AuditEventsSection;

#[async_trait::async_trait]
impl ExportSection for AuditEventsSection {
    fn name(&self) -> &str {
        "audit_events"
    }

    async fn page(
        &self,
        store: &dyn Store,
        account: AccountId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SectionPage> {
        let after_seq = after
            .map(|c| {
                c.parse::<i64>()
                    .map_err(|_| Error::Internal(format!("bad audit_events export cursor {c:?}")))
            })
            .transpose()?;
        let page = store
            .audit_events(&AuditQuery {
                account: Some(account),
                after_seq,
                limit: Some(limit.min(crate::audit::MAX_AUDIT_PAGE)),
                ..Default::default()
            })
            .await?;
        let items = page
            .events
            .iter()
            .map(|e| {
                serde_json::to_value(e)
                    .map_err(|e| Error::Internal(format!("cannot serialize an audit event for export: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(SectionPage {
            items,
            next: page.next_after_seq.map(|s| s.to_string()),
        })
    }
}
