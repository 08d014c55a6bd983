//! The store conformance suite: behaviour every backend must show, written once against
//! the [`Store`](super::Store) traits. A backend's tests call [`run_all`] (or the single
//! checks) with a fresh, migrated store.
//!
//! Each check creates its own account, experiments and runs, so the checks may share one
//! store and run in any order. Failures panic with a message naming the broken property,
//! as test assertions do. Times are fixed instants (whole milliseconds, the precision every
//! backend keeps), never the wall clock.

mod accounts;
mod adaptive;
mod audit;
mod dashboard;
mod experiments;
mod finalize;
mod fixtures;
mod gdpr;
mod keys;
mod leader;
mod leases;
mod privacy;
mod queue;
mod quota;
mod rate_limit;
mod runs;
mod schedules;

pub use accounts::accounts_round_trip;
pub use adaptive::adaptive_wave_append_is_idempotent;
pub use audit::{
    RawSql, audit_append_query_and_verify, audit_concurrent_appends_are_gap_free, audit_erasure_keeps_the_chain,
    audit_purge_keeps_the_rest_verifiable, audit_races_write_one_event, audit_tampering_is_detected,
    audit_writes_are_atomic,
};
pub use dashboard::{dashboard_aggregates_an_account, pool_stats_are_consistent};
pub use experiments::{experiment_crud, experiment_isolation, experiment_pagination};
pub use finalize::{finalize_run_once, finalize_status_rules};
pub use gdpr::{gdpr_deletion_lifecycle, gdpr_erasure_in_batches, gdpr_export_pages};
pub use keys::{api_key_listing_and_isolation, api_key_revocation, api_key_round_trip, api_key_touch};
pub use leader::{leader_lease_exclusive_and_fenced, leader_lease_single_winner_under_concurrency};
pub use leases::{
    expire_leases_returns_or_fails, heartbeat_extends_held_leases, release_returns_samples_without_spending_attempts,
};
pub use privacy::{
    consent_latest_wins_and_is_isolated, privacy_settings_round_trip, redaction_counts_are_stored,
    retention_anonymizes_old_samples_in_batches,
};
pub use queue::{
    claim_any_run, claim_is_exclusive_under_concurrency, completion_is_fenced, lease_expiry_returns_samples,
    max_attempts_fails_exhausted_leases, redelivered_success_does_not_duplicate_facts, retry_returns_to_pending,
};
pub use quota::{
    quota_concurrent_reservations_never_overspend, quota_concurrent_runs_limit,
    quota_expired_reservations_are_released, quota_month_boundary, quota_reserve_and_settle_once,
    quota_settlement_races_expiry,
};
pub use rate_limit::{
    rate_limit_admits_the_limit_then_paces, rate_limit_holds_under_concurrency, rate_limit_purge_forgets_full_buckets,
};
pub use runs::{
    cancel_pending_leaves_leased, delete_experiment_cascades_and_conflicts, enqueue_is_atomic_and_isolated,
    load_samples_contents_and_order, run_keeps_its_correlation_id, run_listing_and_isolation, run_status_rules,
    sample_counts_by_status,
};
pub use schedules::{schedule_set_get_due, scheduled_run_once_per_slot};

use super::Store;

/// Runs every conformance check against `store`, which must be migrated (it need not be
/// empty: every check makes its own data). The any-run claim goes first because it claims
/// from every run in the store; the others only touch their own runs.
pub async fn run_all(store: &dyn Store) {
    claim_any_run(store).await;
    accounts_round_trip(store).await;
    experiment_crud(store).await;
    experiment_isolation(store).await;
    experiment_pagination(store).await;
    enqueue_is_atomic_and_isolated(store).await;
    run_listing_and_isolation(store).await;
    run_keeps_its_correlation_id(store).await;
    run_status_rules(store).await;
    claim_is_exclusive_under_concurrency(store).await;
    lease_expiry_returns_samples(store).await;
    completion_is_fenced(store).await;
    max_attempts_fails_exhausted_leases(store).await;
    retry_returns_to_pending(store).await;
    redelivered_success_does_not_duplicate_facts(store).await;
    cancel_pending_leaves_leased(store).await;
    sample_counts_by_status(store).await;
    load_samples_contents_and_order(store).await;
    delete_experiment_cascades_and_conflicts(store).await;
    quota_reserve_and_settle_once(store).await;
    quota_concurrent_reservations_never_overspend(store).await;
    quota_concurrent_runs_limit(store).await;
    quota_month_boundary(store).await;
    quota_expired_reservations_are_released(store).await;
    quota_settlement_races_expiry(store).await;
    rate_limit_admits_the_limit_then_paces(store).await;
    rate_limit_holds_under_concurrency(store).await;
    rate_limit_purge_forgets_full_buckets(store).await;
    dashboard_aggregates_an_account(store).await;
    pool_stats_are_consistent(store).await;
    api_key_round_trip(store).await;
    api_key_listing_and_isolation(store).await;
    api_key_revocation(store).await;
    api_key_touch(store).await;
    heartbeat_extends_held_leases(store).await;
    release_returns_samples_without_spending_attempts(store).await;
    expire_leases_returns_or_fails(store).await;
    finalize_run_once(store).await;
    finalize_status_rules(store).await;
    schedule_set_get_due(store).await;
    scheduled_run_once_per_slot(store).await;
    leader_lease_exclusive_and_fenced(store).await;
    leader_lease_single_winner_under_concurrency(store).await;
    adaptive_wave_append_is_idempotent(store).await;
    audit_append_query_and_verify(store).await;
    audit_writes_are_atomic(store).await;
    audit_purge_keeps_the_rest_verifiable(store).await;
    audit_erasure_keeps_the_chain(store).await;
    audit_concurrent_appends_are_gap_free(store).await;
    audit_races_write_one_event(store).await;
    consent_latest_wins_and_is_isolated(store).await;
    privacy_settings_round_trip(store).await;
    redaction_counts_are_stored(store).await;
    // Last: retention sweeps every account's samples answered before its cutoff (its own
    // lie far before any other check's).
    retention_anonymizes_old_samples_in_batches(store).await;
    gdpr_export_pages(store).await;
    gdpr_deletion_lifecycle(store).await;
    gdpr_erasure_in_batches(store).await;
}
