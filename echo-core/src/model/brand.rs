//! Brands as the user describes them; compiled into a
//! [`BrandCatalog`](crate::analysis::BrandCatalog) for extraction.

use serde::{Deserialize, Serialize};

/// How letter case decides whether a surface form in an answer is this brand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseRule {
    /// Case-insensitive, except that a name or alias that is an ordinary lowercase word
    /// when lowercased ("Close", "Notion", "Monday", "Apple") must appear with its
    /// capitalisation; all-caps short aliases ("LI", "HP") are always matched exactly.
    /// The sensible default for most catalogs.
    #[default]
    Auto,
    /// Every surface form must match exactly as written.
    Sensitive,
    /// Any capitalisation matches.
    Insensitive,
}

/// Whether a brand is one the user measures (their own) or a competitor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrandRole {
    /// The user's own brand: the one the experiment is about. At least one is required.
    Target,
    /// A competitor tracked for share of voice and rank.
    #[default]
    Competitor,
}

/// A brand: canonical name, aliases, web domains and a case rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandSpec {
    /// Canonical name, as reported ("HubSpot").
    pub name: String,
    /// Other surface forms that mean this brand ("HubSpot CRM", "Hubspot").
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Web domains that identify the brand in text and in citations ("hubspot.com").
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub case: CaseRule,
    #[serde(default)]
    pub role: BrandRole,
}

impl BrandSpec {
    /// A competitor brand with only a canonical name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            aliases: Vec::new(),
            domains: Vec::new(),
            case: CaseRule::Auto,
            role: BrandRole::Competitor,
        }
    }

    /// The user's own brand.
    pub fn target(name: impl Into<String>) -> Self {
        Self {
            role: BrandRole::Target,
            ..Self::new(name)
        }
    }

    /// Adds aliases.
    pub fn aliases<I, S>(mut self, aliases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.aliases.extend(aliases.into_iter().map(Into::into));
        self
    }

    /// Adds domains.
    pub fn domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.domains.extend(domains.into_iter().map(Into::into));
        self
    }

    /// Sets the case rule.
    pub fn case(mut self, case: CaseRule) -> Self {
        self.case = case;
        self
    }
}
