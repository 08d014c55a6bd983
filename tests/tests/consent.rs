//! Consent through the engine, on SQLite and PostgreSQL: when the host requires a purpose,
//! runs (started, enqueued, resumed and scheduled) refuse with `ConsentRequired` before
//! any quota is reserved or anything is written; grant → withdraw → grant, the latest
//! record wins; records are validated, recorded by the host only, isolated by account, and
//! the database refuses to edit or delete them while their account lives.

mod common;
mod databases;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use echo_core::auth::{Actor, Principal, Scope};
use echo_core::clock::ManualClock;
use echo_core::engine::{Echo, EchoBuilder, RunOptions, Schedule, WorkerConfig};
use echo_core::model::PageRequest;
use echo_core::privacy::ConsentRecord;
use echo_core::privacy::consent::DATA_PROCESSING;
use echo_core::provider::FailureRates;
use echo_core::{Error, ErrorKind};
use sqlx::Connection;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_735_689_600, 0).unwrap() // 2025-01-01T00:00:00Z
}

async fn requiring(builder: EchoBuilder) -> Echo {
    builder
        .provider(simulated(3, Duration::ZERO, FailureRates::default()))
        .require_consent(DATA_PROCESSING)
        .build()
        .await
        .unwrap()
}

/// Asserts a `ConsentRequired` refusal for data processing.
#[track_caller]
fn assert_refused(err: Error, withdrawn_expected: bool) {
    assert_eq!(err.kind(), ErrorKind::ConsentRequired, "{err}");
    match &err {
        Error::ConsentRequired { purpose, withdrawn } => {
            assert_eq!(purpose, DATA_PROCESSING);
            assert_eq!(*withdrawn, withdrawn_expected);
        }
        other => panic!("{other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("data_processing") && message.contains("record_consent"),
        "{message}"
    );
}

/// Nothing reserved, charged or enqueued for the account.
async fn assert_untouched(echo: &Echo, me: &Principal, exp: echo_core::model::ExperimentId, runs: usize) {
    let quota = echo.quota_status(me).await.unwrap();
    assert_eq!(quota.reserved, 0, "nothing reserved");
    assert_eq!(quota.active_runs, 0);
    let listed = echo.list_runs(me, exp, &PageRequest::default()).await.unwrap();
    assert_eq!(listed.items.len(), runs, "no run written");
}

async fn runs_need_the_latest_consent_to_grant_processing(builder: EchoBuilder) {
    let echo = requiring(builder).await;
    let me = account(&echo, "consenting").await;
    let other = account(&echo, "other").await;
    let exp = echo.create_experiment(&me, spec(1)).await.unwrap();

    assert_refused(
        echo.start_run(&me, exp.id, RunOptions::default()).await.unwrap_err(),
        false,
    );
    assert_refused(
        echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap_err(),
        false,
    );
    assert_untouched(&echo, &me, exp.id, 0).await;
    let used_before = echo.quota_status(&me).await.unwrap().used;

    // Another account's consent does not count for this one.
    echo.record_consent(&other, ConsentRecord::grant(DATA_PROCESSING, "2025-01"))
        .await
        .unwrap();
    assert_refused(
        echo.start_run(&me, exp.id, RunOptions::default()).await.unwrap_err(),
        false,
    );

    let granted = echo
        .record_consent(
            &me,
            ConsentRecord::grant(DATA_PROCESSING, "2025-01").source("signup_form"),
        )
        .await
        .unwrap();
    assert!(granted.granted);
    assert_eq!(granted.recorded_by, "host");
    let first = echo
        .start_run(&me, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(first.counts.succeeded, 4);

    echo.record_consent(
        &me,
        ConsentRecord::withdraw(DATA_PROCESSING, "2025-01").source("settings_page"),
    )
    .await
    .unwrap();
    let quota_before = echo.quota_status(&me).await.unwrap();
    assert_refused(
        echo.start_run(&me, exp.id, RunOptions::default()).await.unwrap_err(),
        true,
    );
    assert_refused(echo.resume_run(&me, first.run_id).await.unwrap_err(), true);
    assert_untouched(&echo, &me, exp.id, 1).await;
    let quota_after = echo.quota_status(&me).await.unwrap();
    assert_eq!(quota_after.used, quota_before.used, "nothing charged");
    assert_eq!(quota_after.used, used_before + 4);

    echo.record_consent(&me, ConsentRecord::grant(DATA_PROCESSING, "2025-06"))
        .await
        .unwrap();
    echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();

    let consents = echo.consents(&me).await.unwrap();
    assert_eq!(consents.history.len(), 3, "append-only: every decision kept");
    assert_eq!(
        consents.history.iter().map(|c| c.granted).collect::<Vec<_>>(),
        vec![true, false, true]
    );
    assert_eq!(consents.current.len(), 1);
    assert_eq!(consents.current[0].policy_version, "2025-06", "the latest wins");
    assert!(consents.is_granted(DATA_PROCESSING));
    let theirs = echo.consents(&other).await.unwrap();
    assert_eq!(theirs.history.len(), 1, "isolated by account");
}

async fn consent_records_are_validated_and_recorded_by_the_host(builder: EchoBuilder) {
    let echo = requiring(builder).await;
    let me = account(&echo, "validated").await;
    for (record, field) in [
        (ConsentRecord::grant("  ", "v1"), "consent.purpose"),
        (ConsentRecord::grant("data_processing", ""), "consent.policy_version"),
        (ConsentRecord::grant("x".repeat(101), "v1"), "consent.purpose"),
        (
            ConsentRecord::grant("data_processing", "v1").source(""),
            "consent.source",
        ),
        (ConsentRecord::grant("data\nprocessing", "v1"), "consent.purpose"),
    ] {
        let err = echo.record_consent(&me, record).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.field(), Some(field), "{err}");
    }
    let key = Principal::with_scopes(
        me.account_id(),
        [Scope::ExperimentsRead, Scope::ExperimentsWrite, Scope::RunsWrite],
        Actor::ApiKey("some-key".into()),
    );
    let err = echo
        .record_consent(&key, ConsentRecord::grant(DATA_PROCESSING, "v1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(echo.consents(&me).await.unwrap().history.is_empty(), "nothing written");

    // The operator may record for an account it names.
    let admin = Principal::admin().acting_for(me.account_id()).unwrap();
    let c = echo
        .record_consent(&admin, ConsentRecord::grant(" data_processing ", " v1 "))
        .await
        .unwrap();
    assert_eq!(
        (c.purpose.as_str(), c.policy_version.as_str(), c.recorded_by.as_str()),
        ("data_processing", "v1", "admin")
    );
    assert_eq!(echo.consents(&key).await.unwrap().current, vec![c], "keys may read");

    for bad in ["", " padded "] {
        let err = Echo::builder()
            .sqlite_memory()
            .require_consent(bad)
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("require_consent"), "{err}");
    }
}

async fn without_a_requirement_runs_need_no_consent(builder: EchoBuilder) {
    let echo = builder
        .provider(simulated(3, Duration::ZERO, FailureRates::default()))
        .build()
        .await
        .unwrap();
    let me = account(&echo, "free").await;
    let exp = echo.create_experiment(&me, spec(1)).await.unwrap();
    echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();
}

async fn scheduled_runs_wait_for_consent(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = requiring(builder.clock(clock.clone())).await;
    let me = account(&echo, "scheduled").await;
    let exp = echo.create_experiment(&me, spec(1)).await.unwrap();
    let slot = echo
        .set_schedule(&me, exp.id, Some(Schedule::Interval(Duration::from_secs(3600))))
        .await
        .unwrap()
        .unwrap();
    let worker = echo
        .worker(
            WorkerConfig::default()
                .poll_interval(Duration::from_millis(10))
                .leader(Duration::from_secs(30), Duration::from_millis(10)),
        )
        .unwrap()
        .start();
    clock.set(slot + chrono::Duration::seconds(5));
    // Many scheduler scans of the due slot, none of which may create (or reserve for) a run.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(echo.scheduled_run(&me, exp.id, slot).await.unwrap(), None);
    assert_untouched(&echo, &me, exp.id, 0).await;

    echo.record_consent(&me, ConsentRecord::grant(DATA_PROCESSING, "v1"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while echo.scheduled_run(&me, exp.id, slot).await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the slot was never served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.shutdown(Duration::from_secs(5)).await.unwrap();
}

common::on_both_backends!(
    runs_need_the_latest_consent_to_grant_processing,
    consent_records_are_validated_and_recorded_by_the_host,
    without_a_requirement_runs_need_no_consent,
    scheduled_runs_wait_for_consent,
);

/// The database itself keeps consents append-only: an UPDATE is refused, and so is a
/// DELETE while the account is active; once the account is being erased, its records may go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_to_edit_or_delete_consents_of_a_living_account() {
    for db in databases::all("consent_triggers").await {
        let backend = db.backend;
        let echo = Echo::builder().database_url(db.url.clone()).build().await.unwrap();
        let me = account(&echo, "append-only").await;
        echo.record_consent(&me, ConsentRecord::grant(DATA_PROCESSING, "v1"))
            .await
            .unwrap();
        let (update, delete, erase) = match backend {
            "postgres" => (
                "UPDATE consents SET granted = false",
                "DELETE FROM consents",
                "UPDATE accounts SET status = 'deleting'",
            ),
            _ => (
                "UPDATE consents SET granted = 0",
                "DELETE FROM consents",
                "UPDATE accounts SET status = 'deleting'",
            ),
        };
        let run = async |sql: &str| -> Result<u64, String> {
            if backend == "postgres" {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                sqlx::query(sql)
                    .execute(&mut conn)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| e.to_string())
            } else {
                let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                sqlx::query(sql)
                    .execute(&mut conn)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| e.to_string())
            }
        };
        let err = run(update).await.unwrap_err();
        assert!(err.contains("append-only"), "[{backend}] {err}");
        let err = run(delete).await.unwrap_err();
        assert!(err.contains("append-only"), "[{backend}] {err}");
        assert_eq!(echo.consents(&me).await.unwrap().history.len(), 1, "[{backend}]");
        run(erase).await.unwrap();
        assert_eq!(run(delete).await.unwrap(), 1, "[{backend}] erasure may delete them");
        echo.close().await;
        db.cleanup().await;
    }
}
