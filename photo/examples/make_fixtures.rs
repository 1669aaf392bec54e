//! Writes the test fixtures of `photo/tests/fixtures/` (run once; the files are committed):
//!
//! - `gps_orientation6.jpg`: 64×32, red left half and blue right half as stored, with an
//!   EXIF block saying orientation 6 (rotate 90° clockwise to show) and a GPS position
//!   (28°12'30"N 112°58'0"E), as a phone writes it.
//! - `iphone.heic`: the first bytes of an iPhone HEIC (an ISO-BMFF `ftyp heic` box).
//! - `tests/e2e-console/fixtures/{before,after}.jpg`: two 2000×1500 "photos" of a stairwell
//!   (piled boxes, then cleared) for the console's photo test.
//!
//! `cargo run -p gridwalk-photo --example make_fixtures`

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::create_dir_all(&dir)?;
    let img = RgbImage::from_fn(64, 32, |x, _| match x < 32 {
        true => Rgb([220, 20, 20]),
        false => Rgb([20, 20, 220]),
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&img)?;
    // The APP1 "Exif" segment goes right after SOI (FF D8).
    let exif = exif_block();
    let len = u16::try_from(exif.len() + 2)?;
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    std::fs::write(dir.join("gps_orientation6.jpg"), out)?;

    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.extend_from_slice(&[0u8; 40]);
    std::fs::write(dir.join("iphone.heic"), heic)?;

    let e2e =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e-console/fixtures");
    for (name, boxes) in [("before.jpg", true), ("after.jpg", false)] {
        let img = RgbImage::from_fn(2000, 1500, |x, y| {
            let wall = 180 - (y / 20) as u8;
            let floor = y > 1000;
            let in_box = boxes && floor && (x / 220) % 2 == 0 && y > 1100 + (x % 300) / 3;
            match (floor, in_box) {
                (_, true) => Rgb([150, 105, 60]),
                (true, false) => Rgb([120, 120, 125]),
                (false, _) => Rgb([wall, wall, wall.saturating_sub(10)]),
            }
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img)?;
        std::fs::write(e2e.join(name), out)?;
    }
    Ok(())
}

/// `Exif\0\0` and a big-endian TIFF: IFD0 (orientation 6, GPS IFD pointer), GPS IFD.
fn exif_block() -> Vec<u8> {
    let mut t: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&typ.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    const RATIONAL: u16 = 5;
    // IFD0 at 8: 2 entries (2 + 24 + 4 = 30 bytes); the GPS IFD at 38: 4 entries (54
    // bytes); its rationals at 92 (latitude) and 116 (longitude).
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0112, SHORT, 1, [0, 6, 0, 0]);
    entry(&mut t, 0x8825, LONG, 1, 38u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(&4u16.to_be_bytes());
    entry(&mut t, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, RATIONAL, 3, 92u32.to_be_bytes());
    entry(&mut t, 0x0003, ASCII, 2, *b"E\0\0\0");
    entry(&mut t, 0x0004, RATIONAL, 3, 116u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    for (num, den) in [
        (28u32, 1u32),
        (12, 1),
        (3000, 100),
        (112, 1),
        (58, 1),
        (0, 1),
    ] {
        t.extend_from_slice(&num.to_be_bytes());
        t.extend_from_slice(&den.to_be_bytes());
    }
    assert_eq!(t.len(), 140, "offsets above assume this layout");
    let mut out = b"Exif\0\0".to_vec();
    out.extend_from_slice(&t);
    out
}
