//! `gridwalk-bench bytes`: where the bytes of a first download go. The pages a fresh
//! device would get (households only, as in `sync --households-only`), taken in-process
//! from the real handler; each part of a page compressed alone (snapshots, projection
//! rows, heads and the rest), and the whole page in each wire version, against the gzip
//! floor (gzip -6 of the same households as JSON). Bytes are deterministic: this runs
//! the same on a busy machine.

use anyhow::Result;
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::sync::{
    encode_response, DocData, GridCursor, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};
use gridwalk_core::Author;
use gridwalk_district_sqlite::{handle_sync, DistrictStore, NewUser, SqliteDistrict};
use std::time::Instant;
use uuid::Uuid;

const NOW: i64 = 1_795_000_000_000;
const LEVEL: i32 = gridwalk_core::sync::RESPONSE_ZSTD_LEVEL;

fn zstd_len(raw: &[u8]) -> usize {
    zstd::bulk::compress(raw, LEVEL)
        .map(|c| c.len())
        .unwrap_or(0)
}

/// The pages of one fresh device's first download of a households-only grid.
fn pages(households: usize, seed: u64) -> Result<(Vec<SyncResponse>, usize)> {
    let dir = tempfile::tempdir()?;
    let district = SqliteDistrict::open(dir.path())?;
    let mut params = DemoParams::single_grid(households, seed, NOW);
    (params.visits_per_household, params.issues_per_household) = (0.0, 0.0);
    let data = generate(&params);
    let grid = data.households[0].grid_id.clone();
    let server_author = Author::new(Uuid::from_u128(0), Uuid::from_u128(1));
    let docs = crate::stats::demo_documents(&data, server_author, NOW)?;
    district.import_documents(&docs, NOW)?;
    let gzip = crate::sync_bench::gzip_len(&serde_json::to_vec(&data.households)?)?;
    let user_id = district.create_user(
        &NewUser {
            username: "bytes".into(),
            display_name: "bytes".into(),
            role: "worker".into(),
            grids: vec![grid.clone()],
        },
        NOW,
    )?;
    let code = district.create_enrollment(&user_id, 3_600_000, NOW)?;
    let enrolled = DistrictStore::enroll(&district, &code, "bytes", NOW)?;
    let device = district.authenticate(&enrolled.token, NOW)?;
    let mut cursors = vec![GridCursor::fresh(grid)];
    let mut out = Vec::new();
    loop {
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursors: cursors.clone(),
            push: vec![],
            max_pull_bytes: gridwalk_store::client::SyncOptions::default().max_pull_bytes,
            want_digest: false,
            compare: vec![],
            handover: vec![],
        };
        let (response, _) = handle_sync(&district, &device, &request, NOW)?;
        cursors = response.cursors.clone();
        let more = response.more;
        out.push(response);
        if !more {
            break;
        }
        anyhow::ensure!(out.len() < 10_000, "the download does not end");
    }
    Ok((out, gzip))
}

/// Compressed bytes of one part of every page, each page compressed alone.
#[derive(Default)]
struct Parts {
    page: usize,
    snapshots: usize,
    rows: usize,
    rest: usize,
    raw_snapshots: usize,
    raw_rows: usize,
    raw_page: usize,
    encode_s: f64,
}

fn parts(pages: &[SyncResponse], version: u16) -> Result<Parts> {
    let mut p = Parts::default();
    for page in pages {
        let t = Instant::now();
        p.page += encode_response(page, version).len();
        p.encode_s += t.elapsed().as_secs_f64();
        p.raw_page += postcard::to_allocvec(page)?.len();
        let mut snaps = Vec::new();
        let mut rows = Vec::new();
        let mut rest = page.clone();
        for d in &mut rest.pulled {
            if let DocData::Snapshot(b) = &mut d.data {
                snaps.extend_from_slice(b);
                b.clear();
            }
            if let Some(r) = d.rows.take() {
                rows.extend(postcard::to_allocvec(&r)?);
            }
        }
        p.raw_snapshots += snaps.len();
        p.raw_rows += rows.len();
        p.snapshots += zstd_len(&snaps);
        p.rows += zstd_len(&rows);
        p.rest += zstd_len(&postcard::to_allocvec(&rest)?);
    }
    Ok(p)
}

/// The version-4 messages of `pages`, uncompressed (what zstd is given).
fn raw_messages(pages: &[SyncResponse]) -> Result<Vec<Vec<u8>>> {
    pages
        .iter()
        .map(|p| {
            let body = encode_response(p, PROTOCOL_VERSION);
            Ok(zstd::bulk::decompress(&body, 1 << 30)?)
        })
        .collect()
}

/// Bytes of `raws` compressed at `level`, with `window_log` (0: the level's) and
/// long-distance matching, or with a dictionary; and the seconds it took.
fn compress_all(
    raws: &[Vec<u8>],
    level: i32,
    window_log: u32,
    dict: Option<&[u8]>,
) -> Result<(usize, f64)> {
    use zstd::zstd_safe::CParameter;
    let mut c = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(level, d)?,
        None => zstd::bulk::Compressor::new(level)?,
    };
    if window_log > 0 {
        c.set_parameter(CParameter::WindowLog(window_log))?;
        c.set_parameter(CParameter::EnableLongDistanceMatching(true))?;
    }
    let t = Instant::now();
    let mut total = 0;
    for raw in raws {
        total += c.compress(raw)?.len();
    }
    Ok((total, t.elapsed().as_secs_f64()))
}

/// A dictionary trained on another seed's pages: each document's slice of its page, as
/// version 4 writes a one-document page.
fn trained_dictionary(seed: u64, size: usize) -> Result<Vec<u8>> {
    let (pages, _) = pages(1000, seed)?;
    let mut samples = Vec::new();
    let mut lens = Vec::new();
    for p in &pages {
        for d in p.pulled.iter().take(2000) {
            let mut one = p.clone();
            one.pulled = vec![d.clone()];
            let raw = zstd::bulk::decompress(&encode_response(&one, PROTOCOL_VERSION), 1 << 24)?;
            lens.push(raw.len());
            samples.extend(raw);
        }
    }
    Ok(zstd::dict::from_continuous(&samples, &lens, size)?)
}

/// Each version-4 stream compressed alone, summed over the pages, largest first.
fn streams(pages: &[SyncResponse]) {
    let mut total: Vec<(String, usize, usize)> = Vec::new();
    for p in pages {
        for (name, raw) in gridwalk_core::sync::v4_streams(p) {
            let z = zstd_len(&raw);
            match total.iter_mut().find(|t| t.0 == name) {
                Some(t) => (t.1, t.2) = (t.1 + raw.len(), t.2 + z),
                None => total.push((name, raw.len(), z)),
            }
        }
    }
    total.sort_by_key(|t| std::cmp::Reverse(t.2));
    println!("  {:<28} {:>10} {:>10}", "stream (alone)", "raw", "zstd");
    for (name, raw, z) in total {
        println!("  {name:<28} {raw:>10} {z:>10}");
    }
}

fn experiments(n: usize, pages: &[SyncResponse], gzip: usize, dict: &[u8]) -> Result<()> {
    let raws = raw_messages(pages)?;
    for (what, level, wlog, d) in [
        ("level 3", 3, 0, None),
        ("level 7", 7, 0, None),
        ("level 12", 12, 0, None),
        ("level 19", 19, 0, None),
        ("level 7, window 2^27 + ldm", 7, 27, None),
        ("level 7 + dictionary", 7, 0, Some(dict)),
        ("level 3 + dictionary", 3, 0, Some(dict)),
    ] {
        let (bytes, secs) = compress_all(&raws, level, wlog, d)?;
        println!(
            "{n:>6}   v4 {what:<28} {bytes:>9} B  {:>5.2} x gzip  {secs:>7.3} s",
            bytes as f64 / gzip as f64
        );
    }
    Ok(())
}

pub fn run(sizes: &[usize], seed: u64) -> Result<()> {
    let dict = trained_dictionary(seed + 1, 64 << 10)?;
    println!(
        "dictionary: {} bytes (trained on seed {})",
        dict.len(),
        seed + 1
    );
    let mut json = Vec::new();
    println!(
        "{:>6} {:>7} {:>6} {:>9} {:>6} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>8}",
        "N",
        "version",
        "pages",
        "gzip",
        "x gzip",
        "page",
        "snapshots",
        "rows",
        "rest",
        "raw snap",
        "raw rows",
        "encode s"
    );
    for &n in sizes {
        let (pages, gzip) = pages(n, seed)?;
        let docs: usize = pages.iter().map(|p| p.pulled.len()).sum();
        anyhow::ensure!(docs >= n, "{docs} documents for {n} households");
        for version in [3, 4, PROTOCOL_VERSION] {
            let p = parts(&pages, version)?;
            println!(
                "{n:>6} {version:>7} {:>6} {gzip:>9} {:>6.2} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>8.3}",
                pages.len(),
                p.page as f64 / gzip as f64,
                p.page,
                p.snapshots,
                p.rows,
                p.rest,
                p.raw_snapshots,
                p.raw_rows,
                p.encode_s,
            );
            json.push(serde_json::json!({
                "households": n, "version": version, "pages": pages.len(), "gzip_json": gzip,
                "bytes": p.page, "ratio_to_gzip": p.page as f64 / gzip as f64,
                "snapshots_alone": p.snapshots, "rows_alone": p.rows, "rest_alone": p.rest,
                "raw_page": p.raw_page, "encode_s": p.encode_s,
            }));
            if version == PROTOCOL_VERSION {
                break;
            }
        }
        experiments(n, &pages, gzip, &dict)?;
        if n == sizes[0] {
            streams(&pages);
        }
    }
    println!(
        "{}",
        serde_json::json!({ "bench": "bytes", "level": LEVEL, "sizes": json })
    );
    Ok(())
}
