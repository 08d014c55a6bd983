//! Everything one run's execution needs, shared by its sample tasks.

use std::sync::Arc;

use crate::analysis::Extractor;
use crate::clock::Clock;
use crate::model::{Run, Target};
use crate::provider::{PricingTable, Usage};
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
    pub pricing: Arc<PricingTable>,
    /// The account's PII redactor when it redacts answers (`PrivacySettings::redact_pii`).
    pub redactor: Option<Arc<crate::privacy::Redactor>>,
}

impl RunContext {
    /// The cost of one answer: priced by the model that served it when the table knows
    /// it (a dated snapshot may be priced differently), else by the requested model.
    pub fn cost_of(&self, target: &Target, served_model: Option<&str>, usage: &Usage) -> Option<f64> {
        served_model
            .and_then(|served| self.pricing.cost(&target.provider, served, usage))
            .or_else(|| self.pricing.cost(&target.provider, &target.model, usage))
    }
}
