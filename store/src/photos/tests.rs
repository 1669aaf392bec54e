use super::*;
use gridwalk_core::upload::Queue;

fn photo(seed: u8, len: usize) -> (String, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
    (hash_of(&bytes), bytes)
}

fn keep(store: &mut Store, sha: &str, bytes: &[u8]) {
    let p = NewPhoto {
        sha256: sha,
        bytes,
        thumb: b"thumb",
        width: 1600,
        height: 1200,
        mime: "image/jpeg",
    };
    store.put_photo(&p, 1_000).expect("kept");
}

#[test]
fn a_photo_is_kept_and_queued_once_until_confirmed() {
    let mut s = Store::open_in_memory().unwrap();
    let (sha, bytes) = photo(3, 5000);
    keep(&mut s, &sha, &bytes);
    keep(&mut s, &sha, &bytes);
    let q = s.upload_queue().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].sha256.as_str(), q[0].total), (sha.as_str(), 5000));
    assert_eq!(s.photo_bytes(&sha).unwrap().as_deref(), Some(&bytes[..]));
    // Nothing taken here and unconfirmed is freed.
    assert_eq!(s.free_uploaded_photos().unwrap(), 0);
    assert!(s.photo(&sha).unwrap().unwrap().has_bytes);
    let st = s.photo_storage().unwrap();
    assert_eq!((st.pending, st.pending_bytes, st.uploaded), (1, 5000, 0));
    s.photo_uploaded(&sha, 2_000).unwrap();
    assert!(s.upload_queue().unwrap().is_empty());
    let st = s.photo_storage().unwrap();
    assert_eq!((st.pending, st.uploaded, st.uploaded_bytes), (0, 1, 5000));
    assert_eq!(s.free_uploaded_photos().unwrap(), 5000);
    let p = s.photo(&sha).unwrap().unwrap();
    assert!(!p.has_bytes && p.has_thumb && p.uploaded);
    // Taken again after it was confirmed: not queued again.
    keep(&mut s, &sha, &bytes);
    assert!(s.upload_queue().unwrap().is_empty());
}

#[test]
fn bytes_that_do_not_match_their_hash_are_refused() {
    let mut s = Store::open_in_memory().unwrap();
    let (sha, mut bytes) = photo(5, 100);
    bytes[0] ^= 1;
    let p = NewPhoto {
        sha256: &sha,
        bytes: &bytes,
        thumb: b"",
        width: 1,
        height: 1,
        mime: "image/jpeg",
    };
    assert!(matches!(s.put_photo(&p, 0), Err(StoreError::BadRequest(_))));
    assert!(s.upload_queue().unwrap().is_empty());
    let e = s.put_downloaded_photo(&sha, Some(&bytes), None, 1 << 20, 0);
    assert!(matches!(e, Err(StoreError::BadRequest(_))));
}

#[test]
fn the_queue_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let (sha, bytes) = photo(7, 300);
    {
        let mut s = Store::open(&path).unwrap();
        keep(&mut s, &sha, &bytes);
        let mut q = Queue::new(100, s.upload_queue().unwrap());
        q.answer(
            &sha,
            gridwalk_core::upload::Answer::Refused(Refusal::TooLarge),
            5,
        );
        s.save_upload_entry(q.entry(&sha).unwrap()).unwrap();
    }
    let s = Store::open(&path).unwrap();
    let q = s.upload_queue().unwrap();
    assert_eq!(q[0].parked, Some(Refusal::TooLarge));
    assert_eq!(s.photo_bytes(&sha).unwrap().as_deref(), Some(&bytes[..]));
}

#[test]
fn downloaded_photos_are_trimmed_to_the_cap_oldest_first_and_ours_never() {
    let mut s = Store::open_in_memory().unwrap();
    let (mine, mine_bytes) = photo(11, 1000);
    keep(&mut s, &mine, &mine_bytes);
    let (a, a_bytes) = photo(13, 1000);
    let (b, b_bytes) = photo(17, 1000);
    s.put_downloaded_photo(&a, Some(&a_bytes), None, 10_000, 1)
        .unwrap();
    s.put_downloaded_photo(&b, None, Some(b"thumb-b"), 10_000, 2)
        .unwrap();
    s.put_downloaded_photo(&b, Some(&b_bytes), None, 1_500, 3)
        .unwrap();
    // a (older) went; b (thumbnail and full) stays; mine is not in the cache at all.
    assert!(s.photo(&a).unwrap().is_none());
    let pb = s.photo(&b).unwrap().unwrap();
    assert!(pb.has_bytes && pb.has_thumb && pb.cached);
    assert_eq!(
        s.photo_bytes(&mine).unwrap().as_deref(),
        Some(&mine_bytes[..])
    );
    assert_eq!(s.trim_photo_cache(0).unwrap(), 1000 + 7);
    assert!(s.photo(&mine).unwrap().is_some());
}

#[test]
fn a_photo_of_a_given_up_form_is_parked_after_the_grace_kept_and_unparked_when_named() {
    let mut s = Store::open_in_memory().unwrap();
    let (abandoned, a) = photo(7, 300);
    let (drafted, d) = photo(9, 300);
    let (referenced, r) = photo(11, 300);
    for (sha, bytes) in [(&abandoned, &a), (&drafted, &d), (&referenced, &r)] {
        keep(&mut s, sha, bytes);
    }
    // A draft names one photo; a visit on the device references another.
    let draft = format!(r#"{{"title":"","photos":[{{"sha256":"{drafted}"}}]}}"#);
    s.meta_set(&format!("{}issue:none", crate::DRAFT_META_PREFIX), &draft)
        .unwrap();
    s.conn
        .execute(
            "INSERT INTO photo_refs (sha256, doc_id, grid_id) VALUES (?1, 'v1', 'g1')",
            [&referenced],
        )
        .unwrap();
    let parked = |s: &Store| -> Vec<String> {
        s.upload_queue()
            .unwrap()
            .into_iter()
            .filter(|e| e.parked.is_some())
            .map(|e| e.sha256)
            .collect()
    };
    // Within the grace (taken at 1_000, cut-off not past it): nothing is parked.
    assert_eq!(s.park_abandoned_photos(1_000).unwrap(), (0, 0));
    assert!(parked(&s).is_empty());
    assert_eq!(s.park_abandoned_photos(2_000).unwrap(), (1, 0));
    assert_eq!(parked(&s), vec![abandoned.clone()]);
    assert_eq!(s.park_abandoned_photos(2_000).unwrap(), (0, 0));
    // Parked, never dropped: the bytes stay and count as pending.
    assert_eq!(s.upload_queue().unwrap().len(), 3);
    assert!(s.photo(&abandoned).unwrap().unwrap().has_bytes);
    assert_eq!(s.photo_storage().unwrap().pending, 3);
    // A record names it after all: it is unparked and uploads again.
    s.conn
        .execute(
            "INSERT INTO photo_refs (sha256, doc_id, grid_id) VALUES (?1, 'i1', 'g1')",
            [&abandoned],
        )
        .unwrap();
    assert_eq!(s.park_abandoned_photos(2_000).unwrap(), (0, 1));
    assert!(parked(&s).is_empty());
}
