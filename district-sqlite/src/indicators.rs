//! The indicators' counts on SQLite ([`IndicatorStore`]), read in SQL over the
//! projections; the definitions and the arithmetic are in [`gridwalk_district::indicators`].
//! The district-wide duplicate-ID count reads `id_number_holders`, kept by triggers
//! (store/migrations/008_quality.sql).

use super::issues::grid_filter;
use super::SqliteDistrict;
use crate::Result;
use gridwalk_district::indicators::{
    Coverage, GridCounts, IndicatorCounts, IndicatorQuery, IndicatorStore, IssueCounts,
    DAY_MS as DAY,
};
use rusqlite::types::Value;
use rusqlite::Connection;

impl IndicatorStore for SqliteDistrict {
    fn indicator_counts(&self, q: &IndicatorQuery) -> Result<IndicatorCounts> {
        self.with_reader(|conn| counts_on(conn, q))
    }
}

fn params(args: &[Value]) -> rusqlite::ParamsFromIter<std::slice::Iter<'_, Value>> {
    rusqlite::params_from_iter(args.iter())
}

fn counts_on(conn: &Connection, q: &IndicatorQuery) -> Result<IndicatorCounts> {
    let now = q.now_ms;
    let mut out = IndicatorCounts::default();

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
        out.issues = IssueCounts {
            issues: g(0)?,
            due_to_close: g(1)?,
            closed: g(2)?,
            closed_on_time: g(3)?,
            dispatched: g(4)?,
            reworked: g(5)?,
            satisfaction_avg: r.get(6)?,
            open_red: g(7)?,
            open_yellow: g(8)?,
            overdue_by_age: [g(9)?, g(10)?, g(11)?, g(12)?],
            open: g(13)?,
        };
        Ok(())
    })?;
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
    let mut args = vec![Value::Integer(q.since_30d()), Value::Integer(q.since_90d())];
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
    out.grids = stmt
        .query_map(params(&args), |r| {
            Ok(GridCounts {
                grid_id: r.get(0)?,
                households: r.get(1)?,
                complete: r.get(2)?,
                visited_30d: r.get(3)?,
                visited_90d: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;

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
    let mut args = vec![Value::Integer(q.since_30d()), Value::Integer(q.since_90d())];
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
    out.workers = stmt
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
