//! The issue loop (闭环处置) as a deterministic fold over the issue's event log.
//!
//! An issue's state is never stored: it is computed by applying its events in timeline
//! order, `(at, id)`, which is the same on every replica. Events that arrive offline and
//! turn out to be illegal where they land in the timeline (a worker's feedback written
//! while the supervisor was closing the issue) are kept and shown with the reason they
//! did not apply; they never change the state and are never dropped.
//!
//! ```text
//! REPORTED ─File→ FILED ─Dispatch→ DISPATCHED ─Accept→ IN_PROGRESS ─Feedback→ FEEDBACK
//!    ├─SelfHandle→ SELF_HANDLED ─Close→ CLOSED                                  │Check
//!    └─Void→ VOIDED                     CLOSED ←Close─ CHECKING ←───────────────┘
//!                                          │              └─Return→ DISPATCHED (rework 返工)
//!                                          └─Evaluate→ EVALUATED
//! ```

use crate::deadline::{overdue_level, OverdueLevel};
use crate::model::{EventKind, Issue, IssueEvent};
use serde::{Deserialize, Serialize};
use uuid::{NoContext, Timestamp, Uuid};

/// Where an issue is in the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IssueState {
    Reported,
    Filed,
    Dispatched,
    InProgress,
    Feedback,
    Checking,
    Closed,
    SelfHandled,
    Voided,
    Evaluated,
}

impl IssueState {
    pub const ALL: [IssueState; 10] = [
        IssueState::Reported,
        IssueState::Filed,
        IssueState::Dispatched,
        IssueState::InProgress,
        IssueState::Feedback,
        IssueState::Checking,
        IssueState::Closed,
        IssueState::SelfHandled,
        IssueState::Voided,
        IssueState::Evaluated,
    ];

    pub fn zh(self) -> &'static str {
        match self {
            IssueState::Reported => "已上报",
            IssueState::Filed => "已立案",
            IssueState::Dispatched => "已派遣",
            IssueState::InProgress => "处置中",
            IssueState::Feedback => "已反馈",
            IssueState::Checking => "核查中",
            IssueState::Closed => "已结案",
            IssueState::SelfHandled => "自行处置",
            IssueState::Voided => "已作废",
            IssueState::Evaluated => "已评价",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            IssueState::Reported => "Reported",
            IssueState::Filed => "Filed",
            IssueState::Dispatched => "Dispatched",
            IssueState::InProgress => "In progress",
            IssueState::Feedback => "Feedback given",
            IssueState::Checking => "Checking",
            IssueState::Closed => "Closed",
            IssueState::SelfHandled => "Self-handled",
            IssueState::Voided => "Voided",
            IssueState::Evaluated => "Evaluated",
        }
    }
}

/// Whether an issue in `state` still needs handling: not Closed, Evaluated or Voided.
/// An issue not yet reported (`None`) is not open.
pub fn is_open(state: Option<IssueState>) -> bool {
    matches!(
        state,
        Some(
            IssueState::Reported
                | IssueState::Filed
                | IssueState::Dispatched
                | IssueState::InProgress
                | IssueState::Feedback
                | IssueState::Checking
                | IssueState::SelfHandled
        )
    )
}

/// The state after an event of `kind` in `state` (`None` = before the report), or the
/// reason the event is illegal there. A comment is legal in every state after the report
/// and leaves it unchanged.
pub fn transition(
    state: Option<IssueState>,
    kind: EventKind,
) -> Result<Option<IssueState>, &'static str> {
    use EventKind as K;
    use IssueState as S;
    let Some(state) = state else {
        return match kind {
            K::Report => Ok(Some(S::Reported)),
            _ => Err("the issue has not been reported yet; the first event must be the report"),
        };
    };
    let next = match (state, kind) {
        (s, K::Comment) => s,
        (S::Reported, K::File) => S::Filed,
        (S::Reported, K::Void) => S::Voided,
        (S::Reported, K::SelfHandle) => S::SelfHandled,
        (S::Filed, K::Dispatch) => S::Dispatched,
        (S::Dispatched, K::Accept) => S::InProgress,
        (S::InProgress, K::Feedback) => S::Feedback,
        (S::Feedback, K::Check) => S::Checking,
        (S::Checking | S::SelfHandled, K::Close) => S::Closed,
        (S::Checking, K::Return) => S::Dispatched,
        (S::Closed, K::Evaluate) => S::Evaluated,
        (_, kind) => return Err(illegal_reason(kind)),
    };
    Ok(Some(next))
}

fn illegal_reason(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Report => "the issue has already been reported",
        EventKind::File => "only a reported issue can be filed",
        EventKind::Void => "only a reported issue can be voided",
        EventKind::SelfHandle => "only a reported issue can be marked self-handled",
        EventKind::Dispatch => "only a filed issue can be dispatched",
        EventKind::Accept => "only a dispatched issue can be accepted",
        EventKind::Feedback => "feedback can only be given while the issue is in progress",
        EventKind::Check => "only an issue with feedback can be checked",
        EventKind::Close => "only an issue being checked or self-handled can be closed",
        EventKind::Return => "only an issue being checked can be returned for rework",
        EventKind::Evaluate => "only a closed issue can be evaluated",
        EventKind::Comment => "a comment needs a reported issue",
    }
}

/// One event as it landed in the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub event: IssueEvent,
    /// Whether the event moved the issue (or, for a comment, was accepted).
    pub applied: bool,
    /// Why it did not apply, when it did not.
    pub rejected_reason: Option<String>,
    /// The state after this entry (unchanged by a rejected event).
    pub state_after: Option<IssueState>,
}

/// Everything the fold of an issue's events tells.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IssueSummary {
    /// `None` when there is no applied report.
    pub state: Option<IssueState>,
    /// Every event, in `(at, id)` order, applied or not.
    pub timeline: Vec<TimelineEntry>,
    pub reported_at: Option<i64>,
    /// Time of the latest applied dispatch.
    pub dispatched_at: Option<i64>,
    /// Deadline carried by the latest applied dispatch.
    pub deadline: Option<i64>,
    /// Department of the latest applied dispatch.
    pub department: Option<String>,
    pub closed_at: Option<i64>,
    /// `closed_at <= deadline`, when the issue is closed and has a dispatch deadline.
    /// `None` otherwise (e.g. a self-handled issue that was never dispatched).
    pub closed_on_time: Option<bool>,
    /// Applied returns for rework (返工).
    pub rework_count: u32,
    /// Satisfaction 1–5 of the applied evaluation (values outside 1–5 are not counted).
    pub satisfaction: Option<i64>,
    /// Entries with `applied == false`.
    pub rejected_count: usize,
}

impl IssueSummary {
    pub fn is_open(&self) -> bool {
        is_open(self.state)
    }

    /// The traffic light of an open, dispatched issue with a deadline at `now_ms`, counted
    /// from the latest dispatch; `None` for other issues.
    pub fn overdue_level(&self, now_ms: i64) -> Option<OverdueLevel> {
        if !self.is_open() {
            return None;
        }
        let (start, deadline) = (self.dispatched_at?, self.deadline?);
        Some(overdue_level(start, deadline, now_ms))
    }
}

/// Fold an issue's events (in [`Issue::timeline`] order) into its summary.
pub fn fold(issue: &Issue) -> IssueSummary {
    fold_events(&issue.timeline())
}

/// Fold events given in any order: they are sorted by `(at, id)` first (with a further
/// tie-break on the whole event, so the order is total) and exact duplicates are counted
/// once. The same set of events always gives the same summary.
pub fn fold_events(events: &[&IssueEvent]) -> IssueSummary {
    let mut sorted: Vec<(&IssueEvent, String)> = events
        .iter()
        .map(|e| (*e, serde_json::to_string(e).unwrap_or_default()))
        .collect();
    sorted.sort_by(|(a, ka), (b, kb)| {
        a.at.cmp(&b.at)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| ka.cmp(kb))
    });
    sorted.dedup_by(|(a, _), (b, _)| a == b);

    let mut s = IssueSummary::default();
    for (event, _) in sorted {
        let (applied, rejected_reason) = match transition(s.state, event.kind) {
            Ok(next) => {
                s.state = next;
                record(&mut s, event);
                (true, None)
            }
            Err(reason) => {
                s.rejected_count += 1;
                (false, Some(reason.to_string()))
            }
        };
        s.timeline.push(TimelineEntry {
            event: event.clone(),
            applied,
            rejected_reason,
            state_after: s.state,
        });
    }
    s
}

/// Note what an applied event tells beyond the state.
fn record(s: &mut IssueSummary, e: &IssueEvent) {
    match e.kind {
        EventKind::Report => s.reported_at = Some(e.at),
        EventKind::Dispatch => {
            s.dispatched_at = Some(e.at);
            s.deadline = e.deadline;
            s.department = e.department.clone();
        }
        EventKind::Close => {
            s.closed_at = Some(e.at);
            s.closed_on_time = s.deadline.map(|d| e.at <= d);
        }
        EventKind::Return => s.rework_count = s.rework_count.saturating_add(1),
        EventKind::Evaluate => s.satisfaction = e.satisfaction.filter(|v| (1..=5).contains(v)),
        _ => {}
    }
}

/// A new event with a fresh UUID v7 id whose time part is `at` (so ids sort by event time).
pub fn new_event(
    kind: EventKind,
    at: i64,
    by_user: impl Into<String>,
    by_device: impl Into<String>,
    note: impl Into<String>,
) -> IssueEvent {
    let ms = u64::try_from(at).unwrap_or(0);
    let ts = Timestamp::from_unix(NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    IssueEvent {
        id: Uuid::new_v7(ts).to_string(),
        kind,
        at,
        by_user: by_user.into(),
        by_device: by_device.into(),
        note: note.into(),
        department: None,
        deadline: None,
        satisfaction: None,
        photos: Default::default(),
    }
}

/// A dispatch event to `department` with an optional deadline (see [`crate::deadline`]).
pub fn dispatch_event(
    at: i64,
    by_user: impl Into<String>,
    by_device: impl Into<String>,
    note: impl Into<String>,
    department: impl Into<String>,
    deadline: Option<i64>,
) -> IssueEvent {
    let mut e = new_event(EventKind::Dispatch, at, by_user, by_device, note);
    e.department = Some(department.into());
    e.deadline = deadline;
    e
}

/// An evaluation event with the resident's satisfaction (1 to 5).
pub fn evaluate_event(
    at: i64,
    by_user: impl Into<String>,
    by_device: impl Into<String>,
    note: impl Into<String>,
    satisfaction: i64,
) -> IssueEvent {
    let mut e = new_event(EventKind::Evaluate, at, by_user, by_device, note);
    e.satisfaction = Some(satisfaction);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKind as K;
    use IssueState as S;

    fn ev(kind: EventKind, at: i64) -> IssueEvent {
        new_event(kind, at, "u1", "d1", format!("{kind:?}"))
    }

    fn states(s: &IssueSummary) -> Vec<Option<IssueState>> {
        s.timeline.iter().map(|t| t.state_after).collect()
    }

    #[test]
    fn happy_path_closes_on_time_and_is_evaluated() {
        let events = [
            ev(K::Report, 1_000),
            ev(K::File, 2_000),
            dispatch_event(
                3_000,
                "sup",
                "pc",
                "to the street office",
                "城管",
                Some(10_000),
            ),
            ev(K::Accept, 4_000),
            ev(K::Comment, 4_500),
            ev(K::Feedback, 5_000),
            ev(K::Check, 6_000),
            ev(K::Close, 7_000),
            evaluate_event(8_000, "sup", "pc", "回访", 5),
        ];
        let refs: Vec<&IssueEvent> = events.iter().collect();
        let s = fold_events(&refs);
        assert_eq!(s.state, Some(S::Evaluated));
        assert_eq!(
            states(&s),
            [
                S::Reported,
                S::Filed,
                S::Dispatched,
                S::InProgress,
                S::InProgress,
                S::Feedback,
                S::Checking,
                S::Closed,
                S::Evaluated
            ]
            .map(Some)
        );
        assert_eq!(s.reported_at, Some(1_000));
        assert_eq!(s.dispatched_at, Some(3_000));
        assert_eq!(s.deadline, Some(10_000));
        assert_eq!(s.department.as_deref(), Some("城管"));
        assert_eq!(s.closed_at, Some(7_000));
        assert_eq!(s.closed_on_time, Some(true));
        assert_eq!(s.satisfaction, Some(5));
        assert_eq!((s.rework_count, s.rejected_count), (0, 0));
        assert!(!s.is_open());
        assert_eq!(s.overdue_level(9_000), None);
    }

    #[test]
    fn rework_goes_back_to_dispatched_and_counts() {
        let mut events = vec![
            ev(K::Report, 1),
            ev(K::File, 2),
            dispatch_event(3, "sup", "pc", "", "水务", Some(100)),
        ];
        let mut t = 4;
        for _ in 0..2 {
            for k in [K::Accept, K::Feedback, K::Check, K::Return] {
                events.push(ev(k, t));
                t += 1;
            }
        }
        let refs: Vec<&IssueEvent> = events.iter().collect();
        let s = fold_events(&refs);
        assert_eq!(s.state, Some(S::Dispatched));
        assert_eq!(s.rework_count, 2);
        assert_eq!(s.overdue_level(50), Some(OverdueLevel::Green));
        assert_eq!(s.overdue_level(90), Some(OverdueLevel::Yellow));
        assert_eq!(s.overdue_level(101), Some(OverdueLevel::Red));
        for k in [K::Accept, K::Feedback, K::Check, K::Close] {
            events.push(ev(k, t));
            t += 1;
        }
        events.push(ev(K::Close, 200)); // a second close is illegal
        let refs: Vec<&IssueEvent> = events.iter().collect();
        let s = fold_events(&refs);
        assert_eq!(s.state, Some(S::Closed));
        assert_eq!(s.closed_at, Some(t - 1));
        assert_eq!(s.closed_on_time, Some(true));
        assert_eq!(s.rejected_count, 1);
    }

    #[test]
    fn self_handled_issue_closes_without_dispatch() {
        let events = [ev(K::Report, 10), ev(K::SelfHandle, 20), ev(K::Close, 30)];
        let refs: Vec<&IssueEvent> = events.iter().collect();
        let s = fold_events(&refs);
        assert_eq!(s.state, Some(S::Closed));
        assert_eq!(s.closed_at, Some(30));
        assert_eq!(s.closed_on_time, None);
        assert_eq!(s.dispatched_at, None);
        assert_eq!(s.rejected_count, 0);
    }

    #[test]
    fn illegal_events_are_recorded_not_dropped() {
        let events = [
            ev(K::Comment, 1), // before the report
            ev(K::Report, 2),
            ev(K::Dispatch, 3), // not filed yet
            ev(K::Void, 4),
            ev(K::File, 5),    // voided
            ev(K::Comment, 6), // fine on a voided issue
        ];
        let refs: Vec<&IssueEvent> = events.iter().collect();
        let s = fold_events(&refs);
        assert_eq!(s.state, Some(S::Voided));
        assert_eq!(s.timeline.len(), 6);
        let applied: Vec<bool> = s.timeline.iter().map(|t| t.applied).collect();
        assert_eq!(applied, [false, true, false, true, false, true]);
        assert_eq!(s.rejected_count, 3);
        assert_eq!(
            s.timeline[2].rejected_reason.as_deref(),
            Some("only a filed issue can be dispatched")
        );
        assert_eq!(s.timeline[2].state_after, Some(S::Reported));
        assert_eq!(s.timeline[0].state_after, None);
        assert!(s
            .timeline
            .iter()
            .all(|t| t.applied == t.rejected_reason.is_none()));
        assert_eq!(s.dispatched_at, None);
    }

    #[test]
    fn transition_table_matches_the_loop() {
        assert_eq!(transition(None, K::Report), Ok(Some(S::Reported)));
        assert!(transition(None, K::Comment).is_err());
        assert!(transition(Some(S::Reported), K::Report).is_err());
        assert_eq!(
            transition(Some(S::SelfHandled), K::Close),
            Ok(Some(S::Closed))
        );
        assert_eq!(
            transition(Some(S::Checking), K::Return),
            Ok(Some(S::Dispatched))
        );
        for s in IssueState::ALL {
            assert_eq!(transition(Some(s), K::Comment), Ok(Some(s)));
        }
        // Closed, voided and evaluated issues only take comments (and the evaluation).
        for s in [S::Voided, S::Evaluated] {
            for k in [K::File, K::Close, K::Return, K::Evaluate, K::Accept] {
                assert!(transition(Some(s), k).is_err());
            }
        }
        assert!(!is_open(None));
        assert!(is_open(Some(S::SelfHandled)));
        assert!(!is_open(Some(S::Voided)));
    }

    #[test]
    fn order_of_input_does_not_matter() {
        let events = [
            ev(K::Report, 5),
            ev(K::File, 5),
            ev(K::Void, 5),
            ev(K::Comment, 1),
        ];
        let a: Vec<&IssueEvent> = events.iter().collect();
        let b: Vec<&IssueEvent> = events.iter().rev().collect();
        assert_eq!(fold_events(&a), fold_events(&b));
        // Exact duplicates count once.
        let mut c = a.clone();
        c.push(&events[0]);
        assert_eq!(fold_events(&c), fold_events(&a));
    }

    #[test]
    fn new_event_ids_sort_by_time() {
        let a = ev(K::Comment, 1_000);
        let b = ev(K::Comment, 2_000);
        assert!(a.id < b.id);
        assert_ne!(ev(K::Comment, 1_000).id, a.id);
        let c = ev(K::Comment, -5);
        assert_eq!(Uuid::parse_str(&c.id).map(|u| u.get_version_num()), Ok(7));
    }

    #[test]
    fn out_of_range_satisfaction_is_not_counted() {
        let events = [
            ev(K::Report, 1),
            ev(K::SelfHandle, 2),
            ev(K::Close, 3),
            evaluate_event(4, "u", "d", "", 9),
        ];
        let refs: Vec<&IssueEvent> = events.iter().collect();
        let s = fold_events(&refs);
        assert_eq!(s.state, Some(S::Evaluated));
        assert_eq!(s.satisfaction, None);
    }
}
