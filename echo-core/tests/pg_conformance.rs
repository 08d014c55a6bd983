//! The store conformance suite on PostgreSQL: every check on a fresh database (a pool of
//! several connections, so concurrent claims really race), and the whole suite twice on
//! one database. Needs a server (`ECHO_TEST_PG_URL`); see `pg_support`.

mod pg_support;

use echo_core::store::Store;
use echo_core::store::conformance;

macro_rules! conformance_tests {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (_db, store) = pg_store_or_skip!(stringify!($check));
                conformance::$check(&store).await;
                store.close().await;
            }
        )*
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_twice_on_one_database() {
    let (_db, store) = pg_store_or_skip!("run_all_twice_on_one_database");
    conformance::run_all(&store).await;
    // Twice: the checks tolerate data left by earlier checks.
    conformance::run_all(&store).await;
    store.close().await;
}

/// Raw SQL on the database, as someone with write access (here the owner) would run it.
struct PgRaw<'a>(&'a echo_core::store::PgStore);

#[async_trait::async_trait]
impl conformance::RawSql for PgRaw<'_> {
    async fn execute(&self, sql: &str, bypass_guard: bool) -> Result<u64, String> {
        let mut tx = self.0.pool().begin().await.map_err(|e| e.to_string())?;
        if bypass_guard {
            sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        let n = sqlx::query(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?
            .rows_affected();
        if bypass_guard {
            sqlx::query("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update")
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(n)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_tampering_is_detected() {
    let (_db, store) = pg_store_or_skip!("audit_tampering_is_detected");
    conformance::audit_tampering_is_detected(&store, &PgRaw(&store)).await;
    store.close().await;
}
