//! An Automerge document chunk taken apart into its sections and put back together byte
//! for byte (version 4: a page's documents travel column by column, so that zstd sees all
//! documents' key columns together, all their value columns together, …).
//!
//! Layout (automerge's `storage/document.rs` and `storage/chunk.rs`): magic (4), checksum
//! (4: the first bytes of SHA-256 over type, length and data), type 0, data length
//! (uleb); data: actors (count, each length-prefixed), heads (count, 32 bytes each),
//! change column metadata and op column metadata (count, then (spec, length) pairs),
//! the change columns' data, the op columns' data, and a suffix (head indices; absent in
//! documents of old writers). Nothing here interprets a column's contents.

use super::snapshot::{skip, uleb, DOCUMENT_CHUNK, MAGIC};
use sha2::{Digest, Sha256};

/// More columns than this in one section is not a document of ours (automerge writes
/// about a dozen).
const MAX_COLUMNS: u64 = 256;

/// One document chunk's parts, each a slice of the original bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DocParts<'a> {
    /// Count and ids, as stored. (The checksum is not kept: [`join`] computes it, so only
    /// a document whose checksum is right is split.)
    pub actors: &'a [u8],
    /// Count and hashes, as stored.
    pub heads: &'a [u8],
    /// Both sections' column metadata, as stored.
    pub meta: &'a [u8],
    /// `(section, spec)` and data of every column, change columns first, in stored order.
    pub columns: Vec<(u64, &'a [u8])>,
    pub suffix: &'a [u8],
}

/// A column's stream key: the section (0 change columns, 1 op columns) and its spec.
fn column_key(section: u64, spec: u64) -> u64 {
    (section << 32) | spec
}

/// The (key, length) of each column of one section's metadata, starting at `at`.
fn read_meta(bytes: &[u8], at: &mut usize, section: u64) -> Option<Vec<(u64, u64)>> {
    let count = uleb(bytes, at)?;
    if count > MAX_COLUMNS {
        return None;
    }
    let mut cols = Vec::new();
    for _ in 0..count {
        let spec = uleb(bytes, at)?;
        let len = uleb(bytes, at)?;
        if spec > u64::from(u32::MAX) {
            return None;
        }
        cols.push((column_key(section, spec), len));
    }
    Some(cols)
}

/// Column metadata of both sections read from the start of `meta` (as [`split`] stores it);
/// the number of bytes it took.
pub(super) fn read_column_layout(meta: &[u8]) -> Option<(Vec<(u64, u64)>, usize)> {
    let mut at = 0;
    let mut cols = read_meta(meta, &mut at, 0)?;
    cols.extend(read_meta(meta, &mut at, 1)?);
    Some((cols, at))
}

/// The length of the actors (count, each length-prefixed) at the start of `bytes`.
pub(super) fn actors_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    let count = uleb(bytes, &mut at)?;
    for _ in 0..count {
        let n = uleb(bytes, &mut at)?;
        skip(bytes, &mut at, n)?;
    }
    Some(at)
}

/// The length of the heads (count, 32 bytes each) at the start of `bytes`.
pub(super) fn heads_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    let count = uleb(bytes, &mut at)?;
    skip(bytes, &mut at, count.checked_mul(32)?)?;
    Some(at)
}

/// The parts of `bytes` when they are exactly one document chunk that [`join`] gives back
/// byte for byte (right checksum, shortest length encodings); `None` otherwise, and the
/// snapshot travels as it is.
pub(super) fn split(bytes: &[u8]) -> Option<DocParts<'_>> {
    if bytes.get(..4)? != MAGIC || *bytes.get(8)? != DOCUMENT_CHUNK {
        return None;
    }
    let mut at = 9;
    let len = uleb(bytes, &mut at)?;
    if at.checked_add(usize::try_from(len).ok()?)? != bytes.len() {
        return None;
    }
    let data_at = at;
    let start = at;
    at += actors_len(bytes.get(at..)?)?;
    let actors = &bytes[start..at];
    let start = at;
    at += heads_len(bytes.get(at..)?)?;
    let heads = &bytes[start..at];
    let start = at;
    let (layout, used) = read_column_layout(bytes.get(at..)?)?;
    at += used;
    let meta = &bytes[start..at];
    let mut columns = Vec::with_capacity(layout.len());
    for (key, n) in layout {
        let from = at;
        skip(bytes, &mut at, n)?;
        columns.push((key, &bytes[from..at]));
    }
    // Only what comes back exactly: a non-minimal length or a wrong checksum would not.
    // [`join`] writes the parts back in this order, so that is checked here on `bytes`
    // themselves, without building the copy.
    let mut shortest = Vec::with_capacity(10);
    put_uleb(&mut shortest, len);
    if bytes.get(9..data_at) != Some(&shortest[..]) || checksum(&bytes[8..]) != bytes[4..8] {
        return None;
    }
    Some(DocParts {
        actors,
        heads,
        meta,
        columns,
        suffix: &bytes[at..],
    })
}

/// A chunk's checksum: the first 4 bytes of SHA-256 over its type, length and data.
fn checksum(typed: &[u8]) -> [u8; 4] {
    let hash = Sha256::digest(typed);
    [hash[0], hash[1], hash[2], hash[3]]
}

fn put_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The document chunk of `parts`, with its length and checksum computed.
pub(super) fn join(parts: &DocParts<'_>) -> Vec<u8> {
    let data_len = parts.actors.len()
        + parts.heads.len()
        + parts.meta.len()
        + parts.columns.iter().map(|(_, c)| c.len()).sum::<usize>()
        + parts.suffix.len();
    let mut prefix = vec![DOCUMENT_CHUNK];
    put_uleb(&mut prefix, data_len as u64);
    let mut out = Vec::with_capacity(8 + prefix.len() + data_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&prefix);
    out.extend_from_slice(parts.actors);
    out.extend_from_slice(parts.heads);
    out.extend_from_slice(parts.meta);
    for (_, c) in &parts.columns {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(parts.suffix);
    let sum = checksum(&out[8..]);
    out[4..8].copy_from_slice(&sum);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ReadDoc, ROOT};

    fn document() -> Vec<u8> {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "name", "张三").expect("put");
        doc.put(ROOT, "floor", 5).expect("put");
        let m = doc
            .put_object(ROOT, "members", automerge::ObjType::Map)
            .expect("map");
        doc.put(&m, "p1", "李四").expect("put");
        doc.commit();
        doc.put(ROOT, "floor", 6).expect("put");
        doc.save_nocompress()
    }

    #[test]
    fn a_document_comes_apart_and_back_byte_for_byte() {
        let bytes = document();
        let parts = split(&bytes).expect("a document chunk");
        assert!(parts.columns.len() > 5);
        assert_eq!(join(&parts), bytes);
        let doc = automerge::Automerge::load(&join(&parts)).expect("loads");
        assert_eq!(doc.get_heads().len(), 1);
        assert!(doc.get(ROOT, "floor").expect("read").is_some());
    }

    #[test]
    fn what_would_not_come_back_is_not_split() {
        let bytes = document();
        let mut wrong_sum = bytes.clone();
        wrong_sum[5] ^= 1;
        assert_eq!(split(&wrong_sum), None);
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        assert_eq!(split(&two), None);
        for cut in 0..bytes.len() {
            assert_eq!(split(&bytes[..cut]), None, "cut at {cut}");
        }
        // A length written longer than it needs (with its checksum right) would come
        // back shorter: not split.
        let mut at = 9;
        let len = uleb(&bytes, &mut at).expect("length");
        let mut long = bytes[..8].to_vec();
        long.push(DOCUMENT_CHUNK);
        put_uleb(&mut long, len);
        *long.last_mut().expect("a byte") |= 0x80;
        long.push(0);
        long.extend_from_slice(&bytes[at..]);
        let sum = checksum(&long[8..]);
        long[4..8].copy_from_slice(&sum);
        assert_eq!(split(&long), None);
        // A compressed save (DEFLATE columns) still comes back exactly, or is not split.
        let mut doc = automerge::AutoCommit::load(&bytes).expect("loads");
        let saved = doc.save();
        if let Some(p) = split(&saved) {
            assert_eq!(join(&p), saved);
        }
    }
}
