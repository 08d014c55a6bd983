//! Run finalization: once, when every sample is terminal, with the shared status rule.

use futures::future::join_all;

use super::fixtures::{at, claim, enqueued, succeeded, t0};
use crate::ErrorKind;
use crate::model::{AccountId, RunStatus};
use crate::store::{SampleOutcome, Store};

/// Not while samples are pending or leased; then exactly one of many concurrent callers
/// gets the status; the run carries it with `finished_at`; later calls get `None`; the
/// sweep lists unfinalized runs and forgets them once finalized.
pub async fn finalize_run_once(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "finalize", 3).await;
    assert_eq!(store.finalize_run(acct.id, r.id, t0()).await.expect("early"), None);
    let tasks = store.claim_samples(&claim(r.id, "w", 3, t0())).await.expect("claim");
    let fail = |i: usize| SampleOutcome::Failed {
        fence: (&tasks[i]).into(),
        error_class: "auth".into(),
        error_message: "bad key".into(),
        at: at(2),
    };
    store
        .complete_samples(&[succeeded(&tasks[0], "Acme", at(1)), fail(1)])
        .await
        .expect("complete");
    assert_eq!(
        store.finalize_run(acct.id, r.id, at(3)).await.expect("one leased"),
        None,
        "a leased sample keeps the run open"
    );
    let listed = |runs: Vec<crate::store::UnfinalizedRun>| runs.iter().any(|u| u.run_id == r.id);
    assert!(!listed(store.unfinalized_runs(10_000).await.expect("sweep")));

    store
        .complete_samples(&[succeeded(&tasks[2], "Globex", at(4))])
        .await
        .expect("complete");
    let unfinalized = store.unfinalized_runs(10_000).await.expect("sweep");
    let mine: Vec<_> = unfinalized.iter().filter(|u| u.run_id == r.id).collect();
    assert_eq!(mine.len(), 1, "a run with all samples terminal is listed");
    assert_eq!(mine[0].account_id, acct.id);

    let racers = (0..6).map(|_| store.finalize_run(acct.id, r.id, at(5)));
    let results: Vec<_> = join_all(racers)
        .await
        .into_iter()
        .map(|r| r.expect("finalize"))
        .collect();
    let winners: Vec<_> = results.iter().flatten().collect();
    assert_eq!(
        winners,
        vec![&RunStatus::Partial],
        "exactly one caller makes the transition: {results:?}"
    );

    let run = store.get_run(acct.id, r.id).await.expect("run");
    assert_eq!(run.status, RunStatus::Partial);
    assert_eq!(run.finished_at, Some(at(5)));
    assert_eq!(
        run.started_at,
        Some(at(5)),
        "a run finalized without starting gets started_at"
    );
    assert_eq!(store.finalize_run(acct.id, r.id, at(6)).await.expect("again"), None);
    assert!(!listed(store.unfinalized_runs(10_000).await.expect("sweep")));

    let other = AccountId::new();
    let err = store.finalize_run(other, r.id, at(6)).await.expect_err("other account");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// The status follows the counts: all succeeded → completed; all failed → failed; any
/// cancelled → cancelled; a run already terminal (e.g. cancelled) is never finalized again.
pub async fn finalize_status_rules(store: &dyn Store) {
    // Completed.
    let (acct, _, r) = enqueued(store, "final-ok", 2).await;
    let tasks = store.claim_samples(&claim(r.id, "w", 2, t0())).await.expect("claim");
    let outcomes: Vec<_> = tasks.iter().map(|t| succeeded(t, "Acme", at(1))).collect();
    store.complete_samples(&outcomes).await.expect("complete");
    assert_eq!(
        store.finalize_run(acct.id, r.id, at(2)).await.expect("finalize"),
        Some(RunStatus::Completed)
    );

    // Failed.
    let (acct, _, r) = enqueued(store, "final-failed", 1).await;
    let t = store
        .claim_samples(&claim(r.id, "w", 1, t0()))
        .await
        .expect("claim")
        .remove(0);
    store
        .complete_samples(&[SampleOutcome::Failed {
            fence: (&t).into(),
            error_class: "auth".into(),
            error_message: "no".into(),
            at: at(1),
        }])
        .await
        .expect("complete");
    assert_eq!(
        store.finalize_run(acct.id, r.id, at(2)).await.expect("finalize"),
        Some(RunStatus::Failed)
    );

    // Cancelled samples make a cancelled run.
    let (acct, _, r) = enqueued(store, "final-cancelled", 2).await;
    let t = store
        .claim_samples(&claim(r.id, "w", 1, t0()))
        .await
        .expect("claim")
        .remove(0);
    store
        .cancel_pending_samples(acct.id, r.id, at(1))
        .await
        .expect("cancel");
    store
        .complete_samples(&[succeeded(&t, "Acme", at(2))])
        .await
        .expect("complete");
    assert_eq!(
        store.finalize_run(acct.id, r.id, at(3)).await.expect("finalize"),
        Some(RunStatus::Cancelled)
    );

    // Already terminal by another path: untouched.
    let (acct, _, r) = enqueued(store, "final-terminal", 1).await;
    store
        .cancel_pending_samples(acct.id, r.id, at(1))
        .await
        .expect("cancel");
    assert!(
        store
            .set_run_status(acct.id, r.id, RunStatus::Cancelled, at(1))
            .await
            .expect("status")
    );
    assert_eq!(store.finalize_run(acct.id, r.id, at(2)).await.expect("finalize"), None);
    assert_eq!(
        store.get_run(acct.id, r.id).await.expect("run").finished_at,
        Some(at(1))
    );
}
