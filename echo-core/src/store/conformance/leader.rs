//! Leader leases: one holder at a time, takeover after expiry, owner-fenced renew/release.

use std::time::Duration;

use futures::future::join_all;

use super::fixtures::{at, t0};
use crate::store::Store;

/// A unique lease name per check invocation, so checks sharing a store never collide.
fn lease_name(what: &str) -> String {
    format!("conformance-{what}-{}", uuid::Uuid::now_v7().simple())
}

/// Exclusive while valid; renewable and re-acquirable by the holder; taken over once
/// expired; the old holder then cannot renew or release; released leases are free at once.
pub async fn leader_lease_exclusive_and_fenced(store: &dyn Store) {
    let name = lease_name("leader");
    let ttl = Duration::from_secs(30);
    assert!(store.try_acquire_leader(&name, "a", t0(), ttl).await.expect("a"));
    assert!(
        !store
            .try_acquire_leader(&name, "b", at(29_000), ttl)
            .await
            .expect("b early")
    );
    assert!(
        store
            .try_acquire_leader(&name, "a", at(10_000), ttl)
            .await
            .expect("a again"),
        "re-acquire renews"
    );
    assert!(store.renew_leader(&name, "a", at(20_000), ttl).await.expect("renew"));
    // a's lease now runs to +50 s.
    assert!(
        !store
            .try_acquire_leader(&name, "b", at(49_000), ttl)
            .await
            .expect("b before expiry")
    );
    assert!(
        !store.renew_leader(&name, "b", at(49_000), ttl).await.expect("b renew"),
        "only the holder renews"
    );
    assert!(
        store
            .try_acquire_leader(&name, "b", at(50_000), ttl)
            .await
            .expect("b after expiry")
    );
    assert!(
        !store.renew_leader(&name, "a", at(51_000), ttl).await.expect("a lost"),
        "a lost the lease"
    );
    assert!(
        !store.release_leader(&name, "a").await.expect("a release"),
        "a cannot release b's lease"
    );
    assert!(
        !store
            .try_acquire_leader(&name, "a", at(51_000), ttl)
            .await
            .expect("a retake")
    );
    assert!(store.release_leader(&name, "b").await.expect("b release"));
    assert!(
        store
            .try_acquire_leader(&name, "a", at(52_000), ttl)
            .await
            .expect("free after release")
    );

    // Other names are independent.
    let other = lease_name("other");
    assert!(
        store
            .try_acquire_leader(&other, "b", at(52_000), ttl)
            .await
            .expect("other name")
    );
    assert!(
        store.try_acquire_leader("", "a", t0(), ttl).await.is_err(),
        "blank name rejected"
    );
    assert!(
        store.try_acquire_leader(&name, " ", t0(), ttl).await.is_err(),
        "blank owner rejected"
    );
}

/// Many contenders at the same instant: exactly one wins.
pub async fn leader_lease_single_winner_under_concurrency(store: &dyn Store) {
    let name = lease_name("race");
    let owners: Vec<String> = (0..8).map(|i| format!("contender-{i}")).collect();
    let ttl = Duration::from_secs(30);
    let name_ref = &name;
    let attempts = owners
        .iter()
        .map(|o| async move { store.try_acquire_leader(name_ref, o, t0(), ttl).await.expect("acquire") });
    let won: Vec<bool> = join_all(attempts).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "one leader: {won:?}");
}
