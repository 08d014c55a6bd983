//! Recurring runs: when an experiment runs by itself.
//!
//! A [`Schedule`] is an interval or a 5-field cron expression, always in UTC. Its *slots*
//! are the instants a run is due:
//! - `Interval(d)`: the first slot is one interval after the schedule is set, then every
//!   `d` (slots align with the moment it was set, not with the wall clock);
//! - `Cron(expr)`: every instant the expression matches, strictly after the schedule is set.
//!
//! **Missed slots** (all workers down, or the scheduler behind): when the scheduler finds
//! an experiment due, it creates ONE run, for the latest slot not after now, and moves
//! `next_run_at` to the first slot after now. Downtime never produces a burst of runs that
//! would measure the same moment several times and spend the quota for it.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use serde::{Deserialize, Serialize};

use crate::store::{ScheduleKind, StoredSchedule};
use crate::{Error, Result};

/// The shortest interval accepted: a run per minute is already a lot of LLM calls.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// When an experiment runs by itself (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Every interval, from the moment the schedule is set. Whole seconds, at least a minute.
    Interval(Duration),
    /// A 5-field cron expression (`minute hour day-of-month month day-of-week`, UTC), or a
    /// nickname (`@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`).
    Cron(String),
}

/// The names of the five cron fields, for errors that say which one is wrong.
const CRON_FIELDS: [&str; 5] = ["minute", "hour", "day_of_month", "month", "day_of_week"];

impl Schedule {
    /// Checks the schedule; errors name the field (`schedule.interval`, `schedule.cron`, or
    /// the cron field, e.g. `schedule.cron.hour`).
    pub fn validate(&self) -> Result<()> {
        self.slots().map(|_| ())
    }

    /// The first slot strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        self.slots()?.after(now)
    }

    pub(crate) fn to_stored(&self, next_run_at: DateTime<Utc>) -> StoredSchedule {
        let (kind, expr) = match self {
            Schedule::Interval(d) => (ScheduleKind::Interval, d.as_secs().to_string()),
            Schedule::Cron(expr) => (ScheduleKind::Cron, expr.trim().to_string()),
        };
        StoredSchedule {
            kind,
            expr,
            next_run_at,
        }
    }

    pub(crate) fn from_stored(kind: ScheduleKind, expr: &str) -> Result<Self> {
        match kind {
            ScheduleKind::Interval => {
                let secs: u64 = expr
                    .parse()
                    .map_err(|_| Error::Internal(format!("stored interval {expr:?} is not a number of seconds")))?;
                Ok(Schedule::Interval(Duration::from_secs(secs)))
            }
            ScheduleKind::Cron => Ok(Schedule::Cron(expr.to_string())),
        }
    }

    fn slots(&self) -> Result<Slots> {
        match self {
            Schedule::Interval(d) => {
                if *d < MIN_INTERVAL {
                    return Err(Error::invalid(
                        "schedule.interval",
                        format!("is {d:?}; the shortest interval is one minute"),
                    ));
                }
                if d.subsec_nanos() != 0 {
                    return Err(Error::invalid(
                        "schedule.interval",
                        format!("is {d:?}; use a whole number of seconds"),
                    ));
                }
                let step = chrono::Duration::from_std(*d)
                    .map_err(|_| Error::invalid("schedule.interval", format!("{d:?} is too long")))?;
                Ok(Slots::Interval(step))
            }
            Schedule::Cron(expr) => parse_cron(expr).map(|c| Slots::Cron(Box::new(c))),
        }
    }

    /// For a schedule found due at `due_at` (its stored `next_run_at`) at `now`: the slot to
    /// run (the latest one not after `now`) and the next `next_run_at` (the first slot after
    /// `now`). See the module docs for the missed-slot rule.
    pub(crate) fn catch_up(&self, due_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        let slots = self.slots()?;
        if due_at > now {
            return Err(Error::Internal(format!("schedule not due: {due_at} is after {now}")));
        }
        let slot = match &slots {
            Slots::Interval(step) => {
                let step_ms = step.num_milliseconds();
                let behind = (now - due_at).num_milliseconds();
                due_at + chrono::Duration::milliseconds(behind / step_ms * step_ms)
            }
            Slots::Cron(_) => {
                // Walk the slots from the due one; bounded by the downtime over the period.
                let mut slot = due_at;
                loop {
                    let next = slots.after(slot)?;
                    if next > now {
                        break slot;
                    }
                    slot = next;
                }
            }
        };
        // The slot is the latest not after now, so the one after it is the first after now.
        Ok((slot, slots.after(slot)?))
    }
}

enum Slots {
    Interval(chrono::Duration),
    Cron(Box<Cron>),
}

impl Slots {
    fn after(&self, t: DateTime<Utc>) -> Result<DateTime<Utc>> {
        match self {
            Slots::Interval(step) => Ok(t + *step),
            Slots::Cron(cron) => {
                // Cron has minute resolution: start from the whole second so stored
                // millisecond instants round-trip.
                let t = crate::store::truncate_to_millis(t);
                cron.find_next_occurrence(&t, false)
                    .map_err(|e| Error::invalid("schedule.cron", format!("has no occurrence after {t}: {e}")))
            }
        }
    }
}

/// Parses a 5-field cron expression (or a nickname), naming the failing field.
fn parse_cron(expr: &str) -> Result<Cron> {
    let trimmed = expr.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(
            "schedule.cron",
            "is empty; write 5 fields: minute hour day-of-month month day-of-week (UTC), e.g. \"0 * * * *\"",
        ));
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if !trimmed.starts_with('@') && fields.len() != 5 {
        return Err(Error::invalid(
            "schedule.cron",
            format!(
                "{trimmed:?} has {} fields; write exactly 5: minute hour day-of-month month day-of-week \
                 (UTC; seconds and years are not supported)",
                fields.len()
            ),
        ));
    }
    Cron::from_str(trimmed).map_err(|e| {
        // Find the culprit: each field alone, the others wildcards.
        let culprit = (0..fields.len().min(5)).find(|&i| {
            let probe: Vec<&str> = (0..5).map(|j| if j == i { fields[i] } else { "*" }).collect();
            Cron::from_str(&probe.join(" ")).is_err()
        });
        match culprit {
            Some(i) => Error::invalid(
                format!("schedule.cron.{}", CRON_FIELDS[i]),
                format!(
                    "{:?} is not a valid {} field: {e}",
                    fields[i],
                    CRON_FIELDS[i].replace('_', "-")
                ),
            ),
            None => Error::invalid(
                "schedule.cron",
                format!("{trimmed:?} is not a valid cron expression: {e}"),
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn interval_validation_names_the_field() {
        for bad in [Duration::from_secs(59), Duration::from_millis(90_500), Duration::ZERO] {
            let err = Schedule::Interval(bad).validate().unwrap_err();
            assert_eq!(err.field(), Some("schedule.interval"), "{bad:?}");
        }
        Schedule::Interval(Duration::from_secs(3600)).validate().unwrap();
    }

    #[test]
    fn cron_validation_names_the_field() {
        let field = |e: &str| {
            Schedule::Cron(e.into())
                .validate()
                .unwrap_err()
                .field()
                .map(str::to_string)
        };
        assert_eq!(field(""), Some("schedule.cron".into()));
        assert_eq!(field("0 * * *"), Some("schedule.cron".into()));
        assert_eq!(
            field("0 0 * * * *"),
            Some("schedule.cron".into()),
            "6 fields (seconds) refused"
        );
        assert_eq!(field("61 * * * *"), Some("schedule.cron.minute".into()));
        assert_eq!(field("0 25 * * *"), Some("schedule.cron.hour".into()));
        assert_eq!(field("0 0 32 * *"), Some("schedule.cron.day_of_month".into()));
        assert_eq!(field("0 0 * 13 *"), Some("schedule.cron.month".into()));
        assert_eq!(field("0 0 * * 9"), Some("schedule.cron.day_of_week".into()));
        for good in ["0 * * * *", "*/15 9-17 * * MON-FRI", "@daily", " 30 6 1 * * "] {
            Schedule::Cron(good.into())
                .validate()
                .unwrap_or_else(|e| panic!("{good:?}: {e}"));
        }
    }

    #[test]
    fn next_slot() {
        let now = t("2025-01-01T00:10:00Z");
        let hourly = Schedule::Cron("0 * * * *".into());
        assert_eq!(hourly.next_after(now).unwrap(), t("2025-01-01T01:00:00Z"));
        assert_eq!(
            hourly.next_after(t("2025-01-01T01:00:00Z")).unwrap(),
            t("2025-01-01T02:00:00Z"),
            "strictly after"
        );
        let every = Schedule::Interval(Duration::from_secs(3600));
        assert_eq!(every.next_after(now).unwrap(), t("2025-01-01T01:10:00Z"));
    }

    #[test]
    fn on_time_slots_run_as_due() {
        let hourly = Schedule::Cron("0 * * * *".into());
        let due = t("2025-01-01T05:00:00Z");
        // Found due a few seconds late: that slot, next one hour after it.
        let (slot, next) = hourly.catch_up(due, t("2025-01-01T05:00:07Z")).unwrap();
        assert_eq!((slot, next), (due, t("2025-01-01T06:00:00Z")));
        let every = Schedule::Interval(Duration::from_secs(3600));
        let (slot, next) = every.catch_up(due, due).unwrap();
        assert_eq!((slot, next), (due, t("2025-01-01T06:00:00Z")));
    }

    #[test]
    fn missed_slots_run_once_for_the_latest() {
        let due = t("2025-01-01T05:00:00Z");
        let now = t("2025-01-01T09:30:00Z"); // 05, 06, 07, 08, 09 missed
        let hourly = Schedule::Cron("0 * * * *".into());
        assert_eq!(
            hourly.catch_up(due, now).unwrap(),
            (t("2025-01-01T09:00:00Z"), t("2025-01-01T10:00:00Z"))
        );
        let every = Schedule::Interval(Duration::from_secs(3600));
        assert_eq!(
            every.catch_up(due, now).unwrap(),
            (t("2025-01-01T09:00:00Z"), t("2025-01-01T10:00:00Z"))
        );
        // Exactly on a later slot: that slot runs, the next is one period on.
        assert_eq!(
            every.catch_up(due, t("2025-01-01T09:00:00Z")).unwrap(),
            (t("2025-01-01T09:00:00Z"), t("2025-01-01T10:00:00Z"))
        );
        // Weekdays only: from Friday 09:00 missed over the weekend to Monday 10:00.
        let weekdays = Schedule::Cron("0 9 * * MON-FRI".into());
        assert_eq!(
            weekdays
                .catch_up(t("2025-01-03T09:00:00Z"), t("2025-01-06T10:00:00Z"))
                .unwrap(),
            (t("2025-01-06T09:00:00Z"), t("2025-01-07T09:00:00Z"))
        );
        assert!(hourly.catch_up(now, due).is_err(), "not due yet");
    }

    #[test]
    fn stored_form_round_trips() {
        for s in [
            Schedule::Interval(Duration::from_secs(5400)),
            Schedule::Cron("0 */2 * * *".into()),
        ] {
            let stored = s.to_stored(t("2025-01-01T00:00:00Z"));
            assert_eq!(Schedule::from_stored(stored.kind, &stored.expr).unwrap(), s);
        }
    }
}
