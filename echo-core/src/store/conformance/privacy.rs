//! Privacy: retention anonymizes old samples in batches and keeps every fact; consent
//! records are appended, the latest per purpose wins, isolated by account; privacy
//! settings round-trip; redaction counts are stored with the answer.

use super::fixtures::{account, answered, assert_kind, at, claim, enqueued, t0};
use crate::ErrorKind;
use crate::audit::{AuditAction, AuditQuery, AuditRecord};
use crate::model::{AccountId, Citation, RunStatus};
use crate::privacy::{Consent, PrivacySettings, RedactionCounts};
use crate::store::{SampleOutcome, Store};

const DAY: i64 = 86_400_000;

/// Retention times lie far before the suite's epoch (every other check answers samples
/// around `t0`), so the global sweep of this check touches only its own samples, even on a
/// store shared by the whole suite.
fn long_ago(days: i64) -> chrono::DateTime<chrono::Utc> {
    at(-days * DAY)
}

/// Six samples answered 1000 days before `t0` and two 500 days before; a sweep with its
/// cutoff 700 days before `t0` anonymizes exactly the six, two per batch, oldest first:
/// answer text, raw response and quoted citation text erased, `anonymized_at` set; mentions,
/// citation URLs and titles, hashes and the dashboard's counts kept. A second sweep finds
/// nothing.
pub async fn retention_anonymizes_old_samples_in_batches(store: &dyn Store) {
    let (acct, _exp, run) = enqueued(store, "retention", 8).await;
    store
        .set_run_status(acct.id, run.id, RunStatus::Running, long_ago(1001))
        .await
        .expect("running");
    let tasks = store
        .claim_samples(&claim(run.id, "w", 8, long_ago(1001)))
        .await
        .expect("claim");
    assert_eq!(tasks.len(), 8);
    let outcomes: Vec<SampleOutcome> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let when = if i < 6 {
                long_ago(1000) + chrono::Duration::milliseconds(i as i64)
            } else {
                long_ago(500)
            };
            let mut a = answered(t, "Acme leads, Globex follows, Initech trails.", when);
            a.citations[0].cited_text = Some("Acme leads".into());
            SampleOutcome::Succeeded(a)
        })
        .collect();
    assert!(
        store
            .complete_samples(&outcomes)
            .await
            .expect("complete")
            .iter()
            .all(|ok| *ok)
    );
    let before = store.load_samples(acct.id, run.id).await.expect("load before");
    let summary_before = store.account_summary(acct.id).await.expect("summary before");

    let cutoff = long_ago(700);
    let now = t0();
    // Dated after every event in the chain, as the audit checks expect of a shared store.
    let record = AuditRecord::system(
        "retention",
        None,
        AuditAction::SamplesAnonymize,
        super::audit::after_last(store).await,
    );
    let head_before = store.audit_head().await.expect("head").seq;
    let mut batches = Vec::new();
    loop {
        let n = store
            .anonymize_samples(cutoff, now, 2, &record)
            .await
            .expect("anonymize");
        batches.push(n);
        if n < 2 {
            break;
        }
    }
    assert_eq!(
        batches,
        vec![2, 2, 2, 0],
        "six due samples in batches of two, then nothing"
    );
    assert_eq!(
        store.anonymize_samples(cutoff, now, 100, &record).await.expect("again"),
        0,
        "idempotent"
    );
    // Each batch that erased something wrote its own event, in its transaction; the empty
    // ones wrote none.
    let events = store
        .audit_events(&AuditQuery {
            action: Some(AuditAction::SamplesAnonymize),
            after_seq: Some(head_before),
            ..Default::default()
        })
        .await
        .expect("events")
        .events;
    let counts: Vec<u64> = events
        .iter()
        .map(|e| e.details["samples_anonymized"].as_u64().expect("count"))
        .collect();
    assert_eq!(counts, vec![2, 2, 2], "one samples.anonymize event per non-empty batch");

    let after = store.load_samples(acct.id, run.id).await.expect("load after");
    assert_eq!(before.len(), after.len());
    let mut anonymized = 0;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.sample.id, a.sample.id);
        assert_eq!(a.mentions, b.mentions, "mentions are kept");
        assert_eq!(a.sample.answer_sha256, b.sample.answer_sha256, "the hash is kept");
        assert_eq!(a.sample.cost_usd, b.sample.cost_usd);
        assert_eq!(a.sample.output_tokens, b.sample.output_tokens);
        let urls = |cs: &[Citation]| {
            cs.iter()
                .map(|c| (c.url.clone(), c.domain.clone(), c.title.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            urls(&a.citations),
            urls(&b.citations),
            "citation URLs, domains and titles are kept"
        );
        let old = b.sample.completed_at.expect("answered") < cutoff;
        if old {
            anonymized += 1;
            assert_eq!(a.sample.raw_answer, None, "answer erased");
            assert_eq!(a.sample.anonymized_at, Some(now));
            assert!(a.citations.iter().all(|c| c.cited_text.is_none()), "quoted text erased");
            assert_eq!(
                store.raw_response(acct.id, a.sample.id).await.expect("raw response"),
                None,
                "raw response erased"
            );
        } else {
            assert_eq!(a.sample.raw_answer, b.sample.raw_answer, "recent answers are kept");
            assert_eq!(a.sample.anonymized_at, None);
            assert_eq!(a.citations, b.citations);
            assert!(store.raw_response(acct.id, a.sample.id).await.expect("raw").is_some());
        }
    }
    assert_eq!(anonymized, 6);
    assert_eq!(
        store.account_summary(acct.id).await.expect("summary after"),
        summary_before,
        "dashboard counts unchanged"
    );
}

fn consent(account: AccountId, purpose: &str, version: &str, granted: bool, ms: i64) -> Consent {
    Consent {
        id: uuid::Uuid::now_v7(),
        account_id: account,
        purpose: purpose.into(),
        policy_version: version.into(),
        granted,
        at: at(ms),
        source: Some("signup_form".into()),
        recorded_by: "host".into(),
    }
}

/// Grant → withdraw → grant again: the latest record wins each time; the history keeps all
/// three in order; records made in the same millisecond are ordered by id; another account
/// sees none of them; an unknown account is NotFound.
pub async fn consent_latest_wins_and_is_isolated(store: &dyn Store) {
    let owner = account(store, "consent").await;
    let other = account(store, "consent-other").await;
    let purpose = "data_processing";
    assert_eq!(store.latest_consent(owner.id, purpose).await.expect("none yet"), None);

    let grant = consent(owner.id, purpose, "v1", true, 1_000);
    store.insert_consent(owner.id, &grant, None).await.expect("grant");
    assert_eq!(
        store.latest_consent(owner.id, purpose).await.expect("latest"),
        Some(grant.clone())
    );

    let withdraw = consent(owner.id, purpose, "v1", false, 2_000);
    store.insert_consent(owner.id, &withdraw, None).await.expect("withdraw");
    assert_eq!(
        store.latest_consent(owner.id, purpose).await.expect("latest"),
        Some(withdraw.clone())
    );

    // Same millisecond as the withdrawal: the later id (v7) wins.
    let regrant = consent(owner.id, purpose, "v2", true, 2_000);
    store.insert_consent(owner.id, &regrant, None).await.expect("regrant");
    assert_eq!(
        store.latest_consent(owner.id, purpose).await.expect("latest"),
        Some(regrant.clone())
    );

    let marketing = consent(owner.id, "marketing", "v1", false, 1_500);
    store
        .insert_consent(owner.id, &marketing, None)
        .await
        .expect("marketing");
    assert_eq!(
        store.consent_history(owner.id).await.expect("history"),
        vec![grant, marketing, withdraw, regrant.clone()],
        "oldest first"
    );
    assert_eq!(
        store.latest_consent(owner.id, purpose).await.expect("latest"),
        Some(regrant)
    );

    assert_eq!(store.latest_consent(other.id, purpose).await.expect("other"), None);
    assert!(store.consent_history(other.id).await.expect("other history").is_empty());
    // A record is stored under the account it names, never another's.
    let foreign = consent(other.id, purpose, "v1", true, 3_000);
    assert_kind(
        store.insert_consent(owner.id, &foreign, None).await,
        ErrorKind::Internal,
        "record under another account",
    );
    let ghost = AccountId::new();
    assert_kind(
        store
            .insert_consent(ghost, &consent(ghost, purpose, "v1", true, 0), None)
            .await,
        ErrorKind::NotFound,
        "unknown account",
    );
}

/// Defaults until set; set and replaced; per account; an unknown account is NotFound.
pub async fn privacy_settings_round_trip(store: &dyn Store) {
    let owner = account(store, "privacy-settings").await;
    let other = account(store, "privacy-settings-other").await;
    assert_eq!(
        store.privacy_settings(owner.id).await.expect("default"),
        PrivacySettings::default()
    );
    let on = PrivacySettings {
        redact_pii: true,
        phone_regions: vec!["DE".into(), "US".into()],
    };
    store
        .set_privacy_settings(owner.id, &on, t0(), None)
        .await
        .expect("set");
    assert_eq!(store.privacy_settings(owner.id).await.expect("get"), on);
    let off = PrivacySettings {
        redact_pii: false,
        phone_regions: vec![],
    };
    store
        .set_privacy_settings(owner.id, &off, at(1), None)
        .await
        .expect("replace");
    assert_eq!(store.privacy_settings(owner.id).await.expect("get"), off);
    assert_eq!(
        store.privacy_settings(other.id).await.expect("other"),
        PrivacySettings::default(),
        "another account's settings are its own"
    );
    assert_kind(
        store.set_privacy_settings(AccountId::new(), &on, t0(), None).await,
        ErrorKind::NotFound,
        "unknown account",
    );
}

/// An answer's redaction counts are stored with it and read back with the sample; an
/// answer that was not redacted reads `None`.
pub async fn redaction_counts_are_stored(store: &dyn Store) {
    let (acct, _exp, run) = enqueued(store, "redaction-counts", 2).await;
    let tasks = store.claim_samples(&claim(run.id, "w", 2, t0())).await.expect("claim");
    let counts = RedactionCounts {
        email: 2,
        phone: 1,
        card: 0,
    };
    let mut redacted = answered(&tasks[0], "Mail [EMAIL____] or [EMAIL____], call [PHONE___].", at(1));
    redacted.redactions = Some(counts);
    redacted.raw_response = None;
    let plain = answered(&tasks[1], "Acme.", at(1));
    store
        .complete_samples(&[SampleOutcome::Succeeded(redacted), SampleOutcome::Succeeded(plain)])
        .await
        .expect("complete");
    let records = store.load_samples(acct.id, run.id).await.expect("load");
    let by_id = |id| {
        records
            .iter()
            .find(|r| r.sample.id == id)
            .expect("sample")
            .sample
            .clone()
    };
    assert_eq!(by_id(tasks[0].id).redactions, Some(counts));
    assert_eq!(by_id(tasks[1].id).redactions, None);
}
