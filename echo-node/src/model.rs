//! Plain data, mirroring `echo_core::model`: accounts, experiments, runs and pages.
//!
//! Each type mirrors the core type of the same name field by field (see `convert.rs`);
//! optional input fields are skipped when absent so the core's own defaults apply.

use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::adaptive::{AdaptiveOptions, AdaptiveSettings};
pub use crate::target::Target;

/// What is needed to create an account.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct NewAccount {
    pub name: String,
    /// The host's own identifier for this tenant (its user or organisation id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Quota tier (`free`, `pro`, `enterprise` or one the host defined); default `free`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// A tenant: every experiment, run and key belongs to exactly one account.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub tier: String,
    /// ISO 8601, UTC.
    #[serde(deserialize_with = "crate::convert::iso")]
    pub created_at: String,
}

/// A tracked brand: canonical name, aliases, web domains and a case rule.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct BrandSpec {
    /// Canonical name, as reported ("HubSpot").
    pub name: String,
    /// Other surface forms that mean this brand ("HubSpot CRM").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    /// Web domains that identify the brand in text and in citations ("hubspot.com").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<String>>,
    /// How letter case decides a match (default `auto`).
    #[napi(ts_type = "'auto' | 'sensitive' | 'insensitive'")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// `target` for your own brand (at least one is required), `competitor` (default).
    #[napi(ts_type = "'target' | 'competitor'")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Everything that defines an experiment; validated before anything is stored.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ExperimentSpec {
    pub name: String,
    /// The buyer questions, asked verbatim.
    pub prompts: Vec<String>,
    pub brands: Vec<BrandSpec>,
    /// The models to ask.
    pub targets: Vec<Target>,
    /// How many times each prompt is asked of each target.
    pub repeats: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Ask providers that support it to search the web (and return citations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search: Option<bool>,
}

/// A stored experiment.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Experiment {
    pub id: String,
    pub account_id: String,
    pub spec: ExperimentSpec,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub created_at: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub updated_at: String,
}

/// Keyset pagination: newest first.
#[napi(object)]
#[derive(Serialize, Deserialize, Default)]
pub struct PageRequest {
    /// Page size; default 50, at most 500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// A page of experiments.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct ExperimentPage {
    pub items: Vec<Experiment>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Samples of a run by state.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct SampleCounts {
    pub pending: i64,
    pub leased: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
}

/// A run of an experiment.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub account_id: String,
    pub experiment_id: String,
    /// The spec as it was when the run started.
    pub spec: ExperimentSpec,
    #[napi(ts_type = "'pending' | 'running' | 'completed' | 'partial' | 'failed' | 'cancelled'")]
    pub status: String,
    pub planned_samples: i64,
    /// The run's seed, in decimal (a u64, which a JavaScript number cannot hold exactly).
    #[serde(with = "u64_string")]
    pub seed: String,
    #[serde(deserialize_with = "crate::convert::iso")]
    pub created_at: String,
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub started_at: Option<String>,
    #[serde(default, deserialize_with = "crate::convert::iso_opt")]
    pub finished_at: Option<String>,
    /// For an adaptive run, the precision it samples to; `plannedSamples` is then the
    /// maximum (what quota reserves). Absent for a run of the spec's fixed repeats.
    #[serde(default)]
    pub adaptive: Option<AdaptiveSettings>,
    /// The host's correlation id for the work that enqueued the run: `RunOptions.correlationId`,
    /// else the principal's `withRequest({ correlationId })`. Every process that executes the
    /// run puts it on its log spans, and the run's `run.enqueue` audit event carries it.
    /// Absent (`undefined`) for scheduled runs and runs enqueued without one.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// A page of runs.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct RunPage {
    pub items: Vec<Run>,
    pub next_cursor: Option<String>,
}

/// Per-run choices made when a run starts.
#[napi(object)]
#[derive(Default)]
pub struct RunOptions {
    /// Seed of the run (a whole number up to 2^53); random when absent.
    pub seed: Option<i64>,
    /// Provider calls in flight for this run (default: the engine's).
    pub concurrency: Option<u32>,
    /// Sample each target until its brands are known to a precision, instead of the spec's
    /// `repeats` (see `estimateAdaptive` for the cost beforehand).
    pub adaptive: Option<AdaptiveOptions>,
    /// Your id for this piece of work (e.g. the request's trace id): stored on the run
    /// (`Run.correlationId`), written into its `run.enqueue` audit event and put on the log
    /// spans of its execution in every process. Wins over the principal's
    /// `withRequest({ correlationId })`; blank counts as absent, longer than 512 characters
    /// is cut.
    pub correlation_id: Option<String>,
}

/// Run seeds are u64; JavaScript gets them as decimal strings.
mod u64_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(seed: &str, s: S) -> Result<S::Ok, S::Error> {
        let value: u64 = seed.parse().map_err(serde::ser::Error::custom)?;
        s.serialize_u64(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        u64::deserialize(d).map(|v| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{out, via_serde};
    use echo_core::model as core;

    #[test]
    fn spec_round_trips_with_core_defaults() {
        let spec = ExperimentSpec {
            name: "crm".into(),
            prompts: vec!["best crm?".into()],
            brands: vec![BrandSpec {
                name: "Acme".into(),
                aliases: None,
                domains: None,
                case: None,
                role: Some("target".into()),
            }],
            targets: vec![Target {
                provider: "simulated".into(),
                model: "m".into(),
            }],
            repeats: 3,
            system_prompt: None,
            temperature: None,
            max_output_tokens: None,
            web_search: None,
        };
        let core: core::ExperimentSpec = via_serde(&spec, "spec").unwrap();
        assert_eq!(core.brands[0].role, core::BrandRole::Target);
        assert!(!core.web_search);
        let back: ExperimentSpec = out(&core, "spec").unwrap();
        assert_eq!(back.brands[0].aliases.as_deref(), Some(&[][..]));
        assert_eq!(back.web_search, Some(false));
    }

    #[test]
    fn bad_enum_values_are_invalid_input() {
        let brand = BrandSpec {
            name: "Acme".into(),
            aliases: None,
            domains: None,
            case: Some("shouty".into()),
            role: None,
        };
        let err = via_serde::<_, core::BrandSpec>(&brand, "spec.brands").unwrap_err();
        assert_eq!(err.kind(), echo_core::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("shouty"), "{err}");
    }
}
