//! Deadlines (处置时限) and overdue levels (红黄绿灯).
//!
//! An issue's time limit comes from its category: a number of hours, working days or
//! calendar days. Days are counted in Asia/Shanghai local time against a [`WorkCalendar`]
//! that knows the public holidays and the make-up working days (调休) of the year. Times
//! go in and come out as ms since the Unix epoch (UTC); nothing here reads a clock.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The time zone every day-based deadline is counted in.
pub const TZ: Tz = chrono_tz::Asia::Shanghai;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Day counts are clamped to this (about 100 years) so that absurd input stays cheap.
const MAX_DAYS: i64 = 36_600;

/// How long the handling of a category may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeLimit {
    /// This many hours from the start, to the millisecond.
    Hours(i64),
    /// To the end of the n-th working day after the start day.
    WorkingDays(i64),
    /// To the end of the local day n days after the start day.
    CalendarDays(i64),
}

/// A built-in issue category with its default time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Category {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub limit: TimeLimit,
}

impl Category {
    /// The category as an owned, editable configuration entry.
    pub fn config(&self) -> CategoryConfig {
        CategoryConfig {
            code: self.code.to_string(),
            zh: self.zh.to_string(),
            en: self.en.to_string(),
            limit: self.limit,
        }
    }
}

/// The built-in categories. An admin may override them with [`CategoryConfig`] entries.
pub const CATEGORIES: &[Category] = &[
    Category {
        code: "environment_sanitation",
        zh: "环境卫生",
        en: "Environment & sanitation",
        limit: TimeLimit::WorkingDays(3),
    },
    Category {
        code: "municipal_facilities",
        zh: "市政设施",
        en: "Municipal facilities",
        limit: TimeLimit::WorkingDays(5),
    },
    Category {
        code: "neighbour_dispute",
        zh: "邻里纠纷",
        en: "Neighbour dispute",
        limit: TimeLimit::CalendarDays(7),
    },
    Category {
        code: "safety_hazard",
        zh: "安全隐患",
        en: "Safety hazard",
        limit: TimeLimit::Hours(24),
    },
    Category {
        code: "assistance_request",
        zh: "帮扶救助",
        en: "Assistance request",
        limit: TimeLimit::WorkingDays(3),
    },
    Category {
        code: "policy_enquiry",
        zh: "政策咨询",
        en: "Policy enquiry",
        limit: TimeLimit::WorkingDays(2),
    },
    Category {
        code: "other",
        zh: "其他",
        en: "Other",
        limit: TimeLimit::WorkingDays(5),
    },
];

/// The built-in category with this code.
pub fn category(code: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.code == code)
}

/// A category as an admin configures it (owned, so it can be stored and edited).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CategoryConfig {
    pub code: String,
    pub zh: String,
    pub en: String,
    pub limit: TimeLimit,
}

impl CategoryConfig {
    /// The built-in categories as configuration entries.
    pub fn defaults() -> Vec<CategoryConfig> {
        CATEGORIES.iter().map(Category::config).collect()
    }
}

/// The time limit of a category code: the admin's override if there is one, else the
/// built-in category, else the limit of `other`.
pub fn limit_for(code: &str, overrides: &[CategoryConfig]) -> TimeLimit {
    if let Some(c) = overrides.iter().find(|c| c.code == code) {
        return c.limit;
    }
    category(code)
        .or_else(|| category("other"))
        .map_or(TimeLimit::WorkingDays(5), |c| c.limit)
}

/// Which days are working days: Monday to Friday except holidays, plus make-up working
/// days (调休上班, usually a Saturday or Sunday next to a long holiday).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkCalendar {
    /// Days off (放假). Weekend days may be listed too; it changes nothing.
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend days that are working days (调休上班). They win over `holidays`.
    pub makeup_workdays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.makeup_workdays.contains(&day) {
            return true;
        }
        let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        weekday && !self.holidays.contains(&day)
    }

    /// The first working day strictly after `day`, if the calendar range allows it.
    pub fn next_working_day(&self, day: NaiveDate) -> Option<NaiveDate> {
        let mut d = day.succ_opt()?;
        // Terminates: every week has five weekdays and only finitely many are holidays.
        while !self.is_working_day(d) {
            d = d.succ_opt()?;
        }
        Some(d)
    }

    /// Mainland China's 2026 public holidays and make-up working days, from the State
    /// Council notice on the 2026 holiday arrangements (国务院办公厅关于2026年部分节假日安排的
    /// 通知, 4 November 2025). Admins can edit the calendar (both sets are plain data) and
    /// must add each later year when its notice is published.
    pub fn china_2026() -> WorkCalendar {
        // (month, first day, last day) of each holiday period, inclusive.
        const HOLIDAYS: &[(u32, u32, u32)] = &[
            (1, 1, 3),   // 元旦 New Year
            (2, 15, 23), // 春节 Spring Festival
            (4, 4, 6),   // 清明节 Qingming
            (5, 1, 5),   // 劳动节 Labour Day
            (6, 19, 21), // 端午节 Dragon Boat
            (9, 25, 27), // 中秋节 Mid-Autumn
            (10, 1, 7),  // 国庆节 National Day
        ];
        const MAKEUP: &[(u32, u32)] = &[(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)];
        let mut cal = WorkCalendar::default();
        for &(m, first, last) in HOLIDAYS {
            for d in first..=last {
                if let Some(day) = NaiveDate::from_ymd_opt(2026, m, d) {
                    cal.holidays.insert(day);
                }
            }
        }
        for &(m, d) in MAKEUP {
            if let Some(day) = NaiveDate::from_ymd_opt(2026, m, d) {
                cal.makeup_workdays.insert(day);
            }
        }
        cal
    }
}

/// The Asia/Shanghai local date of an instant, or `None` outside chrono's range.
pub fn local_date(ms: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&TZ).date_naive())
}

/// The instant (ms) of local midnight at the start of `day` in Asia/Shanghai.
pub fn local_midnight_ms(day: NaiveDate) -> Option<i64> {
    TZ.from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// The deadline of something started at `start_ms` with time limit `limit`.
///
/// Rules (local time is Asia/Shanghai):
/// - `Hours(n)`: exactly `start + n` hours, whatever the time of day, weekends included.
/// - `CalendarDays(n)`: the end (24:00, i.e. the next midnight) of the local day `n` days
///   after the start day. `CalendarDays(0)` is the end of the start day.
/// - `WorkingDays(n)`: counting starts on the first working day after the start day (the
///   start day itself never counts, even if it is a working day); the deadline is the end
///   (24:00 local) of the `n`-th working day. Working days come from `cal`: Monday to
///   Friday except holidays, plus make-up working days. `WorkingDays(0)` is the end of
///   the start day.
///
/// Negative counts are treated as 0 and counts above ~100 years are clamped. Never
/// panics: arithmetic saturates, and a start outside the calendar's range falls back to
/// `n` whole days of 24 hours.
pub fn deadline(start_ms: i64, limit: &TimeLimit, cal: &WorkCalendar) -> i64 {
    match *limit {
        TimeLimit::Hours(n) => start_ms.saturating_add(n.max(0).saturating_mul(HOUR_MS)),
        TimeLimit::CalendarDays(n) => {
            let n = n.clamp(0, MAX_DAYS);
            local_date(start_ms)
                .and_then(|d| d.checked_add_days(Days::new(n.unsigned_abs() + 1)))
                .and_then(local_midnight_ms)
                .unwrap_or_else(|| fallback(start_ms, n))
        }
        TimeLimit::WorkingDays(n) => {
            let n = n.clamp(0, MAX_DAYS);
            working_days_deadline(start_ms, n, cal).unwrap_or_else(|| fallback(start_ms, n))
        }
    }
}

fn working_days_deadline(start_ms: i64, n: i64, cal: &WorkCalendar) -> Option<i64> {
    let mut day = local_date(start_ms)?;
    for _ in 0..n {
        day = cal.next_working_day(day)?;
    }
    local_midnight_ms(day.succ_opt()?)
}

fn fallback(start_ms: i64, days: i64) -> i64 {
    start_ms.saturating_add(days.saturating_mul(DAY_MS))
}

/// How much of its time an open item has used: the traffic light of the issue list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OverdueLevel {
    /// Below 80% of the time used.
    Green,
    /// From 80% up to and including 100% of the time used.
    Yellow,
    /// Past the deadline (逾期).
    Red,
}

impl OverdueLevel {
    pub fn zh(self) -> &'static str {
        match self {
            OverdueLevel::Green => "正常",
            OverdueLevel::Yellow => "预警",
            OverdueLevel::Red => "逾期",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            OverdueLevel::Green => "On track",
            OverdueLevel::Yellow => "Due soon",
            OverdueLevel::Red => "Overdue",
        }
    }
}

/// The overdue level at `now_ms` of an item that started at `start_ms` and is due at
/// `deadline_ms`. With `used = (now - start) / (deadline - start)`: Green below 0.8,
/// Yellow from 0.8 to 1.0 inclusive, Red above 1.0 (now past the deadline). Exact integer
/// arithmetic, so the boundaries are exact. A deadline at or before the start has no time
/// to use: Red once now is past the deadline, Yellow until then.
pub fn overdue_level(start_ms: i64, deadline_ms: i64, now_ms: i64) -> OverdueLevel {
    if now_ms > deadline_ms {
        return OverdueLevel::Red;
    }
    let total = i128::from(deadline_ms) - i128::from(start_ms);
    if total <= 0 {
        return OverdueLevel::Yellow;
    }
    let used = i128::from(now_ms) - i128::from(start_ms);
    // used / total < 0.8  <=>  5 * used < 4 * total (total > 0).
    if used * 5 < total * 4 {
        OverdueLevel::Green
    } else {
        OverdueLevel::Yellow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ms of a local Asia/Shanghai wall-clock time.
    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        TZ.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid local time")
            .timestamp_millis()
    }

    fn midnight(y: i32, m: u32, d: u32) -> i64 {
        local(y, m, d, 0, 0)
    }

    #[test]
    fn categories_are_complete_and_unique() {
        for code in [
            "environment_sanitation",
            "municipal_facilities",
            "neighbour_dispute",
            "safety_hazard",
            "assistance_request",
            "policy_enquiry",
            "other",
        ] {
            assert!(category(code).is_some(), "{code}");
        }
        let codes: BTreeSet<&str> = CATEGORIES.iter().map(|c| c.code).collect();
        assert_eq!(codes.len(), CATEGORIES.len());
        assert_eq!(
            category("safety_hazard").map(|c| c.limit),
            Some(TimeLimit::Hours(24))
        );
        assert_eq!(category("nope"), None);
    }

    #[test]
    fn overrides_win_over_built_in_limits() {
        let mut cfg = CategoryConfig::defaults();
        cfg[0].limit = TimeLimit::Hours(8);
        let code = cfg[0].code.clone();
        assert_eq!(limit_for(&code, &cfg), TimeLimit::Hours(8));
        assert_eq!(limit_for(&code, &[]), TimeLimit::WorkingDays(3));
        assert_eq!(limit_for("unknown", &[]), TimeLimit::WorkingDays(5));
        let json = serde_json::to_string(&cfg[0]).expect("serialize");
        let back: CategoryConfig = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, cfg[0]);
    }

    #[test]
    fn working_days_skip_the_weekend() {
        let cal = WorkCalendar::default();
        // Thursday 5 March 2026: Fri 6, Mon 9, Tue 10 → end of Tuesday.
        let start = local(2026, 3, 5, 9, 30);
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(3), &cal),
            midnight(2026, 3, 11)
        );
        // Started on a Saturday: Mon 9 is the first working day.
        let start = local(2026, 3, 7, 15, 0);
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(1), &cal),
            midnight(2026, 3, 10)
        );
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(0), &cal),
            midnight(2026, 3, 8)
        );
    }

    #[test]
    fn working_days_skip_holidays() {
        let cal = WorkCalendar::china_2026();
        // Thursday 2 April: Fri 3 counts, 4–6 April is Qingming, Tue 7 is the second day.
        let start = local(2026, 4, 2, 10, 0);
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(2), &cal),
            midnight(2026, 4, 8)
        );
        // Without the holiday, Monday 6 would have been the second day.
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(2), &WorkCalendar::default()),
            midnight(2026, 4, 7)
        );
        // National Day: reported Wed 30 Sep, 1–7 Oct off → Thu 8, Fri 9, Sat 10 (make-up).
        let start = local(2026, 9, 30, 16, 0);
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(3), &cal),
            midnight(2026, 10, 11)
        );
    }

    #[test]
    fn make_up_days_are_working_days() {
        let cal = WorkCalendar::china_2026();
        // Friday 13 Feb: Saturday 14 Feb is a make-up working day before the Spring Festival.
        let start = local(2026, 2, 13, 11, 0);
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(1), &cal),
            midnight(2026, 2, 15)
        );
        // Then 15–23 Feb are off: Tue 24 and Wed 25 are the next two.
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(3), &cal),
            midnight(2026, 2, 26)
        );
        // Sunday 4 Jan is a make-up day right after the New Year holiday.
        let start = local(2026, 1, 1, 8, 0);
        assert_eq!(
            deadline(start, &TimeLimit::WorkingDays(1), &cal),
            midnight(2026, 1, 5)
        );
        assert!(cal.is_working_day(NaiveDate::from_ymd_opt(2026, 2, 28).expect("date")));
        assert!(!cal.is_working_day(NaiveDate::from_ymd_opt(2026, 2, 16).expect("date")));
    }

    #[test]
    fn hours_cross_midnight_exactly() {
        let cal = WorkCalendar::china_2026();
        let start = local(2026, 3, 5, 22, 30);
        assert_eq!(
            deadline(start, &TimeLimit::Hours(3), &cal),
            local(2026, 3, 6, 1, 30)
        );
        // Hours ignore holidays: 24 hours from New Year's Eve evening.
        let start = local(2025, 12, 31, 20, 0);
        assert_eq!(
            deadline(start, &TimeLimit::Hours(24), &cal),
            local(2026, 1, 1, 20, 0)
        );
    }

    #[test]
    fn calendar_days_end_at_local_midnight() {
        let cal = WorkCalendar::default();
        let start = local(2026, 3, 5, 10, 0);
        assert_eq!(
            deadline(start, &TimeLimit::CalendarDays(7), &cal),
            midnight(2026, 3, 13)
        );
        // 23:30 UTC on 5 March is 07:30 on 6 March in Shanghai: the local day counts.
        let utc = DateTime::parse_from_rfc3339("2026-03-05T23:30:00Z")
            .expect("rfc3339")
            .timestamp_millis();
        assert_eq!(
            deadline(utc, &TimeLimit::CalendarDays(0), &cal),
            midnight(2026, 3, 7)
        );
        assert_eq!(midnight(2026, 3, 7) % DAY_MS, 16 * HOUR_MS);
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let cal = WorkCalendar::china_2026();
        for start in [i64::MIN, -1, 0, i64::MAX] {
            for limit in [
                TimeLimit::Hours(i64::MAX),
                TimeLimit::Hours(i64::MIN),
                TimeLimit::WorkingDays(i64::MAX),
                TimeLimit::WorkingDays(-5),
                TimeLimit::CalendarDays(i64::MAX),
                TimeLimit::CalendarDays(i64::MIN),
            ] {
                let d = deadline(start, &limit, &cal);
                assert!(d >= start, "{start} {limit:?}");
            }
        }
    }

    #[test]
    fn overdue_levels_at_80_and_100_percent() {
        let (start, end) = (1_000, 11_000);
        assert_eq!(overdue_level(start, end, 500), OverdueLevel::Green);
        assert_eq!(overdue_level(start, end, 8_999), OverdueLevel::Green);
        assert_eq!(overdue_level(start, end, 9_000), OverdueLevel::Yellow);
        assert_eq!(overdue_level(start, end, 11_000), OverdueLevel::Yellow);
        assert_eq!(overdue_level(start, end, 11_001), OverdueLevel::Red);
    }

    #[test]
    fn degenerate_deadlines_do_not_panic() {
        assert_eq!(overdue_level(5, 5, 5), OverdueLevel::Yellow);
        assert_eq!(overdue_level(5, 5, 6), OverdueLevel::Red);
        assert_eq!(overdue_level(10, 5, 4), OverdueLevel::Yellow);
        assert_eq!(overdue_level(10, 5, 7), OverdueLevel::Red);
        assert_eq!(
            overdue_level(i64::MIN, i64::MAX, i64::MAX),
            OverdueLevel::Yellow
        );
        assert_eq!(
            overdue_level(i64::MAX, i64::MIN, i64::MIN),
            OverdueLevel::Yellow
        );
        assert_eq!(overdue_level(i64::MIN, i64::MAX, 0), OverdueLevel::Green);
    }

    #[test]
    fn calendar_round_trips_through_json() {
        let cal = WorkCalendar::china_2026();
        let json = serde_json::to_string(&cal).expect("serialize");
        assert!(json.contains("2026-02-14"));
        let back: WorkCalendar = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, cal);
    }
}
