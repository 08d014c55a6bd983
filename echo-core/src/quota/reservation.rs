//! Reservations and the quota books.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{QuotaDenial, QuotaLimit, QuotaPeriod};
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

impl ReserveRequest {
    /// What every backend checks before writing: `now` inside the period, an expiry after
    /// `now`, and numbers a 64-bit column holds. Returns `(samples, period_limit)` as stored.
    pub(crate) fn validate(&self) -> Result<(i64, i64)> {
        let stored = |v: u64, field: &str| {
            i64::try_from(v)
                .map_err(|_| Error::invalid(field, format!("{v} is larger than the store can hold (2^63 - 1)")))
        };
        let (samples, limit) = (
            stored(self.samples, "reserve.samples")?,
            stored(self.period_limit, "reserve.period_limit")?,
        );
        if !self.period.contains(self.now) {
            return Err(Error::invalid("reserve.period", "must contain `now`"));
        }
        if self.expires_at <= self.now {
            return Err(Error::invalid("reserve.expires_at", "must be after `now`"));
        }
        Ok((samples, limit))
    }

    /// Why a backend refused this request, from the books it read after the refusal (the
    /// period's `used` and `reserved`, and the account's unexpired held reservations): the
    /// period allowance if the samples do not fit, else the number of runs at once.
    pub(crate) fn denial(&self, used: u64, reserved: u64, active: u64) -> QuotaDenial {
        let remaining = self.period_limit.saturating_sub(used.saturating_add(reserved));
        if remaining < self.samples {
            QuotaDenial {
                limit_kind: QuotaLimit::PeriodSamples,
                requested: self.samples,
                remaining,
                limit: self.period_limit,
                resets_at: Some(self.period.end),
            }
        } else {
            let max = u64::from(self.max_concurrent);
            QuotaDenial {
                limit_kind: QuotaLimit::ConcurrentRuns,
                requested: 1,
                remaining: max.saturating_sub(active),
                limit: max,
                resets_at: None,
            }
        }
    }

    /// The reservation this request creates, as a backend returns it after success.
    pub(crate) fn held(&self) -> Reservation {
        Reservation {
            id: self.id,
            account_id: self.account,
            period_start: self.period.start,
            samples: self.samples,
            committed: None,
            status: ReservationStatus::Held,
            created_at: self.now,
            expires_at: self.expires_at,
            settled_at: None,
        }
    }
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
