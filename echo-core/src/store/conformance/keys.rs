//! API keys.

use super::fixtures::{account, assert_kind, at};
use crate::ErrorKind;
use crate::auth::{ApiKey, KeyEnvironment, KeyHash, Scope, key_format};
use crate::model::{AccountId, ApiKeyId, PageRequest};
use crate::store::{ApiKeyRecord, KeyTouch, Store};

/// A fresh key record of `account` created at `created_ms` after the suite's epoch.
fn key_record(account: AccountId, name: &str, created_ms: i64) -> ApiKeyRecord {
    let generated = key_format::generate(KeyEnvironment::Test);
    ApiKeyRecord {
        key: ApiKey {
            id: ApiKeyId::new(),
            account_id: account,
            name: name.to_string(),
            display_prefix: generated.display_prefix,
            environment: KeyEnvironment::Test,
            scopes: vec![Scope::ExperimentsRead, Scope::RunsWrite],
            created_at: at(created_ms),
            expires_at: Some(at(86_400_000)),
            revoked_at: None,
            last_used_at: None,
        },
        key_hash: generated.hash,
    }
}

/// Insert, then find by hash and get by id return the same key; an unknown hash is `None`;
/// another account's key is NotFound; a key of a missing account is NotFound; a stored
/// hash cannot be inserted twice.
pub async fn api_key_round_trip(store: &dyn Store) {
    let alice = account(store, "key owner").await;
    let mallory = account(store, "key thief").await;
    let live = {
        let generated = key_format::generate(KeyEnvironment::Live);
        let mut r = key_record(alice.id, "live key", 0);
        r.key.environment = KeyEnvironment::Live;
        r.key.display_prefix = generated.display_prefix;
        r.key.expires_at = None;
        r.key_hash = generated.hash;
        r
    };
    let test = key_record(alice.id, "test key", 1);
    for r in [&live, &test] {
        store.insert_api_key(r).await.expect("insert key");
        let found = store.find_api_key_by_hash(&r.key_hash).await.expect("find by hash");
        assert_eq!(found.as_ref(), Some(r), "find by hash returns the stored key");
        assert_eq!(
            store.get_api_key(alice.id, r.key.id).await.expect("get key"),
            r.key,
            "get by id"
        );
    }
    assert_eq!(
        store
            .find_api_key_by_hash(&KeyHash::of("echo_test_never_stored"))
            .await
            .expect("find unknown"),
        None,
        "unknown hash"
    );
    assert_kind(
        store.get_api_key(mallory.id, live.key.id).await,
        ErrorKind::NotFound,
        "another account's key",
    );
    assert_kind(
        store.insert_api_key(&key_record(AccountId::new(), "orphan", 0)).await,
        ErrorKind::NotFound,
        "key of a missing account",
    );
    let same_hash = ApiKeyRecord {
        key: ApiKey {
            id: ApiKeyId::new(),
            ..live.key.clone()
        },
        key_hash: live.key_hash,
    };
    assert_kind(
        store.insert_api_key(&same_hash).await,
        ErrorKind::Conflict,
        "duplicate hash",
    );
}

/// Listing is newest first, keyset-paginated, includes revoked keys and shows nothing of
/// other accounts.
pub async fn api_key_listing_and_isolation(store: &dyn Store) {
    let alice = account(store, "many keys").await;
    let bob = account(store, "other tenant").await;
    let mut keys = Vec::new();
    for i in 0..5 {
        // Two keys share a creation instant: the id breaks the tie.
        let r = key_record(alice.id, &format!("key {i}"), i64::from(i / 2) * 1000);
        store.insert_api_key(&r).await.expect("insert");
        keys.push(r.key);
    }
    store
        .insert_api_key(&key_record(bob.id, "bob's", 0))
        .await
        .expect("insert bob's");
    store
        .revoke_api_key(alice.id, keys[0].id, at(10_000))
        .await
        .expect("revoke");
    keys[0].revoked_at = Some(at(10_000));

    let mut expected = keys.clone();
    expected.sort_by_key(|k| std::cmp::Reverse((k.created_at, k.id)));
    let mut listed = Vec::new();
    let mut page = PageRequest {
        limit: Some(2),
        after: None,
    };
    loop {
        let p = store.list_api_keys(alice.id, &page).await.expect("list keys");
        assert!(p.items.len() <= 2, "page size");
        listed.extend(p.items);
        match p.next_cursor {
            Some(c) => page.after = Some(c),
            None => break,
        }
    }
    assert_eq!(listed, expected, "all keys, newest first, revoked included");
    let bobs = store
        .list_api_keys(bob.id, &PageRequest::default())
        .await
        .expect("list bob");
    assert_eq!(bobs.items.len(), 1, "bob sees only his key");
    assert_eq!(bobs.items[0].name, "bob's");
}

/// Revocation sets `revoked_at` once, shows in the hash lookup, and cannot touch another
/// account's key.
pub async fn api_key_revocation(store: &dyn Store) {
    let alice = account(store, "revoker").await;
    let mallory = account(store, "revoke thief").await;
    let r = key_record(alice.id, "to revoke", 0);
    store.insert_api_key(&r).await.expect("insert");

    assert_kind(
        store.revoke_api_key(mallory.id, r.key.id, at(5)).await,
        ErrorKind::NotFound,
        "revoking another account's key",
    );
    assert_eq!(
        store.get_api_key(alice.id, r.key.id).await.expect("get").revoked_at,
        None,
        "a refused revocation changes nothing"
    );
    assert_kind(
        store.revoke_api_key(alice.id, ApiKeyId::new(), at(5)).await,
        ErrorKind::NotFound,
        "revoking a missing key",
    );

    let revoked = store.revoke_api_key(alice.id, r.key.id, at(10)).await.expect("revoke");
    assert_eq!(revoked.revoked_at, Some(at(10)));
    let again = store
        .revoke_api_key(alice.id, r.key.id, at(20))
        .await
        .expect("revoke again");
    assert_eq!(again.revoked_at, Some(at(10)), "the first revocation instant is kept");
    let found = store
        .find_api_key_by_hash(&r.key_hash)
        .await
        .expect("find")
        .expect("still found");
    assert_eq!(found.key.revoked_at, Some(at(10)), "lookups see the revocation at once");
}

/// Touches move `last_used_at` forward only, in a batch, and only for the key's account.
pub async fn api_key_touch(store: &dyn Store) {
    let alice = account(store, "toucher").await;
    let mallory = account(store, "touch thief").await;
    let a = key_record(alice.id, "a", 0);
    let b = key_record(alice.id, "b", 0);
    for r in [&a, &b] {
        store.insert_api_key(r).await.expect("insert");
    }
    let touch = |key: &ApiKeyRecord, account: AccountId, ms: i64| KeyTouch {
        account_id: account,
        key_id: key.key.id,
        at: at(ms),
    };
    assert_eq!(store.touch_api_keys(&[]).await.expect("empty batch"), 0);
    let written = store
        .touch_api_keys(&[
            touch(&a, alice.id, 100),
            touch(&b, alice.id, 200),
            // Another account naming alice's key: ignored.
            touch(&a, mallory.id, 900),
            // A missing key: ignored.
            KeyTouch {
                account_id: alice.id,
                key_id: ApiKeyId::new(),
                at: at(900),
            },
        ])
        .await
        .expect("touch");
    assert_eq!(written, 2);
    let last = |r: &ApiKeyRecord| {
        let id = r.key.id;
        async move { store.get_api_key(alice.id, id).await.expect("get").last_used_at }
    };
    assert_eq!(last(&a).await, Some(at(100)));
    assert_eq!(last(&b).await, Some(at(200)));

    let written = store
        .touch_api_keys(&[touch(&a, alice.id, 50), touch(&b, alice.id, 300)])
        .await
        .expect("touch again");
    assert_eq!(written, 1, "an older use does not move last_used_at back");
    assert_eq!(last(&a).await, Some(at(100)));
    assert_eq!(last(&b).await, Some(at(300)));
}
