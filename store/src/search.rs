//! Listing and search over the projections: paged, sorted, filtered.

use crate::{Result, Store};
use gridwalk_core::search_keys::normalize_query;
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HouseholdSort {
    /// Building, unit, floor, room: how a worker walks the grid.
    #[default]
    Address,
    /// Least recently visited first: who is due.
    LastVisit,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdQuery {
    /// Name, pinyin (full or initials), address fragment, phone, ID number or their last 4 digits.
    pub text: Option<String>,
    /// Every tag listed must be present (care tags of living members).
    pub tags: Vec<String>,
    pub building_no: Option<String>,
    pub unit: Option<String>,
    /// Restrict to these grids (scope); `None` means every grid in the store.
    pub grid_ids: Option<Vec<String>>,
    pub sort: HouseholdSort,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdRow {
    pub doc_id: String,
    pub grid_id: String,
    pub address: String,
    pub building_no: String,
    pub unit: String,
    pub room: String,
    pub head_name: String,
    pub phone: Option<String>,
    pub member_count: i64,
    pub tags: Vec<String>,
    pub last_visit_at: Option<i64>,
    pub complete: bool,
    pub conflicts: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueQuery {
    pub grid_ids: Option<Vec<String>>,
    pub household_id: Option<String>,
    /// States by name (`Reported`, `Dispatched`, …); empty means all.
    pub states: Vec<String>,
    /// Only open issues at this overdue level: `Green`, `Yellow` or `Red`.
    pub overdue: Option<String>,
    pub reported_by: Option<String>,
    pub now_ms: i64,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueRow {
    pub doc_id: String,
    pub grid_id: String,
    pub household_id: Option<String>,
    pub category: String,
    pub title: String,
    pub urgency: String,
    pub state: Option<String>,
    pub reported_at: Option<i64>,
    pub deadline: Option<i64>,
    pub overdue: Option<String>,
    pub rework_count: i64,
}

/// A LIKE pattern's literal text: `\\`, `%` and `_` escaped (with `ESCAPE '\\'`).
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

struct Where {
    clauses: Vec<String>,
    args: Vec<Value>,
}

impl Where {
    fn new() -> Where {
        Where {
            clauses: vec!["1 = 1".into()],
            args: vec![],
        }
    }
    fn push(&mut self, clause: &str, args: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.replace('?', "{}"));
        for a in args {
            self.args.push(a);
            let n = self.args.len();
            let last = self.clauses.last_mut().expect("just pushed");
            *last = last.replacen("{}", &format!("?{n}"), 1);
        }
    }
    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

fn in_list(column: &str, values: &[String], w: &mut Where) {
    if values.is_empty() {
        w.push("0 = 1", []);
        return;
    }
    let marks = vec!["?"; values.len()].join(", ");
    w.push(
        &format!("{column} IN ({marks})"),
        values.iter().map(|v| Value::Text(v.clone())),
    );
}

/// SQL for an open issue's overdue level at `{now}` (replaced by the caller with the
/// time as an integer literal); the same on SQLite and PostgreSQL.
pub const OVERDUE_SQL: &str = "CASE
    WHEN deadline IS NULL OR state IN ('Closed', 'Evaluated', 'Voided') THEN NULL
    WHEN {now} > deadline THEN 'Red'
    WHEN ({now} - coalesce(dispatched_at, reported_at)) * 10
         >= (deadline - coalesce(dispatched_at, reported_at)) * 8 THEN 'Yellow'
    ELSE 'Green' END";

/// The tail a query is matched on against phones and ID numbers: the last 4 of a query
/// of 4 digits or more (an ID's tail may end in `x`), else none.
pub fn phone_or_id_tail(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let digits_then_x = n >= 4
        && chars[..n - 1].iter().all(char::is_ascii_digit)
        && (chars[n - 1].is_ascii_digit() || chars[n - 1] == 'x');
    digits_then_x.then(|| chars[n - 4..].iter().collect())
}

impl Store {
    pub fn search_households(&self, q: &HouseholdQuery) -> Result<Page<HouseholdRow>> {
        search_households_on(&self.conn, q)
    }

    pub fn list_issues(&self, q: &IssueQuery) -> Result<Page<IssueRow>> {
        list_issues_on(&self.conn, q)
    }
}

/// [`Store::search_households`] on any connection holding the projections (the
/// district's readers too).
pub fn search_households_on(conn: &Connection, q: &HouseholdQuery) -> Result<Page<HouseholdRow>> {
    let mut w = Where::new();
    if let Some(grids) = &q.grid_ids {
        in_list("grid_id", grids, &mut w);
    }
    if let Some(text) = q
        .text
        .as_deref()
        .map(normalize_query)
        .filter(|t| !t.is_empty())
    {
        let like = format!("%{}%", escape_like(&text));
        match phone_or_id_tail(&text) {
            // A phone or ID number matches on its last 4 only, the part the mask shows:
            // a longer query is no better oracle than its tail (issue 9). Address keys
            // (rooms, building numbers) still match by substring.
            Some(tail) => w.push(
                "(tails LIKE ? ESCAPE '\\' OR search LIKE ? ESCAPE '\\')",
                [Value::Text(format!("% {tail} %")), Value::Text(like)],
            ),
            None => w.push("search LIKE ? ESCAPE '\\'", [Value::Text(like)]),
        }
    }
    for tag in &q.tags {
        w.push(
            "tags LIKE ? ESCAPE '\\'",
            [Value::Text(format!("% {} %", escape_like(tag)))],
        );
    }
    if let Some(b) = &q.building_no {
        w.push("building_no = ?", [Value::Text(b.clone())]);
    }
    if let Some(u) = &q.unit {
        w.push("unit = ?", [Value::Text(u.clone())]);
    }
    let order = match q.sort {
        HouseholdSort::Address => "building_no, unit, floor, room",
        HouseholdSort::LastVisit => {
            "last_visit_at IS NOT NULL, last_visit_at, building_no, unit, floor, room"
        }
    };
    let limit = if q.limit == 0 { 50 } else { q.limit.min(500) };
    // One scan: the total comes with the page as a window count.
    let sql = format!(
        "SELECT doc_id, grid_id, address, building_no, unit, room, head_name, phone,
                member_count, tags, complete, conflicts,
                (SELECT max(at) FROM visits v WHERE v.household_id = h.doc_id) AS last_visit_at,
                count(*) OVER () AS total_rows
             FROM households h WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {}",
        w.sql(),
        q.offset
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut total: Option<i64> = None;
    let rows = stmt.query_map(rusqlite::params_from_iter(w.args.iter()), |r| {
        let tags: String = r.get(9)?;
        total = Some(r.get(13)?);
        Ok(HouseholdRow {
            doc_id: r.get(0)?,
            grid_id: r.get(1)?,
            address: r.get(2)?,
            building_no: r.get(3)?,
            unit: r.get(4)?,
            room: r.get(5)?,
            head_name: r.get(6)?,
            phone: r.get(7)?,
            member_count: r.get(8)?,
            tags: tags.split_whitespace().map(str::to_string).collect(),
            complete: r.get(10)?,
            conflicts: r.get(11)?,
            last_visit_at: r.get(12)?,
        })
    })?;
    let items: Vec<HouseholdRow> = rows.collect::<Result<_, _>>()?;
    let total = match total {
        Some(t) => t,
        // A page past the end has no rows to carry the count.
        None => conn.query_row(
            &format!("SELECT count(*) FROM households WHERE {}", w.sql()),
            rusqlite::params_from_iter(w.args.iter()),
            |r| r.get(0),
        )?,
    };
    Ok(Page {
        items,
        total: total as usize,
        offset: q.offset,
    })
}

/// [`Store::list_issues`] on any connection holding the projections.
pub fn list_issues_on(conn: &Connection, q: &IssueQuery) -> Result<Page<IssueRow>> {
    let overdue_sql = OVERDUE_SQL.replace("{now}", &q.now_ms.to_string());
    let mut w = Where::new();
    if let Some(grids) = &q.grid_ids {
        in_list("grid_id", grids, &mut w);
    }
    if !q.states.is_empty() {
        in_list("state", &q.states, &mut w);
    }
    if let Some(h) = &q.household_id {
        w.push("household_id = ?", [Value::Text(h.clone())]);
    }
    if let Some(u) = &q.reported_by {
        w.push("reported_by = ?", [Value::Text(u.clone())]);
    }
    if let Some(level) = &q.overdue {
        w.push(
            &format!("({overdue_sql}) = ?"),
            [Value::Text(level.clone())],
        );
    }
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM issues WHERE {}", w.sql()),
        rusqlite::params_from_iter(w.args.iter()),
        |r| r.get(0),
    )?;
    let limit = if q.limit == 0 { 50 } else { q.limit.min(500) };
    let sql = format!(
        "SELECT doc_id, grid_id, household_id, category, title, urgency, state,
                reported_at, deadline, ({overdue_sql}), rework_count
             FROM issues WHERE {} ORDER BY reported_at DESC, doc_id LIMIT {limit} OFFSET {}",
        w.sql(),
        q.offset
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(w.args.iter()), |r| {
        Ok(IssueRow {
            doc_id: r.get(0)?,
            grid_id: r.get(1)?,
            household_id: r.get(2)?,
            category: r.get(3)?,
            title: r.get(4)?,
            urgency: r.get(5)?,
            state: r.get(6)?,
            reported_at: r.get(7)?,
            deadline: r.get(8)?,
            overdue: r.get(9)?,
            rework_count: r.get(10)?,
        })
    })?;
    Ok(Page {
        items: rows.collect::<Result<_, _>>()?,
        total: total as usize,
        offset: q.offset,
    })
}
