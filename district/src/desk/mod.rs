//! The supervisor's desk above the SQL: the issue desk (list, one issue, a step of the
//! issue loop with or without photos), visit review (list, one visit, review), the
//! household ledger (list, one household with history and conflicts) and conflict
//! resolution. [`DeskStore`] is what a backend provides (rows read from its projection
//! tables, already cut to a set of grids); the scope rule, the workflow's checks and every
//! action (a change sequenced like a pushed one, through [`EditStore`]) are written once
//! here as provided methods, so SQLite and PostgreSQL behave the same. Every method takes
//! the caller's [`ConsoleScope`]; a document outside it is "not found". Personal data is
//! masked by the console at the edge that serves it, not here.

mod household;
mod issues;

pub use household::HouseholdDetail;
pub use issues::{ConsoleStep, IssueAction};

use crate::console::{ConsoleError, ConsoleResult, ConsoleScope};
use crate::edits::EditStore;
use crate::{Result, StoreError};
use gridwalk_core::deadline::{CategoryConfig, WorkCalendar};
use gridwalk_core::model::{Issue, PhotoRef, ReviewStatus, Visit, VisitReview};
use gridwalk_core::workflow::{self, IssueSummary};
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_store::{HouseholdQuery, HouseholdRow, IssueQuery, IssueRow, Page};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The most rows one page of a console list holds.
pub const PAGE_MAX: usize = 500;

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

/// The page size a list answers for `limit`: 50 when none is asked, at most
/// [`PAGE_MAX`] (as the device's `Store::search_households` and `list_issues`).
pub fn page_limit(limit: usize) -> usize {
    if limit == 0 {
        50
    } else {
        limit.min(PAGE_MAX)
    }
}

impl VisitQuery {
    /// The page size asked for ([`page_limit`]).
    pub fn page_limit(&self) -> usize {
        page_limit(self.limit)
    }
}

/// A visit as the review list shows it.
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

/// Restricted tags of a household's members: person id → tag → on.
pub type KeyPersonTags = BTreeMap<String, BTreeMap<String, bool>>;

/// The rows behind the desk. `grids`: `None` for every grid.
pub trait DeskStore: EditStore {
    /// The grid and kind of a stored document.
    fn doc_grid_kind(&self, id: DocId) -> Result<Option<(String, DocKind)>>;
    /// Issues matching `q` (its `grid_ids` already cut to the scope), newest report
    /// first, with their overdue level at `q.now_ms`.
    fn issue_page(&self, q: &IssueQuery) -> Result<Page<IssueRow>>;
    /// Households matching `q` (its `grid_ids` already cut to the scope).
    fn household_page(&self, q: &HouseholdQuery) -> Result<Page<HouseholdRow>>;
    /// Visits in `grids` matching `q`, newest first, with the household's address and the
    /// worker's name; and how many match in all.
    fn visit_page(
        &self,
        grids: &Option<Vec<String>>,
        q: &VisitQuery,
    ) -> Result<(Vec<VisitRow>, usize)>;
    /// The `persons` JSON of every key-person document of a household.
    fn key_person_rows(&self, household_id: &str) -> Result<Vec<String>>;
    /// Every user's display name by user id.
    fn user_names(&self) -> Result<HashMap<String, String>>;

    /// The grid of a document of `kind` in the caller's scope; "not found" otherwise.
    fn scoped_doc(&self, scope: &ConsoleScope, id: DocId, kind: DocKind) -> ConsoleResult<String> {
        match self.doc_grid_kind(id)? {
            Some((grid, k)) if k == kind && scope.may_see(&grid) => Ok(grid),
            _ => Err(ConsoleError::NotFound(format!("{kind} {id}"))),
        }
    }

    /// The issue desk's list: `q.grid_ids` is the caller's filter, cut to the scope.
    fn console_issues(
        &self,
        scope: &ConsoleScope,
        q: &IssueQuery,
    ) -> ConsoleResult<Page<IssueRow>> {
        let q = IssueQuery {
            grid_ids: scope.narrow(q.grid_ids.clone()),
            ..q.clone()
        };
        Ok(self.issue_page(&q)?)
    }

    /// The household ledger's list: `q.grid_ids` is the caller's filter, cut to the scope.
    fn console_households(
        &self,
        scope: &ConsoleScope,
        q: &HouseholdQuery,
    ) -> ConsoleResult<Page<HouseholdRow>> {
        let q = HouseholdQuery {
            grid_ids: scope.narrow(q.grid_ids.clone()),
            ..q.clone()
        };
        Ok(self.household_page(&q)?)
    }

    /// Visits in scope, newest first, with the household's address and the worker's name.
    fn console_visits(
        &self,
        scope: &ConsoleScope,
        q: &VisitQuery,
    ) -> ConsoleResult<(Vec<VisitRow>, usize)> {
        let grids = scope.narrow(q.grid_id.clone().map(|g| vec![g]));
        Ok(self.visit_page(&grids, q)?)
    }

    /// An issue in scope, with the fold of its events.
    fn console_issue(
        &self,
        scope: &ConsoleScope,
        id: DocId,
    ) -> ConsoleResult<(Issue, IssueSummary)> {
        self.scoped_doc(scope, id, DocKind::Issue)?;
        let issue: Issue = read_doc(self, id, "issue")?;
        let summary = workflow::fold(&issue);
        Ok((issue, summary))
    }

    /// Take one step of the issue loop at the supervisor's desk (see
    /// [`DeskStore::issue_action_with_photos`]).
    #[allow(clippy::too_many_arguments)]
    fn issue_action(
        &self,
        scope: &ConsoleScope,
        id: DocId,
        action: &IssueAction,
        author: Author,
        now_ms: i64,
        calendar: &WorkCalendar,
        categories: &[CategoryConfig],
    ) -> ConsoleResult<IssueSummary> {
        let step = ConsoleStep {
            author,
            now_ms,
            calendar,
            categories,
        };
        self.issue_action_with_photos(scope, id, action, &BTreeMap::new(), &step)
    }

    /// Take one step of the issue loop as `step.author` (the supervisor at the console),
    /// with photos on the event (the supervisor's own evidence: their bytes already in
    /// the blob store). The event is appended to the issue's document; an illegal step is
    /// refused with the workflow's reason ([`ConsoleError::Conflict`]) and nothing is
    /// written.
    fn issue_action_with_photos(
        &self,
        scope: &ConsoleScope,
        id: DocId,
        action: &IssueAction,
        photos: &BTreeMap<String, PhotoRef>,
        step: &ConsoleStep<'_>,
    ) -> ConsoleResult<IssueSummary> {
        self.scoped_doc(scope, id, DocKind::Issue)?;
        issues::check_action(action, photos)?;
        let mut refused: Option<&'static str> = None;
        let result = self.edit_document_with(
            DocKind::Issue,
            id,
            &scope.actor(),
            step.now_ms,
            &mut |doc| issues::append_event(doc, scope, action, photos, step, &mut refused),
        );
        if let Some(reason) = refused {
            return Err(ConsoleError::Conflict(reason.to_string()));
        }
        result.map_err(not_found("issue", id))?;
        Ok(self.console_issue(scope, id)?.1)
    }

    /// A household in scope: masked, with its history (who changed which fields, when)
    /// and its open conflicts (values masked; choose one by index to resolve).
    fn console_household(&self, scope: &ConsoleScope, id: DocId) -> ConsoleResult<HouseholdDetail> {
        let grid = self.scoped_doc(scope, id, DocKind::Household)?;
        let doc = self.load_document(id).map_err(not_found("household", id))?;
        // Key-person tags come from their own documents, for roles that may hold them.
        let key_persons = match scope.actor().may_hold_key_persons() {
            true => household::key_person_tags(&self.key_person_rows(&id.to_string())?),
            false => KeyPersonTags::new(),
        };
        let names = self.user_names()?;
        Ok(household::detail(scope, &doc, grid, &key_persons, &names))
    }

    /// Resolve a conflict on the server: write the value chosen (by its index among the
    /// conflict's values) as `author`, a change sequenced like any console action, so
    /// devices get it.
    fn resolve_conflict(
        &self,
        scope: &ConsoleScope,
        id: DocId,
        path: &[String],
        choice: usize,
        author: Author,
        now_ms: i64,
    ) -> ConsoleResult<()> {
        self.scoped_doc(scope, id, DocKind::Household)?;
        self.edit_document_with(DocKind::Household, id, &scope.actor(), now_ms, &mut |doc| {
            household::resolve(doc, path, choice, author, now_ms)
        })
        .map_err(|e| match e {
            StoreError::BadRequest(m) => ConsoleError::BadRequest(m),
            e => ConsoleError::Store(e),
        })?;
        Ok(())
    }

    /// One visit in scope.
    fn console_visit(&self, scope: &ConsoleScope, id: DocId) -> ConsoleResult<Visit> {
        self.scoped_doc(scope, id, DocKind::Visit)?;
        read_doc(self, id, "visit")
    }

    /// Mark a visit reviewed, or flag it with a comment; reaches the worker through sync.
    fn review_visit(
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
        self.edit_document_with(DocKind::Visit, id, &scope.actor(), now_ms, &mut |doc| {
            doc.edit::<Visit, _>(author, now_ms, "console: review", |v| {
                v.review = Some(review.clone());
                Ok(())
            })
            .map(|_| ())
            .map_err(|source| StoreError::Doc {
                doc_id: id.to_string(),
                source,
            })
        })
        .map_err(not_found("visit", id))?;
        read_doc(self, id, "visit")
    }
}

/// A stored document read as `T`; gone is "not found".
fn read_doc<S, T>(store: &S, id: DocId, what: &str) -> ConsoleResult<T>
where
    S: DeskStore + ?Sized,
    T: autosurgeon::Hydrate,
{
    let doc = store.load_document(id).map_err(not_found(what, id))?;
    Ok(doc.read().map_err(|source| StoreError::Doc {
        doc_id: id.to_string(),
        source,
    })?)
}

/// A store error as the console says it: a missing document is "not found".
pub(crate) fn not_found(what: &str, id: DocId) -> impl FnOnce(StoreError) -> ConsoleError + '_ {
    move |e| match e {
        StoreError::NotFound { .. } => ConsoleError::NotFound(format!("{what} {id}")),
        e => ConsoleError::Store(e),
    }
}
