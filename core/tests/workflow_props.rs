//! Properties of the issue loop: the fold is a pure function of the *set* of events, and
//! issue documents edited concurrently on several replicas converge under Automerge with
//! no event lost.

use gridwalk_core::model::{EventKind, Issue, IssueEvent, Reporter, Urgency};
use gridwalk_core::workflow::{fold, fold_events, transition, IssueState, IssueSummary};
use gridwalk_core::{Author, DocId, DocKind, Document};
use proptest::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

const KINDS: [EventKind; 12] = [
    EventKind::Report,
    EventKind::File,
    EventKind::Void,
    EventKind::SelfHandle,
    EventKind::Dispatch,
    EventKind::Accept,
    EventKind::Feedback,
    EventKind::Check,
    EventKind::Close,
    EventKind::Return,
    EventKind::Evaluate,
    EventKind::Comment,
];

/// A path through the loop with one rework, so that random prefixes reach deep states.
const HAPPY: [EventKind; 12] = [
    EventKind::Report,
    EventKind::File,
    EventKind::Dispatch,
    EventKind::Accept,
    EventKind::Feedback,
    EventKind::Check,
    EventKind::Return,
    EventKind::Accept,
    EventKind::Feedback,
    EventKind::Check,
    EventKind::Close,
    EventKind::Evaluate,
];

/// The drawn parts of one event.
#[derive(Debug, Clone)]
struct Parts {
    kind: EventKind,
    at: i64,
    author: usize,
    salt: u16,
}

fn author(i: usize) -> Author {
    let i = i as u128;
    Author::new(Uuid::from_u128(0xA000 + i), Uuid::from_u128(0xD000 + i))
}

/// An event from its parts. `tag` makes ids unique (e.g. replica and position).
fn make_event(p: &Parts, tag: &str) -> IssueEvent {
    let a = author(p.author);
    IssueEvent {
        // The salt comes first so that events at the same time order by a random id.
        id: format!("{:04x}-{tag}", p.salt),
        kind: p.kind,
        at: p.at,
        by_user: a.user.to_string(),
        by_device: a.device.to_string(),
        note: format!("{:?} by author {}", p.kind, p.author),
        department: (p.kind == EventKind::Dispatch).then(|| format!("dept-{}", p.salt % 3)),
        deadline: (p.kind == EventKind::Dispatch).then_some(p.at + 40),
        satisfaction: (p.kind == EventKind::Evaluate).then_some(i64::from(p.salt % 7)),
        photos: Default::default(),
    }
}

/// Random events: any kind, a small time range (many ties), 2–3 authors.
fn random_parts(max_len: usize) -> impl Strategy<Value = Vec<Parts>> {
    prop::collection::vec(
        (0..KINDS.len(), 0i64..60, 0usize..3, any::<u16>()).prop_map(|(k, at, author, salt)| {
            Parts {
                kind: KINDS[k],
                at,
                author,
                salt,
            }
        }),
        0..max_len,
    )
}

/// A prefix of the happy path at roughly increasing times, plus random noise events.
fn event_set() -> impl Strategy<Value = Vec<IssueEvent>> {
    (
        0..=HAPPY.len(),
        prop::collection::vec((0i64..8, any::<u16>()), HAPPY.len()),
        random_parts(16),
    )
        .prop_map(|(steps, jitter, noise)| {
            let mut out = Vec::new();
            for (i, kind) in HAPPY.iter().take(steps).enumerate() {
                let (j, salt) = jitter[i];
                let p = Parts {
                    kind: *kind,
                    at: i as i64 * 5 + j,
                    author: i % 2,
                    salt,
                };
                out.push(make_event(&p, &format!("h{i:02}")));
            }
            for (i, p) in noise.iter().enumerate() {
                out.push(make_event(p, &format!("n{i:02}")));
            }
            out
        })
}

fn check_invariants(s: &IssueSummary, n_events: usize) {
    assert_eq!(s.timeline.len(), n_events, "an event was dropped");
    assert_eq!(
        s.rejected_count,
        s.timeline.iter().filter(|t| !t.applied).count()
    );
    let mut prev: Option<IssueState> = None;
    for pair in s.timeline.windows(2) {
        let (a, b) = (&pair[0].event, &pair[1].event);
        assert!((a.at, &a.id) <= (b.at, &b.id), "timeline out of order");
    }
    for t in &s.timeline {
        match transition(prev, t.event.kind) {
            Ok(next) => {
                assert!(t.applied && t.rejected_reason.is_none());
                assert_eq!(t.state_after, next);
            }
            Err(reason) => {
                assert!(!t.applied);
                assert_eq!(t.rejected_reason.as_deref(), Some(reason));
                assert_eq!(t.state_after, prev);
            }
        }
        prev = t.state_after;
    }
    assert_eq!(s.state, prev);
}

fn issue_with(events: &[IssueEvent]) -> Issue {
    Issue {
        id: "issue-1".into(),
        grid_id: "grid-1".into(),
        category: "environment_sanitation".into(),
        title: "楼道堆放杂物".into(),
        description: "3号楼2单元楼道堆放杂物，影响通行".into(),
        place: "3号楼2单元".into(),
        household_id: None,
        reporter: Some(Reporter {
            name: "张三".into(),
            phone: Some("13800000000".into()),
        }),
        urgency: Urgency::Normal,
        photos: BTreeMap::new(),
        gps: None,
        created_at: 0,
        events: events.iter().map(|e| (e.id.clone(), e.clone())).collect(),
    }
}

fn append(doc: &mut Document, who: Author, ev: IssueEvent) {
    let now = ev.at;
    doc.edit::<Issue, _>(who, now, "append event", |i| {
        i.events.insert(ev.id.clone(), ev);
        Ok(())
    })
    .expect("edit")
    .expect("the edit wrote a change");
}

fn sorted_heads(doc: &Document) -> Vec<String> {
    let mut h: Vec<String> = doc.heads().iter().map(|h| h.to_string()).collect();
    h.sort();
    h
}

/// Merge `from` into `into`, either with Automerge's merge or by shipping raw change bytes.
fn merge_into(into: &mut Document, from: &Document, via_bytes: bool) {
    if via_bytes {
        let changes = from.changes_since(&[]);
        into.apply_change_bytes(changes.iter().map(|c| c.raw_bytes()))
            .expect("apply changes");
    } else {
        let mut other = from.clone();
        into.merge(&mut other).expect("merge");
    }
}

/// Every replica ends identical and holds every event that was ever appended.
fn assert_converged(replicas: &[Document], expected: &[IssueEvent]) {
    let heads = sorted_heads(&replicas[0]);
    let issue: Issue = replicas[0].read().expect("hydrate");
    let summary = fold(&issue);
    for r in replicas {
        assert_eq!(sorted_heads(r), heads);
        let other: Issue = r.read().expect("hydrate");
        assert_eq!(other, issue);
        assert_eq!(fold(&other), summary);
        assert!(r.conflicts().is_empty(), "appending events never conflicts");
    }
    assert_eq!(issue.events.len(), expected.len());
    for e in expected {
        assert_eq!(issue.events.get(&e.id), Some(e), "event {} lost", e.id);
    }
    let refs: Vec<&IssueEvent> = expected.iter().collect();
    assert_eq!(summary, fold_events(&refs));
    check_invariants(&summary, expected.len());
}

#[derive(Debug, Clone)]
struct Scenario {
    base: Vec<IssueEvent>,
    /// Per replica: the events it appends while offline.
    appends: Vec<Vec<Parts>>,
    /// Per replica: the order in which it merges the others, and how.
    merges: Vec<Vec<(usize, bool)>>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (2usize..=3).prop_flat_map(|n| {
        let orders: Vec<_> = (0..n)
            .map(|i| {
                let others: Vec<usize> = (0..n).filter(|j| *j != i).collect();
                (
                    Just(others).prop_shuffle(),
                    prop::collection::vec(any::<bool>(), n - 1),
                )
                    .prop_map(|(o, how)| o.into_iter().zip(how).collect::<Vec<_>>())
            })
            .collect();
        (
            0..=6usize,
            prop::collection::vec(random_parts(6), n),
            orders,
        )
            .prop_map(|(steps, mut appends, merges)| {
                let base: Vec<IssueEvent> = HAPPY
                    .iter()
                    .take(steps)
                    .enumerate()
                    .map(|(i, kind)| {
                        let p = Parts {
                            kind: *kind,
                            at: i as i64,
                            author: 0,
                            salt: i as u16,
                        };
                        make_event(&p, &format!("base{i}"))
                    })
                    .collect();
                // Replica r writes as author r, whatever was drawn.
                for (r, parts) in appends.iter_mut().enumerate() {
                    for p in parts {
                        p.author = r;
                    }
                }
                Scenario {
                    base,
                    appends,
                    merges,
                }
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fold_ignores_input_order(
        (events, shuffled) in event_set().prop_flat_map(|e| (Just(e.clone()), Just(e).prop_shuffle()))
    ) {
        let a: Vec<&IssueEvent> = events.iter().collect();
        let b: Vec<&IssueEvent> = shuffled.iter().collect();
        let sa = fold_events(&a);
        let sb = fold_events(&b);
        prop_assert_eq!(&sa, &sb);
        prop_assert_eq!(&sa, &fold(&issue_with(&shuffled)));
        let reversed: Vec<&IssueEvent> = events.iter().rev().collect();
        prop_assert_eq!(&sa, &fold_events(&reversed));
        check_invariants(&sa, events.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn replicas_converge_and_lose_no_event(sc in scenario()) {
        let id = DocId(Uuid::from_u128(0x1550E));
        let creator = author(9);
        let origin = Document::create(DocKind::Issue, id, &issue_with(&sc.base), creator, 0)
            .expect("create");
        let saved = origin.save();
        let mut replicas: Vec<Document> = sc
            .appends
            .iter()
            .map(|_| Document::load(DocKind::Issue, id, &saved).expect("load"))
            .collect();

        let mut expected = sc.base.clone();
        for (r, parts) in sc.appends.iter().enumerate() {
            for (k, p) in parts.iter().enumerate() {
                let ev = make_event(p, &format!("r{r}e{k}"));
                expected.push(ev.clone());
                append(&mut replicas[r], author(r), ev);
            }
        }

        let snapshots = replicas.clone();
        for (r, order) in sc.merges.iter().enumerate() {
            for &(other, via_bytes) in order {
                merge_into(&mut replicas[r], &snapshots[other], via_bytes);
            }
        }
        assert_converged(&replicas, &expected);
        for (r, parts) in sc.appends.iter().enumerate() {
            if !parts.is_empty() {
                let h = replicas[0].history();
                prop_assert!(h.iter().any(|e| e.author == Some(author(r))));
            }
        }
    }
}

/// The PRODUCT example: the supervisor closes the issue while a worker, offline, adds
/// feedback and a note. Both sides' events survive the merge, in either merge direction;
/// the late feedback is shown as not applied, with its reason, and the issue is closed.
#[test]
fn supervisor_closes_while_worker_adds_feedback() {
    let steps = [
        EventKind::Report,
        EventKind::File,
        EventKind::Dispatch,
        EventKind::Accept,
        EventKind::Feedback,
        EventKind::Check,
    ];
    let base: Vec<IssueEvent> = steps
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let p = Parts {
                kind: *kind,
                at: (i as i64 + 1) * 10,
                author: 0,
                salt: i as u16,
            };
            make_event(&p, &format!("base{i}"))
        })
        .collect();
    let (supervisor, worker) = (author(1), author(2));
    let id = DocId(Uuid::from_u128(0xE4A));
    let origin =
        Document::create(DocKind::Issue, id, &issue_with(&base), author(0), 0).expect("create");
    let saved = origin.save();

    for worker_at in [62, 150] {
        let mut sup = Document::load(DocKind::Issue, id, &saved).expect("load");
        let mut wrk = Document::load(DocKind::Issue, id, &saved).expect("load");
        let close = make_event(
            &Parts {
                kind: EventKind::Close,
                at: 65,
                author: 1,
                salt: 0xC,
            },
            "close",
        );
        let feedback = make_event(
            &Parts {
                kind: EventKind::Feedback,
                at: worker_at,
                author: 2,
                salt: 0xF,
            },
            "feedback",
        );
        let note = make_event(
            &Parts {
                kind: EventKind::Comment,
                at: worker_at + 1,
                author: 2,
                salt: 0xF,
            },
            "note",
        );
        append(&mut sup, supervisor, close.clone());
        append(&mut wrk, worker, feedback.clone());
        append(&mut wrk, worker, note.clone());

        let (sup_before, wrk_before) = (sup.clone(), wrk.clone());
        merge_into(&mut sup, &wrk_before, false);
        merge_into(&mut wrk, &sup_before, true);

        let mut expected = base.clone();
        expected.extend([close.clone(), feedback.clone(), note.clone()]);
        assert_converged(&[sup.clone(), wrk.clone()], &expected);

        let summary = fold(&sup.read::<Issue>().expect("hydrate"));
        assert_eq!(summary.state, Some(IssueState::Closed));
        assert_eq!(summary.closed_at, Some(65));
        assert_eq!(summary.closed_on_time, Some(true));
        assert_eq!(summary.rejected_count, 1);
        let entry = |id: &str| {
            summary
                .timeline
                .iter()
                .find(|t| t.event.id == id)
                .expect("event present")
        };
        let fb = entry(&feedback.id);
        assert!(!fb.applied);
        assert_eq!(
            fb.rejected_reason.as_deref(),
            Some("feedback can only be given while the issue is in progress")
        );
        assert!(entry(&note.id).applied);
        assert!(entry(&close.id).applied);
        let authors: Vec<Option<Author>> = wrk.history().iter().map(|h| h.author).collect();
        assert!(authors.contains(&Some(supervisor)) && authors.contains(&Some(worker)));
    }
}
