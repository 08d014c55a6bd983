//! The store conformance suite on SQLite: every check on a fresh in-memory store and on a
//! fresh file store (WAL, several pooled connections, so concurrent claims really race).

use echo_core::store::conformance;
use echo_core::store::{SqliteConfig, SqliteStore, Store};

async fn memory_store() -> SqliteStore {
    SqliteStore::open(SqliteConfig::memory())
        .await
        .expect("open in-memory store")
}

/// A file store in a fresh temporary directory (kept alive by the returned guard).
async fn file_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(SqliteConfig::file(dir.path().join("echo.db")))
        .await
        .expect("open file store");
    (store, dir)
}

macro_rules! conformance_tests {
    ($($check:ident),* $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $check() {
                    let store = memory_store().await;
                    conformance::$check(&store).await;
                    store.close().await;
                }
            )*
        }
        mod file {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let (store, _dir) = file_store().await;
                    conformance::$check(&store).await;
                    store.close().await;
                }
            )*
        }
    };
}

conformance_tests!(
    accounts_round_trip,
    experiment_crud,
    experiment_isolation,
    experiment_pagination,
    enqueue_is_atomic_and_isolated,
    run_listing_and_isolation,
    run_status_rules,
    claim_is_exclusive_under_concurrency,
    claim_any_run,
    lease_expiry_returns_samples,
    completion_is_fenced,
    max_attempts_fails_exhausted_leases,
    retry_returns_to_pending,
    redelivered_success_does_not_duplicate_facts,
    cancel_pending_leaves_leased,
    sample_counts_by_status,
    load_samples_contents_and_order,
    delete_experiment_cascades_and_conflicts,
    quota_reserve_and_settle_once,
    quota_concurrent_reservations_never_overspend,
    quota_concurrent_runs_limit,
    quota_month_boundary,
    quota_expired_reservations_are_released,
    quota_settlement_races_expiry,
    rate_limit_admits_the_limit_then_paces,
    rate_limit_holds_under_concurrency,
    rate_limit_purge_forgets_full_buckets,
    dashboard_aggregates_an_account,
    pool_stats_are_consistent,
    api_key_round_trip,
    api_key_listing_and_isolation,
    api_key_revocation,
    api_key_touch,
    heartbeat_extends_held_leases,
    release_returns_samples_without_spending_attempts,
    expire_leases_returns_or_fails,
    finalize_run_once,
    finalize_status_rules,
    schedule_set_get_due,
    scheduled_run_once_per_slot,
    leader_lease_exclusive_and_fenced,
    leader_lease_single_winner_under_concurrency,
    gdpr_export_pages,
    gdpr_deletion_lifecycle,
    gdpr_erasure_in_batches,
);

#[tokio::test]
async fn run_all_on_one_shared_memory_store() {
    let store = memory_store().await;
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_on_one_shared_file_store() {
    let (store, _dir) = file_store().await;
    conformance::run_all(&store).await;
    // Twice: the checks tolerate data left by earlier checks.
    conformance::run_all(&store).await;
    store.close().await;
}
