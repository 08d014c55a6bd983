//! Shared builders for the conformance checks.

use std::fmt::Debug;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{
    Account, AccountId, BrandSpec, Citation, Experiment, ExperimentId, ExperimentSpec, Mention, Run, RunId, RunStatus,
    SampleTask, Target,
};
use crate::store::{AnsweredSample, ClaimRequest, Fence, NewSample, SampleOutcome, Store};
use crate::{ErrorKind, Result};

/// The suite's epoch: 2025-01-01T00:00:00Z.
pub(super) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_735_689_600_000).expect("valid instant")
}

/// `t0` plus `ms` milliseconds.
pub(super) fn at(ms: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::milliseconds(ms)
}

/// Asserts that `result` failed with `kind`.
#[track_caller]
pub(super) fn assert_kind<T: Debug>(result: Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Ok(v) => panic!("{what}: expected a {kind} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "{what}: wrong error kind ({e})"),
    }
}

pub(super) async fn account(store: &dyn Store, name: &str) -> Account {
    let account = Account {
        id: AccountId::new(),
        name: name.to_string(),
        external_id: None,
        tier: "free".to_string(),
        created_at: t0(),
    };
    store.insert_account(&account).await.expect("insert account");
    account
}

pub(super) fn spec(name: &str, targets: &[Target], prompts: usize, repeats: u32) -> ExperimentSpec {
    ExperimentSpec {
        name: name.to_string(),
        prompts: (0..prompts)
            .map(|i| format!("Which CRM is best for team #{i}?"))
            .collect(),
        brands: vec![
            BrandSpec::target("Acme"),
            BrandSpec::new("Globex"),
            BrandSpec::new("Initech"),
        ],
        targets: targets.to_vec(),
        repeats,
        system_prompt: None,
        temperature: Some(0.7),
        max_output_tokens: Some(512),
        web_search: false,
    }
}

pub(super) fn target(s: &str) -> Target {
    Target::parse(s).expect("valid target")
}

pub(super) async fn experiment(store: &dyn Store, account: AccountId, created_at: DateTime<Utc>) -> Experiment {
    let experiment = Experiment {
        id: ExperimentId::new(),
        account_id: account,
        spec: spec("CRM visibility", &[target("simulated/small")], 2, 3),
        created_at,
        updated_at: created_at,
    };
    store.insert_experiment(&experiment).await.expect("insert experiment");
    experiment
}

pub(super) fn run(experiment: &Experiment, planned: usize, created_at: DateTime<Utc>) -> Run {
    Run {
        id: RunId::new(),
        account_id: experiment.account_id,
        experiment_id: experiment.id,
        spec: experiment.spec.clone(),
        status: RunStatus::Pending,
        planned_samples: planned as u64,
        seed: u64::MAX - 7,
        created_at,
        started_at: None,
        finished_at: None,
        adaptive: None,
        correlation_id: None,
    }
}

/// `n` samples over one target, numbered by prompt (`i / 10`) and repeat (`i % 10`).
pub(super) fn samples(n: usize) -> Vec<NewSample> {
    (0..n)
        .map(|i| NewSample {
            id: crate::model::SampleId::new(),
            target: target("simulated/small"),
            prompt_index: (i / 10) as u32,
            repeat_index: (i % 10) as u32,
        })
        .collect()
}

/// An account, an experiment and an enqueued run of `n` samples.
pub(super) async fn enqueued(store: &dyn Store, name: &str, n: usize) -> (Account, Experiment, Run) {
    let account = account(store, name).await;
    let experiment = experiment(store, account.id, t0()).await;
    let run = run(&experiment, n, t0());
    store.enqueue_run(&run, &samples(n)).await.expect("enqueue run");
    (account, experiment, run)
}

/// A claim of `run`'s samples at `now` with a 60 s lease and 3 attempts.
pub(super) fn claim(run: RunId, owner: &str, limit: u32, now: DateTime<Utc>) -> ClaimRequest<'_> {
    ClaimRequest {
        run_id: Some(run),
        owner,
        limit,
        now,
        lease: Duration::from_secs(60),
        max_attempts: 3,
    }
}

pub(super) fn mention(brand: &str, offset: u32, rank: u32) -> Mention {
    Mention {
        brand: brand.to_string(),
        offset,
        len: brand.len() as u32,
        count: 1,
        rank,
        list_index: Some(rank),
    }
}

/// A success for `task` naming three brands (given out of rank order) and citing two sources.
pub(super) fn answered(task: &SampleTask, text: &str, completed_at: DateTime<Utc>) -> AnsweredSample {
    AnsweredSample {
        fence: Fence::from(task),
        raw_answer: text.to_string(),
        raw_response: Some(r#"{"id":"resp-1","choices":[{"message":{"content":"..."}}]}"#.to_string()),
        answer_sha256: format!("{:064x}", text.len()),
        served_model: Some(format!("{}-2025-01-01", task.target.model)),
        request_id: Some(format!("req-{}", task.id)),
        finish_reason: Some("stop".to_string()),
        input_tokens: Some(42),
        output_tokens: Some(u64::from(u32::MAX) + 1),
        latency_ms: 1234,
        cost_usd: Some(0.000_435),
        mentions: vec![
            mention("Globex", 20, 2),
            mention("Acme", 3, 1),
            mention("Initech", 40, 3),
        ],
        citations: vec![
            Citation::from_url("https://www.acme.com/crm", Some("Acme CRM".to_string())),
            Citation::from_url("https://reviews.example.org/best-crm", None),
        ],
        completed_at,
        redactions: None,
    }
}

pub(super) fn succeeded(task: &SampleTask, text: &str, completed_at: DateTime<Utc>) -> SampleOutcome {
    SampleOutcome::Succeeded(answered(task, text, completed_at))
}
