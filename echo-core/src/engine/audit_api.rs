//! The audit operations of the [`Echo`] facade: the admin query, verification, the head to
//! anchor, retention and erasure, and the helpers every audited operation uses.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::Echo;
use crate::audit::{
    AuditAction, AuditHead, AuditPage, AuditPurgeReport, AuditQuery, AuditRecord, AuditTarget, AuditVerification,
};
use crate::auth::Principal;
use crate::model::AccountId;
use crate::{Error, Result};

/// Events deleted per transaction by [`Echo::purge_audit_events`].
pub const AUDIT_PURGE_BATCH: u32 = 1000;

impl Echo {
    /// A successful `action` by `principal`, now (the operation adds its target and facts).
    pub(super) fn audit_record(&self, principal: &Principal, action: AuditAction) -> AuditRecord {
        AuditRecord::by(principal, action, self.now())
    }

    /// Runs an operation; if it fails, appends `record` marked `denied` or `failed` (with
    /// the error's kind) in its own transaction, then returns the error. Success events are
    /// written by the operation itself, inside its change's transaction.
    pub(super) async fn audited<T>(&self, record: AuditRecord, op: impl Future<Output = Result<T>>) -> Result<T> {
        let result = op.await;
        if let Err(error) = &result {
            let refusal = record.failed_with(error);
            if let Err(e) = self.store().append_audit(&refusal).await {
                // The operation's own error is what the caller must see; the lost event is
                // for the operator.
                tracing::error!(error = %e, action = %refusal.action, "writing the audit event of a refused operation failed");
            }
        }
        result
    }

    /// Records that an operator read an account's data (`admin.access`), in its own
    /// transaction. Other principals' reads are not audited.
    pub(super) async fn audit_admin_read(
        &self,
        principal: &Principal,
        operation: &str,
        target: Option<AuditTarget>,
    ) -> Result<()> {
        if !principal.is_admin() {
            return Ok(());
        }
        let mut record = self
            .audit_record(principal, AuditAction::AdminAccess)
            .detail("operation", operation);
        record.target = target;
        self.store().append_audit(&record).await?;
        Ok(())
    }

    /// Audit events matching `query`, oldest first, keyset-paginated by seq. Operators only
    /// ([`Principal::admin`], bound to an account or not): tenants' principals are
    /// `PermissionDenied`. The query itself is recorded (`audit.read`).
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn audit_events(&self, principal: &Principal, query: &AuditQuery) -> Result<AuditPage> {
        let record = self.audit_record(principal, AuditAction::AuditRead);
        self.audited(record.clone(), async {
            principal.require_admin()?;
            query.effective_limit()?;
            let page = self.store().audit_events(query).await?;
            let mut record = record
                .detail("filter_action", query.action.map(|a| a.as_str()))
                .detail("filter_from", query.from)
                .detail("filter_to", query.to)
                .detail("after_seq", query.after_seq)
                .detail("returned", page.events.len());
            if let Some(account) = query.account {
                record = record.target("account", account);
            }
            self.store().append_audit(&record).await?;
            Ok(page)
        })
        .await
    }

    /// Re-walks the hash chain from the newest retention checkpoint and checks the stored
    /// head. Operators only.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn verify_audit_chain(&self, principal: &Principal) -> Result<AuditVerification> {
        principal.require_admin()?;
        crate::store::verify_chain(&**self.store(), None).await
    }

    /// As [`verify_audit_chain`](Self::verify_audit_chain), and also checks that event
    /// `anchor.seq` still has the hash the host recorded outside the database (see
    /// [`audit_head`](Self::audit_head)). This is what detects a trail rewritten together
    /// with its stored head.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn verify_audit_chain_against(
        &self,
        principal: &Principal,
        anchor: &AuditHead,
    ) -> Result<AuditVerification> {
        principal.require_admin()?;
        crate::store::verify_chain(&**self.store(), Some(anchor.clone())).await
    }

    /// The newest event's seq and hash. A host that copies it somewhere the database's
    /// writers cannot reach (daily, or after sensitive operations) can later prove the trail
    /// up to that point was not rewritten. Operators only.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn audit_head(&self, principal: &Principal) -> Result<AuditHead> {
        principal.require_admin()?;
        self.store().audit_head().await
    }

    /// Retention: deletes the oldest audit events, the whole prefix before the first event
    /// at or after `before`, in batches, each leaving a checkpoint so what remains still
    /// verifies; records an `audit.purge` event. Idempotent. `before` must not be in the
    /// future. Called by the host's retention (2 years by default).
    #[tracing::instrument(skip_all)]
    pub async fn purge_audit_events(&self, before: DateTime<Utc>) -> Result<AuditPurgeReport> {
        let now = self.now();
        if before > now {
            return Err(Error::invalid(
                "audit.purge.before",
                format!("{before} is in the future; pass now minus the audit retention period"),
            ));
        }
        self.store()
            .purge_audit_before(crate::store::truncate_to_millis(before), AUDIT_PURGE_BATCH, now)
            .await
    }

    /// Erasure: clears the personal data (ip, user agent) of every audit event of
    /// `account`; the events themselves, and the chain's verifiability, are kept. Records
    /// an `audit.erase_personal_data` event (actor: system `erasure`). Returns how many
    /// events were cleared. Called by the account erasure sweep.
    #[tracing::instrument(skip_all, fields(account_id = %account))]
    pub async fn erase_audit_personal_data(&self, account: AccountId) -> Result<u64> {
        let now = self.now();
        let record = AuditRecord::system("erasure", Some(account), AuditAction::AuditErasePersonalData, now)
            .target("account", account);
        let n = self.store().erase_audit_personal_data(account, &record).await?;
        tracing::info!(account_id = %account, events = n, "audit personal data erased");
        Ok(n)
    }
}
