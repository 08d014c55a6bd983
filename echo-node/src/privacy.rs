//! Privacy, mirroring `echo_core::engine::privacy_api` and `echo_core::privacy`: per-account
//! PII redaction settings, consent records, and retention (`docs/privacy.md`).
//!
//! Durations are seconds, as everywhere in the package (`leaseSecs`, `retryAfter`).

use echo_core::Result;
use echo_core::privacy::{
    ConsentRecord as CoreConsentRecord, PrivacySettings as CorePrivacySettings, RetentionPolicy as CorePolicy,
};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::convert::{out, seconds, time};
use crate::engine::{Echo, clone_parts};
use crate::principal::Principal;
use crate::promise::{spawn, sync};

/// The purpose a host typically requires before running anything (`requireConsent`):
/// processing the account's prompts, brands and the answers about them.
#[napi]
pub const DATA_PROCESSING: &str = echo_core::privacy::consent::DATA_PROCESSING;

/// `EchoOptions.retentionPolicy`: how long Echo keeps what it keeps. Every field is
/// optional; periods must be at least one day (retention runs daily).
#[napi(object)]
#[derive(Default)]
pub struct RetentionOptions {
    /// Raw answers (and raw provider responses, quoted citation text) are erased this many
    /// seconds after the sample was answered; mentions, citations and rollups stay, so
    /// reports do not change. Default 90 days.
    pub raw_answer_ttl_secs: Option<f64>,
    /// Audit events older than this are purged (a checkpoint keeps the rest verifiable).
    /// Default 2 years.
    pub audit_ttl_secs: Option<f64>,
    /// Between a deletion request and the erasure. Default 30 days.
    pub deletion_grace_secs: Option<f64>,
    /// Samples anonymized per transaction (default 500).
    pub batch_size: Option<u32>,
    /// Transactions per `applyRetention` call at most (default 200); the rest waits for
    /// the next call, which `RetentionReport.complete: false` asks for.
    pub max_batches: Option<u32>,
}

impl RetentionOptions {
    /// The core's policy: the defaults with the given fields replaced. Ranges are checked
    /// by the core when the engine is built.
    pub(crate) fn to_core(&self) -> Result<CorePolicy> {
        let mut policy = CorePolicy::default();
        if let Some(s) = self.raw_answer_ttl_secs {
            policy.raw_answer_ttl = seconds(s, "retentionPolicy.rawAnswerTtlSecs")?;
        }
        if let Some(s) = self.audit_ttl_secs {
            policy.audit_ttl = seconds(s, "retentionPolicy.auditTtlSecs")?;
        }
        if let Some(s) = self.deletion_grace_secs {
            policy.deletion_grace = seconds(s, "retentionPolicy.deletionGraceSecs")?;
        }
        if let Some(n) = self.batch_size {
            policy.batch_size = n;
        }
        if let Some(n) = self.max_batches {
            policy.max_batches = n;
        }
        Ok(policy)
    }
}

/// The retention policy in force.
#[napi(object)]
pub struct RetentionPolicy {
    pub raw_answer_ttl_secs: f64,
    pub audit_ttl_secs: f64,
    pub deletion_grace_secs: f64,
    pub batch_size: u32,
    pub max_batches: u32,
}

impl RetentionPolicy {
    fn from_core(policy: &CorePolicy) -> Self {
        Self {
            raw_answer_ttl_secs: policy.raw_answer_ttl.as_secs_f64(),
            audit_ttl_secs: policy.audit_ttl.as_secs_f64(),
            deletion_grace_secs: policy.deletion_grace.as_secs_f64(),
            batch_size: policy.batch_size,
            max_batches: policy.max_batches,
        }
    }
}

/// What one `applyRetention` call did.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct RetentionReport {
    /// The time the policy was applied at.
    #[serde(deserialize_with = "crate::convert::iso")]
    pub now: String,
    /// Samples answered before this were due for anonymization.
    #[serde(deserialize_with = "crate::convert::iso")]
    pub raw_answer_cutoff: String,
    pub samples_anonymized: i64,
    /// Transactions that anonymized something.
    pub batches: u32,
    /// Audit events recorded before this were due for purging.
    #[serde(deserialize_with = "crate::convert::iso")]
    pub audit_cutoff: String,
    pub audit_events_purged: i64,
    /// False when the call stopped at `maxBatches` with samples still due: call again.
    pub complete: bool,
}

/// An account's privacy settings.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct PrivacySettings {
    /// Emails, phone numbers and card numbers in answers are replaced with placeholders
    /// before they are stored (off by default).
    pub redact_pii: bool,
    /// Regions (ISO 3166-1 alpha-2) whose national phone formats are recognized; numbers
    /// written with `+` and a country code are recognized whatever this says. At most 20.
    pub phone_regions: Vec<String>,
}

/// New privacy settings; `phoneRegions` defaults to US, GB, DE and FR.
#[napi(object)]
pub struct NewPrivacySettings {
    pub redact_pii: bool,
    pub phone_regions: Option<Vec<String>>,
}

/// A consent decision to record.
#[napi(object)]
pub struct ConsentRecord {
    /// What the consent is for (`data_processing`, `marketing`...).
    pub purpose: String,
    /// The version of the policy the person was shown (`2025-01`, `v3`...).
    pub policy_version: String,
    /// Granted (`true`), or refused / withdrawn (`false`).
    pub granted: bool,
    /// Where the decision was captured (`signup_form`, `settings_page`...).
    pub source: Option<String>,
}

/// A recorded consent decision. Records are never changed: a withdrawal is a new record.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Consent {
    pub id: String,
    pub account_id: String,
    pub purpose: String,
    pub policy_version: String,
    pub granted: bool,
    /// When it was recorded (ISO 8601).
    #[serde(deserialize_with = "crate::convert::iso")]
    pub at: String,
    pub source: Option<String>,
    /// Who recorded it: `host` or `admin`.
    pub recorded_by: String,
}

/// An account's consents.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Consents {
    /// The latest record of each purpose (the one in force), by purpose name.
    pub current: Vec<Consent>,
    /// Every record, oldest first.
    pub history: Vec<Consent>,
}

#[napi]
impl Echo {
    /// Sets the account's privacy settings (scope `experiments:write`). Applies to samples
    /// answered from now on; a run already executing keeps the settings it started with.
    /// An unknown region is an `InvalidInputError`.
    #[napi(strict, ts_return_type = "Promise<PrivacySettings>")]
    pub fn set_privacy_settings<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        settings: NewPrivacySettings,
    ) -> napi::Result<PromiseRaw<'env, PrivacySettings>> {
        let settings = CorePrivacySettings {
            redact_pii: settings.redact_pii,
            phone_regions: settings
                .phone_regions
                .unwrap_or_else(|| CorePrivacySettings::default().phone_regions),
        };
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move { echo.set_privacy_settings(&principal, settings).await },
            |s| out(&s, "privacy settings"),
        )
    }

    /// The account's privacy settings (the defaults, redaction off, if never set).
    #[napi(strict, ts_return_type = "Promise<PrivacySettings>")]
    pub fn privacy_settings<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
    ) -> napi::Result<PromiseRaw<'env, PrivacySettings>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.privacy_settings(&principal).await }, |s| {
            out(&s, "privacy settings")
        })
    }

    /// Appends a consent decision for the principal's account and resolves with it as
    /// stored; the latest record of a purpose is the one in force. Consent is the host's to
    /// capture: `Principal.host` or the operator may record it, an API key may not
    /// (`PermissionDeniedError`), so a key holder cannot consent for the account.
    #[napi(strict, ts_return_type = "Promise<Consent>")]
    pub fn record_consent<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        consent: ConsentRecord,
    ) -> napi::Result<PromiseRaw<'env, Consent>> {
        let record = CoreConsentRecord {
            purpose: consent.purpose,
            policy_version: consent.policy_version,
            granted: consent.granted,
            source: consent.source,
        };
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.record_consent(&principal, record).await }, |c| {
            out(&c, "consent")
        })
    }

    /// The account's consents: the latest record per purpose, and the whole history.
    #[napi(strict, ts_return_type = "Promise<Consents>")]
    pub fn consents<'env>(&self, env: &'env Env, principal: &Principal) -> napi::Result<PromiseRaw<'env, Consents>> {
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.consents(&principal).await }, |c| {
            out(&c, "consents")
        })
    }

    /// The retention policy in force (synchronous: it is the engine's configuration).
    #[napi]
    pub fn retention_policy(&self) -> RetentionPolicy {
        RetentionPolicy::from_core(self.inner.retention_policy())
    }

    /// Applies the retention policy across every account at `now` (ISO 8601; default: the
    /// engine's clock): raw answers past their TTL are erased in bounded batches, keeping
    /// everything reports are computed from, and audit events past theirs are purged.
    /// Idempotent. Workers' leader runs it daily; call it yourself when you run no workers.
    /// Only the operator (`Principal.admin()`) may.
    #[napi(
        strict,
        ts_args_type = "principal: Principal, now?: string",
        ts_return_type = "Promise<RetentionReport>"
    )]
    pub fn apply_retention<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        now: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, RetentionReport>> {
        let now = match now {
            Some(text) => sync(env, time(&text, "now"))?,
            None => self.inner.now(),
        };
        let (echo, principal) = clone_parts(self, principal);
        spawn(env, async move { echo.apply_retention(&principal, now).await }, |r| {
            out(&r, "retention report")
        })
    }
}
