//! The heads an Automerge document chunk names in its own header, read without loading
//! the document (version 3: a first download does not send heads the bytes already hold).
//!
//! A saved document starts with a chunk header (magic, checksum, type 0, data length) and
//! its data begins with the actor ids and then the heads, each a 32-byte change hash
//! (automerge's `storage/document.rs`). Only bytes that are exactly one document chunk
//! qualify: a snapshot with incremental chunks after it has more heads than its header.

pub(super) const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
pub(super) const DOCUMENT_CHUNK: u8 = 0;
/// More heads than this is not a document of ours (a handful of concurrent edits).
const MAX_HEADS: u64 = 4096;

pub(super) fn uleb(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

pub(super) fn skip(bytes: &[u8], at: &mut usize, n: u64) -> Option<()> {
    let end = at.checked_add(usize::try_from(n).ok()?)?;
    (end <= bytes.len()).then(|| *at = end)
}

/// The heads in the header of `bytes` when they are exactly one document chunk; `None`
/// otherwise (not a document, trailing chunks, truncated). The checksum is not verified:
/// the heads are trusted as far as the heads sent beside the bytes were, and checked the
/// same way on the document's first load.
pub fn snapshot_heads(bytes: &[u8]) -> Option<Vec<[u8; 32]>> {
    if bytes.get(..4)? != MAGIC || *bytes.get(8)? != DOCUMENT_CHUNK {
        return None;
    }
    let mut at = 9;
    let len = uleb(bytes, &mut at)?;
    if at.checked_add(usize::try_from(len).ok()?)? != bytes.len() {
        return None;
    }
    let actors = uleb(bytes, &mut at)?;
    for _ in 0..actors {
        let n = uleb(bytes, &mut at)?;
        skip(bytes, &mut at, n)?;
    }
    let count = uleb(bytes, &mut at)?;
    if count == 0 || count > MAX_HEADS {
        return None;
    }
    let mut heads = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let head: [u8; 32] = bytes.get(at..at + 32)?.try_into().ok()?;
        heads.push(head);
        at += 32;
    }
    Some(heads)
}

#[cfg(test)]
mod tests {
    use super::snapshot_heads;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn doc(edits: usize) -> AutoCommit {
        let mut d = AutoCommit::new();
        for i in 0..edits {
            d.put(ROOT, "n", i as i64).expect("put");
            d.commit();
        }
        d
    }

    fn sorted(mut h: Vec<[u8; 32]>) -> Vec<[u8; 32]> {
        h.sort();
        h
    }

    #[test]
    fn reads_the_heads_of_a_saved_document_in_both_forms() {
        let mut d = doc(3);
        let want: Vec<[u8; 32]> = d.get_heads().iter().map(|h| h.0).collect();
        assert_eq!(snapshot_heads(&d.save_nocompress()), Some(want.clone()));
        assert_eq!(snapshot_heads(&d.save()), Some(want));
    }

    #[test]
    fn reads_every_head_of_a_merged_document() {
        let mut a = doc(1);
        let mut b = a.fork().with_actor(automerge::ActorId::random());
        a.put(ROOT, "x", 1).expect("put");
        b.put(ROOT, "y", 2).expect("put");
        a.merge(&mut b).expect("merge");
        let want: Vec<[u8; 32]> = a.get_heads().iter().map(|h| h.0).collect();
        assert_eq!(want.len(), 2);
        let got = snapshot_heads(&a.save_nocompress()).expect("heads");
        assert_eq!(sorted(got), sorted(want));
    }

    #[test]
    fn refuses_what_is_not_exactly_one_document_chunk() {
        let mut d = doc(2);
        let base = d.save_nocompress();
        let heads = d.get_heads();
        d.put(ROOT, "n", 9).expect("put");
        d.commit();
        let mut with_chunk = base.clone();
        with_chunk.extend(d.save_after(&heads));
        assert_eq!(snapshot_heads(&with_chunk), None, "trailing change chunk");
        assert_eq!(snapshot_heads(&base[..base.len() - 1]), None, "truncated");
        assert_eq!(snapshot_heads(b"not automerge"), None);
        assert_eq!(snapshot_heads(&[]), None);
        let change = d.save_after(&heads);
        assert_eq!(
            snapshot_heads(&change),
            None,
            "a change chunk, not a document"
        );
    }
}
