//! The sync protocol's messages and the pure decisions around them.
//!
//! One HTTP request per sync round: the device pushes the changes the district has not
//! acknowledged and pulls what it has not seen, per grid, from a server-assigned cursor.
//! See docs/sync-protocol.md for the whole protocol; this module is its types and codec.

use crate::ids::DocKind;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use uuid::Uuid;

mod docchunk;
mod snapshot;
mod v1;
mod v4;
pub use snapshot::snapshot_heads;
pub use v1::{encode_response, RESPONSE_ZSTD_LEVEL};
pub use v4::v4_streams;

/// Bumped on any incompatible change to the messages below. 2: a first download carries
/// each document's heads and projection rows (`PulledDoc::heads`, `PulledDoc::rows`,
/// `SyncResponse::projection`); requests are unchanged. 3: same shapes, but a snapshot's
/// `heads` are empty when its own header holds them ([`snapshot_heads`]). 4: same
/// messages, but a response's pulled documents travel column by column (`v4/`). 5: version
/// 4's layout, but a household row's `search` and `tails` are left out, derived on the
/// device from the row's other cells (`WireCell::Derived`).
pub const PROTOCOL_VERSION: u16 = 5;
/// The oldest version a server still answers (in that version's response shape).
pub const OLDEST_PROTOCOL_VERSION: u16 = 1;

/// True for a protocol version this build speaks.
pub fn supported_version(v: u16) -> bool {
    (OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&v)
}
/// Media type of a request and response body (postcard, then zstd).
pub const CONTENT_TYPE: &str = "application/x-gridwalk-sync";

/// Where a device stands in one grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridCursor {
    pub grid_id: String,
    /// Server sequence number of the last change of this grid the device has.
    /// 0: the device has nothing of this grid yet.
    pub seq: u64,
    /// While a fresh device pulls a grid page by page: the last document it received.
    /// `seq` then holds the watermark taken when the full pull began.
    pub full_after: Option<Uuid>,
}

impl GridCursor {
    pub fn fresh(grid_id: impl Into<String>) -> GridCursor {
        GridCursor {
            grid_id: grid_id.into(),
            seq: 0,
            full_after: None,
        }
    }

    /// True while the grid's first download has not finished.
    pub fn in_full_pull(&self) -> bool {
        self.seq == 0 || self.full_after.is_some()
    }
}

/// Changes of one document, raw Automerge change bytes in causal order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocChanges {
    pub doc_id: Uuid,
    pub kind: DocKind,
    pub changes: Vec<ByteBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u16,
    /// The grids the device holds and where it stands in each.
    pub cursors: Vec<GridCursor>,
    /// Unacknowledged local changes, grouped by document.
    pub push: Vec<DocChanges>,
    /// Upper bound on the pulled page, in bytes of document data (server clamps it).
    pub max_pull_bytes: u32,
    /// Ask for a digest of every grid in scope (the repair check).
    pub want_digest: bool,
    /// Repair: every document the device holds in these grids, with its heads.
    pub compare: Vec<GridCompare>,
    /// Unsynced changes of documents in grids no longer in the user's scope (the worker
    /// was moved): stored by the server for a supervisor, never applied. Absent in the
    /// requests of older devices ([`decode_request`] reads both).
    pub handover: Vec<DocChanges>,
}

/// Repair: a device's complete list of (document, heads) for one grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridCompare {
    pub grid_id: String,
    pub docs: Vec<DocHeads>,
}

/// What the server did with one pushed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PushOutcome {
    /// Stored (or already had): the device may drop these changes from its outbox.
    Accepted,
    /// Refused, nothing of it stored; the changes stay in the device's outbox.
    Rejected { code: RejectCode, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectCode {
    /// The document would not match its schema after the changes; `message` says where.
    Invalid,
    /// A change is not valid Automerge, or names dependencies the server lacks.
    BadChange,
    /// The change's author is not the pushing device.
    WrongAuthor,
    /// The document exists with another kind.
    WrongKind,
    /// The author's role may not make this change (see `core/src/authorize.rs`): another
    /// role's issue step, a visit credited to someone else, key-person data, …; `message`
    /// names the field and the rule. Added last, so the older codes keep their encoding.
    Forbidden,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    pub doc_id: Uuid,
    pub outcome: PushOutcome,
}

/// Document data sent to a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocData {
    /// A whole document (`save()` bytes): the first download of a grid, or a repair.
    Snapshot(ByteBuf),
    /// Changes after what the device has.
    Changes(Vec<ByteBuf>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledDoc {
    pub doc_id: Uuid,
    pub kind: DocKind,
    pub grid_id: String,
    pub data: DocData,
    /// Version 2, with a `Snapshot` of a first download: the document's heads (raw
    /// 32-byte change hashes). Empty otherwise.
    pub heads: Vec<[u8; 32]>,
    /// Version 2, with a `Snapshot` of a first download: the document's projection rows,
    /// as the district derived them from the document at `heads` with the same function a
    /// device uses (`SyncResponse::projection` names its version). The device stores them
    /// and the snapshot without loading the document. `None`: derive them yourself.
    pub rows: Option<Vec<TableRows>>,
}

/// Projection rows of one table for one document, cells in the table's column order for
/// the projection version the response names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRows {
    pub table: String,
    pub rows: Vec<Vec<Cell>>,
}

/// One SQL value of a projection row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(ByteBuf),
}

impl PartialEq for Cell {
    fn eq(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Null, Cell::Null) => true,
            (Cell::Int(a), Cell::Int(b)) => a == b,
            // Bit equality, so that Eq holds (NaN equals itself).
            (Cell::Real(a), Cell::Real(b)) => a.to_bits() == b.to_bits(),
            (Cell::Text(a), Cell::Text(b)) => a == b,
            (Cell::Blob(a), Cell::Blob(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Cell {}

/// A grid's digest: how many documents and a hash over every (document, heads) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridDigest {
    pub grid_id: String,
    pub docs: u64,
    pub hash: [u8; 32],
}

/// A document's heads (raw 32-byte change hashes), for the repair comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeads {
    pub doc_id: Uuid,
    pub heads: Vec<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub protocol: u16,
    pub pushed: Vec<PushResult>,
    pub pulled: Vec<PulledDoc>,
    /// The device's new cursors: persist them together with the pulled documents.
    pub cursors: Vec<GridCursor>,
    /// More to pull: ask again right away.
    pub more: bool,
    /// Total documents in the grids still being fully pulled (for a progress bar).
    pub full_pull_total: u64,
    pub digests: Vec<GridDigest>,
    /// Repair: the server's heads of every compared document that differs from the
    /// device's (empty heads: the server lacks it). Documents the device lacks or holds
    /// differently also come whole in `pulled`.
    pub server_heads: Vec<DocHeads>,
    /// Set when the request's cursors name grids that are not the user's scope now (an
    /// admin moved the worker): the grids the device may hold. The push was not run; the
    /// device pushes what is still in scope, hands the rest over and drops the old grids.
    pub scope_changed: Option<Vec<String>>,
    /// One result per handed-over document: `Accepted` once the server keeps it.
    pub handed_over: Vec<PushResult>,
    /// Version 2: the projection version of the rows in `pulled` (empty when none). A
    /// device of another projection version ignores the rows and derives its own.
    pub projection: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("body is not valid zstd at byte {offset}: {reason}")]
    Compression { offset: usize, reason: String },
    #[error("body is larger than the limit of {limit} bytes once decompressed")]
    TooLarge { limit: usize },
    #[error("body is not a valid message: {0}")]
    Decode(String),
    #[error("protocol version {got} is not supported (server speaks {supported})")]
    Version { got: u16, supported: u16 },
    /// Bytes after the one zstd frame a body may hold (a second frame, or anything).
    #[error("body has {extra} bytes after its zstd frame")]
    TrailingBytes { extra: usize },
}

/// A version number an older or newer client could really send. A body that does not
/// parse as this version's message but starts with, say, 70 is garbage, not version 70.
pub fn plausible_version(v: u16) -> bool {
    (1..=PROTOCOL_VERSION.saturating_add(15)).contains(&v)
}

/// Encode a message: postcard, then zstd.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    encode_at(msg, 3)
}

/// Encode at a zstd level of choice (a response page full of snapshots pays for more).
pub fn encode_at<T: Serialize>(msg: &T, level: i32) -> Vec<u8> {
    // Encoding into a Vec cannot fail for these types; an empty body would be refused.
    let raw = postcard::to_allocvec(msg).unwrap_or_default();
    zstd::bulk::compress(&raw, level).unwrap_or_default()
}

/// Decode a message, refusing bodies that decompress past `limit` bytes, that hold more
/// than one zstd frame, or whose message is followed by anything.
pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8], limit: usize) -> Result<T, CodecError> {
    parse(&decompress_limited(body, limit)?)
}

/// Read one whole message from decompressed bytes.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(raw: &[u8]) -> Result<T, CodecError> {
    match postcard::take_from_bytes(raw) {
        Ok((msg, [])) => Ok(msg),
        Ok((_, rest)) => Err(CodecError::Decode(format!(
            "{} bytes after the end of the message",
            rest.len()
        ))),
        Err(e) => Err(CodecError::Decode(e.to_string())),
    }
}

/// Decode a sync request, also in the shapes older devices send (see [`v1`]).
pub fn decode_request(body: &[u8], limit: usize) -> Result<SyncRequest, CodecError> {
    v1::decode_request(body, limit)
}

/// Decode a sync response, also from an older server (version 1, or before the handover).
pub fn decode_response(body: &[u8], limit: usize) -> Result<SyncResponse, CodecError> {
    v1::decode_response(body, limit)
}

pub(crate) fn decompress_limited(body: &[u8], limit: usize) -> Result<Vec<u8>, CodecError> {
    use std::io::Read;
    // One frame, and nothing after it: the stream decoder would read on into a second
    // frame, and ignore bytes that are not one.
    let frame = zstd::zstd_safe::find_frame_compressed_size(body).map_err(|code| {
        CodecError::Compression {
            offset: 0,
            reason: zstd::zstd_safe::get_error_name(code).to_string(),
        }
    })?;
    if frame < body.len() {
        return Err(CodecError::TrailingBytes {
            extra: body.len() - frame,
        });
    }
    let decoder = zstd::stream::read::Decoder::new(body).map_err(|e| CodecError::Compression {
        offset: 0,
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    let read = decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| CodecError::Compression {
            offset: out.len(),
            reason: e.to_string(),
        })?;
    if read > limit {
        return Err(CodecError::TooLarge { limit });
    }
    Ok(out)
}

/// The digest of a grid from its (document id, sorted heads) pairs, in document id order.
pub fn grid_digest<'a, I>(grid_id: &str, docs: I) -> GridDigest
where
    I: IntoIterator<Item = (Uuid, &'a [[u8; 32]])>,
{
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut count = 0;
    for (id, heads) in docs {
        hasher.update(id.as_bytes());
        let mut sorted: Vec<&[u8; 32]> = heads.iter().collect();
        sorted.sort();
        for h in sorted {
            hasher.update(h);
        }
        hasher.update([0xff]);
        count += 1;
    }
    GridDigest {
        grid_id: grid_id.to_string(),
        docs: count,
        hash: hasher.finalize().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursors: vec![GridCursor::fresh("g1")],
            push: vec![DocChanges {
                doc_id: Uuid::from_u128(7),
                kind: DocKind::Household,
                changes: vec![ByteBuf::from(vec![1, 2, 3])],
            }],
            max_pull_bytes: 1 << 20,
            want_digest: false,
            compare: vec![],
            handover: vec![],
        }
    }

    #[test]
    fn round_trips() {
        let req = sample();
        let back: SyncRequest = decode(&encode(&req), 1 << 20).expect("decodes");
        assert_eq!(back, req);
    }

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        let body = encode(&sample());
        assert!(decode::<SyncRequest>(b"not zstd at all", 1 << 20).is_err());
        for cut in 0..body.len() {
            assert!(
                decode::<SyncRequest>(&body[..cut], 1 << 20).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn bytes_after_the_frame_or_the_message_are_refused() {
        let body = encode(&sample());
        let mut two_frames = body.clone();
        two_frames.extend_from_slice(&body);
        assert_eq!(
            decode::<SyncRequest>(&two_frames, 1 << 20),
            Err(CodecError::TrailingBytes { extra: body.len() })
        );
        let mut junk = body.clone();
        junk.extend_from_slice(b"junk");
        assert_eq!(
            decode::<SyncRequest>(&junk, 1 << 20),
            Err(CodecError::TrailingBytes { extra: 4 })
        );
        // A valid frame whose message is followed by more bytes inside the frame.
        let mut raw = postcard::to_allocvec(&sample()).expect("encodes");
        raw.extend_from_slice(&[1, 2, 3]);
        let padded = zstd::bulk::compress(&raw, 3).expect("compress");
        assert!(matches!(
            decode::<SyncRequest>(&padded, 1 << 20),
            Err(CodecError::Decode(m)) if m.contains("3 bytes after")
        ));
    }

    #[test]
    fn garbage_is_not_a_protocol_version() {
        assert!(plausible_version(PROTOCOL_VERSION));
        assert!(plausible_version(PROTOCOL_VERSION + 1));
        assert!(!plausible_version(0));
        assert!(!plausible_version(70));
    }

    #[test]
    fn decompression_bomb_is_refused() {
        let big = zstd::bulk::compress(&vec![0u8; 10 << 20], 3).expect("compress");
        assert_eq!(
            decode::<SyncRequest>(&big, 1 << 20),
            Err(CodecError::TooLarge { limit: 1 << 20 })
        );
    }

    #[test]
    fn digest_ignores_head_order_but_not_content() {
        let a = [[1u8; 32], [2u8; 32]];
        let b = [[2u8; 32], [1u8; 32]];
        let id = Uuid::from_u128(1);
        assert_eq!(
            grid_digest("g", [(id, &a[..])]),
            grid_digest("g", [(id, &b[..])])
        );
        assert_ne!(
            grid_digest("g", [(id, &a[..])]),
            grid_digest("g", [(id, &a[..1])])
        );
    }
}
