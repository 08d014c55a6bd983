//! Runs: enqueue, reads, status rules, cancellation, counts, report loading, deletion.

use std::collections::HashSet;

use super::fixtures::{account, assert_kind, at, claim, enqueued, experiment, run, samples, succeeded, t0, target};
use crate::ErrorKind;
use crate::model::{PageRequest, Run, RunId, RunStatus, SampleCounts, SampleId, SampleStatus};
use crate::store::{NewSample, SampleOutcome, Store};

/// The run and all its samples are written together or not at all; a run can only be
/// attached to the caller's own experiment; reads of another account's run are NotFound.
pub async fn enqueue_is_atomic_and_isolated(store: &dyn Store) {
    let owner = account(store, "enqueue").await;
    let exp = experiment(store, owner.id, t0()).await;

    // A duplicate natural key in the last position must undo the whole enqueue.
    let mut bad = samples(50);
    let mut dup = bad[0].clone();
    dup.id = SampleId::new();
    bad.push(dup);
    let doomed = run(&exp, bad.len(), t0());
    assert!(
        store.enqueue_run(&doomed, &bad).await.is_err(),
        "duplicate (target, prompt, repeat) is rejected"
    );
    assert_kind(
        store.get_run(owner.id, doomed.id).await,
        ErrorKind::NotFound,
        "failed enqueue leaves no run",
    );
    assert_kind(
        store.sample_counts(owner.id, doomed.id).await,
        ErrorKind::NotFound,
        "failed enqueue: no samples",
    );

    // The same samples, deduplicated, enqueue fine (so nothing was left behind either).
    bad.pop();
    let good = run(&exp, bad.len(), at(1));
    store.enqueue_run(&good, &bad).await.expect("enqueue");
    assert_eq!(
        store.get_run(owner.id, good.id).await.expect("get run"),
        good,
        "run round trip"
    );
    let counts = store.sample_counts(owner.id, good.id).await.expect("counts");
    assert_eq!(
        counts,
        SampleCounts {
            pending: 50,
            ..Default::default()
        }
    );

    assert_kind(
        store.enqueue_run(&good, &samples(1)).await,
        ErrorKind::Conflict,
        "duplicate run id",
    );

    // Tenant checks.
    let intruder = account(store, "enqueue-intruder").await;
    let mut foreign = run(&exp, 1, at(2));
    foreign.account_id = intruder.id;
    assert_kind(
        store.enqueue_run(&foreign, &samples(1)).await,
        ErrorKind::NotFound,
        "a run on another account's experiment",
    );
    assert_kind(
        store.get_run(intruder.id, good.id).await,
        ErrorKind::NotFound,
        "foreign get_run",
    );
    assert_kind(
        store.sample_counts(intruder.id, good.id).await,
        ErrorKind::NotFound,
        "foreign counts",
    );
    assert_kind(
        store.load_samples(intruder.id, good.id).await,
        ErrorKind::NotFound,
        "foreign load_samples",
    );
    assert_kind(
        store.cancel_pending_samples(intruder.id, good.id, at(3)).await,
        ErrorKind::NotFound,
        "foreign cancel",
    );
    assert_kind(
        store
            .set_run_status(intruder.id, good.id, RunStatus::Cancelled, at(3))
            .await,
        ErrorKind::NotFound,
        "foreign set_run_status",
    );
    assert_eq!(
        store.get_run(owner.id, good.id).await.expect("get").status,
        RunStatus::Pending,
        "untouched"
    );
    assert_eq!(
        store.sample_counts(owner.id, good.id).await.expect("counts").pending,
        50,
        "untouched samples"
    );

    // A run with no samples is valid and has zero counts.
    let empty = run(&exp, 0, at(4));
    store.enqueue_run(&empty, &[]).await.expect("empty run");
    assert_eq!(
        store.sample_counts(owner.id, empty.id).await.expect("counts"),
        SampleCounts::default()
    );
    assert!(store.load_samples(owner.id, empty.id).await.expect("load").is_empty());
}

/// Runs of an experiment list newest first with keyset pages; other experiments' and other
/// accounts' runs never appear.
pub async fn run_listing_and_isolation(store: &dyn Store) {
    let owner = account(store, "runs").await;
    let exp = experiment(store, owner.id, t0()).await;
    let sibling = experiment(store, owner.id, t0()).await;
    store
        .enqueue_run(&run(&sibling, 0, at(500)), &[])
        .await
        .expect("sibling run");

    let mut runs = Vec::new();
    for i in 0..5 {
        let r = run(&exp, 0, at((i / 2) * 100));
        store.enqueue_run(&r, &[]).await.expect("enqueue");
        runs.push(r);
    }
    runs.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));

    let mut seen = Vec::new();
    let mut request = PageRequest {
        limit: Some(2),
        after: None,
    };
    for _ in 0..10 {
        let page = store.list_runs(owner.id, exp.id, &request).await.expect("list runs");
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => request.after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, runs, "pages concatenate to the experiment's runs, newest first");

    let intruder = account(store, "runs-intruder").await;
    let page = store
        .list_runs(intruder.id, exp.id, &PageRequest::default())
        .await
        .expect("foreign list");
    assert!(page.items.is_empty(), "another account lists none of the runs");
    let bad = PageRequest {
        limit: None,
        after: Some("zz".to_string()),
    };
    let err = store.list_runs(owner.id, exp.id, &bad).await.expect_err("bad cursor");
    assert_eq!(err.field(), Some("page.after"));
}

/// A run keeps the correlation id it was enqueued with (none when enqueued without one),
/// and it comes back on every read of the run; only its own account reads it.
pub async fn run_keeps_its_correlation_id(store: &dyn Store) {
    use crate::audit::{AuditAction, AuditRecord};
    let owner = account(store, "correlated").await;
    let exp = experiment(store, owner.id, t0()).await;

    let plain = run(&exp, 0, t0());
    store.enqueue_run(&plain, &[]).await.expect("enqueue");
    assert_eq!(
        store.get_run(owner.id, plain.id).await.expect("read").correlation_id,
        None
    );

    let correlated = Run {
        correlation_id: Some("corr-42".into()),
        ..run(&exp, 0, t0())
    };
    // Dated after every event in the chain, as the audit checks expect of a shared store.
    let at = super::audit::after_last(store).await;
    let mut audit =
        AuditRecord::system("test", Some(owner.id), AuditAction::RunEnqueue, at).target("run", correlated.id);
    audit.request.correlation_id = Some("corr-42".into());
    store
        .enqueue_run_audited(&correlated, &[], &audit)
        .await
        .expect("enqueue audited");
    let read = store.get_run(owner.id, correlated.id).await.expect("read");
    assert_eq!(read.correlation_id.as_deref(), Some("corr-42"));
    assert_eq!(read, correlated, "the run reads back as enqueued");
    let listed = store
        .list_runs(owner.id, exp.id, &PageRequest::default())
        .await
        .expect("list");
    let listed = listed.items.iter().find(|r| r.id == correlated.id).expect("listed");
    assert_eq!(
        listed.correlation_id.as_deref(),
        Some("corr-42"),
        "listing carries it too"
    );

    let intruder = account(store, "correlated-intruder").await;
    assert_kind(
        store.get_run(intruder.id, correlated.id).await,
        ErrorKind::NotFound,
        "another account's run",
    );
}

/// `started_at` is set on the first move to running; `finished_at` when terminal; a
/// terminal status is never overwritten; setting the current status reports no change.
pub async fn run_status_rules(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "status", 0).await;
    let set = |status, ms| store.set_run_status(acct.id, r.id, status, at(ms));

    assert!(set(RunStatus::Running, 10).await.expect("pending -> running"));
    assert!(
        !set(RunStatus::Running, 20).await.expect("running -> running"),
        "same status is no change"
    );
    let running = store.get_run(acct.id, r.id).await.expect("get");
    assert_eq!(
        (running.status, running.started_at, running.finished_at),
        (RunStatus::Running, Some(at(10)), None)
    );

    assert!(set(RunStatus::Partial, 30).await.expect("running -> partial"));
    for status in [
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Cancelled,
        RunStatus::Pending,
    ] {
        assert!(
            !set(status, 40).await.expect("terminal -> x"),
            "terminal status overwritten by {status:?}"
        );
    }
    let done = store.get_run(acct.id, r.id).await.expect("get");
    assert_eq!(done.status, RunStatus::Partial);
    assert_eq!(done.started_at, Some(at(10)), "started_at is set once");
    assert_eq!(
        done.finished_at,
        Some(at(30)),
        "finished_at is set when the status became terminal"
    );

    // Cancelled straight from pending: finished, never started.
    let (acct2, _, r2) = enqueued(store, "status-2", 0).await;
    assert!(
        store
            .set_run_status(acct2.id, r2.id, RunStatus::Cancelled, at(50))
            .await
            .expect("cancel")
    );
    let cancelled = store.get_run(acct2.id, r2.id).await.expect("get");
    assert_eq!((cancelled.started_at, cancelled.finished_at), (None, Some(at(50))));

    assert_kind(
        store
            .set_run_status(acct.id, RunId::new(), RunStatus::Running, at(60))
            .await,
        ErrorKind::NotFound,
        "unknown run",
    );
}

/// Cancelling marks exactly the pending samples; leased ones stay leased and may still
/// complete; nothing cancelled is claimed afterwards.
pub async fn cancel_pending_leaves_leased(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "cancel", 10).await;
    let tasks = store.claim_samples(&claim(r.id, "w1", 3, t0())).await.expect("claim");
    assert_eq!(tasks.len(), 3);

    assert_eq!(
        store
            .cancel_pending_samples(acct.id, r.id, at(5))
            .await
            .expect("cancel"),
        7
    );
    assert_eq!(
        store
            .cancel_pending_samples(acct.id, r.id, at(6))
            .await
            .expect("cancel again"),
        0,
        "idempotent"
    );
    assert_eq!(
        store.sample_counts(acct.id, r.id).await.expect("counts"),
        SampleCounts {
            leased: 3,
            cancelled: 7,
            ..Default::default()
        }
    );
    assert!(
        store
            .claim_samples(&claim(r.id, "w2", 10, at(7)))
            .await
            .expect("claim")
            .is_empty(),
        "nothing to claim"
    );

    let outcomes: Vec<_> = tasks.iter().map(|t| succeeded(t, "Acme is best.", at(8))).collect();
    assert_eq!(
        store.complete_samples(&outcomes).await.expect("complete"),
        vec![true; 3],
        "leased samples finish"
    );
    let records = store.load_samples(acct.id, r.id).await.expect("load");
    let cancelled = records
        .iter()
        .filter(|s| s.sample.status == SampleStatus::Cancelled)
        .count();
    assert_eq!(cancelled, 7);
    assert!(
        records
            .iter()
            .filter(|s| s.sample.status == SampleStatus::Cancelled)
            .all(|s| s.sample.attempt == 0)
    );
}

/// Counts reflect every status; an unknown run is NotFound.
pub async fn sample_counts_by_status(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "counts", 12).await;
    let tasks = store.claim_samples(&claim(r.id, "w", 6, t0())).await.expect("claim");
    let outcomes = vec![
        succeeded(&tasks[0], "Acme.", at(1)),
        succeeded(&tasks[1], "Globex.", at(1)),
        SampleOutcome::Failed {
            fence: (&tasks[2]).into(),
            error_class: "auth".into(),
            error_message: "bad key".into(),
            at: at(1),
        },
        SampleOutcome::Retry {
            fence: (&tasks[3]).into(),
            error_class: "rate_limited".into(),
            error_message: "429".into(),
            at: at(1),
        },
    ];
    store.complete_samples(&outcomes).await.expect("complete");
    store
        .cancel_pending_samples(acct.id, r.id, at(2))
        .await
        .expect("cancel");
    let counts = store.sample_counts(acct.id, r.id).await.expect("counts");
    assert_eq!(
        counts,
        SampleCounts {
            pending: 0,
            leased: 2,
            succeeded: 2,
            failed: 1,
            cancelled: 7
        }
    );
    assert_eq!(counts.total(), 12);
    assert_kind(
        store.sample_counts(acct.id, RunId::new()).await,
        ErrorKind::NotFound,
        "unknown run",
    );
}

/// Every sample comes back once, ordered by (target, prompt_index, repeat_index) whatever
/// the enqueue order, with all answer columns, mentions by rank and citations in order.
pub async fn load_samples_contents_and_order(store: &dyn Store) {
    let owner = account(store, "load").await;
    let exp = experiment(store, owner.id, t0()).await;
    let mut planned = Vec::new();
    for t in ["zeta/model", "alpha/model-b", "alpha/model-a"] {
        for p in (0..2).rev() {
            for rep in (0..3).rev() {
                planned.push(NewSample {
                    id: SampleId::new(),
                    target: target(t),
                    prompt_index: p,
                    repeat_index: rep,
                });
            }
        }
    }
    let r = run(&exp, planned.len(), t0());
    store.enqueue_run(&r, &planned).await.expect("enqueue");
    let tasks = store.claim_samples(&claim(r.id, "w", 100, t0())).await.expect("claim");
    assert_eq!(tasks.len(), planned.len());
    let first = tasks[0].clone();
    store
        .complete_samples(&[succeeded(&first, "1. **Acme** ... Globex ... Initech", at(9))])
        .await
        .expect("complete");

    let records = store.load_samples(owner.id, r.id).await.expect("load");
    let keys: Vec<_> = records
        .iter()
        .map(|s| (s.sample.target.clone(), s.sample.prompt_index, s.sample.repeat_index))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by (target, prompt_index, repeat_index)");
    let ids: HashSet<_> = records.iter().map(|s| s.sample.id).collect();
    assert_eq!(ids, planned.iter().map(|s| s.id).collect(), "every sample exactly once");

    let rec = records
        .iter()
        .find(|s| s.sample.id == first.id)
        .expect("answered sample");
    let expected = super::fixtures::answered(&first, "1. **Acme** ... Globex ... Initech", at(9));
    let s = &rec.sample;
    assert_eq!(s.run_id, r.id);
    assert_eq!((s.status, s.attempt), (SampleStatus::Succeeded, 1));
    assert_eq!(s.raw_answer.as_deref(), Some(expected.raw_answer.as_str()));
    assert_eq!(s.answer_sha256.as_deref(), Some(expected.answer_sha256.as_str()));
    assert_eq!(s.served_model, expected.served_model);
    assert_eq!(s.request_id, expected.request_id);
    assert_eq!(s.finish_reason, expected.finish_reason);
    assert_eq!(
        (s.input_tokens, s.output_tokens, s.latency_ms, s.cost_usd),
        (Some(42), Some(u64::from(u32::MAX) + 1), Some(1234), Some(0.000_435))
    );
    assert_eq!(
        (s.error_class.as_ref(), s.completed_at, s.anonymized_at),
        (None, Some(at(9)), None)
    );
    let ranks: Vec<_> = rec.mentions.iter().map(|m| (m.brand.as_str(), m.rank)).collect();
    assert_eq!(
        ranks,
        vec![("Acme", 1), ("Globex", 2), ("Initech", 3)],
        "mentions ordered by rank"
    );
    let mut by_rank = expected.mentions.clone();
    by_rank.sort_by_key(|m| m.rank);
    assert_eq!(rec.mentions, by_rank, "mention fields round trip");
    assert_eq!(rec.citations, expected.citations, "citations round trip in order");

    let pending = records
        .iter()
        .find(|s| s.sample.id != first.id)
        .expect("another sample");
    assert_eq!(pending.sample.status, SampleStatus::Leased);
    assert!(pending.sample.raw_answer.is_none() && pending.mentions.is_empty() && pending.citations.is_empty());

    // The raw provider response is kept for re-analysis, readable only by its account.
    let raw = store.raw_response(owner.id, first.id).await.expect("raw response");
    let want: serde_json::Value = serde_json::from_str(expected.raw_response.as_deref().unwrap()).unwrap();
    assert_eq!(raw, Some(want));
    assert_eq!(
        store
            .raw_response(owner.id, pending.sample.id)
            .await
            .expect("unanswered"),
        None
    );
    let stranger = account(store, "load-stranger").await;
    let err = store
        .raw_response(stranger.id, first.id)
        .await
        .expect_err("another account's sample");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// Deleting an experiment with an unfinished run is a Conflict; once the run is terminal
/// the delete removes the experiment, its runs and their samples.
pub async fn delete_experiment_cascades_and_conflicts(store: &dyn Store) {
    let (acct, exp, r) = enqueued(store, "delete", 5).await;
    let tasks = store.claim_samples(&claim(r.id, "w", 2, t0())).await.expect("claim");
    store
        .complete_samples(&[succeeded(&tasks[0], "Acme", at(1))])
        .await
        .expect("complete");

    assert_kind(
        store.delete_experiment(acct.id, exp.id).await,
        ErrorKind::Conflict,
        "delete with a pending run",
    );
    store
        .set_run_status(acct.id, r.id, RunStatus::Running, at(2))
        .await
        .expect("running");
    assert_kind(
        store.delete_experiment(acct.id, exp.id).await,
        ErrorKind::Conflict,
        "delete with a running run",
    );
    assert!(
        store.get_experiment(acct.id, exp.id).await.is_ok(),
        "a refused delete keeps the experiment"
    );

    store
        .set_run_status(acct.id, r.id, RunStatus::Cancelled, at(3))
        .await
        .expect("cancel");
    store.delete_experiment(acct.id, exp.id).await.expect("delete");
    assert_kind(
        store.get_experiment(acct.id, exp.id).await,
        ErrorKind::NotFound,
        "experiment gone",
    );
    assert_kind(store.get_run(acct.id, r.id).await, ErrorKind::NotFound, "run gone");
    assert_kind(
        store.sample_counts(acct.id, r.id).await,
        ErrorKind::NotFound,
        "samples gone",
    );
    assert_kind(
        store.load_samples(acct.id, r.id).await,
        ErrorKind::NotFound,
        "records gone",
    );
    // A late completion of a deleted sample is simply not applied.
    let late = store
        .complete_samples(&[succeeded(&tasks[1], "late", at(4))])
        .await
        .expect("late complete");
    assert_eq!(late, vec![false]);
}
