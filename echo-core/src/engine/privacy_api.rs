//! The engine's privacy operations: per-account privacy settings, consent records, and
//! retention (see `crate::privacy` and `docs/privacy.md`).

use chrono::{DateTime, Utc};

use super::Echo;
use crate::audit::AuditAction;
use crate::auth::{Actor, Principal, Scope};
use crate::model::AccountId;
use crate::privacy::{Consent, ConsentRecord, Consents, PrivacySettings, RetentionPolicy, RetentionReport};
use crate::{Error, Result};

/// How a consent's recorder is written down: `host`, `admin` or `key:<id>`.
fn recorded_by(principal: &Principal) -> String {
    match principal.actor() {
        Actor::Host => "host".into(),
        Actor::Admin => "admin".into(),
        Actor::ApiKey(id) => format!("key:{id}"),
    }
}

impl Echo {
    /// Sets the account's privacy settings: whether answers are redacted (emails, phone
    /// numbers, card numbers replaced with placeholders before they are stored) and which
    /// regions' national phone formats are recognized. Applies to samples answered from now
    /// on (a run already executing keeps the settings it started with). Needs
    /// `experiments:write`; an unknown region is `InvalidInput`.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn set_privacy_settings(
        &self,
        principal: &Principal,
        settings: PrivacySettings,
    ) -> Result<PrivacySettings> {
        let record = self
            .audit_record(principal, AuditAction::PrivacySettingsSet)
            .target("account", principal.account_id());
        self.audited(record.clone(), async {
            principal.require(Scope::ExperimentsWrite)?;
            self.ensure_active(principal).await?;
            let settings = settings.validated()?;
            let record = record
                .detail("redact_pii", settings.redact_pii)
                .detail("phone_regions", &settings.phone_regions);
            self.store()
                .set_privacy_settings(principal.account_id(), &settings, self.now(), Some(&record))
                .await?;
            tracing::info!(redact_pii = settings.redact_pii, "privacy settings changed");
            Ok(settings)
        })
        .await
    }

    /// The account's privacy settings (the defaults, redaction off, if never set).
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn privacy_settings(&self, principal: &Principal) -> Result<PrivacySettings> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let settings = self.store().privacy_settings(principal.account_id()).await?;
        self.audit_admin_read(principal, "privacy_settings", None).await?;
        Ok(settings)
    }

    /// Appends a consent decision for the principal's account and returns it as stored.
    /// Records are never changed; a withdrawal is a new record with `granted: false`, and the
    /// latest record of a purpose is the one in force.
    ///
    /// Consent is the host's to capture (it shows the policy and records the customer's
    /// answer), so host and admin principals may record it and API keys may not
    /// (`PermissionDenied`): a key holder cannot consent on the account's behalf.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn record_consent(&self, principal: &Principal, record: ConsentRecord) -> Result<Consent> {
        let audit = self
            .audit_record(principal, AuditAction::ConsentRecord)
            .target("account", principal.account_id());
        self.audited(audit.clone(), self.record_consent_inner(principal, record, audit))
            .await
    }

    async fn record_consent_inner(
        &self,
        principal: &Principal,
        record: ConsentRecord,
        audit: crate::audit::AuditRecord,
    ) -> Result<Consent> {
        principal.require(Scope::ExperimentsWrite)?;
        self.ensure_active(principal).await?;
        if matches!(principal.actor(), Actor::ApiKey(_)) {
            return Err(Error::PermissionDenied(
                "consent is recorded by the host (Principal::host or an admin acting for the account), not by an API key"
                    .into(),
            ));
        }
        let record = record.validated()?;
        let consent = Consent {
            id: uuid::Uuid::now_v7(),
            account_id: principal.account_id(),
            purpose: record.purpose,
            policy_version: record.policy_version,
            granted: record.granted,
            at: self.now(),
            source: record.source,
            recorded_by: recorded_by(principal),
        };
        let audit = audit
            .detail("purpose", &consent.purpose)
            .detail("policy_version", &consent.policy_version)
            .detail("granted", consent.granted);
        self.store()
            .insert_consent(principal.account_id(), &consent, Some(&audit))
            .await?;
        tracing::info!(purpose = %consent.purpose, granted = consent.granted, "consent recorded");
        Ok(consent)
    }

    /// The account's consents: the latest record per purpose, and the whole history.
    #[tracing::instrument(skip_all, fields(account_id = %principal.account_id()))]
    pub async fn consents(&self, principal: &Principal) -> Result<Consents> {
        principal.require(Scope::ExperimentsRead)?;
        self.ensure_active(principal).await?;
        let history = self.store().consent_history(principal.account_id()).await?;
        self.audit_admin_read(principal, "consents", None).await?;
        Ok(Consents::from_history(history))
    }

    /// `ConsentRequired` unless the account's latest record of every purpose the host
    /// requires (`EchoBuilder::require_consent`) grants it. Called before a run is admitted,
    /// so a refusal spends and writes nothing.
    pub(crate) async fn require_consents(&self, account: AccountId) -> Result<()> {
        let required = &self.config().required_consents;
        if required.is_empty() {
            return Ok(());
        }
        crate::privacy::consent::require_consents(&**self.store(), account, required).await
    }

    /// The retention policy in force.
    pub fn retention_policy(&self) -> &RetentionPolicy {
        &self.config().retention
    }

    /// Applies the retention policy at `now` across every account: samples answered more
    /// than `raw_answer_ttl` ago lose their answer text (raw answer, raw response, quoted
    /// citation text) in bounded batches; mentions, citations and rollups stay, so reports
    /// compute as before. Idempotent. Workers' leader runs it daily (`RetentionSweep`); call
    /// it yourself when you run no workers. Only the host's operator may
    /// (`Principal::admin()`).
    #[tracing::instrument(skip_all)]
    pub async fn apply_retention(&self, principal: &Principal, now: DateTime<Utc>) -> Result<RetentionReport> {
        principal.require_admin()?;
        crate::privacy::apply_retention(&**self.store(), &self.config().retention, now).await
    }
}
