//! The data-subject operations of the [`Echo`] facade: export, deletion request and
//! cancellation, erasure of due accounts, and the check that blocks every operation of an
//! account that is not active.
//!
//! ```text
//! request_deletion ─ one transaction: account → deletion_pending, keys revoked,
//!                    schedules paused, request recorded (deadline = now + grace)
//!                  ─ then: unfinished runs cancelled (quota settles)
//! cancel_deletion  ─ operator only, before the deadline: account active again, schedules
//!                    re-armed from now; keys stay revoked
//! after deadline   ─ ErasureSweep (leader) / erase_due_accounts: batches, verification,
//!                    account row deleted, request completed with the counts
//! ```

use std::path::Path;

use tokio::io::AsyncWrite;

use super::{Echo, Schedule};
use crate::audit::AuditAction;
use crate::auth::Principal;
use crate::gdpr::deletion::{authorize_cancel, authorize_subject_request};
use crate::gdpr::{DeletionRequest, ErasurePass, ExportSummary, default_sections, erase_due, export};
use crate::store::gdpr::{AccountStatus, DeletionRecord, DeletionStatus, NewDeletion};
use crate::{Error, ErrorKind, Result};

impl Echo {
    /// Refuses every operation of an account that is not active (deletion pending, or
    /// blocked by the operator) with [`Error::AccountBlocked`]. An account that does not
    /// exist passes: the operation then finds nothing, as it always did.
    ///
    /// Called right after the scope check of every account-scoped operation. One read of
    /// the account row by primary key.
    pub(super) async fn ensure_active(&self, principal: &Principal) -> Result<()> {
        let state = match self.store().account_state(principal.account_id()).await {
            Ok(state) => state,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if state.status == AccountStatus::Active {
            return Ok(());
        }
        Err(self.blocked(state.account.id, state.status).await)
    }

    /// The [`Error::AccountBlocked`] of an account, with its erasure deadline if pending.
    pub(super) async fn blocked(&self, account: crate::model::AccountId, status: AccountStatus) -> Error {
        let deadline = match status {
            AccountStatus::DeletionPending => self
                .store()
                .deletion_requests(account)
                .await
                .ok()
                .and_then(|rs| rs.into_iter().find(|r| r.status == DeletionStatus::Pending))
                .map(|r| r.deadline),
            _ => None,
        };
        Error::AccountBlocked {
            account,
            status,
            deadline,
        }
    }

    /// Writes everything Echo holds about the principal's account — account, API key
    /// metadata (never hashes or secrets), experiments, runs, samples with their raw
    /// answers where retention kept them, mentions, citations, consents and audit events —
    /// as one versioned JSON bundle (`docs/privacy.md (Export and erasure)`), streamed to `writer` page by
    /// page so the account's size does not matter. The writer is flushed, not shut down.
    ///
    /// The host or the operator acting for the account may export; an API key may not
    /// (`PermissionDenied`). While a deletion is pending only the operator may (to answer an
    /// access request during the grace period). A write failure leaves an incomplete bundle
    /// that is not valid JSON.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn export_account<W: AsyncWrite + Unpin + Send>(
        &self,
        principal: &Principal,
        writer: W,
    ) -> Result<ExportSummary> {
        let record = self
            .audit_record(principal, AuditAction::AccountExport)
            .target("account", principal.account_id());
        self.audited(record.clone(), async {
            authorize_subject_request(principal, "exporting an account")?;
            let state = self.store().account_state(principal.account_id()).await?;
            if state.status != AccountStatus::Active && !principal.is_admin() {
                return Err(self.blocked(state.account.id, state.status).await);
            }
            let summary =
                export::write_bundle(&**self.store(), &state, &default_sections(), self.now(), writer).await?;
            // A read changes nothing to put the event in; it is recorded once the bundle is
            // written (with what it held), so the export's own event is not in the bundle.
            self.store()
                .append_audit(&record.detail("bytes", summary.bytes).detail("counts", &summary.counts))
                .await?;
            tracing::info!(bytes = summary.bytes, counts = ?summary.counts, "account exported");
            Ok(summary)
        })
        .await
    }

    /// [`Echo::export_account`] into a file at `path`. The bundle is written to a
    /// temporary file next to it and renamed into place once complete, so `path` never
    /// holds a partial export.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn export_account_to_file(&self, principal: &Principal, path: impl AsRef<Path>) -> Result<ExportSummary> {
        let path = path.as_ref();
        let io = |e: std::io::Error| Error::Storage(sqlx::Error::Io(e));
        let file_name = path
            .file_name()
            .ok_or_else(|| Error::invalid("path", format!("{} does not name a file", path.display())))?;
        let mut partial = file_name.to_os_string();
        partial.push(format!(".partial-{}", uuid::Uuid::new_v4().simple()));
        let tmp = path.with_file_name(partial);
        let file = tokio::fs::File::create(&tmp).await.map_err(io)?;
        let mut writer = tokio::io::BufWriter::new(file);
        let result = self.export_account(principal, &mut writer).await;
        let finished = match result {
            Ok(summary) => {
                let file = writer.into_inner();
                file.sync_all().await.map_err(io)?;
                drop(file);
                tokio::fs::rename(&tmp, path).await.map_err(io).map(|_| summary)
            }
            Err(e) => Err(e),
        };
        if finished.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        finished
    }

    /// Requests the erasure of the principal's account. At once, in one transaction: the
    /// account becomes `deletion_pending` (every operation of it is refused with
    /// [`Error::AccountBlocked`]), all its API keys are revoked, its schedules are paused,
    /// and the erasure is scheduled for now + the grace period (`EchoBuilder::deletion_grace`,
    /// 30 days by default). Then its unfinished runs are cancelled, which settles their quota.
    ///
    /// The host or the operator acting for the account may request; an API key may not.
    /// `Conflict` if a deletion is already pending.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn request_deletion(&self, principal: &Principal) -> Result<DeletionRequest> {
        let account = principal.account_id();
        let record = self
            .audit_record(principal, AuditAction::AccountDeletionRequest)
            .target("account", account);
        let started = self
            .audited(record.clone(), async {
                let requested_by = authorize_subject_request(principal, "requesting the deletion of an account")?;
                let now = self.now();
                let grace = chrono::Duration::from_std(self.config().retention.deletion_grace)
                    .map_err(|_| Error::invalid("deletion_grace", "is too long"))?;
                let deadline = now + grace;
                let record = record.detail("deadline", deadline);
                self.store()
                    .begin_deletion(
                        &NewDeletion {
                            id: uuid::Uuid::now_v7(),
                            account,
                            requested_by: requested_by.to_string(),
                            now,
                            deadline,
                        },
                        Some(&record),
                    )
                    .await
            })
            .await?;
        // After the commit: the account is blocked, so no new run can start; cancel those
        // that had. A failure here leaves the run to finish normally (the erasure removes
        // it anyway) and is reported, not hidden.
        let mut cancelled = Vec::with_capacity(started.unfinished_runs.len());
        for run in &started.unfinished_runs {
            match self.cancel_run_of(account, *run).await {
                Ok(()) => cancelled.push(*run),
                Err(e) => {
                    tracing::warn!(run_id = %run, error = %e, "cancelling a run of an account being deleted failed")
                }
            }
        }
        tracing::info!(
            deadline = %started.request.deadline,
            keys_revoked = started.keys_revoked,
            runs_cancelled = cancelled.len(),
            "account deletion requested"
        );
        Ok(DeletionRequest {
            id: started.request.id,
            account_id: account,
            requested_at: started.request.requested_at,
            deadline: started.request.deadline,
            keys_revoked: started.keys_revoked,
            runs_cancelled: cancelled,
            schedules_paused: started.schedules_paused,
        })
    }

    /// Cancels the account's pending deletion before its deadline: the account is active
    /// again and its paused schedules resume from now (their next slot after now). Its keys
    /// stay revoked (see `gdpr::deletion`): create new ones.
    ///
    /// Only the operator acting for the account may (`Principal::admin().acting_for(id)`);
    /// `Conflict` if nothing is pending or the deadline has passed.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn cancel_deletion(&self, principal: &Principal) -> Result<DeletionRecord> {
        let account = principal.account_id();
        let now = self.now();
        let record = self
            .audit_record(principal, AuditAction::AccountDeletionCancel)
            .target("account", account);
        let cancelled = self
            .audited(record.clone(), async {
                authorize_cancel(principal)?;
                self.store().cancel_deletion(account, "admin", now, Some(&record)).await
            })
            .await?;
        for paused in &cancelled.paused_schedules {
            // Outside the cancellation's transaction: a failure leaves that schedule paused
            // (the host can set it again), never the account blocked.
            let rearm = async {
                let schedule = Schedule::from_stored(paused.kind, &paused.expr)?;
                let stored = schedule.to_stored(crate::store::truncate_to_millis(schedule.next_after(now)?));
                self.store()
                    .set_schedule(account, paused.experiment_id, Some(&stored))
                    .await?;
                Ok::<(), Error>(())
            };
            if let Err(e) = rearm.await {
                tracing::warn!(experiment_id = %paused.experiment_id, error = %e, "re-arming a schedule failed");
            }
        }
        tracing::info!("account deletion cancelled");
        Ok(cancelled.request)
    }

    /// The account's deletion requests, newest first (pending, cancelled, completed). The
    /// host or the operator may read them, also while the deletion is pending (to show the
    /// deadline) and after the erasure (a completed request is the record of it).
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn deletion_requests(&self, principal: &Principal) -> Result<Vec<DeletionRecord>> {
        authorize_subject_request(principal, "reading deletion requests")?;
        let requests = self.store().deletion_requests(principal.account_id()).await?;
        self.audit_admin_read(principal, "deletion_requests", None).await?;
        Ok(requests)
    }

    /// Erases the accounts whose grace period is over (what the worker leader's
    /// [`ErasureSweep`](crate::gdpr::ErasureSweep) does), at most `max_batches` batches of
    /// `EchoBuilder::erasure_batch` rows; call again while [`ErasurePass::more`].
    #[tracing::instrument(skip_all)]
    pub async fn erase_due_accounts(&self, max_batches: u32) -> Result<ErasurePass> {
        erase_due(&**self.store(), self.now(), self.config().erasure_batch, max_batches).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::auth::{AuthFailure, NewApiKey, Scope};
    use crate::model::NewAccount;
    use crate::store::{SqliteConfig, SqliteStore, Store};

    /// An account the operator blocked outside Echo's API (status `blocked`, keys not
    /// revoked): its valid key is refused with `AccountBlocked`, its revoked key still
    /// answers "revoked" (a caller without a valid key learns nothing of the account), and
    /// every operation is refused.
    #[tokio::test]
    async fn keys_and_operations_of_a_blocked_account_are_refused() {
        let store = Arc::new(SqliteStore::open(SqliteConfig::memory()).await.unwrap());
        let echo = Echo::builder()
            .store(store.clone() as Arc<dyn Store>)
            .build()
            .await
            .unwrap();
        let account = echo
            .create_account(
                &Principal::admin(),
                NewAccount {
                    name: "blocked".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let host = Principal::host(account.id);
        let valid = echo
            .create_api_key(&host, NewApiKey::new("v", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        let revoked = echo
            .create_api_key(&host, NewApiKey::new("r", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        echo.revoke_api_key(&host, revoked.key.id).await.unwrap();
        echo.authenticate(valid.secret.expose_secret()).await.unwrap();

        sqlx::query("UPDATE accounts SET status = 'blocked' WHERE id = ?1")
            .bind(account.id.0)
            .execute(store.pool())
            .await
            .unwrap();
        let err = echo.authenticate(valid.secret.expose_secret()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert_eq!(err.account_status(), Some(AccountStatus::Blocked));
        assert!(err.to_string().contains("is blocked"), "{err}");
        let err = echo.authenticate(revoked.secret.expose_secret()).await.unwrap_err();
        assert_eq!(err.auth_failure(), Some(AuthFailure::Revoked));
        let err = echo.get_account(&host).await.unwrap_err();
        assert_eq!(err.account_status(), Some(AccountStatus::Blocked));
        // Only an active account can request its deletion.
        assert_eq!(
            echo.request_deletion(&host).await.unwrap_err().kind(),
            ErrorKind::Conflict
        );
    }
}
