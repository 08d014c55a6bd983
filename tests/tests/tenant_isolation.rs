//! Another account's objects answer NotFound through every public operation.

mod common;

use std::time::Duration;

use common::*;
use echo_core::ErrorKind;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::PageRequest;
use echo_core::provider::FailureRates;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_account_cannot_see_or_touch_the_first_accounts_objects() {
    let echo = Echo::builder()
        .provider(simulated(1, Duration::ZERO, FailureRates::default()))
        .build()
        .await
        .unwrap();
    let alice = account(&echo, "alice").await;
    let mallory = account(&echo, "mallory").await;
    let exp = echo.create_experiment(&alice, spec(2)).await.unwrap();
    let run = echo
        .start_run(&alice, exp.id, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();

    let nf = |r: echo_core::Result<()>, what: &str| {
        let err = r.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
    };
    nf(echo.get_experiment(&mallory, exp.id).await.map(drop), "get_experiment");
    nf(
        echo.update_experiment(&mallory, exp.id, spec(3)).await.map(drop),
        "update_experiment",
    );
    nf(echo.delete_experiment(&mallory, exp.id).await, "delete_experiment");
    nf(
        echo.start_run(&mallory, exp.id, RunOptions::default()).await.map(drop),
        "start_run",
    );
    nf(
        echo.enqueue_run(&mallory, exp.id, &RunOptions::default())
            .await
            .map(drop),
        "enqueue_run",
    );
    nf(echo.get_run(&mallory, run.run_id).await.map(drop), "get_run");
    nf(echo.report(&mallory, run.run_id).await.map(drop), "report");
    nf(
        echo.reanalyze(&mallory, run.run_id, brands()).await.map(drop),
        "reanalyze",
    );
    nf(echo.resume_run(&mallory, run.run_id).await.map(drop), "resume_run");
    nf(echo.cancel_run(&mallory, run.run_id).await, "cancel_run");

    let listed = echo.list_experiments(&mallory, &PageRequest::default()).await.unwrap();
    assert!(listed.items.is_empty());
    let runs = echo.list_runs(&mallory, exp.id, &PageRequest::default()).await.unwrap();
    assert!(runs.items.is_empty());

    // Alice still has everything, untouched.
    assert_eq!(echo.get_experiment(&alice, exp.id).await.unwrap().spec, spec(2));
    assert_eq!(echo.report(&alice, run.run_id).await.unwrap().counts.succeeded, 8);
    assert_eq!(echo.get_account(&mallory).await.unwrap().name, "mallory");
}

#[tokio::test]
async fn scopes_are_enforced() {
    use echo_core::auth::{Actor, Principal, Scope};
    let echo = Echo::builder()
        .provider(simulated(1, Duration::ZERO, FailureRates::default()))
        .build()
        .await
        .unwrap();
    let owner = account(&echo, "o").await;
    let exp = echo.create_experiment(&owner, spec(1)).await.unwrap();
    let reader = Principal::with_scopes(owner.account_id(), [Scope::ExperimentsRead], Actor::Host);
    assert!(echo.get_experiment(&reader, exp.id).await.is_ok());
    for err in [
        echo.create_experiment(&reader, spec(1)).await.map(drop).unwrap_err(),
        echo.start_run(&reader, exp.id, RunOptions::default())
            .await
            .map(drop)
            .unwrap_err(),
        echo.delete_experiment(&reader, exp.id).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    }
}
