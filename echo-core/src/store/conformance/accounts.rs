//! Accounts.

use super::fixtures::{assert_kind, t0};
use crate::ErrorKind;
use crate::model::{Account, AccountId};
use crate::store::Store;

/// Insert then get returns the same account; unknown ids are NotFound; a taken
/// `external_id` is a Conflict; several accounts may have no `external_id`.
pub async fn accounts_round_trip(store: &dyn Store) {
    let external = format!("org-{}", AccountId::new());
    let account = Account {
        id: AccountId::new(),
        name: "Acme Inc.".to_string(),
        external_id: Some(external.clone()),
        tier: "pro".to_string(),
        created_at: t0(),
    };
    store.insert_account(&account).await.expect("insert account");
    assert_eq!(
        store.get_account(account.id).await.expect("get account"),
        account,
        "account round trip"
    );

    assert_kind(
        store.get_account(AccountId::new()).await,
        ErrorKind::NotFound,
        "unknown account",
    );

    let same_external = Account {
        id: AccountId::new(),
        name: "Other".to_string(),
        ..account.clone()
    };
    assert_kind(
        store.insert_account(&same_external).await,
        ErrorKind::Conflict,
        "duplicate external_id",
    );
    assert_kind(
        store.get_account(same_external.id).await,
        ErrorKind::NotFound,
        "rejected account is not stored",
    );

    for name in ["No external id 1", "No external id 2"] {
        let a = Account {
            id: AccountId::new(),
            name: name.to_string(),
            external_id: None,
            ..account.clone()
        };
        store
            .insert_account(&a)
            .await
            .expect("accounts without external_id never collide");
        assert_eq!(store.get_account(a.id).await.expect("get"), a);
    }
}
