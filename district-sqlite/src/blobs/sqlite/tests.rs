//! What is SQLite's own; the behaviour both backends share is district-sqlite/tests/blobs.rs.

use super::*;

fn blob(seed: u8, len: usize) -> (String, Vec<u8>) {
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(seed) ^ seed)
        .collect();
    (hex::encode(Sha256::digest(&bytes)), bytes)
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
