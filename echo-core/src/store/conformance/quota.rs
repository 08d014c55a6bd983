//! The quota books: reserve, settle at most once, expire, concurrency, period boundaries.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::future::join_all;

use super::fixtures::{account, assert_kind, at, t0};
use crate::ErrorKind;
use crate::model::{AccountId, ReservationId};
use crate::quota::{QuotaLimit, QuotaPeriod, QuotaUsage, ReservationStatus, ReserveRequest};
use crate::store::Store;

const HOUR_MS: i64 = 3_600_000;

/// A reservation of `samples` at `now` in `now`'s calendar month, held for an hour.
fn request(account: AccountId, samples: u64, limit: u64, max_concurrent: u32, now: DateTime<Utc>) -> ReserveRequest {
    ReserveRequest {
        account,
        id: ReservationId::new(),
        samples,
        period: QuotaPeriod::calendar_month(now),
        period_limit: limit,
        max_concurrent,
        now,
        expires_at: now + chrono::Duration::milliseconds(HOUR_MS),
    }
}

async fn usage(store: &dyn Store, account: AccountId, now: DateTime<Utc>) -> QuotaUsage {
    let start = QuotaPeriod::calendar_month(now).start;
    store.quota_usage(account, start, now).await.expect("quota usage")
}

/// Reserve holds samples; settling charges the answered ones and refunds the rest, once:
/// a second settlement (either kind) changes nothing. Another account can neither see nor
/// settle the reservation. A refused reservation writes nothing.
pub async fn quota_reserve_and_settle_once(store: &dyn Store) {
    let acct = account(store, "quota-books").await;
    let other = account(store, "quota-other").await;
    let now = at(1_000);

    let r = store
        .reserve(&request(acct.id, 30, 100, 5, now))
        .await
        .expect("reserve");
    assert_eq!((r.status, r.samples, r.committed), (ReservationStatus::Held, 30, None));
    assert_eq!(
        store.get_reservation(acct.id, r.id).await.expect("get"),
        r,
        "round trip"
    );
    assert_eq!(
        usage(store, acct.id, now).await,
        QuotaUsage {
            used: 0,
            reserved: 30,
            active_reservations: 1
        }
    );

    // Isolation: the other account sees nothing and cannot settle it.
    assert_kind(
        store.get_reservation(other.id, r.id).await,
        ErrorKind::NotFound,
        "other account",
    );
    assert!(!store.settle_reservation(other.id, r.id, 30, now).await.expect("settle"));
    assert_eq!(
        usage(store, acct.id, now).await.reserved,
        30,
        "untouched by the other account"
    );

    // Commit 20 of 30: the other 10 are refunded.
    assert!(
        store
            .settle_reservation(acct.id, r.id, 20, at(2_000))
            .await
            .expect("settle")
    );
    let settled = store.get_reservation(acct.id, r.id).await.expect("get");
    assert_eq!(
        (settled.status, settled.committed),
        (ReservationStatus::Committed, Some(20))
    );
    assert_eq!(settled.settled_at, Some(at(2_000)));
    let books = QuotaUsage {
        used: 20,
        reserved: 0,
        active_reservations: 0,
    };
    assert_eq!(usage(store, acct.id, now).await, books);

    // At most once: neither a second commit nor a refund moves the books.
    assert!(
        !store
            .settle_reservation(acct.id, r.id, 30, at(3_000))
            .await
            .expect("settle")
    );
    assert!(
        !store
            .settle_reservation(acct.id, r.id, 0, at(3_000))
            .await
            .expect("settle")
    );
    assert_eq!(usage(store, acct.id, now).await, books, "double settlement is a no-op");
    assert_eq!(store.get_reservation(acct.id, r.id).await.expect("get"), settled);

    // A full refund; a charge larger than the reservation is capped at it.
    let r2 = store
        .reserve(&request(acct.id, 10, 100, 5, now))
        .await
        .expect("reserve");
    assert!(store.settle_reservation(acct.id, r2.id, 0, now).await.expect("refund"));
    assert_eq!(
        store.get_reservation(acct.id, r2.id).await.expect("get").status,
        ReservationStatus::Refunded
    );
    let r3 = store
        .reserve(&request(acct.id, 10, 100, 5, now))
        .await
        .expect("reserve");
    assert!(store.settle_reservation(acct.id, r3.id, 99, now).await.expect("settle"));
    assert_eq!(
        store.get_reservation(acct.id, r3.id).await.expect("get").committed,
        Some(10)
    );
    assert_eq!(usage(store, acct.id, now).await.used, 30);

    // Refused: 71 > 100 - 30. Nothing is written, and the error says what is left.
    let refused = request(acct.id, 71, 100, 5, now);
    let err = store.reserve(&refused).await.expect_err("over the limit");
    let denial = err.quota_denial().expect("structured denial");
    assert_eq!(denial.limit_kind, QuotaLimit::PeriodSamples);
    assert_eq!((denial.requested, denial.remaining, denial.limit), (71, 70, 100));
    assert_eq!(denial.resets_at, Some(QuotaPeriod::calendar_month(now).end));
    assert_kind(
        store.get_reservation(acct.id, refused.id).await,
        ErrorKind::NotFound,
        "refused",
    );
    assert_eq!(usage(store, acct.id, now).await.reserved, 0);
    store
        .reserve(&ReserveRequest {
            samples: 70,
            ..refused.clone()
        })
        .await
        .expect("exactly what is left fits");

    // Reusing an id is a conflict, and leaves the books alone.
    let dup = ReserveRequest { samples: 0, ..refused };
    assert_kind(store.reserve(&dup).await, ErrorKind::Conflict, "duplicate id");
    assert_eq!(usage(store, acct.id, now).await.reserved, 70);

    // Settling an unknown reservation is a no-op; reserving for an unknown account fails.
    assert!(
        !store
            .settle_reservation(acct.id, ReservationId::new(), 1, now)
            .await
            .expect("settle")
    );
    assert_kind(
        store.reserve(&request(AccountId::new(), 1, 100, 5, now)).await,
        ErrorKind::NotFound,
        "unknown account",
    );
}

/// 200 concurrent one-sample reservations against a limit of 100: exactly 100 succeed,
/// the rest are refused with nothing left, and the books balance — before and after
/// settling every reservation concurrently (twice each).
pub async fn quota_concurrent_reservations_never_overspend(store: &dyn Store) {
    let acct = account(store, "quota-race").await;
    let now = at(5_000);
    let requests: Vec<ReserveRequest> = (0..200).map(|_| request(acct.id, 1, 100, 1_000, now)).collect();
    let results = join_all(requests.iter().map(|r| store.reserve(r))).await;

    let mut held = Vec::new();
    for result in results {
        match result {
            Ok(r) => held.push(r),
            Err(e) => {
                let denial = e
                    .quota_denial()
                    .unwrap_or_else(|| panic!("expected QuotaExceeded, got {e}"));
                assert_eq!((denial.limit_kind, denial.remaining), (QuotaLimit::PeriodSamples, 0));
            }
        }
    }
    assert_eq!(held.len(), 100, "exactly the limit is reserved");
    assert_eq!(usage(store, acct.id, now).await.reserved, 100);

    // Settle: even-numbered runs answered their sample, odd ones failed. Each settled twice
    // at once; exactly one call per reservation wins.
    let settles = held.iter().enumerate().flat_map(|(i, r)| {
        let committed = u64::from(i % 2 == 0);
        [0, 1].map(move |_| async move { store.settle_reservation(acct.id, r.id, committed, now).await })
    });
    let wins = join_all(settles)
        .await
        .into_iter()
        .map(|r| r.expect("settle"))
        .filter(|&won| won)
        .count();
    assert_eq!(wins, 100, "each reservation settled exactly once");

    let mut committed = 0;
    let mut ids = HashSet::new();
    for r in &held {
        let r = store.get_reservation(acct.id, r.id).await.expect("get");
        assert_ne!(r.status, ReservationStatus::Held);
        committed += r.committed.expect("settled reservations record their charge");
        ids.insert(r.id);
    }
    assert_eq!(ids.len(), 100);
    assert_eq!(committed, 50);
    assert_eq!(
        usage(store, acct.id, now).await,
        QuotaUsage {
            used: 50,
            reserved: 0,
            active_reservations: 0
        },
        "the books balance: used = what was committed, nothing left reserved"
    );
}

/// Max concurrent runs: unexpired held reservations count, settled and expired ones do
/// not, and the limit holds when reservations race, across a month boundary too.
pub async fn quota_concurrent_runs_limit(store: &dyn Store) {
    let acct = account(store, "quota-concurrency").await;
    let now = at(10_000);
    let a = store.reserve(&request(acct.id, 1, 1_000, 2, now)).await.expect("first");
    store
        .reserve(&request(acct.id, 1, 1_000, 2, now))
        .await
        .expect("second");
    let err = store
        .reserve(&request(acct.id, 1, 1_000, 2, now))
        .await
        .expect_err("a third run at once");
    let denial = err.quota_denial().expect("structured denial");
    assert_eq!(
        (denial.limit_kind, denial.remaining, denial.limit, denial.resets_at),
        (QuotaLimit::ConcurrentRuns, 0, 2, None)
    );
    assert!(store.settle_reservation(acct.id, a.id, 1, now).await.expect("settle"));
    store
        .reserve(&request(acct.id, 1, 1_000, 2, now))
        .await
        .expect("a slot is free again");

    // A hold past its expiry no longer counts as a run in progress.
    let later = now + chrono::Duration::milliseconds(2 * HOUR_MS);
    store
        .reserve(&request(acct.id, 1, 1_000, 2, later))
        .await
        .expect("old holds expired");

    // Racing: 20 reservations, at most 3 at once — half of them in the last millisecond of
    // January and half in the first of February, since the limit counts runs in every
    // period (a backend that serializes reservations per period row would let both months
    // through). Several rounds, each on a fresh account, because a lost race shows only in
    // some interleavings.
    let jan_end = at(31 * 24 * HOUR_MS - 1);
    let feb = at(31 * 24 * HOUR_MS);
    for round in 0..5 {
        let racer = account(store, &format!("quota-concurrency-race-{round}")).await;
        let requests: Vec<ReserveRequest> = (0..20)
            .map(|i| request(racer.id, 1, 1_000, 3, if i % 2 == 0 { jan_end } else { feb }))
            .collect();
        let results = join_all(requests.iter().map(|r| store.reserve(r))).await;
        let mut ok = 0;
        for result in results {
            match result {
                Ok(_) => ok += 1,
                Err(e) => {
                    let denial = e
                        .quota_denial()
                        .unwrap_or_else(|| panic!("expected QuotaExceeded, got {e}"));
                    assert_eq!(denial.limit_kind, QuotaLimit::ConcurrentRuns, "{e}");
                }
            }
        }
        assert_eq!(
            ok, 3,
            "the concurrency limit holds under racing reservations (round {round})"
        );
        assert_eq!(usage(store, racer.id, feb).await.active_reservations, 3);
    }
}

/// Periods: a reservation counts in the period containing its `now`; the next month starts
/// from zero (the reset); settling an old month's reservation later charges the old month.
pub async fn quota_month_boundary(store: &dyn Store) {
    let acct = account(store, "quota-months").await;
    // t0 is 2025-01-01T00:00:00Z; the last millisecond of January and the first of February.
    let jan_end = at(31 * 24 * HOUR_MS - 1);
    let feb = at(31 * 24 * HOUR_MS);
    assert_eq!(QuotaPeriod::calendar_month(jan_end).end, feb);

    let jan_run = store
        .reserve(&request(acct.id, 80, 100, 5, jan_end))
        .await
        .expect("january");
    let err = store
        .reserve(&request(acct.id, 30, 100, 5, jan_end))
        .await
        .expect_err("january is nearly spent");
    assert_eq!(err.quota_denial().expect("denial").resets_at, Some(feb));
    assert!(err.to_string().contains("resets 2025-02-01T00:00:00Z"), "{err}");

    // A new month: the full allowance again.
    let feb_run = store
        .reserve(&request(acct.id, 100, 100, 5, feb))
        .await
        .expect("february resets");
    assert_eq!(feb_run.period_start, feb);
    assert_eq!(usage(store, acct.id, feb).await.reserved, 100);

    // January's run finishes in February: January is charged, February untouched.
    assert!(
        store
            .settle_reservation(acct.id, jan_run.id, 50, feb)
            .await
            .expect("settle")
    );
    let jan = usage(store, acct.id, jan_end).await;
    assert_eq!((jan.used, jan.reserved), (50, 0));
    let feb_books = usage(store, acct.id, feb).await;
    assert_eq!((feb_books.used, feb_books.reserved), (0, 100));
}

/// Holds past their expiry are released by the sweep (once), and a run that settles after
/// its hold expired is still charged for what it answered — once.
pub async fn quota_expired_reservations_are_released(store: &dyn Store) {
    let acct = account(store, "quota-expiry").await;
    let now = t0() + chrono::Duration::milliseconds(40 * 24 * HOUR_MS);
    let r = store
        .reserve(&request(acct.id, 40, 100, 5, now))
        .await
        .expect("reserve");
    let fresh = store.reserve(&request(acct.id, 5, 100, 5, now)).await.expect("reserve");

    // Not yet due (other checks' holds may be released by these sweeps; ours are not).
    store
        .expire_reservations(now + chrono::Duration::milliseconds(HOUR_MS / 2))
        .await
        .expect("sweep");
    assert_eq!(
        store.get_reservation(acct.id, r.id).await.expect("get").status,
        ReservationStatus::Held
    );

    let after = now + chrono::Duration::milliseconds(2 * HOUR_MS);
    let expired = store.expire_reservations(after).await.expect("sweep");
    assert!(expired >= 2, "both holds are past their expiry (released {expired})");
    let r_now = store.get_reservation(acct.id, r.id).await.expect("get");
    assert_eq!(
        (r_now.status, r_now.settled_at),
        (ReservationStatus::Expired, Some(after))
    );
    assert_eq!(usage(store, acct.id, now).await.reserved, 0, "holds given back");
    assert_eq!(
        store.expire_reservations(after).await.expect("sweep"),
        0,
        "released once"
    );

    // The run finishes late: what it answered is charged (once); a late refund is a no-op on
    // the books but still closes the reservation.
    assert!(
        store
            .settle_reservation(acct.id, r.id, 25, after)
            .await
            .expect("late settle")
    );
    assert!(!store.settle_reservation(acct.id, r.id, 25, after).await.expect("again"));
    assert!(
        store
            .settle_reservation(acct.id, fresh.id, 0, after)
            .await
            .expect("late refund")
    );
    let books = usage(store, acct.id, now).await;
    assert_eq!((books.used, books.reserved), (25, 0));
    let r_final = store.get_reservation(acct.id, r.id).await.expect("get");
    assert_eq!(
        (r_final.status, r_final.committed),
        (ReservationStatus::Committed, Some(25))
    );
}

/// Settlements racing expiry sweeps (and sweeps racing each other): whichever reaches a
/// reservation first, each is released once and charged once, nothing fails (no deadlock
/// between sweeps and settlements), and the books balance.
pub async fn quota_settlement_races_expiry(store: &dyn Store) {
    let acct = account(store, "quota-expiry-race").await;
    let now = t0() + chrono::Duration::milliseconds(70 * 24 * HOUR_MS);
    let after = now + chrono::Duration::milliseconds(2 * HOUR_MS);
    let mut held = Vec::new();
    for _ in 0..30 {
        held.push(
            store
                .reserve(&request(acct.id, 2, 1_000, 1_000, now))
                .await
                .expect("reserve"),
        );
    }
    let settles = join_all(
        held.iter()
            .map(|r| async move { store.settle_reservation(acct.id, r.id, 1, after).await }),
    );
    let sweeps = join_all((0..4).map(|_| store.expire_reservations(after)));
    let (settled, swept) = futures::join!(settles, sweeps);
    for result in settled {
        assert!(result.expect("a settlement racing the sweep succeeds"), "settled once");
    }
    for result in swept {
        result.expect("a sweep racing settlements and other sweeps succeeds");
    }
    for r in &held {
        let r = store.get_reservation(acct.id, r.id).await.expect("get");
        assert_eq!((r.status, r.committed), (ReservationStatus::Committed, Some(1)));
    }
    let books = usage(store, acct.id, now).await;
    assert_eq!(
        (books.used, books.reserved),
        (30, 0),
        "each reservation released once and charged once"
    );
}
