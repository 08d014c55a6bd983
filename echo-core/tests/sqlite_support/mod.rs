//! Builders shared by the SQLite integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::time::Duration;

use chrono::{DateTime, Utc};
use echo_core::model::{
    Account, AccountId, BrandSpec, Citation, Experiment, ExperimentId, ExperimentSpec, Mention, Run, RunId, RunStatus,
    SampleId, SampleTask, Target,
};
use echo_core::store::{
    AccountStore, AnsweredSample, ClaimRequest, ExperimentStore, Fence, NewSample, RunStore, SampleOutcome, SqliteStore,
};

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_735_689_600_000).unwrap()
}

pub fn spec() -> ExperimentSpec {
    ExperimentSpec {
        name: "CRM".into(),
        prompts: vec!["Best CRM?".into(), "Best CRM for startups?".into()],
        brands: vec![BrandSpec::target("Acme"), BrandSpec::new("Globex")],
        targets: vec![Target::new("simulated", "small")],
        repeats: 5,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    }
}

pub async fn account(store: &SqliteStore) -> Account {
    let a = Account {
        id: AccountId::new(),
        name: "Acme".into(),
        external_id: None,
        tier: "free".into(),
        created_at: t0(),
    };
    store.insert_account(&a).await.unwrap();
    a
}

pub async fn experiment(store: &SqliteStore, account: AccountId, created_ms: i64) -> Experiment {
    let at = t0() + chrono::Duration::milliseconds(created_ms);
    let e = Experiment {
        id: ExperimentId::new(),
        account_id: account,
        spec: spec(),
        created_at: at,
        updated_at: at,
    };
    store.insert_experiment(&e).await.unwrap();
    e
}

pub fn new_run(e: &Experiment, n: usize) -> Run {
    Run {
        id: RunId::new(),
        account_id: e.account_id,
        experiment_id: e.id,
        spec: e.spec.clone(),
        status: RunStatus::Pending,
        planned_samples: n as u64,
        seed: 7,
        created_at: t0(),
        started_at: None,
        finished_at: None,
        adaptive: None,
        correlation_id: None,
    }
}

pub fn new_samples(n: usize) -> Vec<NewSample> {
    (0..n)
        .map(|i| NewSample {
            id: SampleId::new(),
            target: Target::new("simulated", format!("model-{}", i % 4)),
            prompt_index: (i / 4 / 50) as u32,
            repeat_index: (i / 4 % 50) as u32,
        })
        .collect()
}

/// Claims up to `limit` samples (of `run`, or of any run) at `t0` with a 60 s lease.
pub async fn claim(store: &SqliteStore, run: Option<RunId>, limit: u32) -> Vec<SampleTask> {
    store
        .claim_samples(&ClaimRequest {
            run_id: run,
            owner: "w",
            limit,
            now: t0(),
            lease: Duration::from_secs(60),
            max_attempts: 3,
        })
        .await
        .unwrap()
}

/// A mention of `brand` at `offset` with `rank`.
pub fn mention(brand: &str, offset: u32, rank: u32) -> Mention {
    Mention {
        brand: brand.into(),
        offset,
        len: brand.len() as u32,
        count: 1,
        rank,
        list_index: Some(rank),
    }
}

/// A success of `task` with the given facts.
pub fn success(task: &SampleTask, mentions: Vec<Mention>, citations: Vec<Citation>) -> SampleOutcome {
    SampleOutcome::Succeeded(AnsweredSample {
        fence: Fence::from(task),
        raw_answer: "1. Acme 2. Globex".into(),
        answer_sha256: "ab".repeat(32),
        served_model: None,
        request_id: None,
        finish_reason: None,
        input_tokens: Some(10),
        output_tokens: Some(20),
        latency_ms: 100,
        cost_usd: None,
        raw_response: None,
        mentions,
        citations,
        completed_at: t0(),
        redactions: None,
    })
}
