//! The sample work queue: exclusive claims, leases, fences, attempts, redelivery.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::future::join_all;

use super::fixtures::{account, at, claim, enqueued, experiment, run, samples, succeeded, t0};
use crate::model::{RunId, SampleCounts, SampleId, SampleStatus};
use crate::store::{ClaimRequest, SampleOutcome, Store};

/// Four claimers race over 500 samples; every sample is handed out exactly once, at
/// attempt 1, with its run, account and coordinates.
pub async fn claim_is_exclusive_under_concurrency(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "race", 500).await;
    let owners: Vec<String> = (0..4).map(|i| format!("worker-{i}")).collect();
    let loops = owners.iter().map(|owner| async move {
        let mut mine = Vec::new();
        loop {
            let batch = store.claim_samples(&claim(r.id, owner, 7, t0())).await.expect("claim");
            if batch.is_empty() {
                return mine;
            }
            assert!(batch.len() <= 7, "claim returned more than its limit");
            mine.extend(batch);
            tokio::task::yield_now().await;
        }
    });
    let claimed: Vec<_> = join_all(loops).await.into_iter().flatten().collect();

    assert_eq!(claimed.len(), 500, "every sample claimed, none twice in total");
    let ids: HashSet<SampleId> = claimed.iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), 500, "no sample handed to two claimers");
    for t in &claimed {
        assert_eq!((t.run_id, t.account_id, t.attempt), (r.id, acct.id, 1));
        assert!(owners.contains(&t.lease_owner));
        assert_eq!(t.target.to_string(), "simulated/small");
    }
    let coords: HashSet<_> = claimed.iter().map(|t| (t.prompt_index, t.repeat_index)).collect();
    assert_eq!(coords.len(), 500, "claims carry each sample's own coordinates");
    assert_eq!(
        store.sample_counts(acct.id, r.id).await.expect("counts"),
        SampleCounts {
            leased: 500,
            ..Default::default()
        }
    );
}

/// Without a run filter, claims serve every run: the older run's samples first, each
/// sample once. Also leaves other runs' unrelated samples claimable (does not fail them).
pub async fn claim_any_run(store: &dyn Store) {
    let owner = account(store, "any-run").await;
    let exp = experiment(store, owner.id, t0()).await;
    // "Older" is older both by creation time and by id, whatever order ids were generated in.
    let (a, b) = (RunId::new(), RunId::new());
    let older = crate::model::Run {
        id: a.min(b),
        ..run(&exp, 4, t0())
    };
    let newer = crate::model::Run {
        id: a.max(b),
        ..run(&exp, 3, at(1))
    };
    store.enqueue_run(&older, &samples(4)).await.expect("enqueue older");
    store.enqueue_run(&newer, &samples(3)).await.expect("enqueue newer");

    // (batch number, task) of every claim of our two runs; other runs' samples (from other
    // checks sharing the store) are claimed and ignored.
    let mut ours = Vec::new();
    for batch_no in 0..10_000 {
        let batch = store
            .claim_samples(&ClaimRequest {
                run_id: None,
                owner: "roamer",
                limit: 2,
                now: t0(),
                lease: Duration::from_secs(60),
                max_attempts: 3,
            })
            .await
            .expect("claim any run");
        if batch.is_empty() {
            break;
        }
        ours.extend(
            batch
                .into_iter()
                .filter(|t| t.run_id == older.id || t.run_id == newer.id)
                .map(|t| (batch_no, t)),
        );
    }
    assert_eq!(ours.len(), 7, "all samples of both runs claimed");
    assert_eq!(
        ours.iter().map(|(_, t)| t.id).collect::<HashSet<_>>().len(),
        7,
        "each once"
    );
    let last_older = ours.iter().filter(|(_, t)| t.run_id == older.id).map(|(b, _)| *b).max();
    let first_newer = ours.iter().filter(|(_, t)| t.run_id == newer.id).map(|(b, _)| *b).min();
    assert!(
        last_older <= first_newer,
        "the older run is served first ({last_older:?} > {first_newer:?})"
    );
    assert_eq!(ours.iter().filter(|(_, t)| t.run_id == older.id).count(), 4);
}

/// A lease that is not completed in time returns the sample to the queue: a later claim
/// takes it over with the next attempt; before expiry nobody else can claim it.
pub async fn lease_expiry_returns_samples(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "expiry", 5).await;
    let first = store.claim_samples(&claim(r.id, "slow", 5, t0())).await.expect("claim");
    assert_eq!(first.len(), 5);

    // 60 s lease: at +59 s nothing is free, at +61 s everything is.
    assert!(
        store
            .claim_samples(&claim(r.id, "eager", 5, at(59_000)))
            .await
            .expect("claim")
            .is_empty()
    );
    let rescued = store
        .claim_samples(&claim(r.id, "rescuer", 10, at(61_000)))
        .await
        .expect("claim");
    assert_eq!(rescued.len(), 5, "every expired lease is reclaimed");
    assert!(rescued.iter().all(|t| t.attempt == 2 && t.lease_owner == "rescuer"));
    assert_eq!(
        rescued.iter().map(|t| t.id).collect::<HashSet<_>>(),
        first.iter().map(|t| t.id).collect::<HashSet<_>>()
    );
    assert_eq!(store.sample_counts(acct.id, r.id).await.expect("counts").leased, 5);
}

/// A completion whose fence is stale (other owner, or older attempt) is rejected and does
/// not overwrite; the current holder's completion is applied.
pub async fn completion_is_fenced(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "fence", 1).await;
    let old = store
        .claim_samples(&claim(r.id, "old", 1, t0()))
        .await
        .expect("claim")
        .remove(0);
    let new = store
        .claim_samples(&claim(r.id, "new", 1, at(61_000)))
        .await
        .expect("claim")
        .remove(0);
    assert_eq!((old.id, old.attempt, new.attempt), (new.id, 1, 2));

    let stale = succeeded(&old, "stale answer", at(62_000));
    let mut wrong_attempt = new.clone();
    wrong_attempt.attempt = 1;
    let mut wrong_owner = new.clone();
    wrong_owner.lease_owner = "old".to_string();
    let rejected = store
        .complete_samples(&[
            stale,
            succeeded(&wrong_attempt, "stale", at(62_000)),
            SampleOutcome::Failed {
                fence: (&wrong_owner).into(),
                error_class: "server".into(),
                error_message: "late failure".into(),
                at: at(62_000),
            },
        ])
        .await
        .expect("complete");
    assert_eq!(rejected, vec![false, false, false], "stale fences are not applied");
    let record = store.load_samples(acct.id, r.id).await.expect("load").remove(0);
    assert_eq!(
        record.sample.status,
        SampleStatus::Leased,
        "a stale completion does not overwrite"
    );
    assert!(record.sample.raw_answer.is_none() && record.mentions.is_empty());

    let applied = store
        .complete_samples(&[succeeded(&new, "fresh answer", at(63_000))])
        .await
        .expect("complete");
    assert_eq!(applied, vec![true]);
    let again = store
        .complete_samples(&[succeeded(&old, "stale answer", at(64_000))])
        .await
        .expect("complete");
    assert_eq!(again, vec![false], "a finished sample accepts nothing more");
    let record = store.load_samples(acct.id, r.id).await.expect("load").remove(0);
    assert_eq!(record.sample.raw_answer.as_deref(), Some("fresh answer"));
    assert_eq!(
        (record.sample.status, record.sample.attempt),
        (SampleStatus::Succeeded, 2)
    );
}

/// A sample whose lease expires on its last allowed attempt is failed with error class
/// `lease_expired` instead of being claimed again.
pub async fn max_attempts_fails_exhausted_leases(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "attempts", 1).await;
    let claim_at = |owner, now| ClaimRequest {
        run_id: Some(r.id),
        owner,
        limit: 1,
        now,
        lease: Duration::from_secs(10),
        max_attempts: 2,
    };
    assert_eq!(
        store.claim_samples(&claim_at("a", t0())).await.expect("claim 1")[0].attempt,
        1
    );
    assert_eq!(
        store.claim_samples(&claim_at("b", at(11_000))).await.expect("claim 2")[0].attempt,
        2
    );
    assert!(
        store
            .claim_samples(&claim_at("c", at(22_000)))
            .await
            .expect("claim 3")
            .is_empty(),
        "exhausted"
    );

    let counts = store.sample_counts(acct.id, r.id).await.expect("counts");
    assert_eq!(
        counts,
        SampleCounts {
            failed: 1,
            ..Default::default()
        }
    );
    let s = store.load_samples(acct.id, r.id).await.expect("load").remove(0).sample;
    assert_eq!(s.status, SampleStatus::Failed);
    assert_eq!(s.error_class.as_deref(), Some("lease_expired"));
    assert_eq!(s.error_message.as_deref(), Some("lease expired after 2 attempts"));
    assert_eq!(s.completed_at, Some(at(22_000)));
}

/// Retry puts the sample back to pending with the error recorded and the attempt kept; the
/// next claim bumps the attempt; a later success keeps the last error for diagnosis.
pub async fn retry_returns_to_pending(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "retry", 1).await;
    let task = store
        .claim_samples(&claim(r.id, "w", 1, t0()))
        .await
        .expect("claim")
        .remove(0);
    let retry = SampleOutcome::Retry {
        fence: (&task).into(),
        error_class: "rate_limited".into(),
        error_message: "429 Too Many Requests".into(),
        at: at(5),
    };
    assert_eq!(store.complete_samples(&[retry]).await.expect("retry"), vec![true]);
    let s = store.load_samples(acct.id, r.id).await.expect("load").remove(0).sample;
    assert_eq!((s.status, s.attempt), (SampleStatus::Pending, 1));
    assert_eq!(s.error_class.as_deref(), Some("rate_limited"));
    assert_eq!(s.error_message.as_deref(), Some("429 Too Many Requests"));
    assert_eq!(s.completed_at, None);

    let again = store.claim_samples(&claim(r.id, "w", 1, at(6))).await.expect("claim");
    assert_eq!(again.len(), 1, "a retried sample is claimable at once");
    assert_eq!(again[0].attempt, 2);
    store
        .complete_samples(&[succeeded(&again[0], "Acme", at(7))])
        .await
        .expect("complete");
    let s = store.load_samples(acct.id, r.id).await.expect("load").remove(0).sample;
    assert_eq!((s.status, s.attempt), (SampleStatus::Succeeded, 2));
    assert_eq!(
        s.error_class.as_deref(),
        Some("rate_limited"),
        "the last failed attempt's error is kept"
    );
}

/// Delivering the same success twice (in one batch or in two) stores its mentions and
/// citations once.
pub async fn redelivered_success_does_not_duplicate_facts(store: &dyn Store) {
    let (acct, _, r) = enqueued(store, "redeliver", 2).await;
    let tasks = store.claim_samples(&claim(r.id, "w", 2, t0())).await.expect("claim");
    let a = succeeded(&tasks[0], "Acme, Globex, Initech", at(1));
    let b = succeeded(&tasks[1], "Acme, Globex, Initech", at(1));
    assert_eq!(
        store.complete_samples(&[a.clone(), a.clone()]).await.expect("batch"),
        vec![true, false]
    );
    assert_eq!(
        store.complete_samples(&[a.clone(), b.clone()]).await.expect("again"),
        vec![false, true]
    );
    assert_eq!(store.complete_samples(&[b]).await.expect("third"), vec![false]);

    let records = store.load_samples(acct.id, r.id).await.expect("load");
    let facts: HashMap<_, _> = records
        .iter()
        .map(|s| (s.sample.id, (s.mentions.len(), s.citations.len())))
        .collect();
    assert_eq!(
        facts.get(&tasks[0].id),
        Some(&(3, 2)),
        "mentions and citations stored once"
    );
    assert_eq!(facts.get(&tasks[1].id), Some(&(3, 2)));
    assert!(store.complete_samples(&[]).await.expect("empty batch").is_empty());
}
