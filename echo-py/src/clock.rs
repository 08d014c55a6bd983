//! `ManualClock`, mirroring `echo_core::clock::ManualClock`: time that moves only when told.
//!
//! Retention cutoffs, deletion deadlines, leases and quota periods read the engine's clock.
//! A host testing them (a deletion's 30-day grace, a 90-day answer TTL) passes a
//! `ManualClock` to `Echo.open(clock=...)` and moves it instead of sleeping.

use std::sync::Arc;

use chrono::Utc;
use echo_core::Error;
use echo_core::clock::{Clock, ManualClock as CoreManualClock};
use pyo3::prelude::*;

use crate::convert::{self, Typed};
use crate::errors::to_py_err;

/// A clock for tests: it starts at `start` (default: now) and moves only with `advance` and
/// `set`. Pass it to `Echo.open(clock=...)`; the engine then reads every time from it.
#[pyclass(frozen, module = "echo_ai._native")]
pub struct ManualClock {
    pub(crate) clock: Arc<CoreManualClock>,
}

impl ManualClock {
    /// The clock as the engine builder takes it.
    pub(crate) fn core(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}

#[pymethods]
impl ManualClock {
    #[new]
    #[pyo3(signature = (start = None))]
    fn new(start: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let start = match start.filter(|s| !s.is_none()) {
            Some(s) => convert::datetime(s, "start")?,
            None => Utc::now(),
        };
        Ok(Self {
            clock: Arc::new(CoreManualClock::new(start)),
        })
    }

    /// The clock's current time (a UTC datetime).
    fn now(&self) -> PyResult<Typed> {
        Typed::one(&self.clock.now(), "datetime")
    }

    /// Moves the clock forward by `by` (seconds or a `timedelta`); returns the new time.
    fn advance(&self, by: &Bound<'_, PyAny>) -> PyResult<Typed> {
        let py = by.py();
        let by = convert::duration(by, "by")?;
        // The core's `advance` panics past chrono's range; refuse such a step instead.
        let step = chrono::Duration::from_std(by).ok();
        if step.and_then(|s| self.clock.now().checked_add_signed(s)).is_none() {
            return Err(to_py_err(
                py,
                &Error::invalid("by", "moves the clock out of the representable range"),
            ));
        }
        self.clock.advance(by);
        self.now()
    }

    /// Sets the clock to `to` (a timezone-aware datetime), forward or back.
    fn set(&self, to: &Bound<'_, PyAny>) -> PyResult<()> {
        self.clock.set(convert::datetime(to, "to")?);
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!("ManualClock({})", self.clock.now().to_rfc3339())
    }
}
