//! A sync request found by store/tests/fuzz_sync.rs whose (mutated) Automerge change made
//! Automerge 0.12 panic while applying it ("Obj … Missing from Index"). Applying it must be
//! an error, never a panic.

use gridwalk_core::sync::{decode_request, SyncRequest};
use gridwalk_core::{CoreError, DocId, Document};

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
