//! Lease upkeep: heartbeat extension, release on shutdown, the expiry sweep.

use std::time::Duration;

use super::fixtures::{at, claim, enqueued, succeeded, t0};
use crate::model::{SampleCounts, SampleStatus};
use crate::store::{Fence, Store};

/// An extended lease outlives its original expiry: no other claimer can take the sample,
/// and the holder's completion is applied. Fences that no longer hold (taken over, wrong
/// attempt, finished) are reported `false` and extend nothing.
pub async fn heartbeat_extends_held_leases(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "heartbeat", 3).await;
    let tasks = store
        .claim_samples(&claim(r.id, "beating", 3, t0()))
        .await
        .expect("claim");
    assert_eq!(tasks.len(), 3);
    let fences: Vec<Fence> = tasks.iter().map(Fence::from).collect();

    // 60 s lease from t0; at +50 s extend by 60 s more: held until +110 s.
    let held = store
        .extend_leases(&fences, at(50_000), Duration::from_secs(60))
        .await
        .expect("extend");
    assert_eq!(held, vec![true, true, true]);
    let stolen = store
        .claim_samples(&claim(r.id, "thief", 3, at(100_000)))
        .await
        .expect("claim");
    assert!(
        stolen.is_empty(),
        "an extended lease is not taken over before its new expiry"
    );

    // Finish one; a wrong attempt or owner holds nothing.
    assert_eq!(
        store
            .complete_samples(&[succeeded(&tasks[0], "Acme", at(101_000))])
            .await
            .expect("complete"),
        vec![true]
    );
    let mut wrong_attempt = fences[1].clone();
    wrong_attempt.attempt += 1;
    let mut wrong_owner = fences[2].clone();
    wrong_owner.owner = "thief".into();
    let held = store
        .extend_leases(
            &[fences[0].clone(), wrong_attempt, wrong_owner, fences[1].clone()],
            at(102_000),
            Duration::from_secs(60),
        )
        .await
        .expect("extend");
    assert_eq!(held, vec![false, false, false, true], "only held fences extend");

    // Sample 2 was last extended to +110 s: taken over after that; sample 1 (extended at
    // +102 s to +162 s) is not.
    let rescued = store
        .claim_samples(&claim(r.id, "rescuer", 3, at(111_000)))
        .await
        .expect("claim");
    assert_eq!(rescued.len(), 1, "only the lease that stopped beating expires");
    assert_eq!(rescued[0].id, tasks[2].id);
    let held = store
        .extend_leases(&[fences[2].clone()], at(112_000), Duration::from_secs(60))
        .await
        .expect("extend");
    assert_eq!(held, vec![false], "a lease taken over is lost to its old holder");
    assert!(
        store
            .extend_leases(&[], at(112_000), Duration::from_secs(60))
            .await
            .expect("empty")
            .is_empty()
    );
    assert_eq!(
        store.sample_counts(acct.id, r.id).await.expect("counts"),
        SampleCounts {
            leased: 2,
            succeeded: 1,
            ..Default::default()
        }
    );
}

/// Released samples are pending at once (no waiting for expiry) with their attempt given
/// back, so releasing never exhausts `max_attempts`; stale fences release nothing.
pub async fn release_returns_samples_without_spending_attempts(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "release", 2).await;
    // Claim and release the same sample more often than max_attempts (3) allows claims.
    for round in 0..5 {
        let tasks = store
            .claim_samples(&claim(r.id, "stopping", 2, at(round)))
            .await
            .expect("claim");
        assert_eq!(tasks.len(), 2, "round {round}: released samples are claimable at once");
        assert!(
            tasks.iter().all(|t| t.attempt == 1),
            "round {round}: attempt given back"
        );
        let mut stale = Fence::from(&tasks[1]);
        stale.owner = "someone-else".into();
        let released = store
            .release_leases(&[Fence::from(&tasks[0]), stale, Fence::from(&tasks[1])])
            .await
            .expect("release");
        assert_eq!(released, vec![true, false, true]);
        assert_eq!(
            store.release_leases(&[Fence::from(&tasks[0])]).await.expect("again"),
            vec![false],
            "a released lease is not released twice"
        );
    }
    assert_eq!(
        store.sample_counts(acct.id, r.id).await.expect("counts"),
        SampleCounts {
            pending: 2,
            ..Default::default()
        }
    );
    let s = store.load_samples(acct.id, r.id).await.expect("load").remove(0).sample;
    assert_eq!((s.status, s.attempt, s.error_class), (SampleStatus::Pending, 0, None));
    assert!(store.release_leases(&[]).await.expect("empty").is_empty());
}

/// The sweep returns expired leases with attempts left to pending (attempt kept, expiry
/// recorded as the last error) and fails those on their last attempt; live leases stay.
pub async fn expire_leases_returns_or_fails(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "expire", 3).await;
    let lease = |owner, now| crate::store::ClaimRequest {
        run_id: Some(r.id),
        owner,
        limit: 1,
        now,
        lease: Duration::from_secs(10),
        max_attempts: 2,
    };
    // Sample A: claimed twice (attempt 2 = max); sample B: claimed once; C: claimed late.
    let a1 = store.claim_samples(&lease("dead-1", t0())).await.expect("a1").remove(0);
    let a2 = store
        .claim_samples(&lease("dead-2", at(11_000)))
        .await
        .expect("a2")
        .remove(0);
    assert_eq!((a1.id, a2.attempt), (a2.id, 2));
    let b = store
        .claim_samples(&lease("dead-3", at(12_000)))
        .await
        .expect("b")
        .remove(0);
    let c = store
        .claim_samples(&lease("alive", at(20_000)))
        .await
        .expect("c")
        .remove(0);
    assert_ne!(b.id, c.id);

    // At +25 s: A (expired +21 s, attempt 2) fails; B (expired +22 s, attempt 1) returns;
    // C (expires +30 s) stays leased.
    let swept = store.expire_leases(at(25_000), 2).await.expect("sweep");
    assert!(swept.failed >= 1 && swept.returned >= 1, "{swept:?}");
    let by_id: std::collections::HashMap<_, _> = store
        .load_samples(acct.id, r.id)
        .await
        .expect("load")
        .into_iter()
        .map(|s| (s.sample.id, s.sample))
        .collect();
    let (sa, sb, sc) = (&by_id[&a2.id], &by_id[&b.id], &by_id[&c.id]);
    assert_eq!(
        (sa.status, sa.error_class.as_deref()),
        (SampleStatus::Failed, Some("lease_expired"))
    );
    assert_eq!((sb.status, sb.attempt), (SampleStatus::Pending, 1));
    assert_eq!(sb.error_class.as_deref(), Some("lease_expired"));
    assert_eq!(sc.status, SampleStatus::Leased);

    // The returned sample is claimed again at the next attempt; C's holder completes.
    let again = store.claim_samples(&lease("rescuer", at(26_000))).await.expect("again");
    assert_eq!((again.len(), again[0].id, again[0].attempt), (1, b.id, 2));
    assert_eq!(
        store
            .complete_samples(&[succeeded(&c, "Acme", at(27_000))])
            .await
            .expect("complete"),
        vec![true]
    );
    // The dashboard's books agree with the samples: the sweep's failure is counted in the
    // account's rollups like a completion's.
    let summary = store.account_summary(acct.id).await.expect("summary");
    assert_eq!(
        summary.samples,
        SampleCounts {
            succeeded: 1,
            failed: 1,
            leased: 1,
            ..SampleCounts::default()
        },
        "account summary after the expiry sweep"
    );
    assert!(
        store.expire_leases(at(25_000), 0).await.is_err(),
        "max_attempts 0 is rejected"
    );
}
