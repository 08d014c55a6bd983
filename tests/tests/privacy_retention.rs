//! Retention through the engine, on SQLite and PostgreSQL with a manual clock: samples past
//! the raw-answer TTL lose their text in bounded batches while reports, dashboards and run
//! comparisons give exactly the same numbers; a second pass does nothing; the policy is
//! validated; the worker leader's daily `RetentionSweep` applies it.

mod common;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use echo_core::ErrorKind;
use echo_core::auth::Principal;
use echo_core::clock::{Clock, ManualClock};
use echo_core::engine::{Echo, EchoBuilder, MaintenanceTask, RunOptions, WorkerConfig};
use echo_core::model::{Report, RunId};
use echo_core::privacy::{RetentionPolicy, RetentionSweep};
use echo_core::provider::FailureRates;

const DAY: Duration = Duration::from_secs(86_400);

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_735_689_600, 0).unwrap() // 2025-01-01T00:00:00Z
}

/// A report as JSON without its generation time (the only field that depends on when it
/// is asked for).
fn report_json(report: &Report) -> serde_json::Value {
    let mut json = serde_json::to_value(report).unwrap();
    json.as_object_mut().unwrap().remove("generated_at");
    json
}

async fn engine(builder: EchoBuilder, clock: Arc<ManualClock>, policy: RetentionPolicy) -> Echo {
    builder
        .clock(clock)
        .provider(simulated(7, Duration::ZERO, FailureRates::default()))
        .retention_policy(policy)
        .build()
        .await
        .unwrap()
}

async fn finished_run(echo: &Echo, me: &Principal, exp: echo_core::model::ExperimentId) -> RunId {
    let report = echo
        .start_run(me, exp, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    report.run_id
}

async fn raw_answers_left(echo: &Echo, me: &Principal, run: RunId) -> usize {
    echo.store()
        .load_samples(me.account_id(), run)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.sample.raw_answer.is_some())
        .count()
}

async fn reports_dashboards_and_comparisons_are_unchanged_by_retention(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let policy = RetentionPolicy {
        batch_size: 7, // several batches for 2 runs x 40 samples
        ..RetentionPolicy::default()
    };
    let echo = engine(builder, clock.clone(), policy).await;
    let me = account(&echo, "retention").await;
    let exp = echo.create_experiment(&me, spec(10)).await.unwrap(); // 40 samples per run
    let old = finished_run(&echo, &me, exp.id).await;
    clock.advance(DAY * 60);
    let recent = finished_run(&echo, &me, exp.id).await;

    let report_old = report_json(&echo.report(&me, old).await.unwrap());
    let report_recent = report_json(&echo.report(&me, recent).await.unwrap());
    let comparison = serde_json::to_value(echo.compare_runs(&me, old, recent, 0.05).await.unwrap()).unwrap();
    let reanalysis = report_json(&echo.reanalyze(&me, old, brands()).await.unwrap());
    let summary = echo.store().account_summary(me.account_id()).await.unwrap();
    let visibility = echo.store().visibility_by_target(me.account_id(), None).await.unwrap();
    assert_eq!(raw_answers_left(&echo, &me, old).await, 40);

    // Day 91 after the first run: only it is past the 90-day TTL.
    clock.advance(DAY * 31);
    let admin = Principal::admin();
    let first = echo.apply_retention(&admin, clock.now()).await.unwrap();
    assert_eq!(first.samples_anonymized, 40, "{first:?}");
    assert_eq!(first.batches, 6, "40 samples in batches of 7: {first:?}");
    assert!(first.complete);
    assert_eq!(first.audit_events_purged, 0);
    assert_eq!(raw_answers_left(&echo, &me, old).await, 0);
    assert_eq!(raw_answers_left(&echo, &me, recent).await, 40);

    let second = echo.apply_retention(&admin, clock.now()).await.unwrap();
    assert_eq!(
        (second.samples_anonymized, second.batches),
        (0, 0),
        "idempotent: {second:?}"
    );

    assert_eq!(report_json(&echo.report(&me, old).await.unwrap()), report_old);
    assert_eq!(report_json(&echo.report(&me, recent).await.unwrap()), report_recent);
    assert_eq!(
        serde_json::to_value(echo.compare_runs(&me, old, recent, 0.05).await.unwrap()).unwrap(),
        comparison
    );
    assert_eq!(
        report_json(&echo.reanalyze(&me, old, brands()).await.unwrap()),
        reanalysis,
        "re-analysis with the same brands falls back to the kept mentions"
    );
    assert_eq!(echo.store().account_summary(me.account_id()).await.unwrap(), summary);
    assert_eq!(
        echo.store().visibility_by_target(me.account_id(), None).await.unwrap(),
        visibility
    );
    let sample = &echo.store().load_samples(me.account_id(), old).await.unwrap()[0].sample;
    assert!(sample.answer_sha256.is_some(), "the hash stays");
    assert_eq!(
        sample.anonymized_at,
        Some(echo_core::store::truncate_to_millis(clock.now()))
    );

    // Only the operator applies retention (it spans every account).
    let err = echo.apply_retention(&me, clock.now()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

async fn a_pass_stops_at_max_batches_and_the_next_continues(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let policy = RetentionPolicy {
        batch_size: 5,
        max_batches: 3,
        ..RetentionPolicy::default()
    };
    let echo = engine(builder, clock.clone(), policy).await;
    let me = account(&echo, "bounded").await;
    let exp = echo.create_experiment(&me, spec(10)).await.unwrap();
    let run = finished_run(&echo, &me, exp.id).await;
    clock.advance(DAY * 91);
    let admin = Principal::admin();
    let mut passes = Vec::new();
    loop {
        let report = echo.apply_retention(&admin, clock.now()).await.unwrap();
        passes.push((report.samples_anonymized, report.batches, report.complete));
        if report.complete {
            break;
        }
    }
    assert_eq!(passes, vec![(15, 3, false), (15, 3, false), (10, 2, true)]);
    assert_eq!(raw_answers_left(&echo, &me, run).await, 0);
}

async fn the_daily_sweep_runs_once_a_day(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = engine(builder, clock.clone(), RetentionPolicy::default()).await;
    let me = account(&echo, "daily").await;
    let exp = echo.create_experiment(&me, spec(1)).await.unwrap(); // 4 samples
    let a = finished_run(&echo, &me, exp.id).await; // answered at t0
    clock.set(t0() + chrono::Duration::days(2));
    let b = finished_run(&echo, &me, exp.id).await; // answered at t0 + 2 days

    let sweep = RetentionSweep::daily(echo.retention_policy().clone());
    let store = echo.store();
    let first = t0() + chrono::Duration::days(91) + chrono::Duration::hours(12);
    sweep.run(&**store, first).await.unwrap();
    assert_eq!(raw_answers_left(&echo, &me, a).await, 0, "a is past the TTL");
    assert_eq!(raw_answers_left(&echo, &me, b).await, 4);
    // 23 hours later b is due too, but the sweep already ran today.
    sweep.run(&**store, first + chrono::Duration::hours(23)).await.unwrap();
    assert_eq!(raw_answers_left(&echo, &me, b).await, 4);
    sweep.run(&**store, first + chrono::Duration::hours(24)).await.unwrap();
    assert_eq!(raw_answers_left(&echo, &me, b).await, 0);
}

async fn the_worker_leader_applies_retention(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = engine(builder, clock.clone(), RetentionPolicy::default()).await;
    let me = account(&echo, "leader").await;
    let exp = echo.create_experiment(&me, spec(1)).await.unwrap();
    let run = finished_run(&echo, &me, exp.id).await;
    clock.advance(DAY * 91);
    let worker = echo
        .worker(
            WorkerConfig::default()
                .poll_interval(Duration::from_millis(10))
                .leader(Duration::from_secs(30), Duration::from_millis(10)),
        )
        .unwrap()
        .start();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while raw_answers_left(&echo, &me, run).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the leader never applied retention"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = worker.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(report.maintenance_passes >= 1, "{report:?}");
}

async fn retention_policies_are_validated(builder: EchoBuilder) {
    for (policy, field) in [
        (
            RetentionPolicy {
                raw_answer_ttl: Duration::ZERO,
                ..Default::default()
            },
            "retention.raw_answer_ttl",
        ),
        (
            RetentionPolicy {
                audit_ttl: Duration::from_secs(3600),
                ..Default::default()
            },
            "retention.audit_ttl",
        ),
        (
            RetentionPolicy {
                deletion_grace: Duration::ZERO,
                ..Default::default()
            },
            "retention.deletion_grace",
        ),
        (
            RetentionPolicy {
                raw_answer_ttl: Duration::from_secs(u64::MAX),
                ..Default::default()
            },
            "retention.raw_answer_ttl",
        ),
        (
            RetentionPolicy {
                batch_size: 0,
                ..Default::default()
            },
            "retention.batch_size",
        ),
        (
            RetentionPolicy {
                max_batches: 0,
                ..Default::default()
            },
            "retention.max_batches",
        ),
    ] {
        let err = Echo::builder()
            .sqlite_memory()
            .retention_policy(policy)
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.field(), Some(field), "{err}");
    }
    let echo = builder.build().await.unwrap();
    assert_eq!(echo.retention_policy(), &RetentionPolicy::default());
    assert_eq!(echo.retention_policy().raw_answer_ttl, DAY * 90);
    assert_eq!(echo.retention_policy().audit_ttl, DAY * 730);
    assert_eq!(echo.retention_policy().deletion_grace, DAY * 30);
}

/// The audit TTL: events older than two years go as a whole prefix; what remains (the
/// newer events and the purge's own event) still verifies from the checkpoint.
async fn retention_purges_audit_events_past_their_ttl(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = engine(builder, clock.clone(), RetentionPolicy::default()).await;
    let me = account(&echo, "audit ttl").await;
    echo.create_experiment(&me, spec(2)).await.unwrap();
    clock.advance(DAY * 731);
    let recent = echo.create_experiment(&me, spec(2)).await.unwrap();
    let admin = Principal::admin();
    let report = echo.apply_retention(&admin, clock.now()).await.unwrap();
    assert!(
        report.audit_events_purged >= 2,
        "account and first experiment events are past the TTL: {report:?}"
    );
    let verification = echo.verify_audit_chain(&admin).await.unwrap();
    assert!(verification.ok, "{verification:?}");
    // The recent experiment's event is kept.
    let kept = echo
        .audit_events(
            &admin,
            &echo_core::audit::AuditQuery {
                account: Some(me.account_id()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        kept.events
            .iter()
            .any(|e| e.target.as_ref().is_some_and(|t| t.id == recent.id.to_string()))
    );
    // Idempotent: nothing more is old enough.
    let again = echo.apply_retention(&admin, clock.now()).await.unwrap();
    assert_eq!(again.audit_events_purged, 0);
}

common::on_both_backends!(
    reports_dashboards_and_comparisons_are_unchanged_by_retention,
    retention_purges_audit_events_past_their_ttl,
    a_pass_stops_at_max_batches_and_the_next_continues,
    the_daily_sweep_runs_once_a_day,
    the_worker_leader_applies_retention,
    retention_policies_are_validated,
);
