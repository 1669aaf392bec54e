//! Decode, orient, shrink, re-encode, thumbnail, hash.

use crate::{PhotoError, MAX_INPUT_BYTES, MAX_PIXELS, MAX_SIDE};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// How a photo is prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The long edge of the prepared photo, at most (pixels). Smaller photos keep theirs.
    pub max_edge: u32,
    /// JPEG quality, 1–100.
    pub quality: u8,
    /// The long edge of the thumbnail (pixels).
    pub thumb_edge: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_edge: 1600,
            quality: 80,
            thumb_edge: 256,
        }
    }
}

/// A prepared photo: the bytes to store and upload, their name, and a thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The JPEG, without EXIF.
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub mime: &'static str,
    /// A JPEG of at most `thumb_edge` on its long side.
    pub thumb: Vec<u8>,
    /// The size of what was given.
    pub original_bytes: usize,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Prepares a photo from the bytes the camera or the gallery gave.
pub fn prepare(input: &[u8], opts: &Options) -> Result<Prepared, PhotoError> {
    let img = decode(input)?;
    let img = shrink(img, opts.max_edge);
    let (width, height) = (img.width(), img.height());
    let bytes = encode_jpeg(&img, opts.quality)?;
    let thumb = encode_jpeg(&shrink(img, opts.thumb_edge), opts.quality)?;
    Ok(Prepared {
        sha256: sha256_hex(&bytes),
        bytes,
        width,
        height,
        mime: "image/jpeg",
        thumb,
        original_bytes: input.len(),
    })
}

/// A thumbnail of an image (the server makes them of stored blobs).
pub fn thumbnail(input: &[u8], edge: u32, quality: u8) -> Result<Vec<u8>, PhotoError> {
    encode_jpeg(&shrink(decode(input)?, edge), quality)
}

/// Decodes under limits and applies the EXIF orientation.
fn decode(input: &[u8]) -> Result<DynamicImage, PhotoError> {
    if input.is_empty() {
        return Err(PhotoError::Empty);
    }
    if input.len() > MAX_INPUT_BYTES {
        return Err(PhotoError::TooLarge {
            bytes: input.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    if is_heif(input) {
        return Err(PhotoError::Heic);
    }
    let mut reader = ImageReader::new(Cursor::new(input))
        .with_guessed_format()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        Some(other) => return Err(PhotoError::Unsupported(format!("{other:?}"))),
        None => return Err(PhotoError::Unsupported(sniff(input))),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // RGBA of the largest image accepted, plus the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels { width, height });
    }
    // A photo whose EXIF cannot be read is shown as stored, not refused.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    img.apply_orientation(orientation);
    Ok(img)
}

fn image_error(e: ImageError) -> PhotoError {
    match e {
        ImageError::Limits(_) => PhotoError::TooManyPixels {
            width: 0,
            height: 0,
        },
        ImageError::Unsupported(u) => PhotoError::Unsupported(u.to_string()),
        other => PhotoError::Corrupt(other.to_string()),
    }
}

/// An ISO-BMFF file (`....ftyp<brand>`) of the HEIF family: HEIC, HEIF, AVIF.
fn is_heif(input: &[u8]) -> bool {
    const BRANDS: [&[u8; 4]; 9] = [
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif",
    ];
    input.len() >= 12 && &input[4..8] == b"ftyp" && BRANDS.iter().any(|b| &input[8..12] == *b)
}

/// What an unknown file starts with, for the message (printable ASCII only).
fn sniff(input: &[u8]) -> String {
    let head: String = input
        .iter()
        .take(8)
        .map(|&b| match b {
            0x20..=0x7e => b as char,
            _ => '.',
        })
        .collect();
    format!("“{head}”")
}

/// The image with its long edge at most `edge` (area averaging; never enlarged).
fn shrink(img: DynamicImage, edge: u32) -> DynamicImage {
    if img.width().max(img.height()) <= edge {
        return img;
    }
    img.thumbnail(edge, edge)
}

fn encode_jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let rgb = img.to_rgb8();
    let mut out = Vec::with_capacity(rgb.len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(&rgb)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
