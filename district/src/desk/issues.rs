//! A step of the issue loop taken at the supervisor's desk: what it may be, and the event
//! it appends to the issue's document.

use crate::console::{ConsoleError, ConsoleResult, ConsoleScope};
use crate::{Result, StoreError};
use gridwalk_core::deadline::{deadline, limit_for, CategoryConfig, WorkCalendar};
use gridwalk_core::model::{EventKind, Issue, PhotoRef, MAX_PHOTOS};
use gridwalk_core::{workflow, Author, CoreError, Document};
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

/// What a step must be before the document is touched.
pub(super) fn check_action(
    action: &IssueAction,
    photos: &BTreeMap<String, PhotoRef>,
) -> ConsoleResult<()> {
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
    Ok(())
}

/// Append the step's event to the stored issue. A step the workflow does not allow in
/// the issue's state is refused: its reason goes to `refused` and nothing is written.
pub(super) fn append_event(
    doc: &mut Document,
    scope: &ConsoleScope,
    action: &IssueAction,
    photos: &BTreeMap<String, PhotoRef>,
    step: &ConsoleStep<'_>,
    refused: &mut Option<&'static str>,
) -> Result<()> {
    let kind = action.kind();
    let (by_user, by_device) = (scope.user_id.as_str(), step.author.device.to_string());
    let now_ms = step.now_ms;
    let id = doc.id;
    *refused = None;
    doc.edit::<Issue, _>(
        step.author,
        now_ms,
        &format!("console: {kind:?}"),
        |issue| {
            let state = workflow::fold(issue).state;
            if let Err(reason) = workflow::transition(state, kind) {
                *refused = Some(reason);
                return Err(CoreError::Schema(reason.into()));
            }
            let note = action.note().to_string();
            let mut event = match action {
                IssueAction::Dispatch { department, .. } => {
                    let limit = limit_for(&issue.category, step.categories);
                    let due = deadline(now_ms, &limit, step.calendar);
                    workflow::dispatch_event(
                        now_ms,
                        by_user,
                        &by_device,
                        note,
                        department.trim(),
                        Some(due),
                    )
                }
                IssueAction::Evaluate { satisfaction, .. } => {
                    workflow::evaluate_event(now_ms, by_user, &by_device, note, *satisfaction)
                }
                _ => workflow::new_event(kind, now_ms, by_user, &by_device, note),
            };
            event.photos = photos.clone();
            issue.events.insert(event.id.clone(), event);
            Ok(())
        },
    )
    .map(|_| ())
    .map_err(|source| StoreError::Doc {
        doc_id: id.to_string(),
        source,
    })
}
