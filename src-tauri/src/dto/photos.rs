//! Photos across the IPC boundary: what the UI shows of each photo (never its bytes, which
//! come from `get_photo` as raw bytes), what it sends back to attach one, and the space
//! photos take on the device.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a photo's bytes are, as the worker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub enum PhotoState {
    /// Taken on this device, not yet confirmed by the server (待上传): kept until it is.
    Pending,
    /// Taken on this device and confirmed by the server (已上传).
    Uploaded,
    /// Taken on another device (or by a supervisor): downloaded when viewed.
    Remote,
}

/// One photo of a visit or an issue event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct PhotoDto {
    pub sha256: String,
    #[ts(type = "number")]
    pub bytes: i64,
    #[ts(type = "number")]
    pub width: i64,
    #[ts(type = "number")]
    pub height: i64,
    #[ts(type = "number")]
    pub taken_at: i64,
    pub state: PhotoState,
}

/// A photo taken with `take_photo`, attached to a new issue, an event or a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct PhotoInput {
    pub sha256: String,
    #[ts(type = "number")]
    pub taken_at: i64,
}

/// Which bytes `get_photo` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub enum PhotoSize {
    Thumb,
    Full,
}

/// The space photos take on this device (bytes), for the Sync screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct PhotoStorage {
    /// Not yet on the server: never freed.
    #[ts(type = "number")]
    pub pending: i64,
    #[ts(type = "number")]
    pub pending_bytes: i64,
    /// On the server: their full bytes may be freed (thumbnails stay).
    #[ts(type = "number")]
    pub uploaded: i64,
    #[ts(type = "number")]
    pub uploaded_bytes: i64,
    /// Downloaded for viewing, within the cache's cap.
    #[ts(type = "number")]
    pub cached_bytes: i64,
    #[ts(type = "number")]
    pub cache_cap_bytes: i64,
    #[ts(type = "number")]
    pub thumb_bytes: i64,
}
