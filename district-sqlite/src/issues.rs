//! The console's work on documents: issue desk actions, visit review and conflict
//! resolution (each a change sequenced like a pushed one, so devices receive it on their
//! next sync), and the read models behind the review screens. Every function takes the
//! caller's [`ConsoleScope`]; a document outside it is "not found".

use super::console::{ConsoleError, ConsoleResult, ConsoleScope};
use super::SqliteDistrict;
use crate::StoreError;
use gridwalk_core::deadline::{deadline, limit_for, CategoryConfig, WorkCalendar};
use gridwalk_core::model::{
    EventKind, Issue, PhotoRef, ReviewStatus, Visit, VisitReview, MAX_PHOTOS,
};
use gridwalk_core::workflow::{self, IssueSummary};
use gridwalk_core::{Author, CoreError, DocId, DocKind};
use rusqlite::types::Value;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who takes a console step, when, and the rules its deadline comes from.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleStep<'a> {
    pub author: Author,
    pub now_ms: i64,
    pub calendar: &'a WorkCalendar,
    pub categories: &'a [CategoryConfig],
}

/// One step of the issue loop taken at the supervisor's desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum IssueAction {
    File {
        note: String,
    },
    Void {
        note: String,
    },
    /// To a department; the deadline comes from the issue's category and the calendar.
    Dispatch {
        department: String,
        note: String,
    },
    Check {
        note: String,
    },
    Close {
        note: String,
    },
    /// Check failed: back to the department (rework 返工).
    Return {
        note: String,
    },
    Evaluate {
        satisfaction: i64,
        note: String,
    },
    Comment {
        note: String,
    },
}

impl IssueAction {
    pub fn kind(&self) -> EventKind {
        match self {
            IssueAction::File { .. } => EventKind::File,
            IssueAction::Void { .. } => EventKind::Void,
            IssueAction::Dispatch { .. } => EventKind::Dispatch,
            IssueAction::Check { .. } => EventKind::Check,
            IssueAction::Close { .. } => EventKind::Close,
            IssueAction::Return { .. } => EventKind::Return,
            IssueAction::Evaluate { .. } => EventKind::Evaluate,
            IssueAction::Comment { .. } => EventKind::Comment,
        }
    }

    fn note(&self) -> &str {
        match self {
            IssueAction::File { note }
            | IssueAction::Void { note }
            | IssueAction::Dispatch { note, .. }
            | IssueAction::Check { note }
            | IssueAction::Close { note }
            | IssueAction::Return { note }
            | IssueAction::Evaluate { note, .. }
            | IssueAction::Comment { note } => note,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitQuery {
    pub grid_id: Option<String>,
    pub worker_id: Option<String>,
    /// `[from, to)` in ms (a local day from the caller).
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// `Reviewed`, `Flagged` or `none` (not reviewed yet).
    pub review: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRow {
    pub doc_id: String,
    pub household_id: String,
    pub address: Option<String>,
    pub grid_id: String,
    pub worker_id: String,
    pub worker_name: Option<String>,
    pub at: i64,
    pub mode: String,
    pub findings: String,
    pub needs: String,
    pub review_status: Option<String>,
    pub review_comment: Option<String>,
}

pub(super) fn in_scope_grid(
    scope: &ConsoleScope,
    grid: &str,
    what: &str,
    id: DocId,
) -> ConsoleResult<()> {
    if scope.may_see(grid) {
        Ok(())
    } else {
        Err(ConsoleError::NotFound(format!("{what} {id}")))
    }
}

pub(super) fn not_found(what: &str, id: DocId) -> impl FnOnce(StoreError) -> ConsoleError + '_ {
    move |e| match e {
        StoreError::NotFound { .. } => ConsoleError::NotFound(format!("{what} {id}")),
        e => ConsoleError::Store(e),
    }
}

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

impl SqliteDistrict {
    /// The grid a document is stored in, if it exists.
    fn doc_grid(&self, id: DocId) -> crate::Result<Option<(String, String)>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT grid_id, kind FROM docs WHERE doc_id = ?1",
                    [id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
        })
    }

    pub(super) fn scoped_doc(
        &self,
        scope: &ConsoleScope,
        id: DocId,
        kind: DocKind,
    ) -> ConsoleResult<String> {
        let what = kind.to_string();
        match self.doc_grid(id)? {
            Some((grid, k)) if k == kind.to_string() => {
                in_scope_grid(scope, &grid, &what, id)?;
                Ok(grid)
            }
            _ => Err(ConsoleError::NotFound(format!("{what} {id}"))),
        }
    }

    /// An issue in scope, with the fold of its events.
    pub fn console_issue(
        &self,
        scope: &ConsoleScope,
        id: DocId,
    ) -> ConsoleResult<(Issue, IssueSummary)> {
        self.scoped_doc(scope, id, DocKind::Issue)?;
        let doc = self.load_document(id).map_err(not_found("issue", id))?;
        let issue: Issue = doc.read().map_err(|source| StoreError::Doc {
            doc_id: id.to_string(),
            source,
        })?;
        let summary = workflow::fold(&issue);
        Ok((issue, summary))
    }

    /// Take one step of the issue loop as `author` (the supervisor at the console). The
    /// event is appended to the issue's document; an illegal step is refused with the
    /// workflow's reason ([`ConsoleError::Conflict`]) and nothing is written.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_action(
        &self,
        scope: &ConsoleScope,
        id: DocId,
        action: &IssueAction,
        author: Author,
        now_ms: i64,
        calendar: &WorkCalendar,
        categories: &[CategoryConfig],
    ) -> ConsoleResult<IssueSummary> {
        let none = BTreeMap::new();
        let step = ConsoleStep {
            author,
            now_ms,
            calendar,
            categories,
        };
        self.issue_action_with_photos(scope, id, action, &none, &step)
    }

    /// [`Self::issue_action`] with photos on the event (the supervisor's own evidence:
    /// their bytes already in the blob store, see the console's photo upload).
    pub fn issue_action_with_photos(
        &self,
        scope: &ConsoleScope,
        id: DocId,
        action: &IssueAction,
        photos: &BTreeMap<String, PhotoRef>,
        step: &ConsoleStep<'_>,
    ) -> ConsoleResult<IssueSummary> {
        let (author, now_ms) = (step.author, step.now_ms);
        let (calendar, categories) = (step.calendar, step.categories);
        self.scoped_doc(scope, id, DocKind::Issue)?;
        if photos.len() > MAX_PHOTOS {
            return Err(ConsoleError::BadRequest(format!(
                "at most {MAX_PHOTOS} photos on one step"
            )));
        }
        if let IssueAction::Evaluate { satisfaction, .. } = action {
            if !(1..=5).contains(satisfaction) {
                return Err(ConsoleError::BadRequest(
                    "satisfaction must be between 1 and 5".into(),
                ));
            }
        }
        if let IssueAction::Dispatch { department, .. } = action {
            if department.trim().is_empty() {
                return Err(ConsoleError::BadRequest(
                    "a dispatch needs a department".into(),
                ));
            }
        }
        let kind = action.kind();
        let by_user = scope.user_id.clone();
        let by_device = author.device.to_string();
        let mut refused: Option<&'static str> = None;
        let refused_ref = &mut refused;
        let result = self.edit_document::<Issue, _>(
            DocKind::Issue,
            id,
            &scope.actor(),
            author,
            now_ms,
            &format!("console: {kind:?}"),
            |issue| {
                let state = workflow::fold(issue).state;
                if let Err(reason) = workflow::transition(state, kind) {
                    *refused_ref = Some(reason);
                    return Err(CoreError::Schema(reason.into()));
                }
                let note = action.note().to_string();
                let event = match action {
                    IssueAction::Dispatch { department, .. } => {
                        let limit = limit_for(&issue.category, categories);
                        let due = deadline(now_ms, &limit, calendar);
                        workflow::dispatch_event(
                            now_ms,
                            &by_user,
                            &by_device,
                            note,
                            department.trim(),
                            Some(due),
                        )
                    }
                    IssueAction::Evaluate { satisfaction, .. } => {
                        workflow::evaluate_event(now_ms, &by_user, &by_device, note, *satisfaction)
                    }
                    _ => workflow::new_event(kind, now_ms, &by_user, &by_device, note),
                };
                let mut event = event;
                event.photos = photos.clone();
                issue.events.insert(event.id.clone(), event);
                Ok(())
            },
        );
        if let Some(reason) = refused {
            return Err(ConsoleError::Conflict(reason.to_string()));
        }
        result.map_err(not_found("issue", id))?;
        Ok(self.console_issue(scope, id)?.1)
    }

    /// Mark a visit reviewed, or flag it with a comment; reaches the worker through sync.
    pub fn review_visit(
        &self,
        scope: &ConsoleScope,
        id: DocId,
        status: ReviewStatus,
        comment: &str,
        author: Author,
        now_ms: i64,
    ) -> ConsoleResult<Visit> {
        self.scoped_doc(scope, id, DocKind::Visit)?;
        if status == ReviewStatus::Flagged && comment.trim().is_empty() {
            return Err(ConsoleError::BadRequest(
                "a flag needs a comment telling the worker what to fix".into(),
            ));
        }
        let review = VisitReview {
            status,
            comment: comment.trim().to_string(),
            by_user: scope.user_id.clone(),
            at: now_ms,
        };
        self.edit_document::<Visit, _>(
            DocKind::Visit,
            id,
            &scope.actor(),
            author,
            now_ms,
            "console: review",
            |v| {
                v.review = Some(review);
                Ok(())
            },
        )
        .map_err(not_found("visit", id))?;
        let doc = self.load_document(id)?;
        Ok(doc.read().map_err(|source| StoreError::Doc {
            doc_id: id.to_string(),
            source,
        })?)
    }

    /// Visits in scope, newest first, with the household's address and the worker's name.
    pub fn console_visits(
        &self,
        scope: &ConsoleScope,
        q: &VisitQuery,
    ) -> ConsoleResult<(Vec<VisitRow>, usize)> {
        let grids = scope.narrow(q.grid_id.clone().map(|g| vec![g]));
        self.with_reader(|conn| {
            let mut args = Vec::new();
            let mut w = vec![grid_filter("v.grid_id", &grids, &mut args)];
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
            let limit = if q.limit == 0 { 50 } else { q.limit.min(500) };
            let sql = format!(
                "SELECT v.doc_id, v.household_id, h.address, v.grid_id, v.worker_id,
                    u.display_name, v.at, v.mode, v.findings, v.needs, v.review_status,
                    v.review_comment
                 FROM visits v
                 LEFT JOIN households h ON h.doc_id = v.household_id
                 LEFT JOIN users u ON u.user_id = v.worker_id
                 WHERE {wsql} ORDER BY v.at DESC, v.doc_id LIMIT {limit} OFFSET {}",
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
        .map_err(ConsoleError::from)
    }

    /// One visit in scope.
    pub fn console_visit(&self, scope: &ConsoleScope, id: DocId) -> ConsoleResult<Visit> {
        self.scoped_doc(scope, id, DocKind::Visit)?;
        let doc = self.load_document(id).map_err(not_found("visit", id))?;
        Ok(doc.read().map_err(|source| StoreError::Doc {
            doc_id: id.to_string(),
            source,
        })?)
    }
}
