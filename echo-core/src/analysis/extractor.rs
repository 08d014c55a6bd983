//! Finding brand mentions in answers.

use crate::Result;
use crate::model::Mention;

use super::BrandCatalog;

/// Finds tracked brands in an answer. Implementations must be deterministic.
pub trait Extractor: Send + Sync + std::fmt::Debug {
    /// The catalog this extractor finds.
    fn catalog(&self) -> &BrandCatalog;
    /// Mentions in order of first appearance (rank 1 first), one per brand.
    fn extract(&self, answer: &str) -> Vec<Mention>;
}

/// The default extractor: one Aho-Corasick automaton over every surface form.
#[derive(Debug, Clone)]
pub struct DictionaryExtractor {
    catalog: BrandCatalog,
}

impl DictionaryExtractor {
    /// Compiles the catalog.
    pub fn new(catalog: BrandCatalog) -> Result<Self> {
        Ok(Self { catalog })
    }
}

impl Extractor for DictionaryExtractor {
    fn catalog(&self) -> &BrandCatalog {
        &self.catalog
    }
    fn extract(&self, _answer: &str) -> Vec<Mention> {
        todo!()
    }
}
