//! The actions the audit trail records, and which facade operation writes each.

use serde::{Deserialize, Serialize};

/// What an audit event records. The wire names (`experiment.create`, ...) are stable:
/// they are stored, hashed into the chain and used as query filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuditAction {
    #[serde(rename = "account.create")]
    AccountCreate,
    #[serde(rename = "experiment.create")]
    ExperimentCreate,
    #[serde(rename = "experiment.update")]
    ExperimentUpdate,
    #[serde(rename = "experiment.delete")]
    ExperimentDelete,
    #[serde(rename = "schedule.set")]
    ScheduleSet,
    #[serde(rename = "schedule.clear")]
    ScheduleClear,
    #[serde(rename = "run.enqueue")]
    RunEnqueue,
    #[serde(rename = "run.resume")]
    RunResume,
    #[serde(rename = "run.cancel")]
    RunCancel,
    /// A run reached its terminal status (written by whoever finalized it: system actor).
    #[serde(rename = "run.finish")]
    RunFinish,
    #[serde(rename = "api_key.create")]
    ApiKeyCreate,
    #[serde(rename = "api_key.revoke")]
    ApiKeyRevoke,
    /// An operator ([`Principal::admin`](crate::auth::Principal::admin)) read an account's data.
    #[serde(rename = "admin.access")]
    AdminAccess,
    /// Someone queried the audit trail itself.
    #[serde(rename = "audit.read")]
    AuditRead,
    /// Retention removed a range of old audit events (a checkpoint keeps the rest verifiable).
    #[serde(rename = "audit.purge")]
    AuditPurge,
    /// An account's personal data (ip, user agent) was erased from its audit events.
    #[serde(rename = "audit.erase_personal_data")]
    AuditErasePersonalData,
    /// Export of an account's data (a sensitive read; recorded after the bundle is written, with its counts).
    #[serde(rename = "account.export")]
    AccountExport,
    /// A deletion request: account blocked, keys revoked (same transaction).
    #[serde(rename = "account.deletion_request")]
    AccountDeletionRequest,
    /// A pending deletion cancelled by the operator (same transaction).
    #[serde(rename = "account.deletion_cancel")]
    AccountDeletionCancel,
    /// The erasure of an account completed and verified (same transaction; system actor).
    #[serde(rename = "account.erase")]
    AccountErase,
    /// A consent decision recorded (same transaction).
    #[serde(rename = "consent.record")]
    ConsentRecord,
    /// An account's PII-redaction settings changed (same transaction).
    #[serde(rename = "privacy.settings_set")]
    PrivacySettingsSet,
    /// A retention pass (its counts), recorded after its batches.
    #[serde(rename = "retention.apply")]
    RetentionApply,
    /// Stored raw answers were read back (a sensitive read: e.g. `reanalyze` re-extracts
    /// mentions from them), recorded after the read with the run as target.
    #[serde(rename = "samples.read_raw")]
    SamplesReadRaw,
    /// One retention batch erased the raw answers of old samples (detail
    /// `samples_anonymized`), in the same transaction as the erasure.
    #[serde(rename = "samples.anonymize")]
    SamplesAnonymize,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 25] = [
        AuditAction::AccountCreate,
        AuditAction::ExperimentCreate,
        AuditAction::ExperimentUpdate,
        AuditAction::ExperimentDelete,
        AuditAction::ScheduleSet,
        AuditAction::ScheduleClear,
        AuditAction::RunEnqueue,
        AuditAction::RunResume,
        AuditAction::RunCancel,
        AuditAction::RunFinish,
        AuditAction::ApiKeyCreate,
        AuditAction::ApiKeyRevoke,
        AuditAction::AdminAccess,
        AuditAction::AuditRead,
        AuditAction::AuditPurge,
        AuditAction::AuditErasePersonalData,
        AuditAction::AccountExport,
        AuditAction::AccountDeletionRequest,
        AuditAction::AccountDeletionCancel,
        AuditAction::AccountErase,
        AuditAction::ConsentRecord,
        AuditAction::PrivacySettingsSet,
        AuditAction::RetentionApply,
        AuditAction::SamplesReadRaw,
        AuditAction::SamplesAnonymize,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::AccountCreate => "account.create",
            AuditAction::ExperimentCreate => "experiment.create",
            AuditAction::ExperimentUpdate => "experiment.update",
            AuditAction::ExperimentDelete => "experiment.delete",
            AuditAction::ScheduleSet => "schedule.set",
            AuditAction::ScheduleClear => "schedule.clear",
            AuditAction::RunEnqueue => "run.enqueue",
            AuditAction::RunResume => "run.resume",
            AuditAction::RunCancel => "run.cancel",
            AuditAction::RunFinish => "run.finish",
            AuditAction::ApiKeyCreate => "api_key.create",
            AuditAction::ApiKeyRevoke => "api_key.revoke",
            AuditAction::AdminAccess => "admin.access",
            AuditAction::AuditRead => "audit.read",
            AuditAction::AuditPurge => "audit.purge",
            AuditAction::AuditErasePersonalData => "audit.erase_personal_data",
            AuditAction::AccountExport => "account.export",
            AuditAction::AccountDeletionRequest => "account.deletion_request",
            AuditAction::AccountDeletionCancel => "account.deletion_cancel",
            AuditAction::AccountErase => "account.erase",
            AuditAction::ConsentRecord => "consent.record",
            AuditAction::PrivacySettingsSet => "privacy.settings_set",
            AuditAction::RetentionApply => "retention.apply",
            AuditAction::SamplesReadRaw => "samples.read_raw",
            AuditAction::SamplesAnonymize => "samples.anonymize",
        }
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuditAction {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        AuditAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| {
                crate::Error::invalid(
                    "audit.action",
                    format!(
                        "{s:?} is not an audit action; expected one of {}",
                        AuditAction::ALL.map(AuditAction::as_str).join(", ")
                    ),
                )
            })
    }
}

/// Which public operation writes which action, and whether the event is written in the
/// same transaction as the change (`true`) or in its own (`false`: the operation changes
/// nothing in the store, or the change happens later, e.g. a cancellation reaching a run
/// executing in this process). Refusals and failures of every operation are written in
/// their own transaction with result `denied` or `failed`.
///
/// The integration test `tests/tests/audit_log.rs` walks this table.
pub const AUDITED_OPERATIONS: &[(&str, AuditAction, bool)] = &[
    ("create_account", AuditAction::AccountCreate, true),
    ("create_experiment", AuditAction::ExperimentCreate, true),
    ("update_experiment", AuditAction::ExperimentUpdate, true),
    ("delete_experiment", AuditAction::ExperimentDelete, true),
    ("set_schedule(Some)", AuditAction::ScheduleSet, true),
    ("set_schedule(None)", AuditAction::ScheduleClear, true),
    ("enqueue_run / start_run", AuditAction::RunEnqueue, true),
    ("resume_run", AuditAction::RunResume, false),
    (
        "cancel_run; RunHandle::cancel (written by the execution)",
        AuditAction::RunCancel,
        true,
    ),
    (
        "run finalization (executor, worker, sweep)",
        AuditAction::RunFinish,
        true,
    ),
    ("create_api_key", AuditAction::ApiKeyCreate, true),
    ("revoke_api_key", AuditAction::ApiKeyRevoke, true),
    (
        "reads by Principal::admin().acting_for(..)",
        AuditAction::AdminAccess,
        false,
    ),
    ("audit_events", AuditAction::AuditRead, false),
    ("purge_audit_events", AuditAction::AuditPurge, true),
    ("erase_audit_personal_data", AuditAction::AuditErasePersonalData, true),
    ("export_account", AuditAction::AccountExport, false),
    ("request_deletion", AuditAction::AccountDeletionRequest, true),
    ("cancel_deletion", AuditAction::AccountDeletionCancel, true),
    (
        "erasure sweep (erase_due_accounts, ErasureSweep)",
        AuditAction::AccountErase,
        true,
    ),
    ("record_consent", AuditAction::ConsentRecord, true),
    ("set_privacy_settings", AuditAction::PrivacySettingsSet, true),
    (
        "apply_retention (and the daily RetentionSweep)",
        AuditAction::RetentionApply,
        false,
    ),
    (
        "reanalyze (reads a run's raw answers)",
        AuditAction::SamplesReadRaw,
        false,
    ),
    (
        "apply_retention: each batch that anonymizes samples",
        AuditAction::SamplesAnonymize,
        true,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert!(seen.insert(a.as_str()), "{a} twice");
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), a);
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        assert_eq!(
            "run.explode".parse::<AuditAction>().unwrap_err().field(),
            Some("audit.action")
        );
    }
}
