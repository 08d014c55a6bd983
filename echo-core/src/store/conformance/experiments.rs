//! Experiments: CRUD, tenant isolation, keyset pagination.

use std::collections::HashSet;

use super::fixtures::{account, assert_kind, at, experiment, spec, t0, target};
use crate::ErrorKind;
use crate::model::{AccountId, Experiment, ExperimentId, PageRequest};
use crate::store::Store;

/// Insert, get, update (spec and `updated_at` change, `created_at` does not), delete.
pub async fn experiment_crud(store: &dyn Store) {
    let owner = account(store, "crud").await;
    let created = experiment(store, owner.id, at(1_000)).await;
    assert_eq!(
        store.get_experiment(owner.id, created.id).await.expect("get"),
        created,
        "experiment round trip"
    );

    let new_spec = spec("Renamed", &[target("simulated/small"), target("replay/corpus")], 3, 5);
    let updated = store
        .update_experiment(owner.id, created.id, &new_spec, at(5_000))
        .await
        .expect("update");
    assert_eq!(updated.spec, new_spec);
    assert_eq!(updated.created_at, created.created_at, "update keeps created_at");
    assert_eq!(updated.updated_at, at(5_000), "update sets updated_at");
    assert_eq!(
        store
            .get_experiment(owner.id, created.id)
            .await
            .expect("get after update"),
        updated
    );

    assert_kind(
        store.insert_experiment(&created).await,
        ErrorKind::Conflict,
        "duplicate experiment id",
    );
    let orphan = Experiment {
        id: ExperimentId::new(),
        account_id: AccountId::new(),
        ..created.clone()
    };
    assert_kind(
        store.insert_experiment(&orphan).await,
        ErrorKind::NotFound,
        "experiment of an unknown account",
    );

    store.delete_experiment(owner.id, created.id).await.expect("delete");
    assert_kind(
        store.get_experiment(owner.id, created.id).await,
        ErrorKind::NotFound,
        "deleted experiment",
    );
    assert_kind(
        store.delete_experiment(owner.id, created.id).await,
        ErrorKind::NotFound,
        "delete twice",
    );
    assert_kind(
        store
            .update_experiment(owner.id, created.id, &new_spec, at(6_000))
            .await,
        ErrorKind::NotFound,
        "update of a deleted experiment",
    );
}

/// Another account sees NotFound for get, update and delete, and an empty listing; the
/// owner's experiment is untouched by the attempts.
pub async fn experiment_isolation(store: &dyn Store) {
    let owner = account(store, "owner").await;
    let intruder = account(store, "intruder").await;
    let mine = experiment(store, owner.id, t0()).await;

    assert_kind(
        store.get_experiment(intruder.id, mine.id).await,
        ErrorKind::NotFound,
        "foreign get",
    );
    let hijack = spec("hijacked", &[target("simulated/small")], 1, 1);
    assert_kind(
        store.update_experiment(intruder.id, mine.id, &hijack, at(1)).await,
        ErrorKind::NotFound,
        "foreign update",
    );
    assert_kind(
        store.delete_experiment(intruder.id, mine.id).await,
        ErrorKind::NotFound,
        "foreign delete",
    );
    let page = store
        .list_experiments(intruder.id, &PageRequest::default())
        .await
        .expect("foreign list");
    assert!(
        page.items.is_empty() && page.next_cursor.is_none(),
        "another account's listing is empty: {page:?}"
    );

    assert_eq!(
        store.get_experiment(owner.id, mine.id).await.expect("owner get"),
        mine,
        "owner's data untouched"
    );
    let page = store
        .list_experiments(owner.id, &PageRequest::default())
        .await
        .expect("owner list");
    assert_eq!(page.items, vec![mine]);
}

/// Seven experiments (some sharing a `created_at`, so the id breaks ties), pages of three:
/// newest first, no duplicates, no gaps, the last page has no cursor; bad cursors and
/// limits are InvalidInput naming the field.
pub async fn experiment_pagination(store: &dyn Store) {
    let owner = account(store, "pages").await;
    let other = account(store, "pages-other").await;
    let _noise = experiment(store, other.id, at(2_500)).await;
    let mut all = Vec::new();
    for i in 0..7 {
        all.push(experiment(store, owner.id, at((i / 2) * 1_000)).await);
    }
    all.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));

    let mut seen = Vec::new();
    let mut request = PageRequest {
        limit: Some(3),
        after: None,
    };
    let mut pages = 0;
    loop {
        let page = store.list_experiments(owner.id, &request).await.expect("list page");
        pages += 1;
        assert!(page.items.len() <= 3, "page larger than its limit");
        seen.extend(page.items);
        match page.next_cursor {
            Some(cursor) => request.after = Some(cursor),
            None => break,
        }
        assert!(pages < 10, "pagination does not terminate");
    }
    assert_eq!(pages, 3, "7 items in pages of 3 take 3 pages");
    let unique: HashSet<_> = seen.iter().map(|e| e.id).collect();
    assert_eq!(unique.len(), seen.len(), "an experiment appeared twice");
    assert_eq!(seen, all, "pages concatenate to every experiment, newest first");

    let exact = store
        .list_experiments(
            owner.id,
            &PageRequest {
                limit: Some(7),
                after: None,
            },
        )
        .await
        .expect("list");
    assert_eq!(exact.items.len(), 7);
    assert!(
        exact.next_cursor.is_none(),
        "a page that holds the last item has no next cursor"
    );

    for bad in ["not-a-cursor", "", "0123456789abcdef"] {
        let request = PageRequest {
            limit: Some(3),
            after: Some(bad.to_string()),
        };
        let err = store
            .list_experiments(owner.id, &request)
            .await
            .expect_err("bad cursor");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "bad cursor {bad:?}");
        assert_eq!(err.field(), Some("page.after"), "bad cursor {bad:?} names page.after");
    }
    let err = store
        .list_experiments(
            owner.id,
            &PageRequest {
                limit: Some(0),
                after: None,
            },
        )
        .await
        .expect_err("limit 0");
    assert_eq!(err.field(), Some("page.limit"));
}
