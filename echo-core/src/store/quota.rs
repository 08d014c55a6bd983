//! The quota books: per-account period rows and per-run reservations.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::model::{AccountId, ReservationId};
use crate::quota::{QuotaUsage, Reservation, ReserveRequest};

/// Quota periods and reservations.
///
/// The invariants every backend keeps, under any concurrency:
///
/// - a period row's `reserved` is the sum of its `held` reservations' samples, and its
///   `used` the sum of what its settled reservations committed;
/// - `used + reserved` never passes the limit because of a reservation (a late settlement of
///   an expired reservation may, since those samples were really spent);
/// - each reservation leaves `held` at most once.
#[async_trait::async_trait]
pub trait QuotaStore: Send + Sync {
    /// Reserves `request.samples` in the period containing `request.now`, creating the
    /// period row if missing. The check and the increment are ONE conditional statement
    /// on the period row (`used + reserved + n <= limit` and fewer than `max_concurrent`
    /// unexpired held reservations), never a read followed by a write, so concurrent
    /// reservations cannot overspend.
    ///
    /// Fails with `QuotaExceeded` (carrying a [`QuotaDenial`](crate::quota::QuotaDenial))
    /// when a limit would be passed, `Conflict` if the id is taken, `InvalidInput` for
    /// numbers the store cannot hold. Nothing is written on failure.
    ///
    /// Backends with snapshot reads per statement (PostgreSQL, READ COMMITTED) must count
    /// held reservations after taking a lock that every reservation of the account takes —
    /// the account row, since the count spans periods — in an earlier statement of the same
    /// transaction, so the count sees every committed reservation.
    async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation>;

    /// Settles a reservation: `committed` samples (capped at the reservation's size) are
    /// charged, the rest given back. A held reservation moves to `committed` (or `refunded`
    /// when nothing is charged); an expired one, whose hold was already released, is
    /// charged `committed` alone. Returns `true` if this call settled it; `false` if it
    /// was already settled or no such reservation exists for `account` — a second
    /// settlement is a no-op, never a double charge or refund.
    async fn settle_reservation(
        &self,
        account: AccountId,
        id: ReservationId,
        committed: u64,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Releases every held reservation whose `expires_at` is before `now` (status
    /// `expired`, samples given back to their period). Returns how many. For the
    /// maintenance sweep.
    async fn expire_reservations(&self, now: DateTime<Utc>) -> Result<u64>;

    /// The account's books for the period starting at `period_start` (zeros if it has no
    /// row yet), with the count of unexpired held reservations at `now`.
    async fn quota_usage(
        &self,
        account: AccountId,
        period_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<QuotaUsage>;

    /// One reservation; NotFound if absent or another account's.
    async fn get_reservation(&self, account: AccountId, id: ReservationId) -> Result<Reservation>;
}
