//! Bad input is a typed `InvalidInput` naming the field, and nothing is written.

mod common;

use std::time::Duration;

use common::*;
use echo_core::ErrorKind;
use echo_core::engine::{Echo, RunOptions};
use echo_core::model::{BrandSpec, ExperimentSpec, MAX_SAMPLES_PER_RUN, PageRequest, Target};
use echo_core::provider::FailureRates;

async fn echo() -> Echo {
    Echo::builder()
        .provider(simulated(1, Duration::ZERO, FailureRates::default()))
        .build()
        .await
        .unwrap()
}

/// Asserts `spec` is refused with InvalidInput on `field` (and the message contains
/// `needle`), and that no experiment was stored.
async fn refused(spec: ExperimentSpec, field: &str, needle: &str) {
    let echo = echo().await;
    let me = account(&echo, "a").await;
    let err = echo.create_experiment(&me, spec).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.field().unwrap().starts_with(field),
        "field {:?} should start with {field:?}: {err}",
        err.field()
    );
    assert!(err.to_string().contains(needle), "{err} should mention {needle:?}");
    let page = echo.list_experiments(&me, &PageRequest::default()).await.unwrap();
    assert!(page.items.is_empty(), "nothing may be written");
}

#[tokio::test]
async fn empty_prompt_list() {
    refused(
        ExperimentSpec {
            prompts: vec![],
            ..spec(1)
        },
        "spec.prompts",
        "at least one prompt",
    )
    .await;
}

#[tokio::test]
async fn blank_prompt() {
    refused(
        ExperimentSpec {
            prompts: vec!["ok?".into(), "  \n".into()],
            ..spec(1)
        },
        "spec.prompts[1]",
        "blank",
    )
    .await;
}

#[tokio::test]
async fn no_target_brand() {
    let brands = vec![BrandSpec::new("Globex"), BrandSpec::new("Initech")];
    refused(ExperimentSpec { brands, ..spec(1) }, "spec.brands", "target").await;
}

#[tokio::test]
async fn no_brand_at_all() {
    refused(
        ExperimentSpec {
            brands: vec![],
            ..spec(1)
        },
        "spec.brands",
        "brand",
    )
    .await;
}

#[tokio::test]
async fn alias_shared_by_two_brands() {
    let brands = vec![
        BrandSpec::target("Acme").aliases(["Acme Corp"]),
        BrandSpec::new("Globex").aliases(["acme corp"]),
    ];
    refused(ExperimentSpec { brands, ..spec(1) }, "spec.brands[1]", "Acme").await;
}

#[tokio::test]
async fn duplicate_brand_names() {
    let brands = vec![BrandSpec::target("Acme"), BrandSpec::new("Acme")];
    refused(ExperimentSpec { brands, ..spec(1) }, "spec.brands[1]", "Acme").await;
}

#[tokio::test]
async fn zero_samples() {
    refused(spec(0), "spec.repeats", "at least 1").await;
}

#[tokio::test]
async fn more_samples_than_the_documented_maximum() {
    let repeats = (MAX_SAMPLES_PER_RUN / 4 + 1) as u32; // 2 targets × 2 prompts
    refused(spec(repeats), "spec.repeats", &MAX_SAMPLES_PER_RUN.to_string()).await;
}

#[tokio::test]
async fn unknown_provider_id() {
    let targets = vec![Target::new("opneai", "gpt-4o")];
    refused(
        ExperimentSpec { targets, ..spec(1) },
        "spec.targets[0].provider",
        "unknown provider",
    )
    .await;
}

#[tokio::test]
async fn known_provider_that_is_not_configured() {
    let targets = vec![Target::new("simulated", "m"), Target::new("openai", "gpt-4o")];
    refused(
        ExperimentSpec { targets, ..spec(1) },
        "spec.targets[1].provider",
        "not configured",
    )
    .await;
}

#[tokio::test]
async fn no_targets() {
    refused(
        ExperimentSpec {
            targets: vec![],
            ..spec(1)
        },
        "spec.targets",
        "at least one",
    )
    .await;
}

#[tokio::test]
async fn a_run_whose_provider_disappeared_is_refused_before_enqueueing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let (me, exp) = {
        let echo = Echo::builder()
            .sqlite_file(&db)
            .provider(simulated(1, Duration::ZERO, FailureRates::default()))
            .build()
            .await
            .unwrap();
        let me = account(&echo, "a").await;
        let exp = echo.create_experiment(&me, spec(2)).await.unwrap();
        echo.close().await;
        (me, exp)
    };
    // Reopened without the simulated provider.
    let echo = Echo::builder().sqlite_file(&db).build().await.unwrap();
    let err = echo.start_run(&me, exp.id, RunOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("spec.targets[0].provider"));
    let runs = echo.list_runs(&me, exp.id, &PageRequest::default()).await.unwrap();
    assert!(runs.items.is_empty(), "no run may be enqueued");
}

#[tokio::test]
async fn bad_page_limits() {
    let echo = echo().await;
    let me = account(&echo, "a").await;
    for limit in [0, 501] {
        let err = echo
            .list_experiments(
                &me,
                &PageRequest {
                    limit: Some(limit),
                    after: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("page.limit"));
    }
    let err = echo
        .list_experiments(
            &me,
            &PageRequest {
                limit: None,
                after: Some("garbage".into()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn blank_account_name() {
    let echo = echo().await;
    let err = echo
        .create_account(&echo_core::auth::Principal::admin(), Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("account.name"));
}

#[tokio::test]
async fn a_resilience_policy_for_an_unregistered_provider() {
    use echo_core::provider::resilience::ResiliencePolicy;
    let err = Echo::builder()
        .provider(simulated(1, Duration::ZERO, FailureRates::default()))
        .resilience_policy("opneai", ResiliencePolicy::default())
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("resilience_policy"));
    assert!(err.to_string().contains("opneai"), "{err}");
}
