//! Decode, shrink, orient, re-encode, thumbnail, hash.

mod fast;

use crate::{PhotoError, MAX_INPUT_BYTES, MAX_PIXELS, MAX_SIDE};
use image::metadata::Orientation;
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
///
/// Shrunk first, oriented after (turning the small image is cheaper); the thumbnail is
/// made from the shrunk photo, not from the original.
pub fn prepare(input: &[u8], opts: &Options) -> Result<Prepared, PhotoError> {
    check(input)?;
    let scaled = match image::guess_format(input) {
        Ok(ImageFormat::Jpeg) => fast::decode_jpeg_scaled(input, opts.max_edge)?,
        _ => None,
    };
    let (img, orientation) = match scaled {
        Some(found) => found,
        None => {
            let (img, orientation) = decode_unoriented(input)?;
            (img.into_rgb8(), orientation)
        }
    };
    let img = fast::shrink_rgb(img, opts.max_edge)?;
    let mut img = DynamicImage::ImageRgb8(img);
    img.apply_orientation(orientation);
    let img = img.into_rgb8();
    let (width, height) = img.dimensions();
    let bytes = fast::encode_rgb(&img, opts.quality)?;
    let thumb = fast::encode_rgb(&fast::shrink_rgb(img, opts.thumb_edge)?, opts.quality)?;
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
    check(input)?;
    let (img, orientation) = decode_unoriented(input)?;
    let mut img = DynamicImage::ImageRgb8(fast::shrink_rgb(img.into_rgb8(), edge)?);
    img.apply_orientation(orientation);
    fast::encode_rgb(&img.into_rgb8(), quality)
}

/// Refusals that need no decoding: empty, too many bytes, HEIC.
fn check(input: &[u8]) -> Result<(), PhotoError> {
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
    Ok(())
}

/// Decodes under limits (any accepted format, full size); the EXIF orientation is
/// returned, not yet applied.
fn decode_unoriented(input: &[u8]) -> Result<(DynamicImage, Orientation), PhotoError> {
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
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    Ok((img, orientation))
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

/// Encodes any image as [`prepare`] does (tests make their inputs with it).
#[cfg(test)]
fn encode_jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    fast::encode_rgb(&img.to_rgb8(), quality)
}

#[cfg(test)]
mod tests;
