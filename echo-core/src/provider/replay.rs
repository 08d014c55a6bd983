//! Recorded answers served from a JSONL file.
//!
//! [`Replay`] lets Echo run offline on real answers captured earlier: the quickstart ships a
//! small corpus, and a spec can target `openai/gpt-4o-mini` served from recordings
//! ([`Replay::for_provider`]). It reports [`Provider::is_replay`] so reports can say plainly
//! that the answers were replayed, not asked live.
//!
//! Corpus format: one JSON object per line, blank lines ignored:
//!
//! ```json
//! {"provider":"openai","model":"gpt-4o-mini","prompt":"Best CRM?","answer":"1. **HubSpot** ...",
//!  "citations":[{"url":"https://www.g2.com/categories/crm","title":"Best CRM Software"}]}
//! ```
//!
//! A citation's `domain` may be omitted; it is derived from the URL.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize};

use super::{ChatRequest, ChatResponse, LlmError, Provider, ProviderLimits};
use crate::model::{Citation, domain_of};
use crate::{Error, Result};

/// One recorded answer: a line of the JSONL corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRecord {
    pub provider: String,
    pub model: String,
    pub prompt: String,
    pub answer: String,
    #[serde(default, deserialize_with = "recorded_citations")]
    pub citations: Vec<Citation>,
}

impl ReplayRecord {
    /// A record without citations.
    pub fn new(
        provider: impl Into<String>,
        model: impl Into<String>,
        prompt: impl Into<String>,
        answer: impl Into<String>,
    ) -> Self {
        Self {
            provider: provider.into(),
            model: model.into(),
            prompt: prompt.into(),
            answer: answer.into(),
            citations: Vec::new(),
        }
    }

    /// Adds a citation (domain derived from the URL).
    pub fn citation(mut self, url: impl Into<String>, title: Option<String>) -> Self {
        self.citations.push(Citation::from_url(url, title));
        self
    }
}

/// A citation as written in a corpus: only `url` is required.
#[derive(Deserialize)]
struct RecordedCitation {
    url: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    cited_text: Option<String>,
}

fn recorded_citations<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Vec<Citation>, D::Error> {
    let recorded = Option::<Vec<RecordedCitation>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(recorded
        .into_iter()
        .map(|c| {
            let domain = match c.domain {
                Some(d) if !d.trim().is_empty() => domain_of(&d),
                _ => domain_of(&c.url),
            };
            Citation {
                url: c.url,
                domain,
                title: c.title,
                cited_text: c.cited_text,
            }
        })
        .collect())
}

/// The recordings for one (model, prompt), served in turn.
#[derive(Debug)]
struct Slot {
    records: Vec<usize>,
    /// Round-robin position for requests without a seed.
    next: AtomicU64,
}

/// Serves recorded answers.
#[derive(Debug, Clone)]
pub struct Replay {
    id: String,
    records: Arc<Vec<ReplayRecord>>,
    /// (model, trimmed prompt) → the records answering it.
    slots: Arc<HashMap<(String, String), Slot>>,
}

impl Replay {
    /// A provider with id `id` serving `records`. Errors if there are none or one has a
    /// blank provider, model or prompt (field `records[i].model`, ...).
    pub fn from_records(id: impl Into<String>, records: Vec<ReplayRecord>) -> crate::Result<Self> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(Error::invalid("id", "the provider id is blank; use e.g. \"replay\""));
        }
        if records.is_empty() {
            return Err(Error::invalid(
                "records",
                "no recorded answers; a replay provider needs at least one",
            ));
        }
        for (i, r) in records.iter().enumerate() {
            check_record(r).map_err(|(field, message)| Error::invalid(format!("records[{i}].{field}"), message))?;
        }
        Ok(Self::index(id, records))
    }

    /// Reads a JSONL corpus; the provider's id is `replay`. A malformed line is an
    /// `InvalidInput` error with field `corpus:<path>:<line>`; an unreadable file is a
    /// `Config` error; a corpus without records is an error too.
    pub fn from_jsonl(path: impl AsRef<Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let records = read_corpus(path)?;
        Ok(Self::index("replay".to_string(), records))
    }

    /// Reads a JSONL corpus keeping only the records whose `provider` is `provider_id`,
    /// and serves them under that id — so a target such as `openai/gpt-4o-mini` can be
    /// answered from recordings.
    pub fn for_provider(path: impl AsRef<Path>, provider_id: &str) -> crate::Result<Self> {
        let path = path.as_ref();
        let records = read_corpus(path)?;
        let mut providers: Vec<&str> = records.iter().map(|r| r.provider.as_str()).collect();
        providers.sort_unstable();
        providers.dedup();
        let providers = providers.join(", ");
        let kept: Vec<ReplayRecord> = records.iter().filter(|r| r.provider == provider_id).cloned().collect();
        if kept.is_empty() {
            return Err(Error::invalid(
                format!("corpus:{}", path.display()),
                format!("no records for provider {provider_id:?}; the file has records for: {providers}"),
            ));
        }
        Ok(Self::index(provider_id.to_string(), kept))
    }

    /// The same recordings under another provider id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The recordings served.
    pub fn records(&self) -> &[ReplayRecord] {
        &self.records
    }

    fn index(id: String, records: Vec<ReplayRecord>) -> Self {
        let mut slots: HashMap<(String, String), Slot> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            slots
                .entry((r.model.clone(), r.prompt.trim().to_string()))
                .or_insert_with(|| Slot {
                    records: Vec::new(),
                    next: AtomicU64::new(0),
                })
                .records
                .push(i);
        }
        Self {
            id,
            records: Arc::new(records),
            slots: Arc::new(slots),
        }
    }

    fn no_match(&self, request: &ChatRequest) -> LlmError {
        let for_model: Vec<&ReplayRecord> = self.records.iter().filter(|r| r.model == request.model).collect();
        let hint = if for_model.is_empty() {
            let mut models: Vec<&str> = self.records.iter().map(|r| r.model.as_str()).collect();
            models.sort_unstable();
            models.dedup();
            format!(
                "there are no records for this model (recorded models: {})",
                models.join(", ")
            )
        } else {
            let mut prompts: Vec<&str> = for_model.iter().map(|r| r.prompt.trim()).collect();
            prompts.sort_unstable();
            prompts.dedup();
            let shown: Vec<String> = prompts.iter().take(3).map(|p| format!("{p:?}")).collect();
            format!(
                "{} records exist for this model, for {} prompt(s) such as {}; prompts must match exactly",
                for_model.len(),
                prompts.len(),
                shown.join(", ")
            )
        };
        LlmError::InvalidRequest(format!(
            "replay provider {:?} has no recorded answer for model {:?} and prompt {:?}: {hint}",
            self.id,
            request.model,
            request.prompt().trim()
        ))
    }
}

/// Checks one record's required fields; returns (field, message) on failure.
fn check_record(r: &ReplayRecord) -> std::result::Result<(), (&'static str, String)> {
    for (field, value) in [("provider", &r.provider), ("model", &r.model), ("prompt", &r.prompt)] {
        if value.trim().is_empty() {
            return Err((field, format!("{field} is blank")));
        }
    }
    Ok(())
}

fn read_corpus(path: &Path) -> Result<Vec<ReplayRecord>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read replay corpus {}: {e}", path.display())))?;
    let mut records = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let field = || format!("corpus:{}:{}", path.display(), n + 1);
        let record: ReplayRecord = serde_json::from_str(line).map_err(|e| {
            Error::invalid(
                field(),
                format!(
                    "not a replay record ({e}); each line must be one JSON object with \
                     provider, model, prompt, answer and optional citations"
                ),
            )
        })?;
        check_record(&record).map_err(|(_, message)| Error::invalid(field(), message))?;
        records.push(record);
    }
    if records.is_empty() {
        return Err(Error::invalid(
            format!("corpus:{}", path.display()),
            "the corpus holds no records; add one JSON object per line",
        ));
    }
    Ok(records)
}

#[async_trait::async_trait]
impl Provider for Replay {
    fn id(&self) -> &str {
        &self.id
    }

    /// Answers come from memory, so concurrency is limited only by the engine.
    fn limits(&self) -> ProviderLimits {
        ProviderLimits {
            max_concurrency: 64,
            requests_per_minute: None,
        }
    }

    fn is_replay(&self) -> bool {
        true
    }

    /// The recording for (model, trimmed prompt): with a seed, record `seed % n` (so a
    /// sample always gets the same recording); without, the next one in turn.
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let key = (request.model.clone(), request.prompt().trim().to_string());
        let Some(slot) = self.slots.get(&key) else {
            return Err(self.no_match(request));
        };
        let n = slot.records.len() as u64;
        let pick = match request.seed {
            Some(seed) => seed % n,
            None => slot.next.fetch_add(1, Ordering::Relaxed) % n,
        };
        // `pick < n`, so the index is in range.
        let record = &self.records[slot.records[pick as usize]];
        let mut response = ChatResponse::text(record.answer.clone());
        response.citations = record.citations.clone();
        response.served_model = Some(record.model.clone());
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::ErrorKind;

    const Q1: &str = "Best CRM?";

    fn corpus(lines: &[&str]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        f
    }

    fn sample_corpus() -> tempfile::NamedTempFile {
        corpus(&[
            r#"{"provider":"openai","model":"gpt-4o-mini","prompt":"Best CRM?","answer":"A1 HubSpot","citations":[{"url":"https://www.G2.com/x","title":"G2"}]}"#,
            "",
            r#"{"provider":"openai","model":"gpt-4o-mini","prompt":"  Best CRM?  ","answer":"A2 Pipedrive"}"#,
            r#"{"provider":"openai","model":"gpt-4o-mini","prompt":"Best CRM?","answer":"A3 Attio","citations":null}"#,
            r#"{"provider":"anthropic","model":"claude-3-5-haiku","prompt":"Best CRM?","answer":"B1","citations":[{"url":"https://a.example/p","domain":"www.Example.org","cited_text":"x"}]}"#,
        ])
    }

    #[tokio::test]
    async fn parses_records_and_derives_citation_domains() {
        let file = sample_corpus();
        let replay = Replay::from_jsonl(file.path()).unwrap();
        assert_eq!(replay.id(), "replay");
        assert!(replay.is_replay());
        assert_eq!(replay.records().len(), 4);
        let first = &replay.records()[0];
        assert_eq!(
            first.citations,
            vec![Citation::from_url("https://www.G2.com/x", Some("G2".into()))]
        );
        assert_eq!(first.citations[0].domain, "g2.com");
        assert!(replay.records()[2].citations.is_empty());
        let explicit = &replay.records()[3].citations[0];
        assert_eq!(explicit.domain, "example.org");
        assert_eq!(explicit.cited_text.as_deref(), Some("x"));

        let req = ChatRequest {
            seed: Some(0),
            ..ChatRequest::new("gpt-4o-mini", Q1)
        };
        let resp = replay.complete(&req).await.unwrap();
        assert_eq!(resp.text, "A1 HubSpot");
        assert_eq!(resp.served_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(resp.finish_reason, Some(super::super::FinishReason::Stop));
        assert_eq!(resp.usage, super::super::Usage::default());
        assert_eq!(resp.latency, std::time::Duration::ZERO);
        assert_eq!(resp.citations.len(), 1);
    }

    #[test]
    fn malformed_lines_are_reported_with_file_and_line() {
        let file = corpus(&[
            r#"{"provider":"openai","model":"m","prompt":"p","answer":"a"}"#,
            r#"{"provider":"openai","model":"m","prompt":"p""#,
        ]);
        let err = Replay::from_jsonl(file.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.field().unwrap(), format!("corpus:{}:2", file.path().display()));

        let missing_answer = corpus(&["", r#"{"provider":"openai","model":"m","prompt":"p"}"#]);
        let err = Replay::from_jsonl(missing_answer.path()).unwrap_err();
        assert_eq!(
            err.field().unwrap(),
            format!("corpus:{}:2", missing_answer.path().display())
        );
        assert!(err.to_string().contains("answer"), "{err}");

        let blank_model = corpus(&[r#"{"provider":"openai","model":" ","prompt":"p","answer":"a"}"#]);
        let err = Replay::from_jsonl(blank_model.path()).unwrap_err();
        assert_eq!(
            err.field().unwrap(),
            format!("corpus:{}:1", blank_model.path().display())
        );

        let empty = corpus(&["", "   "]);
        let err = Replay::from_jsonl(empty.path()).unwrap_err();
        assert_eq!(err.field().unwrap(), format!("corpus:{}", empty.path().display()));

        let err = Replay::from_jsonl("/nonexistent/echo/corpus.jsonl").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("/nonexistent/echo/corpus.jsonl"));
    }

    #[test]
    fn from_records_validates() {
        assert_eq!(Replay::from_records("r", vec![]).unwrap_err().field(), Some("records"));
        let bad = vec![
            ReplayRecord::new("p", "m", "q", "a"),
            ReplayRecord::new("p", "m", "", "a"),
        ];
        assert_eq!(
            Replay::from_records("r", bad).unwrap_err().field(),
            Some("records[1].prompt")
        );
        assert_eq!(
            Replay::from_records(" ", vec![ReplayRecord::new("p", "m", "q", "a")])
                .unwrap_err()
                .field(),
            Some("id")
        );
        let ok = Replay::from_records("r", vec![ReplayRecord::new("p", "m", "q", "a")])
            .unwrap()
            .with_id("other");
        assert_eq!(ok.id(), "other");
    }

    #[tokio::test]
    async fn selection_is_deterministic_by_seed_and_round_robin_without() {
        let file = sample_corpus();
        let replay = Replay::from_jsonl(file.path()).unwrap();
        let answer = |seed: Option<u64>| {
            let replay = replay.clone();
            async move {
                let req = ChatRequest {
                    seed,
                    ..ChatRequest::new("gpt-4o-mini", format!(" {Q1}\n"))
                };
                replay.complete(&req).await.unwrap().text
            }
        };
        for seed in 0..9u64 {
            let expected = ["A1 HubSpot", "A2 Pipedrive", "A3 Attio"][(seed % 3) as usize];
            assert_eq!(answer(Some(seed)).await, expected);
            assert_eq!(answer(Some(seed)).await, expected, "same seed, same record");
        }
        let turns = [
            answer(None).await,
            answer(None).await,
            answer(None).await,
            answer(None).await,
        ];
        assert_eq!(turns, ["A1 HubSpot", "A2 Pipedrive", "A3 Attio", "A1 HubSpot"]);
    }

    #[tokio::test]
    async fn unknown_model_or_prompt_is_an_invalid_request() {
        let file = sample_corpus();
        let replay = Replay::from_jsonl(file.path()).unwrap();
        let err = replay
            .complete(&ChatRequest::new("gpt-4o-mini", "Another question?"))
            .await
            .unwrap_err();
        let LlmError::InvalidRequest(message) = &err else {
            panic!("{err:?}")
        };
        assert!(message.contains("no recorded answer"), "{message}");
        assert!(message.contains("3 records exist for this model"), "{message}");
        assert!(!err.is_transient());

        let err = replay.complete(&ChatRequest::new("gpt-5", Q1)).await.unwrap_err();
        let LlmError::InvalidRequest(message) = &err else {
            panic!("{err:?}")
        };
        assert!(message.contains("no records for this model"), "{message}");
        assert!(message.contains("claude-3-5-haiku, gpt-4o-mini"), "{message}");
    }

    #[tokio::test]
    async fn for_provider_keeps_only_that_providers_records() {
        let file = sample_corpus();
        let anthropic = Replay::for_provider(file.path(), "anthropic").unwrap();
        assert_eq!(anthropic.id(), "anthropic");
        assert!(anthropic.is_replay());
        assert_eq!(anthropic.records().len(), 1);
        let resp = anthropic
            .complete(&ChatRequest::new("claude-3-5-haiku", Q1))
            .await
            .unwrap();
        assert_eq!(resp.text, "B1");
        assert!(anthropic.complete(&ChatRequest::new("gpt-4o-mini", Q1)).await.is_err());

        let err = Replay::for_provider(file.path(), "gemini").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("anthropic, openai"), "{err}");
    }

    /// The corpus shipped for the offline quickstart parses and covers every prompt × model.
    #[tokio::test]
    async fn the_quickstart_corpus_is_valid() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/quickstart_corpus.jsonl");
        let replay = Replay::from_jsonl(path).unwrap();
        let prompts = [
            "What is the best CRM for a 10-person startup?",
            "Which CRM would you recommend for a B2B sales team that lives in Gmail?",
        ];
        for (provider, model) in [("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku")] {
            let served = Replay::for_provider(path, provider).unwrap();
            for prompt in prompts {
                let n = replay
                    .records()
                    .iter()
                    .filter(|r| r.model == model && r.prompt == prompt)
                    .count();
                assert!(n >= 6, "{model} has {n} answers to {prompt:?}");
                let req = ChatRequest {
                    seed: Some(3),
                    ..ChatRequest::new(model, prompt)
                };
                assert!(!served.complete(&req).await.unwrap().text.is_empty());
            }
        }
        assert!(replay.records().iter().any(|r| !r.citations.is_empty()));
    }

    #[test]
    fn records_round_trip_through_json() {
        let record = ReplayRecord::new("openai", "m", "q", "a").citation("https://www.hubspot.com/", None);
        let line = serde_json::to_string(&record).unwrap();
        let back: ReplayRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, record);
    }
}
