//! Schedules: set/get/clear, the due scan, idempotent creation of a slot's run.

use futures::future::join_all;

use super::fixtures::{account, at, experiment, run, samples, t0};
use crate::ErrorKind;
use crate::model::{AccountId, RunStatus};
use crate::store::{ScheduleKind, ScheduledRun, ScheduledRunOutcome, Store, StoredSchedule};

fn hourly(next: chrono::DateTime<chrono::Utc>) -> StoredSchedule {
    StoredSchedule {
        kind: ScheduleKind::Interval,
        expr: "3600".into(),
        next_run_at: next,
    }
}

/// A schedule round-trips, is visible only to its account, shows in the due scan once due
/// (earliest first) and leaves it when cleared.
pub async fn schedule_set_get_due(store: &dyn Store) {
    let acct = account(store, "schedules").await;
    let e1 = experiment(store, acct.id, t0()).await;
    let e2 = experiment(store, acct.id, t0()).await;
    assert_eq!(store.get_schedule(acct.id, e1.id).await.expect("none"), None);

    let cron = StoredSchedule {
        kind: ScheduleKind::Cron,
        expr: "30 * * * *".into(),
        next_run_at: at(1_800_000),
    };
    store
        .set_schedule(acct.id, e1.id, Some(&hourly(at(3_600_000))))
        .await
        .expect("set e1");
    store.set_schedule(acct.id, e2.id, Some(&cron)).await.expect("set e2");
    assert_eq!(
        store.get_schedule(acct.id, e1.id).await.expect("get"),
        Some(hourly(at(3_600_000)))
    );
    assert_eq!(
        store.get_schedule(acct.id, e2.id).await.expect("get"),
        Some(cron.clone())
    );

    let ours = |due: Vec<crate::store::DueSchedule>| {
        due.into_iter()
            .filter(|d| d.experiment_id == e1.id || d.experiment_id == e2.id)
            .collect::<Vec<_>>()
    };
    assert!(ours(store.due_schedules(at(1_799_999), 10_000).await.expect("scan")).is_empty());
    let due = ours(store.due_schedules(at(1_800_000), 10_000).await.expect("scan"));
    assert_eq!(due.len(), 1, "due at exactly next_run_at");
    assert_eq!((due[0].experiment_id, due[0].account_id), (e2.id, acct.id));
    assert_eq!(due[0].schedule, cron);
    let due = ours(store.due_schedules(at(3_600_000), 10_000).await.expect("scan"));
    assert_eq!(
        due.iter().map(|d| d.experiment_id).collect::<Vec<_>>(),
        vec![e2.id, e1.id],
        "earliest first"
    );

    store.set_schedule(acct.id, e2.id, None).await.expect("clear");
    assert_eq!(store.get_schedule(acct.id, e2.id).await.expect("cleared"), None);
    let due = ours(store.due_schedules(at(3_600_000), 10_000).await.expect("scan"));
    assert_eq!(due.iter().map(|d| d.experiment_id).collect::<Vec<_>>(), vec![e1.id]);

    let other = AccountId::new();
    for result in [
        store.set_schedule(other, e1.id, None).await.map(|_| ()),
        store.get_schedule(other, e1.id).await.map(|_| ()),
        store.scheduled_run(other, e1.id, at(0)).await.map(|_| ()),
    ] {
        assert_eq!(result.expect_err("other account").kind(), ErrorKind::NotFound);
    }
    assert_eq!(
        store.get_schedule(acct.id, e1.id).await.expect("get"),
        Some(hourly(at(3_600_000))),
        "another account's clear changed nothing"
    );
}

/// Creating a slot's run inserts the run (pending, with its samples) and advances the
/// schedule in one step; racing schedulers with the same scan create it once; a stale scan
/// changes nothing; an existing run of the slot is not doubled but the schedule advances.
pub async fn scheduled_run_once_per_slot(store: &dyn Store) {
    let acct = account(store, "scheduled-runs").await;
    let e = experiment(store, acct.id, t0()).await;
    let slot1 = at(3_600_000);
    store
        .set_schedule(acct.id, e.id, Some(&hourly(slot1)))
        .await
        .expect("set");

    let candidates: Vec<_> = (0..5).map(|_| (run(&e, 4, slot1), samples(4))).collect();
    let racers = candidates.iter().map(|(r, s)| {
        store.create_scheduled_run(ScheduledRun {
            run: r,
            samples: s,
            due_at: slot1,
            slot: slot1,
            next_run_at: at(7_200_000),
        })
    });
    let outcomes: Vec<_> = join_all(racers).await.into_iter().map(|r| r.expect("create")).collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == ScheduledRunOutcome::Created).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, ScheduledRunOutcome::Created | ScheduledRunOutcome::Stale))
    );
    let winner = candidates
        .iter()
        .zip(&outcomes)
        .find(|(_, o)| **o == ScheduledRunOutcome::Created)
        .map(|((r, _), _)| r.id)
        .expect("one winner");
    assert_eq!(
        store.scheduled_run(acct.id, e.id, slot1).await.expect("lookup"),
        Some(winner)
    );
    assert_eq!(
        store.scheduled_run(acct.id, e.id, at(7_200_000)).await.expect("lookup"),
        None
    );
    let stored = store.get_run(acct.id, winner).await.expect("run");
    assert_eq!((stored.status, stored.planned_samples), (RunStatus::Pending, 4));
    assert_eq!(store.sample_counts(acct.id, winner).await.expect("counts").pending, 4);
    assert_eq!(
        store
            .get_schedule(acct.id, e.id)
            .await
            .expect("get")
            .map(|s| s.next_run_at),
        Some(at(7_200_000)),
        "advanced with the run"
    );
    let page = store
        .list_runs(acct.id, e.id, &crate::model::PageRequest::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1, "losers inserted nothing");

    // The schedule is reset to the slot already served: the slot's run is not doubled,
    // and the schedule still moves on.
    store
        .set_schedule(acct.id, e.id, Some(&hourly(slot1)))
        .await
        .expect("reset");
    let (r, s) = (run(&e, 4, slot1), samples(4));
    let outcome = store
        .create_scheduled_run(ScheduledRun {
            run: &r,
            samples: &s,
            due_at: slot1,
            slot: slot1,
            next_run_at: at(7_200_000),
        })
        .await
        .expect("again");
    assert_eq!(outcome, ScheduledRunOutcome::SlotTaken);
    assert!(
        store.get_run(acct.id, r.id).await.is_err(),
        "no second run for the slot"
    );
    assert_eq!(
        store
            .get_schedule(acct.id, e.id)
            .await
            .expect("get")
            .map(|s| s.next_run_at),
        Some(at(7_200_000))
    );

    // Missed slots: the run is recorded under the slot it fulfils, not the one scanned.
    let (r, s) = (run(&e, 4, at(18_000_000)), samples(4));
    let outcome = store
        .create_scheduled_run(ScheduledRun {
            run: &r,
            samples: &s,
            due_at: at(7_200_000),
            slot: at(18_000_000),
            next_run_at: at(21_600_000),
        })
        .await
        .expect("catch up");
    assert_eq!(outcome, ScheduledRunOutcome::Created);
    assert_eq!(
        store
            .scheduled_run(acct.id, e.id, at(18_000_000))
            .await
            .expect("lookup"),
        Some(r.id)
    );
    assert_eq!(
        store.scheduled_run(acct.id, e.id, at(7_200_000)).await.expect("lookup"),
        None
    );

    // Another account cannot create runs on this experiment.
    let mut foreign = run(&e, 4, at(21_600_000));
    foreign.account_id = AccountId::new();
    let err = store
        .create_scheduled_run(ScheduledRun {
            run: &foreign,
            samples: &samples(4),
            due_at: at(21_600_000),
            slot: at(21_600_000),
            next_run_at: at(25_200_000),
        })
        .await
        .expect_err("foreign");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
