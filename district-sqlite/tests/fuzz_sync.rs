//! Fuzzing the sync door, bounded to a few seconds inside `cargo test`: random bytes and
//! structure-aware mutations (a valid request encoded then flipped, truncated or
//! extended; valid zstd around random postcard; valid Automerge changes with bytes
//! mutated) go through the body decoder and `handle_sync` against a real district store.
//! Nothing may panic, every refusal must say something, and a refused push must leave
//! the store as it was. On SQLite or (GRIDWALK_TEST_DATABASE) PostgreSQL.

mod common;

use common::{enroll, household, Device, District, NOW};
use gridwalk_core::sync::{
    decode, encode, DocChanges, PushOutcome, RejectCode, SyncRequest, PROTOCOL_VERSION,
};
use gridwalk_core::{DocId, DocKind, Document};
use gridwalk_district_sqlite::{handle_sync, DeviceAuth, DistrictStore};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_bytes::ByteBuf;
use uuid::Uuid;

const LIMIT: usize = 1 << 20;

struct Fixture {
    district: District,
    device: DeviceAuth,
    valid: SyncRequest,
}

fn fixture() -> Fixture {
    let district = District::open();
    let Device { author, token, .. } = enroll(&district, "w1", &["g1"]);
    let device = district.authenticate(&token, NOW).expect("auth");
    let doc = Document::create(
        DocKind::Household,
        DocId(Uuid::from_u128(0x77)),
        &household(1, "g1"),
        author,
        NOW,
    )
    .expect("doc");
    let valid = SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursors: vec![gridwalk_core::sync::GridCursor::fresh("g1")],
        push: vec![DocChanges {
            doc_id: doc.id.0,
            kind: doc.kind,
            changes: doc
                .changes_since(&[])
                .iter()
                .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
                .collect(),
        }],
        max_pull_bytes: 1 << 20,
        want_digest: true,
        compare: vec![],
        handover: vec![],
    };
    Fixture {
        district,
        device,
        valid,
    }
}

/// Every row the push path writes to: changes (hashes, count, highest sequence number),
/// documents with their heads, and the projected rows.
fn fingerprint(d: &District) -> String {
    d.dump()
}

/// Decode a body and, when it decodes, answer it. Refused pushes change nothing.
fn door(f: &Fixture, body: &[u8]) -> Result<(), TestCaseError> {
    let req: SyncRequest = match decode(body, LIMIT) {
        Ok(r) => r,
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            return Ok(());
        }
    };
    push(f, &req)
}

fn push(f: &Fixture, req: &SyncRequest) -> Result<(), TestCaseError> {
    let before = fingerprint(&f.district);
    match handle_sync(&f.district, &f.device, req, NOW) {
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            prop_assert_eq!(fingerprint(&f.district), before, "refused, yet stored");
        }
        Ok((resp, _)) => {
            let accepted = resp
                .pushed
                .iter()
                .any(|p| p.outcome == PushOutcome::Accepted);
            for p in &resp.pushed {
                if let PushOutcome::Rejected { message, .. } = &p.outcome {
                    prop_assert!(!message.is_empty());
                }
            }
            if !accepted {
                prop_assert_eq!(
                    fingerprint(&f.district),
                    before,
                    "nothing accepted, yet stored"
                );
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Extend(Vec<u8>),
    Insert(usize, u8),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
    ];
    proptest::collection::vec(one, 1..4)
}

fn mutate(mut bytes: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip(i, x) if !bytes.is_empty() => bytes[i % len] ^= x,
            Mutation::Truncate(i) => bytes.truncate(i % len),
            Mutation::Extend(tail) => bytes.extend_from_slice(tail),
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), *b),
            Mutation::Flip(..) => {}
        }
    }
    bytes
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn random_bytes_never_panic() {
    let f = fixture();
    runner(256)
        .run(&proptest::collection::vec(any::<u8>(), 0..512), |bytes| {
            door(&f, &bytes)
        })
        .expect("no failure");
}

#[test]
fn mutated_valid_bodies_never_panic() {
    let f = fixture();
    let body = encode(&f.valid);
    runner(256)
        .run(&mutations(), |ms| door(&f, &mutate(body.clone(), &ms)))
        .expect("no failure");
}

#[test]
fn valid_zstd_of_random_postcard_never_panics() {
    let f = fixture();
    let raw = postcard::to_allocvec(&f.valid).expect("postcard");
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        mutations().prop_map(move |ms| mutate(raw.clone(), &ms)),
    ];
    runner(256)
        .run(&strategy, |inner| {
            let body = zstd::bulk::compress(&inner, 3).expect("compress");
            door(&f, &body)
        })
        .expect("no failure");
}

#[test]
fn mutated_automerge_changes_are_refused_cleanly() {
    let f = fixture();
    let change = f.valid.push[0].changes[0].to_vec();
    runner(192)
        .run(&mutations(), |ms| {
            let mut req = f.valid.clone();
            // A fresh document id each case, so an accepted change does not hide a later one.
            req.push[0].doc_id = Uuid::new_v4();
            req.push[0].changes = vec![ByteBuf::from(mutate(change.clone(), &ms))];
            push(&f, &req)
        })
        .expect("no failure");
}

/// A 20 MB description in a push that compresses to a few KB: refused by validation,
/// naming the field, and nothing stored.
#[test]
fn an_oversized_free_text_field_is_refused() {
    let f = fixture();
    let Device { author, token, .. } = enroll(&f.district, "w2", &["g1"]);
    let device = f.district.authenticate(&token, NOW).expect("auth");
    let mut h = household(2, "g1");
    h.notes = "x".repeat(20 << 20);
    let doc = Document::create(
        DocKind::Household,
        DocId(Uuid::from_u128(0x78)),
        &h,
        author,
        NOW,
    )
    .expect("doc");
    let mut req = f.valid.clone();
    req.push[0] = DocChanges {
        doc_id: doc.id.0,
        kind: doc.kind,
        changes: doc
            .changes_since(&[])
            .iter()
            .map(|c| ByteBuf::from(c.raw_bytes().to_vec()))
            .collect(),
    };
    let body = encode(&req);
    assert!(body.len() < 64 * 1024, "{} bytes on the wire", body.len());
    let before = fingerprint(&f.district);
    let (resp, _) = handle_sync(&f.district, &device, &req, NOW).expect("answered");
    assert!(
        matches!(&resp.pushed[0].outcome, PushOutcome::Rejected { code: RejectCode::Invalid, message } if message.contains("notes")),
        "{:?}",
        resp.pushed[0].outcome
    );
    assert_eq!(fingerprint(&f.district), before);
}
