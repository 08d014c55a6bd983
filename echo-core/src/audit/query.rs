//! The admin query over the trail: filters and keyset pagination by seq.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AuditAction, AuditEvent};
use crate::model::AccountId;
use crate::{Error, Result};

/// Default and maximum page sizes.
pub const DEFAULT_AUDIT_PAGE: u32 = 100;
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// Which events to list, oldest first. Every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub account: Option<AccountId>,
    pub action: Option<AuditAction>,
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events strictly before this time.
    pub to: Option<DateTime<Utc>>,
    /// Events after this seq: pass the previous page's `next_after_seq`.
    pub after_seq: Option<i64>,
    /// Page size; default 100, at most 1000.
    pub limit: Option<u32>,
}

impl AuditQuery {
    /// The page size, or `InvalidInput` naming `audit.limit` / `audit.to`.
    pub fn effective_limit(&self) -> Result<u32> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to < from
        {
            return Err(Error::invalid("audit.to", format!("{to} is before audit.from {from}")));
        }
        if self.after_seq.is_some_and(|s| s < 0) {
            return Err(Error::invalid("audit.after_seq", "must not be negative"));
        }
        match self.limit {
            None => Ok(DEFAULT_AUDIT_PAGE),
            Some(0) => Err(Error::invalid("audit.limit", "must be at least 1")),
            Some(n) if n > MAX_AUDIT_PAGE => Err(Error::invalid(
                "audit.limit",
                format!("{n} is above the maximum of {MAX_AUDIT_PAGE}"),
            )),
            Some(n) => Ok(n),
        }
    }
}

/// One page of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `after_seq` for the next page; `None` on the last page.
    pub next_after_seq: Option<i64>,
}

/// What retention removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPurgeReport {
    pub events_deleted: u64,
    /// The checkpoint verification now starts from (the newest, after this purge).
    pub checkpoint_seq: Option<i64>,
}
