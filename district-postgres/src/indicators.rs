//! The indicators' counts on PostgreSQL ([`IndicatorStore`]), read from the projection
//! tables (migration 004) in one snapshot; the definitions and the arithmetic are in
//! [`gridwalk_district::indicators`]. Duplicate IDs: an index-only scan of the partial
//! index `persons_living_id` (migration 005), grouped by ID number.
//! Measured at 100,000 households (these statements, values inlined, through psql): about
//! 0.8–0.9 s at load 9 on 2 cores, the two coverage aggregates most of it.

use crate::desk::Where;
use crate::{db, PgDistrict, Result};
use gridwalk_district::indicators::{
    Coverage, GridCounts, IndicatorCounts, IndicatorQuery, IndicatorStore, IssueCounts, DAY_MS,
};

impl IndicatorStore for PgDistrict {
    fn indicator_counts(&self, q: &IndicatorQuery) -> Result<IndicatorCounts> {
        self.read(|tx| {
            let mut out = IndicatorCounts::default();

            // Issues of the period, voided left out.
            let mut w = Where::default();
            let now = w.arg(q.now_ms);
            w.grids("grid_id", &q.grids);
            w.clauses.push("state IS NOT NULL".into());
            if let Some(f) = q.from {
                let p = w.arg(f);
                w.clauses.push(format!("reported_at >= {p}"));
            }
            if let Some(t) = q.to {
                let p = w.arg(t);
                w.clauses.push(format!("reported_at < {p}"));
            }
            let period = w.sql();
            let open = "state NOT IN ('Closed', 'Evaluated')";
            let late = format!("{open} AND deadline IS NOT NULL AND {now}::bigint > deadline");
            let past = format!("({now}::bigint - deadline)");
            let sql = format!(
                "SELECT count(*),
                    count(*) FILTER (WHERE closed_at IS NOT NULL OR ({late})),
                    count(*) FILTER (WHERE closed_at IS NOT NULL),
                    count(*) FILTER (WHERE closed_at IS NOT NULL AND coalesce(closed_on_time, true)),
                    count(*) FILTER (WHERE dispatched_at IS NOT NULL),
                    count(*) FILTER (WHERE dispatched_at IS NOT NULL AND rework_count > 0),
                    avg(satisfaction)::float8,
                    count(*) FILTER (WHERE {late}),
                    count(*) FILTER (WHERE {open} AND deadline IS NOT NULL
                        AND {now}::bigint <= deadline
                        AND ({now}::bigint - coalesce(dispatched_at, reported_at)) * 10
                            >= (deadline - coalesce(dispatched_at, reported_at)) * 8),
                    count(*) FILTER (WHERE {late} AND {past} < {d1}),
                    count(*) FILTER (WHERE {late} AND {past} >= {d1} AND {past} < {d3}),
                    count(*) FILTER (WHERE {late} AND {past} >= {d3} AND {past} < {d7}),
                    count(*) FILTER (WHERE {late} AND {past} >= {d7}),
                    count(*) FILTER (WHERE {open})
                 FROM issues WHERE {period} AND state <> 'Voided'",
                d1 = DAY_MS,
                d3 = 3 * DAY_MS,
                d7 = 7 * DAY_MS,
            );
            let r = tx.query_one(&sql, &w.params()).map_err(db)?;
            out.issues = IssueCounts {
                issues: r.get(0),
                due_to_close: r.get(1),
                closed: r.get(2),
                closed_on_time: r.get(3),
                dispatched: r.get(4),
                reworked: r.get(5),
                satisfaction_avg: r.get(6),
                open_red: r.get(7),
                open_yellow: r.get(8),
                overdue_by_age: [r.get(9), r.get(10), r.get(11), r.get(12)],
                open: r.get(13),
            };
            // By state, voided included, so the board adds up. `now` ($1) is unused
            // here: PostgreSQL still needs its type, given by the cast.
            let sql = format!(
                "SELECT state, count(*) FROM issues WHERE {period} AND {now}::bigint IS NOT NULL
                 GROUP BY state ORDER BY state"
            );
            out.by_state = tx
                .query(&sql, &w.params())
                .map_err(db)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();

            // An ID number on two living persons: one resident registered twice, or a typo.
            let mut w = Where::default();
            w.grids("h.grid_id", &q.grids);
            let living = "p.status = 'Living' AND p.id_number IS NOT NULL AND p.id_number <> ''";
            let sql = match &q.grids {
                None => format!(
                    "SELECT count(*) FROM (SELECT 1 FROM persons p WHERE {living}
                     GROUP BY p.id_number HAVING count(*) > 1) d"
                ),
                Some(_) => format!(
                    "SELECT count(*) FROM (SELECT 1 FROM persons p
                     JOIN households h ON h.doc_id = p.household_id
                     WHERE {living} AND {}
                     GROUP BY p.id_number HAVING count(*) > 1) d",
                    w.sql()
                ),
            };
            out.duplicate_ids = tx.query_one(&sql, &w.params()).map_err(db)?.get(0);

            // The coverage aggregates group up to (worker, grid, household) over 90 days of
            // visits: with the default work_mem (4 MB) they spill to disk at 100,000
            // households. Raised for the rest of this read only, after the duplicate count,
            // whose plan is an index-only scan at the default and a slower hash with more.
            tx.batch_execute("SET LOCAL work_mem = '32MB'").map_err(db)?;

            // Households: completeness and coverage by grid (one pass over recent visits).
            let mut w = Where::default();
            let (s30, s90) = (w.arg(q.since_30d()), w.arg(q.since_90d()));
            w.grids("h.grid_id", &q.grids);
            let hf = w.sql();
            let vf = hf.replace("h.grid_id", "v.grid_id");
            let sql = format!(
                "WITH hh AS (SELECT grid_id, count(*) AS n, count(*) FILTER (WHERE complete) AS c
                             FROM households h WHERE {hf} GROUP BY grid_id),
                      hv AS (SELECT v.grid_id, v.household_id, max(v.at) AS last FROM visits v
                             WHERE v.at >= {s90} AND {vf} GROUP BY v.grid_id, v.household_id),
                      vv AS (SELECT grid_id, count(*) FILTER (WHERE last >= {s30}) AS v30,
                                    count(*) AS v90
                             FROM hv GROUP BY grid_id)
                 SELECT hh.grid_id, hh.n, hh.c, coalesce(vv.v30, 0), coalesce(vv.v90, 0)
                 FROM hh LEFT JOIN vv ON vv.grid_id = hh.grid_id ORDER BY hh.grid_id"
            );
            out.grids = tx
                .query(&sql, &w.params())
                .map_err(db)?
                .iter()
                .map(|r| GridCounts {
                    grid_id: r.get(0),
                    households: r.get(1),
                    complete: r.get(2),
                    visited_30d: r.get(3),
                    visited_90d: r.get(4),
                })
                .collect();

            // Coverage by worker: households of the worker's grids they visited themselves.
            let mut w = Where::default();
            let (s30, s90) = (w.arg(q.since_30d()), w.arg(q.since_90d()));
            w.grids("ug.grid_id", &q.grids);
            let uf = w.sql();
            let sql = format!(
                "WITH wg AS (SELECT ug.user_id, ug.grid_id FROM user_grids ug
                             JOIN users u ON u.user_id = ug.user_id
                             WHERE u.role = 'worker' AND {uf}),
                      hn AS (SELECT wg.user_id, count(*) AS n FROM wg
                             JOIN households h ON h.grid_id = wg.grid_id GROUP BY wg.user_id),
                      wv AS (SELECT v.worker_id, v.grid_id, v.household_id, max(v.at) AS last
                             FROM visits v WHERE v.at >= {s90}
                             GROUP BY v.worker_id, v.grid_id, v.household_id),
                      vv AS (SELECT wv.worker_id, count(*) FILTER (WHERE wv.last >= {s30}) AS v30,
                                    count(*) AS v90
                             FROM wv JOIN wg ON wg.user_id = wv.worker_id AND wg.grid_id = wv.grid_id
                             GROUP BY wv.worker_id)
                 SELECT u.user_id, u.display_name, coalesce(hn.n, 0), coalesce(vv.v30, 0),
                        coalesce(vv.v90, 0)
                 FROM users u JOIN (SELECT DISTINCT user_id FROM wg) w ON w.user_id = u.user_id
                 LEFT JOIN hn ON hn.user_id = u.user_id LEFT JOIN vv ON vv.worker_id = u.user_id
                 ORDER BY u.display_name, u.user_id"
            );
            out.workers = tx
                .query(&sql, &w.params())
                .map_err(db)?
                .iter()
                .map(|r| Coverage {
                    key: r.get(0),
                    name: r.get(1),
                    households: r.get(2),
                    visited_30d: r.get(3),
                    visited_90d: r.get(4),
                })
                .collect();
            Ok(out)
        })
    }
}
