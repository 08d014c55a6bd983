//! Data-subject rights, mirroring `echo_core::engine::gdpr_api` and `echo_core::gdpr`:
//! exporting an account (GDPR art. 15 and 20), requesting, cancelling and carrying out its
//! erasure (art. 17). Who may do what, and the bundle's schema: `docs/privacy.md`.

use std::collections::BTreeMap;

use echo_core::Error;
use echo_core::store::gdpr::{DeletionRecord as CoreDeletionRecord, DeletionStatus};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::convert::out;
use crate::engine::{Echo, clone_parts};
use crate::errors;
use crate::principal::Principal;
use crate::promise::spawn;

/// What an export wrote.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ExportSummary {
    pub account_id: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub exported_at: String,
    /// Bytes of the bundle.
    pub bytes: i64,
    /// Items written per section (`api_keys`, `consents`, `experiments`, `runs`,
    /// `samples`, `audit_events`).
    pub counts: BTreeMap<String, i64>,
}

/// An export held in memory: the bundle and what it holds.
#[napi(object)]
pub struct AccountExport {
    /// The JSON bundle (format `echo-account-export`, version 1) as text: `JSON.parse` it,
    /// or send it as an `application/json` response body. A string rather than a Buffer so
    /// the declarations need no `@types/node`.
    pub bundle: String,
    pub summary: ExportSummary,
}

/// What `requestDeletion` did.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct DeletionRequest {
    /// The request's id; it outlives the account as the record of the erasure.
    pub id: String,
    pub account_id: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub requested_at: String,
    /// The erasure runs at the first `eraseDueAccounts` (or worker maintenance pass) after
    /// this; the operator may cancel before.
    #[serde(deserialize_with = "crate::convert::iso")]
    pub deadline: String,
    /// Keys revoked by the request.
    pub keys_revoked: i64,
    /// Runs that were pending or running, now cancelled (their quota settled).
    pub runs_cancelled: Vec<String>,
    /// Scheduled experiments paused (re-armed if the request is cancelled).
    pub schedules_paused: i64,
}

/// A stored deletion request. A completed one is the tombstone of the erased account: it
/// names only the account id.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct DeletionRecord {
    pub id: String,
    pub account_id: String,
    /// Who asked: `host` or `admin`.
    pub requested_by: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub requested_at: String,
    /// End of the grace period: cancellable before, erased after.
    #[serde(deserialize_with = "crate::convert::iso")]
    pub deadline: String,
    #[napi(ts_type = "'pending' | 'completed' | 'cancelled'")]
    pub status: String,
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub completed_at: Option<String>,
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub cancelled_at: Option<String>,
    pub cancelled_by: Option<String>,
    /// For a completed request, the verified report of the erasure (the core keeps it in
    /// the request's `details`, which before completion hold its own bookkeeping).
    #[serde(skip_deserializing, default)]
    pub erasure: Option<ErasureReport>,
}

impl DeletionRecord {
    fn from_core(record: &CoreDeletionRecord) -> echo_core::Result<Self> {
        let mut out: Self = out(record, "deletion request")?;
        if record.status == DeletionStatus::Completed {
            out.erasure = Some(crate::convert::out(&record.details, "erasure report")?);
        }
        Ok(out)
    }
}

/// The verified end of one account's erasure.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ErasureReport {
    pub request_id: String,
    pub account_id: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub requested_at: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub erased_at: String,
    /// Rows deleted per table, over all batches.
    pub rows_deleted: BTreeMap<String, i64>,
    /// Rows of the account counted per table after the last batch: all zero, or the
    /// erasure would not have completed.
    pub remaining: BTreeMap<String, i64>,
    /// Tables deliberately kept (the deletion request itself, as the record).
    pub retained: Vec<String>,
}

/// What one `eraseDueAccounts` call did.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ErasurePass {
    /// Transactions committed.
    pub batches: u32,
    pub rows_deleted: i64,
    /// Erasures completed and verified by this call.
    pub completed: Vec<ErasureReport>,
    /// The call stopped at `maxBatches` with work left: call again.
    pub more: bool,
}

#[napi]
impl Echo {
    /// Writes everything Echo holds about the principal's account (account, API key
    /// metadata — never hashes or secrets —, consents, experiments, runs, samples with the
    /// raw answers retention kept, audit events) to `path` as one JSON bundle. It is written
    /// next to `path` and renamed into place when complete, so `path` never holds a partial
    /// export; memory stays bounded whatever the account's size.
    ///
    /// The host or the operator acting for the account may export, an API key may not
    /// (`PermissionDeniedError`); while a deletion is pending only the operator may.
    #[napi(strict, ts_return_type = "Promise<ExportSummary>")]
    pub fn export_account_to_file<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, ExportSummary>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move { echo.export_account_to_file(&principal, path).await },
            |s| out(&s, "export summary"),
        )
    }

    /// `exportAccountToFile` into memory: resolves with the bundle as a string, e.g. to send
    /// as an HTTP response. The whole bundle is held in memory (about 1 KB per answered
    /// sample), and a JavaScript string holds at most about 500 MB: for large accounts write
    /// a file instead.
    #[napi(strict, ts_return_type = "Promise<AccountExport>")]
    pub fn export_account<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
    ) -> napi::Result<PromiseRaw<'env, AccountExport>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move {
                let mut bundle = Vec::new();
                let summary = echo.export_account(&principal, &mut bundle).await?;
                Ok((bundle, summary))
            },
            |(bundle, summary)| {
                Ok(AccountExport {
                    // serde_json writes UTF-8; a failure here would be a bug in the core.
                    bundle: String::from_utf8(bundle)
                        .map_err(|e| Error::Internal(format!("the export bundle is not UTF-8: {e}")))?,
                    summary: out(&summary, "export summary")?,
                })
            },
        )
    }

    /// Requests the erasure of the principal's account. At once: every operation of the
    /// account is refused (`PermissionDeniedError` with `accountStatus:
    /// 'deletion_pending'`), its API keys are revoked, its schedules paused and its
    /// unfinished runs cancelled; the erasure is due after the grace period
    /// (`deletionGraceSecs`, 30 days by default). The host or the operator acting for the
    /// account may request; an API key may not. `ConflictError` if one is already pending.
    #[napi(strict, ts_return_type = "Promise<DeletionRequest>")]
    pub fn request_deletion<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
    ) -> napi::Result<PromiseRaw<'env, DeletionRequest>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.request_deletion(&principal).await }, |r| {
            out(&r, "deletion request")
        })
    }

    /// Cancels the account's pending deletion before its deadline: the account is active
    /// again and its schedules resume. Its keys stay revoked (they may have leaked with the
    /// reason for the request): create new ones. Only the operator may
    /// (`Principal.admin().actingFor(accountId)`); `ConflictError` when nothing is pending
    /// or the deadline has passed.
    #[napi(strict, ts_return_type = "Promise<DeletionRecord>")]
    pub fn cancel_deletion<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
    ) -> napi::Result<PromiseRaw<'env, DeletionRecord>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.cancel_deletion(&principal).await }, |r| {
            DeletionRecord::from_core(&r)
        })
    }

    /// The account's deletion requests, newest first — also while one is pending (to show
    /// the deadline) and after the erasure (a completed request is its record).
    #[napi(strict, ts_return_type = "Promise<DeletionRecord[]>")]
    pub fn deletion_requests<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
    ) -> napi::Result<PromiseRaw<'env, Vec<DeletionRecord>>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move { echo.deletion_requests(&principal).await },
            |records| records.iter().map(DeletionRecord::from_core).collect(),
        )
    }

    /// Erases the accounts whose grace period is over: at most `maxBatches` transactions
    /// (default 100, as the worker's `ErasureSweep`) of `erasureBatch` rows each, verifying
    /// that nothing of each account remains. What a worker's leader does on its maintenance
    /// passes; call it yourself (e.g. daily) when you run no workers, again while `more` is
    /// true. Takes no principal, like the core: it is the host's erasure job, not a request.
    #[napi(ts_args_type = "maxBatches?: number", ts_return_type = "Promise<ErasurePass>")]
    pub fn erase_due_accounts<'env>(
        &self,
        env: &'env Env,
        max_batches: Option<u32>,
    ) -> napi::Result<PromiseRaw<'env, ErasurePass>> {
        let max_batches = max_batches.unwrap_or(100);
        if max_batches == 0 {
            return Err(errors::to_js(env, Error::invalid("maxBatches", "must be at least 1")));
        }
        let echo = self.inner.clone();
        spawn(env, async move { echo.erase_due_accounts(max_batches).await }, |p| {
            out(&p, "erasure pass")
        })
    }
}
