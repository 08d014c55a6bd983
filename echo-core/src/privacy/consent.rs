//! Consent records: append-only, the latest record per purpose wins.
//!
//! A host records what its customer agreed to (`Echo::record_consent`): a purpose (e.g.
//! `data_processing`), the version of the policy shown, granted or withdrawn, and where the
//! decision came from (`signup_form`, `settings_page`, `support_ticket`...). Nothing is ever
//! edited: a withdrawal is a new record with `granted: false`, so the history proves what was
//! in force at any moment. When the host requires a purpose
//! (`EchoBuilder::require_consent`), runs of an account whose latest record for it is missing
//! or withdrawn refuse to start with `ErrorKind::ConsentRequired`, before anything is
//! reserved or written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::AccountId;
use crate::store::Store;
use crate::{Error, Result};

/// The purpose a host typically requires before running anything: processing the account's
/// prompts, brands and the answers about them.
pub const DATA_PROCESSING: &str = "data_processing";

const MAX_PURPOSE: usize = 100;
const MAX_POLICY_VERSION: usize = 64;
const MAX_SOURCE: usize = 200;

/// A consent decision to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// What the consent is for (`data_processing`, `marketing`...). Trimmed; not blank.
    pub purpose: String,
    /// The version of the policy the decision was made on (`2025-01`, `v3`...). Not blank.
    pub policy_version: String,
    /// Granted (`true`) or withdrawn / refused (`false`).
    pub granted: bool,
    /// Where the decision was captured (`signup_form`...), when the host says.
    pub source: Option<String>,
}

impl ConsentRecord {
    /// A grant of `purpose` under `policy_version`.
    pub fn grant(purpose: impl Into<String>, policy_version: impl Into<String>) -> Self {
        Self {
            purpose: purpose.into(),
            policy_version: policy_version.into(),
            granted: true,
            source: None,
        }
    }

    /// A withdrawal of `purpose` under `policy_version`.
    pub fn withdraw(purpose: impl Into<String>, policy_version: impl Into<String>) -> Self {
        Self {
            granted: false,
            ..Self::grant(purpose, policy_version)
        }
    }

    /// Sets where the decision came from.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Trims and checks the fields; `InvalidInput` naming the field otherwise.
    pub fn validated(self) -> Result<Self> {
        let purpose = check_text("consent.purpose", &self.purpose, MAX_PURPOSE)?;
        let policy_version = check_text("consent.policy_version", &self.policy_version, MAX_POLICY_VERSION)?;
        let source = match &self.source {
            Some(s) => Some(check_text("consent.source", s, MAX_SOURCE)?),
            None => None,
        };
        Ok(Self {
            purpose,
            policy_version,
            granted: self.granted,
            source,
        })
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be blank"));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_string())
}

/// A recorded consent decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub purpose: String,
    pub policy_version: String,
    pub granted: bool,
    /// When it was recorded (store precision: milliseconds).
    pub at: DateTime<Utc>,
    pub source: Option<String>,
    /// Who recorded it (the principal's actor: `host`, `key:<id>`, `admin`).
    pub recorded_by: String,
}

/// An account's consents: what is in force, and everything ever recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consents {
    /// The latest record of each purpose, by purpose name.
    pub current: Vec<Consent>,
    /// Every record, oldest first.
    pub history: Vec<Consent>,
}

impl Consents {
    /// Builds both views from the history (oldest first: the last record of a purpose wins).
    pub fn from_history(history: Vec<Consent>) -> Self {
        let mut latest: BTreeMap<&str, &Consent> = BTreeMap::new();
        for c in &history {
            latest.insert(&c.purpose, c);
        }
        let current = latest.into_values().cloned().collect();
        Self { current, history }
    }

    /// Whether `purpose` is currently granted.
    pub fn is_granted(&self, purpose: &str) -> bool {
        self.current.iter().any(|c| c.purpose == purpose && c.granted)
    }
}

/// Refuses with `ConsentRequired` unless the account's latest record of every purpose in
/// `required` grants it. One indexed lookup per required purpose.
pub async fn require_consents(store: &dyn Store, account: AccountId, required: &[String]) -> Result<()> {
    for purpose in required {
        match store.latest_consent(account, purpose).await? {
            Some(c) if c.granted => {}
            latest => {
                return Err(Error::ConsentRequired {
                    purpose: purpose.clone(),
                    withdrawn: latest.is_some(),
                });
            }
        }
    }
    Ok(())
}
