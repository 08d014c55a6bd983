//! The query plans of the hot statements on PostgreSQL, checked with `EXPLAIN (FORMAT JSON)`
//! over tables holding realistic row counts, bulk-loaded with `generate_series` and then
//! `VACUUM ANALYZE`d as autovacuum would: 1,000 accounts of which account 0 is a big tenant
//! (20,000 of the 100,000 experiments, 20% of the audit trail), 2% of experiments scheduled,
//! 400 runs, 209,500 samples (380 finished runs of 500, 19 live runs of 500 and one live run
//! of 10,000) with 2 mentions and 1 citation per answer, their rollups, 10,000 API keys and
//! 100,000 audit events.
//!
//! Each statement is planned twice: as a custom plan for the bound values and as the
//! generic plan PostgreSQL switches a prepared statement to after five executions (sqlx
//! prepares every statement, so the generic plan is what a busy worker runs). Both must use
//! the intended index, never scan a big table sequentially, and -- for listings -- never
//! sort. The statements are the constants of `echo_core::store::postgres::sql`, i.e.
//! exactly what the store runs, plus the statements of the stores other features add
//! (scheduler, API keys, audit), written here as those features' queries will read.

mod pg_support;

use echo_core::model::{AccountId, ExperimentId, PageRequest, RunId};
use echo_core::store::postgres::{consent, retention, sql};
use echo_core::store::{DashboardStore, ExperimentStore, PgStore, RunStore, Store};
use pg_support::TestDb;
use serde_json::Value;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// The scheduler's due scan: experiments whose next run is due, oldest first.
const DUE_SCHEDULES: &str = "SELECT id, account_id, next_run_at FROM experiments \
     WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2";
/// Verifying a presented API key by the SHA-256 of its secret.
const KEY_BY_HASH: &str = "SELECT id, account_id, scopes, expires_at, revoked_at FROM api_keys WHERE key_hash = $1";
/// An account's audit trail from a time on, in chain order (as `AuditStore::audit_events`
/// builds it with the account and `from` filters).
const AUDIT_BY_ACCOUNT: &str = "SELECT seq, at, actor, action, target_type, target_id, details FROM audit_events \
     WHERE seq > $1 AND account_id = $2 AND at >= $3 ORDER BY seq LIMIT $4";

/// The account of run `r` (SQL): the owner of experiment `r * 250`.
const RUN_ACCOUNT: &str = "(CASE WHEN r * 250 < 20000 THEN 0 ELSE (r * 250) % 1000 END)";

/// 2025-01-01T00:00:00Z in ms.
const T0: i64 = 1_735_689_600_000;

/// Deterministic ids: `md5(prefix || i)` read as a uuid.
fn id(prefix: &str, i: i64) -> String {
    format!("md5('{prefix}' || {i})::uuid")
}

/// Loads the realistic data set in a few bulk statements.
async fn load(store: &PgStore) {
    let spec = serde_json::json!({
        "name": "CRM visibility",
        "prompts": ["Which CRM is best?", "Best CRM for a startup?"],
        "brands": [{"name": "Acme", "is_target": true}, {"name": "Globex"}],
        "targets": [{"provider": "simulated", "model": "m0"}],
        "repeats": 5
    });
    // (statement, binds the spec as $1): times are spelled in as literals.
    let statements = [
        (
            format!(
                "INSERT INTO accounts (id, name, tier, created_at) \
                 SELECT md5('acct' || i)::uuid, 'account ' || i, 'pro', {T0} FROM generate_series(0, 999) i"
            ),
            false,
        ),
        // Experiments below 20,000 belong to account 0 (the big tenant), experiment i to
        // account i % 1000 otherwise; every 50th is scheduled.
        (
            format!(
                "INSERT INTO experiments (id, account_id, name, spec, created_at, updated_at, schedule_kind, \
                                          schedule_expr, next_run_at) \
                 SELECT md5('exp' || i)::uuid, md5('acct' || (CASE WHEN i < 20000 THEN 0 ELSE i % 1000 END))::uuid, \
                        'experiment ' || i, $1::jsonb, \
                        {T0} + i * 1000, {T0} + i * 1000, \
                        CASE WHEN i % 50 = 0 THEN 'interval' END, CASE WHEN i % 50 = 0 THEN '3600' END, \
                        CASE WHEN i % 50 = 0 THEN {T0} + (i % 7919) * 60000 END \
                 FROM generate_series(0, 99999) i"
            ),
            true,
        ),
        // Run r belongs to experiment r * 250 (and its account: 0 for r < 80).
        (
            format!(
                "INSERT INTO runs (id, account_id, experiment_id, spec, status, planned_samples, seed, created_at) \
                 SELECT md5('run' || r)::uuid, md5('acct' || {RUN_ACCOUNT})::uuid, \
                        md5('exp' || (r * 250))::uuid, $1::jsonb, \
                        CASE WHEN r < 380 THEN 'completed' ELSE 'running' END, 500, r, {T0} + r * 1000 \
                 FROM generate_series(0, 399) r"
            ),
            true,
        ),
        // 500 samples per run (10,000 for run 399): the last 20 runs are in flight (pending,
        // 25 leased each), the others finished (answered, 5% failed).
        (
            format!(
                "INSERT INTO samples (id, run_id, account_id, provider, model, prompt_index, repeat_index, status, \
                                      attempt, lease_owner, lease_expires_at, raw_answer, answer_sha256, \
                                      cost_nano_usd, latency_ms, created_at, completed_at) \
                 SELECT md5('sample' || n)::uuid, md5('run' || r)::uuid, md5('acct' || {RUN_ACCOUNT})::uuid, \
                        'simulated', 'm' || (j % 4), j / 4, 0, st, CASE WHEN st = 'pending' THEN 0 ELSE 1 END, \
                        CASE WHEN st = 'leased' THEN 'worker' END, CASE WHEN st = 'leased' THEN {T0} + 60000 END, \
                        CASE WHEN st = 'succeeded' THEN 'Acme is great, Globex too' END, \
                        CASE WHEN st = 'succeeded' THEN 'ab' END, CASE WHEN st = 'succeeded' THEN 435000 END, \
                        CASE WHEN st = 'succeeded' THEN 900 END, {T0} + r * 1000, \
                        CASE WHEN st IN ('succeeded', 'failed') THEN {T0} + r * 1000 + j END \
                 FROM (SELECT r, j, r * 100000 + j AS n, \
                              CASE WHEN r >= 380 THEN (CASE WHEN j < 25 THEN 'leased' ELSE 'pending' END) \
                                   WHEN j % 20 = 0 THEN 'failed' ELSE 'succeeded' END AS st \
                       FROM generate_series(0, 399) r, \
                            LATERAL generate_series(0, CASE WHEN r = 399 THEN 9999 ELSE 499 END) j) g"
            ),
            false,
        ),
        (
            "INSERT INTO mentions (sample_id, brand, byte_offset, byte_len, count, rank, list_index) \
             SELECT s.id, b.brand, b.off, length(b.brand), 1, b.rank, NULL \
             FROM samples s, (VALUES ('Acme', 0, 1), ('Globex', 15, 2)) AS b(brand, off, rank) \
             WHERE s.status = 'succeeded'"
                .to_string(),
            false,
        ),
        (
            "INSERT INTO citations (sample_id, position, url, domain, title) \
             SELECT id, 0, 'https://acme.example/crm', 'acme.example', 'Acme CRM' FROM samples \
             WHERE status = 'succeeded'"
                .to_string(),
            false,
        ),
        (
            "INSERT INTO sample_rollups (run_id, account_id, provider, model, day, answered, failed, cancelled, \
                                         cost_nano_usd, priced) \
             SELECT run_id, account_id, provider, model, completed_at - completed_at % 86400000, \
                    count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'), 0, \
                    coalesce(sum(cost_nano_usd), 0), count(cost_nano_usd) \
             FROM samples WHERE status IN ('succeeded', 'failed') \
             GROUP BY run_id, account_id, provider, model, completed_at - completed_at % 86400000"
                .to_string(),
            false,
        ),
        (
            "INSERT INTO mention_rollups (run_id, account_id, provider, model, day, brand, samples) \
             SELECT s.run_id, s.account_id, s.provider, s.model, s.completed_at - s.completed_at % 86400000, \
                    m.brand, count(*) \
             FROM samples s JOIN mentions m ON m.sample_id = s.id \
             GROUP BY 1, 2, 3, 4, 5, 6"
                .to_string(),
            false,
        ),
        (
            format!(
                "INSERT INTO api_keys (id, account_id, key_hash, prefix, name, scopes, created_at) \
                 SELECT md5('key' || i)::uuid, md5('acct' || (i % 1000))::uuid, sha256(('secret' || i)::bytea), \
                        'ek_' || i, 'key ' || i, '{{runs:write}}', {T0} \
                 FROM generate_series(0, 9999) i"
            ),
            false,
        ),
        (
            format!(
                "INSERT INTO audit_events (seq, account_id, at, actor, action, details, prev_hash, hash) \
                 SELECT i + 1, md5('acct' || (CASE WHEN i < 20000 THEN 0 ELSE i % 1000 END))::uuid, {T0} + i * 10, \
                        'host', 'run.started', '{{}}', \
                        sha256(('e' || (i - 1))::bytea), sha256(('e' || i)::bytea) \
                 FROM generate_series(0, 99999) i"
            ),
            false,
        ),
        // Privacy: 10 consent records per account (grants and withdrawals of two purposes).
        (
            format!(
                "INSERT INTO consents (id, account_id, subject, purpose, granted, at, policy_version, recorded_by) \
                 SELECT md5('consent' || i)::uuid, md5('acct' || (i % 1000))::uuid, 'account', \
                        CASE WHEN i % 2 = 0 THEN 'data_processing' ELSE 'marketing' END, i % 3 <> 0, \
                        {T0} + i * 1000, 'v' || (i / 1000), 'host' \
                 FROM generate_series(0, 9999) i"
            ),
            false,
        ),
    ];
    for (statement, binds_spec) in &statements {
        let query = sqlx::query(statement);
        let query = if *binds_spec { query.bind(&spec) } else { query };
        query
            .execute(store.pool())
            .await
            .unwrap_or_else(|e| panic!("loading data failed: {e}\n{statement}"));
    }
    sqlx::query("VACUUM ANALYZE")
        .execute(store.pool())
        .await
        .expect("vacuum analyze");
}

/// Index names, scanned relations and node types of a JSON plan, recursively.
#[derive(Debug, Default)]
struct PlanSummary {
    indexes: Vec<String>,
    seq_scans: Vec<String>,
    nodes: Vec<String>,
    text: String,
}

fn walk(node: &Value, parent: &str, out: &mut PlanSummary) {
    let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("?");
    {
        // A Sort under Unique de-duplicates an IN list's ids (a semi-join), not the result order.
        if !(kind == "Sort" && parent == "Unique") {
            out.nodes.push(kind.to_string());
        }
        if kind == "Seq Scan" {
            let relation = node.get("Relation Name").and_then(Value::as_str).unwrap_or("?");
            out.seq_scans.push(relation.to_string());
        }
    }
    if let Some(ix) = node.get("Index Name").and_then(Value::as_str) {
        out.indexes.push(ix.to_string());
    }
    if let Some(children) = node.get("Plans").and_then(Value::as_array) {
        for child in children {
            walk(child, kind, out);
        }
    }
}

/// The custom and the generic plan of `statement` with `args` (SQL literals, one per
/// parameter), via PREPARE / EXPLAIN EXECUTE on one connection.
async fn plans(conn: &mut PgConnection, statement: &str, args: &[String]) -> [PlanSummary; 2] {
    sqlx::query(&format!("PREPARE hot AS {statement}"))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("PREPARE failed: {e}\n{statement}"));
    let execute = if args.is_empty() {
        "EXECUTE hot".to_string()
    } else {
        format!("EXECUTE hot({})", args.join(", "))
    };
    let mut out: [PlanSummary; 2] = Default::default();
    for (slot, mode) in out.iter_mut().zip(["force_custom_plan", "force_generic_plan"]) {
        sqlx::query(&format!("SET plan_cache_mode = {mode}"))
            .execute(&mut *conn)
            .await
            .expect("set plan_cache_mode");
        let plan: Value = sqlx::query_scalar(&format!("EXPLAIN (FORMAT JSON) {execute}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("EXPLAIN failed: {e}\n{statement}"));
        walk(&plan[0]["Plan"], "", slot);
        slot.text = format!(
            "{mode}: {}",
            serde_json::to_string_pretty(&plan[0]["Plan"]).unwrap_or_default()
        );
    }
    sqlx::query("DEALLOCATE hot")
        .execute(&mut *conn)
        .await
        .expect("deallocate");
    sqlx::query("RESET plan_cache_mode")
        .execute(&mut *conn)
        .await
        .expect("reset");
    out
}

/// One hot statement and what its plans must show.
struct Check {
    name: &'static str,
    statement: String,
    args: Vec<String>,
    /// At least one of these indexes is used.
    indexes: &'static [&'static str],
    /// Rows come in index order: no Sort node.
    no_sort: bool,
}

fn check(
    name: &'static str,
    statement: &str,
    args: &[String],
    indexes: &'static [&'static str],
    no_sort: bool,
) -> Check {
    Check {
        name,
        statement: statement.to_string(),
        args: args.to_vec(),
        indexes,
        no_sort,
    }
}

/// Tables too big for a sequential scan on a hot path (the small ones, like `runs` with
/// 400 rows, may be scanned when that is cheaper).
const BIG_TABLES: [&str; 6] = [
    "experiments",
    "samples",
    "mentions",
    "api_keys",
    "audit_events",
    "accounts",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_queries_use_their_indexes() {
    let Some(db) = TestDb::create("pg hot_queries_use_their_indexes").await else {
        return;
    };
    let store = db.store().await;
    load(&store).await;

    let account = id("acct", 0); // the big tenant: 20,080 experiments, 160 runs
    let experiment = id("exp", 0);
    let finished_run = id("run", 0);
    let big_run = id("run", 399); // live, 10,000 samples, account 750
    let big_run_account = id("acct", 750);
    let now = T0.to_string();
    let later = (T0 + 120_000).to_string();
    let owner = "'worker-1'".to_string();
    let null_uuid = "NULL::uuid".to_string();
    let checks = [
        check(
            "list_experiments (first page)",
            sql::LIST_EXPERIMENTS,
            &[
                account.clone(),
                i64::MAX.to_string(),
                "'ffffffff-ffff-ffff-ffff-ffffffffffff'".into(),
                "51".into(),
            ],
            &["experiments_by_account"],
            true,
        ),
        check(
            "list_experiments (deep page)",
            sql::LIST_EXPERIMENTS,
            &[
                account.clone(),
                (T0 + 50_000_000).to_string(),
                id("exp", 50_000),
                "51".into(),
            ],
            &["experiments_by_account"],
            true,
        ),
        check(
            "list_runs",
            sql::LIST_RUNS,
            &[
                account.clone(),
                experiment.clone(),
                i64::MAX.to_string(),
                "'ffffffff-ffff-ffff-ffff-ffffffffffff'".into(),
                "51".into(),
            ],
            &["runs_by_experiment"],
            true,
        ),
        check(
            "claim pending (one run)",
            sql::CLAIM_PENDING_FOR_RUN,
            &[owner.clone(), later.clone(), big_run.clone(), "64".into()],
            &["samples_pending"],
            true,
        ),
        check(
            "claim pending (any run)",
            sql::CLAIM_PENDING_ANY_RUN,
            &[owner.clone(), later.clone(), "64".into()],
            &["samples_pending"],
            true,
        ),
        check(
            "claim expired (any run)",
            sql::CLAIM_EXPIRED,
            &[
                owner.clone(),
                later.clone(),
                later.clone(),
                null_uuid.clone(),
                "64".into(),
                "3".into(),
            ],
            &["samples_leased"],
            true,
        ),
        check(
            "claim expired (one run)",
            sql::CLAIM_EXPIRED,
            &[
                owner.clone(),
                later.clone(),
                later.clone(),
                big_run.clone(),
                "64".into(),
                "3".into(),
            ],
            &["samples_leased"],
            false,
        ),
        check(
            "fail exhausted leases",
            sql::FAIL_EXHAUSTED_LEASES,
            &[later.clone(), "3".into(), null_uuid.clone(), T0.to_string()],
            &["samples_leased"],
            false,
        ),
        // Distributed execution: heartbeat and release probe the samples' keys; the expiry
        // sweep reads only leased samples; the finalization sweep only unfinished runs (and
        // probes their samples by index); the scheduler's statements hit their indexes.
        check(
            "return expired leases",
            sql::RETURN_EXPIRED_LEASES,
            &[later.clone(), "3".into()],
            &["samples_leased"],
            false,
        ),
        check(
            "extend leases",
            sql::EXTEND_LEASES,
            &[
                format!("ARRAY[{}]", id("sample", 190_000)),
                "ARRAY['worker']".into(),
                "ARRAY[1::bigint]".into(),
                later.clone(),
            ],
            &["samples_pkey", "samples_leased"],
            false,
        ),
        check(
            "release leases",
            sql::RELEASE_LEASES,
            &[
                format!("ARRAY[{}]", id("sample", 190_000)),
                "ARRAY['worker']".into(),
                "ARRAY[1::bigint]".into(),
            ],
            &["samples_pkey", "samples_leased"],
            false,
        ),
        check(
            "unfinalized runs",
            sql::UNFINALIZED_RUNS,
            &["100".into()],
            // `runs` is small here (400 rows) and may be scanned; the samples never are.
            &["samples_by_run_status", "samples_pending", "samples_in_flight"],
            false,
        ),
        check(
            "finalize run",
            sql::FINALIZE_RUN,
            &[account.clone(), finished_run.clone(), "'completed'".into(), now.clone()],
            &["runs_pkey"],
            false,
        ),
        check(
            "due schedules (store)",
            sql::DUE_SCHEDULES,
            &[(T0 + 60_000).to_string(), "100".into()],
            &["experiments_due"],
            true,
        ),
        check(
            "advance schedule",
            sql::ADVANCE_SCHEDULE,
            &[
                account.clone(),
                experiment.clone(),
                T0.to_string(),
                (T0 + 1).to_string(),
            ],
            // By id, or by the expected `next_run_at` in the (small, partial) due index.
            &["experiments_pkey", "experiments_due"],
            false,
        ),
        check(
            "scheduled run",
            sql::SCHEDULED_RUN,
            &[account.clone(), experiment.clone(), T0.to_string()],
            &["runs_scheduled_slot", "runs_by_experiment"],
            false,
        ),
        check(
            "complete succeeded",
            sql::COMPLETE_SUCCEEDED,
            &[
                format!("ARRAY[{}]", id("sample", 190_000)),
                "ARRAY['worker']".into(),
                "ARRAY[1::bigint]".into(),
                "ARRAY['Acme']".into(),
                "ARRAY['ab']".into(),
                "ARRAY[NULL::text]".into(),
                "ARRAY[NULL::text]".into(),
                "ARRAY[NULL::text]".into(),
                "ARRAY[1::bigint]".into(),
                "ARRAY[1::bigint]".into(),
                "ARRAY[1::bigint]".into(),
                format!("ARRAY[{now}::bigint]"),
                "ARRAY[NULL::bigint]".into(),
                "ARRAY[NULL::text]".into(),
                "ARRAY[NULL::text]".into(),
            ],
            // Probing the primary key per element, or reading the (small) set of leased
            // samples and hashing: both touch only in-flight rows.
            &["samples_pkey", "samples_leased"],
            false,
        ),
        check(
            "cancel pending",
            sql::CANCEL_PENDING,
            &[big_run_account.clone(), big_run.clone(), now.clone(), T0.to_string()],
            // Any index bounded by the run (or by the account's in-flight samples).
            &[
                "samples_pending",
                "samples_by_run_status",
                "samples_natural_key",
                "samples_in_flight",
            ],
            false,
        ),
        check(
            "sample_counts",
            sql::SAMPLE_COUNTS,
            &[account.clone(), finished_run.clone()],
            &["samples_by_run_status"],
            false,
        ),
        // The planner may read the run's rows by either index and sort them in memory
        // (cheaper than visiting the heap in key order for a run's few thousand rows).
        check(
            "load_samples",
            sql::LOAD_SAMPLES,
            &[account.clone(), finished_run.clone()],
            &["samples_natural_key", "samples_by_run_status"],
            false,
        ),
        check(
            "load mentions",
            sql::LOAD_MENTIONS,
            &[account.clone(), finished_run.clone()],
            &["mentions_pkey"],
            false,
        ),
        check(
            "load citations",
            sql::LOAD_CITATIONS,
            &[account.clone(), finished_run.clone()],
            &["citations_pkey"],
            false,
        ),
        check(
            "raw_response",
            sql::RAW_RESPONSE,
            &[account.clone(), id("sample", 7)],
            &["samples_pkey"],
            false,
        ),
        check(
            "account_summary",
            sql::ACCOUNT_SUMMARY,
            std::slice::from_ref(&account),
            &["samples_in_flight"],
            false,
        ),
        check(
            "visibility_by_target",
            sql::VISIBILITY_BY_TARGET,
            &[account.clone(), i64::MIN.to_string()],
            &["sample_rollups_by_account", "mention_rollups_by_account"],
            false,
        ),
        check(
            "due schedules",
            DUE_SCHEDULES,
            // After a long outage: every scheduled experiment is due.
            &[(T0 + 7_919 * 60_000).to_string(), "100".into()],
            &["experiments_due"],
            // With every scheduled experiment due, a top-N sort of the (partial) index's
            // rows is as good as reading it in order; only the index matters here.
            false,
        ),
        check(
            "api key by hash",
            KEY_BY_HASH,
            &["sha256('secret42'::bytea)".into()],
            &["api_keys_key_hash_key"],
            false,
        ),
        check(
            "audit by account and time",
            AUDIT_BY_ACCOUNT,
            // An ordinary tenant (for the big one, walking the time index and filtering is as
            // good: a fifth of all events are its own).
            &["0".into(), id("acct", 5), T0.to_string(), "100".into()],
            &["audit_events_by_account"],
            // Its 80 events may be fetched by bitmap and sorted: only the index matters.
            false,
        ),
        // Privacy: the retention sweep reads the oldest due samples in order from its partial
        // index; the consent gate reads one account's latest record of a purpose.
        check(
            "anonymize samples (retention)",
            retention::ANONYMIZE_SAMPLES,
            &[later.clone(), (T0 + 200_000).to_string(), "500".into()],
            &["samples_retention_due"],
            true,
        ),
        check(
            "erase cited text (retention)",
            retention::ERASE_CITED_TEXT,
            &[format!("ARRAY[{}, {}]", id("sample", 7), id("sample", 8))],
            &["citations_pkey"],
            false,
        ),
        check(
            "latest consent",
            consent::LATEST_CONSENT,
            &[id("acct", 5), "'data_processing'".into()],
            &["consents_by_purpose"],
            true,
        ),
    ];

    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let mut failures = Vec::new();
    for c in &checks {
        for plan in plans(&mut conn, &c.statement, &c.args).await {
            // Printed for reading with `--nocapture`.
            println!("== {}: indexes {:?}, nodes {:?}", c.name, plan.indexes, plan.nodes);
            if !c.indexes.iter().any(|ix| plan.indexes.iter().any(|used| used == ix)) {
                failures.push(format!("{}: expected one of {:?}\n{}", c.name, c.indexes, plan.text));
            }
            if let Some(table) = plan.seq_scans.iter().find(|t| BIG_TABLES.contains(&t.as_str())) {
                failures.push(format!("{}: sequential scan of {table}\n{}", c.name, plan.text));
            }
            if c.no_sort && plan.nodes.iter().any(|n| n == "Sort" || n == "Incremental Sort") {
                failures.push(format!(
                    "{}: sorts instead of reading in index order\n{}",
                    c.name, plan.text
                ));
            }
        }
    }
    conn.close().await.ok();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // And the store's methods do what their plans say on this data.
    let account_id: AccountId = uuid_of(&store, &account).await.into();
    let page = store
        .list_experiments(account_id, &PageRequest::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 50);
    assert!(page.items.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    let experiment_id: ExperimentId = uuid_of(&store, &experiment).await.into();
    assert_eq!(
        store
            .list_runs(account_id, experiment_id, &PageRequest::default())
            .await
            .expect("runs")
            .items
            .len(),
        1
    );
    let run_id: RunId = uuid_of(&store, &finished_run).await.into();
    assert_eq!(
        store.sample_counts(account_id, run_id).await.expect("counts").total(),
        500
    );
    assert_eq!(store.load_samples(account_id, run_id).await.expect("load").len(), 500);
    let summary = store.account_summary(account_id).await.expect("summary");
    assert_eq!(
        summary.runs.total(),
        160,
        "runs 0..80 and every 4th after belong to account 0"
    );
    let samples: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM samples WHERE account_id = {account}"))
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(
        summary.samples.total(),
        samples as u64,
        "rollups and in-flight counts cover every sample"
    );
    store.close().await;
}

async fn uuid_of(store: &PgStore, expression: &str) -> uuid::Uuid {
    sqlx::query_scalar(&format!("SELECT {expression}"))
        .fetch_one(store.pool())
        .await
        .expect("uuid")
}

/// The quota and rate-limit statements on books of realistic size: 1,000 accounts with a
/// year of monthly periods (12,000 rows), 200 reservations each (200,000; 2% still held,
/// half of those past their expiry, 2% expired) and 100,000 rate-limit buckets. Every statement is a
/// primary-key probe or uses the reservation indexes, in its custom and its generic plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_and_rate_limit_statements_use_their_indexes() {
    let Some(db) = TestDb::create("pg quota_and_rate_limit_statements_use_their_indexes").await else {
        return;
    };
    let store = db.store().await;
    const MONTH: i64 = 2_678_400_000; // 31 days: the periods only need to be distinct
    let statements = [
        format!(
            "INSERT INTO accounts (id, name, tier, created_at) \
             SELECT md5('acct' || i)::uuid, 'account ' || i, 'pro', {T0} FROM generate_series(0, 999) i"
        ),
        format!(
            "INSERT INTO quota_periods (account_id, period_start, period_end, samples_limit, samples_used, \
                                        samples_reserved, updated_at) \
             SELECT md5('acct' || a)::uuid, {T0} + m * {MONTH}, {T0} + (m + 1) * {MONTH}, 100000, 500, 20, {T0} \
             FROM generate_series(0, 999) a, generate_series(0, 11) m"
        ),
        // Reservation n of account a: every 50th is held (expiring at T0 + n minutes, so
        // half of them are past due at T0 + 100 min), as many expired, the others settled.
        format!(
            "INSERT INTO reservations (id, account_id, period_start, samples, samples_committed, status, \
                                       created_at, expires_at, settled_at) \
             SELECT md5('res' || a || '-' || n)::uuid, md5('acct' || a)::uuid, {T0} + (n % 12) * {MONTH}, 10, \
                    CASE WHEN n % 50 = 0 THEN NULL ELSE 5 END, \
                    CASE WHEN n % 50 = 0 THEN 'held' WHEN n % 50 = 25 THEN 'expired' \
                         WHEN n % 7 = 0 THEN 'refunded' ELSE 'committed' END, \
                    {T0}, {T0} + n * 60000, CASE WHEN n % 50 = 0 THEN NULL ELSE {T0} END \
             FROM generate_series(0, 999) a, generate_series(0, 199) n"
        ),
        format!(
            "INSERT INTO rate_limits (key, policy, tat_us) \
             SELECT 'key:' || i, 'runs.start', {T0} * 1000 + i FROM generate_series(0, 99999) i"
        ),
        "VACUUM ANALYZE".to_string(),
    ];
    for statement in &statements {
        sqlx::query(statement)
            .execute(store.pool())
            .await
            .unwrap_or_else(|e| panic!("loading data failed: {e}\n{statement}"));
    }

    let account = id("acct", 7);
    let reservation = format!("md5('res7-{}')::uuid", 3);
    let period = (T0 + 3 * MONTH).to_string();
    let now = (T0 + 100 * 60_000).to_string();
    let checks = [
        check(
            "lock account",
            sql::QUOTA_LOCK_ACCOUNT,
            std::slice::from_ref(&account),
            &["accounts_pkey"],
            false,
        ),
        check(
            "reserve",
            sql::QUOTA_RESERVE,
            &[
                account.clone(),
                period.clone(),
                "10::bigint".into(),
                "100000::bigint".into(),
                now.clone(),
                "5::bigint".into(),
            ],
            &["quota_periods_pkey"],
            false,
        ),
        check(
            "active reservations",
            sql::QUOTA_ACTIVE_RESERVATIONS,
            &[account.clone(), now.clone()],
            &["reservations_by_account"],
            false,
        ),
        check(
            "period books",
            sql::QUOTA_PERIOD_BOOKS,
            &[account.clone(), period.clone()],
            &["quota_periods_pkey"],
            false,
        ),
        check(
            "settle held",
            sql::SETTLE_HELD,
            &[reservation.clone(), account.clone(), "5::bigint".into(), now.clone()],
            &["reservations_pkey"],
            false,
        ),
        check(
            "settle expired",
            sql::SETTLE_EXPIRED,
            &[reservation.clone(), account.clone(), "5::bigint".into(), now.clone()],
            &["reservations_pkey"],
            false,
        ),
        check(
            "apply settlement",
            sql::QUOTA_APPLY,
            &[account.clone(), period.clone(), "10".into(), "5".into(), now.clone()],
            &["quota_periods_pkey"],
            false,
        ),
        check(
            "expire reservations",
            sql::EXPIRE_RESERVATIONS,
            std::slice::from_ref(&now),
            &["reservations_held_expiry"],
            false,
        ),
        check(
            "rate-limit read",
            sql::RATE_LIMIT_READ,
            &["'key:42'".into(), "'runs.start'".into()],
            &["rate_limits_pkey"],
            false,
        ),
    ];
    let big = ["accounts", "quota_periods", "reservations", "rate_limits"];
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    let mut failures = Vec::new();
    for c in &checks {
        for plan in plans(&mut conn, &c.statement, &c.args).await {
            println!("== {}: indexes {:?}, nodes {:?}", c.name, plan.indexes, plan.nodes);
            if !c.indexes.iter().any(|ix| plan.indexes.iter().any(|used| used == ix)) {
                failures.push(format!("{}: expected one of {:?}\n{}", c.name, c.indexes, plan.text));
            }
            if let Some(table) = plan.seq_scans.iter().find(|t| big.contains(&t.as_str())) {
                failures.push(format!("{}: sequential scan of {table}\n{}", c.name, plan.text));
            }
        }
    }
    // The GCRA upsert: its conflict arbiter is the primary key, and nothing is scanned.
    let args = ["'key:42'", "'runs.start'", "1", "6000000", "60000000"].map(String::from);
    for plan in plans(&mut conn, sql::RATE_LIMIT_TAKE, &args).await {
        println!("== rate-limit take: nodes {:?}", plan.nodes);
        if !plan.text.contains("rate_limits_pkey") || !plan.seq_scans.is_empty() {
            failures.push(format!(
                "rate-limit take: expected the primary key as arbiter\n{}",
                plan.text
            ));
        }
    }
    conn.close().await.ok();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    store.close().await;
}
