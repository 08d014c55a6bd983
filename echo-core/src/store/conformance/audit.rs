//! The audit trail: appends chain and verify; audited writes are atomic with their change;
//! retention keeps what remains verifiable; erasure keeps the chain; concurrent appends are
//! gap-free; and tampering with rows through raw SQL is detected, with the right seq.

use chrono::{DateTime, Utc};
use futures::future::join_all;

use super::fixtures::{account, assert_kind, experiment, run, samples, spec, t0, target};
use crate::ErrorKind;
use crate::audit::{AuditAction, AuditQuery, AuditRecord, AuditResult, AuditVerification, ChainProblem};
use crate::auth::{Principal, RequestContext};
use crate::model::{Experiment, ExperimentId, RunStatus};
use crate::store::{Store, verify_chain};

/// Raw SQL on the backend, as someone with write access to the database (not Echo) would
/// run it. The tamper check uses it; each backend's tests implement it.
#[async_trait::async_trait]
pub trait RawSql: Send + Sync {
    /// Runs one statement. With `bypass_guard`, the append-only trigger on `audit_events`
    /// is disabled for it (an attacker who can write can also drop triggers).
    async fn execute(&self, sql: &str, bypass_guard: bool) -> std::result::Result<u64, String>;
}

async fn verify(store: &dyn Store) -> AuditVerification {
    verify_chain(store, None).await.expect("verify")
}

#[track_caller]
fn assert_ok(v: &AuditVerification, what: &str) {
    assert!(v.ok, "{what}: chain should verify: {:?}", v.first_broken);
}

/// The time after every event already in the chain (checks may share a store and run twice).
pub(super) async fn after_last(store: &dyn Store) -> DateTime<Utc> {
    let head = store.audit_head().await.expect("head");
    let rows = store.audit_rows(head.seq, 1).await.expect("rows");
    let last = rows
        .first()
        .and_then(|r| DateTime::from_timestamp_millis(r.at_ms))
        .unwrap_or(t0());
    last.max(t0()) + chrono::Duration::days(1)
}

fn with_request(principal: Principal) -> Principal {
    principal.with_request(RequestContext {
        ip: Some("203.0.113.9".into()),
        user_agent: Some("Mozilla/5.0 (conformance)".into()),
        request_id: Some("req-1".into()),
        correlation_id: Some("corr-1".into()),
    })
}

/// Appended events read back as written, filter and paginate, and verify.
pub async fn audit_append_query_and_verify(store: &dyn Store) {
    let a = account(store, "audit-a").await;
    let b = account(store, "audit-b").await;
    let base = after_last(store).await;
    let pa = with_request(Principal::host(a.id));
    let pb = Principal::host(b.id);
    let before = store.audit_head().await.expect("head");
    let mut written = Vec::new();
    for i in 0..5 {
        let principal = if i % 2 == 0 { &pa } else { &pb };
        let action = if i < 3 {
            AuditAction::ExperimentCreate
        } else {
            AuditAction::ExperimentDelete
        };
        let record = AuditRecord::by(principal, action, base + chrono::Duration::minutes(i))
            .target("experiment", ExperimentId::new())
            // Floats, unicode, nesting: the canonical form must survive each backend's JSON.
            .detail("n", i)
            .detail("ratio", 0.1 + i as f64)
            .detail("name", "Crème brûlée \"quoted\" ✓")
            .detail("nested", serde_json::json!({"z": [1, 2.5, null], "a": {"b": true}}));
        written.push(store.append_audit(&record).await.expect("append"));
    }
    for (i, e) in written.iter().enumerate() {
        assert_eq!(e.seq, before.seq + 1 + i as i64, "seqs follow the head without gaps");
    }
    let head = store.audit_head().await.expect("head");
    assert_eq!(head.seq, written[4].seq);
    assert_eq!(head.hash, written[4].hash);
    assert_eq!(
        written[1].prev_hash, written[0].hash,
        "each event links to the previous one"
    );

    // Read back exactly as appended.
    let page = store
        .audit_events(&AuditQuery {
            account: Some(a.id),
            from: Some(base),
            ..Default::default()
        })
        .await
        .expect("query");
    assert_eq!(page.events.len(), 3, "account filter");
    assert_eq!(page.events[0], written[0]);
    let e = &page.events[0];
    assert_eq!(e.request.ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(e.request.correlation_id.as_deref(), Some("corr-1"));
    assert_eq!(e.result, AuditResult::Success);
    assert_eq!(e.details["name"], "Crème brûlée \"quoted\" ✓");

    // Action and time filters.
    let deletes = store
        .audit_events(&AuditQuery {
            action: Some(AuditAction::ExperimentDelete),
            from: Some(base),
            ..Default::default()
        })
        .await
        .expect("query");
    assert_eq!(
        deletes.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [written[3].seq, written[4].seq]
    );
    let window = store
        .audit_events(&AuditQuery {
            from: Some(base + chrono::Duration::minutes(1)),
            to: Some(base + chrono::Duration::minutes(3)),
            ..Default::default()
        })
        .await
        .expect("query");
    assert_eq!(
        window.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [written[1].seq, written[2].seq]
    );

    // Keyset pagination by seq: pages of 2 give every event once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .audit_events(&AuditQuery {
                from: Some(base),
                after_seq: after,
                limit: Some(2),
                ..Default::default()
            })
            .await
            .expect("page");
        seen.extend(page.events.iter().map(|e| e.seq));
        match page.next_after_seq {
            Some(s) => after = Some(s),
            None => break,
        }
    }
    assert_eq!(seen, written.iter().map(|e| e.seq).collect::<Vec<_>>());
    assert_kind(
        store
            .audit_events(&AuditQuery {
                limit: Some(0),
                ..Default::default()
            })
            .await,
        ErrorKind::InvalidInput,
        "limit 0",
    );
    assert_ok(&verify(store).await, "after appends");
}

/// The audited forms of the writes: event and change commit together or not at all.
pub async fn audit_writes_are_atomic(store: &dyn Store) {
    let a = account(store, "audit-atomic").await;
    let principal = Principal::host(a.id);
    let now = after_last(store).await;
    let head = store.audit_head().await.expect("head");

    // The change fails (its experiment's account does not exist): no event.
    let orphan = Experiment {
        id: ExperimentId::new(),
        account_id: crate::model::AccountId::new(),
        spec: spec("orphan", &[target("sim/m")], 1, 1),
        created_at: now,
        updated_at: now,
    };
    let record = AuditRecord::by(&principal, AuditAction::ExperimentCreate, now).target("experiment", orphan.id);
    assert!(store.insert_experiment_audited(&orphan, &record).await.is_err());
    assert_kind(
        store
            .delete_experiment_audited(a.id, ExperimentId::new(), &record)
            .await,
        ErrorKind::NotFound,
        "delete missing",
    );
    assert_eq!(
        store.audit_head().await.expect("head").seq,
        head.seq,
        "a failed change writes no event"
    );

    // The change succeeds: exactly one event, in the same transaction.
    let e = experiment(store, a.id, now).await;
    let r = run(&e, 3, now);
    let record = AuditRecord::by(&principal, AuditAction::RunEnqueue, now).target("run", r.id);
    store
        .enqueue_run_audited(&r, &samples(3), &record)
        .await
        .expect("enqueue");
    let after = store.audit_head().await.expect("head");
    assert_eq!(after.seq, head.seq + 1);
    let page = store
        .audit_events(&AuditQuery {
            after_seq: Some(head.seq),
            ..Default::default()
        })
        .await
        .expect("query");
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].action, "run.enqueue");
    assert_eq!(
        page.events[0].target.as_ref().map(|t| t.id.clone()),
        Some(r.id.to_string())
    );

    // A status change that does not happen (already terminal) writes nothing.
    let cancel = AuditRecord::by(&principal, AuditAction::RunCancel, now).target("run", r.id);
    assert!(
        store
            .set_run_status_audited(a.id, r.id, RunStatus::Cancelled, now, &cancel)
            .await
            .expect("cancel")
    );
    assert!(
        !store
            .set_run_status_audited(a.id, r.id, RunStatus::Cancelled, now, &cancel)
            .await
            .expect("cancel again")
    );
    assert_eq!(
        store.audit_head().await.expect("head").seq,
        head.seq + 2,
        "one event per real change"
    );
    assert_ok(&verify(store).await, "after audited writes");
}

/// Retention deletes a whole old prefix, leaves a checkpoint, and what remains verifies.
pub async fn audit_purge_keeps_the_rest_verifiable(store: &dyn Store) {
    let base = after_last(store).await;
    let day = chrono::Duration::days(1);
    let mut seqs = Vec::new();
    for i in 0..4 {
        let r = AuditRecord::system("test", None, AuditAction::RunFinish, base + day * i);
        seqs.push(store.append_audit(&r).await.expect("append").seq);
    }
    let cutoff = base + day * 2;
    let report = store
        .purge_audit_before(cutoff, 2, base + day * 5)
        .await
        .expect("purge");
    assert!(report.events_deleted >= 2, "the two old events go: {report:?}");
    assert_eq!(
        report.checkpoint_seq,
        Some(seqs[1]),
        "the checkpoint is the last purged event"
    );
    let cp = store
        .audit_checkpoint()
        .await
        .expect("checkpoint")
        .expect("some checkpoint");
    assert_eq!(cp.seq, seqs[1]);
    let remaining = store.audit_rows(0, 10).await.expect("rows");
    assert_eq!(
        remaining.first().map(|r| r.seq),
        Some(seqs[2]),
        "only a prefix was removed"
    );
    let v = verify(store).await;
    assert_ok(&v, "after purge");
    assert_eq!(v.from_checkpoint, Some(seqs[1]));
    // The purge itself is recorded.
    let last = store
        .audit_rows(store.audit_head().await.unwrap().seq, 1)
        .await
        .unwrap();
    assert_eq!(last[0].action, "audit.purge");
    // Idempotent: nothing more to do, nothing written.
    let head = store.audit_head().await.expect("head");
    let again = store
        .purge_audit_before(cutoff, 2, base + day * 5)
        .await
        .expect("purge");
    assert_eq!(again.events_deleted, 0);
    assert_eq!(store.audit_head().await.expect("head"), head);
    assert_ok(&verify(store).await, "after a second purge");
}

/// Erasing an account's personal data keeps its events and the chain.
pub async fn audit_erasure_keeps_the_chain(store: &dyn Store) {
    let a = account(store, "audit-erase-a").await;
    let b = account(store, "audit-erase-b").await;
    let now = after_last(store).await;
    let pa = with_request(Principal::host(a.id));
    let pb = with_request(Principal::host(b.id));
    for p in [&pa, &pb, &pa] {
        store
            .append_audit(&AuditRecord::by(p, AuditAction::ExperimentUpdate, now))
            .await
            .expect("append");
    }
    let erase = AuditRecord::system("erasure", Some(a.id), AuditAction::AuditErasePersonalData, now);
    assert_eq!(store.erase_audit_personal_data(a.id, &erase).await.expect("erase"), 2);
    let of = |account| AuditQuery {
        account: Some(account),
        ..Default::default()
    };
    let events_a = store.audit_events(&of(a.id)).await.expect("query").events;
    assert_eq!(events_a.len(), 3, "events are kept (2 updates + the erasure)");
    for e in &events_a {
        assert_eq!(e.request.ip, None);
        assert_eq!(e.request.user_agent, None);
    }
    assert!(events_a[0].personal_data_erased);
    assert_eq!(
        events_a[0].request.request_id.as_deref(),
        Some("req-1"),
        "ids are not personal data"
    );
    let events_b = store.audit_events(&of(b.id)).await.expect("query").events;
    assert_eq!(
        events_b[0].request.ip.as_deref(),
        Some("203.0.113.9"),
        "another account is untouched"
    );
    assert_ok(&verify(store).await, "after erasure");
    // Again: nothing left to clear.
    assert_eq!(store.erase_audit_personal_data(a.id, &erase).await.expect("erase"), 0);
}

/// Concurrent appends get consecutive seqs and a chain that verifies.
pub async fn audit_concurrent_appends_are_gap_free(store: &dyn Store) {
    let now = after_last(store).await;
    let head = store.audit_head().await.expect("head");
    let tasks = (0..8).map(|t| async move {
        for i in 0..25 {
            let r = AuditRecord::system("test", None, AuditAction::RunFinish, now)
                .detail("task", t)
                .detail("i", i);
            store.append_audit(&r).await.expect("append");
        }
    });
    join_all(tasks).await;
    let after = store.audit_head().await.expect("head");
    assert_eq!(after.seq, head.seq + 200, "200 appends, 200 seqs");
    let rows = store.audit_rows(head.seq + 1, 1000).await.expect("rows");
    assert_eq!(rows.len(), 200);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, head.seq + 1 + i as i64, "no gaps");
    }
    assert_ok(&verify(store).await, "after concurrent appends");
}

/// Resets the chain to a clean state: purges every event (a checkpoint keeps the link).
async fn purge_all(store: &dyn Store) {
    let after = after_last(store).await;
    store.purge_audit_before(after, 1000, after).await.expect("purge all");
}

/// Five fresh events after a clean reset; returns their seqs.
async fn five_events(store: &dyn Store) -> Vec<i64> {
    purge_all(store).await;
    let now = after_last(store).await;
    let p = with_request(Principal::host(crate::model::AccountId::new()));
    let mut seqs = Vec::new();
    for i in 0..5 {
        let r = AuditRecord::by(&p, AuditAction::ExperimentUpdate, now)
            .target("experiment", ExperimentId::new())
            .detail("i", i);
        seqs.push(store.append_audit(&r).await.expect("append").seq);
    }
    assert_ok(&verify(store).await, "before tampering");
    seqs
}

#[track_caller]
fn assert_broken(v: &AuditVerification, seq: i64, what: &str, problem: impl Fn(&ChainProblem) -> bool) {
    let broken = v
        .first_broken
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: tampering went undetected"));
    assert!(!v.ok);
    assert_eq!(broken.seq, seq, "{what}: reported at the wrong event ({broken:?})");
    assert!(
        problem(&broken.problem),
        "{what}: unexpected problem {:?}",
        broken.problem
    );
}

/// Editing any column, deleting, replacing, appending behind the head's back, reordering
/// and cutting off the end are each detected at the right event. Leaves the chain broken
/// (the last case cannot be repaired): give it a store of its own.
pub async fn audit_tampering_is_detected(store: &dyn Store, raw: &dyn RawSql) {
    // The guard: an ordinary UPDATE is refused; clearing personal data is allowed.
    let seqs = five_events(store).await;
    let err = raw
        .execute(
            &format!("UPDATE audit_events SET action = 'forged' WHERE seq = {}", seqs[0]),
            false,
        )
        .await
        .expect_err("the trigger refuses edits");
    assert!(err.contains("append-only"), "{err}");

    let edits: &[(&str, &str)] = &[
        ("action", "'api_key.revoke'"),
        ("at", "at + 1"),
        ("account_id", "NULL"),
        ("actor", "'admin'"),
        ("actor_id", "'someone-else'"),
        ("target_type", "'run'"),
        ("target_id", "'another'"),
        ("result", "'denied'"),
        ("error_kind", "'not_found'"),
        ("request_id", "'forged'"),
        ("correlation_id", "'forged'"),
        ("details", "'{\"i\":99}'"),
        ("personal_digest", "prev_hash"),
        ("prev_hash", "hash"),
        ("hash", "prev_hash"),
        ("ip", "'198.51.100.1'"),
        ("user_agent", "'forged agent'"),
        ("personal_salt", "hash"),
    ];
    for (column, value) in edits {
        let seqs = five_events(store).await;
        let target = seqs[2];
        raw.execute(
            &format!("UPDATE audit_events SET {column} = {value} WHERE seq = {target}"),
            true,
        )
        .await
        .unwrap_or_else(|e| panic!("edit {column}: {e}"));
        let what = format!("editing {column}");
        assert_broken(&verify(store).await, target, &what, |p| {
            matches!(
                p,
                ChainProblem::HashMismatch | ChainProblem::PrevHashMismatch | ChainProblem::PersonalDataAltered
            )
        });
    }

    // Deleting a middle event: the next one follows a gap.
    let seqs = five_events(store).await;
    raw.execute(&format!("DELETE FROM audit_events WHERE seq = {}", seqs[2]), true)
        .await
        .expect("delete");
    assert_broken(&verify(store).await, seqs[3], "deleting a middle event", |p| {
        *p == ChainProblem::Gap { expected: seqs[2] }
    });

    // Replacing an event by a forged one (a copy of its successor under its seq).
    let seqs = five_events(store).await;
    raw.execute(&format!("DELETE FROM audit_events WHERE seq = {}", seqs[2]), true)
        .await
        .expect("delete");
    raw.execute(
        &format!(
            "INSERT INTO audit_events (seq, account_id, at, actor, actor_id, action, target_type, target_id, result, \
             error_kind, request_id, correlation_id, details, ip, user_agent, personal_salt, personal_digest, \
             prev_hash, hash) SELECT {}, account_id, at, actor, actor_id, action, target_type, target_id, result, \
             error_kind, request_id, correlation_id, details, ip, user_agent, personal_salt, personal_digest, \
             prev_hash, hash FROM audit_events WHERE seq = {}",
            seqs[2], seqs[3]
        ),
        true,
    )
    .await
    .expect("insert forged");
    assert_broken(&verify(store).await, seqs[2], "inserting a forged event", |p| {
        *p == ChainProblem::PrevHashMismatch
    });

    // Inserting an event after the last one, without advancing the head.
    let seqs = five_events(store).await;
    raw.execute(
        &format!(
            "INSERT INTO audit_events (seq, account_id, at, actor, actor_id, action, target_type, target_id, result, \
             details, prev_hash, hash) SELECT seq + 1, account_id, at, actor, actor_id, 'api_key.create', \
             target_type, target_id, result, details, hash, hash FROM audit_events WHERE seq = {}",
            seqs[4]
        ),
        true,
    )
    .await
    .expect("insert after head");
    assert_broken(&verify(store).await, seqs[4] + 1, "appending behind the head", |p| {
        *p == ChainProblem::HashMismatch
    });
    raw.execute(&format!("DELETE FROM audit_events WHERE seq = {}", seqs[4] + 1), true)
        .await
        .expect("undo");

    // Reordering two events.
    let seqs = five_events(store).await;
    for sql in [
        format!("UPDATE audit_events SET seq = -1 WHERE seq = {}", seqs[1]),
        format!("UPDATE audit_events SET seq = {} WHERE seq = {}", seqs[1], seqs[2]),
        format!("UPDATE audit_events SET seq = {} WHERE seq = -1", seqs[2]),
    ] {
        raw.execute(&sql, true).await.expect("swap");
    }
    assert_broken(&verify(store).await, seqs[1], "reordering", |p| {
        *p == ChainProblem::PrevHashMismatch
    });

    // Cutting off the newest event: the head knows the chain was longer.
    let seqs = five_events(store).await;
    raw.execute(&format!("DELETE FROM audit_events WHERE seq = {}", seqs[4]), true)
        .await
        .expect("delete last");
    assert_broken(&verify(store).await, seqs[3], "deleting the last event", |p| {
        *p == ChainProblem::Truncated { head_seq: seqs[4] }
    });
}

/// The writes whose event depends on winning a race — a scheduled slot's run, a run's
/// terminal transition — write it exactly once, however many contenders.
pub async fn audit_races_write_one_event(store: &dyn Store) {
    use crate::store::{ScheduleKind, ScheduledRun, ScheduledRunOutcome, StoredSchedule};

    let a = account(store, "audit-races").await;
    let now = after_last(store).await;
    let e = experiment(store, a.id, now).await;
    let slot = now + chrono::Duration::hours(1);
    let schedule = StoredSchedule {
        kind: ScheduleKind::Interval,
        expr: "3600".into(),
        next_run_at: slot,
    };
    store.set_schedule(a.id, e.id, Some(&schedule)).await.expect("set");
    let head = store.audit_head().await.expect("head");

    let candidates: Vec<_> = (0..5).map(|_| (run(&e, 2, slot), samples(2))).collect();
    let racers = candidates.iter().map(|(r, s)| {
        let record = AuditRecord::system("scheduler", Some(a.id), AuditAction::RunEnqueue, slot).target("run", r.id);
        async move {
            let scheduled = ScheduledRun {
                run: r,
                samples: s,
                due_at: slot,
                slot,
                next_run_at: slot + chrono::Duration::hours(1),
            };
            store.create_scheduled_run_audited(scheduled, &record).await
        }
    });
    let outcomes: Vec<_> = join_all(racers).await.into_iter().map(|r| r.expect("create")).collect();
    let winner = candidates
        .iter()
        .zip(&outcomes)
        .find(|(_, o)| **o == ScheduledRunOutcome::Created)
        .map(|((r, _), _)| r.id)
        .expect("one winner");
    let events = store
        .audit_events(&AuditQuery {
            after_seq: Some(head.seq),
            ..Default::default()
        })
        .await
        .expect("query")
        .events;
    assert_eq!(events.len(), 1, "one slot, one run, one event: {events:#?}");
    assert_eq!(
        events[0].target.as_ref().map(|t| t.id.clone()),
        Some(winner.to_string())
    );

    // Finalization: concurrent finalizers, one transition, one `run.finish` with its status.
    store
        .cancel_pending_samples(a.id, winner, slot)
        .await
        .expect("cancel samples");
    let head = store.audit_head().await.expect("head");
    let record = AuditRecord::system("finalizer", Some(a.id), AuditAction::RunFinish, slot).target("run", winner);
    let finalizers = (0..4).map(|_| store.finalize_run_audited(a.id, winner, slot, &record));
    let results: Vec<_> = join_all(finalizers)
        .await
        .into_iter()
        .map(|r| r.expect("finalize"))
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_some()).count(), 1, "{results:?}");
    let events = store
        .audit_events(&AuditQuery {
            after_seq: Some(head.seq),
            ..Default::default()
        })
        .await
        .expect("query")
        .events;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].action, "run.finish");
    assert_eq!(events[0].details["status"], "cancelled");
    assert_ok(&verify(store).await, "after races");
}
