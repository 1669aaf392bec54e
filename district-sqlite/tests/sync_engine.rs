//! The sync engine against the district store, in process, through the real codec and
//! request handler (the HTTP layer has its own tests in the server crate and tests/).

mod common;

use common::{enroll, household, Device, Direct, District, NOW};
use gridwalk_core::model::Household;
use gridwalk_core::sync::{DocChanges, PushOutcome, RejectCode, SyncRequest, PROTOCOL_VERSION};
use gridwalk_core::{Author, DocId, DocKind, Document};
use gridwalk_district_sqlite::DistrictStore;
use gridwalk_store::client::{SyncOptions, Transport};
use gridwalk_store::{Store, StoreError};
use serde_bytes::ByteBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use uuid::Uuid;

/// The district of one test: SQLite, or PostgreSQL when `GRIDWALK_TEST_DATABASE` is set.
fn district() -> ((), Arc<District>) {
    ((), Arc::new(District::open()))
}

fn sync(dev: &mut Device, d: &Arc<District>) -> gridwalk_store::client::SyncReport {
    sync_via(dev, d.clone())
}

/// Sync through a given store instance (a second server's).
fn sync_via(dev: &mut Device, d: Arc<dyn DistrictStore>) -> gridwalk_store::client::SyncReport {
    let mut t = Direct::on(d, &dev.token);
    dev.store
        .sync(
            &mut t,
            &SyncOptions::default(),
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync")
}

fn hid(i: usize) -> DocId {
    DocId(Uuid::from_u128(0x1000 + i as u128))
}

fn heads(store: &Store, i: usize) -> Vec<String> {
    let mut h: Vec<String> = store
        .load(hid(i))
        .expect("doc")
        .heads()
        .iter()
        .map(|h| h.to_string())
        .collect();
    h.sort();
    h
}

fn server_heads(d: &District, i: usize) -> Vec<String> {
    let mut h: Vec<String> = d
        .load_document(hid(i))
        .expect("doc")
        .heads()
        .iter()
        .map(|h| h.to_string())
        .collect();
    h.sort();
    h
}

fn edit(dev: &mut Device, i: usize, f: impl FnOnce(&mut Household)) {
    dev.store
        .edit::<Household, _>(DocKind::Household, hid(i), dev.author, NOW, "edit", |h| {
            f(h);
            Ok(())
        })
        .expect("edit");
}

#[test]
fn three_devices_converge_in_every_order_and_keep_same_field_conflicts() {
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let (_dir, d) = district();
        let mut devs = vec![
            enroll(&d, "a", &["g1"]),
            enroll(&d, "b", &["g1"]),
            enroll(&d, "c", &["g1"]),
        ];
        for i in 0..6 {
            let author = devs[0].author;
            devs[0]
                .store
                .create_household(&household(i, "g1"), author, NOW)
                .expect("create");
        }
        for dev in devs.iter_mut() {
            sync(dev, &d);
        }
        // Offline: A and B edit different fields; A and C edit the same field of h0.
        for i in 0..4 {
            edit(&mut devs[0], i, |h| h.notes = format!("A notes {i}"));
            edit(&mut devs[1], i, |h| h.phone = Some("13900001111".into()));
        }
        edit(&mut devs[2], 0, |h| h.notes = "C notes 0".into());
        edit(&mut devs[2], 5, |h| h.address.room = "999".into());
        for &k in &order {
            sync(&mut devs[k], &d);
        }
        for &k in &order {
            sync(&mut devs[k], &d);
        }
        for i in 0..6 {
            let expected = server_heads(&d, i);
            for dev in &devs {
                assert_eq!(
                    heads(&dev.store, i),
                    expected,
                    "order {order:?} household {i}"
                );
            }
        }
        for dev in &devs {
            let h1: Household = dev.store.read(hid(1)).expect("read");
            assert_eq!(h1.notes, "A notes 1", "A's edit kept");
            assert_eq!(h1.phone.as_deref(), Some("13900001111"), "B's edit kept");
            let h5: Household = dev.store.read(hid(5)).expect("read");
            assert_eq!(h5.address.room, "999");
            let conflicts = dev.store.load(hid(0)).expect("doc").conflicts();
            assert_eq!(conflicts.len(), 1, "order {order:?}: one conflict on h0");
            assert_eq!(conflicts[0].path, vec!["notes".to_string()]);
            let mut values: Vec<String> = conflicts[0]
                .values
                .iter()
                .map(|v| v.value.as_str().unwrap_or("").to_string())
                .collect();
            values.sort();
            assert_eq!(
                values,
                vec!["A notes 0".to_string(), "C notes 0".to_string()]
            );
            let authors: Vec<Option<Author>> =
                conflicts[0].values.iter().map(|v| v.author).collect();
            assert!(
                authors.contains(&Some(devs[0].author)) && authors.contains(&Some(devs[2].author))
            );
            assert_eq!(dev.store.outbox_len().expect("outbox"), 0);
        }
        // The conflict is visible in the projection too, and resolving it is one change.
        let path = vec!["notes".to_string()];
        let author = devs[1].author;
        devs[1]
            .store
            .resolve_conflict(hid(0), author, NOW, &path, &serde_json::json!("merged"))
            .expect("resolve");
        sync(&mut devs[1], &d);
        sync(&mut devs[0], &d);
        assert!(devs[0]
            .store
            .load(hid(0))
            .expect("doc")
            .conflicts()
            .is_empty());
        let h0: Household = devs[0].store.read(hid(0)).expect("read");
        assert_eq!(h0.notes, "merged");
    }
}

#[test]
fn lost_response_and_duplicate_push_change_nothing_twice() {
    let (_dir, d) = district();
    let mut a = enroll(&d, "a", &["g1"]);
    let mut b = enroll(&d, "b", &["g1"]);
    for i in 0..3 {
        let author = a.author;
        a.store
            .create_household(&household(i, "g1"), author, NOW)
            .expect("create");
    }
    let mut t = Direct::new(&d, &a.token);
    t.drop_response_of = Some(1);
    let err = a.store.sync(
        &mut t,
        &SyncOptions::default(),
        NOW,
        &mut |_| {},
        &AtomicBool::new(false),
    );
    assert!(matches!(err, Err(StoreError::Transport { .. })), "{err:?}");
    assert_eq!(
        a.store.outbox_len().expect("outbox"),
        3,
        "not acknowledged, so still queued"
    );
    let count = |d: &District| -> i64 { d.count_changes() };
    assert_eq!(
        count(&d),
        3,
        "the server committed before the response was lost"
    );
    let report = sync(&mut a, &d);
    assert_eq!(report.accepted_docs, 3);
    assert_eq!(a.store.outbox_len().expect("outbox"), 0);
    assert_eq!(count(&d), 3, "the repeated push stored nothing twice");
    sync(&mut b, &d);
    for i in 0..3 {
        assert_eq!(heads(&b.store, i), heads(&a.store, i));
    }
}

struct FailAfter<'a> {
    inner: Direct,
    fail_at: usize,
    _d: &'a (),
}

impl Transport for FailAfter<'_> {
    fn exchange(
        &mut self,
        request: &SyncRequest,
    ) -> gridwalk_store::Result<gridwalk_core::sync::SyncResponse> {
        if self.inner.requests + 1 == self.fail_at {
            self.inner.requests += 1;
            return Err(StoreError::Transport {
                retryable: true,
                message: "signal lost (test)".into(),
            });
        }
        self.inner.exchange(request)
    }
}

#[test]
fn fresh_device_pulls_in_pages_and_resumes_after_a_cut() {
    let (_dir, d) = district();
    let mut a = enroll(&d, "a", &["g1"]);
    for i in 0..300 {
        let author = a.author;
        a.store
            .create_household(&household(i, "g1"), author, NOW)
            .expect("create");
    }
    sync(&mut a, &d);
    let small = SyncOptions {
        max_pull_bytes: 16 * 1024,
        ..SyncOptions::default()
    };

    // Uninterrupted, for reference.
    let mut ref_dev = enroll(&d, "ref", &["g1"]);
    let mut t = Direct::new(&d, &ref_dev.token);
    let mut seen_total = 0;
    ref_dev
        .store
        .sync(
            &mut t,
            &small,
            NOW,
            &mut |p| seen_total = seen_total.max(p.full_pull_total),
            &AtomicBool::new(false),
        )
        .expect("sync");
    let full_rounds = t.requests;
    assert!(full_rounds >= 3, "paged: {full_rounds} rounds");
    assert_eq!(seen_total, 300, "progress knows the total");

    // Cut on the third page, then resume.
    let mut b = enroll(&d, "b", &["g1"]);
    let mut cut = FailAfter {
        inner: Direct::new(&d, &b.token),
        fail_at: 3,
        _d: &(),
    };
    assert!(b
        .store
        .sync(&mut cut, &small, NOW, &mut |_| {}, &AtomicBool::new(false))
        .is_err());
    let have = b.store.doc_ids().expect("ids").len();
    assert!(have > 0 && have < 300, "two pages kept: {have}");
    let mut t = Direct::new(&d, &b.token);
    b.store
        .sync(&mut t, &small, NOW, &mut |_| {}, &AtomicBool::new(false))
        .expect("resume");
    assert!(
        t.requests < full_rounds,
        "resumed, not restarted: {} < {full_rounds}",
        t.requests
    );
    for i in 0..300 {
        assert_eq!(heads(&b.store, i), server_heads(&d, i));
    }
    assert_eq!(
        b.store
            .search_households(&Default::default())
            .expect("list")
            .total,
        300
    );
}

#[test]
fn cursor_never_skips_a_change_under_concurrent_writers() {
    let (_dir, d) = district();
    // Two store instances on the same data: on PostgreSQL two pools, as two server
    // processes have; writers and the reader alternate between them.
    let servers: [Arc<dyn DistrictStore>; 2] = [d.clone(), d.second_instance()];
    let mut writers: Vec<Device> = (0..4)
        .map(|k| enroll(&d, &format!("w{k}"), &["g1"]))
        .collect();
    for (k, w) in writers.iter_mut().enumerate() {
        for i in 0..5 {
            let author = w.author;
            w.store
                .create_household(&household(k * 100 + i, "g1"), author, NOW)
                .expect("create");
        }
    }
    let mut reader = enroll(&d, "reader", &["g1"]);
    std::thread::scope(|s| {
        for (k, mut w) in writers.into_iter().enumerate() {
            let d = servers[k % 2].clone();
            s.spawn(move || {
                for round in 0..15 {
                    for i in 0..5 {
                        edit(&mut w, k * 100 + i, |h| h.notes = format!("round {round}"));
                    }
                    sync_via(&mut w, d.clone());
                }
            });
        }
        let servers = &servers;
        let reader = &mut reader;
        s.spawn(move || {
            for round in 0..30 {
                sync_via(reader, servers[round % 2].clone());
            }
        });
    });
    sync(&mut reader, &d);
    for k in 0..4 {
        for i in 0..5 {
            assert_eq!(
                heads(&reader.store, k * 100 + i),
                server_heads(&d, k * 100 + i)
            );
        }
    }
    let auth = d.authenticate(&reader.token, NOW).expect("auth");
    let digest = d.digests(&auth, &["g1".to_string()]).expect("digest");
    assert_eq!(reader.store.grid_digest("g1").expect("digest"), digest[0]);
}

#[test]
fn digest_detects_and_repair_heals_a_diverged_device() {
    let (_dir, d) = district();
    let mut a = enroll(&d, "a", &["g1"]);
    let mut b = enroll(&d, "b", &["g1"]);
    for i in 0..20 {
        let author = a.author;
        a.store
            .create_household(&household(i, "g1"), author, NOW)
            .expect("create");
    }
    sync(&mut a, &d);
    sync(&mut b, &d);
    for i in 0..5 {
        edit(&mut a, i, |h| h.notes = "after B's cursor".into());
    }
    sync(&mut a, &d);
    // B diverges: its cursor jumps past A's edits, and one document vanishes locally.
    let mut cursors = b.store.sync_cursors().expect("cursors");
    cursors[0].seq += 1_000;
    b.store
        .meta_set(
            "sync.cursors",
            &serde_json::to_string(&cursors).expect("json"),
        )
        .expect("meta");
    b.store
        .connection()
        .execute("DELETE FROM docs WHERE doc_id = ?1", [hid(7).to_string()])
        .expect("delete");
    // And B has a local edit the server never got (its outbox entry lost).
    edit(&mut b, 10, |h| h.notes = "B only".into());
    b.store
        .connection()
        .execute("DELETE FROM outbox", [])
        .expect("lose outbox");

    let plain = sync(&mut b, &d);
    assert_eq!(plain.pulled_docs, 0, "the skewed cursor hides A's edits");
    let mut t = Direct::new(&d, &b.token);
    let opts = SyncOptions {
        check_digest: true,
        ..SyncOptions::default()
    };
    let report = b
        .store
        .sync(&mut t, &opts, NOW, &mut |_| {}, &AtomicBool::new(false))
        .expect("sync");
    assert_eq!(report.digest_matched, Some(false));
    assert!(report.repaired_docs >= 7, "{report:?}");
    for i in 0..20 {
        assert_eq!(heads(&b.store, i), server_heads(&d, i), "household {i}");
    }
    let h10: Household = d.load_document(hid(10)).expect("doc").read().expect("read");
    assert_eq!(
        h10.notes, "B only",
        "the change only B had reached the server"
    );
    let again = b
        .store
        .sync(
            &mut Direct::new(&d, &b.token),
            &opts,
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync");
    assert_eq!(again.digest_matched, Some(true));
}

fn raw_push(
    d: &Arc<District>,
    token: &str,
    docs: Vec<DocChanges>,
) -> gridwalk_store::Result<gridwalk_core::sync::SyncResponse> {
    Direct::new(d, token).exchange(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursors: vec![],
        push: docs,
        max_pull_bytes: 1 << 20,
        want_digest: false,
        compare: vec![],
        handover: vec![],
    })
}

fn changes_of(doc: &Document) -> DocChanges {
    DocChanges {
        doc_id: doc.id.0,
        kind: doc.kind,
        changes: doc
            .changes_since(&[])
            .iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect(),
    }
}

fn dump(d: &District) -> String {
    d.dump()
}

#[test]
fn bad_documents_are_refused_one_by_one_and_foreign_grids_refuse_the_whole_push() {
    let (_dir, d) = district();
    let a = enroll(&d, "a", &["g1"]);
    let good = Document::create(
        DocKind::Household,
        hid(1),
        &household(1, "g1"),
        a.author,
        NOW,
    )
    .expect("doc");
    let mut bad_h = household(2, "g1");
    bad_h.members.clear();
    bad_h.head_person_id = None;
    let bad = Document::create(DocKind::Household, hid(2), &bad_h, a.author, NOW).expect("doc");
    let stranger = Author::new(Uuid::from_u128(77), Uuid::from_u128(78));
    let forged = Document::create(
        DocKind::Household,
        hid(3),
        &household(3, "g1"),
        stranger,
        NOW,
    )
    .expect("doc");
    let garbage = DocChanges {
        doc_id: hid(4).0,
        kind: DocKind::Household,
        changes: vec![ByteBuf::from(vec![0x85, 0x6f, 1, 2, 3])],
    };

    let response = raw_push(
        &d,
        &a.token,
        vec![
            changes_of(&good),
            changes_of(&bad),
            changes_of(&forged),
            garbage,
        ],
    )
    .expect("sync");
    let outcome = |i: usize| {
        response
            .pushed
            .iter()
            .find(|r| r.doc_id == hid(i).0)
            .expect("answered")
            .outcome
            .clone()
    };
    assert_eq!(outcome(1), PushOutcome::Accepted);
    assert!(
        matches!(outcome(2), PushOutcome::Rejected { code: RejectCode::Invalid, ref message } if message.contains("members")),
        "{:?}",
        outcome(2)
    );
    assert!(matches!(
        outcome(3),
        PushOutcome::Rejected {
            code: RejectCode::WrongAuthor,
            ..
        }
    ));
    assert!(matches!(
        outcome(4),
        PushOutcome::Rejected {
            code: RejectCode::BadChange,
            ..
        }
    ));
    assert!(
        d.load_document(hid(2)).is_err(),
        "nothing of the invalid document stored"
    );

    let before = dump(&d);
    let foreign = Document::create(
        DocKind::Household,
        hid(5),
        &household(5, "g2"),
        a.author,
        NOW,
    )
    .expect("doc");
    let other_good = Document::create(
        DocKind::Household,
        hid(6),
        &household(6, "g1"),
        a.author,
        NOW,
    )
    .expect("doc");
    let err = raw_push(
        &d,
        &a.token,
        vec![changes_of(&other_good), changes_of(&foreign)],
    );
    assert!(
        matches!(err, Err(StoreError::Forbidden { ref grid_id, .. }) if grid_id == "g2"),
        "{err:?}"
    );
    assert_eq!(dump(&d), before, "the district store is unchanged");

    assert!(d.revoke_device(&a.token_device(&d), NOW).expect("revoke"));
    let err = raw_push(&d, &a.token, vec![]);
    assert!(matches!(err, Err(StoreError::Revoked { .. })), "{err:?}");
}

trait TokenDevice {
    fn token_device(&self, d: &District) -> String;
}

impl TokenDevice for Device {
    fn token_device(&self, d: &District) -> String {
        d.authenticate(&self.token, NOW).expect("auth").device_id
    }
}
