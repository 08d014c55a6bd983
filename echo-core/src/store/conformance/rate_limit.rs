//! Shared GCRA rate limits.

use std::time::Duration;

use futures::future::join_all;

use super::fixtures::{assert_kind, at};
use crate::ErrorKind;
use crate::quota::RateLimitPolicy;
use crate::store::Store;

/// A key no other check (or earlier pass over a shared store) uses.
fn fresh_key(name: &str) -> String {
    format!("{name}:{}", uuid::Uuid::now_v7())
}

/// 10 per minute admits 10 at once, then refuses with retry_after = 6 s; 6 s later one
/// more is admitted. Keys and policies are separate buckets. Bad input is refused.
pub async fn rate_limit_admits_the_limit_then_paces(store: &dyn Store) {
    let policy = RateLimitPolicy::per_minute("runs.start", 10).expect("policy");
    let key = fresh_key("gcra");
    let now = at(0);
    for i in 0..10u32 {
        let d = store.check_rate_limit(&key, &policy, 1, now).await.expect("check");
        assert!(d.allowed, "request {i} of 10 is admitted");
        assert_eq!((d.limit, d.remaining), (10, 9 - i));
        assert_eq!(d.retry_after, Duration::ZERO);
        assert_eq!(d.reset_after, Duration::from_secs(6 * u64::from(i + 1)));
    }
    let refused = store.check_rate_limit(&key, &policy, 1, now).await.expect("check");
    assert!(!refused.allowed, "the 11th is refused");
    assert_eq!((refused.remaining, refused.retry_after), (0, Duration::from_secs(6)));
    assert_eq!(refused.reset_after, Duration::from_secs(60));
    // A refusal takes nothing: still refused a moment later, admitted after 6 s.
    let soon = at(5_999);
    let again = store.check_rate_limit(&key, &policy, 1, soon).await.expect("check");
    assert_eq!((again.allowed, again.retry_after), (false, Duration::from_millis(1)));
    let later = at(6_000);
    assert!(
        store
            .check_rate_limit(&key, &policy, 1, later)
            .await
            .expect("check")
            .allowed
    );
    assert!(
        !store
            .check_rate_limit(&key, &policy, 1, later)
            .await
            .expect("check")
            .allowed
    );

    // Other keys and other policies have their own buckets.
    let other_key = fresh_key("gcra-other");
    assert!(
        store
            .check_rate_limit(&other_key, &policy, 1, now)
            .await
            .expect("check")
            .allowed
    );
    let other_policy = RateLimitPolicy::per_minute("reports.read", 10).expect("policy");
    assert!(
        store
            .check_rate_limit(&key, &other_policy, 1, now)
            .await
            .expect("check")
            .allowed
    );

    // A cost of several requests, and costs that can never fit.
    let bulk = fresh_key("gcra-bulk");
    let d = store.check_rate_limit(&bulk, &policy, 4, now).await.expect("check");
    assert_eq!((d.allowed, d.remaining), (true, 6));
    assert_kind(
        store.check_rate_limit(&bulk, &policy, 0, now).await,
        ErrorKind::InvalidInput,
        "cost 0",
    );
    assert_kind(
        store.check_rate_limit(&bulk, &policy, 11, now).await,
        ErrorKind::InvalidInput,
        "cost > limit",
    );
    assert_kind(
        store.check_rate_limit(" ", &policy, 1, now).await,
        ErrorKind::InvalidInput,
        "blank key",
    );
}

/// 60 concurrent requests on one key with a limit of 20 per hour: exactly 20 admitted.
pub async fn rate_limit_holds_under_concurrency(store: &dyn Store) {
    let policy = RateLimitPolicy::new("bench", 20, Duration::from_secs(3600)).expect("policy");
    let key = fresh_key("gcra-race");
    let now = at(0);
    let decisions = join_all((0..60).map(|_| store.check_rate_limit(&key, &policy, 1, now))).await;
    let admitted = decisions
        .into_iter()
        .filter(|d| d.as_ref().expect("check").allowed)
        .count();
    assert_eq!(admitted, 20, "never more than the limit, whatever the interleaving");
}

/// Buckets that are full again are purged; a purged key starts with the whole burst.
pub async fn rate_limit_purge_forgets_full_buckets(store: &dyn Store) {
    let policy = RateLimitPolicy::per_minute("purge", 5).expect("policy");
    let key = fresh_key("gcra-purge");
    for _ in 0..5 {
        store.check_rate_limit(&key, &policy, 1, at(0)).await.expect("check");
    }
    // Not yet full again at 59 s: kept (and still limiting).
    store.purge_rate_limits(at(59_000)).await.expect("purge");
    assert!(
        !store
            .check_rate_limit(&key, &policy, 1, at(1_000))
            .await
            .expect("check")
            .allowed
    );
    // Full again at 60 s: forgotten, and the next request sees the whole burst.
    let purged = store.purge_rate_limits(at(60_000)).await.expect("purge");
    assert!(purged >= 1, "the bucket is purged");
    let d = store
        .check_rate_limit(&key, &policy, 1, at(60_000))
        .await
        .expect("check");
    assert_eq!((d.allowed, d.remaining), (true, 4));
}
