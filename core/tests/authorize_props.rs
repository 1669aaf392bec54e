//! Property tests of the permission rule: random event sequences by random users of random
//! roles, each claiming a random author, go through `authorize` the way the server takes
//! a push. Whatever is accepted, the replica never holds an event its author's role could
//! not record, nor one credited to someone else; the console's own steps always pass.

use gridwalk_core::authorize::{
    authorize, may, Action, Actor, Facts, Image, Role, ALL_EVENT_KINDS,
};
use gridwalk_core::demo::{generate, DemoParams, DEFAULT_NOW_MS};
use gridwalk_core::model::{EventKind, Issue, ReviewStatus, Visit, VisitReview};
use gridwalk_core::workflow::{self, dispatch_event, evaluate_event, new_event};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Users 0..6: two workers, two supervisors (one granted key persons), one admin, one
/// worker of another grid.
fn users() -> Vec<Actor> {
    let mk = |id: &str, role, grid: Option<&str>, grant| Actor {
        user_id: id.into(),
        role,
        grids: grid.map(|g| vec![g.to_string()]),
        key_person_grant: grant,
    };
    vec![
        mk("w1", Role::Worker, Some("A"), false),
        mk("w2", Role::Worker, Some("A"), false),
        mk("s1", Role::Supervisor, Some("A"), false),
        mk("s2", Role::Supervisor, Some("A"), true),
        mk("admin", Role::Admin, None, false),
        mk("wB", Role::Worker, Some("B"), false),
    ]
}

fn base() -> (Issue, Visit) {
    let demo = generate(&DemoParams::single_grid(30, 3, DEFAULT_NOW_MS));
    let mut issue = demo.issues[0].clone();
    issue.grid_id = "A".into();
    issue.household_id = None;
    issue.events.clear();
    let mut visit = demo.visits[0].clone();
    (visit.grid_id, visit.worker_id, visit.review) = ("A".into(), "w1".into(), None);
    (issue, visit)
}

/// One attempted append: who pushes, which kind, whom the event claims (half the time
/// the pusher itself, so that legitimate steps are common), when.
fn attempt() -> impl Strategy<Value = (usize, usize, usize, i64)> {
    (0..6usize, 0..12usize, 0..6usize, any::<bool>(), 0..1_000i64).prop_map(
        |(who, kind, other, honest, at)| (who, kind, if honest { who } else { other }, at),
    )
}

/// What PRODUCT.md's table lets each role record, written out independently of the code
/// under test.
fn legit(role: Role, kind: EventKind) -> bool {
    use EventKind::*;
    match role {
        Role::Worker => matches!(kind, Report | Comment | SelfHandle),
        Role::Supervisor => true,
        Role::Admin => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_replica_holds_only_events_their_authors_could_record(
        attempts in prop::collection::vec(attempt(), 1..40),
    ) {
        let us = users();
        let (mut issue, _) = base();
        for (who, kind, claimed, at) in attempts {
            let mut after = issue.clone();
            let e = new_event(ALL_EVENT_KINDS[kind], at, &us[claimed].user_id, "dev", "");
            after.events.insert(e.id.clone(), e);
            let ok = authorize(&us[who], Some(Image::Issue(&issue)), Image::Issue(&after), &Facts::default());
            if ok.is_ok() {
                issue = after;
            }
        }
        for e in issue.events.values() {
            let author = us.iter().find(|u| u.user_id == e.by_user).expect("a known user");
            prop_assert!(legit(author.role, e.kind), "{:?} by {:?}", e.kind, author.role);
            prop_assert_eq!(may(author, Action::IssueEvent(e.kind)), true);
            prop_assert!(author.grids.as_ref().is_none_or(|g| g.contains(&"A".to_string())));
        }
        // The state reached is the state of the legitimate steps alone: every applied
        // transition was taken by a role allowed to take it.
        for entry in workflow::fold(&issue).timeline.iter().filter(|t| t.applied) {
            let author = us.iter().find(|u| u.user_id == entry.event.by_user).expect("known");
            prop_assert!(author.role != Role::Admin);
            if !matches!(entry.event.kind, EventKind::Report | EventKind::Comment | EventKind::SelfHandle) {
                prop_assert_eq!(author.role, Role::Supervisor);
            }
        }
    }

    #[test]
    fn the_consoles_own_steps_always_pass(steps in prop::collection::vec(0..12usize, 1..30)) {
        let us = users();
        let sup = &us[2];
        let (mut issue, _) = base();
        let report = new_event(EventKind::Report, 1, "w1", "dev", "");
        issue.events.insert(report.id.clone(), report);
        for (n, k) in steps.into_iter().enumerate() {
            let kind = ALL_EVENT_KINDS[k];
            // The console only offers legal steps of the loop.
            if workflow::transition(workflow::fold(&issue).state, kind).is_err() {
                continue;
            }
            let at = 10 + n as i64;
            let e = match kind {
                EventKind::Dispatch => dispatch_event(at, &sup.user_id, "console", "", "water", Some(at + 5)),
                EventKind::Evaluate => evaluate_event(at, &sup.user_id, "console", "", 5),
                _ => new_event(kind, at, &sup.user_id, "console", ""),
            };
            let mut after = issue.clone();
            after.events.insert(e.id.clone(), e);
            prop_assert_eq!(authorize(sup, Some(Image::Issue(&issue)), Image::Issue(&after), &Facts::default()), Ok(()));
            issue = after;
        }
    }

    #[test]
    fn a_visit_is_reviewed_only_by_a_supervisor_as_themselves(
        attempts in prop::collection::vec((0..6usize, 0..6usize, any::<bool>()), 1..12),
    ) {
        let us = users();
        let (_, mut visit) = base();
        for (who, claimed, flag) in attempts {
            let mut after = visit.clone();
            after.review = Some(VisitReview {
                status: if flag { ReviewStatus::Flagged } else { ReviewStatus::Reviewed },
                comment: String::new(),
                by_user: us[claimed].user_id.clone(),
                at: 5,
            });
            if authorize(&us[who], Some(Image::Visit(&visit)), Image::Visit(&after), &Facts::default()).is_ok() {
                visit = after;
            }
        }
        if let Some(r) = &visit.review {
            let author = us.iter().find(|u| u.user_id == r.by_user).expect("known");
            prop_assert_eq!(author.role, Role::Supervisor);
        }
        prop_assert_eq!(&visit.worker_id, "w1");
    }

    #[test]
    fn a_new_visit_is_credited_to_its_recorder(who in 0..6usize, claimed in 0..6usize, grid in 0..2usize) {
        let us = users();
        let (_, mut visit) = base();
        visit.worker_id = us[claimed].user_id.clone();
        visit.grid_id = ["A", "B"][grid].into();
        let facts = Facts { household_grids: BTreeMap::from([(visit.household_id.clone(), "A".to_string())]) };
        let ok = authorize(&us[who], None, Image::Visit(&visit), &facts).is_ok();
        let legit = who == claimed && us[who].role == Role::Worker && grid == 0 && us[who].in_scope("A");
        prop_assert_eq!(ok, legit);
    }
}
