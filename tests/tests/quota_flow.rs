//! Quotas and rate limits through the engine: reservations before enqueue, settlement when
//! a run ends (answered samples charged, failed and cancelled ones refunded), the month
//! boundary, expiry, tiers, and the run-start rate limit.
//!
//! Every case runs on SQLite (in memory) and on PostgreSQL (a database of its own, see
//! `echo-core/tests/pg_support`; skipped loudly when no server is reachable outside CI).

mod common;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use echo_core::ErrorKind;
use echo_core::auth::{Actor, Principal, Scope};
use echo_core::clock::ManualClock;
use echo_core::engine::{Echo, EchoBuilder, RunOptions};
use echo_core::model::{NewAccount, PageRequest, ReservationId, RunStatus};
use echo_core::provider::FailureRates;
use echo_core::provider::resilience::ResiliencePolicy;
use echo_core::quota::{QuotaLimit, RateLimitPolicy, ReservationStatus, TierLimits, TieredQuotaPolicy};
use futures::StreamExt;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// A "small" tier: 100 samples a month, 60 per run, 2 runs at once, 10 starts a minute.
fn small_policy() -> TieredQuotaPolicy {
    TieredQuotaPolicy::standard().tier("small", TierLimits::new(100, 60, 2))
}

async fn account_in(echo: &Echo, tier: &str) -> Principal {
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: format!("{tier} customer"),
                tier: Some(tier.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Principal::host(account.id)
}

async fn a_run_is_charged_for_its_answers_and_refunded_its_failures(builder: EchoBuilder) {
    let failures = FailureRates {
        server_error: 0.35,
        rate_limited: 0.1,
        timeout: 0.0,
    };
    let clock = Arc::new(ManualClock::new(t("2026-11-15T12:00:00Z")));
    let echo = builder
        .provider(simulated(2, Duration::ZERO, failures))
        .resilience_policy("simulated", ResiliencePolicy::for_provider("simulated").max_attempts(2))
        .clock(clock)
        .build()
        .await
        .unwrap();
    let me = account_in(&echo, "pro").await;
    let exp = echo.create_experiment(&me, spec(50)).await.unwrap();
    let handle = echo.start_run(&me, exp.id, RunOptions::default()).await.unwrap();

    let report = handle.wait().await.unwrap();
    let c = report.counts;
    assert_eq!(report.status, RunStatus::Partial);
    assert!(c.failed > 0 && c.succeeded > 0, "{c:?}");

    let status = echo.quota_status(&me).await.unwrap();
    assert_eq!(status.used, c.succeeded, "exactly the answered samples are charged");
    assert_eq!(status.reserved, 0, "the failed ones are refunded");
    assert_eq!(status.remaining, 100_000 - c.succeeded);
    assert_eq!(status.active_runs, 0);
    assert_eq!(
        (status.period_start, status.resets_at),
        (t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z"))
    );
    let reservation = echo
        .store()
        .get_reservation(me.account_id(), ReservationId::from(report.run_id))
        .await
        .unwrap();
    assert_eq!(reservation.status, ReservationStatus::Committed);
    assert_eq!((reservation.samples, reservation.committed), (200, Some(c.succeeded)));

    // Resuming a finished run settles nothing twice.
    echo.resume_run(&me, report.run_id).await.unwrap().wait().await.unwrap();
    assert_eq!(echo.quota_status(&me).await.unwrap().used, c.succeeded);
}

async fn a_cancelled_run_is_charged_only_for_what_was_answered(builder: EchoBuilder) {
    let echo = builder
        .provider(simulated(3, Duration::from_millis(20), FailureRates::default()))
        .concurrency(4)
        .build()
        .await
        .unwrap();
    let me = account_in(&echo, "pro").await;
    let exp = echo.create_experiment(&me, spec(50)).await.unwrap();
    let handle = echo.start_run(&me, exp.id, RunOptions::default()).await.unwrap();
    let mut stream = handle.progress_stream();
    while let Some(p) = stream.next().await {
        if p.done() >= 8 {
            break;
        }
    }
    handle.cancel();
    let report = handle.wait().await.unwrap();
    assert_eq!(report.status, RunStatus::Cancelled);
    assert!(report.counts.cancelled > 0);
    let status = echo.quota_status(&me).await.unwrap();
    assert_eq!((status.used, status.reserved), (report.counts.succeeded, 0));

    // Cancelling an enqueued (not executing) run refunds all of it.
    let queued = echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();
    assert_eq!(echo.quota_status(&me).await.unwrap().reserved, 200);
    echo.cancel_run(&me, queued.id).await.unwrap();
    let after = echo.quota_status(&me).await.unwrap();
    assert_eq!((after.used, after.reserved), (report.counts.succeeded, 0));
}

async fn quota_refusals_come_before_anything_is_written_and_say_what_is_left(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t("2026-11-20T08:00:00Z")));
    let (provider, calls) = Counting::new(simulated(4, Duration::ZERO, FailureRates::default()));
    let echo = builder
        .provider(provider)
        .clock(clock)
        .quota_policy(small_policy())
        .build()
        .await
        .unwrap();
    let me = account_in(&echo, "small").await;
    let forty = echo.create_experiment(&me, spec(10)).await.unwrap(); // 40 samples
    let eighty = echo.create_experiment(&me, spec(20)).await.unwrap(); // 80 samples
    let twenty = echo.create_experiment(&me, spec(5)).await.unwrap(); // 20 samples
    let opts = RunOptions::default();

    // Larger than one run may be.
    let err = echo.enqueue_run(&me, eighty.id, &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded);
    let denial = err.quota_denial().unwrap();
    assert_eq!(
        (denial.limit_kind, denial.requested, denial.limit),
        (QuotaLimit::SamplesPerRun, 80, 60)
    );

    let first = echo.enqueue_run(&me, forty.id, &opts).await.unwrap();
    echo.enqueue_run(&me, forty.id, &opts).await.unwrap();
    // 40 more do not fit in the 20 left this month.
    let err = echo.enqueue_run(&me, forty.id, &opts).await.unwrap_err();
    let denial = err.quota_denial().unwrap().clone();
    assert_eq!(
        (denial.limit_kind, denial.requested, denial.remaining, denial.limit),
        (QuotaLimit::PeriodSamples, 40, 20, 100)
    );
    assert_eq!(denial.resets_at, Some(t("2026-12-01T00:00:00Z")));
    assert!(
        err.to_string()
            .contains("needs 40 samples, 20 left of 100 this month; resets 2026-12-01T00:00:00Z"),
        "{err}"
    );

    // Two runs at once is the limit, even with quota left.
    echo.cancel_run(&me, first.id).await.unwrap();
    echo.enqueue_run(&me, twenty.id, &opts).await.unwrap();
    let err = echo.enqueue_run(&me, twenty.id, &opts).await.unwrap_err();
    assert_eq!(err.quota_denial().unwrap().limit_kind, QuotaLimit::ConcurrentRuns);

    // The refusals wrote no run and called no provider.
    let runs = |e| {
        let echo = echo.clone();
        let me = me.clone();
        async move {
            echo.list_runs(&me, e, &PageRequest::default())
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(
        (runs(forty.id).await, runs(eighty.id).await, runs(twenty.id).await),
        (2, 0, 1)
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    let status = echo.quota_status(&me).await.unwrap();
    assert_eq!((status.used, status.reserved, status.active_runs), (0, 60, 2));
}

async fn the_allowance_resets_at_the_month_boundary(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t("2026-11-30T23:59:00Z")));
    let echo = builder
        .provider(simulated(5, Duration::ZERO, FailureRates::default()))
        .clock(clock.clone())
        .quota_policy(small_policy())
        .build()
        .await
        .unwrap();
    let me = account_in(&echo, "small").await;
    let exp = echo.create_experiment(&me, spec(10)).await.unwrap(); // 40 samples
    for _ in 0..2 {
        let report = echo
            .start_run(&me, exp.id, RunOptions::default())
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(report.counts.succeeded, 40);
    }
    let november = echo.quota_status(&me).await.unwrap();
    assert_eq!((november.used, november.remaining), (80, 20));
    assert_eq!(november.resets_at, t("2026-12-01T00:00:00Z"));
    assert_eq!(
        echo.enqueue_run(&me, exp.id, &RunOptions::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::QuotaExceeded
    );

    clock.set(t("2026-12-01T00:00:00Z"));
    let december = echo.quota_status(&me).await.unwrap();
    assert_eq!((december.used, december.reserved, december.remaining), (0, 0, 100));
    assert_eq!(december.resets_at, t("2027-01-01T00:00:00Z"));
    echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();
}

async fn an_abandoned_reservation_expires_and_a_late_finish_is_still_charged(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t("2026-11-10T09:00:00Z")));
    let echo = builder
        .provider(simulated(6, Duration::ZERO, FailureRates::default()))
        .clock(clock.clone())
        .reservation_hold(Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    let me = account_in(&echo, "pro").await;
    let exp = echo.create_experiment(&me, spec(5)).await.unwrap(); // 20 samples
    let run = echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();
    assert_eq!(echo.expire_reservations().await.unwrap(), 0, "not yet");
    assert_eq!(echo.quota_status(&me).await.unwrap().reserved, 20);

    clock.advance(Duration::from_secs(3601));
    assert_eq!(echo.expire_reservations().await.unwrap(), 1);
    let status = echo.quota_status(&me).await.unwrap();
    assert_eq!((status.used, status.reserved, status.active_runs), (0, 0, 0));
    assert_eq!(echo.expire_reservations().await.unwrap(), 0, "released once");

    // The run is executed after all: its answers are charged when it ends.
    let report = echo.resume_run(&me, run.id).await.unwrap().wait().await.unwrap();
    assert_eq!(report.counts.succeeded, 20);
    let status = echo.quota_status(&me).await.unwrap();
    assert_eq!((status.used, status.reserved), (20, 0));
}

async fn run_starts_are_rate_limited_per_api_key(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t("2026-11-10T09:00:00Z")));
    let policy = TieredQuotaPolicy::empty().tier("wide", TierLimits::new(1_000_000, 1_000, 1_000));
    let echo = builder
        .provider(simulated(7, Duration::ZERO, FailureRates::default()))
        .clock(clock.clone())
        .quota_policy(policy)
        .build()
        .await
        .unwrap();
    let host = account_in(&echo, "wide").await;
    let exp = echo.create_experiment(&host, spec(1)).await.unwrap();
    let key = |id: &str| Principal::with_scopes(host.account_id(), [Scope::RunsWrite], Actor::ApiKey(id.into()));
    let k1 = key("key-1");
    let opts = RunOptions::default();

    for _ in 0..10 {
        echo.enqueue_run(&k1, exp.id, &opts).await.unwrap();
    }
    let err = echo.enqueue_run(&k1, exp.id, &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(6)));
    assert!(err.to_string().contains("runs.start allows 10 per 60 s"), "{err}");
    // A refused start reserved nothing.
    assert_eq!(echo.quota_status(&host).await.unwrap().reserved, 40);

    // Another key, and the host acting for the account, have their own allowances.
    echo.enqueue_run(&key("key-2"), exp.id, &opts).await.unwrap();
    echo.enqueue_run(&host, exp.id, &opts).await.unwrap();

    // Resuming also starts work, so it counts too.
    let queued = echo.enqueue_run(&key("key-3"), exp.id, &opts).await.unwrap();
    assert_eq!(
        echo.resume_run(&k1, queued.id).await.unwrap_err().kind(),
        ErrorKind::RateLimited
    );

    clock.advance(Duration::from_secs(6));
    echo.enqueue_run(&k1, exp.id, &opts).await.unwrap();
    assert_eq!(
        echo.enqueue_run(&k1, exp.id, &opts).await.unwrap_err().kind(),
        ErrorKind::RateLimited
    );

    // Hosts limit their own endpoints with the same store-backed limiter.
    let reads = RateLimitPolicy::new("reports.read", 2, Duration::from_secs(1)).unwrap();
    assert!(echo.check_rate_limit(&k1, &reads).await.unwrap().allowed);
    assert!(echo.check_rate_limit(&k1, &reads).await.unwrap().allowed);
    let refused = echo.check_rate_limit(&k1, &reads).await.unwrap();
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after, Duration::from_millis(500));
    assert!(refused.headers().contains(&("Retry-After", "1".to_string())));
}

async fn unknown_tiers_are_refused_clearly(builder: EchoBuilder) {
    let echo = builder
        .provider(simulated(8, Duration::ZERO, FailureRates::default()))
        .build()
        .await
        .unwrap();
    let err = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "x".into(),
                tier: Some("gold".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("account.tier"));
    assert!(err.to_string().contains("defined: enterprise, free, pro"), "{err}");

    // An account whose tier the host later dropped from its policy: runs are refused with
    // a configuration error naming the tier, before anything is written.
    let me = account_in(&echo, "pro").await;
    let exp = echo.create_experiment(&me, spec(1)).await.unwrap();
    let narrower = Echo::builder()
        .store(echo.store().clone())
        .provider(simulated(8, Duration::ZERO, FailureRates::default()))
        .quota_policy(TieredQuotaPolicy::empty().tier("free", TierLimits::new(10, 10, 1)))
        .build()
        .await
        .unwrap();
    let err = narrower
        .enqueue_run(&me, exp.id, &RunOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("tier \"pro\" is not defined"), "{err}");
    assert_eq!(narrower.quota_status(&me).await.unwrap_err().kind(), ErrorKind::Config);
}

common::on_both_backends!(
    a_run_is_charged_for_its_answers_and_refunded_its_failures,
    a_cancelled_run_is_charged_only_for_what_was_answered,
    quota_refusals_come_before_anything_is_written_and_say_what_is_left,
    the_allowance_resets_at_the_month_boundary,
    an_abandoned_reservation_expires_and_a_late_finish_is_still_charged,
    run_starts_are_rate_limited_per_api_key,
    unknown_tiers_are_refused_clearly,
);
