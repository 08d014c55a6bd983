//! The audit trail through the facade, on SQLite and PostgreSQL with a simulated clock:
//! every audited operation writes exactly its event (the table `AUDITED_OPERATIONS` is
//! walked), refusals are `denied`/`failed`, no secret reaches any column, the query is
//! admin-only and filters and paginates, the event commits with its change or not at all,
//! retention and erasure keep the chain verifiable, and an external anchor is checked.

mod common;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use echo_core::ErrorKind;
use echo_core::audit::{AUDITED_OPERATIONS, ActorKind, AuditAction, AuditEvent, AuditQuery, AuditResult};
use echo_core::auth::{NewApiKey, Principal, RequestContext, Scope};
use echo_core::clock::{Clock, ManualClock};
use echo_core::engine::{Echo, EchoBuilder, RunOptions, Schedule};
use echo_core::model::NewAccount;
use echo_core::privacy::PrivacySettings;
use echo_core::privacy::consent::{ConsentRecord, DATA_PROCESSING};
use echo_core::provider::FailureRates;
use secrecy::ExposeSecret;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_735_689_600_000).unwrap()
}

fn request(n: u32) -> RequestContext {
    RequestContext {
        ip: Some(format!("203.0.113.{n}")),
        user_agent: Some("audit-test/1.0".into()),
        request_id: Some(format!("req-{n}")),
        correlation_id: Some(format!("corr-{n}")),
    }
}

async fn engine(builder: EchoBuilder) -> (Echo, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = builder
        .provider(simulated(7, Duration::ZERO, FailureRates::default()))
        .clock(clock.clone() as Arc<dyn Clock>)
        .build()
        .await
        .unwrap();
    (echo, clock)
}

/// Every event after `seq`, oldest first.
async fn events_after(echo: &Echo, seq: i64) -> Vec<AuditEvent> {
    // Read through the store: the facade's query would add its own audit.read event.
    echo.store()
        .audit_events(&AuditQuery {
            after_seq: Some(seq),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .events
}

async fn head(echo: &Echo) -> i64 {
    echo.store().audit_head().await.unwrap().seq
}

/// Runs `op` and returns the events it wrote.
async fn written<T>(echo: &Echo, op: impl std::future::Future<Output = T>) -> (T, Vec<AuditEvent>) {
    let before = head(echo).await;
    let out = op.await;
    (out, events_after(echo, before).await)
}

#[track_caller]
fn assert_one(events: &[AuditEvent], action: AuditAction, actor: ActorKind, target: Option<(&str, String)>) {
    assert_eq!(events.len(), 1, "{action}: exactly one event, got {events:#?}");
    let e = &events[0];
    assert_eq!(e.action, action.as_str());
    assert_eq!(e.actor.kind, actor, "{action}: actor");
    assert_eq!(e.result, AuditResult::Success, "{action}: result");
    if let Some((kind, id)) = target {
        let t = e.target.as_ref().unwrap_or_else(|| panic!("{action}: no target"));
        assert_eq!((t.kind.as_str(), &t.id), (kind, &id), "{action}: target");
    }
}

async fn every_audited_operation_writes_exactly_its_event(builder: EchoBuilder) {
    let (echo, clock) = engine(builder).await;
    let mut covered = BTreeSet::new();
    let operator = Principal::admin().with_request(request(1));

    let (account, ev) = written(&echo, async {
        echo.create_account(
            &operator,
            NewAccount {
                name: "acme".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::AccountCreate,
        ActorKind::Admin,
        Some(("account", account.id.to_string())),
    );
    assert_eq!(ev[0].account_id, Some(account.id));
    assert_eq!(ev[0].request.ip.as_deref(), Some("203.0.113.1"));
    assert_eq!(ev[0].request.correlation_id.as_deref(), Some("corr-1"));
    covered.insert(AuditAction::AccountCreate);

    let me = Principal::host(account.id).with_request(request(2));
    let (exp, ev) = written(&echo, async { echo.create_experiment(&me, spec(1)).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::ExperimentCreate,
        ActorKind::Host,
        Some(("experiment", exp.id.to_string())),
    );
    assert_eq!(ev[0].account_id, Some(account.id));
    assert_eq!(ev[0].request.request_id.as_deref(), Some("req-2"));
    covered.insert(AuditAction::ExperimentCreate);

    let (_, ev) = written(&echo, async {
        echo.update_experiment(&me, exp.id, spec(2)).await.unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::ExperimentUpdate,
        ActorKind::Host,
        Some(("experiment", exp.id.to_string())),
    );
    covered.insert(AuditAction::ExperimentUpdate);

    let every_hour = Schedule::Interval(Duration::from_secs(3600));
    let (_, ev) = written(&echo, async {
        echo.set_schedule(&me, exp.id, Some(every_hour)).await.unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::ScheduleSet,
        ActorKind::Host,
        Some(("experiment", exp.id.to_string())),
    );
    covered.insert(AuditAction::ScheduleSet);
    let (_, ev) = written(&echo, async { echo.set_schedule(&me, exp.id, None).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::ScheduleClear,
        ActorKind::Host,
        Some(("experiment", exp.id.to_string())),
    );
    covered.insert(AuditAction::ScheduleClear);

    let (key, ev) = written(&echo, async {
        echo.create_api_key(&me, NewApiKey::new("ci", [Scope::ExperimentsRead, Scope::RunsWrite]))
            .await
            .unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::ApiKeyCreate,
        ActorKind::Host,
        Some(("api_key", key.key.id.to_string())),
    );
    assert_eq!(ev[0].details["display_prefix"], key.key.display_prefix.as_str());
    covered.insert(AuditAction::ApiKeyCreate);

    // A key principal's events name the key (its id, never the key).
    let keyed = echo.authenticate(key.secret.expose_secret()).await.unwrap();
    let (run, ev) = written(&echo, async {
        echo.enqueue_run(&keyed, exp.id, &RunOptions::default()).await.unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::RunEnqueue,
        ActorKind::ApiKey,
        Some(("run", run.id.to_string())),
    );
    assert_eq!(ev[0].actor.id, Some(key.key.id.to_string()));
    covered.insert(AuditAction::RunEnqueue);

    // Resuming: the request, then the run's terminal transition by the finalizer.
    let (_, ev) = written(&echo, async {
        echo.resume_run(&me, run.id).await.unwrap().wait().await.unwrap()
    })
    .await;
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert_one(
        &ev[..1],
        AuditAction::RunResume,
        ActorKind::Host,
        Some(("run", run.id.to_string())),
    );
    assert_one(
        &ev[1..],
        AuditAction::RunFinish,
        ActorKind::System,
        Some(("run", run.id.to_string())),
    );
    assert_eq!(ev[1].details["status"], "completed");
    covered.insert(AuditAction::RunResume);
    covered.insert(AuditAction::RunFinish);

    // start_run = enqueue + execution: two events.
    let (_, ev) = written(&echo, async {
        echo.start_run(&me, exp.id, RunOptions::default())
            .await
            .unwrap()
            .wait()
            .await
            .unwrap()
    })
    .await;
    let actions: Vec<&str> = ev.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["run.enqueue", "run.finish"]);

    // Cancelling a run not executing here: one event, with the status change.
    let pending = echo.enqueue_run(&me, exp.id, &RunOptions::default()).await.unwrap();
    let (_, ev) = written(&echo, async { echo.cancel_run(&me, pending.id).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::RunCancel,
        ActorKind::Host,
        Some(("run", pending.id.to_string())),
    );
    assert_eq!(ev[0].details["status"], "cancelled");
    covered.insert(AuditAction::RunCancel);

    // Reading a run's raw answers back (reanalyze) is a sensitive read, recorded after it.
    let (_, ev) = written(&echo, async {
        echo.reanalyze(&me, run.id, vec![echo_core::model::BrandSpec::target("Acme")])
            .await
            .unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::SamplesReadRaw,
        ActorKind::Host,
        Some(("run", run.id.to_string())),
    );
    assert_eq!(ev[0].details["operation"], "reanalyze");
    assert_eq!(ev[0].request.request_id.as_deref(), Some("req-2"));
    covered.insert(AuditAction::SamplesReadRaw);

    let (_, ev) = written(&echo, async { echo.revoke_api_key(&me, key.key.id).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::ApiKeyRevoke,
        ActorKind::Host,
        Some(("api_key", key.key.id.to_string())),
    );
    covered.insert(AuditAction::ApiKeyRevoke);

    // An operator reading an account's data.
    let support = Principal::admin().acting_for(account.id).unwrap();
    let (_, ev) = written(&echo, async { echo.get_experiment(&support, exp.id).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::AdminAccess,
        ActorKind::Admin,
        Some(("experiment", exp.id.to_string())),
    );
    assert_eq!(ev[0].details["operation"], "get_experiment");
    covered.insert(AuditAction::AdminAccess);
    // The tenant's own reads are not audited.
    let (_, ev) = written(&echo, async { echo.get_experiment(&me, exp.id).await.unwrap() }).await;
    assert!(ev.is_empty(), "{ev:#?}");

    let (_, ev) = written(&echo, async {
        echo.audit_events(&Principal::admin(), &AuditQuery::default())
            .await
            .unwrap()
    })
    .await;
    assert_one(&ev, AuditAction::AuditRead, ActorKind::Admin, None);
    covered.insert(AuditAction::AuditRead);

    let other = echo.create_experiment(&me, spec(1)).await.unwrap();
    let (_, ev) = written(&echo, async { echo.delete_experiment(&me, other.id).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::ExperimentDelete,
        ActorKind::Host,
        Some(("experiment", other.id.to_string())),
    );
    covered.insert(AuditAction::ExperimentDelete);

    // Privacy and data-subject operations.
    let (_, ev) = written(&echo, async {
        echo.record_consent(&me, ConsentRecord::grant(DATA_PROCESSING, "2026-01"))
            .await
            .unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::ConsentRecord,
        ActorKind::Host,
        Some(("account", account.id.to_string())),
    );
    assert_eq!(ev[0].details["purpose"], DATA_PROCESSING);
    covered.insert(AuditAction::ConsentRecord);

    let (_, ev) = written(&echo, async {
        echo.set_privacy_settings(&me, PrivacySettings::redacting())
            .await
            .unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::PrivacySettingsSet,
        ActorKind::Host,
        Some(("account", account.id.to_string())),
    );
    covered.insert(AuditAction::PrivacySettingsSet);

    let (summary, ev) = written(&echo, async {
        let mut bundle = Vec::new();
        echo.export_account(&me, &mut bundle).await.unwrap()
    })
    .await;
    assert_one(
        &ev,
        AuditAction::AccountExport,
        ActorKind::Host,
        Some(("account", account.id.to_string())),
    );
    assert_eq!(ev[0].details["bytes"], summary.bytes);
    covered.insert(AuditAction::AccountExport);

    let (_, ev) = written(&echo, async { echo.request_deletion(&me).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::AccountDeletionRequest,
        ActorKind::Host,
        Some(("account", account.id.to_string())),
    );
    covered.insert(AuditAction::AccountDeletionRequest);
    let (_, ev) = written(&echo, async { echo.cancel_deletion(&support).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::AccountDeletionCancel,
        ActorKind::Admin,
        Some(("account", account.id.to_string())),
    );
    covered.insert(AuditAction::AccountDeletionCancel);
    // Refused (only the operator may cancel a deletion): recorded as denied.
    let (_, ev) = written(&echo, async { echo.cancel_deletion(&me).await.unwrap_err() }).await;
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0].action, AuditAction::AccountDeletionCancel.as_str());
    assert_ne!(ev[0].result, AuditResult::Success);

    // A second account erased after its grace period: the sweep records the erasure.
    let doomed = echo
        .create_account(
            &operator,
            NewAccount {
                name: "doomed".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let doomed_host = Principal::host(doomed.id);
    echo.create_experiment(&doomed_host, spec(1)).await.unwrap();
    echo.request_deletion(&doomed_host).await.unwrap();
    clock.advance(Duration::from_secs(31 * 86_400));
    let (pass, ev) = written(&echo, async { echo.erase_due_accounts(100).await.unwrap() }).await;
    assert_eq!(pass.completed.len(), 1);
    let erased: Vec<_> = ev
        .iter()
        .filter(|e| e.action == AuditAction::AccountErase.as_str())
        .cloned()
        .collect();
    assert_one(
        &erased,
        AuditAction::AccountErase,
        ActorKind::System,
        Some(("account", doomed.id.to_string())),
    );
    assert!(erased[0].details["rows_deleted"].as_u64().unwrap() >= 2);
    covered.insert(AuditAction::AccountErase);

    let (_, ev) = written(&echo, async {
        echo.apply_retention(&Principal::admin(), clock.now()).await.unwrap()
    })
    .await;
    let applied: Vec<_> = ev
        .iter()
        .filter(|e| e.action == AuditAction::RetentionApply.as_str())
        .cloned()
        .collect();
    assert_one(&applied, AuditAction::RetentionApply, ActorKind::System, None);
    covered.insert(AuditAction::RetentionApply);

    // Past the raw-answer TTL, the pass erases answers: each batch records itself.
    clock.advance(Duration::from_secs(91 * 86_400));
    let (report, ev) = written(&echo, async {
        echo.apply_retention(&Principal::admin(), clock.now()).await.unwrap()
    })
    .await;
    assert!(report.samples_anonymized > 0, "{report:?}");
    let batches: Vec<_> = ev
        .iter()
        .filter(|e| e.action == AuditAction::SamplesAnonymize.as_str())
        .collect();
    assert_eq!(batches.len(), report.batches as usize, "one event per batch: {ev:#?}");
    assert!(batches.iter().all(|e| e.actor.kind == ActorKind::System));
    let recorded: u64 = batches
        .iter()
        .map(|e| e.details["samples_anonymized"].as_u64().unwrap())
        .sum();
    assert_eq!(recorded, report.samples_anonymized);
    covered.insert(AuditAction::SamplesAnonymize);

    let (n, ev) = written(&echo, async {
        echo.erase_audit_personal_data(account.id).await.unwrap()
    })
    .await;
    assert!(n >= 5, "the account's events with a request context: {n}");
    assert_one(
        &ev,
        AuditAction::AuditErasePersonalData,
        ActorKind::System,
        Some(("account", account.id.to_string())),
    );
    covered.insert(AuditAction::AuditErasePersonalData);

    clock.advance(Duration::from_secs(3 * 365 * 86_400));
    let cutoff = clock.now() - chrono::Duration::days(730);
    let (report, ev) = written(&echo, async { echo.purge_audit_events(cutoff).await.unwrap() }).await;
    assert!(report.events_deleted > 10, "{report:?}");
    assert_one(&ev, AuditAction::AuditPurge, ActorKind::System, None);
    covered.insert(AuditAction::AuditPurge);

    let table: BTreeSet<AuditAction> = AUDITED_OPERATIONS.iter().map(|(_, a, _)| *a).collect();
    let covered_names: BTreeSet<&str> = covered.iter().map(|a| a.as_str()).collect();
    let table_names: BTreeSet<&str> = table.iter().map(|a| a.as_str()).collect();
    assert_eq!(
        covered_names, table_names,
        "every operation of AUDITED_OPERATIONS is exercised"
    );
    let all: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(table_names, all, "every action has an operation in the table");

    let v = echo.verify_audit_chain(&Principal::admin()).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert!(v.from_checkpoint.is_some());
    echo.close().await;
}

/// A cancellation through the run's handle is recorded like `cancel_run`'s: `run.cancel` by
/// the principal that started the run (with its request context), then `run.finish`.
async fn cancelling_through_the_handle_is_audited(builder: EchoBuilder) {
    let echo = builder
        .provider(simulated(7, Duration::from_millis(200), FailureRates::default()))
        .build()
        .await
        .unwrap();
    let me = account(&echo, "handle").await.with_request(request(3));
    let exp = echo.create_experiment(&me, spec(5)).await.unwrap();
    let before = head(&echo).await;
    let handle = echo
        .start_run(
            &me,
            exp.id,
            RunOptions {
                concurrency: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let run = handle.run_id();
    handle.cancel();
    let report = handle.wait().await.unwrap();
    assert_eq!(report.status, echo_core::model::RunStatus::Cancelled);

    let ev = events_after(&echo, before).await;
    let actions: Vec<&str> = ev.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["run.enqueue", "run.cancel", "run.finish"], "{ev:#?}");
    assert_one(
        &ev[1..2],
        AuditAction::RunCancel,
        ActorKind::Host,
        Some(("run", run.to_string())),
    );
    assert_eq!(ev[1].details["via"], "run_handle");
    assert_eq!(ev[1].request.correlation_id.as_deref(), Some("corr-3"));
    assert_eq!(ev[2].details["status"], "cancelled");
    assert!(echo.verify_audit_chain(&Principal::admin()).await.unwrap().ok);
    echo.close().await;
}

async fn refusals_are_audited_as_denied_or_failed(builder: EchoBuilder) {
    let (echo, _clock) = engine(builder).await;
    let me = account(&echo, "a").await;
    let them = account(&echo, "b").await;
    let theirs = echo.create_experiment(&them, spec(1)).await.unwrap();
    let key = echo
        .create_api_key(&me, NewApiKey::new("read only", [Scope::ExperimentsRead]))
        .await
        .unwrap();
    let reader = echo.authenticate(key.secret.expose_secret()).await.unwrap();

    // Missing scope.
    let (res, ev) = written(&echo, echo.create_experiment(&reader, spec(1))).await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0].action, "experiment.create");
    assert_eq!(ev[0].result, AuditResult::Denied);
    assert_eq!(ev[0].error_kind.as_deref(), Some("permission_denied"));
    assert_eq!(ev[0].actor.id, Some(key.key.id.to_string()));
    assert_eq!(ev[0].account_id, Some(me.account_id()));

    // Another account's object: denied, with the target the caller named.
    let (res, ev) = written(&echo, echo.delete_experiment(&me, theirs.id)).await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].action.as_str(), ev[0].result),
        ("experiment.delete", AuditResult::Denied)
    );
    assert_eq!(ev[0].target.as_ref().unwrap().id, theirs.id.to_string());
    assert!(
        echo.get_experiment(&them, theirs.id).await.is_ok(),
        "nothing was deleted"
    );

    // Invalid input: failed, and nothing else written.
    let mut bad = spec(1);
    bad.prompts.clear();
    let (res, ev) = written(&echo, echo.create_experiment(&me, bad)).await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].result, ev[0].error_kind.as_deref()),
        (AuditResult::Failed, Some("invalid_input"))
    );

    // Only an operator creates accounts.
    let (res, ev) = written(&echo, echo.create_account(&me, NewAccount::default())).await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        (ev[0].action.as_str(), ev[0].result),
        ("account.create", AuditResult::Denied)
    );

    // Revoking a missing key; cancelling another account's run.
    let (res, ev) = written(&echo, echo.revoke_api_key(&me, echo_core::model::ApiKeyId::new())).await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        (ev[0].action.as_str(), ev[0].result),
        ("api_key.revoke", AuditResult::Denied)
    );
    let their_run = echo
        .enqueue_run(&them, theirs.id, &RunOptions::default())
        .await
        .unwrap();
    let (res, ev) = written(&echo, echo.cancel_run(&me, their_run.id)).await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        (ev[0].action.as_str(), ev[0].result),
        ("run.cancel", AuditResult::Denied)
    );
    // Trying to read another account's raw answers is recorded as denied.
    let (res, ev) = written(
        &echo,
        echo.reanalyze(&me, their_run.id, vec![echo_core::model::BrandSpec::target("Acme")]),
    )
    .await;
    assert_eq!(res.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        (ev[0].action.as_str(), ev[0].result),
        ("samples.read_raw", AuditResult::Denied)
    );
    assert!(echo.verify_audit_chain(&Principal::admin()).await.unwrap().ok);
    echo.close().await;
}

async fn no_secret_reaches_the_audit_trail(builder: EchoBuilder) {
    let (echo, _clock) = engine(builder).await;
    let me = account(&echo, "a").await;
    let mut secrets = Vec::new();
    for i in 0..3 {
        let key = echo
            .create_api_key(
                &me,
                NewApiKey::new(format!("k{i}"), [Scope::ExperimentsRead, Scope::KeysManage]),
            )
            .await
            .unwrap();
        let keyed = echo.authenticate(key.secret.expose_secret()).await.unwrap();
        echo.create_api_key(&keyed, NewApiKey::new("child", [Scope::ExperimentsRead]))
            .await
            .unwrap();
        echo.revoke_api_key(&keyed, key.key.id).await.unwrap();
        secrets.push(key.secret.expose_secret().to_string());
    }
    // Every stored column of every row, as stored.
    let rows = echo.store().audit_rows(0, 10_000).await.unwrap();
    assert!(rows.len() >= 9);
    let dump = format!("{rows:?}");
    let dump_hex = rows
        .iter()
        .map(|r| format!("{} {}", r.details, hex::encode(&r.hash)))
        .collect::<String>();
    for secret in &secrets {
        // The secret part (after the 10-character prefix), in any 12-character window.
        let body = &secret[10..];
        for start in 0..=body.len() - 12 {
            let window = &body[start..start + 12];
            assert!(
                !dump.contains(window),
                "a piece of a key's secret is in the audit trail"
            );
        }
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret.as_bytes()));
        assert!(
            !dump.contains(&sha) && !dump_hex.contains(&sha),
            "a key's hash is in the audit trail"
        );
    }
    echo.close().await;
}

async fn the_query_is_admin_only_filters_and_paginates(builder: EchoBuilder) {
    let (echo, clock) = engine(builder).await;
    let a = account(&echo, "a").await;
    let b = account(&echo, "b").await;
    let start = clock.now();
    for i in 0..5 {
        clock.advance(Duration::from_secs(60));
        let p = if i % 2 == 0 { &a } else { &b };
        echo.create_experiment(p, spec(1)).await.unwrap();
    }
    // Tenants are refused (and the refusal is itself recorded).
    for p in [&a, &Principal::admin().acting_for(b.account_id()).unwrap()] {
        let res = echo.audit_events(p, &AuditQuery::default()).await;
        if p.is_admin() {
            assert!(res.is_ok());
        } else {
            assert_eq!(res.unwrap_err().kind(), ErrorKind::PermissionDenied);
        }
    }
    let key = echo
        .create_api_key(&a, NewApiKey::new("k", [Scope::ExperimentsRead, Scope::KeysManage]))
        .await
        .unwrap();
    let keyed = echo.authenticate(key.secret.expose_secret()).await.unwrap();
    assert_eq!(
        echo.audit_events(&keyed, &AuditQuery::default())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        echo.verify_audit_chain(&a).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        echo.audit_head(&a).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let denied = echo
        .store()
        .audit_events(&AuditQuery {
            action: Some(AuditAction::AuditRead),
            account: Some(a.account_id()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(denied.events.len(), 2, "both refusals recorded");
    assert!(denied.events.iter().all(|e| e.result == AuditResult::Denied));

    let admin = Principal::admin();
    let creates_of_a = echo
        .audit_events(
            &admin,
            &AuditQuery {
                account: Some(a.account_id()),
                action: Some(AuditAction::ExperimentCreate),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(creates_of_a.events.len(), 3);
    assert!(creates_of_a.events.iter().all(|e| e.account_id == Some(a.account_id())));
    let window = echo
        .audit_events(
            &admin,
            &AuditQuery {
                action: Some(AuditAction::ExperimentCreate),
                from: Some(start + chrono::Duration::minutes(2)),
                to: Some(start + chrono::Duration::minutes(4)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(window.events.len(), 2, "minutes 2 and 3");
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = echo
            .audit_events(
                &admin,
                &AuditQuery {
                    action: Some(AuditAction::ExperimentCreate),
                    after_seq: after,
                    limit: Some(2),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.events.len() <= 2);
        seen.extend(page.events.iter().map(|e| e.seq));
        match page.next_after_seq {
            Some(s) => after = Some(s),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let bad = AuditQuery {
        from: Some(start),
        to: Some(start - chrono::Duration::seconds(1)),
        ..Default::default()
    };
    assert_eq!(
        echo.audit_events(&admin, &bad).await.unwrap_err().field(),
        Some("audit.to")
    );
    let too_many = AuditQuery {
        limit: Some(5000),
        ..Default::default()
    };
    assert_eq!(
        echo.audit_events(&admin, &too_many).await.unwrap_err().field(),
        Some("audit.limit")
    );
    echo.close().await;
}

async fn retention_and_erasure_keep_the_chain_verifiable(builder: EchoBuilder) {
    let (echo, clock) = engine(builder).await;
    let admin = Principal::admin();
    let old = account(&echo, "old").await.with_request(request(9));
    for _ in 0..3 {
        echo.create_experiment(&old, spec(1)).await.unwrap();
    }
    clock.advance(Duration::from_secs(800 * 86_400));
    let recent = account(&echo, "recent").await.with_request(request(10));
    let kept = echo.create_experiment(&recent, spec(1)).await.unwrap();
    let anchor = echo.audit_head(&admin).await.unwrap();

    assert_eq!(
        echo.purge_audit_events(clock.now() + chrono::Duration::days(1))
            .await
            .unwrap_err()
            .field(),
        Some("audit.purge.before")
    );
    let cutoff = clock.now() - chrono::Duration::days(730);
    let report = echo.purge_audit_events(cutoff).await.unwrap();
    assert_eq!(
        report.events_deleted, 4,
        "the old account's creation and its 3 experiments: {report:?}"
    );
    let again = echo.purge_audit_events(cutoff).await.unwrap();
    assert_eq!(again.events_deleted, 0, "idempotent");
    let v = echo.verify_audit_chain(&admin).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.from_checkpoint, report.checkpoint_seq);
    let v = echo.verify_audit_chain_against(&admin, &anchor).await.unwrap();
    assert!(v.ok, "the anchored event is still there: {v:?}");

    let erased = echo.erase_audit_personal_data(recent.account_id()).await.unwrap();
    assert_eq!(erased, 1);
    let events = echo
        .store()
        .audit_events(&AuditQuery {
            account: Some(recent.account_id()),
            action: Some(AuditAction::ExperimentCreate),
            ..Default::default()
        })
        .await
        .unwrap()
        .events;
    assert_eq!(
        events[0].target.as_ref().unwrap().id,
        kept.id.to_string(),
        "the event is kept"
    );
    assert_eq!(events[0].request.ip, None);
    assert_eq!(events[0].request.request_id.as_deref(), Some("req-10"));
    assert!(echo.verify_audit_chain_against(&admin, &anchor).await.unwrap().ok);

    // An anchor the chain does not match (a rewritten trail) is detected.
    let mut forged = anchor.clone();
    forged.hash = "00".repeat(32);
    let v = echo.verify_audit_chain_against(&admin, &forged).await.unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_broken.unwrap().seq, anchor.seq);
    echo.close().await;
}

/// An operator (support acting for an account) reading any of the account's data writes an
/// `admin.access` event naming the operation; the tenant's own reads write nothing.
async fn every_operator_read_of_account_data_is_audited(builder: EchoBuilder) {
    use echo_core::model::{AdaptiveOptions, PageRequest};
    let (echo, _clock) = engine(builder).await;
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "read".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let me = Principal::host(account.id);
    let exp = echo.create_experiment(&me, spec(2)).await.unwrap();
    let run = echo
        .start_run(&me, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let support = Principal::admin().acting_for(account.id).unwrap();
    let adaptive = AdaptiveOptions::new(0.1).unwrap();
    let page = PageRequest::default();

    // (operation, one call by `who`), each reading the account's data.
    macro_rules! reads {
        ($who:expr) => {{
            let who = $who;
            vec![
                (
                    "get_account",
                    written(&echo, async { echo.get_account(who).await.map(drop) }).await,
                ),
                (
                    "get_experiment",
                    written(&echo, async { echo.get_experiment(who, exp.id).await.map(drop) }).await,
                ),
                (
                    "list_experiments",
                    written(&echo, async { echo.list_experiments(who, &page).await.map(drop) }).await,
                ),
                (
                    "estimate",
                    written(&echo, async { echo.estimate(who, exp.id).await.map(drop) }).await,
                ),
                (
                    "estimate_adaptive",
                    written(&echo, async {
                        echo.estimate_adaptive(who, exp.id, &adaptive, 0.5).await.map(drop)
                    })
                    .await,
                ),
                (
                    "get_run",
                    written(&echo, async { echo.get_run(who, run.run_id).await.map(drop) }).await,
                ),
                (
                    "list_runs",
                    written(&echo, async { echo.list_runs(who, exp.id, &page).await.map(drop) }).await,
                ),
                (
                    "report",
                    written(&echo, async { echo.report(who, run.run_id).await.map(drop) }).await,
                ),
                (
                    "deletion_requests",
                    written(&echo, async { echo.deletion_requests(who).await.map(drop) }).await,
                ),
                (
                    "privacy_settings",
                    written(&echo, async { echo.privacy_settings(who).await.map(drop) }).await,
                ),
                (
                    "consents",
                    written(&echo, async { echo.consents(who).await.map(drop) }).await,
                ),
                (
                    "quota_status",
                    written(&echo, async { echo.quota_status(who).await.map(drop) }).await,
                ),
                (
                    "schedule",
                    written(&echo, async { echo.schedule(who, exp.id).await.map(drop) }).await,
                ),
                (
                    "scheduled_run",
                    written(&echo, async { echo.scheduled_run(who, exp.id, t0()).await.map(drop) }).await,
                ),
            ]
        }};
    }

    for (operation, (result, events)) in reads!(&support) {
        result.unwrap_or_else(|e| panic!("{operation} by the operator: {e}"));
        assert_eq!(events.len(), 1, "{operation}: one admin.access event, got {events:#?}");
        let e = &events[0];
        assert_eq!(
            (e.action.as_str(), e.actor.kind, e.result, e.account_id),
            ("admin.access", ActorKind::Admin, AuditResult::Success, Some(account.id)),
            "{operation}"
        );
        assert_eq!(e.details["operation"], operation);
    }
    for (operation, (result, events)) in reads!(&me) {
        result.unwrap_or_else(|e| panic!("{operation} by the tenant: {e}"));
        assert!(
            events.is_empty(),
            "{operation}: the tenant's own read is not audited: {events:#?}"
        );
    }
    echo.close().await;
}

common::on_both_backends!(
    every_audited_operation_writes_exactly_its_event,
    refusals_are_audited_as_denied_or_failed,
    cancelling_through_the_handle_is_audited,
    no_secret_reaches_the_audit_trail,
    the_query_is_admin_only_filters_and_paginates,
    retention_and_erasure_keep_the_chain_verifiable,
    every_operator_read_of_account_data_is_audited,
);

/// If the audit event cannot be written, the change is not committed either.
async fn a_change_without_its_event_is_rolled_back(echo: Echo, break_audit: &str, repair: &str, exec: impl AsyncExec) {
    let me = account(&echo, "a").await;
    exec.run(break_audit).await;
    let err = echo.create_experiment(&me, spec(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    let err = echo
        .create_api_key(&me, NewApiKey::new("k", [Scope::ExperimentsRead]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    exec.run(repair).await;
    let listed = echo
        .list_experiments(&me, &echo_core::model::PageRequest::default())
        .await
        .unwrap();
    assert!(listed.items.is_empty(), "the experiment was rolled back with its event");
    let keys = echo
        .list_api_keys(&me, &echo_core::model::PageRequest::default())
        .await
        .unwrap();
    assert!(keys.items.is_empty(), "the key was rolled back with its event");
    assert!(echo.verify_audit_chain(&Principal::admin()).await.unwrap().ok);
    // And with the trail working again, both succeed with their events.
    let (exp, ev) = written(&echo, async { echo.create_experiment(&me, spec(1)).await.unwrap() }).await;
    assert_one(
        &ev,
        AuditAction::ExperimentCreate,
        ActorKind::Host,
        Some(("experiment", exp.id.to_string())),
    );
    echo.close().await;
}

trait AsyncExec {
    fn run(&self, sql: &str) -> futures::future::BoxFuture<'_, ()>;
}

struct SqliteExec(echo_core::store::SqliteStore);
impl AsyncExec for SqliteExec {
    fn run(&self, sql: &str) -> futures::future::BoxFuture<'_, ()> {
        let sql = sql.to_string();
        Box::pin(async move {
            sqlx::raw_sql(&sql).execute(self.0.pool()).await.expect("raw sql");
        })
    }
}

struct PgExec(echo_core::store::PgStore);
impl AsyncExec for PgExec {
    fn run(&self, sql: &str) -> futures::future::BoxFuture<'_, ()> {
        let sql = sql.to_string();
        Box::pin(async move {
            sqlx::raw_sql(&sql).execute(self.0.pool()).await.expect("raw sql");
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_change_without_its_event_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = echo_core::store::SqliteStore::open(echo_core::store::SqliteConfig::file(dir.path().join("e.db")))
        .await
        .unwrap();
    let (echo, _clock) = engine(Echo::builder().store(Arc::new(store.clone()))).await;
    a_change_without_its_event_is_rolled_back(
        echo,
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit down'); END;",
        "DROP TRIGGER audit_down;",
        SqliteExec(store),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_change_without_its_event_is_rolled_back() {
    let Some(db) = pg_support::TestDb::create("a_change_without_its_event").await else {
        return;
    };
    let store = db.store().await;
    let (echo, _clock) = engine(Echo::builder().store(Arc::new(store.clone()))).await;
    a_change_without_its_event_is_rolled_back(
        echo,
        "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$; \
         CREATE TRIGGER audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_down();",
        "DROP TRIGGER audit_down ON audit_events; DROP FUNCTION audit_down();",
        PgExec(store),
    )
    .await;
}
