use super::*;
use image::{Rgb, RgbImage};
use proptest::prelude::*;

const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/gps_orientation6.jpg");
const HEIC: &[u8] = include_bytes!("../../tests/fixtures/iphone.heic");

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    // A gradient, so the encoder has something to encode.
    let img = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    encode_jpeg(&DynamicImage::ImageRgb8(img), 90).expect("encode")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_fixture_has_exif_with_gps_and_orientation_6() {
    // What the test below relies on: the input really carries them.
    assert!(contains(FIXTURE, b"Exif\0\0"));
    let mut d = ImageReader::new(Cursor::new(FIXTURE))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    assert_eq!(
        d.orientation().unwrap(),
        image::metadata::Orientation::Rotate90
    );
    let exif = d.exif_metadata().unwrap().expect("exif");
    // GPS IFD tag 0x8825 and the latitude's reference "N".
    assert!(contains(&exif, &[0x88, 0x25]) && contains(&exif, b"N\0"));
}

#[test]
fn orientation_is_applied_and_exif_with_gps_is_gone() {
    let p = prepare(FIXTURE, &Options::default()).expect("prepared");
    // 64×32 stored, rotated 90° clockwise to show: 32×64, the red left half on top.
    assert_eq!((p.width, p.height), (32, 64));
    let out = image::load_from_memory(&p.bytes).unwrap().to_rgb8();
    assert_eq!(out.dimensions(), (32, 64));
    let [r, _, b] = out.get_pixel(16, 8).0;
    assert!(r > 150 && b < 100, "top is red: {:?}", out.get_pixel(16, 8));
    let [r, _, b] = out.get_pixel(16, 56).0;
    assert!(
        b > 150 && r < 100,
        "bottom is blue: {:?}",
        out.get_pixel(16, 56)
    );
    // No EXIF (APP1) at all, so no GPS and no orientation to apply twice.
    assert!(!contains(&p.bytes, b"Exif"));
    assert!(!contains(&p.bytes, &[0xFF, 0xE1]));
    let mut d = ImageReader::new(Cursor::new(&p.bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    assert_eq!(d.exif_metadata().unwrap(), None);
    assert_eq!(p.mime, "image/jpeg");
    assert_eq!(p.original_bytes, FIXTURE.len());
}

#[test]
fn a_large_photo_is_shrunk_to_the_long_edge_with_a_thumbnail() {
    let input = jpeg(4000, 3000);
    let p = prepare(&input, &Options::default()).expect("prepared");
    assert_eq!((p.width, p.height), (1600, 1200));
    let thumb = image::load_from_memory(&p.thumb).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (256, 192));
    let full = image::load_from_memory(&p.bytes).unwrap();
    assert_eq!((full.width(), full.height()), (1600, 1200));
    // The long edge is configurable; portrait keeps its aspect.
    let opts = Options {
        max_edge: 800,
        ..Options::default()
    };
    let p = prepare(&jpeg(1200, 3000), &opts).expect("prepared");
    assert_eq!((p.width, p.height), (320, 800));
}

#[test]
fn a_small_photo_is_not_enlarged() {
    let p = prepare(&jpeg(100, 50), &Options::default()).expect("prepared");
    assert_eq!((p.width, p.height), (100, 50));
    let thumb = image::load_from_memory(&p.thumb).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (100, 50));
}

#[test]
fn the_hash_names_the_bytes_and_preparing_is_deterministic() {
    let input = jpeg(300, 200);
    let a = prepare(&input, &Options::default()).unwrap();
    let b = prepare(&input, &Options::default()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.sha256, hex::encode(Sha256::digest(&a.bytes)));
    assert_eq!(a.sha256.len(), 64);
    // sha256("abc"), FIPS 180-2.
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn heic_is_refused_with_a_clear_message() {
    let e = prepare(HEIC, &Options::default()).unwrap_err();
    assert_eq!(e, PhotoError::Heic);
    let msg = e.to_string();
    assert!(msg.contains("HEIC") && msg.contains("不支持") && msg.contains("not supported"));
    assert_eq!(e.code(), "heic");
}

#[test]
fn unknown_empty_and_damaged_files_are_refused_by_type() {
    let opts = Options::default();
    assert_eq!(prepare(b"", &opts), Err(PhotoError::Empty));
    let e = prepare(b"%PDF-1.7 not a photo", &opts).unwrap_err();
    assert!(
        matches!(&e, PhotoError::Unsupported(s) if s.contains("%PDF")),
        "{e}"
    );
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    assert!(matches!(
        prepare(gif, &opts),
        Err(PhotoError::Unsupported(_))
    ));
    let input = jpeg(200, 200);
    let cut = &input[..input.len() / 3];
    match prepare(cut, &opts) {
        Err(PhotoError::Corrupt(_)) => {}
        // zune-jpeg fills a truncated scan with grey rather than failing; either is fine,
        // as long as it is not a panic.
        Ok(p) => assert_eq!((p.width, p.height), (200, 200)),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

#[test]
fn a_decompression_bomb_is_refused_before_decoding() {
    // An 8×8 JPEG whose frame header claims 12,000 × 12,000 (144 MP).
    let mut bomb = jpeg(8, 8);
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame header");
    bomb[sof + 5..sof + 7].copy_from_slice(&12_000u16.to_be_bytes());
    bomb[sof + 7..sof + 9].copy_from_slice(&12_000u16.to_be_bytes());
    let e = prepare(&bomb, &Options::default()).unwrap_err();
    assert!(matches!(e, PhotoError::TooManyPixels { .. }), "{e:?}");
    // Past the side limit too (the decoder's own Limits).
    bomb[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    let e = prepare(&bomb, &Options::default()).unwrap_err();
    assert!(matches!(e, PhotoError::TooManyPixels { .. }), "{e:?}");
}

#[test]
fn too_many_bytes_are_refused_without_decoding() {
    let big = vec![0u8; MAX_INPUT_BYTES + 1];
    assert!(matches!(
        prepare(&big, &Options::default()),
        Err(PhotoError::TooLarge { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any bytes, and any damage to a real JPEG: an answer, never a panic.
    #[test]
    fn no_input_panics(
        junk in proptest::collection::vec(any::<u8>(), 0..2048),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let _ = prepare(&junk, &Options::default());
        let mut j = jpeg(40, 30);
        for (i, b) in flips {
            let at = i.index(j.len());
            j[at] = b;
        }
        let _ = prepare(&j, &Options::default());
    }
}
