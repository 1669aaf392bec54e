//! The issue document (诉求/事件): its fields and its append-only event log.
//!
//! Events live in a map keyed by event id (UUID v7). An event is written once and never
//! changed, so concurrent appends from a worker and a supervisor never conflict; the
//! timeline is the events sorted by `(at, id)` — the same order on every replica — and the
//! state is a deterministic fold over it (see [`crate::workflow`]).

use super::household::Gps;
use super::photo::PhotoRef;
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum Urgency {
    Normal,
    Urgent,
    Critical,
}

/// What kind of event: each is one step of the issue loop, or a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum EventKind {
    /// The worker reports the issue (the first event).
    Report,
    /// Supervisor files it for handling: REPORTED → FILED.
    File,
    /// Not valid or a duplicate: REPORTED → VOIDED.
    Void,
    /// The worker solved it on the spot: REPORTED → SELF_HANDLED.
    SelfHandle,
    /// Dispatch to a department with a deadline: FILED → DISPATCHED.
    Dispatch,
    /// The department starts work: DISPATCHED → IN_PROGRESS.
    Accept,
    /// The department reports its result: IN_PROGRESS → FEEDBACK.
    Feedback,
    /// Supervisor starts checking the result: FEEDBACK → CHECKING.
    Check,
    /// Check passed: CHECKING → CLOSED; or confirm a self-handled issue: SELF_HANDLED → CLOSED.
    Close,
    /// Check failed, rework (返工): CHECKING → DISPATCHED.
    Return,
    /// Resident's satisfaction on a follow-up call (回访): CLOSED → EVALUATED.
    Evaluate,
    /// A note on the timeline; legal in any state, changes nothing.
    Comment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct IssueEvent {
    pub id: String,
    pub kind: EventKind,
    /// When it happened on the author's clock, ms since the epoch (UTC).
    pub at: i64,
    pub by_user: String,
    pub by_device: String,
    /// Why: the note that goes with the step.
    pub note: String,
    /// Dispatch: the department it goes to.
    pub department: Option<String>,
    /// Dispatch: deadline, ms since the epoch.
    pub deadline: Option<i64>,
    /// Evaluate: satisfaction 1 (very unsatisfied) to 5 (very satisfied).
    pub satisfaction: Option<i64>,
    /// Photo id → reference: the report's "before", feedback's and check's "after".
    /// Part of the event, so as append-only as it (events written before photos existed
    /// have none).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub photos: BTreeMap<String, PhotoRef>,
}

/// The resident who raised the issue: hidden from the departments that handle it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Reporter {
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Issue {
    pub id: String,
    pub grid_id: String,
    /// Category code, see [`crate::deadline::CATEGORIES`].
    pub category: String,
    pub title: String,
    pub description: String,
    /// Where: free text place, or the household it concerns.
    pub place: String,
    pub household_id: Option<String>,
    pub reporter: Option<Reporter>,
    pub urgency: Urgency,
    /// Photos given when the issue was created; fixed from then on (the app puts a new
    /// issue's photos on its report event instead).
    pub photos: BTreeMap<String, PhotoRef>,
    pub gps: Option<Gps>,
    pub created_at: i64,
    /// Event id → event. Append only.
    pub events: BTreeMap<String, IssueEvent>,
}

impl Issue {
    /// The events in timeline order: by time, then by id (a total, replica-independent order).
    pub fn timeline(&self) -> Vec<&IssueEvent> {
        let mut events: Vec<&IssueEvent> = self.events.values().collect();
        events.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        events
    }
}
