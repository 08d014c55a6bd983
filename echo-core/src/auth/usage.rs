//! `last_used_at` without a database write per request.
//!
//! A successful authentication records `(key, now)` in memory. The first record after a
//! flush arms a timer; when it fires (one flush interval later, a minute by default) every
//! recorded key is written in one batch with its latest use. So each key's row is written
//! at most once per interval however busy the key is, and the hot path of authentication
//! stays read-only. [`Echo::close`](crate::engine::Echo::close) and
//! [`Echo::flush_key_usage`](crate::engine::Echo::flush_key_usage) write what is pending
//! at once.
//!
//! The price: `last_used_at` lags by up to the interval, and a process that dies without
//! `close` loses at most the last interval's uses. It is bookkeeping for people ("is this
//! key still in use?"), never an input to an authorization decision, so that is acceptable.
//! Revocation is unaffected: it is read from the store on every authentication.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::Result;
use crate::model::ApiKeyId;
use crate::store::{KeyTouch, Store};

/// Pending uses, and whether a flush is scheduled.
#[derive(Default)]
struct State {
    pending: HashMap<ApiKeyId, KeyTouch>,
    timer_armed: bool,
}

/// The in-memory buffer of key uses of one [`Echo`](crate::engine::Echo).
pub(crate) struct KeyUsage {
    store: Arc<dyn Store>,
    interval: Duration,
    state: Mutex<State>,
}

impl KeyUsage {
    pub(crate) fn new(store: Arc<dyn Store>, interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            store,
            interval,
            state: Mutex::new(State::default()),
        })
    }

    /// Records a use; keeps the latest per key. Arms the flush timer if none is pending
    /// (outside a tokio runtime nothing is armed and the uses wait for an explicit flush).
    pub(crate) fn record(self: &Arc<Self>, touch: KeyTouch) {
        let arm = {
            let mut state = self.state.lock().expect("key usage poisoned");
            merge(&mut state.pending, touch);
            !std::mem::replace(&mut state.timer_armed, true)
        };
        if arm {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    let usage: Weak<Self> = Arc::downgrade(self);
                    let interval = self.interval;
                    handle.spawn(async move {
                        tokio::time::sleep(interval).await;
                        // The engine was dropped without `close`: nothing to write to.
                        if let Some(usage) = usage.upgrade() {
                            let touches = usage.take(true);
                            if let Err(e) = usage.write(touches).await {
                                tracing::warn!(error = %e, "writing API key last_used_at failed; will retry");
                            }
                        }
                    });
                }
                Err(_) => self.state.lock().expect("key usage poisoned").timer_armed = false,
            }
        }
    }

    /// Number of keys with an unwritten use.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.state.lock().expect("key usage poisoned").pending.len()
    }

    /// Writes every pending use in one batch; returns how many keys were written. On
    /// failure the uses go back into the buffer (merged with newer ones) for the next flush.
    pub(crate) async fn flush(&self) -> Result<u64> {
        let touches = self.take(false);
        self.write(touches).await
    }

    /// Takes the pending uses; `disarm` (the timer's own flush) also lets the next record
    /// arm a new timer, atomically with the take so no use is left without one.
    fn take(&self, disarm: bool) -> Vec<KeyTouch> {
        let mut state = self.state.lock().expect("key usage poisoned");
        if disarm {
            state.timer_armed = false;
        }
        state.pending.drain().map(|(_, t)| t).collect()
    }

    async fn write(&self, touches: Vec<KeyTouch>) -> Result<u64> {
        if touches.is_empty() {
            return Ok(0);
        }
        match self.store.touch_api_keys(&touches).await {
            Ok(n) => {
                tracing::debug!(keys = touches.len(), written = n, "API key last_used_at flushed");
                Ok(n)
            }
            Err(e) => {
                let mut state = self.state.lock().expect("key usage poisoned");
                for touch in touches {
                    merge(&mut state.pending, touch);
                }
                Err(e)
            }
        }
    }
}

/// Keeps the latest use per key.
fn merge(pending: &mut HashMap<ApiKeyId, KeyTouch>, touch: KeyTouch) {
    pending
        .entry(touch.key_id)
        .and_modify(|t| {
            if touch.at > t.at {
                t.at = touch.at;
            }
        })
        .or_insert(touch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountId;
    use chrono::DateTime;

    #[test]
    fn the_latest_use_per_key_wins() {
        let mut pending = HashMap::new();
        let key = ApiKeyId::new();
        let account = AccountId::new();
        for ms in [5, 9, 7] {
            merge(
                &mut pending,
                KeyTouch {
                    account_id: account,
                    key_id: key,
                    at: DateTime::from_timestamp_millis(ms).unwrap(),
                },
            );
        }
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[&key].at.timestamp_millis(), 9);
    }
}
