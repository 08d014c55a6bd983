//! Configuration of the simulated provider: the market it answers about (brands with their
//! true mention probabilities), how slow and how unreliable it is.
//!
//! Everything here is plain data with a builder-style API; [`SimulatedConfig::validate`]
//! checks it once, when the provider is built, so a bad probability is reported with the
//! field that holds it instead of silently skewing a study.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use rand_distr::StandardNormal;

use crate::model::BrandSpec;
use crate::{Error, Result};

/// How one brand behaves in simulated answers.
#[derive(Debug, Clone, PartialEq)]
pub struct BrandBehavior {
    /// Canonical name as it appears in answers.
    pub name: String,
    /// Probability that an answer names the brand (the true visibility).
    pub mention_probability: f64,
    /// Relative tendency to be listed early (higher = earlier).
    pub rank_weight: f64,
    /// Other surface forms sometimes used in text ("HubSpot CRM").
    pub aliases: Vec<String>,
    /// The brand's domain, sometimes written in text and used for citations.
    pub domain: Option<String>,
}

impl BrandBehavior {
    /// A brand named with probability `mention_probability` in every answer, rank weight 1,
    /// no aliases and no domain.
    pub fn new(name: impl Into<String>, mention_probability: f64) -> Self {
        Self {
            name: name.into(),
            mention_probability,
            rank_weight: 1.0,
            aliases: Vec::new(),
            domain: None,
        }
    }

    /// Sets the Plackett–Luce weight: among the brands an answer names, this one comes first
    /// with probability `weight / sum of weights`.
    pub fn rank_weight(mut self, weight: f64) -> Self {
        self.rank_weight = weight;
        self
    }

    /// Adds aliases, used instead of the name in about one first mention in five.
    pub fn aliases<I, S>(mut self, aliases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.aliases.extend(aliases.into_iter().map(Into::into));
        self
    }

    /// Sets the brand's domain ("hubspot.com").
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Every form under which the brand can appear in an answer: name, aliases, domain.
    pub fn surface_forms(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .chain(self.domain.as_deref())
    }

    /// The matching catalog entry, so an extractor looks for exactly what the simulator writes.
    pub fn to_brand_spec(&self) -> BrandSpec {
        BrandSpec::new(self.name.clone())
            .aliases(self.aliases.iter().cloned())
            .domains(self.domain.iter().cloned())
    }
}

/// Latency of simulated calls: log-normal around a median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyModel {
    pub median: Duration,
    /// Log-space standard deviation; 0 makes every call take `median`.
    pub sigma: f64,
}

impl LatencyModel {
    /// Calls return at once and never sleep (tests, throughput benchmarks).
    pub const fn zero() -> Self {
        Self {
            median: Duration::ZERO,
            sigma: 0.0,
        }
    }

    /// Log-normal latency: half the calls are faster than `median`; `sigma` ≈ 0.3–0.6 looks
    /// like real APIs (a long right tail).
    pub const fn new(median: Duration, sigma: f64) -> Self {
        Self { median, sigma }
    }

    /// Whether calls never wait.
    pub fn is_zero(&self) -> bool {
        self.median.is_zero()
    }

    /// One latency draw: `median · exp(sigma · Z)` with `Z` standard normal.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        if self.is_zero() {
            return Duration::ZERO;
        }
        if self.sigma == 0.0 {
            return self.median;
        }
        let z: f64 = rng.sample(StandardNormal);
        // Capped at 20× the median so one absurd draw cannot stall a test run.
        let factor = (self.sigma * z).exp().min(20.0);
        self.median.mul_f64(factor)
    }
}

impl Default for LatencyModel {
    /// Zero latency: the simulator's default use is tests.
    fn default() -> Self {
        Self::zero()
    }
}

/// Rates of injected failures, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FailureRates {
    pub rate_limited: f64,
    pub server_error: f64,
    pub timeout: f64,
}

impl FailureRates {
    /// No injected failures.
    pub const fn none() -> Self {
        Self {
            rate_limited: 0.0,
            server_error: 0.0,
            timeout: 0.0,
        }
    }

    /// Per-call probabilities of a 429, a 5xx and a timeout. They are exclusive outcomes of
    /// one call, so their sum must not exceed 1.
    pub const fn new(rate_limited: f64, server_error: f64, timeout: f64) -> Self {
        Self {
            rate_limited,
            server_error,
            timeout,
        }
    }

    /// Probability that a call fails at all.
    pub fn total(&self) -> f64 {
        self.rate_limited + self.server_error + self.timeout
    }
}

/// Replaces a brand's mention probability for one model, one prompt, or one model and
/// prompt. The most specific matching override wins: model+prompt, then prompt, then model.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbabilityOverride {
    /// The model it applies to (`ChatRequest::model`); `None` for every model.
    pub model: Option<String>,
    /// The prompt it applies to, compared after trimming; `None` for every prompt.
    pub prompt: Option<String>,
    /// Canonical name of the brand.
    pub brand: String,
    pub probability: f64,
}

/// Configuration of a [`Simulated`](super::Simulated) provider.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedConfig {
    pub id: String,
    pub seed: u64,
    pub brands: Vec<BrandBehavior>,
    pub latency: LatencyModel,
    pub failures: FailureRates,
    /// Probability that an answer carries citations.
    pub citation_probability: f64,
    pub max_concurrency: usize,
    /// Per-model / per-prompt truths that differ from the brands' base probabilities.
    pub overrides: Vec<ProbabilityOverride>,
    /// Upper bound of the `retry_after` carried by injected rate limits (drawn uniformly
    /// from zero to this).
    pub max_retry_after: Duration,
    /// Longest wait before an injected timeout is returned: the call sleeps
    /// `min(sampled latency, max_timeout_wait)`, so faults stay cheap in tests.
    pub max_timeout_wait: Duration,
}

impl Default for SimulatedConfig {
    fn default() -> Self {
        Self {
            id: "simulated".to_string(),
            seed: 0,
            brands: Vec::new(),
            latency: LatencyModel::zero(),
            failures: FailureRates::none(),
            citation_probability: 0.3,
            max_concurrency: 64,
            overrides: Vec::new(),
            max_retry_after: Duration::from_millis(50),
            max_timeout_wait: Duration::from_millis(50),
        }
    }
}

impl SimulatedConfig {
    /// A provider registered as `id`, with no brands, zero latency, no failures, citations
    /// on 30% of answers and a concurrency hint of 64.
    pub fn new(id: impl Into<String>, seed: u64) -> Self {
        Self {
            id: id.into(),
            seed,
            ..Self::default()
        }
    }

    /// Adds a brand.
    pub fn brand(mut self, brand: BrandBehavior) -> Self {
        self.brands.push(brand);
        self
    }

    /// Adds several brands.
    pub fn brands(mut self, brands: impl IntoIterator<Item = BrandBehavior>) -> Self {
        self.brands.extend(brands);
        self
    }

    pub fn latency(mut self, latency: LatencyModel) -> Self {
        self.latency = latency;
        self
    }

    pub fn failures(mut self, failures: FailureRates) -> Self {
        self.failures = failures;
        self
    }

    pub fn citation_probability(mut self, probability: f64) -> Self {
        self.citation_probability = probability;
        self
    }

    pub fn max_concurrency(mut self, max_concurrency: usize) -> Self {
        self.max_concurrency = max_concurrency;
        self
    }

    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    pub fn max_timeout_wait(mut self, max: Duration) -> Self {
        self.max_timeout_wait = max;
        self
    }

    /// `brand` is named with `probability` in answers from `model` (any prompt), so two
    /// targets of one provider can have different true visibilities.
    pub fn model_override(self, model: impl Into<String>, brand: impl Into<String>, probability: f64) -> Self {
        self.probability_override(ProbabilityOverride {
            model: Some(model.into()),
            prompt: None,
            brand: brand.into(),
            probability,
        })
    }

    /// `brand` is named with `probability` in answers to `prompt` (any model): the
    /// simulator's prompt sensitivity.
    pub fn prompt_override(self, prompt: impl Into<String>, brand: impl Into<String>, probability: f64) -> Self {
        self.probability_override(ProbabilityOverride {
            model: None,
            prompt: Some(prompt.into().trim().to_string()),
            brand: brand.into(),
            probability,
        })
    }

    /// Adds any override (see [`ProbabilityOverride`] for precedence).
    pub fn probability_override(mut self, o: ProbabilityOverride) -> Self {
        self.overrides.push(o);
        self
    }

    /// The brands as catalog entries, `target` (a brand name) with role target, the rest
    /// competitors: the catalog that finds exactly what this simulator writes.
    pub fn brand_specs(&self, target: &str) -> Vec<BrandSpec> {
        self.brands
            .iter()
            .map(|b| {
                let spec = b.to_brand_spec();
                if b.name == target {
                    BrandSpec {
                        role: crate::model::BrandRole::Target,
                        ..spec
                    }
                } else {
                    spec
                }
            })
            .collect()
    }

    /// A ready CRM market of eight brands with realistic probabilities, aliases and
    /// domains, HubSpot being the usual "own" brand. Model `sim-enterprise` has its own
    /// truth (Salesforce ahead, HubSpot and the startup tools behind); every other model
    /// uses the base probabilities. Used by tests, benchmarks and demos.
    pub fn crm_demo(seed: u64) -> Self {
        Self::new("simulated", seed)
            .brand(
                BrandBehavior::new("HubSpot", 0.78)
                    .rank_weight(3.0)
                    .aliases(["HubSpot CRM"])
                    .domain("hubspot.com"),
            )
            .brand(
                BrandBehavior::new("Salesforce", 0.62)
                    .rank_weight(2.2)
                    .aliases(["Salesforce Sales Cloud", "Sales Cloud"])
                    .domain("salesforce.com"),
            )
            .brand(
                BrandBehavior::new("Pipedrive", 0.55)
                    .rank_weight(2.0)
                    .domain("pipedrive.com"),
            )
            .brand(
                BrandBehavior::new("Zoho CRM", 0.45)
                    .rank_weight(1.4)
                    .aliases(["Zoho"])
                    .domain("zoho.com"),
            )
            .brand(
                BrandBehavior::new("monday.com", 0.30)
                    .rank_weight(0.9)
                    .aliases(["monday sales CRM"]),
            )
            .brand(
                BrandBehavior::new("Freshsales", 0.25)
                    .rank_weight(0.8)
                    .aliases(["Freshworks CRM"])
                    .domain("freshworks.com"),
            )
            .brand(
                BrandBehavior::new("Close", 0.22)
                    .rank_weight(0.7)
                    .aliases(["Close CRM"])
                    .domain("close.com"),
            )
            .brand(BrandBehavior::new("Attio", 0.18).rank_weight(0.6).domain("attio.com"))
            .model_override("sim-enterprise", "Salesforce", 0.85)
            .model_override("sim-enterprise", "HubSpot", 0.60)
            .model_override("sim-enterprise", "Pipedrive", 0.30)
            .model_override("sim-enterprise", "Attio", 0.05)
    }

    /// Checks every field. Errors are `InvalidInput` naming the field (`brands[2].aliases[0]`,
    /// `failures.timeout`, ...).
    pub fn validate(&self) -> Result<()> {
        if self.id.trim().is_empty() {
            return Err(Error::invalid(
                "id",
                "the provider id is blank; give the id targets use, e.g. \"simulated\"",
            ));
        }
        let mut owners: BTreeMap<String, (usize, String)> = BTreeMap::new();
        for (i, b) in self.brands.iter().enumerate() {
            let field = format!("brands[{i}]");
            if b.name.trim().is_empty() {
                return Err(Error::invalid(format!("{field}.name"), "the brand name is blank"));
            }
            check_probability(&format!("{field}.mention_probability"), b.mention_probability)?;
            if !(b.rank_weight.is_finite() && b.rank_weight > 0.0) {
                return Err(Error::invalid(
                    format!("{field}.rank_weight"),
                    format!("must be a positive finite number, got {}", b.rank_weight),
                ));
            }
            let mut forms = vec![(format!("{field}.name"), b.name.as_str())];
            for (j, a) in b.aliases.iter().enumerate() {
                forms.push((format!("{field}.aliases[{j}]"), a.as_str()));
            }
            if let Some(d) = &b.domain {
                if d.trim().is_empty() || d.chars().any(char::is_whitespace) {
                    return Err(Error::invalid(
                        format!("{field}.domain"),
                        format!("{d:?} is not a domain; use a host such as \"example.com\""),
                    ));
                }
                forms.push((format!("{field}.domain"), d.as_str()));
            }
            for (path, form) in forms {
                if form.trim().is_empty() {
                    return Err(Error::invalid(path, "a surface form is blank"));
                }
                if form.trim() != form {
                    return Err(Error::invalid(path, format!("{form:?} has leading or trailing spaces")));
                }
                let key = form.to_lowercase();
                match owners.get(&key) {
                    Some((owner, _)) if *owner != i => {
                        return Err(Error::invalid(
                            path,
                            format!(
                                "{form:?} is already a surface form of brand {:?}",
                                self.brands[*owner].name
                            ),
                        ));
                    }
                    _ => {
                        owners.insert(key, (i, path));
                    }
                }
            }
        }
        // A form that contains another brand's form as whole words ("Acme Cloud" vs "Cloud")
        // would make naming one brand also name the other, breaking the known truth.
        for (form, (owner, path)) in &owners {
            for part in super::vocabulary::word_aligned_substrings(form) {
                if let Some((other_owner, _)) = owners.get(part).filter(|(o, _)| o != owner) {
                    return Err(Error::invalid(
                        path.clone(),
                        format!(
                            "{form:?} contains {part:?}, a surface form of brand {:?}; the simulator needs \
                             forms that do not overlap between brands",
                            self.brands[*other_owner].name
                        ),
                    ));
                }
            }
        }
        check_probability("citation_probability", self.citation_probability)?;
        if !(self.latency.sigma.is_finite() && self.latency.sigma >= 0.0) {
            return Err(Error::invalid(
                "latency.sigma",
                format!("must be a finite number ≥ 0, got {}", self.latency.sigma),
            ));
        }
        check_probability("failures.rate_limited", self.failures.rate_limited)?;
        check_probability("failures.server_error", self.failures.server_error)?;
        check_probability("failures.timeout", self.failures.timeout)?;
        if self.failures.total() > 1.0 + 1e-12 {
            return Err(Error::invalid(
                "failures",
                format!(
                    "the failure rates add up to {} but are exclusive outcomes of a call; keep the sum ≤ 1",
                    self.failures.total()
                ),
            ));
        }
        if self.max_concurrency == 0 {
            return Err(Error::invalid("max_concurrency", "must be at least 1"));
        }
        for (i, o) in self.overrides.iter().enumerate() {
            let field = format!("overrides[{i}]");
            if !self.brands.iter().any(|b| b.name == o.brand) {
                return Err(Error::invalid(
                    format!("{field}.brand"),
                    format!(
                        "no configured brand is named {:?}; add the brand before overriding it",
                        o.brand
                    ),
                ));
            }
            check_probability(&format!("{field}.probability"), o.probability)?;
            if o.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
                return Err(Error::invalid(
                    format!("{field}.model"),
                    "the model is blank; use None for every model",
                ));
            }
            if o.prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
                return Err(Error::invalid(
                    format!("{field}.prompt"),
                    "the prompt is blank; use None for every prompt",
                ));
            }
        }
        Ok(())
    }

    /// The probability that an answer from `model` to `prompt` names brand `index`.
    pub(crate) fn mention_probability(&self, index: usize, model: &str, prompt: Option<&str>) -> f64 {
        let brand = &self.brands[index];
        let prompt = prompt.map(str::trim);
        let mut best: Option<(u8, f64)> = None;
        for o in self.overrides.iter().filter(|o| o.brand == brand.name) {
            let model_ok = o.model.as_deref().is_none_or(|m| m == model);
            let prompt_ok = match (&o.prompt, prompt) {
                (None, _) => true,
                (Some(p), Some(q)) => p.trim() == q,
                (Some(_), None) => false,
            };
            if !(model_ok && prompt_ok) {
                continue;
            }
            let specificity = u8::from(o.prompt.is_some()) * 2 + u8::from(o.model.is_some());
            // Later overrides of equal specificity win, like a later builder call.
            if best.is_none_or(|(s, _)| specificity >= s) {
                best = Some((specificity, o.probability));
            }
        }
        best.map_or(brand.mention_probability, |(_, p)| p)
    }
}

fn check_probability(field: &str, p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("must be a probability in [0, 1], got {p}"),
        ))
    }
}
