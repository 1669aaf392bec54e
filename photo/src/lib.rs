//! Photos made small on the device, as pure code: bytes in, bytes out, no files, no
//! clock, no network.
//!
//! [`prepare`] turns what the camera or the gallery gave (a JPEG, PNG or WebP of any size)
//! into what a document references and the blob store keeps: decoded under size limits
//! (against decompression bombs), EXIF orientation applied, the long edge shrunk to
//! [`Options::max_edge`], re-encoded as JPEG at [`Options::quality`] (EXIF, GPS included,
//! does not survive the re-encode), a thumbnail beside it, and the SHA-256 that names it.
//! HEIC and other formats are refused with [`PhotoError`], never a panic.
//!
//! The upload queue that sends prepared photos is pure too, in `gridwalk_core::upload`.

mod prepare;

pub use prepare::{prepare, sha256_hex, thumbnail, Options, Prepared};

/// The largest input accepted (bytes): a 12 MP phone photo is 3–5 MB, a 48 MP one ~15.
pub const MAX_INPUT_BYTES: usize = 40 * 1024 * 1024;
/// The most pixels decoded (width × height): 64 MP, about 256 MB as RGBA.
pub const MAX_PIXELS: u64 = 64_000_000;
/// Either side at most this (pixels).
pub const MAX_SIDE: u32 = 16_384;

/// Why a photo could not be prepared. `Display` is one sentence in zh-CN, then English.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("照片是空的 / the photo is empty")]
    Empty,
    #[error("照片太大（{bytes}字节，最多{max}字节） / the photo is too large ({bytes} bytes, at most {max})")]
    TooLarge { bytes: usize, max: usize },
    #[error("照片像素太多（{width}×{height}） / the photo has too many pixels ({width}×{height})")]
    TooManyPixels { width: u32, height: u32 },
    #[error("不支持HEIC/HEIF格式的照片：请在相机设置中选择“兼容性最佳”，或选择JPEG照片 / HEIC/HEIF photos are not supported: set the camera to \"Most Compatible\" or pick a JPEG")]
    Heic,
    #[error("不支持此文件格式（{0}），请选择JPEG、PNG或WebP照片 / unsupported file format ({0}): pick a JPEG, PNG or WebP photo")]
    Unsupported(String),
    #[error(
        "照片文件已损坏，无法读取（{0}） / the photo file is damaged and cannot be read ({0})"
    )]
    Corrupt(String),
    #[error("照片编码失败（{0}） / the photo could not be encoded ({0})")]
    Encode(String),
}

impl PhotoError {
    /// A stable code for the UI and logs.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::Empty => "empty",
            PhotoError::TooLarge { .. } => "too_large",
            PhotoError::TooManyPixels { .. } => "too_many_pixels",
            PhotoError::Heic => "heic",
            PhotoError::Unsupported(_) => "unsupported",
            PhotoError::Corrupt(_) => "corrupt",
            PhotoError::Encode(_) => "encode",
        }
    }
}
