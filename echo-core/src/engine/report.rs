//! Building a run's report from what the store holds.

use chrono::{DateTime, Utc};

use crate::Result;
use crate::analysis::{BrandCatalog, Extractor, build_report};
use crate::model::{Report, Run};
use crate::store::Store;

/// The report of `run` from its stored samples and mentions.
pub(crate) async fn build(store: &dyn Store, run: &Run, catalog: &BrandCatalog, now: DateTime<Utc>) -> Result<Report> {
    let counts = store.sample_counts(run.account_id, run.id).await?;
    let records = store.load_samples(run.account_id, run.id).await?;
    let mut report = build_report(run, counts, &records, catalog, now);
    report.adaptive = super::adaptive::summary(store, run).await?;
    Ok(report)
}

/// The report of `run` recomputed from its stored answers with another extractor (a
/// changed catalog): no provider is called. Samples whose answer text was already erased
/// by retention keep their stored mentions of brands the new catalog still tracks
/// (re-ranked in their original order), since there is no text left to search.
pub(crate) async fn reanalyze(
    store: &dyn Store,
    run: &Run,
    extractor: &dyn Extractor,
    now: DateTime<Utc>,
) -> Result<Report> {
    let counts = store.sample_counts(run.account_id, run.id).await?;
    let mut records = store.load_samples(run.account_id, run.id).await?;
    for record in &mut records {
        match &record.sample.raw_answer {
            Some(answer) => record.mentions = extractor.extract(answer),
            None => {
                let catalog = extractor.catalog();
                record
                    .mentions
                    .retain(|m| catalog.brands().iter().any(|b| b.name == m.brand));
                for (i, m) in record.mentions.iter_mut().enumerate() {
                    m.rank = i as u32 + 1;
                }
            }
        }
    }
    let mut report = build_report(run, counts, &records, extractor.catalog(), now);
    report.adaptive = super::adaptive::summary(store, run).await?;
    Ok(report)
}
