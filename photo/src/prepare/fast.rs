//! The fast path of a JPEG (what cameras give): decoded already shrunk, resized with
//! SIMD, encoded with SIMD. A 12 MP photo is decoded at 1/2 scale by the decoder's DCT
//! scaling (2000×1500 for a 1600 px long edge: a quarter of the pixels to transform,
//! convert and resize), never at full size.

use crate::{PhotoError, MAX_PIXELS, MAX_SIDE};
use fast_image_resize as fir;
use image::metadata::Orientation;
use image::RgbImage;

/// The photo decoded at the smallest DCT scale whose long edge is still at least
/// `edge`, as RGB, with the orientation its EXIF asks for. `None`: not for this path
/// (an unusual colour format, or anything the decoder did not take); the caller then
/// uses the general decoder, which also gives the right error for damaged files.
pub(super) fn decode_jpeg_scaled(
    input: &[u8],
    edge: u32,
) -> Result<Option<(RgbImage, Orientation)>, PhotoError> {
    let mut d = jpeg_decoder::Decoder::new(input);
    if d.read_info().is_err() {
        return Ok(None);
    }
    let Some(info) = d.info() else {
        return Ok(None);
    };
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels {
            width: w,
            height: h,
        });
    }
    if !matches!(
        info.pixel_format,
        jpeg_decoder::PixelFormat::RGB24 | jpeg_decoder::PixelFormat::L8
    ) {
        return Ok(None);
    }
    let want = u16::try_from(edge.min(u32::from(u16::MAX))).unwrap_or(u16::MAX);
    let Ok((sw, sh)) = d.scale(want, want) else {
        return Ok(None);
    };
    // Against a frame whose scans claim more than its header (the header was checked).
    d.set_max_decoding_buffer_size((MAX_PIXELS * 4) as usize);
    let Ok(pixels) = d.decode() else {
        return Ok(None);
    };
    let orientation = d
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        _ => pixels,
    };
    Ok(RgbImage::from_raw(sw, sh, rgb).map(|img| (img, orientation)))
}

/// The image with its long edge at most `edge` (never enlarged): a convolution with
/// SIMD, its filter widened with the scale so it averages like an area resize.
pub(super) fn shrink_rgb(img: RgbImage, edge: u32) -> Result<RgbImage, PhotoError> {
    let (w, h) = img.dimensions();
    if w.max(h) <= edge {
        return Ok(img);
    }
    let (dw, dh) = if w >= h {
        (edge, scaled(h, edge, w))
    } else {
        (scaled(w, edge, h), edge)
    };
    let src = fir::images::Image::from_vec_u8(w, h, img.into_raw(), fir::PixelType::U8x3)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    let mut dst = fir::images::Image::new(dw, dh, fir::PixelType::U8x3);
    let opts = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom));
    fir::Resizer::new()
        .resize(&src, &mut dst, &opts)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    RgbImage::from_raw(dw, dh, dst.into_vec())
        .ok_or_else(|| PhotoError::Encode("resize buffer".into()))
}

/// `side × edge / long`, rounded, at least 1.
fn scaled(side: u32, edge: u32, long: u32) -> u32 {
    let v = (u64::from(side) * u64::from(edge) + u64::from(long) / 2) / u64::from(long.max(1));
    (v as u32).max(1)
}

/// Baseline JPEG, 4:2:0, no metadata at all (so no EXIF and no GPS).
pub(super) fn encode_rgb(img: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let (w, h) = img.dimensions();
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(PhotoError::Encode(format!("{w}×{h} is too large for JPEG")));
    };
    let mut out = Vec::with_capacity(img.len() / 10);
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    enc.encode(img.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x / 8 % 256) as u8,
                (y / 8 % 256) as u8,
                ((x + y) / 16 % 256) as u8,
            ])
        })
    }

    #[test]
    fn a_camera_jpeg_is_decoded_at_the_scale_that_still_covers_the_edge() {
        let jpeg = encode_rgb(&gradient(4000, 3000), 90).unwrap();
        let (img, o) = decode_jpeg_scaled(&jpeg, 1600)
            .unwrap()
            .expect("the fast path");
        assert_eq!(
            img.dimensions(),
            (2000, 1500),
            "1/2: the long edge stays ≥ 1600"
        );
        assert_eq!(o, Orientation::NoTransforms);
        let (img, _) = decode_jpeg_scaled(&jpeg, 400)
            .unwrap()
            .expect("the fast path");
        assert_eq!(img.dimensions(), (500, 375), "1/8");
        // What it decoded is the picture, not noise: close to a full decode shrunk.
        let full = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        let a = shrink_rgb(full, 400).unwrap();
        let b = shrink_rgb(img, 400).unwrap();
        let diff: u64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        let mean = diff as f64 / a.as_raw().len() as f64;
        assert!(mean < 3.0, "mean difference {mean}");
    }

    #[test]
    fn grey_jpegs_come_out_as_rgb() {
        let grey = image::GrayImage::from_fn(64, 48, |x, _| image::Luma([(x * 4) as u8]));
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 90)
            .encode(grey.as_raw(), 64, 48, jpeg_encoder::ColorType::Luma)
            .unwrap();
        let (img, _) = decode_jpeg_scaled(&jpeg, 1600)
            .unwrap()
            .expect("the fast path");
        assert_eq!(img.dimensions(), (64, 48));
        let [r, g, b] = img.get_pixel(40, 10).0;
        assert!(r == g && g == b && r > 100, "{:?}", (r, g, b));
    }

    #[test]
    fn sides_scale_with_the_long_edge_and_never_reach_zero() {
        assert_eq!(scaled(3000, 1600, 4000), 1200);
        assert_eq!(scaled(1200, 800, 3000), 320);
        assert_eq!(scaled(1, 256, 10_000), 1);
    }
}
