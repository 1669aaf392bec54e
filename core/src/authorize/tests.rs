//! The role × change matrix and the rule's other unit tests.

use super::*;
use crate::demo::{generate, DemoParams};
use crate::validate::photo_fixture as photo;
use crate::workflow::new_event;
use EventKind as K;
use Role::*;

fn actor(role: Role, grant: bool) -> Actor {
    let grids = (role != Admin).then(|| vec!["A".to_string()]);
    Actor {
        user_id: "me".into(),
        role,
        grids,
        key_person_grant: grant,
    }
}

/// A household, a visit of it and an issue, all in grid A, from the demo generator.
fn fixtures() -> (Household, Visit, Issue) {
    let demo = generate(&DemoParams::single_grid(30, 7, crate::demo::DEFAULT_NOW_MS));
    let mut h = demo.households[0].clone();
    h.grid_id = "A".into();
    for p in h.members.values_mut() {
        p.restricted_tags.clear();
    }
    let mut v = demo.visits[0].clone();
    (v.grid_id, v.household_id, v.worker_id, v.review) =
        ("A".into(), h.id.clone(), "me".into(), None);
    let mut i = demo.issues[0].clone();
    i.grid_id = "A".into();
    i.household_id = Some(h.id.clone());
    let report = new_event(K::Report, 1, "me", "d", "");
    i.events = [(report.id.clone(), report)].into();
    (h, v, i)
}

fn facts(h: &Household) -> Facts {
    Facts {
        household_grids: [(h.id.clone(), "A".into()), ("elsewhere".into(), "B".into())].into(),
    }
}

/// The outcome of one change for one role: `Ok` or the reason refused.
fn outcome(role: Role, grant: bool, change: &str) -> Result<(), Reason> {
    let me = actor(role, grant);
    let (h, v, i) = fixtures();
    let f = facts(&h);
    let mut h2 = h.clone();
    let mut v2 = v.clone();
    let mut i2 = i.clone();
    let r = match change {
        "create household" => authorize(&me, None, Image::Household(&h), &f),
        "edit household" => {
            h2.notes = "x".into();
            authorize(&me, Some(Image::Household(&h)), Image::Household(&h2), &f)
        }
        "tag key person" => {
            let p = h2.members.values_mut().next().unwrap();
            p.restricted_tags.insert("drug_rehab".into(), true);
            authorize(&me, Some(Image::Household(&h)), Image::Household(&h2), &f)
        }
        "record visit" => authorize(&me, None, Image::Visit(&v), &f),
        "visit for another worker" => {
            v2.worker_id = "other".into();
            authorize(&me, None, Image::Visit(&v2), &f)
        }
        "pre-reviewed visit" => {
            v2.review = Some(review("me"));
            authorize(&me, None, Image::Visit(&v2), &f)
        }
        "visit of household in another grid" => {
            v2.household_id = "elsewhere".into();
            authorize(&me, None, Image::Visit(&v2), &f)
        }
        "review visit" => {
            v2.review = Some(review("me"));
            authorize(&me, Some(Image::Visit(&v)), Image::Visit(&v2), &f)
        }
        "review as another" => {
            v2.review = Some(review("boss"));
            authorize(&me, Some(Image::Visit(&v)), Image::Visit(&v2), &f)
        }
        "rewrite visit" => {
            v2.findings = "changed".into();
            authorize(&me, Some(Image::Visit(&v)), Image::Visit(&v2), &f)
        }
        "report issue" => authorize(&me, None, Image::Issue(&i), &f),
        "event by another" => {
            let e = new_event(K::Comment, 2, "boss", "d", "");
            i2.events.insert(e.id.clone(), e);
            authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
        }
        "rewrite event" => {
            let e = i2.events.values_mut().next().unwrap();
            e.note = "changed".into();
            authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
        }
        "issue of household in another grid" => {
            i2.household_id = Some("elsewhere".into());
            authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
        }
        "report with photos" => {
            i2.photos.insert("p0".into(), photo(0));
            for e in i2.events.values_mut() {
                e.photos.insert("p1".into(), photo(1));
            }
            authorize(&me, None, Image::Issue(&i2), &f)
        }
        "Feedback with photos" => {
            let mut e = new_event(K::Feedback, 2, "me", "d", "");
            e.photos.insert("p2".into(), photo(2));
            i2.events.insert(e.id.clone(), e);
            authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
        }
        "photo added to an event afterwards" => {
            let e = i2.events.values_mut().next().unwrap();
            e.photos.insert("p3".into(), photo(3));
            authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
        }
        "photo added to the issue afterwards" => {
            i2.photos.insert("p4".into(), photo(4));
            authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
        }
        "visit with photos" => {
            v2.photos.insert("p5".into(), photo(5));
            authorize(&me, None, Image::Visit(&v2), &f)
        }
        "photo added to a visit afterwards" => {
            v2.photos.insert("p6".into(), photo(6));
            authorize(&me, Some(Image::Visit(&v)), Image::Visit(&v2), &f)
        }
        "out of scope" => {
            h2.grid_id = "B".into();
            authorize(&me, None, Image::Household(&h2), &f)
        }
        other => {
            let kind = ALL_EVENT_KINDS
                .into_iter()
                .find(|k| format!("{k:?}") == other)
                .expect("a known change");
            let e = new_event(kind, 2, "me", "d", "");
            i2.events.insert(e.id.clone(), e);
            authorize(&me, Some(Image::Issue(&i)), Image::Issue(&i2), &f)
        }
    };
    r.map_err(|e| e.reason)
}

fn review(by: &str) -> crate::model::VisitReview {
    crate::model::VisitReview {
        status: crate::model::ReviewStatus::Reviewed,
        comment: String::new(),
        by_user: by.into(),
        at: 3,
    }
}

#[test]
fn role_by_change_matrix() {
    use Reason as R;
    const OK: Result<(), Reason> = Ok(());
    let role = Err(R::Role);
    // change: worker, supervisor, supervisor granted key persons, admin
    let table: &[(&str, [Result<(), Reason>; 4])] = &[
        ("create household", [OK, OK, OK, OK]),
        ("edit household", [OK, OK, OK, OK]),
        (
            "tag key person",
            [Err(R::KeyPersons), Err(R::KeyPersons), OK, OK],
        ),
        ("record visit", [OK, role, role, role]),
        (
            "visit for another worker",
            [Err(R::Author), role, role, role],
        ),
        ("pre-reviewed visit", [role, role, role, role]),
        (
            "visit of household in another grid",
            [Err(R::Household), role, role, role],
        ),
        ("review visit", [role, OK, OK, role]),
        (
            "review as another",
            [role, Err(R::Author), Err(R::Author), role],
        ),
        ("rewrite visit", [Err(R::AppendOnly); 4]),
        ("report issue", [OK, OK, OK, role]),
        (
            "event by another",
            [Err(R::Author), Err(R::Author), Err(R::Author), role],
        ),
        ("rewrite event", [Err(R::AppendOnly); 4]),
        (
            "issue of household in another grid",
            [
                Err(R::Household),
                Err(R::Household),
                Err(R::Household),
                role,
            ],
        ),
        (
            "out of scope",
            [Err(R::Scope), Err(R::Scope), Err(R::Scope), OK],
        ),
        // Photos are part of the event or visit they come with; the report's (an
        // event by "another", the fixture's reporter) cannot be added to later by anyone.
        ("report with photos", [OK, OK, OK, role]),
        ("Feedback with photos", [role, OK, OK, role]),
        (
            "photo added to an event afterwards",
            [Err(R::AppendOnly); 4],
        ),
        (
            "photo added to the issue afterwards",
            [Err(R::AppendOnly); 4],
        ),
        ("visit with photos", [OK, role, role, role]),
        ("photo added to a visit afterwards", [Err(R::AppendOnly); 4]),
        ("Report", [OK, OK, OK, role]),
        ("Comment", [OK, OK, OK, role]),
        ("SelfHandle", [OK, OK, OK, role]),
        ("File", [role, OK, OK, role]),
        ("Void", [role, OK, OK, role]),
        ("Dispatch", [role, OK, OK, role]),
        ("Accept", [role, OK, OK, role]),
        ("Feedback", [role, OK, OK, role]),
        ("Check", [role, OK, OK, role]),
        ("Close", [role, OK, OK, role]),
        ("Return", [role, OK, OK, role]),
        ("Evaluate", [role, OK, OK, role]),
    ];
    let cols = [
        (Worker, false),
        (Supervisor, false),
        (Supervisor, true),
        (Admin, false),
    ];
    for (change, expected) in table {
        for ((r, grant), want) in cols.iter().zip(expected) {
            assert_eq!(
                &outcome(*r, *grant, change),
                want,
                "{change} by {r:?} (granted {grant})"
            );
        }
    }
    // Every event kind has a row.
    for k in ALL_EVENT_KINDS {
        assert!(table.iter().any(|(c, _)| *c == format!("{k:?}")), "{k:?}");
    }
}

#[test]
fn refusals_name_the_field_in_both_languages() {
    let (h, mut v, _) = fixtures();
    v.worker_id = "other".into();
    let e = authorize(&actor(Worker, false), None, Image::Visit(&v), &facts(&h)).unwrap_err();
    assert_eq!(e.path, "worker_id");
    assert!(
        e.message.contains("记录人") && e.message.contains("author"),
        "{e}"
    );
    assert_eq!(Forbidden::CODE, "forbidden");
}

#[test]
fn a_worker_may_keep_a_household_whose_key_person_data_it_does_not_touch() {
    let (mut h, _, _) = fixtures();
    let p = h.members.values_mut().next().unwrap();
    p.restricted_tags.insert("drug_rehab".into(), true);
    let mut h2 = h.clone();
    h2.notes = "new note".into();
    let w = actor(Worker, false);
    assert_eq!(
        authorize(
            &w,
            Some(Image::Household(&h)),
            Image::Household(&h2),
            &facts(&h)
        ),
        Ok(())
    );
    h2.members.clear();
    let e = authorize(
        &w,
        Some(Image::Household(&h)),
        Image::Household(&h2),
        &facts(&h),
    );
    assert_eq!(e.unwrap_err().reason, Reason::KeyPersons);
}

#[test]
fn allowed_issue_events_follow_the_table() {
    assert_eq!(
        issue_events_allowed(&actor(Worker, false)),
        vec![K::Report, K::SelfHandle, K::Comment]
    );
    assert_eq!(issue_events_allowed(&actor(Supervisor, false)).len(), 12);
    assert!(issue_events_allowed(&actor(Admin, false)).is_empty());
    assert_eq!(Role::parse("supervisor"), Some(Supervisor));
    assert_eq!(Role::parse("root"), None);
}
