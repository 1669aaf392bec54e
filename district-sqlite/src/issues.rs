//! The desk's rows on SQLite ([`DeskStore`]): the issue desk, visit review and the
//! household ledger read from the projections. What the desk does with them (scope,
//! the issue loop, reviews, conflict resolution) is written once in
//! [`gridwalk_district::desk`].

use super::SqliteDistrict;
use crate::Result;
use gridwalk_core::{DocId, DocKind};
use gridwalk_district::desk::{DeskStore, VisitQuery, VisitRow};
use gridwalk_store::{HouseholdQuery, HouseholdRow, IssueQuery, IssueRow, Page};
use rusqlite::types::Value;
use rusqlite::OptionalExtension;
use std::collections::HashMap;

/// `grid_id IN (…)` for a scope (nothing for an admin), appended to `args`.
pub(crate) fn grid_filter(
    column: &str,
    grids: &Option<Vec<String>>,
    args: &mut Vec<Value>,
) -> String {
    match grids {
        None => "1 = 1".into(),
        Some(g) if g.is_empty() => "0 = 1".into(),
        Some(g) => {
            let marks: Vec<String> = g
                .iter()
                .map(|x| {
                    args.push(Value::Text(x.clone()));
                    format!("?{}", args.len())
                })
                .collect();
            format!("{column} IN ({})", marks.join(", "))
        }
    }
}

impl DeskStore for SqliteDistrict {
    fn doc_grid_kind(&self, id: DocId) -> Result<Option<(String, DocKind)>> {
        let row: Option<(String, String)> = self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT grid_id, kind FROM docs WHERE doc_id = ?1",
                    [id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
        })?;
        Ok(row.and_then(|(grid, kind)| Some((grid, DocKind::parse(&kind)?))))
    }

    fn issue_page(&self, q: &IssueQuery) -> Result<Page<IssueRow>> {
        self.with_reader(|conn| gridwalk_store::list_issues_on(conn, q))
    }

    fn household_page(&self, q: &HouseholdQuery) -> Result<Page<HouseholdRow>> {
        self.with_reader(|conn| gridwalk_store::search_households_on(conn, q))
    }

    fn visit_page(
        &self,
        grids: &Option<Vec<String>>,
        q: &VisitQuery,
    ) -> Result<(Vec<VisitRow>, usize)> {
        self.with_reader(|conn| {
            let mut args = Vec::new();
            let mut w = vec![grid_filter("v.grid_id", grids, &mut args)];
            if let Some(u) = &q.worker_id {
                args.push(Value::Text(u.clone()));
                w.push(format!("v.worker_id = ?{}", args.len()));
            }
            if let Some(f) = q.from {
                args.push(Value::Integer(f));
                w.push(format!("v.at >= ?{}", args.len()));
            }
            if let Some(t) = q.to {
                args.push(Value::Integer(t));
                w.push(format!("v.at < ?{}", args.len()));
            }
            match q.review.as_deref() {
                Some("none") => w.push("v.review_status IS NULL".into()),
                Some(s) => {
                    args.push(Value::Text(s.to_string()));
                    w.push(format!("v.review_status = ?{}", args.len()));
                }
                None => {}
            }
            let wsql = w.join(" AND ");
            let total: i64 = conn.query_row(
                &format!("SELECT count(*) FROM visits v WHERE {wsql}"),
                rusqlite::params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            let sql = format!(
                "SELECT v.doc_id, v.household_id, h.address, v.grid_id, v.worker_id,
                    u.display_name, v.at, v.mode, v.findings, v.needs, v.review_status,
                    v.review_comment
                 FROM visits v
                 LEFT JOIN households h ON h.doc_id = v.household_id
                 LEFT JOIN users u ON u.user_id = v.worker_id
                 WHERE {wsql} ORDER BY v.at DESC, v.doc_id LIMIT {} OFFSET {}",
                q.page_limit(),
                q.offset
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok(VisitRow {
                    doc_id: r.get(0)?,
                    household_id: r.get(1)?,
                    address: r.get(2)?,
                    grid_id: r.get(3)?,
                    worker_id: r.get(4)?,
                    worker_name: r.get(5)?,
                    at: r.get(6)?,
                    mode: r.get(7)?,
                    findings: r.get(8)?,
                    needs: r.get(9)?,
                    review_status: r.get(10)?,
                    review_comment: r.get(11)?,
                })
            })?;
            Ok((rows.collect::<Result<_, _>>()?, total as usize))
        })
    }

    fn key_person_rows(&self, household_id: &str) -> Result<Vec<String>> {
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT persons FROM key_persons WHERE household_id = ?1")?;
            let rows = stmt.query_map([household_id], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn user_names(&self) -> Result<HashMap<String, String>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare("SELECT user_id, display_name FROM users")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
