//! The push path applies the permission rule (issue 9 §1): each change a worker's device
//! forged in the security review is refused with `Forbidden`, and the store is unchanged.
//! On SQLite or (GRIDWALK_TEST_DATABASE) PostgreSQL.

mod common;

use common::{enroll, household, Device, Direct, District, NOW};
use gridwalk_core::model::{
    EventKind, Issue, KeyPersons, ReviewStatus, Urgency, Visit, VisitMode, VisitReview,
};
use gridwalk_core::sync::{DocChanges, PushOutcome, RejectCode, SyncRequest, PROTOCOL_VERSION};
use gridwalk_core::workflow::{dispatch_event, evaluate_event, new_event};
use gridwalk_core::{DocId, DocKind, Document};
use gridwalk_district_sqlite::{DistrictStore, NewUser};
use gridwalk_store::client::Transport;
use gridwalk_store::StoreError;
use serde_bytes::ByteBuf;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

struct World {
    d: Arc<District>,
    worker: Device,
    other_worker: String,
    supervisor: String,
    /// Households 1 (grid g1, the worker's) and 2 (grid g2).
    h1: String,
    h2: String,
}

fn world() -> World {
    let d = Arc::new(District::open());
    let worker = enroll(&d, "w1", &["g1"]);
    let other_worker = enroll(&d, "w2", &["g1"]).author.user.to_string();
    let supervisor = d
        .create_user(
            &NewUser {
                username: "boss".into(),
                display_name: "网格长".into(),
                role: "supervisor".into(),
                grids: vec!["g1".into(), "g2".into()],
            },
            NOW,
        )
        .expect("supervisor");
    let (h1, h2) = (household(1, "g1"), household(2, "g2"));
    let docs: Vec<(Document, String)> = [&h1, &h2]
        .iter()
        .map(|h| {
            let id = DocId::parse(&h.id).expect("id");
            let doc = Document::create(DocKind::Household, id, *h, worker.author, NOW - 1000)
                .expect("doc");
            (doc, h.grid_id.clone())
        })
        .collect();
    d.console().import_documents(&docs, NOW).expect("seed");
    World {
        d,
        worker,
        other_worker,
        supervisor,
        h1: h1.id,
        h2: h2.id,
    }
}

fn visit(w: &World, household_id: &str) -> Visit {
    Visit {
        id: Uuid::now_v7().to_string(),
        household_id: household_id.into(),
        grid_id: "g1".into(),
        worker_id: w.worker.author.user.to_string(),
        device_id: w.worker.author.device.to_string(),
        at: NOW - 3_600_000,
        mode: VisitMode::InPerson,
        findings: "一切正常".into(),
        needs: String::new(),
        follow_up: None,
        linked_issues: BTreeMap::new(),
        photos: BTreeMap::new(),
        gps: None,
        review: None,
    }
}

fn issue(w: &World, events: Vec<gridwalk_core::model::IssueEvent>) -> Issue {
    Issue {
        id: Uuid::now_v7().to_string(),
        grid_id: "g1".into(),
        category: "environment_sanitation".into(),
        title: "楼道堆放杂物".into(),
        description: String::new(),
        place: "3栋".into(),
        household_id: Some(w.h1.clone()),
        reporter: None,
        urgency: Urgency::Normal,
        photos: BTreeMap::new(),
        gps: None,
        created_at: NOW - 7_200_000,
        events: events.into_iter().map(|e| (e.id.clone(), e)).collect(),
    }
}

fn create<T: autosurgeon::Reconcile>(w: &World, kind: DocKind, id: &str, value: &T) -> Document {
    let id = DocId::parse(id).expect("uuid");
    Document::create(kind, id, value, w.worker.author, NOW - 60_000).expect("doc")
}

fn changes_since(doc: &Document, before: &[automerge::ChangeHash]) -> DocChanges {
    DocChanges {
        doc_id: doc.id.0,
        kind: doc.kind,
        changes: (doc.changes_since(before).iter())
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect(),
    }
}

fn push(w: &World, docs: Vec<DocChanges>) -> gridwalk_store::Result<Vec<PushOutcome>> {
    let response = Direct::new(&w.d, &w.worker.token).exchange(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursors: vec![],
        push: docs,
        max_pull_bytes: 1 << 20,
        want_digest: false,
        compare: vec![],
        handover: vec![],
    })?;
    Ok(response.pushed.into_iter().map(|r| r.outcome).collect())
}

/// Push one document and expect it refused as `Forbidden` naming `path`, nothing stored.
fn assert_forbidden(w: &World, doc: DocChanges, path: &str) {
    let before = w.d.dump();
    let outcomes = push(w, vec![doc]).expect("push answered");
    match &outcomes[..] {
        [PushOutcome::Rejected {
            code: RejectCode::Forbidden,
            message,
        }] => assert!(message.contains(path), "{message} should name {path}"),
        other => panic!("expected Forbidden at {path}, got {other:?}"),
    }
    assert_eq!(w.d.dump(), before, "nothing stored");
}

#[test]
fn forged_supervisor_events_are_refused() {
    let w = world();
    let me = w.worker.author.user.to_string();
    let sup = w.supervisor.clone();
    let dev = w.worker.author.device.to_string();
    let t = NOW - 7_000_000;
    let events = vec![
        new_event(EventKind::Report, t, &me, &dev, "上报"),
        new_event(EventKind::File, t + 1, &sup, &dev, "立案"),
        dispatch_event(t + 2, &sup, &dev, "", "sanitation", Some(t + 99_999_999)),
        new_event(EventKind::Accept, t + 3, &sup, &dev, ""),
        new_event(EventKind::Feedback, t + 4, &sup, &dev, ""),
        new_event(EventKind::Check, t + 5, &sup, &dev, ""),
        new_event(EventKind::Close, t + 6, &sup, &dev, ""),
        evaluate_event(t + 7, &sup, &dev, "", 5),
    ];
    let i = issue(&w, events);
    let doc = create(&w, DocKind::Issue, &i.id, &i);
    // The first step a worker may not take is named (File, whoever it claims).
    assert_forbidden(&w, changes_since(&doc, &[]), ".kind");

    // Even a step a worker may take is refused when it claims the supervisor.
    let i = issue(
        &w,
        vec![
            new_event(EventKind::Report, t, &me, &dev, "上报"),
            new_event(EventKind::Comment, t + 1, &sup, &dev, "已核实"),
        ],
    );
    let doc = create(&w, DocKind::Issue, &i.id, &i);
    assert_forbidden(&w, changes_since(&doc, &[]), ".by_user");

    // Claiming no one else: a worker still may not file its own report.
    let i = issue(
        &w,
        vec![
            new_event(EventKind::Report, t, &me, &dev, "上报"),
            new_event(EventKind::File, t + 1, &me, &dev, "立案"),
        ],
    );
    let doc = create(&w, DocKind::Issue, &i.id, &i);
    assert_forbidden(&w, changes_since(&doc, &[]), ".kind");
}

#[test]
fn a_pre_reviewed_visit_is_refused() {
    let w = world();
    let mut v = visit(&w, &w.h1);
    v.review = Some(VisitReview {
        status: ReviewStatus::Reviewed,
        comment: String::new(),
        by_user: w.supervisor.clone(),
        at: NOW - 1000,
    });
    let doc = create(&w, DocKind::Visit, &v.id, &v);
    assert_forbidden(&w, changes_since(&doc, &[]), "review");
}

#[test]
fn a_visit_credited_to_another_worker_is_refused() {
    let w = world();
    let mut v = visit(&w, &w.h1);
    v.worker_id = w.other_worker.clone();
    let doc = create(&w, DocKind::Visit, &v.id, &v);
    assert_forbidden(&w, changes_since(&doc, &[]), "worker_id");
}

#[test]
fn a_visit_or_issue_for_a_household_of_another_grid_is_refused() {
    let w = world();
    let v = visit(&w, &w.h2);
    let doc = create(&w, DocKind::Visit, &v.id, &v);
    assert_forbidden(&w, changes_since(&doc, &[]), "household_id");

    let me = w.worker.author.user.to_string();
    let report = new_event(EventKind::Report, NOW - 9000, &me, "d", "上报");
    let mut i = issue(&w, vec![report]);
    i.household_id = Some(w.h2.clone());
    let doc = create(&w, DocKind::Issue, &i.id, &i);
    assert_forbidden(&w, changes_since(&doc, &[]), "household_id");
}

#[test]
fn a_restricted_tag_added_by_a_worker_is_refused() {
    let w = world();
    let id = DocId::parse(&w.h1).expect("id");
    let mut doc = w.d.load_document(id).expect("load");
    let before = doc.heads();
    doc.edit::<gridwalk_core::model::Household, _>(w.worker.author, NOW, "tag", |h| {
        let p = h.members.values_mut().next().expect("member");
        p.restricted_tags.insert("drug_rehab".into(), true);
        Ok(())
    })
    .expect("edit");
    assert_forbidden(&w, changes_since(&doc, &before), "restricted_tags");
}

#[test]
fn what_a_worker_may_do_is_accepted() {
    let w = world();
    let me = w.worker.author.user.to_string();
    let dev = w.worker.author.device.to_string();
    let v = visit(&w, &w.h1);
    let i = issue(
        &w,
        vec![
            new_event(EventKind::Report, NOW - 9000, &me, &dev, "上报"),
            new_event(EventKind::SelfHandle, NOW - 8000, &me, &dev, "已处理"),
            new_event(EventKind::Comment, NOW - 7000, &me, &dev, "补充"),
        ],
    );
    let docs = vec![
        changes_since(&create(&w, DocKind::Visit, &v.id, &v), &[]),
        changes_since(&create(&w, DocKind::Issue, &i.id, &i), &[]),
    ];
    let outcomes = push(&w, docs).expect("push");
    assert_eq!(outcomes, vec![PushOutcome::Accepted, PushOutcome::Accepted]);
}

#[test]
fn scope_is_checked_before_kind() {
    let w = world();
    // Household 2 is in grid g2: pushing to its id as a visit must not reveal that it is
    // a household; the whole push is refused for scope.
    let mut v = visit(&w, &w.h1);
    v.id = w.h2.clone();
    let doc = create(&w, DocKind::Visit, &v.id, &v);
    let before = w.d.dump();
    let err = push(&w, vec![changes_since(&doc, &[])]).expect_err("refused");
    assert!(
        matches!(&err, StoreError::Forbidden { grid_id, .. } if grid_id == "g2"),
        "{err:?}"
    );
    assert_eq!(w.d.dump(), before);
}

#[test]
fn the_users_role_is_known_to_the_push_path() {
    let w = world();
    let auth = w.d.authenticate(&w.worker.token, NOW).expect("auth");
    assert_eq!(auth.role, gridwalk_core::authorize::Role::Worker);
    assert!(!auth.key_person_grant);
}

/// Key-person data of household 1: its first member is in community drug rehabilitation.
fn seed_key_persons(w: &World) -> String {
    let h =
        w.d.load_document(DocId::parse(&w.h1).expect("id"))
            .expect("load");
    let h: gridwalk_core::model::Household = h.read().expect("read");
    let pid = h.members.keys().next().expect("member").clone();
    let k = KeyPersons {
        id: Uuid::now_v7().to_string(),
        household_id: w.h1.clone(),
        grid_id: "g1".into(),
        persons: BTreeMap::from([(pid, BTreeMap::from([("drug_rehab".to_string(), true)]))]),
    };
    let doc = Document::create(
        DocKind::KeyPersons,
        DocId::parse(&k.id).expect("id"),
        &k,
        w.worker.author,
        NOW - 1000,
    )
    .expect("doc");
    w.d.console()
        .import_documents(&[(doc, "g1".into())], NOW)
        .expect("seed");
    k.id
}

/// Every document a device receives on a first download of its grids, as JSON text.
fn first_download(d: &Arc<District>, token: &str) -> Vec<(DocKind, String)> {
    let auth = d.authenticate(token, NOW).expect("auth");
    let response = Direct::new(d, token)
        .exchange(&SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursors: auth
                .grids
                .iter()
                .map(|g| gridwalk_core::sync::GridCursor::fresh(g.clone()))
                .collect(),
            push: vec![],
            max_pull_bytes: 8 << 20,
            want_digest: false,
            compare: vec![],
            handover: vec![],
        })
        .expect("pull");
    response
        .pulled
        .iter()
        .map(|p| {
            let gridwalk_core::sync::DocData::Snapshot(bytes) = &p.data else {
                panic!("a first download sends whole documents")
            };
            let doc = Document::load(p.kind, DocId(p.doc_id), bytes).expect("loads");
            (p.kind, doc.to_json().to_string())
        })
        .collect()
}

#[test]
fn key_person_data_never_reaches_a_worker_device() {
    let w = world();
    seed_key_persons(&w);
    let got = first_download(&w.d, &w.worker.token);
    assert!(got.iter().any(|(k, _)| *k == DocKind::Household), "{got:?}");
    for (kind, json) in &got {
        assert_ne!(*kind, DocKind::KeyPersons);
        for (tag, zh, _) in gridwalk_core::model::RESTRICTED_TAGS {
            assert!(!json.contains(tag) && !json.contains(zh), "{kind}: {json}");
        }
    }
    // Nor may a worker write it.
    let h =
        w.d.load_document(DocId::parse(&w.h1).expect("id"))
            .expect("load");
    let h: gridwalk_core::model::Household = h.read().expect("read");
    let k = KeyPersons {
        id: Uuid::now_v7().to_string(),
        household_id: w.h1.clone(),
        grid_id: "g1".into(),
        persons: BTreeMap::from([(
            h.members.keys().next().expect("member").clone(),
            BTreeMap::from([("released_prisoner".to_string(), true)]),
        )]),
    };
    let doc = create(&w, DocKind::KeyPersons, &k.id, &k);
    assert_forbidden(&w, changes_since(&doc, &[]), "persons");
}

#[test]
fn key_person_data_reaches_only_granted_supervisors() {
    let w = world();
    let kid = seed_key_persons(&w);
    let code =
        w.d.create_enrollment(&w.supervisor, 3_600_000, NOW)
            .expect("code");
    let token = w.d.enroll(&code, "desk", NOW).expect("enroll").token;
    let kinds =
        |got: Vec<(DocKind, String)>| -> Vec<DocKind> { got.into_iter().map(|(k, _)| k).collect() };
    assert!(!kinds(first_download(&w.d, &token)).contains(&DocKind::KeyPersons));

    let h1 = DocId::parse(&w.h1).expect("id");
    let tags = |d: &District| -> String {
        let scope = d.console().console_scope(&w.supervisor).expect("scope");
        let detail = d
            .console()
            .console_household(&scope, h1)
            .expect("household");
        serde_json::to_string(&detail).expect("json")
    };
    assert!(!tags(&w.d).contains("drug_rehab"));

    w.d.console()
        .set_key_person_grant(&w.supervisor, true)
        .expect("grant");
    assert!(tags(&w.d).contains("drug_rehab"));
    let got = first_download(&w.d, &token);
    assert!(got
        .iter()
        .any(|(k, json)| *k == DocKind::KeyPersons && json.contains(&kid)));
    // A worker never takes the grant.
    assert!(w
        .d
        .console()
        .set_key_person_grant(&w.worker.author.user.to_string(), true)
        .is_err());
}

#[test]
fn a_field_outside_the_schema_is_refused() {
    // Typed reads skip unknown keys: without the shape check a 2 KB push could park
    // megabytes under a made-up key that every device of the grid then downloads.
    let w = world();
    let id = DocId::parse(&w.h1).expect("id");
    let mut doc = w.d.load_document(id).expect("load");
    let before_heads = doc.heads();
    let before = doc.to_json();
    let mut after = before.clone();
    after["x"] = serde_json::Value::String("垃".repeat(200_000));
    doc.write_json_diff(w.worker.author, NOW, "junk", &before, &after)
        .expect("write");
    let stored = w.d.dump();
    let outcomes = push(&w, vec![changes_since(&doc, &before_heads)]).expect("push answered");
    match &outcomes[..] {
        [PushOutcome::Rejected {
            code: RejectCode::Invalid,
            message,
        }] => assert!(message.contains('x'), "{message} should name the field"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(w.d.dump(), stored, "nothing stored");
}
