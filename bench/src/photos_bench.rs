//! Photos: device-side preparation of 12 MP photos, bytes uploaded against the original,
//! upload of all of them over loopback, a resume after a cut, and the server's time per
//! blob (`gridwalk-bench photos --photos 100`).

use crate::bench_device::new_device;
use crate::stats::{median, ms, quantile, row};
use anyhow::{ensure, Result};
use gridwalk_client::blobs::BlobClient;
use gridwalk_core::model::{PhotoRef, Visit, VisitMode};
use gridwalk_district_sqlite::blobs::{Appended, BlobStore, SqliteBlobs};
use gridwalk_district_sqlite::{NewUser, SqliteDistrict};
use gridwalk_photo::{prepare, Options, Prepared};
use gridwalk_store::NewPhoto;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NOW: i64 = 1_790_000_000_000;

/// A 4000×3000 "photo": smooth light and shapes with sensor-like noise, encoded at q92
/// like a phone camera (3–5 MB).
fn camera_jpeg(seed: u32) -> Result<Vec<u8>> {
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
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92).encode_image(&img)?;
    Ok(out)
}

fn reference(p: &Prepared) -> PhotoRef {
    PhotoRef {
        sha256: p.sha256.clone(),
        bytes: p.bytes.len() as i64,
        width: i64::from(p.width),
        height: i64::from(p.height),
        mime: p.mime.into(),
        taken_at: NOW,
        gps: None,
    }
}

/// Forwards TCP to `upstream`; the first connection is cut after `cut_after` request bytes.
fn cutting_proxy(upstream: String, cut_after: usize) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let (Ok(mut client), Ok(mut server)) = (client, TcpStream::connect(&upstream)) else {
                break;
            };
            let (Ok(mut back_from), Ok(mut back_to)) = (server.try_clone(), client.try_clone())
            else {
                break;
            };
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut back_from, &mut back_to);
            });
            std::thread::spawn(move || {
                let mut sent = 0;
                let mut buf = [0u8; 4096];
                while let Ok(k) = client.read(&mut buf) {
                    let take = match n {
                        0 => k.min(cut_after.saturating_sub(sent)),
                        _ => k,
                    };
                    if k == 0 || server.write_all(&buf[..take]).is_err() {
                        break;
                    }
                    sent += take;
                    if n == 0 && sent >= cut_after {
                        let _ = server.shutdown(std::net::Shutdown::Both);
                        let _ = client.shutdown(std::net::Shutdown::Both);
                        break;
                    }
                }
            });
        }
    });
    Ok(format!("http://{addr}"))
}

pub fn run(photos: usize) -> Result<()> {
    println!(
        "photos benchmark: {photos} photos of 4000×3000 (12 MP), prepared to ≤ 1600 px JPEG q80"
    );
    println!("(2 cores shared with other work: figures are noisy, medians quoted)");
    let opts = Options::default();
    let (mut prep_ms, mut originals, mut prepared) = (Vec::new(), 0usize, Vec::new());
    for i in 0..photos {
        let input = camera_jpeg(i as u32 + 1)?;
        let start = Instant::now();
        let p = prepare(&input, &opts)?;
        prep_ms.push(ms(start.elapsed()));
        originals += input.len();
        prepared.push(p);
    }
    let prepared_bytes: usize = prepared.iter().map(|p| p.bytes.len()).sum();
    let ratio = prepared_bytes as f64 / originals as f64;
    let sizes: Vec<f64> = prepared
        .iter()
        .map(|p| p.bytes.len() as f64 / 1024.0)
        .collect();

    // A server on loopback, one worker's device, the photos on visits (9 a visit).
    let dir = tempfile::tempdir()?;
    let district = Arc::new(SqliteDistrict::open(dir.path())?);
    let user = district.create_user(
        &NewUser {
            username: "bench".into(),
            display_name: "bench".into(),
            role: "worker".into(),
            grids: vec!["g1".into()],
        },
        NOW,
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut config = gridwalk_server::ServerConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse()?;
    let server = rt.block_on(gridwalk_server::spawn_with_state(
        gridwalk_server::AppState::new(district.clone(), config),
    ))?;
    let base = format!("http://{}", server.addr);
    let mut dev = new_device(&*district, &base, &user, "bench")?;
    let extra = prepare(&camera_jpeg(10_000)?, &opts)?;
    for (n, batch) in prepared.chunks(8).enumerate() {
        let mut refs = BTreeMap::new();
        for (k, p) in batch.iter().enumerate() {
            dev.store.put_photo(
                &NewPhoto {
                    sha256: &p.sha256,
                    bytes: &p.bytes,
                    thumb: &p.thumb,
                    width: p.width,
                    height: p.height,
                    mime: p.mime,
                },
                NOW,
            )?;
            refs.insert(format!("p{k}"), reference(p));
        }
        if n == 0 {
            refs.insert("extra".into(), reference(&extra));
        }
        let v = Visit {
            id: uuid::Uuid::now_v7().to_string(),
            household_id: uuid::Uuid::now_v7().to_string(),
            grid_id: "g1".into(),
            worker_id: dev.author.user.to_string(),
            device_id: dev.author.device.to_string(),
            at: NOW,
            mode: VisitMode::InPerson,
            findings: format!("走访{n}"),
            needs: String::new(),
            follow_up: None,
            linked_issues: BTreeMap::new(),
            photos: refs,
            gps: None,
            review: None,
        };
        let author = dev.author;
        dev.store.create_visit(&v, author, NOW)?;
    }
    crate::bench_device::timed_sync(&mut dev)?;
    let token = dev.store.meta_get("device.token")?.unwrap_or_default();
    let mut client = BlobClient::new(&base, &token)?;
    let now = || gridwalk_server::now_ms();
    let start = Instant::now();
    let report = client.upload_pending(&mut dev.store, &now, Duration::from_secs(600))?;
    let upload_s = start.elapsed().as_secs_f64();
    ensure!(report.uploaded.len() == photos, "uploaded {report:?}");

    // A resume: the extra photo cut at ~60% of its bytes, then sent on.
    dev.store.put_photo(
        &NewPhoto {
            sha256: &extra.sha256,
            bytes: &extra.bytes,
            thumb: &extra.thumb,
            width: extra.width,
            height: extra.height,
            mime: extra.mime,
        },
        NOW,
    )?;
    let proxy = cutting_proxy(server.addr.to_string(), extra.bytes.len() * 6 / 10)?;
    let mut cut = BlobClient::new(&proxy, &token)?;
    cut.chunk = 32 * 1024;
    let first = cut.upload_pending(&mut dev.store, &now, Duration::from_secs(60))?;
    let mut resume = BlobClient::new(&base, &token)?;
    resume.chunk = 32 * 1024;
    let later = || gridwalk_server::now_ms() + 3_600_000;
    let second = resume.upload_pending(&mut dev.store, &later, Duration::from_secs(60))?;
    let resumed_ok = first.failures > 0
        && second.uploaded == [extra.sha256.clone()]
        && resume.bytes_up < extra.bytes.len();

    // The server's store time per blob (append whole, hash, commit), in process.
    let blob_dir = tempfile::tempdir()?;
    let blobs = SqliteBlobs::new(blob_dir.path().join("blobs.sqlite"), u64::MAX);
    let mut server_ms = Vec::new();
    for p in &prepared {
        let start = Instant::now();
        let r = blobs.append("d", &p.sha256, 0, p.bytes.len() as u64, &p.bytes, NOW)?;
        server_ms.push(ms(start.elapsed()));
        ensure!(r == Appended::Stored, "{r:?}");
    }
    server.abort();

    row(
        "prepare median",
        median(&prep_ms),
        "ms",
        Some((400.0, true)),
    );
    row("prepare p95", quantile(&prep_ms, 0.95), "ms", None);
    row(
        "original size, mean",
        originals as f64 / photos.max(1) as f64 / 1_048_576.0,
        "MB",
        None,
    );
    row(
        "prepared size, median",
        median(&sizes),
        "KB",
        Some((400.0, true)),
    );
    row(
        "bytes uploaded / original",
        ratio * 100.0,
        "%",
        Some((12.0, true)),
    );
    row(
        &format!("upload {photos} photos, loopback"),
        upload_s,
        "s",
        Some((10.0, true)),
    );
    row(
        "resume: bytes sent after a 60% cut",
        resume.bytes_up as f64 / 1024.0,
        "KB",
        None,
    );
    row(
        "server store time per blob, median",
        median(&server_ms),
        "ms",
        None,
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "photos",
            "photos": photos,
            "prepare_median_ms": median(&prep_ms),
            "prepare_p95_ms": quantile(&prep_ms, 0.95),
            "original_bytes_mean": originals / photos.max(1),
            "prepared_kb_median": median(&sizes),
            "bytes_ratio": ratio,
            "upload_s": upload_s,
            "upload_requests": report.requests,
            "resumed_ok": resumed_ok,
            "resume_bytes_after_cut": resume.bytes_up,
            "resume_photo_bytes": extra.bytes.len(),
            "server_ms_per_blob": median(&server_ms),
        })
    );
    Ok(())
}
