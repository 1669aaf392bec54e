//! The indicators supervisors read, computed in SQL over the projections (no document is
//! loaded): closure rates, rework, overdue by age, visit coverage, ledger completeness.
//!
//! Definitions (period = issues reported in `[from, to)`; voided issues never count):
//! - due to close: closed (Closed or Evaluated) issues, plus open issues whose deadline has
//!   passed at `now`;
//! - 结案率 closure rate = closed ÷ due to close;
//! - 按期结案率 on-time rate = closed on time ÷ due to close (an issue closed without a
//!   dispatch deadline, i.e. self-handled, counts as on time);
//! - 返工率 rework rate = dispatched issues returned at least once ÷ dispatched issues;
//! - overdue by age: open issues past their deadline, by days past it (<1, 1–3, 3–7, ≥7);
//! - visit coverage: households with a visit in the last 30 / 90 days ÷ households, by
//!   grid and by worker (a worker's households are those of their grids);
//! - ledger completeness: households with every required field ÷ households.

use super::console::ConsoleScope;
use super::issues::grid_filter;
use super::SqliteDistrict;
use crate::Result;
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorQuery {
    /// Grids to count (already narrowed to the caller's scope); `None` = all.
    pub grids: Option<Vec<String>>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub now_ms: i64,
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

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl SqliteDistrict {
    /// Every indicator for `q` (one read snapshot).
    pub fn indicators(&self, q: &IndicatorQuery) -> Result<Indicators> {
        self.with_reader(|conn| indicators_on(conn, q))
    }

    /// The indicators of a console user's scope narrowed to `wanted` grids.
    pub fn scoped_indicators(
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

fn params(args: &[Value]) -> rusqlite::ParamsFromIter<std::slice::Iter<'_, Value>> {
    rusqlite::params_from_iter(args.iter())
}

pub(crate) fn indicators_on(conn: &Connection, q: &IndicatorQuery) -> Result<Indicators> {
    let now = q.now_ms;
    let mut out = Indicators::default();

    // Issues.
    let mut args = vec![Value::Integer(now)];
    let mut w = vec![
        grid_filter("grid_id", &q.grids, &mut args),
        "state IS NOT NULL AND state != 'Voided'".to_string(),
    ];
    if let Some(f) = q.from {
        args.push(Value::Integer(f));
        w.push(format!("reported_at >= ?{}", args.len()));
    }
    if let Some(t) = q.to {
        args.push(Value::Integer(t));
        w.push(format!("reported_at < ?{}", args.len()));
    }
    let wsql = w.join(" AND ");
    let open = "state NOT IN ('Closed', 'Evaluated')";
    let sql = format!(
        "SELECT count(*),
            sum(CASE WHEN closed_at IS NOT NULL OR ({open} AND deadline IS NOT NULL AND deadline < ?1) THEN 1 ELSE 0 END),
            sum(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END),
            sum(CASE WHEN closed_at IS NOT NULL AND coalesce(closed_on_time, 1) = 1 THEN 1 ELSE 0 END),
            sum(CASE WHEN dispatched_at IS NOT NULL THEN 1 ELSE 0 END),
            sum(CASE WHEN dispatched_at IS NOT NULL AND rework_count > 0 THEN 1 ELSE 0 END),
            avg(satisfaction),
            sum(CASE WHEN {open} AND deadline IS NOT NULL AND ?1 > deadline THEN 1 ELSE 0 END),
            sum(CASE WHEN {open} AND deadline IS NOT NULL AND ?1 <= deadline
                AND (?1 - coalesce(dispatched_at, reported_at)) * 10
                    >= (deadline - coalesce(dispatched_at, reported_at)) * 8 THEN 1 ELSE 0 END),
            sum(CASE WHEN {open} AND deadline IS NOT NULL AND ?1 > deadline AND ?1 - deadline < {d1} THEN 1 ELSE 0 END),
            sum(CASE WHEN {open} AND deadline IS NOT NULL AND ?1 - deadline >= {d1} AND ?1 - deadline < {d3} THEN 1 ELSE 0 END),
            sum(CASE WHEN {open} AND deadline IS NOT NULL AND ?1 - deadline >= {d3} AND ?1 - deadline < {d7} THEN 1 ELSE 0 END),
            sum(CASE WHEN {open} AND deadline IS NOT NULL AND ?1 - deadline >= {d7} THEN 1 ELSE 0 END),
            sum(CASE WHEN {open} THEN 1 ELSE 0 END)
         FROM issues WHERE {wsql}",
        d1 = DAY,
        d3 = 3 * DAY,
        d7 = 7 * DAY,
    );
    conn.query_row(&sql, params(&args), |r| {
        let g =
            |i: usize| -> rusqlite::Result<i64> { Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0)) };
        out.issues = g(0)?;
        out.due_to_close = g(1)?;
        out.closed = g(2)?;
        out.closed_on_time = g(3)?;
        out.dispatched = g(4)?;
        out.reworked = g(5)?;
        out.satisfaction_avg = r.get(6)?;
        out.open_red = g(7)?;
        out.open_yellow = g(8)?;
        out.overdue_by_age = [g(9)?, g(10)?, g(11)?, g(12)?];
        out.open_green = g(13)? - out.open_red - out.open_yellow;
        Ok(())
    })?;
    out.closure_rate = ratio(out.closed, out.due_to_close);
    out.on_time_rate = ratio(out.closed_on_time, out.due_to_close);
    out.rework_rate = ratio(out.reworked, out.dispatched);
    {
        // Issues by state (voided included, so the board adds up).
        let mut args2 = Vec::new();
        let f = grid_filter("grid_id", &q.grids, &mut args2);
        let mut w2 = vec![f, "state IS NOT NULL".to_string()];
        if let Some(from) = q.from {
            args2.push(Value::Integer(from));
            w2.push(format!("reported_at >= ?{}", args2.len()));
        }
        if let Some(t) = q.to {
            args2.push(Value::Integer(t));
            w2.push(format!("reported_at < ?{}", args2.len()));
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT state, count(*) FROM issues WHERE {} GROUP BY state ORDER BY state",
            w2.join(" AND ")
        ))?;
        out.by_state = stmt
            .query_map(params(&args2), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
    }

    // Households: completeness and coverage by grid (one pass over recent visits).
    let mut args = vec![
        Value::Integer(now - 30 * DAY),
        Value::Integer(now - 90 * DAY),
    ];
    let hf = grid_filter("h.grid_id", &q.grids, &mut args);
    let vf = hf.replace("h.grid_id", "v.grid_id");
    let sql = format!(
        "WITH hh AS (SELECT grid_id, count(*) AS n, sum(complete) AS c FROM households h
                     WHERE {hf} GROUP BY grid_id),
              -- One row per (grid, household) visited in 90 days, with its latest visit.
              hv AS (SELECT v.grid_id, v.household_id, max(v.at) AS last FROM visits v
                     WHERE v.at >= ?2 AND {vf} GROUP BY v.grid_id, v.household_id),
              vv AS (SELECT grid_id, sum(last >= ?1) AS v30, count(*) AS v90
                     FROM hv GROUP BY grid_id)
         SELECT hh.grid_id, hh.n, hh.c, coalesce(vv.v30, 0), coalesce(vv.v90, 0)
         FROM hh LEFT JOIN vv ON vv.grid_id = hh.grid_id ORDER BY hh.grid_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params(&args), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    for row in rows {
        let (grid, n, c, v30, v90) = row?;
        out.households += n;
        out.complete += c;
        out.visited_30d += v30;
        out.visited_90d += v90;
        out.coverage_by_grid.push(Coverage {
            key: grid.clone(),
            name: grid,
            households: n,
            visited_30d: v30,
            visited_90d: v90,
        });
    }
    out.completeness = ratio(out.complete, out.households);

    // Ledger quality: an ID number on two living persons is one person registered twice
    // (two workers registering the same resident offline), or a typo. District-wide from
    // the holder counts kept by triggers (migration 008); within a scope over the index.
    let mut args = Vec::new();
    let dup_sql = match &q.grids {
        None => "SELECT count(*) FROM id_number_holders WHERE living > 1".to_string(),
        Some(_) => format!(
            "SELECT count(*) FROM (SELECT 1 FROM persons p
             JOIN households h ON h.doc_id = p.household_id
             WHERE p.id_number IS NOT NULL AND p.id_number <> '' AND p.status = 'Living'
               AND {}
             GROUP BY p.id_number HAVING count(*) > 1)",
            grid_filter("h.grid_id", &q.grids, &mut args)
        ),
    };
    out.duplicate_ids = conn.query_row(&dup_sql, params(&args), |r| r.get(0))?;

    // Coverage by worker: households of the worker's grids they visited themselves.
    let mut args = vec![
        Value::Integer(now - 30 * DAY),
        Value::Integer(now - 90 * DAY),
    ];
    let uf = grid_filter("ug.grid_id", &q.grids, &mut args);
    let sql = format!(
        "WITH wg AS (SELECT ug.user_id, ug.grid_id FROM user_grids ug
                     JOIN users u ON u.user_id = ug.user_id
                     WHERE u.role = 'worker' AND {uf}),
              hn AS (SELECT wg.user_id, count(*) AS n FROM wg
                     JOIN households h ON h.grid_id = wg.grid_id GROUP BY wg.user_id),
              wv AS (SELECT v.worker_id, v.grid_id, v.household_id, max(v.at) AS last
                     FROM visits v WHERE v.at >= ?2
                     GROUP BY v.worker_id, v.grid_id, v.household_id),
              vv AS (SELECT wv.worker_id, sum(wv.last >= ?1) AS v30, count(*) AS v90 FROM wv
                     JOIN wg ON wg.user_id = wv.worker_id AND wg.grid_id = wv.grid_id
                     GROUP BY wv.worker_id)
         SELECT u.user_id, u.display_name, coalesce(hn.n, 0), coalesce(vv.v30, 0), coalesce(vv.v90, 0)
         FROM users u JOIN (SELECT DISTINCT user_id FROM wg) w ON w.user_id = u.user_id
         LEFT JOIN hn ON hn.user_id = u.user_id LEFT JOIN vv ON vv.worker_id = u.user_id
         ORDER BY u.display_name, u.user_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    out.coverage_by_worker = stmt
        .query_map(params(&args), |r| {
            Ok(Coverage {
                key: r.get(0)?,
                name: r.get(1)?,
                households: r.get(2)?,
                visited_30d: r.get(3)?,
                visited_90d: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewUser;
    use rusqlite::params;

    const NOW: i64 = 1_000 * DAY;

    /// A small known district, written straight into the projection tables.
    fn known() -> (tempfile::TempDir, SqliteDistrict) {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = SqliteDistrict::open(dir.path()).expect("open");
        let w = |name: &str, grid: &str| NewUser {
            username: name.into(),
            display_name: name.into(),
            role: "worker".into(),
            grids: vec![grid.into()],
        };
        d.create_user_with_id("wa", &w("wa", "gA"), 0)
            .expect("user");
        d.create_user_with_id("wb", &w("wb", "gB"), 0)
            .expect("user");
        d.with_writer(|s| {
            let c = &s.conn;
            // Households: gA has 4 (3 complete), gB has 2 (1 complete).
            for (id, grid, complete) in [
                ("h1", "gA", 1),
                ("h2", "gA", 1),
                ("h3", "gA", 1),
                ("h4", "gA", 0),
                ("h5", "gB", 1),
                ("h6", "gB", 0),
            ] {
                c.execute(
                    "INSERT INTO households (doc_id, grid_id, community_code, building_no,
                        building_name, unit, floor, room, address, housing_use, household_type,
                        head_name, phone, member_count, tags, restricted, search, tails,
                        complete, conflicts, updated_at)
                     VALUES (?1, ?2, 'c', '1', '1栋', '1', 1, '101', '1栋1单元101', 'SelfOccupied',
                        'Registered', '张三', NULL, 1, ' ', ' ', '|', ' ', ?3, 0, 0)",
                    params![id, grid, complete],
                )?;
            }
            // Persons: one ID number twice in gA (h1, h2), once more in gB (h5); a second
            // shared ID where one holder moved out (not a duplicate).
            for (hh, person, id, status) in [
                ("h1", "p1", "X1", "Living"),
                ("h2", "p2", "X1", "Living"),
                ("h5", "p3", "X1", "Living"),
                ("h3", "p4", "X2", "Living"),
                ("h4", "p5", "X2", "MovedOut"),
                ("h6", "p6", "X3", "Living"),
            ] {
                c.execute(
                    "INSERT INTO persons (person_id, household_id, name, sex, id_number, relation,
                        population_type, status, tags, restricted)
                     VALUES (?1, ?2, '张三', 'Male', ?3, 'Head', 'Registered', ?4, ' ', ' ')",
                    params![person, hh, id, status],
                )?;
            }
            // Visits: h1 at 10 days and 20 days ago (wa), h2 at 60 days ago (wa),
            // h4 at 100 days ago (wa, outside 90), h5 at 5 days ago (wb).
            for (id, hh, grid, worker, days) in [
                ("v1", "h1", "gA", "wa", 10),
                ("v2", "h1", "gA", "wa", 20),
                ("v3", "h2", "gA", "wa", 60),
                ("v4", "h4", "gA", "wa", 100),
                ("v5", "h5", "gB", "wb", 5),
            ] {
                c.execute(
                    "INSERT INTO visits (doc_id, household_id, grid_id, worker_id, device_id, at,
                        mode, findings, needs) VALUES (?1, ?2, ?3, ?4, 'd', ?5, 'InPerson', '', '')",
                    params![id, hh, grid, worker, NOW - days * DAY],
                )?;
            }
            // Issues (reported_at, dispatched_at, deadline, closed_at, on_time, rework, sat):
            type Row<'a> = (&'a str, &'a str, &'a str, Option<i64>, Option<i64>, Option<i64>, Option<i64>, i64, Option<i64>);
            let rows: [Row<'_>; 7] = [
                // closed on time, evaluated 4
                ("i1", "gA", "Evaluated", Some(NOW - 20 * DAY), Some(NOW - 10 * DAY), Some(NOW - 12 * DAY), Some(1), 0, Some(4)),
                // closed late after one rework
                ("i2", "gA", "Closed", Some(NOW - 20 * DAY), Some(NOW - 10 * DAY), Some(NOW - 8 * DAY), Some(0), 1, None),
                // open, 2 days past the deadline (red)
                ("i3", "gA", "Dispatched", Some(NOW - 10 * DAY), Some(NOW - 2 * DAY), None, None, 0, None),
                // open, 10 days past (red), reworked
                ("i4", "gB", "InProgress", Some(NOW - 20 * DAY), Some(NOW - 10 * DAY), None, None, 2, None),
                // open, 90% used (yellow): dispatched 9 days ago, deadline in 1 day
                ("i5", "gB", "Dispatched", Some(NOW - 9 * DAY), Some(NOW + DAY), None, None, 0, None),
                // reported only: not due
                ("i6", "gA", "Reported", None, None, None, None, 0, None),
                // voided: never counts
                ("i7", "gA", "Voided", None, None, None, None, 0, None),
            ];
            for (id, grid, state, dispatched, deadline, closed, on_time, rework, sat) in rows {
                c.execute(
                    "INSERT INTO issues (doc_id, grid_id, category, title, urgency, state,
                        reported_at, dispatched_at, deadline, closed_at, closed_on_time,
                        rework_count, satisfaction, conflicts, department)
                     VALUES (?1, ?2, 'other', 't', 'Normal', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, 'x')",
                    params![id, grid, state, NOW - 30 * DAY, dispatched, deadline, closed, on_time, rework, sat],
                )?;
            }
            Ok(())
        })
        .expect("fill");
        (dir, d)
    }

    #[test]
    fn figures_match_a_hand_computation() {
        let (_dir, d) = known();
        let all = d
            .indicators(&IndicatorQuery {
                now_ms: NOW,
                ..Default::default()
            })
            .expect("indicators");
        // 6 issues not voided; due = closed (i1, i2) + overdue open (i3, i4) = 4.
        assert_eq!(all.issues, 6);
        assert_eq!(all.due_to_close, 4);
        assert_eq!(all.closed, 2);
        assert_eq!(all.closed_on_time, 1);
        assert_eq!(all.closure_rate, Some(0.5));
        assert_eq!(all.on_time_rate, Some(0.25));
        // Dispatched: i1..i5 = 5; reworked: i2, i4 = 2.
        assert_eq!((all.dispatched, all.reworked), (5, 2));
        assert_eq!(all.rework_rate, Some(0.4));
        assert_eq!(all.satisfaction_avg, Some(4.0));
        // Open: i3 red, i4 red, i5 yellow, i6 (no deadline) green.
        assert_eq!((all.open_green, all.open_yellow, all.open_red), (1, 1, 2));
        // i3 is 2 days past (1–3), i4 10 days past (≥7).
        assert_eq!(all.overdue_by_age, [0, 1, 0, 1]);
        // Households 6, complete 4.
        assert_eq!((all.households, all.complete), (6, 4));
        assert!((all.completeness.expect("some") - 4.0 / 6.0).abs() < 1e-12);
        // Duplicates: X1 (three living holders); X2's second holder moved out.
        assert_eq!(all.duplicate_ids, 1);
        // The district-wide count follows the projection: p5 moves back in (X2 doubles),
        // h1's person is replaced by one without an ID (X1 still has two holders).
        d.with_writer(|s| {
            s.conn.execute(
                "UPDATE persons SET status = 'Living' WHERE person_id = 'p5'",
                [],
            )?;
            s.conn
                .execute("DELETE FROM persons WHERE person_id = 'p1'", [])?;
            Ok(())
        })
        .expect("edit");
        let again = d
            .indicators(&IndicatorQuery {
                now_ms: NOW,
                ..Default::default()
            })
            .expect("indicators");
        assert_eq!(again.duplicate_ids, 2);
        // 30 days: h1, h5; 90 days: h1, h2, h5.
        assert_eq!((all.visited_30d, all.visited_90d), (2, 3));
        let ga = &all.coverage_by_grid[0];
        assert_eq!(
            (
                ga.key.as_str(),
                ga.households,
                ga.visited_30d,
                ga.visited_90d
            ),
            ("gA", 4, 1, 2)
        );
        let wa = all
            .coverage_by_worker
            .iter()
            .find(|c| c.key == "wa")
            .expect("wa");
        assert_eq!((wa.households, wa.visited_30d, wa.visited_90d), (4, 1, 2));
        let wb = all
            .coverage_by_worker
            .iter()
            .find(|c| c.key == "wb")
            .expect("wb");
        assert_eq!((wb.households, wb.visited_30d, wb.visited_90d), (2, 1, 1));

        // Grid B alone.
        let b = d
            .indicators(&IndicatorQuery {
                grids: Some(vec!["gB".into()]),
                now_ms: NOW,
                ..Default::default()
            })
            .expect("indicators");
        assert_eq!((b.issues, b.due_to_close, b.closed), (2, 1, 0));
        assert_eq!(b.closure_rate, Some(0.0));
        assert_eq!(b.rework_rate, Some(0.5));
        assert_eq!((b.households, b.complete, b.visited_30d), (2, 1, 1));
        // Within gB alone X1 has one holder: no duplicate there.
        assert_eq!(b.duplicate_ids, 0);
        assert_eq!(b.coverage_by_worker.len(), 1);

        // Period: reported within the last 25 days — every issue was reported 30 days ago.
        let none = d
            .indicators(&IndicatorQuery {
                from: Some(NOW - 25 * DAY),
                now_ms: NOW,
                ..Default::default()
            })
            .expect("indicators");
        assert_eq!((none.issues, none.due_to_close), (0, 0));
        assert_eq!(none.closure_rate, None);
    }
}
