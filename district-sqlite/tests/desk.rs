//! The supervisor's desk on SQLite or (GRIDWALK_TEST_DATABASE) PostgreSQL, through
//! `ConsoleBackend` as the server holds it: the issue desk (list, one issue, each kind of
//! refusal, a dispatch with its deadline), visit review, the household ledger and conflict
//! resolution, each cut to the caller's grids, each action updating the projection in its
//! own transaction and reaching the worker's device on its next sync.

mod common;

use common::{enroll, household, Device, Direct, District, NOW};
use gridwalk_core::authorize::{Actor, Role};
use gridwalk_core::deadline::WorkCalendar;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::{EventKind, Household, Issue, ReviewStatus, Visit};
use gridwalk_core::{workflow, Author, DocId, DocKind, Document};
use gridwalk_district_sqlite::{
    ConsoleError, ConsoleScope, ConsoleStep, Department, IssueAction, NewUser, StoreError,
    VisitQuery,
};
use gridwalk_store::client::SyncOptions;
use gridwalk_store::{HouseholdQuery, IssueQuery};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use uuid::Uuid;

/// The server's own author for imported fixtures.
const SERVER: Author = Author {
    user: Uuid::nil(),
    device: Uuid::nil(),
};

fn supervisor(d: &District, name: &str, grids: &[&str]) -> ConsoleScope {
    let id = d
        .create_user(
            &NewUser {
                username: name.into(),
                display_name: format!("主任{name}"),
                role: "supervisor".into(),
                grids: grids.iter().map(|g| g.to_string()).collect(),
            },
            NOW,
        )
        .expect("user");
    d.console().console_scope(&id).expect("scope")
}

fn author(d: &District, scope: &ConsoleScope) -> Author {
    let user = Uuid::parse_str(&scope.user_id).expect("uuid");
    Author::new(
        user,
        d.console().console_device_id().expect("console device"),
    )
}

fn sync(dev: &mut Device, d: &Arc<District>) {
    let mut t = Direct::new(d, &dev.token);
    dev.store
        .sync(
            &mut t,
            &SyncOptions::default(),
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync");
}

/// A reported issue in `grid`, imported as the server would.
fn import_issue(d: &District, grid: &str) -> DocId {
    let demo = generate(&DemoParams::single_grid(20, 3, NOW));
    let mut issue = demo.issues[0].clone();
    let id = DocId::new_v7();
    let at = NOW - 60_000;
    issue.id = id.to_string();
    issue.grid_id = grid.into();
    issue.household_id = None;
    issue.category = "environment_sanitation".into();
    issue.title = "楼道堆放杂物 13812345678".into();
    issue.created_at = at;
    let report = workflow::new_event(EventKind::Report, at, "w", "d", "上报");
    issue.events = [(report.id.clone(), report)].into_iter().collect();
    let doc = Document::create(DocKind::Issue, id, &issue, SERVER, at).expect("doc");
    let added = d
        .console()
        .import_documents(&[(doc, grid.to_string())], NOW);
    assert_eq!(added.expect("import"), 1);
    id
}

fn issues(d: &District, scope: &ConsoleScope, states: &[&str]) -> Vec<String> {
    let q = IssueQuery {
        states: states.iter().map(|s| s.to_string()).collect(),
        now_ms: NOW,
        ..Default::default()
    };
    let page = d.console().console_issues(scope, &q).expect("issues");
    assert_eq!(page.total, page.items.len());
    page.items.into_iter().map(|i| i.doc_id).collect()
}

#[test]
fn the_issue_desk_lists_acts_and_refuses_within_scope() {
    let d = Arc::new(District::open());
    let mut w1 = enroll(&*d, "w1", &["g1"]);
    let sup1 = supervisor(&d, "s1", &["g1"]);
    let sup2 = supervisor(&d, "s2", &["g2"]);
    let mine = import_issue(&d, "g1");
    let theirs = import_issue(&d, "g2");
    sync(&mut w1, &d);
    let c = d.console();

    assert_eq!(issues(&d, &sup1, &[]), vec![mine.to_string()]);
    assert_eq!(issues(&d, &sup2, &[]), vec![theirs.to_string()]);
    assert!(matches!(
        c.console_issue(&sup1, theirs),
        Err(ConsoleError::NotFound(_))
    ));

    let calendar = WorkCalendar::default();
    let step = ConsoleStep {
        author: author(&d, &sup1),
        now_ms: NOW,
        calendar: &calendar,
        categories: &[],
    };
    let act = |id, action: IssueAction| {
        c.issue_action_with_photos(&sup1, id, &action, &Default::default(), &step)
    };
    let note = || "ok".to_string();
    // Out of scope: "not found", before anything else.
    let other = act(theirs, IssueAction::File { note: note() });
    assert!(matches!(other, Err(ConsoleError::NotFound(_))), "{other:?}");
    // Illegal in the state: the workflow's reason, nothing written.
    let early = act(
        mine,
        IssueAction::Dispatch {
            department: "城管".into(),
            note: note(),
        },
    );
    assert!(matches!(early, Err(ConsoleError::Conflict(_))), "{early:?}");
    let before = d.count_changes();
    let bad = act(
        mine,
        IssueAction::Evaluate {
            satisfaction: 9,
            note: note(),
        },
    );
    assert!(matches!(bad, Err(ConsoleError::BadRequest(_))), "{bad:?}");
    let blank = act(
        mine,
        IssueAction::Dispatch {
            department: " ".into(),
            note: note(),
        },
    );
    assert!(
        matches!(blank, Err(ConsoleError::BadRequest(_))),
        "{blank:?}"
    );
    assert_eq!(d.count_changes(), before, "a refused step writes nothing");

    let filed = act(mine, IssueAction::File { note: note() }).expect("file");
    assert_eq!(filed.state, Some(workflow::IssueState::Filed));
    // A later step (events are ordered by their time, then their random id).
    let later = ConsoleStep {
        now_ms: NOW + 60_000,
        ..step
    };
    let city = Department {
        code: "city".into(),
        zh: "城管".into(),
        en: "City management".into(),
    };
    c.set_departments(std::slice::from_ref(&city))
        .expect("departments");
    let dispatch = IssueAction::Dispatch {
        department: "city".into(),
        note: note(),
    };
    let sent = c
        .issue_action_with_photos(&sup1, mine, &dispatch, &Default::default(), &later)
        .expect("dispatch");
    assert_eq!(sent.department.as_deref(), Some("city"));
    // A department an issue was dispatched to is not removed (the issue names it).
    let kept = c.set_departments(&[]);
    assert!(
        matches!(kept, Err(StoreError::BadRequest(ref m)) if m.contains("city")),
        "{kept:?}"
    );
    assert_eq!(c.departments().expect("departments").len(), 1);
    assert!(sent.deadline.is_some_and(|t| t > NOW + 60_000), "{sent:?}");
    // The projection moved with the document, in the same transaction.
    assert_eq!(issues(&d, &sup1, &["Dispatched"]), vec![mine.to_string()]);
    assert!(issues(&d, &sup1, &["Reported"]).is_empty());

    // Authored by the supervisor on the console's device, sequenced for devices.
    sync(&mut w1, &d);
    let on_device: Issue = w1.store.read(mine).expect("issue on the device");
    let summary = workflow::fold(&on_device);
    assert_eq!(summary.state, Some(workflow::IssueState::Dispatched));
    let last = summary.timeline.last().expect("events");
    assert_eq!(last.event.by_user, sup1.user_id);
}

#[test]
fn visits_are_reviewed_and_flagged_within_scope() {
    let d = Arc::new(District::open());
    let mut w1 = enroll(&*d, "w1", &["g1"]);
    let sup1 = supervisor(&d, "s1", &["g1"]);
    let sup2 = supervisor(&d, "s2", &["g2"]);
    let h = household(1, "g1");
    let hid = w1
        .store
        .create_household(&h, w1.author, NOW)
        .expect("household")
        .doc_id;
    let demo = generate(&DemoParams::single_grid(20, 3, NOW));
    let mut v = demo.visits[0].clone();
    let vid = DocId::new_v7();
    v.id = vid.to_string();
    v.household_id = hid.to_string();
    v.grid_id = "g1".into();
    v.worker_id = w1.author.user.to_string();
    v.device_id = w1.author.device.to_string();
    v.review = None;
    w1.store.create_visit(&v, w1.author, NOW).expect("visit");
    sync(&mut w1, &d);
    let c = d.console();

    let q = |review: Option<&str>| VisitQuery {
        review: review.map(str::to_string),
        ..Default::default()
    };
    let (rows, total) = c.console_visits(&sup1, &q(Some("none"))).expect("visits");
    assert_eq!((rows.len(), total), (1, 1));
    assert_eq!(rows[0].doc_id, vid.to_string());
    assert_eq!(rows[0].worker_name.as_deref(), Some("w1"));
    assert!(
        rows[0].address.is_some(),
        "the household's address: {rows:?}"
    );
    assert_eq!(c.console_visits(&sup2, &q(None)).expect("visits").1, 0);
    assert!(matches!(
        c.console_visit(&sup2, vid),
        Err(ConsoleError::NotFound(_))
    ));

    let by = author(&d, &sup1);
    let no_comment = c.review_visit(&sup1, vid, ReviewStatus::Flagged, " ", by, NOW);
    assert!(matches!(no_comment, Err(ConsoleError::BadRequest(_))));
    let flagged = c
        .review_visit(&sup1, vid, ReviewStatus::Flagged, "补充照片", by, NOW)
        .expect("flag");
    assert_eq!(
        flagged.review.as_ref().map(|r| r.status.clone()),
        Some(ReviewStatus::Flagged)
    );
    assert_eq!(c.console_visits(&sup1, &q(Some("none"))).expect("v").1, 0);
    assert_eq!(
        c.console_visits(&sup1, &q(Some("Flagged"))).expect("v").1,
        1
    );

    sync(&mut w1, &d);
    let on_device: Visit = w1.store.read(vid).expect("visit on the device");
    let review = on_device.review.expect("the flag reached the device");
    assert_eq!(review.comment, "补充照片");
    assert_eq!(review.by_user, sup1.user_id);
}

#[test]
fn households_are_listed_shown_masked_and_their_conflicts_resolved() {
    let d = Arc::new(District::open());
    let mut w1 = enroll(&*d, "w1", &["g1"]);
    let sup1 = supervisor(&d, "s1", &["g1"]);
    let sup2 = supervisor(&d, "s2", &["g2"]);
    // Two offline edits of one phone: a conflict in the merged document.
    let h = household(1, "g1");
    let id = DocId::parse(&h.id).expect("id");
    let a = Author::new(Uuid::from_u128(11), Uuid::from_u128(12));
    let b = Author::new(Uuid::from_u128(21), Uuid::from_u128(22));
    let mut doc = Document::create(DocKind::Household, id, &h, a, NOW - 10).expect("doc");
    let mut fork = Document::load(DocKind::Household, id, &doc.save()).expect("fork");
    let set_phone = |doc: &mut Document, who, phone: &str| {
        doc.edit::<Household, _>(who, NOW - 5, "phone", |h| {
            h.phone = Some(phone.into());
            Ok(())
        })
        .expect("edit");
    };
    set_phone(&mut doc, a, "13800000001");
    set_phone(&mut fork, b, "13900000002");
    doc.merge(&mut fork).expect("merge");
    assert_eq!(doc.conflicts().len(), 1);
    let added = d.console().import_documents(&[(doc, "g1".into())], NOW);
    assert_eq!(added.expect("import"), 1);
    sync(&mut w1, &d);
    let c = d.console();

    let page = c
        .console_households(&sup1, &HouseholdQuery::default())
        .expect("households");
    assert_eq!((page.total, page.items.len()), (1, 1));
    assert_eq!(page.items[0].conflicts, 1);
    let by_grid = HouseholdQuery {
        grid_ids: Some(vec!["g2".into()]),
        ..Default::default()
    };
    let none = c.console_households(&sup1, &by_grid).expect("households");
    assert_eq!(none.total, 0, "a filter never widens the scope");
    assert_eq!(
        c.console_households(&sup2, &HouseholdQuery::default())
            .expect("households")
            .total,
        0
    );
    let head = h.head().expect("head").name.clone();
    let by_name = HouseholdQuery {
        text: Some(head),
        ..Default::default()
    };
    assert_eq!(c.console_households(&sup1, &by_name).expect("q").total, 1);
    assert!(matches!(
        c.console_household(&sup2, id),
        Err(ConsoleError::NotFound(_))
    ));

    let detail = c.console_household(&sup1, id).expect("household");
    assert_eq!(detail.conflicts.len(), 1);
    let shown = detail.conflicts[0].to_string();
    assert!(
        !shown.contains("13800000001") && !shown.contains("13900000002"),
        "conflict values are masked: {shown}"
    );
    let by = author(&d, &sup1);
    let path = vec!["phone".to_string()];
    let wrong = c.resolve_conflict(&sup1, id, &path, 7, by, NOW);
    assert!(
        matches!(wrong, Err(ConsoleError::BadRequest(_))),
        "{wrong:?}"
    );
    c.resolve_conflict(&sup1, id, &path, 0, by, NOW)
        .expect("resolve");
    let after = c.console_household(&sup1, id).expect("household");
    assert!(after.conflicts.is_empty());
    let page = c
        .console_households(&sup1, &HouseholdQuery::default())
        .expect("households");
    assert_eq!(page.items[0].conflicts, 0, "the projection moved with it");

    sync(&mut w1, &d);
    let on_device: Household = w1.store.read(id).expect("household on the device");
    let stored = c.load_document(id).expect("stored");
    assert_eq!(
        on_device.phone,
        stored.read::<Household>().expect("read").phone
    );
    assert!(stored.conflicts().is_empty());
}

/// PostgreSQL: an edit rewrites only the members whose row changed (as on SQLite, where
/// `store/tests/projection.rs` counts it): a row PostgreSQL did not update keeps its
/// `xmin`.
#[test]
fn an_edit_rewrites_only_the_members_that_changed() {
    let d = District::open();
    let Some(url) = d.postgres_url() else {
        eprintln!("GRIDWALK_TEST_DATABASE is not set: PostgreSQL not tested here");
        return;
    };
    let mut h = household(1, "g1");
    let mut spouse = h.members.values().next().expect("head").clone();
    spouse.id = Uuid::from_u128(0x9999).to_string();
    spouse.name = "李四".into();
    spouse.relation = gridwalk_core::model::Relation::Spouse;
    h.members.insert(spouse.id.clone(), spouse);
    let id = DocId::parse(&h.id).expect("id");
    let doc = Document::create(DocKind::Household, id, &h, SERVER, NOW - 10).expect("doc");
    let added = d.console().import_documents(&[(doc, "g1".into())], NOW);
    assert_eq!(added.expect("import"), 1);
    let mut pg = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let mut xmins = || -> Vec<(String, String)> {
        pg.query(
            "SELECT person_id, xmin::text FROM persons ORDER BY person_id",
            &[],
        )
        .expect("persons")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    let before = xmins();
    assert!(before.len() >= 2, "{before:?}");
    let admin = Actor {
        user_id: "admin".into(),
        role: Role::Admin,
        grids: None,
        key_person_grant: true,
    };
    let renamed = before[0].0.clone();
    let edit = |f: &dyn Fn(&mut Household)| {
        d.console()
            .edit_document_with(DocKind::Household, id, &admin, NOW, &mut |doc| {
                doc.edit::<Household, _>(SERVER, NOW, "edit", |h| {
                    f(h);
                    Ok(())
                })
                .map(|_| ())
                .map_err(|e| gridwalk_store::StoreError::BadRequest(e.to_string()))
            })
            .expect("edit")
    };
    edit(&|h| h.notes = "新备注".into());
    assert_eq!(xmins(), before, "a household field rewrites no member");
    edit(&|h| {
        if let Some(p) = h.members.get_mut(&renamed) {
            p.name = "王五".into();
        }
    });
    let after = xmins();
    for ((id, was), (_, now)) in before.iter().zip(&after) {
        assert_eq!(was == now, *id != renamed, "{id}: {was} → {now}");
    }
}
