//! The store conformance suite: behaviour every backend must show, written once against
//! the [`Store`](super::Store) traits. A backend's tests call [`run_all`] (or the single
//! checks) with a fresh, migrated store.

use super::Store;

/// Runs every conformance check against `store`, which must be empty and migrated.
pub async fn run_all(store: &dyn Store) {
    let _ = store;
}
