//! How the district keeps a document that many pushes edit, on either backend: each push
//! appends what it added to the stored form, which is saved whole again when the
//! appended chunks outgrow it or pass 64. Whatever the stored form is at a moment, the
//! district's document, an incremental pull and a first download all hold every edit.

mod common;

use common::{enroll, household, Device, District, NOW};
use gridwalk_core::model::Household;
use gridwalk_core::{DocId, DocKind};
use std::sync::Arc;
use uuid::Uuid;

fn sync(dev: &mut Device, d: &Arc<District>) {
    common::sync_in_process(dev, d.clone());
}

const H: DocId = DocId(Uuid::from_u128(0x1000));

fn sorted_heads(doc: &gridwalk_core::Document) -> Vec<String> {
    let mut h: Vec<String> = doc.heads().iter().map(ToString::to_string).collect();
    h.sort();
    h
}

/// Long notes now and then, so the appended bytes also outgrow the saved form.
fn notes(round: usize) -> String {
    if round % 50 == 49 {
        format!("round {round} {}", "长".repeat(400))
    } else {
        format!("round {round}")
    }
}

#[test]
fn a_document_pushed_two_hundred_times_keeps_every_edit_in_every_stored_form() {
    let d = Arc::new(District::open());
    let mut worker = enroll(&d, "worker", &["g1"]);
    let mut watcher = enroll(&d, "watcher", &["g1"]);
    let author = worker.author;
    worker
        .store
        .create_household(&household(0, "g1"), author, NOW)
        .expect("create");
    sync(&mut worker, &d);
    sync(&mut watcher, &d);
    let mut appended_seen = false;
    let mut compacted_seen = false;
    for round in 0..200 {
        worker
            .store
            .edit::<Household, _>(DocKind::Household, H, author, NOW, "edit", |h| {
                h.notes = notes(round);
                Ok(())
            })
            .expect("edit");
        sync(&mut worker, &d);
        appended_seen |= d.count_where("docs", "chunk_count > 0") > 0;
        compacted_seen |= round > 0 && d.count_where("docs", "chunk_count = 0") > 0;
        assert_eq!(
            d.count_where("docs", "chunk_count > 64"),
            0,
            "round {round}: more than 64 chunks appended"
        );
        if round % 25 == 0 {
            sync(&mut watcher, &d);
            let seen: Household = watcher.store.read(H).expect("watcher's copy");
            assert_eq!(seen.notes, notes(round));
        }
    }
    assert!(appended_seen, "no push was appended");
    assert!(compacted_seen, "the form was never saved whole again");
    let stored = d.load_document(H).expect("stored");
    let ours = worker.store.load(H).expect("worker's");
    assert_eq!(sorted_heads(&stored), sorted_heads(&ours));
    let last: Household = stored.read().expect("reads");
    assert_eq!(last.notes, notes(199));
    // A first download carries the stored form as it is (appended chunks included).
    let mut fresh = enroll(&d, "fresh", &["g1"]);
    sync(&mut fresh, &d);
    let got = fresh.store.load(H).expect("downloaded");
    assert_eq!(sorted_heads(&got), sorted_heads(&ours));
    let got: Household = got.read().expect("reads");
    assert_eq!(got.notes, notes(199));
}
