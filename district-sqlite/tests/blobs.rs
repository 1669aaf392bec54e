//! The blob store's behaviour on both backends (SQLite's `blobs.sqlite`, or PostgreSQL
//! when `GRIDWALK_TEST_DATABASE` is set): resumable chunks stored once, hash mismatch
//! refused, size and quota, garbage after a grace period, and the photo references that
//! scope every blob request, written as documents are pushed.

mod common;

use common::{enroll, Direct, District, NOW};
use gridwalk_core::model::{PhotoRef, Visit, VisitMode};
use gridwalk_district_sqlite::blobs::{
    Appended, BlobSize, BlobStatus, BlobStore, GcReport, MAX_BLOB_BYTES,
};
use gridwalk_store::client::SyncOptions;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn blob(seed: u8, len: usize) -> (String, Vec<u8>) {
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(seed) ^ seed)
        .collect();
    (hex::encode(Sha256::digest(&bytes)), bytes)
}

fn store(quota: u64) -> (District, Box<dyn BlobStore>) {
    let d = District::open();
    let s = d.blobs(quota);
    (d, s)
}

#[test]
fn chunks_resume_at_the_stored_offset_and_the_blob_is_stored_once() {
    let (_d, s) = store(1 << 30);
    let (sha, bytes) = blob(3, 1000);
    assert_eq!(s.status(&sha).unwrap(), BlobStatus::Partial { offset: 0 });
    let r = s.append("d1", &sha, 0, 1000, &bytes[..400], 1).unwrap();
    assert_eq!(r, Appended::Offset(400));
    // A resend of the first chunk (its answer was lost) is not taken twice.
    let r = s.append("d1", &sha, 0, 1000, &bytes[..400], 2).unwrap();
    assert_eq!(r, Appended::WrongOffset(400));
    assert_eq!(s.status(&sha).unwrap(), BlobStatus::Partial { offset: 400 });
    // A chunk past where the store is: not taken either.
    let r = s.append("d1", &sha, 600, 1000, &bytes[600..], 2).unwrap();
    assert_eq!(r, Appended::WrongOffset(400));
    // Another device with the same photo continues where the first one got to.
    let r = s.append("d2", &sha, 400, 1000, &bytes[400..], 3).unwrap();
    assert_eq!(r, Appended::Stored);
    assert_eq!(s.status(&sha).unwrap(), BlobStatus::Stored { size: 1000 });
    assert_eq!(s.read(&sha, BlobSize::Full).unwrap(), Some(bytes.clone()));
    assert_eq!(s.read(&sha, BlobSize::Thumb).unwrap(), None);
    s.put_thumb(&sha, b"small").unwrap();
    assert_eq!(
        s.read(&sha, BlobSize::Thumb).unwrap(),
        Some(b"small".to_vec())
    );
    // Sent again from zero: already stored.
    let r = s.append("d2", &sha, 0, 1000, &bytes[..10], 4).unwrap();
    assert_eq!(r, Appended::Stored);
    // The device that started the upload carries it.
    assert_eq!(s.device_usage("d1").unwrap(), 1000);
    assert_eq!(s.device_usage("d2").unwrap(), 0);
}

#[test]
fn bytes_that_do_not_match_their_hash_are_refused_and_dropped() {
    let (_d, s) = store(1 << 30);
    let (sha, mut bytes) = blob(5, 300);
    bytes[299] ^= 0xFF;
    assert_eq!(
        s.append("d1", &sha, 0, 300, &bytes[..100], 1).unwrap(),
        Appended::Offset(100)
    );
    assert_eq!(
        s.append("d1", &sha, 100, 300, &bytes[100..], 1).unwrap(),
        Appended::Mismatch
    );
    assert_eq!(s.status(&sha).unwrap(), BlobStatus::Partial { offset: 0 });
    assert_eq!(s.read(&sha, BlobSize::Full).unwrap(), None);
    assert_eq!(s.device_usage("d1").unwrap(), 0, "nothing kept of it");
}

#[test]
fn size_limit_and_quota_are_refused_before_bytes_are_kept() {
    let (_d, s) = store(1500);
    let (sha, bytes) = blob(7, 1000);
    let r = s
        .append("d1", &sha, 0, MAX_BLOB_BYTES + 1, &bytes, 1)
        .unwrap();
    assert_eq!(r, Appended::TooLarge);
    let r = s.append("d1", &sha, 900, 1000, &bytes[..200], 1).unwrap();
    assert_eq!(r, Appended::TooLarge, "a chunk past the declared total");
    assert_eq!(
        s.append("d1", &sha, 0, 1000, &bytes, 1).unwrap(),
        Appended::Stored
    );
    let (sha2, bytes2) = blob(9, 1000);
    let r = s.append("d1", &sha2, 0, 1000, &bytes2[..10], 2).unwrap();
    assert_eq!(
        r,
        Appended::Quota {
            used: 1000,
            quota: 1500
        }
    );
    assert_eq!(s.status(&sha2).unwrap(), BlobStatus::Partial { offset: 0 });
    // Another device has its own quota.
    assert_eq!(
        s.append("d2", &sha2, 0, 1000, &bytes2, 2).unwrap(),
        Appended::Stored
    );
}

#[test]
fn garbage_is_what_nothing_references_after_the_grace_period() {
    let (_d, s) = store(1 << 30);
    let (kept, kb) = blob(11, 100);
    let (old, ob) = blob(13, 100);
    let (young, yb) = blob(17, 100);
    let (abandoned, ab) = blob(19, 100);
    s.append("d", &kept, 0, 100, &kb, 10).unwrap();
    s.append("d", &old, 0, 100, &ob, 10).unwrap();
    s.append("d", &young, 0, 100, &yb, 500).unwrap();
    s.append("d", &abandoned, 0, 100, &ab[..50], 10).unwrap();
    let referenced = |h: &str| h == kept;
    let r = s.collect_garbage(&referenced, 100).unwrap();
    assert_eq!(
        r,
        GcReport {
            blobs: 1,
            bytes: 100,
            partials: 1
        }
    );
    assert!(matches!(
        s.status(&kept).unwrap(),
        BlobStatus::Stored { .. }
    ));
    assert!(matches!(
        s.status(&young).unwrap(),
        BlobStatus::Stored { .. }
    ));
    assert_eq!(s.status(&old).unwrap(), BlobStatus::Partial { offset: 0 });
    assert_eq!(
        s.status(&abandoned).unwrap(),
        BlobStatus::Partial { offset: 0 }
    );
}

#[test]
fn concurrent_uploads_of_one_photo_store_it_once() {
    let d = District::open();
    let s: Arc<dyn BlobStore> = Arc::from(d.blobs(1 << 30));
    let (sha, bytes) = blob(29, 64 * 1024);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (s, sha, bytes) = (s.clone(), sha.clone(), bytes.clone());
            std::thread::spawn(move || {
                let device = format!("d{t}");
                let mut offset = 0u64;
                for _ in 0..1000 {
                    let end = (offset as usize + 4096).min(bytes.len());
                    let chunk = &bytes[offset as usize..end];
                    match s.append(&device, &sha, offset, bytes.len() as u64, chunk, 1) {
                        Ok(Appended::Offset(n)) | Ok(Appended::WrongOffset(n)) => offset = n,
                        Ok(Appended::Stored) => return,
                        other => panic!("{other:?}"),
                    }
                }
                panic!("never stored");
            })
        })
        .collect();
    for t in threads {
        t.join().expect("uploader");
    }
    assert_eq!(
        s.status(&sha).unwrap(),
        BlobStatus::Stored {
            size: bytes.len() as u64
        }
    );
    assert_eq!(s.read(&sha, BlobSize::Full).unwrap(), Some(bytes));
    let used: u64 = (0..4)
        .map(|t| s.device_usage(&format!("d{t}")).unwrap())
        .sum();
    assert_eq!(used, 64 * 1024, "counted once, to one device");
}

fn photo(sha: &str) -> PhotoRef {
    PhotoRef {
        sha256: sha.into(),
        bytes: 1000,
        width: 1600,
        height: 1200,
        mime: "image/jpeg".into(),
        taken_at: NOW,
        gps: None,
    }
}

#[test]
fn a_pushed_visit_puts_its_photos_in_its_grid_scope() {
    let d = Arc::new(District::open());
    let mut dev = enroll(&d, "w1", &["g1"]);
    let (sha, _) = blob(31, 100);
    let (other, _) = blob(37, 100);
    let v = Visit {
        id: uuid::Uuid::now_v7().to_string(),
        household_id: uuid::Uuid::now_v7().to_string(),
        grid_id: "g1".into(),
        worker_id: dev.author.user.to_string(),
        device_id: dev.author.device.to_string(),
        at: NOW,
        mode: VisitMode::InPerson,
        findings: "门口堆物".into(),
        needs: String::new(),
        follow_up: None,
        linked_issues: BTreeMap::new(),
        photos: BTreeMap::from([("p1".to_string(), photo(&sha))]),
        gps: None,
        review: None,
    };
    let author = dev.author;
    dev.store.create_visit(&v, author, NOW).expect("visit");
    let refs = d.refs();
    assert!(
        !refs.photo_in_scope(&sha, None).unwrap(),
        "not before the push"
    );
    let mut t = Direct::new(&d, &dev.token);
    let report = dev
        .store
        .sync(
            &mut t,
            &SyncOptions::default(),
            NOW,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync");
    assert!(report.rejected.is_empty(), "{report:?}");
    assert!(refs.photo_in_scope(&sha, None).unwrap());
    assert!(refs.photo_in_scope(&sha, Some(&["g1".into()])).unwrap());
    assert!(!refs.photo_in_scope(&sha, Some(&["g2".into()])).unwrap());
    assert!(!refs.photo_in_scope(&other, None).unwrap());
    assert_eq!(
        refs.referenced_photos()
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![sha]
    );
}
