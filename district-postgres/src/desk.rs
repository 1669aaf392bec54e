//! The desk's rows on PostgreSQL ([`DeskStore`]): the issue desk, visit review and the
//! household ledger read from the projection tables (migration 004). What the desk does
//! with them is written once in [`gridwalk_district::desk`]. A scope is a text array
//! (`grid_id = ANY($n)`); `NULL` stands for every grid, an empty array for none.

use crate::{db, PgDistrict, Result};
use gridwalk_core::search_keys::normalize_query;
use gridwalk_core::{DocId, DocKind};
use gridwalk_district::desk::{page_limit, DeskStore, VisitQuery, VisitRow};
use gridwalk_store::{
    escape_like, phone_or_id_tail, HouseholdQuery, HouseholdRow, HouseholdSort, IssueQuery,
    IssueRow, Page, OVERDUE_SQL,
};
use postgres::types::ToSql;
use std::collections::HashMap;

/// A WHERE clause built from conditions with numbered parameters.
#[derive(Default)]
pub(crate) struct Where {
    pub(crate) clauses: Vec<String>,
    args: Vec<Box<dyn ToSql + Sync>>,
}

impl Where {
    /// The next parameter's placeholder (`$n`) for `value`.
    pub(crate) fn arg(&mut self, value: impl ToSql + Sync + 'static) -> String {
        self.args.push(Box::new(value));
        format!("${}", self.args.len())
    }

    pub(crate) fn grids(&mut self, column: &str, grids: &Option<Vec<String>>) {
        if let Some(g) = grids {
            let p = self.arg(g.clone());
            self.clauses.push(format!("{column} = ANY({p}::text[])"));
        }
    }

    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "true".into()
        } else {
            self.clauses.join(" AND ")
        }
    }

    pub(crate) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args.iter().map(|a| a.as_ref()).collect()
    }
}

impl DeskStore for PgDistrict {
    fn doc_grid_kind(&self, id: DocId) -> Result<Option<(String, DocKind)>> {
        let row = self.read(|tx| {
            tx.query_opt("SELECT grid_id, kind FROM docs WHERE doc_id = $1", &[&id.0])
                .map_err(db)
        })?;
        Ok(row.and_then(|r| Some((r.get(0), DocKind::parse(r.get(1))?))))
    }

    fn issue_page(&self, q: &IssueQuery) -> Result<Page<IssueRow>> {
        let overdue = OVERDUE_SQL.replace("{now}", &q.now_ms.to_string());
        let mut w = Where::default();
        w.grids("grid_id", &q.grid_ids);
        if !q.states.is_empty() {
            let p = w.arg(q.states.clone());
            w.clauses.push(format!("state = ANY({p}::text[])"));
        }
        if let Some(h) = &q.household_id {
            let p = w.arg(h.clone());
            w.clauses.push(format!("household_id = {p}"));
        }
        if let Some(u) = &q.reported_by {
            let p = w.arg(u.clone());
            w.clauses.push(format!("reported_by = {p}"));
        }
        if let Some(level) = &q.overdue {
            let p = w.arg(level.clone());
            w.clauses.push(format!("({overdue}) = {p}"));
        }
        let wsql = w.sql();
        let sql = format!(
            "SELECT doc_id, grid_id, household_id, category, title, urgency, state,
                reported_at, deadline, ({overdue}), rework_count
             FROM issues WHERE {wsql}
             ORDER BY reported_at DESC NULLS LAST, doc_id LIMIT {} OFFSET {}",
            page_limit(q.limit),
            q.offset
        );
        self.read(|tx| {
            let total: i64 = tx
                .query_one(
                    &format!("SELECT count(*) FROM issues WHERE {wsql}"),
                    &w.params(),
                )
                .map_err(db)?
                .get(0);
            let rows = tx.query(&sql, &w.params()).map_err(db)?;
            let items = rows
                .iter()
                .map(|r| IssueRow {
                    doc_id: r.get(0),
                    grid_id: r.get(1),
                    household_id: r.get(2),
                    category: r.get(3),
                    title: r.get(4),
                    urgency: r.get(5),
                    state: r.get(6),
                    reported_at: r.get(7),
                    deadline: r.get(8),
                    overdue: r.get(9),
                    rework_count: r.get(10),
                })
                .collect();
            Ok(Page {
                items,
                total: total as usize,
                offset: q.offset,
            })
        })
    }

    fn household_page(&self, q: &HouseholdQuery) -> Result<Page<HouseholdRow>> {
        let mut w = Where::default();
        w.grids("grid_id", &q.grid_ids);
        if let Some(text) = q
            .text
            .as_deref()
            .map(normalize_query)
            .filter(|t| !t.is_empty())
        {
            let like = w.arg(format!("%{}%", escape_like(&text)));
            // A phone or ID number matches on its last 4 only, the part the mask shows
            // (issue 9); address keys still match by substring. As on SQLite.
            match phone_or_id_tail(&text) {
                Some(tail) => {
                    let tail = w.arg(format!("% {tail} %"));
                    w.clauses.push(format!(
                        "(tails LIKE {tail} ESCAPE '\\' OR search LIKE {like} ESCAPE '\\')"
                    ));
                }
                None => w.clauses.push(format!("search LIKE {like} ESCAPE '\\'")),
            }
        }
        for tag in &q.tags {
            let p = w.arg(format!("% {} %", escape_like(tag)));
            w.clauses.push(format!("tags LIKE {p} ESCAPE '\\'"));
        }
        if let Some(b) = &q.building_no {
            let p = w.arg(b.clone());
            w.clauses.push(format!("building_no = {p}"));
        }
        if let Some(u) = &q.unit {
            let p = w.arg(u.clone());
            w.clauses.push(format!("unit = {p}"));
        }
        let order = match q.sort {
            HouseholdSort::Address => "building_no, unit, floor, room",
            HouseholdSort::LastVisit => {
                "last_visit_at IS NOT NULL, last_visit_at, building_no, unit, floor, room"
            }
        };
        let wsql = w.sql();
        let sql = format!(
            "SELECT doc_id, grid_id, address, building_no, unit, room, head_name, phone,
                member_count, tags, complete, conflicts,
                (SELECT max(at) FROM visits v WHERE v.household_id = h.doc_id) AS last_visit_at,
                count(*) OVER () AS total_rows
             FROM households h WHERE {wsql} ORDER BY {order} LIMIT {} OFFSET {}",
            page_limit(q.limit),
            q.offset
        );
        self.read(|tx| {
            let rows = tx.query(&sql, &w.params()).map_err(db)?;
            let total: i64 = match rows.first() {
                Some(r) => r.get(13),
                // A page past the end has no rows to carry the count.
                None => tx
                    .query_one(
                        &format!("SELECT count(*) FROM households WHERE {wsql}"),
                        &w.params(),
                    )
                    .map_err(db)?
                    .get(0),
            };
            let items = rows
                .iter()
                .map(|r| {
                    let tags: String = r.get(9);
                    HouseholdRow {
                        doc_id: r.get(0),
                        grid_id: r.get(1),
                        address: r.get(2),
                        building_no: r.get(3),
                        unit: r.get(4),
                        room: r.get(5),
                        head_name: r.get(6),
                        phone: r.get(7),
                        member_count: r.get(8),
                        tags: tags.split_whitespace().map(str::to_string).collect(),
                        complete: r.get(10),
                        conflicts: r.get(11),
                        last_visit_at: r.get(12),
                    }
                })
                .collect();
            Ok(Page {
                items,
                total: total as usize,
                offset: q.offset,
            })
        })
    }

    fn visit_page(
        &self,
        grids: &Option<Vec<String>>,
        q: &VisitQuery,
    ) -> Result<(Vec<VisitRow>, usize)> {
        let mut w = Where::default();
        w.grids("v.grid_id", grids);
        if let Some(u) = &q.worker_id {
            let p = w.arg(u.clone());
            w.clauses.push(format!("v.worker_id = {p}"));
        }
        if let Some(f) = q.from {
            let p = w.arg(f);
            w.clauses.push(format!("v.at >= {p}"));
        }
        if let Some(t) = q.to {
            let p = w.arg(t);
            w.clauses.push(format!("v.at < {p}"));
        }
        match q.review.as_deref() {
            Some("none") => w.clauses.push("v.review_status IS NULL".into()),
            Some(s) => {
                let p = w.arg(s.to_string());
                w.clauses.push(format!("v.review_status = {p}"));
            }
            None => {}
        }
        let wsql = w.sql();
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
        self.read(|tx| {
            let total: i64 = tx
                .query_one(
                    &format!("SELECT count(*) FROM visits v WHERE {wsql}"),
                    &w.params(),
                )
                .map_err(db)?
                .get(0);
            let rows = tx.query(&sql, &w.params()).map_err(db)?;
            let items = rows
                .iter()
                .map(|r| VisitRow {
                    doc_id: r.get(0),
                    household_id: r.get(1),
                    address: r.get(2),
                    grid_id: r.get(3),
                    worker_id: r.get(4),
                    worker_name: r.get(5),
                    at: r.get(6),
                    mode: r.get(7),
                    findings: r.get(8),
                    needs: r.get(9),
                    review_status: r.get(10),
                    review_comment: r.get(11),
                })
                .collect();
            Ok((items, total as usize))
        })
    }

    fn key_person_rows(&self, household_id: &str) -> Result<Vec<String>> {
        self.read(|tx| {
            let rows = tx
                .query(
                    "SELECT persons FROM key_persons WHERE household_id = $1",
                    &[&household_id],
                )
                .map_err(db)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn user_names(&self) -> Result<HashMap<String, String>> {
        self.read(|tx| {
            let rows = tx
                .query("SELECT user_id, display_name FROM users", &[])
                .map_err(db)?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }
}
