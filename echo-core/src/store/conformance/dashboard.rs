//! Dashboard aggregations: account totals and visibility per target, isolated by account.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::fixtures::{account, answered, assert_kind, at, claim, experiment, mention, run, t0, target};
use crate::ErrorKind;
use crate::model::{AccountId, RunStatus, SampleCounts, SampleId};
use crate::store::{NewSample, RunCounts, SampleOutcome, Store, TargetVisibility};

fn new_samples(targets: &[&str], per_target: u32) -> Vec<NewSample> {
    targets
        .iter()
        .flat_map(|t| {
            (0..per_target).map(move |i| NewSample {
                id: SampleId::new(),
                target: target(t),
                prompt_index: i,
                repeat_index: 0,
            })
        })
        .collect()
}

const DAY: i64 = 86_400_000;

/// The suite's `n`th day: day 1 is 2025-01-01, the day of `t0`.
fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, n).expect("a January day")
}

fn visibility(t: &str, answered: u64, mentioned: &[(&str, u64)]) -> TargetVisibility {
    TargetVisibility {
        target: target(t),
        answered,
        mentioned: mentioned
            .iter()
            .map(|(b, n)| (b.to_string(), *n))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Runs and samples by status, the exact cost of priced answers and the count of unpriced
/// ones; per target the answered samples and the samples naming each brand, optionally
/// since a time; another account's data never counts; an unknown account is NotFound.
pub async fn dashboard_aggregates_an_account(store: &dyn Store) {
    let owner = account(store, "dashboard").await;
    let other = account(store, "dashboard-other").await;
    let exp = experiment(store, owner.id, t0()).await;

    // Run 1: three samples on each of two targets, worked to mixed outcomes.
    let r1 = run(&exp, 6, t0());
    store
        .enqueue_run(&r1, &new_samples(&["zeta/m", "alpha/m"], 3))
        .await
        .expect("enqueue run 1");
    store
        .set_run_status(owner.id, r1.id, RunStatus::Running, at(1))
        .await
        .expect("running");
    let tasks = store.claim_samples(&claim(r1.id, "w", 6, t0())).await.expect("claim");
    assert_eq!(tasks.len(), 6);
    let alpha: Vec<_> = tasks.iter().filter(|t| t.target.provider == "alpha").collect();
    let zeta: Vec<_> = tasks.iter().filter(|t| t.target.provider == "zeta").collect();

    // Answers on three UTC days: day 0 (2025-01-01), day 1 and day 2.
    let mut both = answered(alpha[0], "Acme and Globex", at(1_000));
    both.mentions = vec![mention("Acme", 0, 1), mention("Globex", 9, 2)];
    let mut unpriced = answered(alpha[1], "Acme", at(DAY + 2_000));
    unpriced.mentions = vec![mention("Acme", 0, 1)];
    unpriced.cost_usd = None;
    let mut silent = answered(zeta[0], "Nothing to name", at(2 * DAY + 5_000));
    silent.mentions = vec![];
    let outcomes = vec![
        SampleOutcome::Succeeded(both),
        SampleOutcome::Succeeded(unpriced),
        SampleOutcome::Succeeded(silent),
        SampleOutcome::Failed {
            fence: alpha[2].into(),
            error_class: "auth".into(),
            error_message: "bad key".into(),
            at: at(3_000),
        },
        SampleOutcome::Retry {
            fence: zeta[1].into(),
            error_class: "rate_limited".into(),
            error_message: "429".into(),
            at: at(3_000),
        },
    ];
    assert_eq!(
        store.complete_samples(&outcomes).await.expect("complete"),
        vec![true; 5]
    );

    // Run 2: four samples, cancelled before any ran.
    let r2 = run(&exp, 4, at(10));
    store
        .enqueue_run(&r2, &new_samples(&["alpha/m"], 4))
        .await
        .expect("enqueue run 2");
    store
        .cancel_pending_samples(owner.id, r2.id, at(11))
        .await
        .expect("cancel");
    store
        .set_run_status(owner.id, r2.id, RunStatus::Cancelled, at(11))
        .await
        .expect("cancelled");

    // Another account's answered sample naming a third brand must not count.
    let other_exp = experiment(store, other.id, t0()).await;
    let r3 = run(&other_exp, 1, t0());
    store
        .enqueue_run(&r3, &new_samples(&["alpha/m"], 1))
        .await
        .expect("enqueue other");
    let t3 = store
        .claim_samples(&claim(r3.id, "w", 1, t0()))
        .await
        .expect("claim other")
        .remove(0);
    store
        .complete_samples(&[SampleOutcome::Succeeded(answered(&t3, "Initech", at(4_000)))])
        .await
        .expect("complete other");

    let summary = store.account_summary(owner.id).await.expect("summary");
    assert_eq!(
        summary.runs,
        RunCounts {
            running: 1,
            cancelled: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        summary.samples,
        SampleCounts {
            pending: 1,
            leased: 1,
            succeeded: 3,
            failed: 1,
            cancelled: 4,
        }
    );
    assert!(
        (summary.cost_usd - 2.0 * 0.000_435).abs() < 1e-12,
        "cost of the two priced answers, got {}",
        summary.cost_usd
    );
    assert_eq!(summary.unpriced_answers, 1);
    let summary_before_r4 = summary.clone();

    let all_time = store.visibility_by_target(owner.id, None).await.expect("visibility");
    assert_eq!(
        all_time,
        vec![
            visibility("alpha/m", 2, &[("Acme", 2), ("Globex", 1)]),
            visibility("zeta/m", 1, &[]),
        ],
        "ordered by target; only this account's answered samples"
    );
    let recent = store
        .visibility_by_target(owner.id, Some(day(2)))
        .await
        .expect("visibility since");
    assert_eq!(
        recent,
        vec![visibility("alpha/m", 1, &[("Acme", 1)]), visibility("zeta/m", 1, &[])],
        "since is an inclusive UTC day and filters on the answer time"
    );
    assert_eq!(
        store
            .visibility_by_target(owner.id, Some(day(3)))
            .await
            .expect("last day"),
        vec![visibility("zeta/m", 1, &[])]
    );
    assert!(
        store
            .visibility_by_target(owner.id, Some(day(4)))
            .await
            .expect("nothing since")
            .is_empty()
    );

    let other_summary = store.account_summary(other.id).await.expect("other summary");
    assert_eq!(other_summary.samples.succeeded, 1);
    assert_eq!(other_summary.runs.total(), 1);
    assert_eq!(
        store
            .visibility_by_target(other.id, None)
            .await
            .expect("other visibility"),
        vec![visibility("alpha/m", 1, &[("Acme", 1), ("Globex", 1), ("Initech", 1)])]
    );

    // A lease expiring on its last attempt is a failure; a deleted experiment's runs no
    // longer count.
    let doomed = experiment(store, owner.id, t0()).await;
    let r4 = run(&doomed, 2, t0());
    store
        .enqueue_run(&r4, &new_samples(&["alpha/m"], 2))
        .await
        .expect("enqueue run 4");
    let one_attempt = |now| crate::store::ClaimRequest {
        max_attempts: 1,
        ..claim(r4.id, "w", 2, now)
    };
    let t4 = store.claim_samples(&one_attempt(t0())).await.expect("claim 4");
    assert_eq!(t4.len(), 2);
    store
        .complete_samples(&[SampleOutcome::Succeeded(answered(&t4[0], "Initech", at(1)))])
        .await
        .expect("complete 4");
    assert!(
        store
            .claim_samples(&one_attempt(at(61_000)))
            .await
            .expect("expire")
            .is_empty()
    );
    let summary = store.account_summary(owner.id).await.expect("summary with run 4");
    assert_eq!((summary.samples.succeeded, summary.samples.failed), (4, 2));
    assert_eq!(summary.samples.leased, 1, "run 1's sample still leased");
    store
        .set_run_status(owner.id, r4.id, RunStatus::Partial, at(62_000))
        .await
        .expect("finish run 4");
    store.delete_experiment(owner.id, doomed.id).await.expect("delete");
    let after = store.account_summary(owner.id).await.expect("summary after delete");
    assert_eq!(
        after, summary_before_r4,
        "the deleted experiment's runs are gone from the totals"
    );
    assert_eq!(
        store
            .visibility_by_target(owner.id, None)
            .await
            .expect("visibility after delete"),
        all_time
    );

    let empty = account(store, "dashboard-empty").await;
    assert_eq!(
        store.account_summary(empty.id).await.expect("empty summary"),
        Default::default()
    );
    assert!(
        store
            .visibility_by_target(empty.id, None)
            .await
            .expect("empty")
            .is_empty()
    );
    let nobody = AccountId::new();
    assert_kind(
        store.account_summary(nobody).await,
        ErrorKind::NotFound,
        "unknown account summary",
    );
    assert_kind(
        store.visibility_by_target(nobody, None).await,
        ErrorKind::NotFound,
        "unknown account visibility",
    );
}

/// Pool statistics are consistent: idle and in-use connections add up to the size, which
/// never exceeds the ceiling.
pub async fn pool_stats_are_consistent(store: &dyn Store) {
    // Some traffic first, so the pool has opened connections.
    let _ = account(store, "pool-stats").await;
    let stats = store.pool_stats();
    assert!(stats.max_connections >= 1, "{stats:?}");
    assert!(stats.size >= 1 && stats.size <= stats.max_connections, "{stats:?}");
    assert_eq!(stats.idle + stats.in_use, stats.size, "{stats:?}");
}
