//! Account deletion (GDPR erasure) through the engine: a request blocks the account at
//! once (keys revoked, every operation refused, runs cancelled with their quota settled);
//! the operator can cancel it before the deadline; after the deadline the erasure sweep
//! deletes everything in batches, survives being stopped after one batch, verifies that no
//! row remains and leaves another account untouched.
//!
//! Every case runs on SQLite (in memory) and on PostgreSQL (a database of its own; skipped
//! loudly when no server is reachable outside CI).

mod common;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use echo_core::ErrorKind;
use echo_core::auth::{AuthFailure, NewApiKey, Principal, Scope};
use echo_core::clock::{Clock, ManualClock};
use echo_core::engine::{Echo, EchoBuilder, MaintenanceTask, RunOptions, Schedule};
use echo_core::gdpr::ErasureSweep;
use echo_core::model::{PageRequest, RunStatus};
use echo_core::provider::FailureRates;
use echo_core::store::AccountStatus;
use echo_core::store::gdpr::DeletionStatus;
use secrecy::ExposeSecret;
use serde_json::Value;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-15T12:00:00Z").unwrap().to_utc()
}

const GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The export's counts of an account: what a host could observe of it.
async fn counts(echo: &Echo, principal: &Principal) -> Value {
    let admin = Principal::admin().acting_for(principal.account_id()).unwrap();
    let mut bytes = Vec::new();
    echo.export_account(&admin, &mut bytes).await.unwrap();
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    let mut counts = bundle["counts"].clone();
    for facts in ["mentions", "citations"] {
        let n: usize = bundle["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[facts].as_array().unwrap().len())
            .sum();
        counts[facts] = n.into();
    }
    // The account's own data; its audit trail grows with every export (each is audited).
    counts.as_object_mut().unwrap().remove("audit_events");
    counts
}

/// An account with a key, a scheduled experiment, a finished run and a run enqueued but
/// not executed (pending). Returns the principal, the key's secret and the pending run.
async fn busy_account(echo: &Echo, name: &str) -> (Principal, String, echo_core::model::RunId) {
    let me = account(echo, name).await;
    let key = echo
        .create_api_key(&me, NewApiKey::new("ci", [Scope::ExperimentsRead, Scope::RunsWrite]))
        .await
        .unwrap();
    let exp = echo.create_experiment(&me, spec(2)).await.unwrap();
    let done = echo.start_run(&me, exp.id, RunOptions::default()).await.unwrap();
    assert_eq!(done.wait().await.unwrap().status, RunStatus::Completed);
    let pending = echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();
    echo.set_schedule(&me, exp.id, Some(Schedule::Interval(Duration::from_secs(3600))))
        .await
        .unwrap();
    (me, key.secret.expose_secret().to_string(), pending.id)
}

#[track_caller]
fn assert_blocked<T: std::fmt::Debug>(result: echo_core::Result<T>, what: &str) {
    let err = result.expect_err(what);
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{what}: {err}");
    assert_eq!(
        err.account_status(),
        Some(AccountStatus::DeletionPending),
        "{what}: {err}"
    );
    assert!(err.to_string().contains("scheduled for erasure"), "{what}: {err}");
}

async fn deletion_blocks_at_once_and_cancellation_restores(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = builder
        .provider(simulated(5, Duration::ZERO, FailureRates::none()))
        .clock(clock.clone())
        .deletion_grace(GRACE)
        .build()
        .await
        .unwrap();
    let (me, secret, pending_run) = busy_account(&echo, "leaving").await;
    let exp = echo.list_experiments(&me, &PageRequest::default()).await.unwrap().items[0].id;
    assert!(
        echo.quota_status(&me).await.unwrap().reserved > 0,
        "the pending run holds quota"
    );

    // API keys cannot request a deletion.
    let key_principal = echo.authenticate(&secret).await.unwrap();
    assert_eq!(
        echo.request_deletion(&key_principal).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );

    let request = echo.request_deletion(&me).await.unwrap();
    assert_eq!(request.deadline, t0() + chrono::Duration::from_std(GRACE).unwrap());
    assert_eq!(request.keys_revoked, 1);
    assert_eq!(request.runs_cancelled, vec![pending_run]);
    assert_eq!(request.schedules_paused, 1);

    // At once: the key fails, every operation is refused with a clear error.
    let err = echo.authenticate(&secret).await.unwrap_err();
    assert_eq!(err.auth_failure(), Some(AuthFailure::Revoked));
    assert_blocked(echo.get_account(&me).await, "get_account");
    assert_blocked(echo.get_experiment(&me, exp).await, "get_experiment");
    assert_blocked(echo.start_run(&me, exp, RunOptions::default()).await, "start_run");
    assert_blocked(
        echo.create_api_key(&me, NewApiKey::new("again", [Scope::ExperimentsRead]))
            .await,
        "create_api_key",
    );
    assert_blocked(echo.quota_status(&me).await, "quota_status");
    assert_blocked(echo.export_account(&me, Vec::new()).await, "export by the host");
    assert_eq!(
        echo.request_deletion(&me).await.unwrap_err().kind(),
        ErrorKind::Conflict,
        "a second request"
    );
    // The pending run was cancelled and its quota settled.
    let run = echo.store().get_run(me.account_id(), pending_run).await.unwrap();
    assert_eq!(run.status, RunStatus::Cancelled);
    let admin = Principal::admin().acting_for(me.account_id()).unwrap();
    let usage = echo
        .store()
        .quota_usage(
            me.account_id(),
            echo.quota_policy().period(clock.now()).start,
            clock.now(),
        )
        .await
        .unwrap();
    assert_eq!(usage.reserved, 0, "the cancelled run's reservation is refunded");
    let state = echo.store().account_state(me.account_id()).await.unwrap();
    assert_eq!(state.status, AccountStatus::DeletionPending);

    // Only the operator may cancel.
    for p in [me.clone(), key_principal.clone(), Principal::admin()] {
        assert_eq!(
            echo.cancel_deletion(&p).await.unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
    }
    clock.advance(Duration::from_secs(3600));
    let cancelled = echo.cancel_deletion(&admin).await.unwrap();
    assert_eq!(cancelled.status, DeletionStatus::Cancelled);
    // Restored: operations work again, the schedule resumes from now; keys stay revoked.
    echo.get_experiment(&me, exp).await.unwrap();
    let schedule = echo.schedule(&me, exp).await.unwrap().expect("schedule re-armed");
    assert_eq!(schedule.next_run_at, clock.now() + chrono::Duration::hours(1));
    assert_eq!(
        echo.authenticate(&secret).await.unwrap_err().auth_failure(),
        Some(AuthFailure::Revoked)
    );
    echo.create_api_key(&me, NewApiKey::new("new", [Scope::ExperimentsRead]))
        .await
        .unwrap();

    // A new request cannot be cancelled from its deadline on, and is not erased before it.
    let second = echo.request_deletion(&admin).await.unwrap();
    clock.advance(GRACE - Duration::from_secs(1));
    let pass = echo.erase_due_accounts(100).await.unwrap();
    assert_eq!((pass.batches, pass.completed.len()), (0, 0), "nothing due yet");
    clock.advance(Duration::from_secs(1));
    assert_eq!(clock.now(), second.deadline);
    let err = echo.cancel_deletion(&admin).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("can no longer be cancelled"), "{err}");
    let history = echo.deletion_requests(&admin).await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![DeletionStatus::Pending, DeletionStatus::Cancelled]
    );
}

async fn erasure_runs_in_batches_resumes_and_verifies(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = builder
        .provider(simulated(6, Duration::ZERO, FailureRates::none()))
        .clock(clock.clone())
        .deletion_grace(GRACE)
        .erasure_batch(5)
        .build()
        .await
        .unwrap();
    let (leaving, _, _) = busy_account(&echo, "leaving").await;
    let (staying, staying_secret, _) = busy_account(&echo, "staying").await;
    let staying_before = counts(&echo, &staying).await;
    let leaving_before = counts(&echo, &leaving).await;
    assert_eq!(
        leaving_before["samples"], 16,
        "a finished and a cancelled run of 8 samples"
    );

    let request = echo.request_deletion(&leaving).await.unwrap();
    clock.advance(GRACE);

    // A pass limited to one batch: a crash or a lost leadership after it loses nothing.
    let sweep = ErasureSweep {
        batch_size: 5,
        max_batches: 1,
    };
    sweep.run(&**echo.store(), clock.now()).await.unwrap();
    let state = echo.store().account_state(leaving.account_id()).await.unwrap();
    assert_eq!(
        state.status,
        AccountStatus::DeletionPending,
        "not erased after one batch"
    );
    let first = echo.erase_due_accounts(1).await.unwrap();
    assert_eq!(first.batches, 1);
    assert!(first.more && first.completed.is_empty());

    // The rest, in small batches.
    let rest = echo.erase_due_accounts(1_000).await.unwrap();
    assert!(!rest.more);
    assert!(
        rest.batches >= 4,
        "16 samples in batches of 5, then the other tables: {}",
        rest.batches
    );
    assert_eq!(rest.completed.len(), 1);
    let report = &rest.completed[0];
    assert_eq!(report.request_id, request.id);
    assert_eq!(report.account_id, leaving.account_id());
    assert_eq!(report.erased_at, clock.now());
    assert!(report.remaining.values().all(|n| *n == 0), "{:?}", report.remaining);
    assert!(report.tables_verified().contains(&"samples"));
    assert_eq!(report.rows_deleted["samples"], 16);
    assert_eq!(report.rows_deleted["runs"], 2);
    assert_eq!(report.rows_deleted["experiments"], 1);
    assert_eq!(report.rows_deleted["api_keys"], 1);
    assert_eq!(report.rows_deleted["accounts"], 1);
    assert_eq!(
        report.rows_deleted["mentions"],
        leaving_before["mentions"].as_u64().unwrap()
    );
    assert_eq!(
        report.rows_deleted["citations"],
        leaving_before["citations"].as_u64().unwrap()
    );
    assert!(report.rows_deleted["mentions"] > 0);

    // Gone: the account answers NotFound everywhere; the request is its tombstone.
    assert_eq!(
        echo.store()
            .account_state(leaving.account_id())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        echo.get_account(&leaving).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let admin = Principal::admin().acting_for(leaving.account_id()).unwrap();
    assert_eq!(
        echo.export_account(&admin, Vec::new()).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let tombstone = &echo.deletion_requests(&admin).await.unwrap()[0];
    assert_eq!(tombstone.status, DeletionStatus::Completed);
    assert_eq!(tombstone.details["remaining"]["samples"], 0);
    assert_eq!(tombstone.details["rows_deleted"]["samples"], 16);
    // Another pass finds nothing to do.
    let again = echo.erase_due_accounts(1_000).await.unwrap();
    assert_eq!((again.batches, again.completed.len()), (0, 0));

    // The other account is untouched.
    assert_eq!(counts(&echo, &staying).await, staying_before);
    echo.authenticate(&staying_secret).await.unwrap();
    assert!(echo.quota_status(&staying).await.unwrap().used > 0);
}

common::on_both_backends!(
    deletion_blocks_at_once_and_cancellation_restores,
    erasure_runs_in_batches_resumes_and_verifies,
);
