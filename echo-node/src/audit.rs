//! The audit trail, mirroring `echo_core::engine::audit_api` and `echo_core::audit`: the
//! operator's query, chain verification (optionally against a head kept outside the
//! database), retention and erasure of personal data (`docs/audit.md`).

use echo_core::audit::{AuditHead as CoreHead, AuditQuery as CoreQuery};
use echo_core::model::AccountId;
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::convert::{Json, out, parse, time};
use crate::engine::{Echo, clone_parts};
use crate::principal::{Principal, RequestContext};
use crate::promise::{spawn, sync};

/// Which events to list, oldest first. Every filter is optional.
#[napi(object)]
pub struct AuditQuery {
    /// Only events concerning this account.
    pub account_id: Option<String>,
    /// Only this action (`run.enqueue`, `account.export`...; `auditActions()` lists them,
    /// and a test checks this type against that list).
    #[napi(
        ts_type = "'account.create' | 'experiment.create' | 'experiment.update' | 'experiment.delete' | 'schedule.set' | 'schedule.clear' | 'run.enqueue' | 'run.resume' | 'run.cancel' | 'run.finish' | 'api_key.create' | 'api_key.revoke' | 'admin.access' | 'audit.read' | 'audit.purge' | 'audit.erase_personal_data' | 'account.export' | 'account.deletion_request' | 'account.deletion_cancel' | 'account.erase' | 'consent.record' | 'privacy.settings_set' | 'retention.apply' | 'samples.read_raw' | 'samples.anonymize'"
    )]
    pub action: Option<String>,
    /// Events at or after this time (ISO 8601).
    pub from: Option<String>,
    /// Events strictly before this time (ISO 8601).
    pub to: Option<String>,
    /// Events after this seq: the previous page's `nextAfterSeq`.
    pub after_seq: Option<i64>,
    /// Page size; default 100, at most 1000.
    pub limit: Option<u32>,
}

impl AuditQuery {
    fn to_core(&self) -> echo_core::Result<CoreQuery> {
        Ok(CoreQuery {
            account: self
                .account_id
                .as_deref()
                .map(|a| parse::<AccountId>(a, "query.accountId"))
                .transpose()?,
            action: self.action.as_deref().map(|a| parse(a, "query.action")).transpose()?,
            from: self.from.as_deref().map(|t| time(t, "query.from")).transpose()?,
            to: self.to.as_deref().map(|t| time(t, "query.to")).transpose()?,
            after_seq: self.after_seq,
            limit: self.limit,
        })
    }
}

/// Who acted.
#[napi(object, object_from_js = false)]
#[derive(Serialize, Deserialize)]
pub struct AuditActor {
    #[napi(ts_type = "'api_key' | 'host' | 'admin' | 'system'")]
    pub kind: String,
    /// The API key id (never the key) or the system component (`scheduler`, `erasure`...).
    pub id: Option<String>,
}

/// What an event is about.
#[napi(object, object_from_js = false)]
#[derive(Serialize, Deserialize)]
pub struct AuditTarget {
    /// `account`, `experiment`, `run`, `api_key`...
    #[napi(js_name = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// One event of the trail.
#[napi(object, object_from_js = false)]
#[derive(Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain: 1, 2, 3... without gaps (retention removes a prefix).
    pub seq: i64,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub occurred_at: String,
    pub account_id: Option<String>,
    pub actor: AuditActor,
    /// One of `auditActions()` (`run.enqueue`...). Typed as a string: events written by a
    /// newer version may carry actions this one does not know.
    pub action: String,
    pub target: Option<AuditTarget>,
    #[napi(ts_type = "'success' | 'denied' | 'failed'")]
    pub result: String,
    /// The error code of a denied or failed operation (`permission_denied`...).
    pub error_kind: Option<String>,
    /// The host's request context (`Principal.withRequest`); `ip` and `userAgent` are
    /// absent once erased.
    pub request: RequestContext,
    /// Facts about the event (never secrets).
    #[napi(ts_type = "Record<string, unknown>")]
    pub details: Json,
    /// Whether the event's personal data (ip, user agent) was erased.
    pub personal_data_erased: bool,
    /// Hex SHA-256 of the previous event and of this one.
    pub prev_hash: String,
    pub hash: String,
}

/// One page of events.
#[napi(object, object_from_js = false)]
#[derive(Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `afterSeq` for the next page; absent on the last page.
    pub next_after_seq: Option<i64>,
}

/// The newest event's seq and hash: what a host copies somewhere the database's writers
/// cannot reach, to prove later that the trail up to it was not rewritten.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct AuditHead {
    /// 0 before the first event.
    pub seq: i64,
    /// Hex SHA-256 of event `seq`.
    pub hash: String,
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub updated_at: Option<String>,
}

/// What is wrong at the first broken event.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ChainProblem {
    #[napi(
        ts_type = "'gap' | 'prev_hash_mismatch' | 'hash_mismatch' | 'personal_data_altered' | 'unreadable' | 'truncated' | 'head_mismatch' | 'anchor_mismatch'"
    )]
    pub kind: String,
    /// `gap`: the seq that was expected.
    pub expected: Option<i64>,
    /// `unreadable`: why.
    pub reason: Option<String>,
    /// `truncated`, `head_mismatch`: the stored head's seq.
    pub head_seq: Option<i64>,
    /// `anchor_mismatch`: the anchored seq.
    pub anchor_seq: Option<i64>,
}

/// The first broken event.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub problem: ChainProblem,
    /// The problem in words ("event 12 was altered (its hash does not match)").
    #[serde(default)]
    pub message: String,
}

/// The outcome of a verification.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct AuditVerification {
    /// Whether every check passed.
    pub ok: bool,
    /// Events read (up to and including the first broken one).
    pub events_checked: i64,
    /// The retention checkpoint verification started from (absent: the first event ever).
    pub from_checkpoint: Option<i64>,
    pub last_seq: i64,
    pub last_hash: String,
    pub first_broken: Option<BrokenLink>,
}

impl AuditVerification {
    fn from_core(v: &echo_core::audit::AuditVerification) -> echo_core::Result<Self> {
        let mut out: Self = out(v, "audit verification")?;
        if let (Some(link), Some(core)) = (&mut out.first_broken, &v.first_broken) {
            link.message = core.to_string();
        }
        Ok(out)
    }
}

/// What an audit purge removed.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct AuditPurgeReport {
    pub events_deleted: i64,
    /// The checkpoint verification now starts from.
    pub checkpoint_seq: Option<i64>,
}

/// Every audit action name, in the core's order.
#[napi]
pub fn audit_actions() -> Vec<&'static str> {
    echo_core::audit::AuditAction::ALL.map(|a| a.as_str()).to_vec()
}

#[napi]
impl Echo {
    /// Audit events matching `query`, oldest first, paginated by `afterSeq`. Operators only
    /// (`Principal.admin()`, acting for an account or not): a tenant's principal is
    /// refused with `PermissionDeniedError`. The query itself is recorded (`audit.read`).
    #[napi(
        strict,
        ts_args_type = "principal: Principal, query?: AuditQuery",
        ts_return_type = "Promise<AuditPage>"
    )]
    pub fn audit_events<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        query: Option<AuditQuery>,
    ) -> napi::Result<PromiseRaw<'env, AuditPage>> {
        let query = match query {
            Some(q) => sync(env, q.to_core())?,
            None => CoreQuery::default(),
        };
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.audit_events(&principal, &query).await }, |p| {
            out(&p, "audit page")
        })
    }

    /// Re-walks the hash chain from the newest retention checkpoint and checks the stored
    /// head; `ok: false` names the first broken event. Operators only.
    #[napi(strict, ts_return_type = "Promise<AuditVerification>")]
    pub fn verify_audit_chain<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
    ) -> napi::Result<PromiseRaw<'env, AuditVerification>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.verify_audit_chain(&principal).await }, |v| {
            AuditVerification::from_core(&v)
        })
    }

    /// As `verifyAuditChain`, and also checks that event `anchor.seq` still has the hash you
    /// recorded outside the database (from `auditHead`): this detects a trail rewritten
    /// together with its stored head, which the chain alone cannot.
    #[napi(strict, ts_return_type = "Promise<AuditVerification>")]
    pub fn verify_audit_chain_against<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        anchor: AuditHead,
    ) -> napi::Result<PromiseRaw<'env, AuditVerification>> {
        let anchor: CoreHead = sync(env, crate::convert::via_serde(&anchor, "anchor"))?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move { echo.verify_audit_chain_against(&principal, &anchor).await },
            |v| AuditVerification::from_core(&v),
        )
    }

    /// The newest event's seq and hash. Copy it somewhere the database's writers cannot
    /// reach (daily, or after sensitive operations) and pass it to
    /// `verifyAuditChainAgainst` later. Operators only.
    #[napi(strict, ts_return_type = "Promise<AuditHead>")]
    pub fn audit_head<'env>(&self, env: &'env Env, principal: &Principal) -> napi::Result<PromiseRaw<'env, AuditHead>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.audit_head(&principal).await }, |h| {
            out(&h, "audit head")
        })
    }

    /// Deletes the audit events recorded before `before` (ISO 8601, not in the future:
    /// now minus your audit retention), in batches that each leave a checkpoint so what
    /// remains still verifies; records an `audit.purge` event. Idempotent. `applyRetention`
    /// already does this with the policy's `auditTtlSecs`.
    ///
    /// Takes no principal, like the core: it is the host's retention job, not a request.
    #[napi(ts_return_type = "Promise<AuditPurgeReport>")]
    pub fn purge_audit_events<'env>(
        &self,
        env: &'env Env,
        before: String,
    ) -> napi::Result<PromiseRaw<'env, AuditPurgeReport>> {
        let before = sync(env, time(&before, "before"))?;
        let echo = self.inner.clone();
        spawn(env, async move { echo.purge_audit_events(before).await }, |r| {
            out(&r, "audit purge report")
        })
    }

    /// Clears the personal data (ip, user agent) of every audit event of an account; the
    /// events and the chain's verifiability stay. Resolves with how many events were
    /// cleared. The erasure of an account does this itself; call it for an erasure request
    /// that concerns only the audit trail.
    ///
    /// Takes no principal, like the core: it is the host's erasure job, not a request.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn erase_audit_personal_data<'env>(
        &self,
        env: &'env Env,
        account_id: String,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let account: AccountId = sync(env, parse(&account_id, "accountId"))?;
        let echo = self.inner.clone();
        spawn(env, async move { echo.erase_audit_personal_data(account).await }, |n| {
            Ok(n as i64)
        })
    }
}
