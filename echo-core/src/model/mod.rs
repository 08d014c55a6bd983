//! Plain data types shared by every layer: ids, accounts, experiments, runs, samples,
//! mentions, citations and reports. They are `serde` types with no behaviour beyond
//! validation, so bindings and stores can move them freely.

mod account;
mod adaptive;
mod brand;
mod experiment;
mod ids;
mod mention;
mod report;
mod run;

pub use account::{Account, NewAccount};
pub use adaptive::{AdaptiveOptions, AdaptiveState, AdaptiveSummary, AdaptiveTargetSummary, GoalBrands};
pub use brand::{BrandRole, BrandSpec, CaseRule};
pub use experiment::{Experiment, ExperimentSpec, MAX_PROMPT_BYTES, MAX_SAMPLES_PER_RUN, Page, PageRequest, Target};
pub use ids::{AccountId, ApiKeyId, ExperimentId, ReservationId, RunId, SampleId};
pub use mention::{Citation, Mention, domain_of};
pub use report::{
    BrandMetrics, ClusteredInterval, CostSummary, DomainShare, Interval, Proportion, Report, ReportGroup,
};
pub use run::{Run, RunStatus, Sample, SampleCounts, SampleRecord, SampleStatus, SampleTask};
