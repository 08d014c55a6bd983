//! The account export bundle: a versioned JSON document written incrementally.
//!
//! Layout (version 1, documented in `docs/privacy.md (Export and erasure)`):
//!
//! ```text
//! {"format":"echo-account-export","version":1,"exported_at":"…",
//!  "account":{…, "status":…, "deletion_requests":[…]},
//!  "api_keys":[…], "consents":[…], "experiments":[…], "runs":[…],
//!  "samples":[{…, "raw_answer":…, "raw_response":…, "mentions":[…], "citations":[…]}, …],
//!  "audit_events":[…],
//!  "counts":{"api_keys":n, …}, "complete":true}
//! ```
//!
//! Sections are flat arrays in that order; mentions and citations are nested in their
//! sample (they have no meaning apart from it, and a sample's page brings its facts along
//! in two indexed queries). Each section is an [`ExportSection`] that yields pages of JSON
//! values after an opaque cursor, so memory holds one page (and one output buffer) whatever
//! the size of the account. `complete: true` and `counts` come last: a bundle cut short by a
//! failure is not valid JSON, and a valid one says how many items each section holds.
//!
//! Never exported: API key hashes or secrets (the key section serializes [`ApiKey`], which
//! has neither), quota books and rate-limit state (operational, not about the person).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::auth::ApiKey;
use crate::model::{AccountId, ApiKeyId, ExperimentId, RunId};
use crate::store::Store;
use crate::store::gdpr::{AccountState, DeletionRecord, SampleExport, SampleKey};
use crate::{Error, Result};

/// The `format` field of every bundle.
pub const EXPORT_FORMAT: &str = "echo-account-export";
/// The `version` field: bumped on any change a reader would notice.
pub const EXPORT_VERSION: u32 = 1;
/// Items fetched per page.
pub const EXPORT_PAGE: u32 = 500;
/// The output buffer is handed to the writer once it holds this many bytes.
pub const EXPORT_FLUSH_BYTES: usize = 64 * 1024;

/// One page of a section: its items and the cursor after the last one (`None` when the
/// section is exhausted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SectionPage {
    pub items: Vec<serde_json::Value>,
    pub next: Option<String>,
}

/// A section of the bundle: a named array filled page by page.
///
/// The account's own sections read the [`GdprStore`](crate::store::GdprStore) export pages;
/// `consents` and `audit_events` read the consent and audit stores
/// ([`export_records`](super::export_records)). A host adding data of its own to the bundle
/// implements this trait.
#[async_trait::async_trait]
pub trait ExportSection: Send + Sync {
    /// The key of the array in the bundle.
    fn name(&self) -> &str;
    /// Up to `limit` items of `account` after `after` (a cursor this section returned).
    async fn page(&self, store: &dyn Store, account: AccountId, after: Option<&str>, limit: u32)
    -> Result<SectionPage>;
}

/// The sections of a version-1 bundle, in order.
pub fn default_sections() -> Vec<Arc<dyn ExportSection>> {
    vec![
        Arc::new(ApiKeysSection),
        Arc::new(super::export_records::ConsentsSection),
        Arc::new(ExperimentsSection),
        Arc::new(RunsSection),
        Arc::new(SamplesSection),
        Arc::new(super::export_records::AuditEventsSection),
    ]
}

fn to_value<T: Serialize>(value: &T, what: &str) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("cannot serialize {what} for export: {e}")))
}

fn parse_uuid(cursor: &str, section: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(cursor).map_err(|_| Error::Internal(format!("bad {section} export cursor {cursor:?}")))
}

/// API keys: metadata only ([`ApiKey`] has no hash and no secret).
struct ApiKeysSection;

#[async_trait::async_trait]
impl ExportSection for ApiKeysSection {
    fn name(&self) -> &str {
        "api_keys"
    }

    async fn page(
        &self,
        store: &dyn Store,
        account: AccountId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SectionPage> {
        let after = after.map(|c| parse_uuid(c, "api_keys").map(ApiKeyId)).transpose()?;
        let keys: Vec<ApiKey> = store.export_api_keys(account, after, limit).await?;
        let next = (keys.len() == limit as usize)
            .then(|| keys.last().map(|k| k.id.0.to_string()))
            .flatten();
        Ok(SectionPage {
            items: keys.iter().map(|k| to_value(k, "API key")).collect::<Result<_>>()?,
            next,
        })
    }
}

#[derive(Serialize)]
struct ExportedExperiment<'a> {
    #[serde(flatten)]
    experiment: &'a crate::model::Experiment,
    schedule: Option<ExportedSchedule<'a>>,
}

#[derive(Serialize)]
struct ExportedSchedule<'a> {
    kind: &'static str,
    expr: &'a str,
    next_run_at: Option<DateTime<Utc>>,
}

struct ExperimentsSection;

#[async_trait::async_trait]
impl ExportSection for ExperimentsSection {
    fn name(&self) -> &str {
        "experiments"
    }

    async fn page(
        &self,
        store: &dyn Store,
        account: AccountId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SectionPage> {
        let after = after
            .map(|c| parse_uuid(c, "experiments").map(ExperimentId))
            .transpose()?;
        let page = store.export_experiments(account, after, limit).await?;
        let next = (page.len() == limit as usize)
            .then(|| page.last().map(|e| e.experiment.id.0.to_string()))
            .flatten();
        let items = page
            .iter()
            .map(|e| {
                let schedule = match (e.schedule_kind, e.schedule_expr.as_deref()) {
                    (Some(kind), Some(expr)) => Some(ExportedSchedule {
                        kind: kind.as_str(),
                        expr,
                        next_run_at: e.next_run_at,
                    }),
                    _ => None,
                };
                to_value(
                    &ExportedExperiment {
                        experiment: &e.experiment,
                        schedule,
                    },
                    "experiment",
                )
            })
            .collect::<Result<_>>()?;
        Ok(SectionPage { items, next })
    }
}

struct RunsSection;

#[async_trait::async_trait]
impl ExportSection for RunsSection {
    fn name(&self) -> &str {
        "runs"
    }

    async fn page(
        &self,
        store: &dyn Store,
        account: AccountId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SectionPage> {
        let after = after.map(|c| parse_uuid(c, "runs").map(RunId)).transpose()?;
        let runs = store.export_runs(account, after, limit).await?;
        let next = (runs.len() == limit as usize)
            .then(|| runs.last().map(|r| r.id.0.to_string()))
            .flatten();
        Ok(SectionPage {
            items: runs.iter().map(|r| to_value(r, "run")).collect::<Result<_>>()?,
            next,
        })
    }
}

/// Position in the samples section: a run, and the last sample key written of it.
#[derive(Serialize, Deserialize)]
struct SamplesCursor {
    run: RunId,
    key: Option<SampleKey>,
}

#[derive(Serialize)]
struct ExportedSample<'a> {
    #[serde(flatten)]
    sample: &'a crate::model::Sample,
    raw_response: Option<&'a str>,
    mentions: &'a [crate::model::Mention],
    citations: &'a [crate::model::Citation],
}

/// Samples run by run (runs in id order), each run's in natural-key order.
struct SamplesSection;

impl SamplesSection {
    async fn run_after(store: &dyn Store, account: AccountId, after: Option<RunId>) -> Result<Option<RunId>> {
        Ok(store.export_runs(account, after, 1).await?.first().map(|r| r.id))
    }
}

#[async_trait::async_trait]
impl ExportSection for SamplesSection {
    fn name(&self) -> &str {
        "samples"
    }

    async fn page(
        &self,
        store: &dyn Store,
        account: AccountId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<SectionPage> {
        let (mut run, mut key) = match after {
            Some(c) => {
                let cursor: SamplesCursor =
                    serde_json::from_str(c).map_err(|e| Error::Internal(format!("bad samples export cursor: {e}")))?;
                (Some(cursor.run), cursor.key)
            }
            None => (Self::run_after(store, account, None).await?, None),
        };
        while let Some(run_id) = run {
            let page: Vec<SampleExport> = store.export_samples(account, run_id, key.as_ref(), limit).await?;
            let Some(last) = page.last() else {
                run = Self::run_after(store, account, Some(run_id)).await?;
                key = None;
                continue;
            };
            let cursor = SamplesCursor {
                run: run_id,
                key: Some(SampleKey {
                    target: last.record.sample.target.clone(),
                    prompt_index: last.record.sample.prompt_index,
                    repeat_index: last.record.sample.repeat_index,
                }),
            };
            let items = page
                .iter()
                .map(|s| {
                    to_value(
                        &ExportedSample {
                            sample: &s.record.sample,
                            raw_response: s.raw_response.as_deref(),
                            mentions: &s.record.mentions,
                            citations: &s.record.citations,
                        },
                        "sample",
                    )
                })
                .collect::<Result<_>>()?;
            return Ok(SectionPage {
                items,
                next: Some(serde_json::to_string(&cursor).map_err(|e| Error::Internal(e.to_string()))?),
            });
        }
        Ok(SectionPage::default())
    }
}

/// The `account` object of the bundle.
#[derive(Serialize)]
struct ExportedAccount<'a> {
    #[serde(flatten)]
    account: &'a crate::model::Account,
    status: &'static str,
    deletion_requested_at: Option<DateTime<Utc>>,
    deletion_requests: &'a [DeletionRecord],
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSummary {
    pub account_id: AccountId,
    pub exported_at: DateTime<Utc>,
    /// Bytes handed to the writer.
    pub bytes: u64,
    /// Items written per section.
    pub counts: BTreeMap<String, u64>,
}

/// Buffers JSON text and hands it to the writer in chunks of about
/// [`EXPORT_FLUSH_BYTES`]: many small writes would cost a syscall each on a file or socket,
/// one big write would hold the whole bundle in memory.
struct Out<W> {
    writer: W,
    buf: Vec<u8>,
    bytes: u64,
}

impl<W: AsyncWrite + Unpin + Send> Out<W> {
    fn push(&mut self, text: &[u8]) {
        self.buf.extend_from_slice(text);
    }

    fn push_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        serde_json::to_writer(&mut self.buf, value)
            .map_err(|e| Error::Internal(format!("cannot serialize export item: {e}")))
    }

    async fn maybe_flush(&mut self) -> Result<()> {
        if self.buf.len() >= EXPORT_FLUSH_BYTES {
            self.drain().await?;
        }
        Ok(())
    }

    async fn drain(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.writer.write_all(&self.buf).await.map_err(write_error)?;
            self.bytes += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}

/// A failed write of the bundle: an I/O failure of the output, classified as storage.
/// The bundle is then incomplete, and not valid JSON (the closing fields are missing).
fn write_error(e: std::io::Error) -> Error {
    tracing::warn!(error = %e, "writing the account export failed; the bundle is incomplete");
    Error::Storage(sqlx::Error::Io(e))
}

/// Writes the bundle of `state`'s account to `writer`, section by section, and flushes it.
pub async fn write_bundle<W: AsyncWrite + Unpin + Send>(
    store: &dyn Store,
    state: &AccountState,
    sections: &[Arc<dyn ExportSection>],
    now: DateTime<Utc>,
    writer: W,
) -> Result<ExportSummary> {
    let account = state.account.id;
    let requests = store.deletion_requests(account).await?;
    let mut out = Out {
        writer,
        buf: Vec::with_capacity(EXPORT_FLUSH_BYTES * 2),
        bytes: 0,
    };
    out.push(b"{\"format\":");
    out.push_json(EXPORT_FORMAT)?;
    out.push(b",\"version\":");
    out.push_json(&EXPORT_VERSION)?;
    out.push(b",\"exported_at\":");
    out.push_json(&now)?;
    out.push(b",\"account\":");
    out.push_json(&ExportedAccount {
        account: &state.account,
        status: state.status.as_str(),
        deletion_requested_at: state.deletion_requested_at,
        deletion_requests: &requests,
    })?;
    let mut counts = BTreeMap::new();
    for section in sections {
        out.push(b",");
        out.push_json(section.name())?;
        out.push(b":[");
        let mut cursor: Option<String> = None;
        let mut n = 0u64;
        loop {
            let page = section.page(store, account, cursor.as_deref(), EXPORT_PAGE).await?;
            for item in &page.items {
                if n > 0 {
                    out.push(b",");
                }
                out.push_json(item)?;
                n += 1;
                out.maybe_flush().await?;
            }
            match page.next {
                Some(next) if !page.items.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        out.push(b"]");
        counts.insert(section.name().to_string(), n);
    }
    out.push(b",\"counts\":");
    out.push_json(&counts)?;
    out.push(b",\"complete\":true}\n");
    out.drain().await?;
    out.writer.flush().await.map_err(write_error)?;
    Ok(ExportSummary {
        account_id: account,
        exported_at: now,
        bytes: out.bytes,
        counts,
    })
}
