//! A fresh device pulls a whole grid from a real server on loopback; then 20 edits go up
//! from one device and down to another.

use crate::stats::{median, row};
use anyhow::{Context, Result};
use gridwalk_client::{enroll, HttpTransport};
use gridwalk_core::demo::{generate, DemoParams};
use gridwalk_core::model::Household;
use gridwalk_core::{Author, DocId, DocKind};
use gridwalk_district_sqlite::{DistrictStore, NewUser, SqliteDistrict, SyncLogQuery};
use gridwalk_store::client::SyncOptions;
use gridwalk_store::Store;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

const NOW: i64 = 1_795_000_000_000;

pub fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len())
}

/// `gridwalk-bench sync --encrypted`: devices keep their store encrypted (issue 14).
pub static ENCRYPTED_DEVICES: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

pub struct Device {
    pub store: Store,
    pub author: Author,
    pub _dir: tempfile::TempDir,
}

pub fn new_device(
    district: &SqliteDistrict,
    base: &str,
    user_id: &str,
    name: &str,
) -> Result<Device> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("device.sqlite");
    let mut store = if ENCRYPTED_DEVICES.load(std::sync::atomic::Ordering::Relaxed) {
        Store::open_encrypted(&path, &gridwalk_store::DeviceKey::generate()?)?
    } else {
        Store::open(&path)?
    };
    let code = district.create_enrollment(user_id, 3_600_000, gridwalk_server::now_ms())?;
    let e = enroll(&mut store, base, &code, name)?;
    let author = Author::new(e.user_id.parse()?, e.device_id.parse()?);
    Ok(Device {
        store,
        author,
        _dir: dir,
    })
}

/// Sync once; returns (seconds, requests, bytes up + down).
pub fn timed_sync(dev: &mut Device) -> Result<(f64, usize, usize)> {
    let mut t = HttpTransport::from_store(&dev.store)?;
    let start = Instant::now();
    dev.store.sync(
        &mut t,
        &SyncOptions::default(),
        gridwalk_server::now_ms(),
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    Ok((
        start.elapsed().as_secs_f64(),
        t.requests,
        t.bytes_up + t.bytes_down,
    ))
}

pub fn run(households: usize, seed: u64, runs: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let district = Arc::new(SqliteDistrict::open(dir.path())?);
    let mut params = DemoParams::single_grid(households, seed, NOW);
    params.visits_per_household = 4.0;
    params.issues_per_household = 0.4;
    let data = generate(&params);
    let grid = data.households[0].grid_id.clone();
    let server_author = Author::new(Uuid::from_u128(0), Uuid::from_u128(1));
    let docs = crate::stats::demo_documents(&data, server_author, NOW)?;
    district.import_documents(&docs, NOW)?;
    let persons: usize = data.households.iter().map(|h| h.members.len()).sum();
    let json = serde_json::to_vec(&serde_json::json!({
        "households": data.households, "visits": data.visits, "issues": data.issues,
    }))?;
    let gzip_json = gzip_len(&json)?;
    let user_id = district.create_user(
        &NewUser {
            username: "bench".into(),
            display_name: "bench".into(),
            role: "worker".into(),
            grids: vec![grid.clone()],
        },
        NOW,
    )?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut config = gridwalk_server::ServerConfig::new(dir.path());
    config.addr = "127.0.0.1:0".parse()?;
    // Every benchmark device enrolls from this one address.
    config.enroll_per_minute = 10_000;
    let server = rt.block_on(gridwalk_server::spawn_with_state(
        gridwalk_server::AppState::new(district.clone(), config),
    ))?;
    let base = format!("http://{}", server.addr);
    println!(
        "sync benchmark: {} households, {persons} persons, {} visits, {} issues; server {base}",
        data.households.len(),
        data.visits.len(),
        data.issues.len()
    );

    let mut full = Vec::new();
    let mut devices = Vec::new();
    let (mut bytes, mut requests) = (0, 0);
    for r in 0..runs.max(2) {
        let mut dev = new_device(&district, &base, &user_id, &format!("bench-{r}"))?;
        let (secs, req, b) = timed_sync(&mut dev)?;
        let have = dev.store.doc_ids()?.len();
        anyhow::ensure!(
            have == docs.len(),
            "fresh device has {have} of {} documents",
            docs.len()
        );
        full.push(secs);
        bytes = b;
        requests = req;
        devices.push(dev);
    }

    // 20 one-field edits on device 0, pushed; then pulled by device 1.
    let edits = 20;
    let author = devices[0].author;
    for (n, h) in data.households.iter().take(edits).enumerate() {
        devices[0].store.edit::<Household, _>(
            DocKind::Household,
            DocId(h.id.parse()?),
            author,
            NOW + n as i64,
            "bench",
            |h| {
                h.notes = format!("incremental edit {n}");
                Ok(())
            },
        )?;
    }
    let server_ms = |d: &SqliteDistrict, dev: &Device| -> Result<i64> {
        let logs = d.sync_logs(&SyncLogQuery {
            device_id: Some(dev.author.device.to_string()),
            limit: 1,
            ..Default::default()
        })?;
        Ok(logs.first().context("no sync log")?.duration_ms)
    };
    let (_, push_req, push_bytes) = timed_sync(&mut devices[0])?;
    let push_ms = server_ms(&district, &devices[0])?;
    let (_, pull_req, pull_bytes) = timed_sync(&mut devices[1])?;
    let pull_ms = server_ms(&district, &devices[1])?;
    let got: Household = devices[1]
        .store
        .read(DocId(data.households[edits - 1].id.parse()?))?;
    anyhow::ensure!(
        got.notes == format!("incremental edit {}", edits - 1),
        "edit did not arrive"
    );
    // A device with nothing to do: the cost of an idle sync.
    let (_, idle_req, idle_bytes) = timed_sync(&mut devices[1])?;

    let full_s = median(&full);
    println!("{:<40} {:>12} {:<6} target", "measure", "value", "unit");
    row(
        "full sync, fresh device (median)",
        full_s,
        "s",
        Some((3.0, true)),
    );
    row(
        "full sync bytes",
        bytes as f64,
        "B",
        Some((1.5 * gzip_json as f64, true)),
    );
    row(
        "  the same data as JSON, gzip -6",
        gzip_json as f64,
        "B",
        None,
    );
    row(
        "  ratio to gzip'd JSON",
        bytes as f64 / gzip_json as f64,
        "x",
        Some((1.5, true)),
    );
    row("full sync requests", requests as f64, "", None);
    row(
        "20 edits pushed: round trips",
        push_req as f64,
        "",
        Some((1.0, true)),
    );
    row(
        "20 edits pushed: bytes",
        push_bytes as f64,
        "B",
        Some((20_000.0, true)),
    );
    row(
        "20 edits pushed: server time",
        push_ms as f64,
        "ms",
        Some((20.0, true)),
    );
    row(
        "20 edits pulled: round trips",
        pull_req as f64,
        "",
        Some((1.0, true)),
    );
    row(
        "20 edits pulled: bytes",
        pull_bytes as f64,
        "B",
        Some((20_000.0, true)),
    );
    row(
        "20 edits pulled: server time",
        pull_ms as f64,
        "ms",
        Some((20.0, true)),
    );
    row("idle sync: bytes", idle_bytes as f64, "B", None);
    println!(
        "{}",
        serde_json::json!({
            "bench": "sync",
            "households": data.households.len(),
            "persons": persons,
            "visits": data.visits.len(),
            "issues": data.issues.len(),
            "documents": docs.len(),
            "full_sync_s": full_s,
            "full_sync_runs_s": full,
            "full_sync_bytes": bytes,
            "full_sync_requests": requests,
            "gzip_json_bytes": gzip_json,
            "incr_edits": edits,
            "incr_round_trips": push_req,
            "incr_bytes": push_bytes,
            "incr_server_ms": push_ms,
            "incr_pull_round_trips": pull_req,
            "incr_pull_bytes": pull_bytes,
            "incr_pull_server_ms": pull_ms,
            "idle_sync_round_trips": idle_req,
            "idle_sync_bytes": idle_bytes,
        })
    );
    drop(server);
    Ok(())
}
