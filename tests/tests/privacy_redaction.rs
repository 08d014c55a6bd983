//! PII redaction through the engine, on SQLite and PostgreSQL: an account that redacts
//! stores its answers with emails, phone numbers and card numbers replaced (counts
//! recorded, raw provider response not kept, citations' quoted text redacted) and exactly
//! the mentions an account that does not redact gets from the same answers — including a
//! brand inside an email and a brand right after one. A worker on another engine (as in
//! another process) applies the account's setting too.

mod common;
mod databases;

use std::time::Duration;

use common::*;
use echo_core::ErrorKind;
use echo_core::auth::{Principal, Scope};
use echo_core::engine::{Echo, RunOptions, WorkerConfig};
use echo_core::model::{Citation, ExperimentId, RunId, SampleRecord};
use echo_core::privacy::{PrivacySettings, RedactionCounts};
use echo_core::provider::{ChatRequest, ChatResponse, LlmError, Provider, ProviderLimits};

/// The answer to each of `spec`'s two prompts: personal data among brand names.
const ANSWERS: [&str; 2] = [
    "Email sales@globex.com Acme is the best widget vendor. Call +1 415-555-2671 or (415) 555-2672. \
     Initech costs $1,299 since 2019.",
    "Pay Umbrella with 4111 1111 1111 1111; Acme support: support@acme.io, 020 7946 0958. Globex is fine.",
];

/// What redaction replaces in each answer (the second one's citation quotes an email too).
const COUNTS: [RedactionCounts; 2] = [
    RedactionCounts {
        email: 1,
        phone: 2,
        card: 0,
    },
    RedactionCounts {
        email: 2,
        phone: 1,
        card: 1,
    },
];

/// Answers every request with the fixed answer of its prompt, a citation quoting an email
/// on the second, and the raw JSON a real provider would send.
#[derive(Debug)]
struct PiiProvider;

#[async_trait::async_trait]
impl Provider for PiiProvider {
    fn id(&self) -> &str {
        "simulated"
    }
    fn limits(&self) -> ProviderLimits {
        ProviderLimits {
            max_concurrency: 4,
            requests_per_minute: None,
        }
    }
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let prompt = &request.messages.last().expect("a prompt").content;
        let i = usize::from(prompt.contains("small team"));
        let mut response = ChatResponse::text(ANSWERS[i]);
        response.raw = Some(serde_json::json!({ "output_text": ANSWERS[i] }));
        if i == 1 {
            let mut c = Citation::from_url("https://acme.io/contact", Some("Acme contact".into()));
            c.cited_text = Some("write to help@acme.io".into());
            response.citations = vec![c];
        }
        Ok(response)
    }
}

async fn engine(url: &str) -> Echo {
    Echo::builder()
        .database_url(url)
        .provider(PiiProvider)
        .build()
        .await
        .unwrap()
}

async fn records(echo: &Echo, me: &Principal, run: RunId) -> Vec<SampleRecord> {
    echo.store().load_samples(me.account_id(), run).await.unwrap()
}

async fn run_to_end(echo: &Echo, me: &Principal, exp: ExperimentId) -> RunId {
    let report = echo
        .start_run(me, exp, RunOptions::default())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(report.counts.succeeded, 4);
    report.run_id
}

/// Checks a redacting account's run against a plain account's run of the same answers.
fn assert_redacted_like(redacted: &[SampleRecord], plain: &[SampleRecord], backend: &str) {
    assert_eq!(redacted.len(), plain.len());
    for (r, p) in redacted.iter().zip(plain) {
        let (rs, ps) = (&r.sample, &p.sample);
        assert_eq!((rs.prompt_index, &rs.target), (ps.prompt_index, &ps.target));
        let i = rs.prompt_index as usize;
        let stored = rs.raw_answer.as_deref().unwrap();
        assert_eq!(
            ps.raw_answer.as_deref(),
            Some(ANSWERS[i]),
            "[{backend}] unredacted as received"
        );
        assert_eq!(
            stored.len(),
            ANSWERS[i].len(),
            "[{backend}] placeholders keep the length"
        );
        for secret in ["sales@", "support@", "415-555", "555-2672", "4111", "7946"] {
            assert!(!stored.contains(secret), "[{backend}] {secret} left in {stored}");
        }
        assert!(
            stored.contains("[EMAIL") && stored.contains("[PHONE"),
            "[{backend}] {stored}"
        );
        assert!(
            stored.contains("Initech costs $1,299 since 2019.") || i == 1,
            "[{backend}] {stored}"
        );
        assert_eq!(rs.redactions, Some(COUNTS[i]), "[{backend}] prompt {i}");
        assert_eq!(ps.redactions, None);

        assert_eq!(r.mentions, p.mentions, "[{backend}] redaction never changes mentions");
        assert!(r.mentions.len() >= 3, "[{backend}] {:?}", r.mentions);
        for m in &r.mentions {
            let surface = &ANSWERS[i][m.offset as usize..(m.offset + m.len) as usize];
            assert!(surface.eq_ignore_ascii_case(&m.brand), "[{backend}] {m:?} -> {surface}");
        }
        if i == 0 {
            // The brand right after the email sits at the same offset in the stored text.
            let acme = r.mentions.iter().find(|m| m.brand == "Acme").unwrap();
            assert_eq!(&stored[acme.offset as usize..(acme.offset + acme.len) as usize], "Acme");
            // Globex is first named inside the email: found in the original, kept.
            assert!(r.mentions.iter().any(|m| m.brand == "Globex" && m.rank == 1));
        } else {
            let quoted = r.citations[0].cited_text.as_deref().unwrap();
            assert!(!quoted.contains("help@"), "[{backend}] {quoted}");
            assert_eq!(r.citations[0].url, "https://acme.io/contact");
            assert_eq!(p.citations[0].cited_text.as_deref(), Some("write to help@acme.io"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redacting_accounts_store_no_pii_and_the_same_mentions() {
    for db in databases::all("redaction").await {
        let backend = db.backend;
        let echo = engine(&db.url).await;
        let private = account(&echo, "redacts").await;
        let plain = account(&echo, "keeps").await;
        let settings = echo
            .set_privacy_settings(&private, PrivacySettings::redacting())
            .await
            .unwrap();
        assert!(settings.redact_pii);
        assert_eq!(echo.privacy_settings(&private).await.unwrap(), settings);
        assert!(!echo.privacy_settings(&plain).await.unwrap().redact_pii, "per account");

        let exp_r = echo.create_experiment(&private, spec(1)).await.unwrap();
        let exp_p = echo.create_experiment(&plain, spec(1)).await.unwrap();
        let run_r = run_to_end(&echo, &private, exp_r.id).await;
        let run_p = run_to_end(&echo, &plain, exp_p.id).await;
        let redacted = records(&echo, &private, run_r).await;
        let kept = records(&echo, &plain, run_p).await;
        assert_redacted_like(&redacted, &kept, backend);
        for (r, p) in redacted.iter().zip(&kept) {
            assert_eq!(
                echo.store()
                    .raw_response(private.account_id(), r.sample.id)
                    .await
                    .unwrap(),
                None,
                "[{backend}] the raw response is not kept when redacting"
            );
            assert!(
                echo.store()
                    .raw_response(plain.account_id(), p.sample.id)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        let (report_r, report_p) = (
            echo.report(&private, run_r).await.unwrap(),
            echo.report(&plain, run_p).await.unwrap(),
        );
        assert_eq!(report_r.overall, report_p.overall, "[{backend}] same numbers");
        echo.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_on_another_engine_applies_the_accounts_setting() {
    for db in databases::all("redaction_worker").await {
        let backend = db.backend;
        let web = engine(&db.url).await;
        let private = account(&web, "redacts").await;
        let plain = account(&web, "keeps").await;
        web.set_privacy_settings(&private, PrivacySettings::redacting())
            .await
            .unwrap();
        let exp_r = web.create_experiment(&private, spec(1)).await.unwrap();
        let exp_p = web.create_experiment(&plain, spec(1)).await.unwrap();
        let run_r = web
            .enqueue_run(&private, exp_r.id, &RunOptions::default())
            .await
            .unwrap()
            .id;
        let run_p = web
            .enqueue_run(&plain, exp_p.id, &RunOptions::default())
            .await
            .unwrap()
            .id;

        let worker_engine = engine(&db.url).await;
        let worker = worker_engine
            .worker(
                WorkerConfig::default()
                    .poll_interval(Duration::from_millis(10))
                    .run_scheduler(false),
            )
            .unwrap()
            .start();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        for (me, run) in [(&private, run_r), (&plain, run_p)] {
            while !web.get_run(me, run).await.unwrap().status.is_terminal() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "[{backend}] runs did not finish"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        worker.shutdown(Duration::from_secs(5)).await.unwrap();
        let redacted = records(&web, &private, run_r).await;
        let kept = records(&web, &plain, run_p).await;
        assert_redacted_like(&redacted, &kept, backend);
        web.close().await;
        worker_engine.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn privacy_settings_are_validated_and_scoped() {
    let echo = Echo::builder()
        .sqlite_memory()
        .provider(PiiProvider)
        .build()
        .await
        .unwrap();
    let me = account(&echo, "settings").await;
    let err = echo
        .set_privacy_settings(
            &me,
            PrivacySettings {
                redact_pii: true,
                phone_regions: vec!["US".into(), "ZZ".into()],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("privacy.phone_regions"));
    assert!(!echo.privacy_settings(&me).await.unwrap().redact_pii, "nothing written");

    let normalized = echo
        .set_privacy_settings(
            &me,
            PrivacySettings {
                redact_pii: true,
                phone_regions: vec!["de".into(), "US".into(), "DE".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(normalized.phone_regions, vec!["DE".to_string(), "US".to_string()]);

    let reader = Principal::with_scopes(
        me.account_id(),
        [Scope::ExperimentsRead],
        echo_core::auth::Actor::ApiKey("k".into()),
    );
    let err = echo
        .set_privacy_settings(&reader, PrivacySettings::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(echo.privacy_settings(&reader).await.unwrap().redact_pii);
}
