//! Export pages, deletion requests and erasure.

use std::collections::BTreeMap;

use super::fixtures::{account, assert_kind, at, claim, enqueued, succeeded};
use crate::ErrorKind;
use crate::auth::{ApiKey, KeyEnvironment, Scope, key_format};
use crate::model::{AccountId, ApiKeyId, PageRequest, ReservationId, RunId};
use crate::quota::{QuotaPeriod, RateLimitPolicy, ReserveRequest};
use crate::store::gdpr::{AccountStatus, DeletionStatus, ERASED_TABLES, NewDeletion, SampleKey};
use crate::store::{ApiKeyRecord, ScheduleKind, Store, StoredSchedule};

const DAY_MS: i64 = 86_400_000;

/// Inserts an unrevoked key of `account` and returns it with its hash.
async fn key(store: &dyn Store, account: AccountId, name: &str) -> ApiKeyRecord {
    let generated = key_format::generate(KeyEnvironment::Test);
    let record = ApiKeyRecord {
        key: ApiKey {
            id: ApiKeyId::new(),
            account_id: account,
            name: name.to_string(),
            display_prefix: generated.display_prefix,
            environment: KeyEnvironment::Test,
            scopes: vec![Scope::ExperimentsRead],
            created_at: at(0),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        },
        key_hash: generated.hash,
    };
    store.insert_api_key(&record).await.expect("insert key");
    record
}

fn new_deletion(account: AccountId, now_ms: i64, grace_ms: i64) -> NewDeletion {
    NewDeletion {
        id: uuid::Uuid::now_v7(),
        account,
        requested_by: "host".into(),
        now: at(now_ms),
        deadline: at(now_ms + grace_ms),
    }
}

/// An account with a bit of everything: keys (one with a rate-limit bucket), a scheduled
/// experiment, a run of `n` samples of which the first 10 are answered (3 mentions and 2
/// citations each), a quota reservation and the account's own rate-limit bucket.
async fn populated(store: &dyn Store, name: &str, n: usize) -> (AccountId, RunId, Vec<ApiKeyRecord>) {
    let (acct, experiment, run) = enqueued(store, name, n).await;
    let tasks = store
        .claim_samples(&claim(run.id, "w", 10, at(1)))
        .await
        .expect("claim");
    let outcomes: Vec<_> = tasks.iter().map(|t| succeeded(t, "Acme then Globex", at(2))).collect();
    store.complete_samples(&outcomes).await.expect("complete");
    store
        .set_schedule(
            acct.id,
            experiment.id,
            Some(&StoredSchedule {
                kind: ScheduleKind::Interval,
                expr: "3600".into(),
                next_run_at: at(3_600_000),
            }),
        )
        .await
        .expect("schedule");
    let keys = vec![key(store, acct.id, "a").await, key(store, acct.id, "b").await];
    let policy = RateLimitPolicy::per_minute("gdpr.test", 10).expect("policy");
    for bucket in [format!("key:{}", keys[0].key.id), format!("account:{}", acct.id)] {
        store
            .check_rate_limit(&bucket, &policy, 1, at(1))
            .await
            .expect("rate limit");
    }
    store
        .reserve(&ReserveRequest {
            account: acct.id,
            id: ReservationId::new(),
            samples: 5,
            period: QuotaPeriod::calendar_month(at(0)),
            period_limit: 1_000,
            max_concurrent: 10,
            now: at(0),
            expires_at: at(3_600_000),
        })
        .await
        .expect("reserve");
    (acct.id, run.id, keys)
}

/// Everything of `account` the export pages return, as comparable counts.
async fn footprint(store: &dyn Store, account: AccountId) -> BTreeMap<&'static str, usize> {
    let mut f = BTreeMap::new();
    f.insert(
        "api_keys",
        store.export_api_keys(account, None, 1_000).await.unwrap().len(),
    );
    f.insert(
        "experiments",
        store.export_experiments(account, None, 1_000).await.unwrap().len(),
    );
    let runs = store.export_runs(account, None, 1_000).await.unwrap();
    f.insert("runs", runs.len());
    let (mut samples, mut mentions, mut citations, mut answers) = (0, 0, 0, 0);
    for run in &runs {
        for s in store.export_samples(account, run.id, None, 100_000).await.unwrap() {
            samples += 1;
            mentions += s.record.mentions.len();
            citations += s.record.citations.len();
            answers += usize::from(s.record.sample.raw_answer.is_some());
        }
    }
    f.insert("samples", samples);
    f.insert("mentions", mentions);
    f.insert("citations", citations);
    f.insert("answers", answers);
    f
}

/// Export pages: keyset pages of a run's samples cover it exactly once, in natural-key
/// order, with their facts and raw response; another account sees nothing of it.
pub async fn gdpr_export_pages(store: &dyn Store) {
    let (acct, run, _) = populated(store, "export pages", 25).await;
    let other = account(store, "export outsider").await;
    let mut seen = Vec::new();
    let mut after: Option<SampleKey> = None;
    loop {
        let page = store.export_samples(acct, run, after.as_ref(), 7).await.expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        let last = &page.last().unwrap().record.sample;
        after = Some(SampleKey {
            target: last.target.clone(),
            prompt_index: last.prompt_index,
            repeat_index: last.repeat_index,
        });
        seen.extend(page);
    }
    assert_eq!(seen.len(), 25, "every sample once");
    let keys: Vec<_> = seen
        .iter()
        .map(|s| (s.record.sample.prompt_index, s.record.sample.repeat_index))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted, "natural-key order, no duplicates");
    let answered: Vec<_> = seen.iter().filter(|s| s.record.sample.raw_answer.is_some()).collect();
    assert_eq!(answered.len(), 10);
    for s in &answered {
        assert_eq!(s.record.mentions.len(), 3);
        assert_eq!(s.record.mentions[0].rank, 1, "mentions in rank order");
        assert_eq!(s.record.citations.len(), 2);
        assert!(s.raw_response.as_deref().is_some_and(|r| r.contains("resp-1")));
    }
    assert!(store.export_samples(other.id, run, None, 100).await.unwrap().is_empty());
    assert!(store.export_runs(other.id, None, 100).await.unwrap().is_empty());
    assert!(store.export_api_keys(other.id, None, 100).await.unwrap().is_empty());
    assert!(store.export_experiments(other.id, None, 100).await.unwrap().is_empty());
    // Key pages in id order without overlap.
    let first = store.export_api_keys(acct, None, 1).await.unwrap();
    let second = store.export_api_keys(acct, Some(first[0].id), 1).await.unwrap();
    assert!(first[0].id.0 < second[0].id.0);
    assert!(
        store
            .export_api_keys(acct, Some(second[0].id), 1)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A request blocks the account, revokes its keys and pauses its schedules in one step,
/// returns the unfinished runs; a second request conflicts; cancellation works before the
/// deadline only, restores the account but not the keys, and hands back the paused
/// schedules; due requests are listed from their deadline on.
pub async fn gdpr_deletion_lifecycle(store: &dyn Store) {
    let (acct, run, keys) = populated(store, "deletion lifecycle", 12).await;
    let already_revoked = store.revoke_api_key(acct, keys[1].key.id, at(5)).await.expect("revoke");
    let started = store
        .begin_deletion(&new_deletion(acct, 10, DAY_MS), None)
        .await
        .expect("begin");
    assert_eq!(started.keys_revoked, 1, "only the unrevoked key");
    assert_eq!(started.schedules_paused, 1);
    assert_eq!(started.unfinished_runs, vec![run]);
    assert_eq!(started.request.status, DeletionStatus::Pending);
    let state = store.account_state(acct).await.expect("state");
    assert_eq!(state.status, AccountStatus::DeletionPending);
    assert_eq!(state.deletion_requested_at, Some(at(10)));
    let (found, status) = store
        .find_api_key_for_auth(&keys[0].key_hash)
        .await
        .unwrap()
        .expect("key found");
    assert_eq!(status, AccountStatus::DeletionPending);
    assert_eq!(found.key.revoked_at, Some(at(10)), "revoked by the request");
    let kept = store.get_api_key(acct, keys[1].key.id).await.unwrap();
    assert_eq!(kept.revoked_at, already_revoked.revoked_at, "earlier revocation kept");
    assert!(
        store
            .get_schedule(acct, started_experiment(store, acct).await)
            .await
            .unwrap()
            .is_none(),
        "schedule paused"
    );

    assert_kind(
        store.begin_deletion(&new_deletion(acct, 20, DAY_MS), None).await,
        ErrorKind::Conflict,
        "second request",
    );
    assert!(
        store
            .due_deletions(at(10 + DAY_MS - 1), 100)
            .await
            .unwrap()
            .iter()
            .all(|r| r.account_id != acct)
    );
    assert!(
        store
            .due_deletions(at(10 + DAY_MS), 100)
            .await
            .unwrap()
            .iter()
            .any(|r| r.account_id == acct)
    );

    assert_kind(
        store.cancel_deletion(acct, "admin", at(10 + DAY_MS), None).await,
        ErrorKind::Conflict,
        "cancel at the deadline",
    );
    let cancelled = store
        .cancel_deletion(acct, "admin", at(100), None)
        .await
        .expect("cancel");
    assert_eq!(cancelled.request.status, DeletionStatus::Cancelled);
    assert_eq!(cancelled.paused_schedules.len(), 1);
    assert_eq!(cancelled.paused_schedules[0].kind, ScheduleKind::Interval);
    assert_eq!(cancelled.paused_schedules[0].expr, "3600");
    assert_eq!(store.account_state(acct).await.unwrap().status, AccountStatus::Active);
    let key_after = store.get_api_key(acct, keys[0].key.id).await.unwrap();
    assert_eq!(key_after.revoked_at, Some(at(10)), "keys stay revoked");
    assert_kind(
        store.cancel_deletion(acct, "admin", at(101), None).await,
        ErrorKind::Conflict,
        "nothing pending",
    );
    // A new request after a cancellation is allowed; both are listed, newest first.
    store
        .begin_deletion(&new_deletion(acct, 200, DAY_MS), None)
        .await
        .expect("again");
    let requests = store.deletion_requests(acct).await.unwrap();
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![DeletionStatus::Pending, DeletionStatus::Cancelled]
    );
    assert_eq!(requests[1].cancelled_by.as_deref(), Some("admin"));
    assert_kind(
        store
            .begin_deletion(&new_deletion(AccountId::new(), 0, DAY_MS), None)
            .await,
        ErrorKind::NotFound,
        "unknown account",
    );
}

async fn started_experiment(store: &dyn Store, account: AccountId) -> crate::model::ExperimentId {
    store
        .list_experiments(account, &PageRequest::default())
        .await
        .unwrap()
        .items[0]
        .id
}

/// Erasure: nothing before the deadline; after it, bounded batches that can stop anywhere
/// (each commits with its counts), a verification that refuses while rows remain, then the
/// account row deleted and the request completed with exact counts and zero remaining.
/// Another account is untouched.
pub async fn gdpr_erasure_in_batches(store: &dyn Store) {
    let (victim, _, _) = populated(store, "erasure victim", 25).await;
    let (bystander, _, bystander_keys) = populated(store, "erasure bystander", 25).await;
    let before = footprint(store, bystander).await;
    let request = store
        .begin_deletion(&new_deletion(victim, 0, DAY_MS), None)
        .await
        .unwrap()
        .request;

    assert!(
        store
            .erase_batch(request.id, at(DAY_MS - 1), 10)
            .await
            .unwrap()
            .is_empty(),
        "not due"
    );
    assert_kind(
        store.finish_erasure(request.id, at(DAY_MS - 1), None).await,
        ErrorKind::Conflict,
        "finish before the deadline",
    );
    let now = at(DAY_MS);
    let first = store.erase_batch(request.id, now, 10).await.unwrap();
    assert_eq!(first.deleted.get("samples"), Some(&10), "bounded batch");
    // Verification refuses while rows remain, and changes nothing.
    assert_kind(
        store.finish_erasure(request.id, now, None).await,
        ErrorKind::Internal,
        "rows remain",
    );
    assert_eq!(
        store.account_state(victim).await.unwrap().status,
        AccountStatus::DeletionPending
    );

    let mut batches = 1;
    let mut totals: BTreeMap<&str, u64> = first.deleted.clone();
    loop {
        let batch = store.erase_batch(request.id, now, 10).await.unwrap();
        if batch.is_empty() {
            break;
        }
        batches += 1;
        for (t, n) in batch.deleted {
            *totals.entry(t).or_default() += n;
        }
        assert!(batches < 100, "erasure terminates");
    }
    assert!(
        batches >= 3,
        "25 samples in batches of 10 take several batches, took {batches}"
    );
    let report = store
        .finish_erasure(request.id, now, None)
        .await
        .unwrap()
        .expect("completed");
    assert!(report.remaining.values().all(|n| *n == 0), "{:?}", report.remaining);
    assert_eq!(report.tables_verified(), {
        let mut t = ERASED_TABLES.to_vec();
        t.sort();
        t
    });
    let expected = [
        ("samples", 25),
        ("mentions", 30),
        ("citations", 20),
        ("runs", 1),
        ("experiments", 1),
        ("api_keys", 2),
        ("reservations", 1),
        ("quota_periods", 1),
        ("rate_limits", 2),
        ("accounts", 1),
    ];
    for (table, n) in expected {
        assert_eq!(
            report.rows_deleted.get(table),
            Some(&n),
            "rows deleted from {table}: {report:?}"
        );
    }
    for (table, n) in &totals {
        assert_eq!(
            report.rows_deleted.get(*table),
            Some(n),
            "progress of {table} matches the batches"
        );
    }
    assert!(report.rows_deleted["sample_rollups"] >= 1);
    assert_eq!(
        store.finish_erasure(request.id, now, None).await.unwrap(),
        None,
        "second finish"
    );
    assert_kind(store.account_state(victim).await, ErrorKind::NotFound, "account gone");
    let tombstone = &store.deletion_requests(victim).await.unwrap()[0];
    assert_eq!(tombstone.status, DeletionStatus::Completed);
    assert_eq!(tombstone.completed_at, Some(now));
    assert_eq!(tombstone.details["rows_deleted"]["samples"], 25);
    assert!(store.erase_batch(request.id, now, 10).await.unwrap().is_empty(), "done");

    assert_eq!(
        footprint(store, bystander).await,
        before,
        "the other account is untouched"
    );
    assert_eq!(
        store.account_state(bystander).await.unwrap().status,
        AccountStatus::Active
    );
    assert!(
        store
            .find_api_key_for_auth(&bystander_keys[0].key_hash)
            .await
            .unwrap()
            .is_some()
    );
}
