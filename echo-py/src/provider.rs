//! Providers, mirroring `echo_core::provider`: the simulated and replay providers, and the
//! real ones configured from the environment.

use std::collections::HashMap;
use std::sync::Arc;

use echo_core::Error;
use echo_core::provider::{
    BrandBehavior, DynProvider, FailureRates, LatencyModel, Replay, Simulated, SimulatedConfig, providers_from_env,
    providers_from_env_with,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, Typed};
use crate::errors::to_py_err;
use crate::runtime::InRuntime;

/// A language-model provider to register with `Echo.open(providers=[...])`.
#[pyclass(frozen, module = "echo_ai._native")]
pub struct Provider {
    inner: InRuntime<DynProvider>,
    /// Kept for the ground-truth queries of the simulated provider.
    simulated: Option<Simulated>,
}

impl Provider {
    fn new(inner: DynProvider, simulated: Option<Simulated>) -> Self {
        Self {
            inner: InRuntime::new(inner),
            simulated,
        }
    }

    /// The provider, for `EchoBuilder::provider_arc`.
    pub fn dyn_provider(&self, py: Python<'_>) -> PyResult<DynProvider> {
        self.inner.get("Provider").cloned().map_err(|e| to_py_err(py, &e))
    }

    fn simulated_ref(&self, py: Python<'_>) -> PyResult<&Simulated> {
        self.simulated.as_ref().ok_or_else(|| {
            to_py_err(
                py,
                &Error::invalid(
                    "provider",
                    format!(
                        "{} is not a simulated provider; ground truth exists only for Provider.simulated",
                        self.id()
                    ),
                ),
            )
        })
    }
}

fn brand_behavior(item: &Bound<'_, PyAny>, index: usize) -> PyResult<BrandBehavior> {
    let py = item.py();
    let field = |name: &str| format!("brands[{index}].{name}");
    let get = |name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        let value = if let Ok(dict) = item.cast::<PyDict>() {
            dict.get_item(name)?
        } else if item.hasattr(name)? {
            Some(item.getattr(name)?)
        } else {
            None
        };
        Ok(value.filter(|v| !v.is_none()))
    };
    let invalid = |name: &str, msg: &str| to_py_err(py, &Error::invalid(field(name), msg));
    let name: String = get("name")?
        .ok_or_else(|| invalid("name", "is required"))?
        .extract()
        .map_err(|_| invalid("name", "must be a string"))?;
    let probability: f64 = get("mention_probability")?
        .ok_or_else(|| invalid("mention_probability", "is required"))?
        .extract()
        .map_err(|_| invalid("mention_probability", "must be a number"))?;
    let mut brand = BrandBehavior::new(name, probability);
    if let Some(w) = get("rank_weight")? {
        brand = brand.rank_weight(w.extract().map_err(|_| invalid("rank_weight", "must be a number"))?);
    }
    if let Some(a) = get("aliases")? {
        let aliases: Vec<String> = a
            .extract()
            .map_err(|_| invalid("aliases", "must be a list of strings"))?;
        brand = brand.aliases(aliases);
    }
    if let Some(d) = get("domain")? {
        brand = brand.domain(
            d.extract::<String>()
                .map_err(|_| invalid("domain", "must be a string"))?,
        );
    }
    Ok(brand)
}

#[pymethods]
impl Provider {
    /// A seeded simulated LLM answering buyer questions about `brands` (each a
    /// `SimulatedBrand` or a dict with `name`, `mention_probability`, and optionally
    /// `rank_weight`, `aliases`, `domain`). Offline and reproducible; its true visibilities
    /// are known (`true_visibility`), so reports can be checked against them.
    ///
    /// `model_overrides` maps `(model, brand)` to another probability. Failure rates inject
    /// rate limits, server errors and timeouts; `latency_median`/`latency_sigma` make calls
    /// take time (log-normal).
    #[staticmethod]
    #[pyo3(signature = (brands, *, seed = 42, id = "simulated".to_string(), model_overrides = None,
        citation_probability = None, rate_limited = 0.0, server_error = 0.0, timeout = 0.0,
        latency_median = None, latency_sigma = 0.0, max_concurrency = None))]
    #[allow(clippy::too_many_arguments)]
    fn simulated(
        py: Python<'_>,
        brands: Vec<Bound<'_, PyAny>>,
        seed: u64,
        id: String,
        model_overrides: Option<HashMap<(String, String), f64>>,
        citation_probability: Option<f64>,
        rate_limited: f64,
        server_error: f64,
        timeout: f64,
        latency_median: Option<Bound<'_, PyAny>>,
        latency_sigma: f64,
        max_concurrency: Option<usize>,
    ) -> PyResult<Self> {
        let mut config = SimulatedConfig::new(id, seed);
        for (i, item) in brands.iter().enumerate() {
            config = config.brand(brand_behavior(item, i)?);
        }
        let mut overrides: Vec<_> = model_overrides.unwrap_or_default().into_iter().collect();
        overrides.sort_by(|a, b| a.0.cmp(&b.0));
        for ((model, brand), p) in overrides {
            config = config.model_override(model, brand, p);
        }
        if let Some(p) = citation_probability {
            config = config.citation_probability(p);
        }
        config = config.failures(FailureRates {
            rate_limited,
            server_error,
            timeout,
        });
        if let Some(median) = latency_median {
            config = config.latency(LatencyModel::new(
                convert::duration(&median, "latency_median")?,
                latency_sigma,
            ));
        }
        if let Some(n) = max_concurrency {
            config = config.max_concurrency(n);
        }
        Self::from_config(py, config)
    }

    /// The ready-made simulated CRM market of eight brands (HubSpot, Salesforce, ...), the
    /// one the core's tests and demos use. `brand_specs("HubSpot")` gives its catalog.
    #[staticmethod]
    #[pyo3(signature = (seed = 42))]
    fn crm_demo(py: Python<'_>, seed: u64) -> PyResult<Self> {
        Self::from_config(py, SimulatedConfig::crm_demo(seed))
    }

    /// Answers replayed from a JSONL corpus (`provider`, `model`, `prompt`, `answer`,
    /// optional `citations` per line). With `provider_id`, only that provider's records,
    /// registered under that id.
    #[staticmethod]
    #[pyo3(signature = (path, provider_id = None))]
    fn replay(py: Python<'_>, path: std::path::PathBuf, provider_id: Option<&str>) -> PyResult<Self> {
        let replay = match provider_id {
            Some(id) => Replay::for_provider(&path, id),
            None => Replay::from_jsonl(&path),
        }
        .map_err(|e| to_py_err(py, &e))?;
        Ok(Self::new(Arc::new(replay), None))
    }

    /// Every real provider whose credentials are set: OpenAI (`OPENAI_API_KEY`), Anthropic
    /// (`ANTHROPIC_API_KEY`), Gemini (`GEMINI_API_KEY` / `GOOGLE_API_KEY`), Perplexity
    /// (`PERPLEXITY_API_KEY`) and an OpenAI-compatible server
    /// (`OPENAI_COMPATIBLE_BASE_URL`). Reads `environ` when given (a mapping of variable
    /// names to values), else the process environment. Keys are held by the providers and
    /// never shown in `repr`.
    #[staticmethod]
    #[pyo3(signature = (environ = None))]
    fn from_env(py: Python<'_>, environ: Option<HashMap<String, String>>) -> PyResult<Vec<Self>> {
        let providers = match environ {
            Some(vars) => providers_from_env_with(|name| vars.get(name).cloned()),
            None => providers_from_env(),
        }
        .map_err(|e| to_py_err(py, &e))?;
        Ok(providers.into_iter().map(|p| Self::new(p, None)).collect())
    }

    /// The id targets name this provider by (`simulated`, `openai`, ...).
    #[getter]
    fn id(&self) -> String {
        self.inner
            .get("Provider")
            .map(|p| p.id().to_string())
            .unwrap_or_default()
    }

    /// The true visibility of `brand` in answers of `model` (to `prompt`, when given, with
    /// prompt overrides applied). Simulated providers only; `None` for an unknown brand.
    #[pyo3(signature = (model, brand, prompt = None))]
    fn true_visibility(&self, py: Python<'_>, model: &str, brand: &str, prompt: Option<&str>) -> PyResult<Option<f64>> {
        let sim = self.simulated_ref(py)?;
        Ok(match prompt {
            Some(p) => sim.true_visibility_for_prompt(model, p, brand),
            None => sim.true_visibility(model, brand),
        })
    }

    /// The brand catalog that finds exactly what this simulated provider writes, with
    /// `target` as your own brand (a list of `BrandSpec`).
    fn brand_specs(&self, py: Python<'_>, target: &str) -> PyResult<Typed> {
        Typed::list(&self.simulated_ref(py)?.config().brand_specs(target), "BrandSpec")
    }

    fn __repr__(&self) -> String {
        format!("Provider(id={:?})", self.id())
    }
}

impl Provider {
    fn from_config(py: Python<'_>, config: SimulatedConfig) -> PyResult<Self> {
        let sim = Simulated::new(config).map_err(|e| to_py_err(py, &e))?;
        Ok(Self::new(Arc::new(sim.clone()), Some(sim)))
    }
}
