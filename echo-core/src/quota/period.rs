//! Quota periods: the window a monthly allowance applies to.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A quota window `[start, end)`. Usage is counted per period; a new period starts from
/// zero, so `end` is when the allowance resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuotaPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl QuotaPeriod {
    /// The calendar month (UTC) containing `now`: from the first of the month at midnight
    /// to the first of the next month.
    pub fn calendar_month(now: DateTime<Utc>) -> Self {
        let first = |year: i32, month: u32| {
            NaiveDate::from_ymd_opt(year, month, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .expect("the first of a month at midnight exists")
        };
        let (year, month) = (now.year(), now.month());
        let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        Self {
            start: first(year, month),
            end: first(next_year, next_month),
        }
    }

    /// Whether `t` falls inside the period.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn calendar_months_cover_time_without_gaps() {
        let p = QuotaPeriod::calendar_month(t("2026-11-15T10:30:00Z"));
        assert_eq!(p.start, t("2026-11-01T00:00:00Z"));
        assert_eq!(p.end, t("2026-12-01T00:00:00Z"));

        let dec = QuotaPeriod::calendar_month(t("2026-12-31T23:59:59.999Z"));
        assert_eq!(dec.start, t("2026-12-01T00:00:00Z"));
        assert_eq!(dec.end, t("2027-01-01T00:00:00Z"));
        assert!(dec.contains(t("2026-12-31T23:59:59.999Z")));
        assert!(!dec.contains(t("2027-01-01T00:00:00Z")));

        // The instant of the boundary belongs to the new month.
        assert_eq!(QuotaPeriod::calendar_month(dec.end).start, dec.end);
        let feb = QuotaPeriod::calendar_month(t("2028-02-29T12:00:00Z"));
        assert_eq!(feb.end, t("2028-03-01T00:00:00Z"));
    }
}
