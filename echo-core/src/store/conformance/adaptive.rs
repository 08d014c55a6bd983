//! Adaptive runs: per-target progress, and the append of a wave as an idempotent
//! compare-and-set.

use futures::future::join_all;

use super::fixtures::{assert_kind, at, claim, enqueued, succeeded, t0, target};
use crate::ErrorKind;
use crate::model::{AccountId, RunStatus, SampleId};
use crate::store::{NewSample, SampleOutcome, Store, Wave};

/// Samples `from..to` of the fixtures' target, keyed as the engine keys waves (prompt
/// `k % 2`, repeat `k / 2`; the fixtures' first samples use repeats 0..10 of prompt 0, so
/// waves here start at repeat 10).
fn wave(from: u64, to: u64, expected: u64) -> Wave {
    Wave {
        target: target("simulated/small"),
        expected_enqueued: expected,
        samples: (from..to)
            .map(|k| NewSample {
                id: SampleId::new(),
                target: target("simulated/small"),
                prompt_index: (k % 2) as u32,
                repeat_index: 10 + (k / 2) as u32,
            })
            .collect(),
        now: at(50),
    }
}

/// Finishes every pending sample of the run: successes naming Acme, Globex and Initech.
async fn drain(store: &dyn Store, run: crate::model::RunId, now_ms: i64) -> usize {
    let tasks = store
        .claim_samples(&claim(run, "drainer", 1000, at(now_ms)))
        .await
        .expect("claim");
    let outcomes: Vec<SampleOutcome> = tasks.iter().map(|t| succeeded(t, "Acme", at(now_ms + 1))).collect();
    let applied = store.complete_samples(&outcomes).await.expect("complete");
    assert!(applied.iter().all(|a| *a));
    tasks.len()
}

/// Progress counts open, finished and named-brand samples per target in one read; a wave is
/// appended only on the exact drained state it was decided on, once, whatever the number of
/// concurrent appenders; rows whose natural key exists are skipped; terminal runs and other
/// accounts get nothing.
pub async fn adaptive_wave_append_is_idempotent(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "adaptive", 4).await;
    let small = target("simulated/small");

    let p = store.run_progress(acct.id, r.id).await.expect("progress");
    assert_eq!(p.status, RunStatus::Pending);
    assert_eq!(p.targets.len(), 1);
    let t = p.target(&small);
    assert_eq!((t.open, t.answered, t.enqueued()), (4, 0, 4));
    assert!(t.brands.is_empty());

    // Not drained: refused.
    assert_eq!(
        store.append_wave(acct.id, r.id, &wave(0, 3, 4)).await.expect("append"),
        0
    );

    // One sample leased, the others answered: still not drained.
    let tasks = store.claim_samples(&claim(r.id, "w", 4, t0())).await.expect("claim");
    let done: Vec<_> = tasks[..3].iter().map(|t| succeeded(t, "Acme", at(1))).collect();
    store.complete_samples(&done).await.expect("complete");
    let t = store
        .run_progress(acct.id, r.id)
        .await
        .expect("progress")
        .target(&small);
    assert_eq!((t.open, t.answered), (1, 3));
    assert_eq!(
        store.append_wave(acct.id, r.id, &wave(0, 3, 4)).await.expect("append"),
        0
    );
    store
        .complete_samples(&[SampleOutcome::Failed {
            fence: (&tasks[3]).into(),
            error_class: "server".into(),
            error_message: "500".into(),
            at: at(2),
        }])
        .await
        .expect("fail");

    let t = store
        .run_progress(acct.id, r.id)
        .await
        .expect("progress")
        .target(&small);
    assert_eq!((t.open, t.answered, t.failed, t.enqueued()), (0, 3, 1, 4));
    assert_eq!(
        (
            t.naming("Acme"),
            t.naming("Globex"),
            t.naming("Initech"),
            t.naming("Hooli")
        ),
        (3, 3, 3, 0),
        "answered samples naming each brand"
    );

    // A stale state (3 enqueued) appends nothing.
    assert_eq!(
        store.append_wave(acct.id, r.id, &wave(0, 3, 3)).await.expect("stale"),
        0
    );

    // Eight concurrent appenders of the same decision (fresh ids, same keys): one wave.
    let racers = (0..8).map(|_| wave(0, 6, 4)).collect::<Vec<_>>();
    let inserted: u64 = join_all(racers.iter().map(|w| store.append_wave(acct.id, r.id, w)))
        .await
        .into_iter()
        .map(|n| n.expect("append"))
        .sum();
    assert_eq!(inserted, 6, "the wave is appended exactly once");
    let counts = store.sample_counts(acct.id, r.id).await.expect("counts");
    assert_eq!((counts.pending, counts.total()), (6, 10));
    // The same decision again, now that the state moved on: nothing.
    assert_eq!(
        store.append_wave(acct.id, r.id, &wave(0, 6, 4)).await.expect("again"),
        0
    );

    // Drained again: a wave overlapping existing keys inserts only the new ones.
    assert_eq!(drain(store, r.id, 10).await, 6);
    assert_eq!(
        store
            .append_wave(acct.id, r.id, &wave(4, 9, 10))
            .await
            .expect("overlap"),
        3
    );
    let t = store
        .run_progress(acct.id, r.id)
        .await
        .expect("progress")
        .target(&small);
    assert_eq!((t.open, t.answered, t.enqueued()), (3, 9, 13));

    // A wave of another target's samples is a bad request.
    let mut mixed = wave(20, 21, 13);
    mixed.samples[0].target = target("simulated/other");
    assert_kind(
        store.append_wave(acct.id, r.id, &mixed).await,
        ErrorKind::InvalidInput,
        "mixed wave",
    );

    // Another account sees nothing and appends nothing.
    let other = AccountId::new();
    assert_kind(store.run_progress(other, r.id).await, ErrorKind::NotFound, "progress");
    assert_kind(
        store.append_wave(other, r.id, &wave(20, 22, 13)).await,
        ErrorKind::NotFound,
        "append",
    );

    // A terminal run takes no wave, even on its exact drained state.
    assert_eq!(drain(store, r.id, 20).await, 3);
    assert!(
        store
            .finalize_run(acct.id, r.id, at(30))
            .await
            .expect("finalize")
            .is_some()
    );
    let p = store.run_progress(acct.id, r.id).await.expect("progress");
    assert_eq!(p.status, RunStatus::Partial);
    assert_eq!(
        store
            .append_wave(acct.id, r.id, &wave(20, 22, 13))
            .await
            .expect("terminal"),
        0
    );
    assert_eq!(store.sample_counts(acct.id, r.id).await.expect("counts").total(), 13);
}
