//! `gridwalk-bench phases`: one fresh device's first download in one process, through the
//! real codec and request handler but no HTTP, with the time of each phase (server pull,
//! response encoding, decoding, device apply). `--prepare` builds the district once, so a
//! profiler (`valgrind --tool=callgrind`) run of the download sees the download only.

use anyhow::{Context, Result};
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::sync::{
    decode_response, encode, encode_response, SyncRequest, SyncResponse, PROTOCOL_VERSION,
};
use gridwalk_core::Author;
use gridwalk_district_sqlite::{handle_sync, DistrictStore, NewUser, SqliteDistrict};
use gridwalk_store::client::{SyncOptions, Transport};
use gridwalk_store::Store;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use uuid::Uuid;

const NOW: i64 = 1_795_000_000_000;

/// Build the district in `dir` (households, and unless `households_only` visits and issues,
/// like `gridwalk-bench sync`) with one worker on its grid; write the worker's id.
pub fn prepare(dir: &Path, households: usize, seed: u64, households_only: bool) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let district = SqliteDistrict::open(dir)?;
    let mut params = DemoParams::single_grid(households, seed, NOW);
    (params.visits_per_household, params.issues_per_household) = if households_only {
        (0.0, 0.0)
    } else {
        (4.0, 0.4)
    };
    let data = generate(&params);
    let grid = data.households[0].grid_id.clone();
    let server_author = Author::new(Uuid::from_u128(0), Uuid::from_u128(1));
    let docs = crate::stats::demo_documents(&data, server_author, NOW)?;
    district.import_documents(&docs, NOW)?;
    let user_id = district.create_user(
        &NewUser {
            username: "phases".into(),
            display_name: "phases".into(),
            role: "worker".into(),
            grids: vec![grid],
        },
        NOW,
    )?;
    std::fs::write(dir.join("phases-user"), user_id)?;
    println!("prepared {} documents in {}", docs.len(), dir.display());
    Ok(())
}

#[derive(Default)]
struct Spent {
    server: Duration,
    encode: Duration,
    decode: Duration,
    bytes: usize,
    requests: usize,
}

struct Phased<'a> {
    district: &'a SqliteDistrict,
    token: String,
    spent: Spent,
    /// The wire version asked and answered in.
    protocol: u16,
}

impl Transport for Phased<'_> {
    fn exchange(&mut self, request: &SyncRequest) -> gridwalk_store::Result<SyncResponse> {
        let codec = |e: gridwalk_core::sync::CodecError| gridwalk_store::StoreError::Transport {
            retryable: false,
            message: e.to_string(),
        };
        let mut request = request.clone();
        request.protocol = self.protocol;
        let up = encode(&request);
        let t = Instant::now();
        let device = self.district.authenticate(&self.token, NOW)?;
        let (response, _) = handle_sync(self.district, &device, &request, NOW)?;
        self.spent.server += t.elapsed();
        let t = Instant::now();
        let body = encode_response(&response, self.protocol);
        self.spent.encode += t.elapsed();
        self.spent.bytes += up.len() + body.len();
        self.spent.requests += 1;
        // For comparing compression settings offline (`zstd -d`, then `zstd -b`).
        if let Some(dir) = std::env::var_os("GRIDWALK_PHASES_DUMP") {
            let path = Path::new(&dir).join(format!("page-{}.zst", self.spent.requests));
            if let Err(e) = std::fs::write(&path, &body) {
                eprintln!("cannot write {}: {e}", path.display());
            }
        }
        let t = Instant::now();
        let out = decode_response(&body, 256 << 20).map_err(codec);
        self.spent.decode += t.elapsed();
        out
    }
}

/// One fresh device's first download from the district `prepare` built in `dir`, into a
/// plaintext or (`encrypted`) a SQLCipher store.
pub fn run(dir: &Path, encrypted: bool, protocol: u16) -> Result<()> {
    anyhow::ensure!(
        (3..=PROTOCOL_VERSION).contains(&protocol),
        "--protocol: 3 to {PROTOCOL_VERSION}"
    );
    let district = SqliteDistrict::open(dir)?;
    let user_id = std::fs::read_to_string(dir.join("phases-user")).context("run --prepare")?;
    let code = district.create_enrollment(&user_id, 3_600_000, NOW)?;
    let enrolled = DistrictStore::enroll(&district, &code, "phases", NOW)?;
    let device_dir = tempfile::tempdir()?;
    let path = device_dir.path().join("device.sqlite");
    let mut store = if encrypted {
        Store::open_encrypted(&path, &gridwalk_store::DeviceKey::generate()?)?
    } else {
        Store::open(&path)?
    };
    store.set_device_identity(&enrolled.user_id, &enrolled.device_id, &enrolled.grids)?;
    let mut t = Phased {
        district: &district,
        token: enrolled.token,
        spent: Spent::default(),
        protocol,
    };
    let io_before = proc_io();
    let start = Instant::now();
    // One page at a time, so that each phase's time is its own.
    let options = SyncOptions {
        pipeline: false,
        ..SyncOptions::default()
    };
    store.sync(&mut t, &options, NOW, &mut |_| {}, &AtomicBool::new(false))?;
    let total = start.elapsed();
    let io = proc_io().minus(&io_before);
    let docs = store.doc_ids()?.len();
    let s = &t.spent;
    let apply = total.saturating_sub(s.server + s.encode + s.decode);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "first download (protocol {protocol}): {docs} documents, {} requests, {} bytes",
        s.requests, s.bytes
    );
    println!("{:<28} {:>10} {:>12}", "phase", "ms", "docs/s");
    for (what, d) in [
        ("server pull (handle_sync)", s.server),
        ("encode (postcard + zstd)", s.encode),
        ("decode (zstd + postcard)", s.decode),
        ("device apply", apply),
        ("total", total),
    ] {
        println!(
            "{what:<28} {:>10.1} {:>12.0}",
            ms(d),
            docs as f64 / d.as_secs_f64().max(1e-9)
        );
    }
    // Every page SQLCipher writes is encrypted and MACed: the pages written, not the
    // time, are the deterministic measure of what encryption costs a download.
    let pages = store_pages(&store)?;
    // SQLCipher answers `PRAGMA page_size` as text (its `cipher_page_size`).
    let page_size: i64 = store
        .connection()
        .query_row("PRAGMA page_size", [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(n) => n,
            rusqlite::types::Value::Text(t) => t.parse().unwrap_or(0),
            _ => 0,
        })?;
    let in_file: i64 = pages.iter().map(|(_, n)| n).sum();
    println!(
        "device store ({}): {in_file} pages of {page_size} bytes in its tables and indexes; \
         this process wrote {} bytes in {} calls during the download (device and district, \
         /proc/self/io)",
        if encrypted { "encrypted" } else { "plaintext" },
        io.wchar,
        io.syscw
    );
    for (name, n) in &pages {
        println!("  {name:<34} {n:>8} pages");
    }
    println!(
        "{}",
        serde_json::json!({
            "bench": "phases", "encrypted": encrypted, "protocol": protocol, "documents": docs,
            "requests": s.requests, "bytes": s.bytes,
            "store_pages": in_file, "page_size": page_size,
            "written_bytes": io.wchar, "write_calls": io.syscw,
            "server_ms": ms(s.server), "encode_ms": ms(s.encode), "decode_ms": ms(s.decode),
            "apply_ms": ms(apply), "total_ms": ms(total),
        })
    );
    Ok(())
}

/// Pages per table and index of the device store, largest first (SQLite's `dbstat`).
fn store_pages(store: &Store) -> Result<Vec<(String, i64)>> {
    let mut stmt = store
        .connection()
        .prepare("SELECT name, count(*) FROM dbstat GROUP BY name ORDER BY count(*) DESC, name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// This process's write counters (`/proc/self/io`); zeros where there is none.
#[derive(Default)]
struct ProcIo {
    wchar: u64,
    syscw: u64,
}

impl ProcIo {
    fn minus(&self, before: &ProcIo) -> ProcIo {
        ProcIo {
            wchar: self.wchar.saturating_sub(before.wchar),
            syscw: self.syscw.saturating_sub(before.syscw),
        }
    }
}

fn proc_io() -> ProcIo {
    let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    ProcIo {
        wchar: field("wchar:"),
        syscw: field("syscw:"),
    }
}
