//! Reservations and the quota books.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::QuotaPeriod;
use crate::model::{AccountId, ReservationId};
use crate::{Error, Result};

/// Where a reservation stands. `held` is the only state that moves; every move out of it
/// happens at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Counted in the period's `reserved`.
    Held,
    /// Settled with at least one sample charged (`committed` of them).
    Committed,
    /// Settled with nothing charged: every sample was given back.
    Refunded,
    /// The hold passed its expiry before the run settled; its samples were released.
    Expired,
}

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Held => "held",
            ReservationStatus::Committed => "committed",
            ReservationStatus::Refunded => "refunded",
            ReservationStatus::Expired => "expired",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "held" => ReservationStatus::Held,
            "committed" => ReservationStatus::Committed,
            "refunded" => ReservationStatus::Refunded,
            "expired" => ReservationStatus::Expired,
            other => return Err(Error::Internal(format!("unknown reservation status {other:?}"))),
        })
    }
}

/// Samples set aside for one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: ReservationId,
    pub account_id: AccountId,
    /// Start of the quota period the samples are counted in.
    pub period_start: DateTime<Utc>,
    /// Samples reserved.
    pub samples: u64,
    /// Samples charged when settled (`None` until then).
    pub committed: Option<u64>,
    pub status: ReservationStatus,
    pub created_at: DateTime<Utc>,
    /// The hold is released by `expire_reservations` after this instant.
    pub expires_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

/// A request to reserve `samples` for one run, with the limits to check atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    pub account: AccountId,
    /// The reservation's id (a run's reservation has the run's id). Reusing an id is a
    /// `Conflict`.
    pub id: ReservationId,
    pub samples: u64,
    /// The period containing `now`.
    pub period: QuotaPeriod,
    /// Samples allowed in the period (the tier's current limit; it is also written to the
    /// period row, so an upgrade applies at once).
    pub period_limit: u64,
    /// Unexpired held reservations the account may have, this one included.
    pub max_concurrent: u32,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An account's books for one period, as the store holds them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUsage {
    /// Samples charged by settled runs.
    pub used: u64,
    /// Samples held by runs not yet settled.
    pub reserved: u64,
    /// Unexpired held reservations of the account (any period): runs in progress.
    pub active_reservations: u64,
}

/// What `Echo::quota_status` reports: the account's allowance in the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaStatus {
    pub tier: String,
    /// Samples charged this period.
    pub used: u64,
    /// Samples held by runs in progress.
    pub reserved: u64,
    /// Samples allowed this period.
    pub limit: u64,
    /// `limit − used − reserved`, never negative.
    pub remaining: u64,
    pub period_start: DateTime<Utc>,
    /// The end of the period: when `used` starts from zero again.
    pub resets_at: DateTime<Utc>,
    /// Runs holding a reservation now, and how many the tier allows at once.
    pub active_runs: u64,
    pub max_concurrent_runs: u32,
    pub max_samples_per_run: u64,
}
