//! No API key plaintext reaches the logs: a process-wide subscriber records every event and
//! span field at every level (Echo's and its dependencies', sqlx's statements included)
//! while keys are created, used, mistyped, revoked and flushed; none of it may contain a
//! key's secret part. This file holds one test, so its subscriber sees only this test.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use echo_core::auth::{NewApiKey, Scope};
use echo_core::engine::Echo;
use echo_core::provider::FailureRates;
use secrecy::ExposeSecret;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields<'a>(&'a mut Vec<String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push(format!("{}={value:?}", field.name()));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push(format!("{}={value}", field.name()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = vec![attributes.metadata().name().to_string()];
        attributes.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().extend(fields);
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut fields = Vec::new();
        values.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().extend(fields);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().extend(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_plaintext_never_reaches_the_logs() {
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(recorder.clone()).expect("the only subscriber of this test binary");

    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::builder()
        .sqlite_file(dir.path().join("echo.db"))
        .provider(simulated(1, Duration::ZERO, FailureRates::default()))
        .key_usage_flush_interval(Duration::from_millis(1))
        .build()
        .await
        .unwrap();
    let owner = account(&echo, "acme").await;
    let created = echo
        .create_api_key(&owner, NewApiKey::new("ci", [Scope::ExperimentsRead]))
        .await
        .unwrap();
    let secret = created.secret.expose_secret().to_string();
    println!("{created:?}"); // what a careless host might do
    let principal = echo.authenticate(&secret).await.unwrap();
    echo.get_account(&principal).await.unwrap();
    // A mistyped copy, a truncated one, an unknown key.
    let mut typo = secret.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    for bad in [
        typo.as_str(),
        &secret[..30],
        "echo_live_000000000000000000000000000000000",
    ] {
        let err = echo.authenticate(bad).await.unwrap_err();
        assert!(!err.to_string().contains(&secret[10..]), "{err}");
    }
    echo.revoke_api_key(&owner, created.key.id).await.unwrap();
    let err = echo.authenticate(&secret).await.unwrap_err();
    assert!(!format!("{err:?}").contains(&secret[10..]));
    echo.close().await;

    let logged = recorder.0.lock().unwrap().clone();
    assert!(
        logged.iter().any(|l| l.contains("API key created")),
        "the subscriber saw Echo's events: {logged:?}"
    );
    // Any 12 consecutive characters of the secret part (prefix excluded) would be a leak.
    let body = &secret[10..];
    for window in body.as_bytes().windows(12) {
        let needle = std::str::from_utf8(window).unwrap();
        for line in &logged {
            assert!(!line.contains(needle), "logged part of a key: {line}");
        }
    }
    let typo_body = &typo[10..];
    assert!(logged.iter().all(|l| !l.contains(typo_body)), "logged a mistyped key");
    assert!(
        format!("{created:?}").contains("REDACTED") && !format!("{created:?}").contains(body),
        "Debug of a created key hides its secret"
    );
}
