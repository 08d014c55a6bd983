//! Everything one run's execution needs, shared by its sample tasks.

use std::sync::Arc;

use crate::analysis::Extractor;
use crate::clock::Clock;
use crate::model::Run;
use crate::store::Store;

use super::{EngineConfig, ProviderRegistry};

/// Shared, read-only state of one run's execution.
#[derive(Debug)]
pub(crate) struct RunContext {
    pub store: Arc<dyn Store>,
    pub providers: Arc<ProviderRegistry>,
    pub clock: Arc<dyn Clock>,
    pub config: EngineConfig,
    pub run: Run,
    pub extractor: Arc<dyn Extractor>,
    /// Provider calls in flight at most.
    pub concurrency: usize,
    /// Lease owner id of this execution.
    pub owner: String,
}
