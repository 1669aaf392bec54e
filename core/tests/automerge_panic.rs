//! Mutated Automerge changes found by the sync door's fuzzing (district-sqlite/tests/
//! fuzz_sync.rs) that made Automerge 0.12 panic: one while applying it ("Obj … Missing
//! from Index"), one later, in `get_changes`, because its bytes decoded but were not
//! Automerge's own encoding of the change (so it was kept under one hash and encoded again
//! under another). Applying either must be an error, never a panic.

use gridwalk_core::demo::{generate, DemoParams, DEFAULT_NOW_MS};
use gridwalk_core::sync::{decode_request, SyncRequest};
use gridwalk_core::{Author, CoreError, DocId, DocKind, Document};

#[test]
fn a_change_that_panics_automerge_is_an_error() {
    let raw = include_bytes!("fixtures/automerge_panic_request.postcard");
    let body = zstd::bulk::compress(raw, 3).expect("compress");
    // Recorded before `handover` joined the request: read as the server reads old devices.
    let req: SyncRequest = decode_request(&body, 1 << 20).expect("a well-formed request");
    let mut tried = 0;
    for pushed in &req.push {
        let mut doc = Document::empty(pushed.kind, DocId(pushed.doc_id));
        let result = doc.apply_change_bytes(pushed.changes.iter().map(|c| c.as_slice()));
        assert!(
            matches!(result, Err(CoreError::BadChange { .. })),
            "{result:?}"
        );
        tried += 1;
    }
    assert_eq!(tried, 1);
}

#[test]
fn a_change_whose_bytes_are_not_automerges_encoding_is_refused() {
    let demo = generate(&DemoParams::single_grid(1, 0, DEFAULT_NOW_MS));
    let household = &demo.households[0];
    let author = Author::new(uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
    let id = DocId(household.id.parse().expect("id"));
    let doc =
        Document::create(DocKind::Household, id, household, author, DEFAULT_NOW_MS).expect("doc");
    let valid = doc.changes_since(&[])[0].raw_bytes().to_vec();

    // Single-byte changes that still decode but re-encode to other bytes (as the fuzzer's
    // `Flip(…, 32)` did to a string's length or a column's run): all refused.
    let mut refused = 0;
    for i in 0..valid.len() {
        for x in [1u8, 32, 128] {
            let mut bytes = valid.clone();
            bytes[i] ^= x;
            let Ok(change) = automerge::Change::from_bytes(bytes.clone()) else {
                continue;
            };
            // (Encoding some of them again panics inside Automerge: refused too.)
            let again = std::panic::catch_unwind(|| automerge::Change::from(change.decode()));
            if again.as_ref().is_ok_and(|a| a.hash() == change.hash()) {
                continue;
            }
            let mut target = Document::empty(DocKind::Household, id);
            let result = target.apply_change_bytes([bytes.as_slice()]);
            assert!(
                matches!(&result, Err(CoreError::BadChange { .. })),
                "byte {i} ^ {x}: {result:?}"
            );
            assert!(target.heads().is_empty(), "nothing applied");
            if again.is_ok() {
                assert!(
                    format!("{result:?}").contains("not Automerge's encoding"),
                    "{result:?}"
                );
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "the search found such changes");

    // The change as Automerge wrote it is taken, and served under its own hash.
    let mut target = Document::empty(DocKind::Household, id);
    target
        .apply_change_bytes([valid.as_slice()])
        .expect("valid");
    assert_eq!(target.heads(), doc.heads());
    assert_eq!(target.changes_since(&[])[0].raw_bytes(), valid.as_slice());
}
