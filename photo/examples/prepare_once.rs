//! Prepares one photo, for a profile of `prepare` alone:
//!
//!     cargo run --release -p gridwalk-photo --example prepare_once -- photo.jpg
//!     valgrind --tool=callgrind target/release/examples/prepare_once photo.jpg
//!
//! Without the file it first writes one: 4000×3000 (12 MP), smooth light and shapes with
//! sensor-like noise at JPEG q92, as the photos benchmark makes them.

use gridwalk_photo::{prepare, Options};

fn camera_jpeg(seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let img = image::RgbImage::from_fn(4000, 3000, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x & 31) as i32 - 16;
        let cx = (px as i32 - 2000 - (seed as i32 % 700)).abs();
        let cy = (py as i32 - 1500).abs();
        let shade = 90 + (px / 40) as i32 + ((cx * cx + cy * cy) % 4000) / 80;
        let c = |v: i32| (v + n).clamp(0, 255) as u8;
        image::Rgb([
            c(shade),
            c(shade / 2 + (py / 30) as i32),
            c(200 - shade / 3),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .expect("encode");
    out
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "photo-12mp.jpg".into());
    let input = match std::fs::read(&path) {
        Ok(b) => b,
        Err(_) => {
            let b = camera_jpeg(1);
            std::fs::write(&path, &b).expect("write");
            println!("wrote {path} ({} bytes); run again to prepare it", b.len());
            return;
        }
    };
    let start = std::time::Instant::now();
    let p = prepare(&input, &Options::default()).expect("prepared");
    println!(
        "{}×{} {} bytes (of {}), thumb {} bytes, {:.1} ms",
        p.width,
        p.height,
        p.bytes.len(),
        input.len(),
        p.thumb.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
}
