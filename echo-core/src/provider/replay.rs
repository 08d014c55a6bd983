//! Recorded answers served from a JSONL file.

use serde::{Deserialize, Serialize};

use super::{ChatRequest, ChatResponse, LlmError, Provider};
use crate::model::Citation;

/// One recorded answer: a line of the JSONL corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRecord {
    pub provider: String,
    pub model: String,
    pub prompt: String,
    pub answer: String,
    #[serde(default)]
    pub citations: Vec<Citation>,
}

/// Serves recorded answers.
#[derive(Debug, Clone)]
pub struct Replay {
    id: String,
    records: Vec<ReplayRecord>,
}

impl Replay {
    pub fn from_records(id: impl Into<String>, records: Vec<ReplayRecord>) -> crate::Result<Self> {
        Ok(Self { id: id.into(), records })
    }
}

#[async_trait::async_trait]
impl Provider for Replay {
    fn id(&self) -> &str {
        &self.id
    }
    fn is_replay(&self) -> bool {
        true
    }
    async fn complete(&self, _request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let _ = &self.records;
        todo!()
    }
}
