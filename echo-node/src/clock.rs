//! A clock the host moves by hand, mirroring `echo_core::clock::ManualClock`.
//!
//! Retention deadlines (90 days), deletion grace periods (30 days), schedules and lease
//! expiry all read the engine's clock. A test that must cross one of them passes a
//! `ManualClock` to `Echo.open({ clock })` and advances it, instead of sleeping for a month.
//! Production code passes nothing and gets the system clock.

use std::sync::Arc;

use echo_core::Error;
use echo_core::clock::{Clock, ManualClock as CoreManualClock};
use napi::Env;
use napi_derive::napi;

use crate::convert::{seconds, time as parse_time, time_string};
use crate::promise::sync;

/// A clock that only moves when told to, for tests: pass it to `Echo.open({ clock })`.
/// Every engine opened with it reads the same time.
#[napi]
pub struct ManualClock {
    pub(crate) inner: Arc<CoreManualClock>,
}

#[napi]
impl ManualClock {
    /// A clock stopped at `start` (ISO 8601), or at the current time.
    #[napi(constructor)]
    pub fn new(env: Env, start: Option<String>) -> napi::Result<Self> {
        let start = match start {
            Some(text) => sync(&env, parse_time(&text, "start"))?,
            None => chrono::Utc::now(),
        };
        Ok(Self {
            inner: Arc::new(CoreManualClock::new(start)),
        })
    }

    /// The clock's time (ISO 8601, UTC, milliseconds).
    #[napi]
    pub fn now(&self) -> String {
        time_string(self.inner.now())
    }

    /// Moves the clock forward by `secs` seconds and returns the new time.
    #[napi]
    pub fn advance(&self, env: Env, secs: f64) -> napi::Result<String> {
        let by = sync(&env, seconds(secs, "secs"))?;
        // The core's `advance` panics past chrono's range; refuse that as bad input instead.
        let to = chrono::Duration::from_std(by)
            .ok()
            .and_then(|d| self.inner.now().checked_add_signed(d))
            .ok_or_else(|| Error::invalid("secs", format!("{secs} s is beyond the range of dates")));
        let to = sync(&env, to)?;
        self.inner.set(to);
        Ok(time_string(to))
    }

    /// Sets the clock to `time` (ISO 8601), forward or back.
    #[napi]
    pub fn set(&self, env: Env, time: String) -> napi::Result<()> {
        let to = sync(&env, parse_time(&time, "time"))?;
        self.inner.set(to);
        Ok(())
    }
}

impl ManualClock {
    pub(crate) fn as_clock(&self) -> Arc<dyn Clock> {
        self.inner.clone()
    }
}
