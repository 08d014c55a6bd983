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
    run_keeps_its_correlation_id,
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
    adaptive_wave_append_is_idempotent,
    audit_append_query_and_verify,
    audit_writes_are_atomic,
    audit_purge_keeps_the_rest_verifiable,
    audit_erasure_keeps_the_chain,
    audit_concurrent_appends_are_gap_free,
    audit_races_write_one_event,
    consent_latest_wins_and_is_isolated,
    privacy_settings_round_trip,
    redaction_counts_are_stored,
    retention_anonymizes_old_samples_in_batches,
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

/// Raw SQL on a SQLite store, as someone with write access to the file would run it.
struct SqliteRaw<'a>(&'a SqliteStore);

#[async_trait::async_trait]
impl conformance::RawSql for SqliteRaw<'_> {
    async fn execute(&self, sql: &str, bypass_guard: bool) -> Result<u64, String> {
        let pool = self.0.pool();
        let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
        let trigger: Option<(String,)> =
            sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_events_no_update'")
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        if bypass_guard {
            sqlx::query("DROP TRIGGER audit_events_no_update")
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        let n = sqlx::query(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?
            .rows_affected();
        if bypass_guard && let Some((create,)) = trigger {
            sqlx::query(&create)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(n)
    }
}

#[tokio::test]
async fn audit_tampering_is_detected_in_memory() {
    let store = memory_store().await;
    conformance::audit_tampering_is_detected(&store, &SqliteRaw(&store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_tampering_is_detected_in_a_file() {
    let (store, _dir) = file_store().await;
    conformance::audit_tampering_is_detected(&store, &SqliteRaw(&store)).await;
    store.close().await;
}
