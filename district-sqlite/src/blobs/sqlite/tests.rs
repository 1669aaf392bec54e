use super::*;

fn blob(seed: u8, len: usize) -> (String, Vec<u8>) {
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(seed) ^ seed)
        .collect();
    (hex::encode(Sha256::digest(&bytes)), bytes)
}

fn store(quota: u64) -> (tempfile::TempDir, SqliteBlobs) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteBlobs::new(dir.path().join("blobs.sqlite"), quota);
    (dir, s)
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
        s.append("d1", &sha, 0, 300, &bytes, 1).unwrap(),
        Appended::Mismatch
    );
    assert_eq!(s.status(&sha).unwrap(), BlobStatus::Partial { offset: 0 });
    assert_eq!(s.read(&sha, BlobSize::Full).unwrap(), None);
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
fn stored_blobs_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (sha, bytes) = blob(23, 500);
    {
        let s = SqliteBlobs::beside(&dir.path().join("district.sqlite"), 1 << 30);
        s.append("d", &sha, 0, 500, &bytes[..100], 1).unwrap();
    }
    let s = SqliteBlobs::beside(&dir.path().join("district.sqlite"), 1 << 30);
    assert_eq!(s.status(&sha).unwrap(), BlobStatus::Partial { offset: 100 });
    assert_eq!(
        s.append("d", &sha, 100, 500, &bytes[100..], 2).unwrap(),
        Appended::Stored
    );
}
