//! Turning answers into numbers: the brand catalog, the dictionary extractor, answer
//! structure (lists, rank) and metrics with confidence intervals.

mod catalog;
mod extractor;
mod metrics;
mod stats;

pub use catalog::BrandCatalog;
pub use extractor::{DictionaryExtractor, Extractor};
pub use metrics::build_report;
pub use stats::wilson_interval;
