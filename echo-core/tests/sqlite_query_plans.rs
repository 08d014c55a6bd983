//! The query plans of the hot statements, checked with `EXPLAIN QUERY PLAN` against a
//! store holding realistic row counts (3 accounts, 2,000 experiments, 40 runs, 20,000
//! samples in mixed states), before and after `ANALYZE`. The statements are the constants
//! of `echo_core::store::sqlite::sql`, i.e. exactly what the store runs.

mod sqlite_support;

use echo_core::model::{AccountId, ExperimentId, RunId};
use echo_core::store::sqlite::sql;
use echo_core::store::{
    ExperimentStore, FinalizeStore, RunStore, ScheduleKind, ScheduleStore, SqliteConfig, SqliteStore, StoredSchedule,
};
use sqlite_support::{account, claim, experiment, mention, new_run, new_samples, success};
use sqlx::Row;

/// The plan of `statement`, one detail line per step (parameters unbound: the plan does not
/// depend on their values without STAT4).
async fn plan(store: &SqliteStore, statement: &str) -> Vec<String> {
    sqlx::query(&format!("EXPLAIN QUERY PLAN {statement}"))
        .fetch_all(store.pool())
        .await
        .unwrap_or_else(|e| panic!("EXPLAIN failed for {statement}: {e}"))
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect()
}

/// Asserts that the plan uses one of `indexes`, never reads a table row by row (`SCAN t`
/// without an index: a full scan), and — when `no_sort` — reads rows in index order instead
/// of sorting them.
#[track_caller]
fn assert_plan(name: &str, plan: &[String], indexes: &[&str], no_sort: bool) {
    let text = plan.join("\n");
    let uses = |ix: &str| {
        plan.iter()
            .any(|l| l.contains(&format!("INDEX {ix} ")) || l.ends_with(&format!("INDEX {ix}")))
    };
    assert!(
        indexes.iter().any(|ix| uses(ix)),
        "{name}: expected one of the indexes {indexes:?}, plan:\n{text}"
    );
    assert!(
        !plan.iter().any(|l| l.starts_with("SCAN ") && !l.contains(" INDEX ")),
        "{name}: full table scan, plan:\n{text}"
    );
    if no_sort {
        assert!(
            !text.contains("USE TEMP B-TREE FOR ORDER BY"),
            "{name}: sorts instead of reading in index order:\n{text}"
        );
    }
}

/// Fills a store with 3 accounts, 2,000 experiments, 40 runs and 20,000 samples in mixed
/// states (pending, leased, succeeded with mentions).
async fn realistic_store() -> (SqliteStore, AccountId, ExperimentId, RunId) {
    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    let mut accounts = Vec::new();
    for _ in 0..3 {
        accounts.push(account(&store).await);
    }
    let mut experiments = Vec::new();
    for i in 0..2_000 {
        experiments.push(experiment(&store, accounts[i % 3].id, i as i64 * 10).await);
    }
    let mut runs = Vec::new();
    for i in 0..40 {
        let e = &experiments[i * 7];
        let r = new_run(e, 500);
        store.enqueue_run(&r, &new_samples(500)).await.unwrap();
        runs.push(r);
    }
    // Work some of it: lease 3,000 samples across runs, complete 2,000 with mentions.
    let tasks = claim(&store, None, 3_000).await;
    let outcomes: Vec<_> = tasks[..2_000]
        .iter()
        .map(|t| success(t, vec![mention("Acme", 3, 1), mention("Globex", 11, 2)], vec![]))
        .collect();
    store.complete_samples(&outcomes).await.unwrap();
    // Schedule every 10th experiment (200 schedules, due at spread-out times).
    for (i, e) in experiments.iter().enumerate().step_by(10) {
        let schedule = StoredSchedule {
            kind: ScheduleKind::Interval,
            expr: "3600".into(),
            next_run_at: chrono::DateTime::from_timestamp_millis(1_735_689_600_000 + i as i64 * 60_000).unwrap(),
        };
        store.set_schedule(e.account_id, e.id, Some(&schedule)).await.unwrap();
    }
    let r = &runs[3];
    (store, r.account_id, r.experiment_id, r.id)
}

/// The scheduler's due scan: experiments whose next run is due, oldest first (the scheduler's
/// store runs this shape).
const DUE_SCHEDULES: &str = "SELECT id, account_id, next_run_at FROM experiments \
     WHERE next_run_at IS NOT NULL AND next_run_at <= ?1 ORDER BY next_run_at LIMIT ?2";
/// Verifying a presented API key by the SHA-256 of its secret.
const KEY_BY_HASH: &str = "SELECT id, account_id, scopes, expires_at, revoked_at FROM api_keys WHERE key_hash = ?1";
/// An account's audit trail from a time on, in chain order (as `AuditStore::audit_events`
/// builds it with the account and `from` filters).
const AUDIT_BY_ACCOUNT: &str = "SELECT seq, at, actor, action, target_type, target_id, details FROM audit_events \
     WHERE seq > ?1 AND account_id = ?2 AND at >= ?3 ORDER BY seq LIMIT ?4";

async fn check_hot_plans(store: &SqliteStore) {
    // Printed for reading with `--nocapture`.
    for (name, statement) in [
        ("LIST_EXPERIMENTS", sql::LIST_EXPERIMENTS),
        ("LIST_RUNS", sql::LIST_RUNS),
        ("CLAIM_PENDING_FOR_RUN", sql::CLAIM_PENDING_FOR_RUN),
        ("CLAIM_PENDING_ANY_RUN", sql::CLAIM_PENDING_ANY_RUN),
        ("CLAIM_EXPIRED", sql::CLAIM_EXPIRED),
        ("FAIL_EXHAUSTED_LEASES", sql::FAIL_EXHAUSTED_LEASES),
        ("SAMPLE_COUNTS", sql::SAMPLE_COUNTS),
        ("CANCEL_PENDING", sql::CANCEL_PENDING),
        ("LOAD_SAMPLES", sql::LOAD_SAMPLES),
        ("LOAD_MENTIONS", sql::LOAD_MENTIONS),
        ("LOAD_CITATIONS", sql::LOAD_CITATIONS),
        ("COMPLETE_SUCCEEDED", sql::COMPLETE_SUCCEEDED),
        ("EXTEND_LEASE", sql::EXTEND_LEASE),
        ("RELEASE_LEASE", sql::RELEASE_LEASE),
        ("RETURN_EXPIRED_LEASES", sql::RETURN_EXPIRED_LEASES),
        ("FINALIZE_RUN", sql::FINALIZE_RUN),
        ("UNFINALIZED_RUNS", sql::UNFINALIZED_RUNS),
        ("DUE_SCHEDULES", sql::DUE_SCHEDULES),
        ("ADVANCE_SCHEDULE", sql::ADVANCE_SCHEDULE),
        ("SCHEDULED_RUN", sql::SCHEDULED_RUN),
    ] {
        println!("{name}:\n  {}", plan(store, statement).await.join("\n  "));
    }

    let p = plan(store, sql::LIST_EXPERIMENTS).await;
    assert_plan("list_experiments", &p, &["experiments_by_account"], true);

    let p = plan(store, sql::LIST_RUNS).await;
    assert_plan("list_runs", &p, &["runs_by_experiment"], true);

    let p = plan(store, sql::CLAIM_PENDING_FOR_RUN).await;
    assert_plan(
        "claim pending (run)",
        &p,
        &["samples_by_run_status", "samples_pending"],
        true,
    );

    let p = plan(store, sql::CLAIM_PENDING_ANY_RUN).await;
    assert_plan("claim pending (any run)", &p, &["samples_pending"], true);

    let p = plan(store, sql::CLAIM_EXPIRED).await;
    assert_plan("claim expired", &p, &["samples_leased"], true);

    let p = plan(store, sql::FAIL_EXHAUSTED_LEASES).await;
    assert_plan("fail exhausted", &p, &["samples_leased"], false);

    let p = plan(store, sql::SAMPLE_COUNTS).await;
    assert_plan("sample_counts", &p, &["samples_by_run_status"], false);
    assert!(
        p.iter().any(|l| l.contains("COVERING INDEX samples_by_run_status")),
        "counts are index-only: {p:?}"
    );

    let p = plan(store, sql::CANCEL_PENDING).await;
    assert_plan(
        "cancel_pending",
        &p,
        &["samples_by_run_status", "samples_pending"],
        false,
    );

    let p = plan(store, sql::LOAD_SAMPLES).await;
    assert_plan("load_samples", &p, &["sqlite_autoindex_samples_2"], true);

    for (name, statement) in [
        ("load mentions", sql::LOAD_MENTIONS),
        ("load citations", sql::LOAD_CITATIONS),
    ] {
        let p = plan(store, statement).await;
        assert_plan(
            name,
            &p,
            &["samples_by_run_status", "sqlite_autoindex_samples_2"],
            false,
        );
        // The run's samples drive the join; each one's facts come from the clustered primary key.
        assert!(
            p.len() == 2 && p[0].starts_with("SEARCH s ") && p[1].contains("USING PRIMARY KEY (sample_id=?)"),
            "{name}: samples must be the outer loop, facts looked up by key: {p:?}"
        );
    }

    let p = plan(store, sql::COMPLETE_SUCCEEDED).await;
    assert_plan("complete", &p, &["sqlite_autoindex_samples_1"], false);

    let p = plan(store, sql::ROLLUP_EXHAUSTED_LEASES).await;
    assert_plan("rollup of exhausted leases", &p, &["samples_leased"], false);
    let p = plan(store, sql::ROLLUP_CANCEL_PENDING).await;
    assert_plan(
        "rollup of cancelled samples",
        &p,
        &["samples_by_run_status", "samples_pending"],
        false,
    );

    // Dashboards: every part of the summary is an index search, none reads samples by scan.
    let p = plan(store, sql::ACCOUNT_SUMMARY).await;
    for ix in ["runs_by_account", "samples_in_flight", "sample_rollups_by_account"] {
        assert_plan("account_summary", &p, &[ix], false);
    }
    // `SCAN a` reads the `answered` CTE's few rows, not a table.
    let p: Vec<String> = plan(store, sql::VISIBILITY_BY_TARGET)
        .await
        .into_iter()
        .filter(|l| l != "SCAN a")
        .collect();
    for ix in ["sample_rollups_by_account", "mention_rollups_by_account"] {
        assert_plan("visibility_by_target", &p, &[ix], false);
    }

    // Statements of the features that fill the remaining tables.
    let p = plan(store, DUE_SCHEDULES).await;
    assert_plan("due schedules", &p, &["experiments_due"], true);
    let p = plan(store, KEY_BY_HASH).await;
    // `key_hash UNIQUE` (autoindex 1 is the primary key).
    assert_plan("api key by hash", &p, &["sqlite_autoindex_api_keys_2"], false);
    let p = plan(store, AUDIT_BY_ACCOUNT).await;
    assert_plan("audit by account and time", &p, &["audit_events_by_account"], true);
    // Distributed execution: heartbeat and release hit the sample's key; the expiry sweep
    // reads only leased samples; the finalization sweep only unfinished runs; the due scan
    // only scheduled experiments, in order.
    for (name, statement) in [
        ("extend lease", sql::EXTEND_LEASE),
        ("release lease", sql::RELEASE_LEASE),
    ] {
        let p = plan(store, statement).await;
        assert_plan(name, &p, &["sqlite_autoindex_samples_1"], false);
    }
    let p = plan(store, sql::RETURN_EXPIRED_LEASES).await;
    assert_plan("return expired leases", &p, &["samples_leased"], false);
    let p = plan(store, sql::UNFINALIZED_RUNS).await;
    assert_plan("unfinalized runs", &p, &["runs_unfinished"], true);
    assert!(
        p.iter().any(|l| l.contains("samples_by_run_status")),
        "unfinalized runs: the NOT EXISTS probes samples by run and status: {p:?}"
    );
    let p = plan(store, sql::DUE_SCHEDULES).await;
    assert_plan("due schedules", &p, &["experiments_due"], true);
    let p = plan(store, sql::SCHEDULED_RUN).await;
    assert_plan("scheduled run", &p, &["runs_scheduled_slot"], false);
    for (name, statement) in [
        ("finalize run", sql::FINALIZE_RUN),
        ("advance schedule", sql::ADVANCE_SCHEDULE),
    ] {
        let p = plan(store, statement).await;
        assert!(
            p.iter()
                .any(|l| l.contains("PRIMARY KEY") || l.contains("sqlite_autoindex")),
            "{name}: by primary key: {p:?}"
        );
    }
}

#[tokio::test]
async fn hot_queries_use_their_indexes() {
    let (store, account, experiment, run) = realistic_store().await;
    check_hot_plans(&store).await;

    // With statistics (ANALYZE), the planner must still choose the same indexes.
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    check_hot_plans(&store).await;

    // And the statements do what their plans say on this data.
    let page = store.list_experiments(account, &Default::default()).await.unwrap();
    assert_eq!(page.items.len(), 50);
    assert!(page.items.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    assert_eq!(
        store
            .list_runs(account, experiment, &Default::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(store.sample_counts(account, run).await.unwrap().total(), 500);
    assert_eq!(store.load_samples(account, run).await.unwrap().len(), 500);
    let now = chrono::DateTime::from_timestamp_millis(1_735_689_600_000 + 50 * 60_000).unwrap();
    assert_eq!(
        store.due_schedules(now, 1_000).await.unwrap().len(),
        6,
        "slots 0, 10, ..., 50"
    );
    assert_eq!(
        store.unfinalized_runs(100).await.unwrap().len(),
        4,
        "the 2,000 completed samples are the first 4 runs (claims serve the oldest run first)"
    );
}

/// The quota and rate-limit statements: primary-key lookups and the partial/account indexes
/// of the reservations table, never a scan — on a store with many accounts' books.
#[tokio::test]
async fn quota_and_rate_limit_statements_use_their_indexes() {
    use echo_core::model::ReservationId;
    use echo_core::quota::{QuotaPeriod, RateLimitPolicy, ReserveRequest};
    use echo_core::store::{QuotaStore, RateLimitStore};

    let store = SqliteStore::open(SqliteConfig::memory()).await.unwrap();
    let now = sqlite_support::t0();
    let policy = RateLimitPolicy::per_minute("runs.start", 10).unwrap();
    for i in 0..200 {
        let a = account(&store).await;
        for j in 0..5 {
            let r = store
                .reserve(&ReserveRequest {
                    account: a.id,
                    id: ReservationId::new(),
                    samples: 10,
                    period: QuotaPeriod::calendar_month(now),
                    period_limit: 1_000,
                    max_concurrent: 100,
                    now,
                    expires_at: now + chrono::Duration::hours(1),
                })
                .await
                .unwrap();
            if j % 2 == 0 {
                store.settle_reservation(a.id, r.id, 5, now).await.unwrap();
            }
        }
        store
            .check_rate_limit(&format!("account:{i}"), &policy, 1, now)
            .await
            .unwrap();
    }
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();

    let checks: [(&str, &str, &[&str]); 8] = [
        (
            "QUOTA_RESERVE",
            sql::QUOTA_RESERVE,
            &["sqlite_autoindex_quota_periods_1", "reservations_by_account"],
        ),
        (
            "QUOTA_ACTIVE_RESERVATIONS",
            sql::QUOTA_ACTIVE_RESERVATIONS,
            &["reservations_by_account"],
        ),
        ("SETTLE_HELD", sql::SETTLE_HELD, &["sqlite_autoindex_reservations_1"]),
        (
            "SETTLE_EXPIRED",
            sql::SETTLE_EXPIRED,
            &["sqlite_autoindex_reservations_1"],
        ),
        ("QUOTA_APPLY", sql::QUOTA_APPLY, &["sqlite_autoindex_quota_periods_1"]),
        (
            "EXPIRE_RESERVATIONS",
            sql::EXPIRE_RESERVATIONS,
            &["reservations_held_expiry"],
        ),
        ("RATE_LIMIT_READ", sql::RATE_LIMIT_READ, &["PRIMARY KEY"]),
        ("QUOTA_PERIOD_CREATE", sql::QUOTA_PERIOD_CREATE, &[]),
    ];
    for (name, statement, indexes) in checks {
        let p = plan(&store, statement).await;
        println!("{name}:\n  {}", p.join("\n  "));
        assert!(
            !p.iter().any(|l| l.starts_with("SCAN ") && !l.contains(" INDEX ")),
            "{name}: full table scan:\n{}",
            p.join("\n")
        );
        for ix in indexes {
            assert!(
                p.iter().any(|l| l.contains(ix)),
                "{name}: expected {ix}:\n{}",
                p.join("\n")
            );
        }
    }
    // The upsert's conflict target is the primary key; its plan has no scan either.
    let p = plan(&store, sql::RATE_LIMIT_TAKE).await;
    println!("RATE_LIMIT_TAKE:\n  {}", p.join("\n  "));
    assert!(!p.iter().any(|l| l.starts_with("SCAN ")), "{p:?}");
}

/// Privacy: the retention sweep reads the oldest due samples from its partial index in
/// `completed_at` order (no sort) and erases quoted citation text by primary key; the
/// consent gate reads one purpose's latest record from `consents_by_purpose` backwards.
#[tokio::test]
async fn privacy_statements_use_their_indexes() {
    use echo_core::store::sqlite::{consent, retention};

    let (store, _account, _experiment, _run) = realistic_store().await;
    for analyzed in [false, true] {
        if analyzed {
            sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
        }
        let p = plan(&store, retention::ANONYMIZE_SAMPLES).await;
        assert_plan("anonymize samples", &p, &["samples_retention_due"], true);
        let erase = format!("{}(?, ?)", retention::ERASE_CITED_TEXT);
        let p = plan(&store, &erase).await;
        // citations is WITHOUT ROWID: its primary key is the table itself.
        assert!(
            p.iter()
                .any(|l| l.starts_with("SEARCH citations USING PRIMARY KEY (sample_id=?)")),
            "erase cited text: {p:?}"
        );
        let p = plan(&store, consent::LATEST_CONSENT).await;
        assert_plan("latest consent", &p, &["consents_by_purpose"], true);
    }
}
