//! Account export (GDPR access and portability): the bundle round-trips through a JSON
//! parser with the store's counts, carries raw answers, never a key secret or hash, nothing
//! of another account, and is written in bounded chunks however large the account.
//!
//! Every case runs on SQLite (in memory) and on PostgreSQL (a database of its own; skipped
//! loudly when no server is reachable outside CI).

mod common;
#[path = "../../echo-core/tests/pg_support/mod.rs"]
mod pg_support;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use echo_core::ErrorKind;
use echo_core::audit::AuditQuery;
use echo_core::auth::{KeyHash, NewApiKey, Principal, Scope};
use echo_core::clock::ManualClock;
use echo_core::engine::{Echo, EchoBuilder, RunOptions};
use echo_core::gdpr::export::EXPORT_FLUSH_BYTES;
use echo_core::gdpr::{EXPORT_FORMAT, EXPORT_VERSION};
use echo_core::model::{
    Citation, Experiment, ExperimentId, Mention, NewAccount, PageRequest, Run, RunId, RunStatus, SampleId,
};
use echo_core::privacy::consent::{ConsentRecord, DATA_PROCESSING};
use echo_core::provider::FailureRates;
use echo_core::quota::{TierLimits, TieredQuotaPolicy};
use echo_core::store::{AnsweredSample, ClaimRequest, Fence, NewSample, SampleOutcome};
use secrecy::ExposeSecret;
use serde_json::Value;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-15T12:00:00Z").unwrap().to_utc()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An account with a key, an experiment and two finished runs.
struct Tenant {
    principal: Principal,
    secret: String,
    key_prefix: String,
    experiment: ExperimentId,
    runs: Vec<RunId>,
}

async fn tenant(echo: &Echo, name: &str) -> Tenant {
    let principal = account(echo, name).await;
    let key = echo
        .create_api_key(&principal, NewApiKey::new("ci", [Scope::ExperimentsRead]))
        .await
        .unwrap();
    let experiment = echo.create_experiment(&principal, spec(3)).await.unwrap();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let handle = echo
            .start_run(&principal, experiment.id, RunOptions::default())
            .await
            .unwrap();
        runs.push(handle.run_id());
        assert_eq!(handle.wait().await.unwrap().status, RunStatus::Completed);
    }
    Tenant {
        principal,
        secret: key.secret.expose_secret().to_string(),
        key_prefix: key.key.display_prefix.clone(),
        experiment: experiment.id,
        runs,
    }
}

async fn export(echo: &Echo, principal: &Principal) -> (Vec<u8>, Value) {
    let mut bytes = Vec::new();
    let summary = echo.export_account(principal, &mut bytes).await.unwrap();
    assert_eq!(summary.bytes, bytes.len() as u64);
    let json: Value = serde_json::from_slice(&bytes).expect("the bundle is valid JSON");
    (bytes, json)
}

async fn export_round_trips_with_the_stores_counts(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = builder
        .provider(simulated(3, Duration::ZERO, FailureRates::none()))
        .clock(clock)
        .build()
        .await
        .unwrap();
    let alice = tenant(&echo, "alice").await;
    let bob = tenant(&echo, "bob").await;

    echo.record_consent(&alice.principal, ConsentRecord::grant(DATA_PROCESSING, "2026-01"))
        .await
        .unwrap();
    echo.record_consent(&bob.principal, ConsentRecord::grant(DATA_PROCESSING, "2026-01"))
        .await
        .unwrap();

    let (bytes, json) = export(&echo, &alice.principal).await;
    assert_eq!(json["format"], EXPORT_FORMAT);
    assert_eq!(json["version"], EXPORT_VERSION);
    assert_eq!(json["complete"], true);
    assert_eq!(json["account"]["id"], alice.principal.account_id().to_string());
    assert_eq!(json["account"]["status"], "active");
    assert_eq!(json["api_keys"].as_array().unwrap().len(), 1);
    assert_eq!(json["api_keys"][0]["display_prefix"], alice.key_prefix.as_str());
    assert_eq!(json["experiments"].as_array().unwrap().len(), 1);
    assert_eq!(json["experiments"][0]["id"], alice.experiment.to_string());
    assert_eq!(json["runs"].as_array().unwrap().len(), 2);
    // Alice's consent history, not bob's.
    let consents = json["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 1, "{consents:?}");
    assert_eq!(consents[0]["purpose"], DATA_PROCESSING);
    // The audit events about alice (experiment, key, runs...), and only hers.
    let events = json["audit_events"].as_array().unwrap();
    let about_alice = echo
        .audit_events(
            &Principal::admin(),
            &AuditQuery {
                account: Some(alice.principal.account_id()),
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!events.is_empty());
    // The admin query above is itself audited, after the export: the export holds the events before it.
    assert!(events.len() <= about_alice.events.len());
    for (exported, stored) in events.iter().zip(&about_alice.events) {
        assert_eq!(exported["seq"], stored.seq);
        assert_eq!(exported["account_id"], alice.principal.account_id().to_string());
    }
    assert!(events.iter().any(|e| e["action"] == "experiment.create"));
    assert_eq!(json["counts"]["audit_events"], events.len());

    // Samples, mentions, citations and raw answers match what the store holds.
    let mut expected_samples = Vec::new();
    for run in &alice.runs {
        expected_samples.extend(
            echo.store()
                .load_samples(alice.principal.account_id(), *run)
                .await
                .unwrap(),
        );
    }
    let exported = json["samples"].as_array().unwrap();
    assert_eq!(exported.len(), expected_samples.len());
    assert_eq!(exported.len(), 2 * 12);
    for record in &expected_samples {
        let id = record.sample.id.to_string();
        let item = exported
            .iter()
            .find(|s| s["id"] == id.as_str())
            .expect("sample exported");
        let answer = record.sample.raw_answer.as_deref().expect("answered");
        assert_eq!(item["raw_answer"], answer, "raw answer kept");
        // The raw response as stored (the simulated provider sends none: null).
        let stored = echo
            .store()
            .raw_response(alice.principal.account_id(), record.sample.id)
            .await
            .unwrap();
        let exported_raw = item.get("raw_response").expect("raw_response field present");
        assert_eq!(
            exported_raw.as_str().map(|t| serde_json::from_str::<Value>(t).unwrap()),
            stored,
            "raw response as stored"
        );
        let mentions: Vec<Mention> = serde_json::from_value(item["mentions"].clone()).unwrap();
        assert_eq!(mentions, record.mentions);
        let citations: Vec<Citation> = serde_json::from_value(item["citations"].clone()).unwrap();
        assert_eq!(citations, record.citations);
    }
    let mention_total: usize = expected_samples.iter().map(|r| r.mentions.len()).sum();
    assert!(mention_total > 0, "the simulated market names brands");
    assert_eq!(json["counts"]["samples"], 24);
    assert_eq!(json["counts"]["runs"], 2);

    // Never a secret, never a hash.
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains(&alice.secret), "plaintext key in the export");
    let hash = KeyHash::of(&alice.secret);
    assert!(!text.contains(&hex(hash.as_bytes())), "key hash (hex) in the export");
    assert!(!text.contains("key_hash"), "key_hash field in the export");

    // Nothing of bob.
    for foreign in [
        bob.principal.account_id().to_string(),
        bob.experiment.to_string(),
        bob.runs[0].to_string(),
        bob.runs[1].to_string(),
        bob.key_prefix.clone(),
    ] {
        assert!(!text.contains(&foreign), "bob's {foreign} in alice's export");
    }
    for record in echo
        .store()
        .load_samples(bob.principal.account_id(), bob.runs[0])
        .await
        .unwrap()
    {
        assert!(
            !text.contains(&record.sample.id.to_string()),
            "bob's sample in alice's export"
        );
    }

    // An API key cannot export, whatever its scopes; the operator can, for one account.
    let key_principal = echo.authenticate(&alice.secret).await.unwrap();
    let err = echo.export_account(&key_principal, Vec::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let err = echo.export_account(&Principal::admin(), Vec::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let admin = Principal::admin().acting_for(alice.principal.account_id()).unwrap();
    let (_, by_admin) = export(&echo, &admin).await;
    // The same data; the audit trail has grown meanwhile: the first export and the two
    // refused ones are on it (a refusal of an unbound operator names no account).
    let without_audit = |v: &Value| {
        let mut c = v["counts"].clone();
        c.as_object_mut().unwrap().remove("audit_events");
        c
    };
    assert_eq!(without_audit(&by_admin), without_audit(&json));
    let events = by_admin["audit_events"].as_array().unwrap();
    assert!(events.len() > json["audit_events"].as_array().unwrap().len());
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "account.export" && e["result"] == "success")
    );
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "account.export" && e["result"] != "success")
    );

    // To a file: written whole, then renamed into place.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.json");
    let summary = echo.export_account_to_file(&alice.principal, &path).await.unwrap();
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(without_audit(&on_disk), without_audit(&json));
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no partial file left"
    );
}

/// A writer that records how the exporter writes: number of writes, the largest single
/// write, and the bytes (to parse them afterwards).
#[derive(Default)]
struct CountingWriter {
    writes: u64,
    largest: usize,
    bytes: Vec<u8>,
}

impl tokio::io::AsyncWrite for CountingWriter {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.writes += 1;
        self.largest = self.largest.max(buf.len());
        self.bytes.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

const LARGE: usize = 20_000;

/// 20,000 answered samples, written straight through the store (the engine would take
/// minutes in a debug build): one run of 20 prompts × 1,000 repeats.
async fn large_account(echo: &Echo) -> (Principal, Run) {
    let principal = account_in_tier(echo, "bulk").await;
    let mut spec = spec(1);
    spec.prompts = (0..20).map(|i| format!("prompt {i}")).collect();
    spec.targets.truncate(1);
    spec.repeats = 1_000;
    let experiment: Experiment = echo.create_experiment(&principal, spec.clone()).await.unwrap();
    let run = Run {
        id: RunId::new(),
        account_id: principal.account_id(),
        experiment_id: experiment.id,
        spec: spec.clone(),
        status: RunStatus::Pending,
        planned_samples: LARGE as u64,
        seed: 7,
        created_at: t0(),
        started_at: None,
        finished_at: None,
        adaptive: None,
        correlation_id: None,
    };
    let samples: Vec<NewSample> = (0..LARGE)
        .map(|i| NewSample {
            id: SampleId::new(),
            target: spec.targets[0].clone(),
            prompt_index: (i / 1_000) as u32,
            repeat_index: (i % 1_000) as u32,
        })
        .collect();
    let store = echo.store();
    store.enqueue_run(&run, &samples).await.unwrap();
    loop {
        let tasks = store
            .claim_samples(&ClaimRequest {
                run_id: Some(run.id),
                owner: "bulk",
                limit: 2_000,
                now: t0(),
                lease: Duration::from_secs(600),
                max_attempts: 3,
            })
            .await
            .unwrap();
        if tasks.is_empty() {
            break;
        }
        let outcomes: Vec<SampleOutcome> = tasks
            .iter()
            .map(|t| {
                let answer = format!(
                    "For sample {} I would pick Acme, then Globex; Initech is fine too. {}",
                    t.id,
                    "Lorem ipsum dolor sit amet. ".repeat(8)
                );
                SampleOutcome::Succeeded(AnsweredSample {
                    fence: Fence::from(t),
                    answer_sha256: format!("{:064x}", answer.len()),
                    raw_answer: answer,
                    raw_response: None,
                    redactions: None,
                    served_model: None,
                    request_id: None,
                    finish_reason: Some("stop".into()),
                    input_tokens: Some(20),
                    output_tokens: Some(60),
                    latency_ms: 5,
                    cost_usd: None,
                    mentions: vec![Mention {
                        brand: "Acme".into(),
                        offset: 40,
                        len: 4,
                        count: 1,
                        rank: 1,
                        list_index: None,
                    }],
                    citations: vec![],
                    completed_at: t0(),
                })
            })
            .collect();
        store.complete_samples(&outcomes).await.unwrap();
    }
    (principal, run)
}

async fn account_in_tier(echo: &Echo, tier: &str) -> Principal {
    let account = echo
        .create_account(
            &Principal::admin(),
            NewAccount {
                name: "bulk customer".into(),
                tier: Some(tier.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Principal::host(account.id)
}

async fn a_large_export_is_streamed_in_bounded_chunks(builder: EchoBuilder) {
    let echo = builder
        .provider(simulated(3, Duration::ZERO, FailureRates::none()))
        .quota_policy(TieredQuotaPolicy::standard().tier("bulk", TierLimits::new(1_000_000, 100_000, 10)))
        .clock(Arc::new(ManualClock::new(t0())))
        .build()
        .await
        .unwrap();
    let (principal, run) = large_account(&echo).await;
    assert_eq!(
        echo.store()
            .sample_counts(principal.account_id(), run.id)
            .await
            .unwrap()
            .succeeded,
        LARGE as u64
    );

    let mut writer = CountingWriter::default();
    let summary = echo.export_account(&principal, &mut writer).await.unwrap();
    let total = writer.bytes.len();
    assert_eq!(summary.bytes, total as u64);
    assert!(total > 5_000_000, "a large bundle: {total} bytes");
    // The exporter hands over about EXPORT_FLUSH_BYTES at a time: never the whole bundle.
    let bound = EXPORT_FLUSH_BYTES + 16 * 1024; // one buffer plus one item
    assert!(
        writer.largest <= bound,
        "largest write {} bytes > {bound}: the export is buffered instead of streamed",
        writer.largest
    );
    assert!(
        writer.writes as usize >= total / bound,
        "{} writes for {total} bytes",
        writer.writes
    );
    println!(
        "export of {LARGE} samples: {total} bytes in {} writes, largest {} bytes",
        writer.writes, writer.largest
    );
    let json: Value = serde_json::from_slice(&writer.bytes).unwrap();
    let samples = json["samples"].as_array().unwrap();
    assert_eq!(samples.len(), LARGE);
    assert_eq!(json["counts"]["samples"], LARGE as u64);
    // Each sample exactly once, in natural-key order within the run.
    let mut keys: Vec<(u64, u64)> = samples
        .iter()
        .map(|s| (s["prompt_index"].as_u64().unwrap(), s["repeat_index"].as_u64().unwrap()))
        .collect();
    let in_order = keys.windows(2).all(|w| w[0] < w[1]);
    keys.dedup();
    assert!(in_order && keys.len() == LARGE);
    assert!(samples.iter().all(|s| s["mentions"].as_array().unwrap().len() == 1));
    let runs = echo
        .list_runs(&principal, run.experiment_id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(runs.items.len(), 1);
}

/// A sample whose answer retention erased exports `raw_answer: null` (and no raw
/// response), with its hash, mentions and anonymization time: the bundle never revives
/// erased text, and still holds the facts the reports came from.
async fn an_anonymized_sample_exports_no_answer_text(builder: EchoBuilder) {
    let clock = Arc::new(ManualClock::new(t0()));
    let echo = builder
        .provider(simulated(3, Duration::ZERO, FailureRates::none()))
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let alice = tenant(&echo, "alice").await;
    let later = t0() + chrono::Duration::days(91);
    clock.set(later);
    let retained = echo.apply_retention(&Principal::admin(), later).await.unwrap();
    assert!(retained.samples_anonymized > 0, "{retained:?}");

    let (_, json) = export(&echo, &alice.principal).await;
    let exported = json["samples"].as_array().unwrap();
    assert_eq!(exported.len(), 2 * 12);
    for item in exported {
        assert_eq!(item["raw_answer"], Value::Null, "{item}");
        assert_eq!(item.get("raw_response"), Some(&Value::Null), "{item}");
        assert!(item["anonymized_at"].is_string(), "{item}");
        assert!(item["answer_sha256"].as_str().is_some_and(|h| h.len() == 64), "{item}");
    }
    let mentions: usize = exported.iter().map(|s| s["mentions"].as_array().unwrap().len()).sum();
    assert!(mentions > 0, "the facts stay");
    echo.close().await;
}

common::on_both_backends!(
    export_round_trips_with_the_stores_counts,
    a_large_export_is_streamed_in_bounded_chunks,
    an_anonymized_sample_exports_no_answer_text,
);
