//! Principals everywhere: every public operation of the facade refuses a second account's
//! principal (NotFound, so existence does not leak), refuses a principal lacking its scope
//! (PermissionDenied), and refuses an operator that has not named its account.
//!
//! The operations are listed once, in [`operations`], with the scope each needs; every
//! check below walks that list, so an operation added to the facade without a line here is
//! the one thing these tests cannot catch — add it to the list.

mod common;

use std::time::Duration;

use common::*;
use echo_core::analysis::PlanRequest;
use echo_core::auth::{Actor, NewApiKey, Principal, Scope};
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{ApiKeyId, ExperimentId, NewAccount, PageRequest, RunId};
use echo_core::provider::FailureRates;
use echo_core::{ErrorKind, Result};
use futures::future::BoxFuture;
use secrecy::ExposeSecret;

/// What an operation returned when it did not fail: for listings, how many listed items
/// belong to an account other than the caller's (must be zero); `Done` otherwise.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done,
    Listed { foreign: usize },
}

fn done<T>(result: Result<T>) -> Result<Outcome> {
    result.map(|_| Outcome::Done)
}

type Op = Box<dyn Fn(Principal) -> BoxFuture<'static, Result<Outcome>> + Send + Sync>;

/// One public operation of the facade, aimed at the first account's objects.
struct Operation {
    name: &'static str,
    scope: Scope,
    run: Op,
}

/// The first account's objects the operations aim at.
#[derive(Clone, Copy)]
struct Targets {
    experiment: ExperimentId,
    run: RunId,
    other_run: RunId,
    key: ApiKeyId,
}

macro_rules! op {
    ($name:literal, $scope:expr, |$echo:ident, $p:ident, $t:ident| $body:expr) => {{
        let echo = $echo.clone();
        let t = $t;
        Operation {
            name: $name,
            scope: $scope,
            run: Box::new(move |$p: Principal| {
                let $echo = echo.clone();
                let $t = t;
                Box::pin(async move { $body })
            }),
        }
    }};
}

/// Every public operation of `Echo` that takes a principal, in the order they are tried
/// (destructive ones last, so earlier checks still find the objects).
fn operations(echo: &Echo, t: Targets) -> Vec<Operation> {
    vec![
        op!("get_account", Scope::ExperimentsRead, |echo, p, t| {
            let _ = t;
            // Always the principal's own account: never anyone else's.
            let account = echo.get_account(&p).await?;
            assert_eq!(account.id, p.account_id());
            Ok(Outcome::Done)
        }),
        op!("get_experiment", Scope::ExperimentsRead, |echo, p, t| done(
            echo.get_experiment(&p, t.experiment).await
        )),
        op!("list_experiments", Scope::ExperimentsRead, |echo, p, t| {
            let _ = t;
            let page = echo.list_experiments(&p, &PageRequest::default()).await?;
            let foreign = page.items.iter().filter(|e| e.account_id != p.account_id()).count();
            Ok(Outcome::Listed { foreign })
        }),
        op!("estimate", Scope::ExperimentsRead, |echo, p, t| done(
            echo.estimate(&p, t.experiment).await
        )),
        op!("get_run", Scope::ExperimentsRead, |echo, p, t| done(
            echo.get_run(&p, t.run).await
        )),
        op!("list_runs", Scope::ExperimentsRead, |echo, p, t| {
            let page = echo.list_runs(&p, t.experiment, &PageRequest::default()).await?;
            let foreign = page.items.iter().filter(|r| r.account_id != p.account_id()).count();
            Ok(Outcome::Listed { foreign })
        }),
        op!("report", Scope::ExperimentsRead, |echo, p, t| done(
            echo.report(&p, t.run).await
        )),
        op!("reanalyze", Scope::ExperimentsRead, |echo, p, t| done(
            echo.reanalyze(&p, t.run, brands()).await
        )),
        op!("compare_runs", Scope::ExperimentsRead, |echo, p, t| done(
            echo.compare_runs(&p, t.run, t.other_run, 0.05).await
        )),
        op!("plan", Scope::ExperimentsRead, |echo, p, t| done(
            echo.plan(
                &p,
                t.experiment,
                PlanRequest {
                    half_width: 0.05,
                    expected_rate: None,
                    scope: Default::default(),
                }
            )
            .await
        )),
        op!("visibility_series", Scope::ExperimentsRead, |echo, p, t| done(
            echo.visibility_series(&p, t.experiment, 10).await
        )),
        op!("create_experiment", Scope::ExperimentsWrite, |echo, p, t| {
            let _ = t;
            let created = echo.create_experiment(&p, spec(1)).await?;
            // Created in the principal's own account, whoever it is.
            assert_eq!(created.account_id, p.account_id());
            Ok(Outcome::Done)
        }),
        op!("update_experiment", Scope::ExperimentsWrite, |echo, p, t| done(
            echo.update_experiment(&p, t.experiment, spec(2)).await
        )),
        op!("list_api_keys", Scope::KeysManage, |echo, p, t| {
            let _ = t;
            let page = echo.list_api_keys(&p, &PageRequest::default()).await?;
            let foreign = page.items.iter().filter(|k| k.account_id != p.account_id()).count();
            Ok(Outcome::Listed { foreign })
        }),
        op!("create_api_key", Scope::KeysManage, |echo, p, t| {
            let _ = t;
            let created = echo
                .create_api_key(&p, NewApiKey::new("made by the test", [Scope::ExperimentsRead]))
                .await?;
            assert_eq!(created.key.account_id, p.account_id());
            Ok(Outcome::Done)
        }),
        op!("enqueue_run", Scope::RunsWrite, |echo, p, t| done(
            echo.enqueue_run(&p, t.experiment, &RunOptions::default()).await
        )),
        op!("start_run", Scope::RunsWrite, |echo, p, t| done(
            echo.start_run(&p, t.experiment, RunOptions::default()).await
        )),
        op!("resume_run", Scope::RunsWrite, |echo, p, t| done(
            echo.resume_run(&p, t.run).await
        )),
        op!("cancel_run", Scope::RunsWrite, |echo, p, t| done(
            echo.cancel_run(&p, t.run).await
        )),
        op!("revoke_api_key", Scope::KeysManage, |echo, p, t| done(
            echo.revoke_api_key(&p, t.key).await
        )),
        op!("delete_experiment", Scope::ExperimentsWrite, |echo, p, t| done(
            echo.delete_experiment(&p, t.experiment).await
        )),
    ]
}

/// Alice's world: an experiment with two finished runs and an API key.
async fn setup() -> (Echo, Principal, Targets) {
    let echo = Echo::builder()
        .provider(simulated(1, Duration::ZERO, FailureRates::default()))
        .build()
        .await
        .unwrap();
    let alice = account(&echo, "alice").await;
    let exp = echo.create_experiment(&alice, spec(2)).await.unwrap();
    let mut runs = Vec::new();
    for seed in [1, 2] {
        let options = RunOptions {
            seed: Some(seed),
            ..Default::default()
        };
        let report = echo
            .start_run(&alice, exp.id, options)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        runs.push(report.run_id);
    }
    let key = echo
        .create_api_key(&alice, NewApiKey::new("alice's key", [Scope::ExperimentsRead]))
        .await
        .unwrap();
    let targets = Targets {
        experiment: exp.id,
        run: runs[0],
        other_run: runs[1],
        key: key.key.id,
    };
    (echo, alice, targets)
}

/// Alice's objects are all still there and unchanged.
async fn assert_untouched(echo: &Echo, alice: &Principal, t: Targets) {
    assert_eq!(echo.get_experiment(alice, t.experiment).await.unwrap().spec, spec(2));
    let report = echo.report(alice, t.run).await.unwrap();
    assert_eq!(report.counts.succeeded, 8);
    let runs = echo
        .list_runs(alice, t.experiment, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(runs.items.len(), 2, "no run was added to alice's experiment");
    let keys = echo.list_api_keys(alice, &PageRequest::default()).await.unwrap();
    assert_eq!(keys.items.len(), 1, "no key was added to alice's account");
    assert_eq!(keys.items[0].revoked_at, None, "alice's key was not revoked");
}

/// Runs every operation as `intruder` against alice's objects: each answers NotFound, or
/// (listings) nothing, or acts only on the intruder's own account.
async fn assert_refused_across_accounts(echo: &Echo, t: Targets, intruder: &Principal, who: &str) {
    for op in operations(echo, t) {
        match (op.run)(intruder.clone()).await {
            Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "{who} / {}: {e}", op.name),
            Ok(Outcome::Listed { foreign }) => {
                assert_eq!(foreign, 0, "{who} / {}: listed another account's objects", op.name)
            }
            Ok(Outcome::Done) => assert!(
                ["get_account", "create_experiment", "create_api_key"].contains(&op.name),
                "{who} / {} succeeded on another account's object",
                op.name
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_refuses_a_second_accounts_principal() {
    let (echo, alice, t) = setup().await;
    let mallory = account(&echo, "mallory").await;
    assert_refused_across_accounts(&echo, t, &mallory, "host principal").await;
    assert_untouched(&echo, &alice, t).await;

    // The same through an API key of the second account holding every key scope.
    let key = echo
        .create_api_key(
            &mallory,
            NewApiKey::new(
                "mallory's key",
                [
                    Scope::ExperimentsRead,
                    Scope::ExperimentsWrite,
                    Scope::RunsWrite,
                    Scope::KeysManage,
                ],
            ),
        )
        .await
        .unwrap();
    let keyed = echo.authenticate(key.secret.expose_secret()).await.unwrap();
    assert_eq!(keyed.account_id(), mallory.account_id());
    assert_refused_across_accounts(&echo, t, &keyed, "key principal").await;
    assert_untouched(&echo, &alice, t).await;

    // What mallory created is mallory's: alice's listings do not show it.
    let mallorys = echo.list_experiments(&mallory, &PageRequest::default()).await.unwrap();
    assert_eq!(mallorys.items.len(), 2, "one experiment per pass");
    assert!(mallorys.items.iter().all(|e| e.account_id == mallory.account_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_refuses_a_principal_without_its_scope() {
    let (echo, alice, t) = setup().await;
    let everything_but = |missing: Scope| {
        Principal::with_scopes(
            alice.account_id(),
            [
                Scope::ExperimentsRead,
                Scope::ExperimentsWrite,
                Scope::RunsWrite,
                Scope::KeysManage,
            ]
            .into_iter()
            .filter(move |s| *s != missing),
            Actor::Host,
        )
    };
    for op in operations(&echo, t) {
        let err = (op.run)(everything_but(op.scope)).await.expect_err(op.name);
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{}: {err}", op.name);
        assert!(err.to_string().contains(op.scope.as_str()), "{}: {err}", op.name);
    }
    assert_untouched(&echo, &alice, t).await;

    // A key principal holds exactly its key's scopes.
    let reader = echo
        .create_api_key(&alice, NewApiKey::new("reader", [Scope::ExperimentsRead]))
        .await
        .unwrap();
    let reader = echo.authenticate(reader.secret.expose_secret()).await.unwrap();
    assert!(echo.get_experiment(&reader, t.experiment).await.is_ok());
    for op in operations(&echo, t) {
        let result = (op.run)(reader.clone()).await;
        if op.scope == Scope::ExperimentsRead {
            assert!(result.is_ok(), "{}: {result:?}", op.name);
        } else {
            let err = result.map(drop).expect_err(op.name);
            assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{}: {err}", op.name);
        }
    }

    // Creating accounts is the operator's alone.
    let err = echo
        .create_account(
            &alice,
            NewAccount {
                name: "sneaky".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_cannot_outgrow_its_creator() {
    let (echo, alice, _t) = setup().await;
    let manager = echo
        .create_api_key(
            &alice,
            NewApiKey::new("manager", [Scope::KeysManage, Scope::ExperimentsRead]),
        )
        .await
        .unwrap();
    let manager = echo.authenticate(manager.secret.expose_secret()).await.unwrap();
    let err = echo
        .create_api_key(&manager, NewApiKey::new("wider", [Scope::RunsWrite]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let err = echo
        .create_api_key(&manager, NewApiKey::new("admin", [Scope::Admin]))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("key.scopes"), "{err}");
    // Within its own scopes it may.
    let narrower = echo
        .create_api_key(&manager, NewApiKey::new("narrower", [Scope::ExperimentsRead]))
        .await
        .unwrap();
    assert_eq!(narrower.key.scopes, vec![Scope::ExperimentsRead]);
    // A key principal cannot switch accounts.
    assert_eq!(
        manager
            .acting_for(echo_core::model::AccountId::new())
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_acts_for_the_account_it_names() {
    let (echo, alice, t) = setup().await;
    let operator = Principal::admin();
    // Unbound, it is refused by every account-scoped operation, naming the fix.
    for op in operations(&echo, t) {
        let err = (op.run)(operator.clone()).await.map(drop).expect_err(op.name);
        assert_eq!(err.field(), Some("principal"), "{}: {err}", op.name);
        assert!(err.to_string().contains("acting_for"), "{}: {err}", op.name);
    }
    assert_untouched(&echo, &alice, t).await;

    // Bound to alice, it reads and manages alice's objects.
    let for_alice = operator.acting_for(alice.account_id()).unwrap();
    assert_eq!(for_alice.actor(), &Actor::Admin);
    assert_eq!(
        echo.get_experiment(&for_alice, t.experiment).await.unwrap().spec,
        spec(2)
    );
    let keys = echo.list_api_keys(&for_alice, &PageRequest::default()).await.unwrap();
    assert_eq!(keys.items.len(), 1);
    // Bound to another account, alice's objects are NotFound like for anyone else.
    let bob = account(&echo, "bob").await;
    let for_bob = operator.acting_for(bob.account_id()).unwrap();
    assert_refused_across_accounts(&echo, t, &for_bob, "operator for bob").await;
    assert_untouched(&echo, &alice, t).await;
    // A key the operator makes for alice belongs to alice and is still no admin.
    let made = echo
        .create_api_key(&for_alice, NewApiKey::new("ops-made", [Scope::RunsWrite]))
        .await
        .unwrap();
    let p = echo.authenticate(made.secret.expose_secret()).await.unwrap();
    assert_eq!(p.account_id(), alice.account_id());
    assert!(!p.is_admin());
}
