//! The server's blob store, as both backends implement it: photo bytes named by their
//! SHA-256, beside the district store and never inside a document ("Blobs, version 1" in
//! docs/sync-protocol.md). `SqliteBlobs` (gridwalk-district-sqlite) keeps them in a SQLite
//! file of their own; `PgBlobs` (gridwalk-district-postgres) in the district's database.
//!
//! An upload is resumable: the partial bytes of a hash are kept (one partial per hash,
//! whichever device sends; the bytes of a hash are the same from every device), and a
//! chunk is taken only at the offset the store holds. When the last byte arrives the
//! whole is hashed; a mismatch drops it. Each hash is stored once.

use crate::Result;
use std::collections::BTreeSet;

/// The largest blob taken (bytes): a prepared photo is ≤ 400 KB; the document schema
/// allows up to this ([`gridwalk_core::model::MAX_PHOTO_BYTES`]).
pub const MAX_BLOB_BYTES: u64 = gridwalk_core::model::MAX_PHOTO_BYTES as u64;

/// Whether a chunk of `len` bytes at `offset` fits an upload of `total` bytes: a total
/// within [`MAX_BLOB_BYTES`], and no byte past it. Both backends answer
/// [`Appended::TooLarge`] otherwise.
pub fn chunk_fits(offset: u64, total: u64, len: usize) -> bool {
    total != 0 && total <= MAX_BLOB_BYTES && offset.saturating_add(len as u64) <= total
}
/// The bytes one device may have stored (uploads count to the device that started them).
pub const DEFAULT_DEVICE_QUOTA: u64 = 2 * 1024 * 1024 * 1024;
/// Blobs referenced by no document, and abandoned partial uploads, are collected after
/// this long (ms): a device uploads a photo only after its document synced, but a
/// document pushed late (an offline week) must still find its blob.
pub const GC_GRACE_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// What the store holds of a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobStatus {
    /// Stored whole, hash checked.
    Stored { size: u64 },
    /// This many bytes of an upload (0: nothing).
    Partial { offset: u64 },
}

/// What a chunk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Taken; the store now holds this many bytes.
    Offset(u64),
    /// The chunk completed the blob, or it was stored already.
    Stored,
    /// The chunk was not at the store's offset (a resend, a lost answer): nothing taken.
    WrongOffset(u64),
    /// The whole did not hash to its name: dropped.
    Mismatch,
    /// Larger than [`MAX_BLOB_BYTES`], or a chunk past the declared total.
    TooLarge,
    /// The device's quota would be exceeded: nothing taken.
    Quota { used: u64, quota: u64 },
}

/// Which bytes of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobSize {
    Full,
    Thumb,
}

/// What garbage collection removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    pub blobs: u64,
    pub bytes: u64,
    pub partials: u64,
}

/// The server's blob store.
pub trait BlobStore: Send + Sync {
    fn status(&self, sha256: &str) -> Result<BlobStatus>;
    /// Appends `chunk` at `offset` of the upload of `sha256` (`total` bytes in all) for
    /// `device_id`.
    fn append(
        &self,
        device_id: &str,
        sha256: &str,
        offset: u64,
        total: u64,
        chunk: &[u8],
        now_ms: i64,
    ) -> Result<Appended>;
    fn read(&self, sha256: &str, size: BlobSize) -> Result<Option<Vec<u8>>>;
    /// Keeps the thumbnail of a stored blob (the server makes it after the upload).
    fn put_thumb(&self, sha256: &str, thumb: &[u8]) -> Result<()>;
    /// Bytes stored and in partial uploads started by `device_id`.
    fn device_usage(&self, device_id: &str) -> Result<u64>;
    /// Removes blobs stored before `before_ms` that `referenced` does not name, and
    /// partial uploads untouched since `before_ms`.
    fn collect_garbage(
        &self,
        referenced: &dyn Fn(&str) -> bool,
        before_ms: i64,
    ) -> Result<GcReport>;
}

/// Which photos the district's documents reference (each backend's `photo_refs`): the
/// scope of every blob request and the roots of garbage collection.
pub trait PhotoRefs: Send + Sync {
    /// Whether a document of one of `grids` references the photo (`None`: any grid, an
    /// admin). A device may upload and download only such photos.
    fn photo_in_scope(&self, sha256: &str, grids: Option<&[String]>) -> Result<bool>;
    /// Every photo some document references.
    fn referenced_photos(&self) -> Result<BTreeSet<String>>;
}
