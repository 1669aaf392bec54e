//! The indicators supervisors read, above the SQL: the query, the figures, and the
//! arithmetic (rates, the green count, totals over grids), written once. A backend's
//! [`IndicatorStore::indicator_counts`] reads the raw counts from its projection tables in
//! one read snapshot (no document is loaded).
//!
//! Definitions (period = issues reported in `[from, to)`; voided issues never count):
//! - due to close: closed (Closed or Evaluated) issues, plus open issues whose deadline has
//!   passed at `now`;
//! - 结案率 closure rate = closed ÷ due to close;
//! - 按期结案率 on-time rate = closed on time ÷ due to close (an issue closed without a
//!   dispatch deadline, i.e. self-handled, counts as on time);
//! - 返工率 rework rate = dispatched issues returned at least once ÷ dispatched issues;
//! - open by light: red past the deadline, yellow with ≥ 80 % of the time since dispatch
//!   (or report) used, green the rest;
//! - overdue by age: open issues past their deadline, by days past it (<1, 1–3, 3–7, ≥7);
//! - visit coverage: households with a visit in the last 30 / 90 days ÷ households, by
//!   grid and by worker (a worker's households are those of their grids, visits their own);
//! - ledger completeness: households with every required field ÷ households;
//! - duplicate IDs: ID numbers held by two or more living persons.

use crate::console::ConsoleScope;
use crate::Result;
use serde::{Deserialize, Serialize};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorQuery {
    /// Grids to count (already narrowed to the caller's scope); `None` = all.
    pub grids: Option<Vec<String>>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub now_ms: i64,
}

impl IndicatorQuery {
    /// Visits at or after this count as "in the last 30 days".
    pub fn since_30d(&self) -> i64 {
        self.now_ms.saturating_sub(30 * DAY_MS)
    }
    /// Visits at or after this count as "in the last 90 days".
    pub fn since_90d(&self) -> i64 {
        self.now_ms.saturating_sub(90 * DAY_MS)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub key: String,
    pub name: String,
    pub households: i64,
    pub visited_30d: i64,
    pub visited_90d: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    pub issues: i64,
    pub due_to_close: i64,
    pub closed: i64,
    pub closed_on_time: i64,
    pub closure_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub dispatched: i64,
    pub reworked: i64,
    pub rework_rate: Option<f64>,
    pub satisfaction_avg: Option<f64>,
    /// Open issues by traffic light: green, yellow, red.
    pub open_green: i64,
    pub open_yellow: i64,
    pub open_red: i64,
    /// Overdue open issues by days past the deadline: [<1, 1–3, 3–7, ≥7].
    pub overdue_by_age: [i64; 4],
    pub by_state: Vec<(String, i64)>,
    pub households: i64,
    pub complete: i64,
    pub completeness: Option<f64>,
    /// ID numbers held by two or more living persons (duplicates in the ledger).
    pub duplicate_ids: i64,
    pub visited_30d: i64,
    pub visited_90d: i64,
    pub coverage_by_grid: Vec<Coverage>,
    pub coverage_by_worker: Vec<Coverage>,
}

/// The issue counts of a period (voided issues left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssueCounts {
    pub issues: i64,
    pub due_to_close: i64,
    pub closed: i64,
    pub closed_on_time: i64,
    pub dispatched: i64,
    pub reworked: i64,
    pub satisfaction_avg: Option<f64>,
    /// Open issues in all, and those red (past the deadline) and yellow.
    pub open: i64,
    pub open_red: i64,
    pub open_yellow: i64,
    pub overdue_by_age: [i64; 4],
}

/// One grid's households: how many, how many complete, how many visited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GridCounts {
    pub grid_id: String,
    pub households: i64,
    pub complete: i64,
    pub visited_30d: i64,
    pub visited_90d: i64,
}

/// What a backend reads for [`Indicators`]: counts only, no arithmetic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndicatorCounts {
    pub issues: IssueCounts,
    /// Issues by state, voided included (so the board adds up), ordered by state.
    pub by_state: Vec<(String, i64)>,
    /// Grids with households, ordered by grid id.
    pub grids: Vec<GridCounts>,
    pub duplicate_ids: i64,
    /// Workers with a grid in the query, ordered by display name then id.
    pub workers: Vec<Coverage>,
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl IndicatorCounts {
    /// The figures the console shows, from the counts.
    pub fn into_indicators(self) -> Indicators {
        let i = self.issues;
        let mut out = Indicators {
            issues: i.issues,
            due_to_close: i.due_to_close,
            closed: i.closed,
            closed_on_time: i.closed_on_time,
            closure_rate: ratio(i.closed, i.due_to_close),
            on_time_rate: ratio(i.closed_on_time, i.due_to_close),
            dispatched: i.dispatched,
            reworked: i.reworked,
            rework_rate: ratio(i.reworked, i.dispatched),
            satisfaction_avg: i.satisfaction_avg,
            open_green: i.open - i.open_red - i.open_yellow,
            open_yellow: i.open_yellow,
            open_red: i.open_red,
            overdue_by_age: i.overdue_by_age,
            by_state: self.by_state,
            duplicate_ids: self.duplicate_ids,
            coverage_by_worker: self.workers,
            ..Default::default()
        };
        for g in self.grids {
            out.households += g.households;
            out.complete += g.complete;
            out.visited_30d += g.visited_30d;
            out.visited_90d += g.visited_90d;
            out.coverage_by_grid.push(Coverage {
                key: g.grid_id.clone(),
                name: g.grid_id,
                households: g.households,
                visited_30d: g.visited_30d,
                visited_90d: g.visited_90d,
            });
        }
        out.completeness = ratio(out.complete, out.households);
        out
    }
}

/// The indicators on a backend: it reads the counts, the rest is here.
pub trait IndicatorStore {
    /// Every count for `q`, in one read snapshot.
    fn indicator_counts(&self, q: &IndicatorQuery) -> Result<IndicatorCounts>;

    /// Every indicator for `q`.
    fn indicators(&self, q: &IndicatorQuery) -> Result<Indicators> {
        Ok(self.indicator_counts(q)?.into_indicators())
    }

    /// The indicators of a console user's scope narrowed to `wanted` grids.
    fn scoped_indicators(
        &self,
        scope: &ConsoleScope,
        wanted: Option<Vec<String>>,
        from: Option<i64>,
        to: Option<i64>,
        now_ms: i64,
    ) -> Result<Indicators> {
        self.indicators(&IndicatorQuery {
            grids: scope.narrow(wanted),
            from,
            to,
            now_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_totals_come_from_the_counts() {
        let counts = IndicatorCounts {
            issues: IssueCounts {
                issues: 6,
                due_to_close: 4,
                closed: 2,
                closed_on_time: 1,
                dispatched: 5,
                reworked: 2,
                open: 4,
                open_red: 2,
                open_yellow: 1,
                ..Default::default()
            },
            grids: vec![
                GridCounts {
                    grid_id: "gA".into(),
                    households: 4,
                    complete: 3,
                    visited_30d: 1,
                    visited_90d: 2,
                },
                GridCounts {
                    grid_id: "gB".into(),
                    households: 2,
                    complete: 1,
                    visited_30d: 1,
                    visited_90d: 1,
                },
            ],
            ..Default::default()
        };
        let out = counts.into_indicators();
        assert_eq!(out.closure_rate, Some(0.5));
        assert_eq!(out.on_time_rate, Some(0.25));
        assert_eq!(out.rework_rate, Some(0.4));
        assert_eq!(out.open_green, 1);
        assert_eq!((out.households, out.complete), (6, 4));
        assert_eq!((out.visited_30d, out.visited_90d), (2, 3));
        assert_eq!(out.coverage_by_grid[1].key, "gB");
        assert!((out.completeness.expect("some") - 4.0 / 6.0).abs() < 1e-12);
        let empty = IndicatorCounts::default().into_indicators();
        assert_eq!((empty.closure_rate, empty.completeness), (None, None));
    }
}
