//! Interval estimates.

use crate::model::Interval;

/// The Wilson score 95% interval for `successes` out of `trials`.
pub fn wilson_interval(successes: u64, trials: u64) -> Interval {
    let _ = (successes, trials);
    todo!()
}
