//! Report computation from stored samples. Formulas: `docs/metrics.md`.

use chrono::{DateTime, Utc};

use crate::model::{Report, Run, SampleCounts, SampleRecord};

use super::BrandCatalog;

/// Computes the report of `run` from its sample records. `records` carry the mentions to
/// count (stored ones, or fresh ones from re-analysis with another catalog).
pub fn build_report(
    run: &Run,
    counts: SampleCounts,
    records: &[SampleRecord],
    catalog: &BrandCatalog,
    now: DateTime<Utc>,
) -> Report {
    let _ = (run, counts, records, catalog, now);
    todo!()
}
