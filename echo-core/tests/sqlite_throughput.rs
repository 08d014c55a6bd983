//! Throughput figures of the SQLite queue on a database file (WAL, synchronous NORMAL).
//! Ignored by default: they print timings, and timings do not belong in assertions. Run with
//!
//! ```text
//! cargo test -p echo-core --release --test sqlite_throughput -- --ignored --nocapture --test-threads 1
//! ```
//!
//! Each still checks that the work was done (counts), so a broken store fails them.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use echo_core::model::{
    Account, AccountId, BrandSpec, Citation, Experiment, ExperimentId, ExperimentSpec, Mention, Run, RunId, RunStatus,
    SampleId, Target,
};
use echo_core::store::{
    AccountStore, AnsweredSample, ClaimRequest, ExperimentStore, Fence, NewSample, RunStore, SampleOutcome,
    SqliteConfig, SqliteStore,
};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_735_689_600_000).unwrap()
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    }
}

async fn setup(dir: &tempfile::TempDir) -> (SqliteStore, Experiment) {
    let store = SqliteStore::open(SqliteConfig::file(dir.path().join("bench.db")))
        .await
        .unwrap();
    let account = Account {
        id: AccountId::new(),
        name: "bench".into(),
        external_id: None,
        tier: "pro".into(),
        created_at: t0(),
    };
    store.insert_account(&account).await.unwrap();
    let spec = ExperimentSpec {
        name: "bench".into(),
        prompts: vec!["Best CRM?".into()],
        brands: vec![
            BrandSpec::target("Acme"),
            BrandSpec::new("Globex"),
            BrandSpec::new("Initech"),
        ],
        targets: vec![Target::new("simulated", "a"), Target::new("simulated", "b")],
        repeats: 1,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    };
    let experiment = Experiment {
        id: ExperimentId::new(),
        account_id: account.id,
        spec,
        created_at: t0(),
        updated_at: t0(),
    };
    store.insert_experiment(&experiment).await.unwrap();
    (store, experiment)
}

fn plan(experiment: &Experiment, n: usize) -> (Run, Vec<NewSample>) {
    let run = Run {
        id: RunId::new(),
        account_id: experiment.account_id,
        experiment_id: experiment.id,
        spec: experiment.spec.clone(),
        status: RunStatus::Pending,
        planned_samples: n as u64,
        seed: 1,
        created_at: t0(),
        started_at: None,
        finished_at: None,
        adaptive: None,
        correlation_id: None,
    };
    let samples = (0..n)
        .map(|i| NewSample {
            id: SampleId::new(),
            target: Target::new("simulated", if i % 2 == 0 { "a" } else { "b" }),
            prompt_index: (i / 2 / 1000) as u32,
            repeat_index: (i / 2 % 1000) as u32,
        })
        .collect();
    (run, samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints timings; run explicitly (see the file header)"]
async fn enqueue_10k_and_100k_samples() {
    for n in [10_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let (store, experiment) = setup(&dir).await;
        let (run, samples) = plan(&experiment, n);
        let started = Instant::now();
        store.enqueue_run(&run, &samples).await.unwrap();
        let elapsed = started.elapsed();
        println!(
            "enqueue {n:>7} samples: {:>8.1} ms ({:.0} samples/s, {})",
            elapsed.as_secs_f64() * 1e3,
            n as f64 / elapsed.as_secs_f64(),
            profile()
        );
        assert_eq!(
            store.sample_counts(run.account_id, run.id).await.unwrap().pending,
            n as u64
        );
    }
}

fn success(task: &echo_core::model::SampleTask) -> SampleOutcome {
    let text = "Here are the best CRMs:\n1. **Acme** — simple.\n2. Globex — for sales teams.\n3. Initech.\n";
    let mention = |brand: &str, offset: u32, rank: u32| Mention {
        brand: brand.into(),
        offset,
        len: brand.len() as u32,
        count: 1,
        rank,
        list_index: Some(rank),
    };
    SampleOutcome::Succeeded(AnsweredSample {
        fence: Fence::from(task),
        raw_answer: text.into(),
        answer_sha256: "ab".repeat(32),
        served_model: Some("sim-a".into()),
        request_id: Some("req".into()),
        finish_reason: Some("stop".into()),
        input_tokens: Some(12),
        output_tokens: Some(40),
        latency_ms: 0,
        cost_usd: None,
        raw_response: None,
        mentions: vec![
            mention("Acme", 28, 1),
            mention("Globex", 48, 2),
            mention("Initech", 76, 3),
        ],
        citations: vec![Citation::from_url("https://acme.com/crm", None)],
        completed_at: t0(),
        redactions: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints timings; run explicitly (see the file header)"]
async fn claim_and_complete_10k_samples_in_batches_of_256() {
    let dir = tempfile::tempdir().unwrap();
    let (store, experiment) = setup(&dir).await;
    let (run, samples) = plan(&experiment, 10_000);
    store.enqueue_run(&run, &samples).await.unwrap();

    let (mut claiming, mut completing, mut done) = (Duration::ZERO, Duration::ZERO, 0usize);
    loop {
        let started = Instant::now();
        let tasks = store
            .claim_samples(&ClaimRequest {
                run_id: Some(run.id),
                owner: "bench",
                limit: 256,
                now: t0(),
                lease: Duration::from_secs(60),
                max_attempts: 3,
            })
            .await
            .unwrap();
        claiming += started.elapsed();
        if tasks.is_empty() {
            break;
        }
        let outcomes: Vec<_> = tasks.iter().map(success).collect();
        let started = Instant::now();
        let applied = store.complete_samples(&outcomes).await.unwrap();
        completing += started.elapsed();
        assert!(applied.iter().all(|a| *a));
        done += applied.len();
    }
    let total = claiming + completing;
    println!(
        "10,000 samples, batches of 256, 3 mentions + 1 citation each ({}):\n  \
         complete: {:>8.1} ms ({:.0} samples/s)\n  claim:    {:>8.1} ms ({:.0} samples/s)\n  \
         claim + complete: {:.0} samples/s",
        profile(),
        completing.as_secs_f64() * 1e3,
        done as f64 / completing.as_secs_f64(),
        claiming.as_secs_f64() * 1e3,
        done as f64 / claiming.as_secs_f64(),
        done as f64 / total.as_secs_f64(),
    );
    assert_eq!(done, 10_000);
    let counts = store.sample_counts(run.account_id, run.id).await.unwrap();
    assert_eq!(counts.succeeded, 10_000);
    let started = Instant::now();
    let records = store.load_samples(run.account_id, run.id).await.unwrap();
    println!(
        "  load_samples of 10,000 with facts: {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    assert!(records.iter().all(|r| r.mentions.len() == 3 && r.citations.len() == 1));
}
