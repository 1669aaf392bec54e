//! A worker moved to another grid while holding offline edits (issue 9 §4): the district
//! says the scope changed instead of answering 403 forever; the device pushes what is
//! still in scope, hands the rest over for a supervisor, drops the old grid's data and
//! pulls the new grid. In process, through the real codec and request handler; on SQLite
//! or (GRIDWALK_TEST_DATABASE) PostgreSQL.

mod common;

use common::{enroll, household, Device, Direct, District, NOW};
use gridwalk_core::model::Household;
use gridwalk_core::{DocId, DocKind};
use gridwalk_district_sqlite::ConsoleScope;
use gridwalk_store::client::{SyncOptions, SyncReport};
use gridwalk_store::{Store, DRAFT_META_PREFIX};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use uuid::Uuid;

fn sync(dev: &mut Device, d: &Arc<District>) -> gridwalk_store::Result<SyncReport> {
    let mut t = Direct::new(d, &dev.token);
    dev.store.sync(
        &mut t,
        &SyncOptions::default(),
        NOW,
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

fn hid(i: usize) -> DocId {
    DocId(Uuid::from_u128(0x1000 + i as u128))
}

fn grids_of(store: &Store) -> Vec<String> {
    let mut g: Vec<String> = store
        .doc_ids()
        .expect("docs")
        .into_iter()
        .map(|(_, _, g)| g)
        .collect();
    g.sort();
    g.dedup();
    g
}

fn count(store: &Store, sql: &str) -> i64 {
    store
        .connection()
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

/// An admin moves `user_id` to `grids` (what the console's user form writes).
fn move_user(d: &District, user_id: &str, grids: &[&str]) {
    d.set_user_grids(user_id, grids).expect("move user");
}

fn admin() -> ConsoleScope {
    ConsoleScope {
        user_id: "admin".into(),
        username: "admin".into(),
        display_name: "管理员".into(),
        role: "admin".into(),
        grids: None,
        key_person_grant: true,
    }
}

#[test]
fn a_moved_worker_hands_over_old_grid_edits_drops_its_data_and_pulls_the_new_grid() {
    let d = Arc::new(District::open());

    // Grid B has a worker and households already.
    let mut b_worker = enroll(&d, "b_worker", &["gB"]);
    for i in 20..23 {
        let h = household(i, "gB");
        b_worker
            .store
            .create_household(&h, b_worker.author, NOW)
            .expect("B household");
    }
    sync(&mut b_worker, &d).expect("B syncs");

    // Our worker holds grids A and C, syncs household 1 (A) and 5 (C) ...
    let mut dev = enroll(&d, "moved", &["gA", "gC"]);
    let me = dev.author;
    for (i, g) in [(1, "gA"), (5, "gC")] {
        dev.store
            .create_household(&household(i, g), me, NOW)
            .expect("household");
    }
    sync(&mut dev, &d).expect("first sync");
    // ... then works offline: edits 1 (A) and 5 (C), registers 2 (A), keeps a draft.
    for i in [1, 5] {
        dev.store
            .edit::<Household, _>(DocKind::Household, hid(i), me, NOW, "notes", |h| {
                h.notes = format!("离线修改 {i}");
                Ok(())
            })
            .expect("offline edit");
    }
    dev.store
        .create_household(&household(2, "gA"), me, NOW)
        .expect("offline household");
    let draft_key = format!("{DRAFT_META_PREFIX}member:{}", hid(1));
    dev.store
        .meta_set(&draft_key, "{\"name\":\"王\"}")
        .expect("draft");
    assert!(dev.store.outbox_len().expect("outbox") > 0);

    // The admin moves the worker from A and C to B and C.
    move_user(&d, &me.user.to_string(), &["gB", "gC"]);

    let report = sync(&mut dev, &d).expect("the sync after the move succeeds (no 403)");
    assert_eq!(
        report.scope_changed,
        Some(vec!["gB".to_string(), "gC".to_string()])
    );
    assert_eq!(
        report.handed_over, 2,
        "household 1's edit and household 2 handed over"
    );
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.outbox_left, 0, "nothing left unsent");

    // Edits safe: the district keeps the handed-over changes for a supervisor of A, and
    // the in-scope edit of C was pushed and applied.
    let handovers = d
        .console()
        .console_handovers(&admin(), 100)
        .expect("handovers");
    let mut handed: Vec<(String, String)> = handovers
        .iter()
        .map(|h| (h.doc_id.clone(), h.grid_id.clone()))
        .collect();
    handed.sort();
    assert_eq!(
        handed,
        vec![
            (hid(1).to_string(), "gA".to_string()),
            (hid(2).to_string(), "gA".to_string())
        ]
    );
    assert!(handovers.iter().all(|h| h.user_id == me.user.to_string()));
    assert!(handovers
        .iter()
        .any(|h| h.fields.iter().any(|f| f == "notes")));
    let c_on_server: Household = d
        .load_document(hid(5))
        .expect("C doc")
        .read()
        .expect("reads");
    assert_eq!(c_on_server.notes, "离线修改 5");
    let a_on_server: Household = d
        .load_document(hid(1))
        .expect("A doc")
        .read()
        .expect("reads");
    assert_eq!(a_on_server.notes, "", "a handover is never applied");
    assert!(
        d.load_document(hid(2)).is_err(),
        "the offline household is not created"
    );
    // A supervisor of grid B does not see grid A's handovers.
    let b_sup = ConsoleScope {
        grids: Some(vec!["gB".into()]),
        role: "supervisor".into(),
        ..admin()
    };
    assert!(d
        .console()
        .console_handovers(&b_sup, 100)
        .expect("list")
        .is_empty());

    // A's data gone from the device, B's present, C kept.
    assert_eq!(
        grids_of(&dev.store),
        vec!["gB".to_string(), "gC".to_string()]
    );
    assert_eq!(dev.store.sync_grids().expect("grids"), vec!["gB", "gC"]);
    assert_eq!(report.dropped_docs, 2);
    for table in ["households", "visits", "issues"] {
        let n = count(
            &dev.store,
            &format!("SELECT count(*) FROM {table} WHERE grid_id = 'gA'"),
        );
        assert_eq!(n, 0, "{table} of grid A");
    }
    assert_eq!(
        count(&dev.store, "SELECT count(*) FROM persons WHERE household_id NOT IN (SELECT doc_id FROM households)"),
        0
    );
    assert_eq!(
        count(
            &dev.store,
            "SELECT count(*) FROM households WHERE grid_id = 'gB'"
        ),
        3
    );
    assert_eq!(
        dev.store.meta_get(&draft_key).expect("meta"),
        None,
        "A's draft dropped"
    );

    // The next sync succeeds with nothing to do, and work in B syncs as usual.
    let again = sync(&mut dev, &d).expect("sync again");
    assert_eq!(
        (again.scope_changed, again.handed_over, again.rounds),
        (None, 0, 1)
    );
    dev.store
        .create_household(&household(30, "gB"), me, NOW)
        .expect("new in B");
    let pushed = sync(&mut dev, &d).expect("push in B");
    assert_eq!(pushed.accepted_docs, 1);
    assert_eq!(
        d.console()
            .console_handovers(&admin(), 100)
            .expect("list")
            .len(),
        2
    );
}

#[test]
fn a_lost_handover_response_is_kept_once() {
    let d = Arc::new(District::open());
    let mut dev = enroll(&d, "moved", &["gA"]);
    dev.store
        .create_household(&household(1, "gA"), dev.author, NOW)
        .expect("household");
    move_user(&d, &dev.author.user.to_string(), &["gB"]);
    // Round 1 tells the scope; round 2 hands over, and its response is lost.
    let mut t = Direct::new(&d, &dev.token);
    t.drop_response_of = Some(2);
    let cut = dev.store.sync(
        &mut t,
        &SyncOptions::default(),
        NOW,
        &mut |_| {},
        &AtomicBool::new(false),
    );
    assert!(cut.is_err());
    assert!(
        dev.store.outbox_len().expect("outbox") > 0,
        "kept until acknowledged"
    );
    let report = sync(&mut dev, &d).expect("sync again");
    assert_eq!(report.handed_over, 1);
    assert_eq!(
        d.console()
            .console_handovers(&admin(), 100)
            .expect("list")
            .len(),
        1
    );
    assert!(grids_of(&dev.store).is_empty());
}
