//! Photo references (照片): what a document holds about a photo. The bytes never go into
//! a document; they live in a content-addressed store on the device and in the server's
//! blob store, named by [`PhotoRef::sha256`] (see ARCHITECTURE.md, "Photos").

use super::household::Gps;
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many photos on one visit, one issue event or one issue.
pub const MAX_PHOTOS: usize = 9;
/// The largest prepared photo a document may reference (bytes). The device checks it
/// when the photo is taken; the server refuses larger uploads.
pub const MAX_PHOTO_BYTES: i64 = 2 * 1024 * 1024;
/// The largest side of a prepared photo a document may claim (pixels).
pub const MAX_PHOTO_SIDE: i64 = 8192;
/// MIME types a prepared photo may have.
pub const PHOTO_MIMES: [&str; 2] = ["image/jpeg", "image/webp"];

/// A photo kept with a visit or an issue event: content hash and sizes; the bytes live
/// apart. GPS is set only where the worker allowed it, from the device's location, never
/// from the photo's EXIF (which preparing strips).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct PhotoRef {
    /// Lowercase hex SHA-256 of the prepared bytes: the blob's name.
    pub sha256: String,
    /// Size of the prepared bytes.
    pub bytes: i64,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub width: i64,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub height: i64,
    pub mime: String,
    /// When it was taken, on the app's clock, ms since the epoch (UTC).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub taken_at: i64,
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub gps: Option<Gps>,
}

/// Whether `s` is a SHA-256 as blobs are named: 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Every photo hash a document references (an issue's own and its events', a visit's).
pub fn referenced_hashes<'a>(
    maps: impl IntoIterator<Item = &'a BTreeMap<String, PhotoRef>>,
) -> Vec<&'a str> {
    let mut out: Vec<&str> = maps
        .into_iter()
        .flat_map(|m| m.values().map(|p| p.sha256.as_str()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_names_are_lowercase_hex_of_64() {
        assert!(is_sha256_hex(&"a".repeat(64)));
        assert!(is_sha256_hex(&"0123456789abcdef".repeat(4)));
        assert!(!is_sha256_hex(&"A".repeat(64)));
        assert!(!is_sha256_hex(&"a".repeat(63)));
        assert!(!is_sha256_hex(&format!("{}g", "a".repeat(63))));
        assert!(!is_sha256_hex("../../etc/passwd"));
    }
}
