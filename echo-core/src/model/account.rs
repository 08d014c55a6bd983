//! Accounts: the tenant that owns experiments, runs and (later) keys and quota.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AccountId;

/// A tenant. Every experiment, run and sample belongs to exactly one account, and every
/// store query that touches tenant data filters on the account id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    /// Human-readable name.
    pub name: String,
    /// The host's own identifier for this tenant (its user or organisation id), if any.
    pub external_id: Option<String>,
    /// Quota tier name (`free`, `pro`, `enterprise` or a host-defined one).
    pub tier: String,
    pub created_at: DateTime<Utc>,
}

/// What is needed to create an account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewAccount {
    pub name: String,
    pub external_id: Option<String>,
    /// Defaults to `free` when `None`.
    pub tier: Option<String>,
}
