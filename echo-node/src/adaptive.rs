//! Adaptive runs, mirroring `echo_core::model::{AdaptiveOptions, AdaptiveSummary}`,
//! `echo_core::analysis::sequential::AdaptiveGoal` and `engine::AdaptiveEstimate`: a run
//! that samples each target until its brands' intervals are as narrow as asked, instead of
//! a fixed number of repeats (`docs/metrics.md`, "Adaptive runs").
//!
//! The input (`AdaptiveOptions`) lets everything but the half-width default to the core's
//! choice (`AdaptiveGoal::new`); the outputs (`Run.adaptive`, `Report.adaptive`) carry the
//! options as the run stored them, every default filled in.

use echo_core::analysis::sequential::{AdaptiveGoal as CoreGoal, DEFAULT_MIN_SAMPLES};
use echo_core::model::{self as core, ExperimentId, MAX_SAMPLES_PER_RUN};
use echo_core::{Error, Result};
use napi::Env;
use napi::bindgen_prelude::PromiseRaw;
use napi_derive::napi;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::convert::{out, parse, whole};
use crate::engine::{Echo, clone_parts};
use crate::model::Target;
use crate::principal::Principal;
use crate::promise::{spawn, sync};
use crate::report::{AdaptiveGoal, Estimate};

/// The precision an adaptive run samples each target to. Only `halfWidth` is required; a
/// `Plan`'s `adaptive` goal can be passed as is.
#[napi(object)]
pub struct AdaptiveGoalOptions {
    /// The "±" wanted, as a proportion (0.05 for ±5 points), in (0, 0.5).
    pub half_width: f64,
    /// Answers per target before the run may stop (default 20, fewer if the maximum is
    /// smaller).
    pub min_samples: Option<i64>,
    /// Answers per target after which it stops whatever the widths (default: the fixed
    /// plan's worst case at 95%, e.g. 381 for ±5 points — so the goal is always reached
    /// and never costs more than a fixed run would).
    pub max_samples: Option<i64>,
    /// Confidence of the intervals, in [0.5, 1) (default 0.95, the reports' level).
    pub confidence: Option<f64>,
}

/// `RunOptions.adaptive`: sample to a precision instead of the spec's `repeats`. Quota is
/// reserved for `maxSamples` per target and the unused part refunded when the run ends.
#[napi(object)]
pub struct AdaptiveOptions {
    pub goal: AdaptiveGoalOptions,
    /// Which brands must reach the goal: `all` (default) or only your own, role `targets`
    /// (a competitor near 50% visibility can otherwise cost the whole saving).
    #[napi(ts_type = "'all' | 'targets'")]
    pub brands: Option<String>,
    /// `wilson` (default: the reports' intervals, coverage close to nominal) or
    /// `confidence_sequence` (coverage guaranteed at any stopping time, ≈3.5× the answers).
    #[napi(ts_type = "'wilson' | 'confidence_sequence'")]
    pub method: Option<String>,
}

impl AdaptiveOptions {
    /// The core's options. Unset goal fields take `AdaptiveGoal::new(halfWidth)`'s values;
    /// the checks (ranges, `maxSamples` × targets within a run's maximum) are the core's,
    /// made when the run starts, with errors naming `options.adaptive.goal.<field>`.
    pub(crate) fn to_core(&self) -> Result<core::AdaptiveOptions> {
        let g = &self.goal;
        // An out-of-range half-width has no defaults; the core's check then names it.
        let defaults = CoreGoal::new(g.half_width).ok();
        let count = |v: i64, field: &str| whole(v, field, MAX_SAMPLES_PER_RUN);
        let min_samples = match g.min_samples {
            Some(v) => count(v, "options.adaptive.goal.min_samples")?,
            None => defaults.map_or(DEFAULT_MIN_SAMPLES, |d| d.min_samples),
        };
        let max_samples = match g.max_samples {
            Some(v) => count(v, "options.adaptive.goal.max_samples")?,
            None => defaults.map_or(min_samples, |d| d.max_samples.max(min_samples)),
        };
        Ok(core::AdaptiveOptions {
            goal: CoreGoal {
                half_width: g.half_width,
                min_samples,
                max_samples,
                confidence: g.confidence.unwrap_or(0.95),
            },
            brands: name_of(self.brands.as_deref(), "options.adaptive.brands", "'all' or 'targets'")?,
            method: name_of(
                self.method.as_deref(),
                "options.adaptive.method",
                "'wilson' or 'confidence_sequence'",
            )?,
        })
    }
}

/// A core enum from its wire name (`None`: the enum's default).
fn name_of<T: DeserializeOwned + Default>(name: Option<&str>, field: &str, choices: &str) -> Result<T> {
    match name {
        None => Ok(T::default()),
        Some(name) => serde_json::from_value(serde_json::Value::String(name.to_string()))
            .map_err(|_| Error::invalid(field, format!("{name:?} is not one of {choices}"))),
    }
}

/// The adaptive options as a run stored them (every default filled in).
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct AdaptiveSettings {
    pub goal: AdaptiveGoal,
    #[napi(ts_type = "'all' | 'targets'")]
    pub brands: String,
    #[napi(ts_type = "'wilson' | 'confidence_sequence'")]
    pub method: String,
}

/// How one target's sampling went.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct AdaptiveTargetSummary {
    pub target: Target,
    /// `goal_reached` (every goal brand within ±halfWidth), `max_samples` (stopped at the
    /// cap; intervals may be wider), `sampling` (still running) or `cancelled`.
    #[napi(ts_type = "'sampling' | 'goal_reached' | 'max_samples' | 'cancelled'")]
    pub state: String,
    /// Samples enqueued for the target, over all waves.
    pub enqueued: i64,
    pub answered: i64,
    pub failed: i64,
    /// The widest interval half-width among the goal brands (0.5 with no answers).
    pub widest_half_width: f64,
}

/// The adaptive part of a report: per target, why sampling stopped.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct AdaptiveSummary {
    pub options: AdaptiveSettings,
    /// Per target, in spec order.
    pub targets: Vec<AdaptiveTargetSummary>,
}

/// What an adaptive run may cost before it starts.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct AdaptiveEstimate {
    /// Every target sampled to `maxSamples`: the most it can cost, and what quota reserves.
    pub worst_case: Estimate,
    /// The visibility assumed for the expected case.
    pub expected_rate: f64,
    /// Answers per target expected at `expectedRate`.
    pub expected_samples_per_target: f64,
    /// The cost at that many answers per target.
    pub expected: Estimate,
}

#[napi]
impl Echo {
    /// The worst-case and expected cost of an adaptive run of an experiment. The expected
    /// case assumes the goal brand closest to ½ has visibility `expectedRate` (default 0.5,
    /// the worst case: the answers needed grow with p(1 − p)). Bad options are rejected as
    /// `startRun` would reject them.
    #[napi(
        strict,
        ts_args_type = "principal: Principal, experimentId: string, adaptive: AdaptiveOptions, expectedRate?: number",
        ts_return_type = "Promise<AdaptiveEstimate>"
    )]
    pub fn estimate_adaptive<'env>(
        &self,
        env: &'env Env,
        principal: &Principal,
        experiment_id: String,
        adaptive: AdaptiveOptions,
        expected_rate: Option<f64>,
    ) -> napi::Result<PromiseRaw<'env, AdaptiveEstimate>> {
        let id: ExperimentId = sync(env, parse(&experiment_id, "experimentId"))?;
        let options = sync(env, adaptive.to_core())?;
        let (echo, principal) = clone_parts(self, principal);
        spawn(
            env,
            async move {
                echo.estimate_adaptive(&principal, id, &options, expected_rate.unwrap_or(0.5))
                    .await
            },
            |e| out(&e, "adaptive estimate"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(half_width: f64) -> AdaptiveGoalOptions {
        AdaptiveGoalOptions {
            half_width,
            min_samples: None,
            max_samples: None,
            confidence: None,
        }
    }

    #[test]
    fn unset_fields_take_the_core_defaults() {
        let options = AdaptiveOptions {
            goal: goal(0.05),
            brands: None,
            method: None,
        };
        assert_eq!(options.to_core().unwrap(), core::AdaptiveOptions::new(0.05).unwrap());
    }

    #[test]
    fn names_are_checked() {
        let options = AdaptiveOptions {
            goal: goal(0.05),
            brands: Some("targets".into()),
            method: Some("fast".into()),
        };
        let err = options.to_core().unwrap_err();
        assert_eq!(err.field(), Some("options.adaptive.method"));
        let options = AdaptiveOptions {
            goal: AdaptiveGoalOptions {
                min_samples: Some(-1),
                ..goal(0.05)
            },
            brands: None,
            method: None,
        };
        assert_eq!(
            options.to_core().unwrap_err().field(),
            Some("options.adaptive.goal.min_samples")
        );
    }
}
